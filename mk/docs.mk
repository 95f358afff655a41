# Documentation: pictures drawn from text sources, parts generated from the files they describe.
.PHONY: docs
docs: docs-diagrams ## Redraw the pictures and rewrite the generated parts of README.md and docs/
	$(PY) -m templatekit.docs generate

.PHONY: docs-diagrams
docs-diagrams: venv ## Render docs/diagrams/*.yaml to docs/images/*.png (matplotlib; no graphviz needed)
	$(PY) -m templatekit.docs diagrams

.PHONY: docs-check
docs-check: venv ## Fail if a generated part or picture is stale, or a relative link or image is broken
	$(PY) -m templatekit.docs check
