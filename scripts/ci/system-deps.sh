#!/usr/bin/env bash
# Install the Debian packages some tests use (scripts/install-system-deps.sh) on a CI runner. Hosted
# runners are not root but have password-less sudo. On GitHub Actions (GITHUB_ACTIONS=true) a failed
# install, or no way to install, fails this step: otherwise the tests that need those tools would skip and
# the job would stay green without them. Elsewhere it prints a notice and carries on, and those tests skip
# with a reason.
set -euo pipefail
cd "$(dirname "$0")/../.."
status=0
if [ "$(id -u)" -eq 0 ]; then
  bash scripts/install-system-deps.sh || status=$?
elif sudo -n true 2>/dev/null; then
  sudo -n bash scripts/install-system-deps.sh || status=$?
else
  bash scripts/install-system-deps.sh || status=$? # exits 0 only when every package is already there
fi
[ "$status" -eq 0 ] && exit 0
if [ "${GITHUB_ACTIONS:-}" = "true" ]; then
  echo "::error title=System packages not installed::scripts/install-system-deps.sh exited $status; podman, buildah, runc, debootstrap and wrk are needed by the tests"
  exit "$status"
fi
echo "::notice title=System packages not installed::tests that need podman, buildah, runc, debootstrap or wrk will skip"
