# SageMaker: training jobs that run the image's `train`, the Model Registry, and the container contract
# run locally. Deploying (endpoint, ASG) goes through `make promote TARGET=sagemaker|asg`.
# Settings per environment: sagemaker/config.yaml. AWS_ENDPOINT_URL points every call at an emulator.
SM_ENV ?= $(or $(ENVIRONMENT),staging)
SM_DATA ?= data/raw/data.parquet
SM_SCHEMA ?= data/schema.yaml
SM_LOCAL_DIR ?= build/opt_ml
SM_DRY_RUN := $(if $(filter 1 true yes,$(DRY_RUN)),--dry-run)

define sm_need
	@test -n "$($(1))" || { echo "usage: make $@ $(1)=… ($(2))" >&2; exit 2; }
endef

.PHONY: sagemaker-train
sagemaker-train: venv ## SageMaker training job: IMAGE=name@sha256:… on SM_DATA (s3:// or a local file, uploaded) [DRY_RUN=1]
	$(call sm_need,IMAGE,the image whose train entry point runs)
	$(PY) -m promotion.sagemaker_training --environment "$(SM_ENV)" --image "$(IMAGE)" \
	  --data "$(SM_DATA)" --schema "$(SM_SCHEMA)" $(SM_DRY_RUN)

.PHONY: sagemaker-train-local
sagemaker-train-local: venv ## Run the container's train contract here on SM_DATA, no AWS; artifact in build/opt_ml/model
	rm -rf "$(SM_LOCAL_DIR)"
	$(PY) -m promotion.sagemaker_training --environment "$(SM_ENV)" \
	  --image "$(or $(IMAGE),local/image@sha256:0000000000000000000000000000000000000000000000000000000000000000)" \
	  --data "$(SM_DATA)" --schema "$(SM_SCHEMA)" --local "$(SM_LOCAL_DIR)"

.PHONY: sagemaker-serve-local
sagemaker-serve-local: venv ## Run the container's serve contract here on build/opt_ml/model (port 8080, /ping, /invocations)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" OPT_ML_ROOT="$(CURDIR)/$(SM_LOCAL_DIR)" MODEL_SERVER_HOST=127.0.0.1 \
	  sagemaker/container/serve

.PHONY: sagemaker-register
sagemaker-register: venv ## Register a version pending approval: IMAGE=… and JOB=<training job> or MODEL_DATA=s3://…/model.tar.gz
	$(call sm_need,IMAGE,the image the version runs)
	@test -n "$(JOB)$(MODEL_DATA)" || { echo "usage: make $@ IMAGE=… JOB=<training job> | MODEL_DATA=s3://…" >&2; exit 2; }
	$(PY) -m promotion.sagemaker_registry register --environment "$(SM_ENV)" --image "$(IMAGE)" \
	  $(if $(JOB),--training-job "$(JOB)",--model-data "$(MODEL_DATA)")

.PHONY: sagemaker-approve
sagemaker-approve: venv ## Approve a model version: ARN=… DESCRIPTION="who reviewed what"
	$(call sm_need,ARN,the model package version ARN)
	$(call sm_need,DESCRIPTION,who reviewed what)
	$(PY) -m promotion.sagemaker_registry approve --arn "$(ARN)" --description "$(DESCRIPTION)"

.PHONY: sagemaker-reject
sagemaker-reject: venv ## Reject a model version: ARN=… DESCRIPTION="why"
	$(call sm_need,ARN,the model package version ARN)
	$(call sm_need,DESCRIPTION,why it is rejected)
	$(PY) -m promotion.sagemaker_registry reject --arn "$(ARN)" --description "$(DESCRIPTION)"

.PHONY: sagemaker-versions
sagemaker-versions: venv ## List the model package group's versions: status, image, digests, metrics
	$(PY) -m promotion.sagemaker_registry list --environment "$(SM_ENV)"

.PHONY: sagemaker-test
sagemaker-test: venv ## SageMaker and ASG promotion tests (unit, moto, container contract)
	$(PY) -m pytest -q tests/unit/promotion/test_sagemaker_*.py tests/unit/promotion/test_asg.py \
	  tests/integration/test_sagemaker_*.py tests/integration/test_asg_*.py
