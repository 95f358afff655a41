#!/usr/bin/env bash
# Copy an image to ECR without changing it, so SageMaker (which pulls only from ECR) runs the very digest
# the other targets run. Usage: ecr-copy.sh NAME@sha256:DIGEST ECR_REPOSITORY
# Needs AWS credentials (the job's OIDC role) and skopeo; the source registry login is the job's
# (docker/login-action writes it where skopeo reads it). --preserve-digests makes skopeo fail rather
# than push anything whose digest would differ.
set -euo pipefail
image="${1:-}"
repository="${2:-}"
if [[ ! "$image" =~ @sha256:[0-9a-f]{64}$ ]] || [[ -z "$repository" ]]; then
  echo "usage: ecr-copy.sh NAME@sha256:<64 hex> ECR_REPOSITORY (got '${image}' '${repository}')" >&2
  exit 2
fi
command -v skopeo >/dev/null || { echo "error: skopeo is not installed" >&2; exit 1; }
uri="$(aws ecr describe-repositories --repository-names "$repository" --query 'repositories[0].repositoryUri' --output text)"
registry="${uri%%/*}"
aws ecr get-login-password | skopeo login --username AWS --password-stdin "$registry"
digest="${image##*@}"
skopeo copy --preserve-digests "docker://${image}" "docker://${uri}:sha-${GITHUB_SHA:-manual}"
echo "copied ${digest} to ${uri}@${digest}"
