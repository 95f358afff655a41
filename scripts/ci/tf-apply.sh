#!/usr/bin/env bash
# Apply exactly one saved plan file; never plan afresh. Terraform itself refuses a plan whose state has
# moved on since planning ("Saved plan is stale"). The workflow has already checked the run that made
# the plan and the file's checksum (python -m cicd.tfplan verify-run / verify-plan).
# Usage: tf-apply.sh ENV PLAN_FILE   Credentials: the job's (OIDC apply role of the infra-ENV environment).
set -euo pipefail
env_name="${1:-}"
plan="${2:-}"
dir="terraform/envs/${env_name}"
if [[ ! "$env_name" =~ ^[a-z][a-z0-9-]*$ ]] || [[ ! -d "$dir" ]] || [[ ! -f "$plan" ]]; then
  echo "usage: tf-apply.sh ENV PLAN_FILE (got '${env_name}' '${plan}')" >&2
  exit 2
fi
plan="$(cd "$(dirname "$plan")" && pwd)/$(basename "$plan")"
backend=()
if [[ -f "${dir}/backend.hcl" ]]; then
  backend=(-backend-config=backend.hcl)
fi
terraform -chdir="$dir" init -input=false -no-color "${backend[@]}"
terraform -chdir="$dir" apply -input=false -no-color -lock-timeout=5m "$plan"
