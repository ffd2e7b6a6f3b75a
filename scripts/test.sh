#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test (ctest: the core
# unit tests, the server over loopback, the CLI end to end, and the Python
# tests against PyTorch).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
quantd_install_packages "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
quantd_build
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)" "$@"
