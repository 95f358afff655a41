# Kubernetes (k8s/), KServe (kserve/) and promotion by digest (promotion/). Every target is a thin call.
TARGET ?=
ENVIRONMENT ?=
IMAGE ?=
DRY_RUN ?=
# Passed on as --model-uri only when it names remote storage (KServe's storageUri).
PROMOTE_MODEL_URI = $(filter s3://% https://% gs://%,$(MODEL_URI))

.PHONY: promote
promote: venv ## Promote IMAGE=name@sha256:… to TARGET=kubernetes|kserve|sagemaker|asg ENVIRONMENT=staging|production [DRY_RUN=1]
	@test -n "$(TARGET)" -a -n "$(ENVIRONMENT)" -a -n "$(IMAGE)" || { echo "usage: make promote TARGET=… ENVIRONMENT=… IMAGE=name@sha256:… [DRY_RUN=1] [MODEL_URI=s3://…]" >&2; exit 2; }
	$(PY) -m promotion --target "$(TARGET)" --environment "$(ENVIRONMENT)" --image "$(IMAGE)" \
	  $(if $(PROMOTE_MODEL_URI),--model-uri "$(PROMOTE_MODEL_URI)") $(if $(SMOKE_URL),--smoke-url "$(SMOKE_URL)") \
	  $(if $(filter 1 true yes,$(DRY_RUN)),--dry-run)

.PHONY: k8s-render
k8s-render: ## Print the rendered k8s/ overlay ENVIRONMENT (default staging), as committed
	kubectl kustomize k8s/overlays/$(or $(ENVIRONMENT),staging)

.PHONY: k8s-validate
k8s-validate: venv ## Render every k8s/ overlay and validate it strictly (Kubernetes schemas), plus the security checks
	$(PY) -m pytest -p no:cacheprovider -q tests/infra/test_k8s_manifests.py

.PHONY: kserve-validate
kserve-validate: venv ## Render every kserve/ overlay and component and validate them against KServe's schema
	$(PY) -m pytest -p no:cacheprovider -q tests/infra/test_kserve_manifests.py

.PHONY: deploy-checkov
deploy-checkov: tools ## checkov on k8s/, kserve/ (rendered) and the Dockerfile
	$(PY) -m pytest -p no:cacheprovider -q tests/infra/test_checkov_k8s.py
