# Terraform: formatting, offline validation, checkov, and plans against a real AWS account.
# fmt/validate/checkov need no cloud access: providers come from a local mirror (tests/infra/terraform_cli.py).
TF_DIRS := terraform tests/infra/fixtures
CHECKOV := .tools/checkov/bin/checkov
ENV ?= staging

.PHONY: tf-fmt
tf-fmt: ## Check Terraform formatting (terraform fmt -check) under terraform/ and the test fixtures
	terraform fmt -check -recursive -diff $(TF_DIRS)

.PHONY: tf-format
tf-format: ## Rewrite Terraform files into canonical format
	terraform fmt -recursive $(TF_DIRS)

.PHONY: tf-validate
tf-validate: venv ## terraform validate every module, stack and fixture offline, in a temporary copy (provider mirror)
	$(PY) -m tests.infra.terraform_cli validate

.PHONY: checkov-terraform
checkov-terraform: tools ## checkov on terraform/ (every skip is justified next to its resource; none on the command line)
	CKV_SKIP_PACKAGE_UPDATE_CHECK=true $(CHECKOV) --directory terraform --framework terraform \
	  --skip-download --quiet --compact

.PHONY: tf-check
tf-check: tf-fmt tf-validate checkov-terraform ## All offline Terraform checks: fmt, validate, checkov

.PHONY: tf-plan
tf-plan: ## terraform plan of terraform/envs/ENV (default staging) with its backend.hcl; needs AWS credentials
	@test -d terraform/envs/$(ENV) || { echo "error: no terraform/envs/$(ENV)" >&2; exit 2; }
	terraform -chdir=terraform/envs/$(ENV) init -input=false -backend-config=backend.hcl
	terraform -chdir=terraform/envs/$(ENV) plan -input=false -lock-timeout=5m
