# Quality gates: lint, types, tests.
PYTEST_ARGS ?=

.PHONY: test
test: venv tools ## Run the whole test suite (sets up .venv and tools first)
	$(PY) -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

.PHONY: lint
lint: venv ## ruff lint and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

.PHONY: format
format: venv ## Apply ruff's formatting and safe fixes
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

.PHONY: typecheck
typecheck: venv ## mypy on the packages
	$(VENV)/bin/mypy

.PHONY: checkov
checkov: deploy-checkov checkov-terraform ## checkov on everything it scans: k8s/, kserve/, Dockerfile, terraform/
