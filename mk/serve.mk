# Serving: the Flask + Gunicorn model server (serving/). All server options are MODEL_SERVER_* variables
# (`$(PY) -m serving settings` lists them); MODEL_URI below is a shorthand for MODEL_SERVER_MODEL_URI.
MODEL_URI ?= $(or $(MODEL_SERVER_MODEL_URI),models)
SERVE_ENV := MODEL_SERVER_MODEL_URI=$(MODEL_URI) MODEL_SERVER_HOST=$${MODEL_SERVER_HOST:-127.0.0.1} MODEL_SERVER_PORT=$${MODEL_SERVER_PORT:-8080}

.PHONY: serve
serve: venv ## Serve models/ (or MODEL_URI=path|s3://…|https://…) with Gunicorn on http://127.0.0.1:8080; prints a request to try
	@$(SERVE_ENV) $(PY) -m serving example-request
	$(SERVE_ENV) exec $(PY) -m serving

.PHONY: serve-check
serve-check: venv ## Fetch, verify and self-check the model the server would serve (MODEL_URI), without serving it
	$(SERVE_ENV) $(PY) -m serving check

.PHONY: serve-settings
serve-settings: venv ## List every MODEL_SERVER_* setting with its default and meaning
	@$(PY) -m serving settings
