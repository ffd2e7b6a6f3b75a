# quantd container image: a Debian 12 build stage and a slim runtime stage.
#
#   docker build -t quantd .
#
# Both base images are build arguments, so a builder without registry access
# can point them at a locally made bookworm image, e.g. with buildah (what
# scripts/build_image.sh does, from a debootstrap-made base;
# scripts/test_image.sh runs the result):
#
#   buildah --storage-driver vfs build --isolation chroot --format docker \
#     --build-arg BASE=localhost/debian:bookworm \
#     --build-arg RUNTIME_BASE=localhost/debian:bookworm -t quantd .
#
# (--format docker keeps the HEALTHCHECK: the OCI image format has none.)
#
# The binary is built for generic x86-64 (never -march=native): quantd probes
# the CPU at start-up and picks its AVX-512 / AVX2 / scalar kernels then.

ARG BASE=debian:bookworm
ARG RUNTIME_BASE=debian:bookworm-slim

# --- build ---------------------------------------------------------------
FROM ${BASE} AS build

ARG DEBIAN_FRONTEND=noninteractive
# scripts/setup.sh's BUILD_PACKAGES without the test-only ones (gtest, gmock,
# benchmark). grpc-proto: proto/CMakeLists.txt generates the health stubs
# from Debian's /usr/share/grpc-proto. libssl-dev: quantd checks its TLS PEM
# files with OpenSSL. nlohmann-json3-dev (header-only): quantctl reads
# .safetensors headers with it.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      g++ cmake make \
      libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler grpc-proto \
      libabsl-dev prometheus-cpp-dev libboost-dev libssl-dev nlohmann-json3-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .

# Empty = one job per core of the build machine.
ARG BUILD_JOBS=
RUN cmake -S . -B /build \
      -DCMAKE_BUILD_TYPE=Release \
      -DQUANTD_BUILD_TESTS=OFF \
      -DQUANTD_BUILD_BENCH=OFF \
 && cmake --build /build --target quantd quantctl --parallel "${BUILD_JOBS:-$(nproc)}" \
 && install -D -m 0755 -s /build/server/quantd /out/usr/local/bin/quantd \
 && install -D -m 0755 -s /build/client/quantctl /out/usr/local/bin/quantctl

# --- runtime -------------------------------------------------------------
FROM ${RUNTIME_BASE} AS runtime

ARG DEBIAN_FRONTEND=noninteractive
# Only the shared libraries the two binaries load (ldd): gRPC C++ (with
# reflection) and its core, protobuf, Abseil, prometheus-cpp core + pull,
# OpenSSL's libcrypto (quantd links it directly). Their own dependencies
# (c-ares, re2, zlib, civetweb) come along.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libgrpc++1.51 libgrpc29 libprotobuf32 libabsl20220623 libssl3 \
      libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 quantd \
 && useradd --system --uid 10001 --gid 10001 --no-create-home \
      --home-dir /nonexistent --shell /usr/sbin/nologin quantd

COPY --from=build /out/ /

# Numeric, so that Kubernetes' runAsNonRoot can verify it.
USER 10001:10001

# gRPC (with grpc.health.v1) and Prometheus /metrics (plain HTTP).
EXPOSE 50051 9464

# quantd drains on SIGTERM (readiness NOT_SERVING, in-flight RPCs finish
# within --shutdown_grace_seconds, default 20 s) and exits 0.
STOPSIGNAL SIGTERM

# Liveness ("") and readiness (quantd.v1.Quantizer); exits 0 when both serve.
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/quantctl", "--target=127.0.0.1:50051", "--timeout=3s", "health"]

ENTRYPOINT ["/usr/local/bin/quantd", "--listen=0.0.0.0:50051", "--metrics_listen=0.0.0.0:9464"]
# Extra flags go after the image name (docker run quantd --threads=4), or in
# the container's args in Kubernetes.
CMD []
