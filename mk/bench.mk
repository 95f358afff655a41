# Serving benchmark (benchmarks/serving/): our Flask + Gunicorn server against KServe's ModelServer and
# MLServer, each competitor in its own locked environment under .tools/ (never in the project's .venv).
BENCH_KSERVE_STAMP := .tools/bench-kserve/.synced
BENCH_MLSERVER_STAMP := .tools/bench-mlserver/.synced
BENCH_ARGS ?=

$(BENCH_KSERVE_STAMP): requirements/bench-kserve.txt $(STAMP)
	@test -x .tools/bench-kserve/bin/python || "$(PYTHON)" -m venv .tools/bench-kserve
	$(VENV)/bin/uv pip sync --quiet --python .tools/bench-kserve/bin/python requirements/bench-kserve.txt
	@touch $@

$(BENCH_MLSERVER_STAMP): requirements/bench-mlserver.txt $(STAMP)
	@test -x .tools/bench-mlserver/bin/python || "$(PYTHON)" -m venv .tools/bench-mlserver
	$(VENV)/bin/uv pip sync --quiet --python .tools/bench-mlserver/bin/python requirements/bench-mlserver.txt
	@touch $@

.PHONY: bench-envs
bench-envs: $(BENCH_KSERVE_STAMP) $(BENCH_MLSERVER_STAMP) ## Create the KServe and MLServer benchmark environments from their hashed locks

.PHONY: bench-lock
bench-lock: $(STAMP) ## Re-resolve the benchmark environments' locks (requirements/bench-*.in)
	$(VENV)/bin/uv pip compile -q --python-version 3.11 --generate-hashes --no-header requirements/bench-kserve.in -o requirements/bench-kserve.txt
	$(VENV)/bin/uv pip compile -q --python-version 3.11 --generate-hashes --no-header requirements/bench-mlserver.in -o requirements/bench-mlserver.txt

.PHONY: bench-serving
bench-serving: venv bench-envs ## Benchmark our server vs KServe and MLServer with wrk (about 10 min; BENCH_ARGS="--rounds 1" for a quick check)
	@command -v wrk >/dev/null || { echo "error: wrk is required (apt-get install wrk)" >&2; exit 1; }
	$(PY) -m benchmarks.serving.run $(BENCH_ARGS)
