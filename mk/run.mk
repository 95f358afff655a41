# The main job: train (only what changed, through DVC), then serve the artifact locally.
.PHONY: run
run: train serve ## Set up, train with the DVC pipeline, then serve models/ on http://127.0.0.1:8080
