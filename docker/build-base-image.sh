#!/usr/bin/env bash
# Make a local Debian bookworm base image with Python 3.11, for machines that cannot reach an image
# registry (the Dockerfile's default base is pinned by digest and pulled from a registry otherwise).
#
# Usage: docker/build-base-image.sh [NAME]      (default: localhost/mlops-template-base)
# Prints the image reference pinned by digest (NAME@sha256:...) on stdout, ready for
#   podman build --build-arg BASE_IMAGE="$(docker/build-base-image.sh)" ...
# The image is reused when local storage already holds it: its tag is a hash of this script, so editing
# the package list makes a new one. REBUILD=1 forces a fresh debootstrap; DEBOOTSTRAP_MIRROR overrides
# debootstrap's default mirror. Needs root, debootstrap, podman and the Debian mirror; exits 3 with
# "missing prerequisite: ..." when one is missing; any other failure exits with another code.
set -euo pipefail

SUITE=bookworm # Debian 12: python3 is 3.11, the version the locks are resolved for
# python3-venv brings ensurepip (the build stage makes a venv); ca-certificates for https:// model URIs.
PACKAGES=python3,python3-venv,ca-certificates
NAME="${1:-localhost/mlops-template-base}"
TAG="${SUITE}-py311-$(sha256sum "$0" | cut -c1-12)"
IMAGE="${NAME}:${TAG}"

missing() {
  echo "build-base-image: missing prerequisite: $*" >&2
  exit 3
}

command -v podman >/dev/null || missing "podman is not installed"
print_ref() {
  local digest
  digest="$(podman image inspect --format '{{.Digest}}' "$IMAGE")"
  echo "${NAME}@${digest}"
}

# One builder at a time (parallel test workers, a concurrent `make image`).
exec 9>"${TMPDIR:-/var/tmp}/mlops-template-base.lock"
flock 9

if [ "${REBUILD:-0}" != 1 ] && podman image exists "$IMAGE"; then
  print_ref
  exit 0
fi

[ "$(id -u)" -eq 0 ] || missing "debootstrap needs root"
command -v debootstrap >/dev/null || missing "debootstrap is not installed (scripts/install-system-deps.sh)"

rootfs="$(mktemp -d "${TMPDIR:-/var/tmp}/mlops-template-base.XXXXXX")"
trap 'rm -rf "$rootfs"' EXIT
echo "build-base-image: debootstrap $SUITE into $rootfs" >&2
# shellcheck disable=SC2086 # an empty mirror means debootstrap's default
if ! debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$rootfs" ${DEBOOTSTRAP_MIRROR:-} >&2; then
  mirror="${DEBOOTSTRAP_MIRROR:-http://deb.debian.org/debian}"
  case "$mirror" in
    http://* | https://*)
      wget -q --spider --timeout=15 --tries=1 "$mirror/dists/$SUITE/Release" ||
        missing "the Debian mirror $mirror cannot be reached (no network? set DEBOOTSTRAP_MIRROR)"
      ;;
  esac
  exit 1
fi
# Drop what an image never needs: package caches, indexes, documentation.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
  "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/var/log/*
"$rootfs"/usr/bin/python3 --version >&2 2>/dev/null || chroot "$rootfs" python3 --version >&2
tar --numeric-owner -C "$rootfs" -c . |
  podman import --change 'CMD ["/usr/bin/python3"]' --change 'ENV LANG=C.UTF-8' - "$IMAGE" >&2
print_ref
