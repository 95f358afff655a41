#!/usr/bin/env bash
# Plan one Terraform environment and keep the plan: build/terraform/ENV.tfplan (the file apply uses),
# ENV.txt (what reviewers read: `terraform show`, or the error output when planning failed) and
# ENV.tfplan.json (checksum, commit, run; written by `python -m cicd.tfplan record`).
# Usage: tf-plan.sh ENV   Credentials: the job's (OIDC plan role). Backend: terraform/envs/ENV's own
# configuration, plus backend.hcl there when it exists.
set -euo pipefail
env_name="${1:-}"
dir="terraform/envs/${env_name}"
if [[ ! "$env_name" =~ ^[a-z][a-z0-9-]*$ ]] || [[ ! -d "$dir" ]]; then
  echo "usage: tf-plan.sh ENV (a folder under terraform/envs; got '${env_name}')" >&2
  exit 2
fi
out="$(pwd)/build/terraform"
mkdir -p "$out"
plan="${out}/${env_name}.tfplan"
text="${out}/${env_name}.txt"
backend=()
if [[ -f "${dir}/backend.hcl" ]]; then
  backend=(-backend-config=backend.hcl)
fi
rm -f "$plan" "$plan.json"
if ! {
  terraform -chdir="$dir" init -input=false -no-color "${backend[@]}" &&
    terraform -chdir="$dir" plan -input=false -no-color -lock-timeout=5m -out="$plan"
} >"$text" 2>&1; then
  cat "$text"
  exit 1
fi
terraform -chdir="$dir" show -no-color "$plan" >"$text"
.venv/bin/python -m cicd.tfplan record --plan "$plan" --environment "$env_name"
tail -n 3 "$text"
