#!/usr/bin/env bash
# Write a kubeconfig for an EKS cluster with the job's AWS credentials (the environment's OIDC deploy role).
# Usage: kubeconfig.sh CLUSTER_NAME   (region from AWS_REGION, which configure-aws-credentials sets)
set -euo pipefail
cluster="${1:-}"
if [[ ! "$cluster" =~ ^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$ ]]; then
  echo "usage: kubeconfig.sh CLUSTER_NAME (got '${cluster}')" >&2
  exit 2
fi
aws eks update-kubeconfig --name "$cluster" --region "${AWS_REGION:?AWS_REGION is not set}" --alias "$cluster"
kubectl version --output=yaml >/dev/null
echo "kubeconfig written for ${cluster}"
