# Training: the DVC pipeline in dvc.yaml (ingest -> validate -> train -> evaluate), its metrics, plots and
# data remotes. Stage commands call `python`, so the venv goes first on PATH. DVC_REMOTE=name picks a
# remote other than the default (`local`, the repository's .dvc-storage/ folder).
DVC := PATH="$(CURDIR)/$(VENV)/bin:$$PATH" DVC_NO_ANALYTICS=1 $(VENV)/bin/dvc
DVC_REMOTE ?=
REMOTE_FLAG := $(if $(DVC_REMOTE),-r $(DVC_REMOTE))

.PHONY: train
train: venv ## Run the DVC pipeline (stages whose inputs changed); prints where the model and metrics are
	$(DVC) repro
	@$(PY) -m training.summary

.PHONY: train-force
train-force: venv ## Rerun every stage (dvc repro --force); the model digest must come out unchanged
	$(DVC) repro --force
	@$(PY) -m training.summary

.PHONY: metrics
metrics: venv ## Show the held-out metrics of the last run (reports/metrics.json)
	@$(DVC) metrics show

.PHONY: plots
plots: venv ## Render ROC, precision-recall and confusion-matrix plots to reports/html/index.html
	$(DVC) plots show --out reports/html

.PHONY: data-push
data-push: venv ## Push DVC-tracked data and models to the remote (default .dvc-storage/; DVC_REMOTE=name)
	$(DVC) push $(REMOTE_FLAG)

.PHONY: data-pull
data-pull: venv ## Pull DVC-tracked data and models from the remote (default .dvc-storage/; DVC_REMOTE=name)
	$(DVC) pull $(REMOTE_FLAG)

.PHONY: bench-training
bench-training: venv ## Time each pipeline stage and its peak memory at 10k, 100k and 1M rows (BENCH_ROWS=...)
	$(PY) benchmarks/training/bench_pipeline.py $(if $(BENCH_ROWS),--rows $(BENCH_ROWS))
