#!/usr/bin/env bash
# Apply exactly one saved plan file; never plan afresh. Terraform itself refuses a plan whose state has
# moved on since planning ("Saved plan is stale"). The workflow has already checked the run that made
# the plan and the file's checksum (python -m cicd.tfplan verify-run / verify-plan).
# Usage: tf-apply.sh ENV PLAN_FILE   Credentials: the job's (OIDC apply role of the infra-ENV environment).
# The root module is terraform/service, initialised with terraform/envs/ENV/backend.hcl in ENV's own data
# directory. No -var-file: the saved plan carries the variables it was made with (and its backend).
set -euo pipefail
env_name="${1:-}"
plan="${2:-}"
root="terraform/service"
env_dir="terraform/envs/${env_name}"
if [[ ! "$env_name" =~ ^[a-z][a-z0-9-]*$ ]] || [[ ! -f "${env_dir}/backend.hcl" ]] || [[ ! -f "$plan" ]]; then
  echo "usage: tf-apply.sh ENV PLAN_FILE (got '${env_name}' '${plan}')" >&2
  exit 2
fi
plan="$(cd "$(dirname "$plan")" && pwd)/$(basename "$plan")"
export TF_DATA_DIR=".terraform/${env_name}" # relative to the -chdir folder
terraform -chdir="$root" init -input=false -no-color -reconfigure -backend-config="../envs/${env_name}/backend.hcl"
terraform -chdir="$root" apply -input=false -no-color -lock-timeout=5m "$plan"
