#!/usr/bin/env bash
# Builds Abseil and gRPC with ThreadSanitizer into a prefix of their own, for
# the ThreadSanitizer tree (cmake -DQUANTD_SANITIZE=thread, see the README).
#
# Why: ThreadSanitizer only sees the synchronization of code it instrumented
# (and of the C library's pthread calls). Debian's libgrpc and libabsl are
# not instrumented: gRPC hands a call's state from thread to thread through
# Abseil's futex-based Mutex and its own lock-free queues, none of which
# ThreadSanitizer can see, so the server tests draw reports from inside gRPC
# that are no races. Built with -fsanitize=thread, both libraries tell it
# every hand-off and the server tests need no suppressions for them.
#
# What: Debian's own source packages of the versions that are installed
# (libabsl-dev and libgrpc++-dev), with Debian's patches (apt-get source
# applies them: the inline namespace absl::debian3, Abseil's own types
# instead of std's aliases, the sonames), so that the instrumented libraries
# have the same ABI and headers as the ones every other tree builds against.
# Abseil as shared libraries in C++17 (as Debian builds it; its options.h
# pins absl::string_view and the rest to Abseil's own types, so the ABI does
# not depend on the consumer's standard); gRPC against that Abseil and
# Debian's protobuf, OpenSSL, zlib, c-ares and re2. Only the C++ code
# generator among gRPC's plugins is built: the tree's find_package(gRPC)
# wants gRPC::grpc_cpp_plugin, and gRPC's own build runs it for
# grpc++_reflection.
#
# Every step is skipped when already done (a stamp records the versions and
# flags each library was built with), so running it again is cheap. About
# 27 minutes on 2 cores the first time (gRPC 25 of them), a second afterwards.
#
# Environment (all optional):
#   QUANTD_TSAN_DEPS_DIR     root of the work (default build/tsan-deps)
#   QUANTD_TSAN_DEPS_SRC     sources (default $QUANTD_TSAN_DEPS_DIR/src)
#   QUANTD_TSAN_DEPS_PREFIX  install prefix (default $QUANTD_TSAN_DEPS_DIR/prefix)
#   QUANTD_TSAN_DEPS_JOBS    parallel compile jobs (default 2)
#   QUANTD_TSAN_DEPS_NICE    niceness of the compiles (default 10)
#
# Then: cmake -S . -B build/tsan ... -DQUANTD_SANITIZE=thread \
#         -DCMAKE_PREFIX_PATH=$PWD/build/tsan-deps/prefix
set -euo pipefail

start=$SECONDS
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
deps=${QUANTD_TSAN_DEPS_DIR:-$root/build/tsan-deps}
src=${QUANTD_TSAN_DEPS_SRC:-$deps/src}
prefix=${QUANTD_TSAN_DEPS_PREFIX:-$deps/prefix}
builds=$deps/build
jobs=${QUANTD_TSAN_DEPS_JOBS:-2}
niceness=${QUANTD_TSAN_DEPS_NICE:-10}
mkdir -p "$src" "$prefix" "$builds"
src=$(cd "$src" && pwd)
prefix=$(cd "$prefix" && pwd)
stamps=$prefix/share/quantd
mkdir -p "$stamps"

step() { printf '\n== %s (%ds)\n' "$*" $((SECONDS - start)); }

# The compiler of the ThreadSanitizer tree (README): one runtime, one ABI.
cc=clang-14
cxx=clang++-14
flags="-fsanitize=thread -O1 -g -fno-omit-frame-pointer"
link_flags="-fsanitize=thread"
# lld links the large libgrpc in a fraction of ld's time.
command -v ld.lld-14 >/dev/null 2>&1 && link_flags+=" -fuse-ld=lld"

# Packages: the tools, apt-get source's dpkg-dev, and the -dev packages of
# what gRPC takes from Debian (gRPC_*_PROVIDER=package below; libprotoc-dev
# for the code generator).
need=(dpkg-dev clang-14 lld-14 cmake ninja-build pkgconf
      libabsl-dev libgrpc++-dev protobuf-compiler libprotobuf-dev libprotoc-dev
      libssl-dev zlib1g-dev libc-ares-dev libre2-dev)
missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
apt_updated=0
if ((${#missing[@]})); then
  step "installing ${missing[*]}"
  apt-get update -qq
  apt_updated=1
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The source versions of what is installed (a binNMU's +bN is not in the
# source's version: libgrpc++-dev 1.51.1-3+b1 comes from grpc 1.51.1-3).
absl_version=$(dpkg-query -W -f='${source:Version}' libabsl-dev)
grpc_version=$(dpkg-query -W -f='${source:Version}' libgrpc++-dev)
absl_dir=$src/abseil-${absl_version%-*}
grpc_dir=$src/grpc-${grpc_version%-*}
echo "abseil $absl_version, grpc $grpc_version; sources in $src, prefix $prefix"

# Debian's source packages: apt needs a deb-src line for bookworm.
if [[ ! -d $absl_dir/debian || ! -d $grpc_dir/debian ]]; then
  sources_file=/etc/apt/sources.list.d/quantd-src.sources
  if ! grep -rqsE '^(Types:.*deb-src|deb-src )' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    step "adding $sources_file"
    cat >"$sources_file" <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    apt_updated=0
  fi
  if ((!apt_updated)); then
    step "apt-get update"
    apt-get update -qq
  fi
  # dpkg-source -x (run by apt-get source) applies debian/patches.
  for pkg in "abseil=$absl_version|$absl_dir" "grpc=$grpc_version|$grpc_dir"; do
    dir=${pkg#*|}
    [[ -d $dir/debian ]] && continue
    step "apt-get source ${pkg%%|*}"
    (cd "$src" && apt-get source -qq --only-source "${pkg%%|*}")
  done
fi

# cmake_build NAME SOURCE_DIR ARGS...: configures, builds and installs one
# library unless its stamp says this version was already built so.
cmake_build() {
  local name=$1 dir=$2
  shift 2
  local stamp=$stamps/$name.stamp
  local want="$name $(basename "$dir") $cxx $flags $link_flags $*"
  if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
    step "$name: already built ($stamp)"
    return
  fi
  rm -f "$stamp"
  step "$name: configure"
  # CMAKE_BUILD_TYPE=None, as Debian builds both: the flags are exactly the
  # ones given, and NDEBUG stays undefined as in Debian's libraries (some of
  # gRPC's classes differ in layout with it).
  cmake -S "$dir" -B "$builds/$name" -G Ninja \
    -DCMAKE_BUILD_TYPE=None \
    -DCMAKE_C_COMPILER=$cc -DCMAKE_CXX_COMPILER=$cxx \
    -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" \
    -DCMAKE_EXE_LINKER_FLAGS="$link_flags" -DCMAKE_SHARED_LINKER_FLAGS="$link_flags" \
    -DCMAKE_CXX_STANDARD=17 \
    -DBUILD_SHARED_LIBS=ON \
    -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_INSTALL_LIBDIR=lib \
    -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_INSTALL_RPATH="$prefix/lib" \
    "$@"
  step "$name: build (-j$jobs, nice $niceness)"
  nice -n "$niceness" cmake --build "$builds/$name" -j "$jobs"
  step "$name: install"
  cmake --install "$builds/$name" >/dev/null
  echo "$want" >"$stamp"
}

# Every library carries the prefix as its RUNPATH (CMAKE_INSTALL_RPATH):
# the sonames are Debian's, and a dependency of libgrpc that the executable
# does not name itself must not be found in /usr/lib instead.

# Abseil. ABSL_PROPAGATE_CXX_STD: its targets ask for C++17 or later.
cmake_build absl "$absl_dir" \
  -DABSL_PROPAGATE_CXX_STD=ON \
  -DBUILD_TESTING=OFF -DABSL_BUILD_TESTING=OFF

# gRPC, against that Abseil (found in the prefix first) and Debian's
# packages for the rest; no tests, no C# extension, no plugin but C++'s.
cmake_build grpc "$grpc_dir" \
  -DgRPC_INSTALL=ON -DgRPC_BUILD_TESTS=OFF \
  -DgRPC_ABSL_PROVIDER=package \
  -DgRPC_CARES_PROVIDER=package \
  -DgRPC_PROTOBUF_PROVIDER=package \
  -DgRPC_RE2_PROVIDER=package \
  -DgRPC_SSL_PROVIDER=package \
  -DgRPC_ZLIB_PROVIDER=package \
  -DgRPC_BENCHMARK_PROVIDER=none \
  -DgRPC_BACKWARDS_COMPATIBILITY_MODE=OFF \
  -DgRPC_BUILD_CSHARP_EXT=OFF \
  -DgRPC_BUILD_CODEGEN=ON \
  -DgRPC_BUILD_GRPC_CPP_PLUGIN=ON \
  -DgRPC_BUILD_GRPC_CSHARP_PLUGIN=OFF \
  -DgRPC_BUILD_GRPC_NODE_PLUGIN=OFF \
  -DgRPC_BUILD_GRPC_OBJECTIVE_C_PLUGIN=OFF \
  -DgRPC_BUILD_GRPC_PHP_PLUGIN=OFF \
  -DgRPC_BUILD_GRPC_PYTHON_PLUGIN=OFF \
  -DgRPC_BUILD_GRPC_RUBY_PLUGIN=OFF

# The mark cmake/sanitized_tree.cmake looks for: a tree whose gRPC and
# Abseil come from here needs none of the workarounds for uninstrumented
# ones.
cat >"$stamps/tsan-deps.txt" <<EOF
Abseil $absl_version and gRPC $grpc_version built with $cxx $flags
EOF

step "done in $(( (SECONDS - start) / 60 )) min $(( (SECONDS - start) % 60 )) s; prefix $prefix"
