#!/usr/bin/env bash
# Tests the quantd container image without a Docker engine: starts it with
# buildah and calls quantd inside it from the Python client
# (tests/container/test_image.py says what it checks).
#
# Usage: scripts/test_image.sh [--build] [IMAGE]
#   --build  first build the image with scripts/build_image.sh (which makes
#            or reuses the cached debootstrap base), and time both.
# IMAGE defaults to $QUANTD_IMAGE, else localhost/quantd:<project version>.
# Needs root. ctest runs it as `container.image` (label container).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/setup.sh
source "$root/scripts/setup.sh"

build=0
if [ "${1:-}" = --build ]; then
  build=1
  shift
fi

start=$(date +%s.%N)
elapsed() { awk -v s="$1" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }'; }

# buildah; protoc, its Python plugin and gRPC's protos for the client's stubs;
# Debian's Python with grpcio and numpy for the client.
quantd_install_packages buildah protobuf-compiler protobuf-compiler-grpc grpc-proto \
  "${PYTHON_CLIENT_PACKAGES[@]}"

if [ $build -eq 1 ]; then
  "$root/scripts/build_image.sh"
  build_s=$(elapsed "$start")
fi
test_start=$(date +%s.%N)
PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 "$root/tests/container/test_image.py" "$@"
[ $build -eq 1 ] && echo "== image build (with base) ${build_s} s, container test $(elapsed "$test_start") s"
echo "== total $(elapsed "$start") s"
