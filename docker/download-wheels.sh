#!/usr/bin/env bash
# Download the image's locked wheels (requirements/image.txt, every hash checked) into a wheelhouse that
# the Dockerfile's build stage installs from with --no-index. The image build itself then needs no
# network, and this download goes through the host's own pip configuration (mirrors, proxies, CAs).
#
# Usage: docker/download-wheels.sh [DEST] [ARCH]   (defaults: build/wheels, the host's `uname -m`)
# ARCH is x86_64 or aarch64; the wheels are for CPython 3.11 on glibc Linux (Debian bookworm, glibc 2.36).
# Exits 3 with "missing prerequisite: ..." when the download fails and the package index is out of reach.
set -euo pipefail
cd "$(dirname "$0")/.."
dest="${1:-build/wheels}"
arch="${2:-$(uname -m)}"
case "$arch" in
  x86_64 | amd64) arch=x86_64 ;;
  aarch64 | arm64) arch=aarch64 ;;
  *)
    echo "download-wheels: unsupported architecture $arch" >&2
    exit 2
    ;;
esac
python="${PYTHON:-.venv/bin/python}"
platforms=()
for tag in manylinux_2_36 manylinux_2_34 manylinux_2_31 manylinux_2_28 manylinux_2_27 manylinux_2_24 \
  manylinux_2_17 manylinux2014; do
  platforms+=(--platform "${tag}_${arch}")
done
mkdir -p "$dest"
status=0
"$python" -m pip download --quiet --disable-pip-version-check --no-deps --require-hashes \
  --only-binary=:all: --implementation cp --python-version 3.11 "${platforms[@]}" \
  -r requirements/image.txt -d "$dest" || status=$?
[ "$status" -eq 0 ] && exit 0
# A failure with the package index out of reach is a missing prerequisite (exit 3); any other is a failure.
index="${PIP_INDEX_URL:-$("$python" -m pip config get global.index-url 2>/dev/null || echo https://pypi.org/simple/)}"
if ! "$python" - "$index" <<'EOF'; then
import ssl
import sys
import urllib.error
import urllib.request

try:
    urllib.request.urlopen(sys.argv[1], timeout=15).close()
except urllib.error.HTTPError:
    pass  # the index answered
except urllib.error.URLError as exc:
    sys.exit(0 if isinstance(exc.reason, ssl.SSLError) else 1)  # reached, but its certificate is refused
except OSError:
    sys.exit(1)
EOF
  echo "download-wheels: missing prerequisite: the package index $index cannot be reached (no network?)" >&2
  exit 3
fi
exit "$status"
