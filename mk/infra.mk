# Terraform: formatting, offline validation, checkov, and plans against a real AWS account.
# fmt/validate/checkov need no cloud access: providers come from a local mirror (tests/infra/terraform_cli.py).
TF_DIRS := terraform tests/infra/fixtures
CHECKOV := .tools/checkov/bin/checkov
ENV ?= staging
# Provider mirror `make tf-mirror` fills; the tests look there when $TF_PROVIDER_MIRROR is unset.
TF_MIRROR ?= .tools/tf-mirror

.PHONY: tf-fmt
tf-fmt: ## Check Terraform formatting (terraform fmt -check) under terraform/ and the test fixtures
	terraform fmt -check -recursive -diff $(TF_DIRS)

.PHONY: tf-format
tf-format: ## Rewrite Terraform files into canonical format
	terraform fmt -recursive $(TF_DIRS)

.PHONY: tf-validate
tf-validate: venv ## terraform validate every module, stack and fixture offline, in a temporary copy (provider mirror)
	$(PY) -m tests.infra.terraform_cli validate

.PHONY: tf-mirror
tf-mirror: ## Fill TF_MIRROR (default .tools/tf-mirror) with the hashicorp/aws provider the roots require, linux_amd64 (network; skips when filled)
	bash scripts/tf-mirror.sh $(TF_MIRROR) linux_amd64

.PHONY: checkov-terraform
checkov-terraform: tools ## checkov on terraform/ (every skip is justified next to its resource; none on the command line)
	CKV_SKIP_PACKAGE_UPDATE_CHECK=true $(CHECKOV) --directory terraform --framework terraform \
	  --skip-download --quiet --compact

.PHONY: tf-check
tf-check: tf-fmt tf-validate checkov-terraform ## All offline Terraform checks: fmt, validate, checkov

# One root module (terraform/service) for every environment; terraform/envs/ENV holds its backend.hcl and
# terraform.tfvars. Each environment gets its own data directory (terraform/service/.terraform/ENV), so
# planning staging and then production never reuses the other's backend or state.
.PHONY: tf-plan
tf-plan: ## terraform plan of terraform/service for ENV (default staging) with terraform/envs/ENV's backend.hcl and tfvars; needs AWS credentials
	@test -f terraform/envs/$(ENV)/backend.hcl && test -f terraform/envs/$(ENV)/terraform.tfvars || \
	  { echo "error: no terraform/envs/$(ENV)/backend.hcl and terraform.tfvars" >&2; exit 2; }
	TF_DATA_DIR=.terraform/$(ENV) terraform -chdir=terraform/service init -input=false -reconfigure \
	  -backend-config=../envs/$(ENV)/backend.hcl
	TF_DATA_DIR=.terraform/$(ENV) terraform -chdir=terraform/service plan -input=false -lock-timeout=5m \
	  -var-file=../envs/$(ENV)/terraform.tfvars
