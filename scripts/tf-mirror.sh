#!/usr/bin/env bash
# Fill a local Terraform provider mirror (default .tools/tf-mirror) with `terraform providers mirror`, for
# every hashicorp/aws version constraint the repository's required_providers blocks declare, for one
# platform (default linux_amd64), then unpack it to <host>/hashicorp/aws/<version>/<os>_<arch>/ (the layout
# of the CI image's mirror: parallel `terraform init`s sharing a plugin cache race on a packed one). The
# tests and `make tf-validate` find it through $TF_PROVIDER_MIRROR or at .tools/tf-mirror
# (tests/infra/terraform_cli.py). Needs terraform, unzip and the registry (network); skips when the mirror
# already holds the provider for that platform: delete the folder to refresh it.
set -euo pipefail
cd "$(dirname "$0")/.."
mirror="${1:-.tools/tf-mirror}"
platform="${2:-linux_amd64}"
provider_dir="$mirror/registry.terraform.io/hashicorp/aws"

if compgen -G "$provider_dir/*/${platform}" >/dev/null; then
  echo "tf-mirror: $provider_dir already holds hashicorp/aws for $platform; nothing to do"
  exit 0
fi
for tool in terraform unzip; do
  command -v "$tool" >/dev/null || { echo "error: $tool is not installed" >&2; exit 1; }
done

# The version line that follows each `source = "hashicorp/aws"` (the layout every versions.tf here uses).
mapfile -t constraints < <(
  grep -rh -A1 --include='*.tf' --exclude-dir=.terraform -E 'source[[:space:]]*=[[:space:]]*"hashicorp/aws"' \
    terraform tests/infra/fixtures |
    sed -nE 's/^[[:space:]]*version[[:space:]]*=[[:space:]]*"([^"]+)".*/\1/p' | sort -u
)
if [ "${#constraints[@]}" -eq 0 ]; then
  echo "error: no hashicorp/aws version constraint found under terraform/ or tests/infra/fixtures/" >&2
  exit 1
fi

# Fill a scratch folder and move it into place only when complete, so a failed run never looks filled.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/packed" "$work/mirror"
for constraint in "${constraints[@]}"; do
  root="$work/root-$(printf '%s' "$constraint" | tr -c 'A-Za-z0-9.' '_')"
  mkdir -p "$root"
  printf 'terraform {\n  required_providers {\n    aws = {\n      source  = "hashicorp/aws"\n      version = "%s"\n    }\n  }\n}\n' \
    "$constraint" >"$root/versions.tf"
  echo "tf-mirror: hashicorp/aws $constraint for $platform"
  terraform -chdir="$root" providers mirror -platform="$platform" "$work/packed"
done
# <host>/<namespace>/<type>/terraform-provider-<type>_<version>_<os>_<arch>.zip -> .../<type>/<version>/<os>_<arch>/
while IFS= read -r zip; do
  rel="${zip#"$work/packed/"}"
  base="$(basename "$zip" .zip)"
  rest="${base#terraform-provider-*_}"
  version="${rest%%_*}"
  target="$work/mirror/$(dirname "$rel")/$version/${rest#*_}"
  mkdir -p "$target"
  unzip -q "$zip" -d "$target"
done < <(find "$work/packed" -name 'terraform-provider-*.zip')
compgen -G "$work/mirror/registry.terraform.io/hashicorp/aws/*/${platform}" >/dev/null ||
  { echo "error: terraform providers mirror produced no hashicorp/aws for $platform" >&2; exit 1; }
mkdir -p "$(dirname "$mirror")"
rm -rf "$mirror"
mv "$work/mirror" "$mirror"
echo "tf-mirror: filled $mirror (export TF_PROVIDER_MIRROR=$PWD/$mirror)"
