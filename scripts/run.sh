#!/usr/bin/env bash
# Installs what is missing, builds, and starts quantd in the foreground
# (gRPC on :50051, metrics on :9464). Extra arguments go to quantd.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
quantd_install_packages "${BUILD_PACKAGES[@]}"
quantd_build
exec "$BUILD_DIR/server/quantd" "$@"
