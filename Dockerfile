# syntax=docker/dockerfile:1
# One image for every target: Kubernetes, KServe (ServingRuntime), SageMaker (bring your own container)
# and the ASG/ALB hosts. Built once per commit and promoted by digest, never rebuilt per environment.
#
#   make image                      # podman/buildah or docker; tags sha-<commit>
#   docker run -p 8080:8080 IMAGE   # serves the baked-in model on :8080
#   docker run IMAGE train          # SageMaker training entry point; `serve` is the serving one
#
# Build arguments: BASE_IMAGE (pinned by digest; docker/build-base-image.sh makes a local one where no
# registry is reachable), MODEL_DIR (artifact directory in the context, default models/), GIT_COMMIT and
# MODEL_DIGEST (recorded as labels), APP_UID (the fixed non-root UID/GID; k8s/ and kserve/ use 10001).
ARG BASE_IMAGE=python:3.11.13-slim-bookworm@sha256:86adf8dbadc3d6e82ee5dd2c74bec2e1c2467cdad47886280501df722372d2e1

# ---------------------------------------------------------------------------------------------- build
# checkov:skip=CKV_DOCKER_7:FROM names the BASE_IMAGE argument, whose default above is pinned by digest
FROM ${BASE_IMAGE} AS build
WORKDIR /build
COPY requirements/image.txt requirements/image.txt
# The hashed lock, installed from the wheelhouse that docker/download-wheels.sh fills (`make image` runs
# it), so this step needs no network. Then drop what the runtime never imports: pip, setuptools and the
# packages' bundled test suites.
RUN --mount=type=bind,source=build/wheels,target=/wheels \
    python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --disable-pip-version-check --no-cache-dir --no-index --find-links /wheels \
       --no-deps --require-hashes --only-binary=:all: -r requirements/image.txt \
    && /opt/venv/bin/pip uninstall --disable-pip-version-check -y -q pip setuptools \
    && find /opt/venv/lib -depth -type d -name tests -path '*/site-packages/*' -exec rm -rf {} + \
    && rm -f /opt/venv/bin/activate* /opt/venv/bin/Activate.ps1

# -------------------------------------------------------------------------------------------- runtime
FROM ${BASE_IMAGE} AS runtime
ARG APP_UID=10001
ARG MODEL_DIR=models
RUN groupadd --system --gid "${APP_UID}" app \
    && useradd --system --uid "${APP_UID}" --gid app --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin app

COPY --from=build /opt/venv /opt/venv
COPY serving/ /opt/app/serving/
COPY training/ /opt/app/training/
COPY docker/healthcheck.py /opt/app/docker/healthcheck.py
# SageMaker's contract: `train` and `serve` executables on PATH (/opt/program by convention).
COPY sagemaker/container/ /opt/program/
# The model, baked in where SageMaker mounts one; MODEL_SERVER_MODEL_URI may point elsewhere at start
# (a path, s3:// or https://), and the server checks the digest before it reports ready.
COPY ${MODEL_DIR}/model.skops ${MODEL_DIR}/metadata.json /opt/ml/model/
# Bytecode compiled now: the root filesystem is read-only at run time and the cold start is shorter.
RUN /opt/venv/bin/python -m compileall -q /opt/app \
    && mkdir -p /opt/ml/input/data /opt/ml/input/config /opt/ml/output \
    && chown -R "${APP_UID}:${APP_UID}" /opt/ml/input /opt/ml/output

ENV PATH=/opt/program:/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONPATH=/opt/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MODEL_SERVER_HOST=0.0.0.0 \
    MODEL_SERVER_PORT=8080 \
    MODEL_SERVER_MODEL_URI=/opt/ml/model \
    MODEL_SERVER_PLAN_DIR=/opt/app/plans
# The baked model's verified inference plan, made now into PLAN_DIR (root-owned: the app user reads it,
# never writes), so a start serves it without importing scikit-learn, most of a first start's time. The
# checks are the server's own: a model it would refuse fails the build (exit 4). A model the plan compiler
# does not support gets no plan and is served by scikit-learn; the printed summary says which.
RUN python3 -m serving check
WORKDIR /opt/app
USER ${APP_UID}:${APP_UID}
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python3", "/opt/app/docker/healthcheck.py"]
CMD ["python3", "-m", "serving", "serve"]

# Last, so a new commit or model changes only this metadata layer, not the cached ones above.
ARG GIT_COMMIT=unknown
ARG MODEL_DIGEST=unknown
LABEL org.opencontainers.image.title="mlops-template model server" \
      org.opencontainers.image.description="scikit-learn model server (native, KServe V1/V2, SageMaker)" \
      org.opencontainers.image.source="https://github.com/your-org/mlops-template" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.revision="${GIT_COMMIT}" \
      mlops.model.digest="${MODEL_DIGEST}"
