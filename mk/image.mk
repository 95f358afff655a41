# The container image (Dockerfile, docker/): one per commit, tagged sha-<commit>, promoted by digest.
IMAGE_NAME ?= $(shell sed -n 's/^image: *//p' project.yaml)
IMAGE_COMMIT := $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
IMAGE_TAG ?= sha-$(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
IMAGE_MODEL_DIR ?= models
# podman, then buildah, then docker: whichever is installed (CONTAINER_TOOL=docker to choose).
CONTAINER_TOOL ?= $(notdir $(or $(shell command -v podman),$(shell command -v buildah),$(shell command -v docker)))
# LOCAL_BASE=1: build the Debian base image here (debootstrap, needs root) instead of pulling the pinned one.
LOCAL_BASE ?=
# podman/buildah: docker format keeps HEALTHCHECK; chroot isolation needs no OCI runtime for RUN steps.
IMAGE_BUILD_FLAGS ?= $(if $(filter docker,$(CONTAINER_TOOL)),,--format docker --isolation chroot)

.PHONY: image
image: venv ## Build the image from models/ with podman, buildah or docker, tagged IMAGE_NAME:sha-<commit> (LOCAL_BASE=1: local Debian base)
	@test -n "$(CONTAINER_TOOL)" || { echo "error: install podman, buildah or docker to build the image" >&2; exit 1; }
	@test -f $(IMAGE_MODEL_DIR)/metadata.json || { echo "error: $(IMAGE_MODEL_DIR)/metadata.json not found: train first (make train)" >&2; exit 1; }
	bash docker/download-wheels.sh build/wheels
	@set -e; \
	digest="$$($(PY) -c 'import json,sys; print(json.load(open(sys.argv[1]))["digest"])' $(IMAGE_MODEL_DIR)/metadata.json)"; \
	base_args=""; \
	if [ -n "$(LOCAL_BASE)" ]; then base_args="--pull=never --build-arg BASE_IMAGE=$$(bash docker/build-base-image.sh)"; fi; \
	build="$(CONTAINER_TOOL) build"; [ "$(CONTAINER_TOOL)" = buildah ] && build="buildah bud"; \
	echo "building $(IMAGE_NAME):$(IMAGE_TAG) (model $$digest) with $(CONTAINER_TOOL)"; \
	$$build $(IMAGE_BUILD_FLAGS) $$base_args \
	  --build-arg GIT_COMMIT=$(IMAGE_COMMIT) --build-arg MODEL_DIGEST=$$digest \
	  --build-arg MODEL_DIR=$(IMAGE_MODEL_DIR) -t $(IMAGE_NAME):$(IMAGE_TAG) .

.PHONY: image-base
image-base: ## Make the local Debian bookworm + Python 3.11 base image (debootstrap; root) and print its digest
	bash docker/build-base-image.sh

.PHONY: image-lint
image-lint: venv ## hadolint and shellcheck on the Dockerfile and docker/ scripts
	$(VENV)/bin/hadolint Dockerfile
	$(VENV)/bin/shellcheck docker/*.sh

.PHONY: image-test
image-test: venv ## Build the image and run the serving contract against the container (podman; slow)
	$(PY) -m pytest -p no:cacheprovider -q tests/integration/test_container.py -s
