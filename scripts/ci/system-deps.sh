#!/usr/bin/env bash
# Install the Debian packages some tests use (scripts/install-system-deps.sh) on a CI runner. Hosted
# runners are not root but have password-less sudo; elsewhere this prints a notice and carries on, and the
# tests that need those tools skip with a reason.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" -eq 0 ]; then
  bash scripts/install-system-deps.sh && exit 0
elif sudo -n true 2>/dev/null; then
  sudo -n bash scripts/install-system-deps.sh && exit 0
fi
echo "::notice title=System packages not installed::tests that need podman, buildah, runc, debootstrap or wrk will skip"
