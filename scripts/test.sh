#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test (ctest: the core
# unit tests, the server over loopback, the CLI end to end, the Python tests
# against PyTorch, the deployment, alert and dashboard checks, the
# sanitizers and fuzzers, a short soak; with QUANTD_TEST_IMAGE=1 also the
# container image, built with buildah and run).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
quantd_install_packages "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
quantd_install_node_tools
quantd_build
# The whole suite once per kernel level, so every SIMD path and the scalar
# reference serve every test (levels this CPU lacks fall back to the best
# below them). Once is enough for the deployment checks and the container
# image test (which builds the image and runs its own quantd), which run no
# host kernels; for the sanitizer and fuzz tests (which build their own
# tree and reach every level themselves); for the short soak, which looks
# for lost answers and leaks under load, not kernel results; and for the
# tests labelled "service" (the call gate, TLS and the token, deadlines,
# draining), whose outcome does not depend on the kernel level.
#
# The container image test compiles quantd a second time inside a fresh
# image (4 to 5 minutes of both cores, a quarter of the suite): it runs
# only with QUANTD_TEST_IMAGE=1 (or as scripts/test_image.sh --build), for
# changes to the Dockerfile, the dependencies or the build.
first_skip=(-LE container)
[ "${QUANTD_TEST_IMAGE:-0}" = 1 ] && first_skip=()
first=1
for isa in avx512_vnni avx2 scalar; do
  echo "== kernels capped at $isa"
  skip=("${first_skip[@]}")
  [ $first -eq 1 ] || skip=(-LE 'deploy|container|sanitize|service|soak')
  QUANTD_ISA=$isa ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)" "${skip[@]}" "$@"
  first=0
done
