#!/usr/bin/env bash
# Debian packages some tests use: podman/buildah/runc/debootstrap (build and run the image), wrk (load).
# Needs root and apt-get; prints a notice and exits 1 otherwise, so callers can carry on without them.
set -euo pipefail
packages=(podman buildah runc debootstrap wrk)
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "notice: need root and apt-get to install: ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
