#!/usr/bin/env bash
# Installs the Debian 12 packages quantd needs (only those missing) and
# builds it. Usage: scripts/setup.sh [build|test]  (test adds the test tools)
# Sourced by run.sh and test.sh; BUILD_DIR defaults to ./build.
set -euo pipefail

BUILD_PACKAGES=(
  g++ cmake make
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler grpc-proto
  libabsl-dev prometheus-cpp-dev libboost-dev libssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
)
# The Python tests compare with PyTorch; promtool checks the metrics page;
# yamllint checks the Kubernetes manifests; openssl makes the TLS tests'
# certificates.
TEST_PACKAGES=(python3 python3-grpcio python3-numpy python3-torch prometheus yamllint openssl)

quantd_install_packages() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "Installing: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
}

quantd_build() {
  local root
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  BUILD_DIR="${BUILD_DIR:-$root/build}"
  cmake -S "$root" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release
  cmake --build "$BUILD_DIR" -j "$(nproc)"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  quantd_install_packages "${BUILD_PACKAGES[@]}"
  [ "${1:-build}" = test ] && quantd_install_packages "${TEST_PACKAGES[@]}"
  quantd_build
fi
