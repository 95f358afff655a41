#!/usr/bin/env bash
# Plan one Terraform environment and keep the plan: build/terraform/ENV.tfplan (the file apply uses),
# ENV.txt (what reviewers read: `terraform show`, or the error output when planning failed) and
# ENV.tfplan.json (checksum, commit, run; written by `python -m cicd.tfplan record`).
# Usage: tf-plan.sh ENV   Credentials: the job's (OIDC plan role). The root module is terraform/service;
# terraform/envs/ENV supplies the backend (backend.hcl) and the variables (terraform.tfvars). Each
# environment has its own data directory (terraform/service/.terraform/ENV), so no backend is reused.
set -euo pipefail
env_name="${1:-}"
root="terraform/service"
env_dir="terraform/envs/${env_name}"
if [[ ! "$env_name" =~ ^[a-z][a-z0-9-]*$ ]] || [[ ! -f "${env_dir}/backend.hcl" ]] ||
  [[ ! -f "${env_dir}/terraform.tfvars" ]]; then
  echo "usage: tf-plan.sh ENV (a folder under terraform/envs with backend.hcl and terraform.tfvars; got '${env_name}')" >&2
  exit 2
fi
out="$(pwd)/build/terraform"
mkdir -p "$out"
plan="${out}/${env_name}.tfplan"
text="${out}/${env_name}.txt"
export TF_DATA_DIR=".terraform/${env_name}" # relative to the -chdir folder
rm -f "$plan" "$plan.json"
if ! {
  terraform -chdir="$root" init -input=false -no-color -reconfigure -backend-config="../envs/${env_name}/backend.hcl" &&
    terraform -chdir="$root" plan -input=false -no-color -lock-timeout=5m \
      -var-file="../envs/${env_name}/terraform.tfvars" -out="$plan"
} >"$text" 2>&1; then
  cat "$text"
  exit 1
fi
terraform -chdir="$root" show -no-color "$plan" >"$text"
.venv/bin/python -m cicd.tfplan record --plan "$plan" --environment "$env_name"
tail -n 3 "$text"
