# Forking the template: project.yaml holds the names; templatekit writes them everywhere else.
# Flags go through ARGS, e.g. make init ARGS="--aws-region us-west-2 --dry-run"
.PHONY: init
init: venv ## Make a fork yours: ask for (or take from ARGS="--flag value ...") the names, rewrite every place
	$(PY) -m templatekit init $(ARGS)

.PHONY: init-check
init-check: venv ## Fail if any file disagrees with the names in project.yaml
	$(PY) -m templatekit check
