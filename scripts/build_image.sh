#!/usr/bin/env bash
# Builds the quantd container image with buildah, without a Docker engine and
# without pulling from a public registry:
#
#   1. a Debian 12 (bookworm) root file system made once by debootstrap and
#      cached in ${QUANTD_CACHE_DIR:-${XDG_CACHE_HOME:-~/.cache}/quantd}/bookworm;
#   2. imported as the image localhost/debian:bookworm (again only when the
#      cached tree changed or the image is gone);
#   3. the Dockerfile built on it (both stages: BASE and RUNTIME_BASE).
#
# Usage: scripts/build_image.sh [extra buildah build arguments...]
# Environment: QUANTD_IMAGE (default localhost/quantd:<project version>),
# QUANTD_BASE_IMAGE (default localhost/debian:bookworm), DEBIAN_MIRROR,
# BUILD_JOBS (compile jobs, default: all cores), BUILDAH_STORAGE_DRIVER
# (default vfs, which works everywhere, also inside containers).
# Prints the time of each step and, last, the image id. Safe to rerun.
# Needs root (debootstrap, and buildah's chroot isolation here).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/setup.sh
source "$root/scripts/setup.sh"

cache="${QUANTD_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/quantd}"
rootfs="$cache/bookworm"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
base_image="${QUANTD_BASE_IMAGE:-localhost/debian:bookworm}"
version="$(sed -n 's/^project(quantd VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")"
image="${QUANTD_IMAGE:-localhost/quantd:${version:-dev}}"
buildah=(buildah --storage-driver "${BUILDAH_STORAGE_DRIVER:-vfs}")

if [ "$(id -u)" -ne 0 ]; then
  echo "build_image.sh: run as root (debootstrap and buildah's chroot isolation need it)" >&2
  exit 1
fi

step_start=0
step() { step_start=$(date +%s.%N); echo "== $*"; }
step_done() {
  awk -v s="$step_start" -v e="$(date +%s.%N)" -v n="$1" 'BEGIN { printf "== %s: %.1f s\n", n, e - s }'
}
total_start=$(date +%s.%N)

# image_id NAME: the full id of an image (no sha256: prefix), or nothing.
image_id() {
  "${buildah[@]}" images --noheading --no-trunc --format '{{.ID}}' "$1" 2>/dev/null \
    | head -n1 | sed 's/^sha256://' || true
}
# drop_untagged OLD NEW: removes image OLD if it is not NEW and no name is
# left on it; buildah refuses while a container uses it, which is fine.
drop_untagged() {
  [ -n "$1" ] && [ "$1" != "$2" ] || return 0
  if "${buildah[@]}" images --noheading --no-trunc --format '{{.ID}} {{.Name}}' \
      | awk -v id="$1" '{ sub(/^sha256:/, "", $1) } $1 == id && $2 != "<none>" { named = 1 } END { exit !named }'; then
    return 0
  fi
  if "${buildah[@]}" rmi "$1" >/dev/null 2>&1; then
    echo "removed the previous image ${1:0:12}"
  fi
}

step "tools"
quantd_install_packages buildah debootstrap
step_done "tools"

# --- 1. the bookworm tree, once ------------------------------------------
step "debootstrap bookworm into $rootfs"
if [ -f "$rootfs/.quantd-complete" ]; then
  echo "cached"
else
  mkdir -p "$cache"
  rm -rf "$rootfs.tmp"
  debootstrap --variant=minbase bookworm "$rootfs.tmp" "$mirror"
  # Like the official image: updates and security, no package caches.
  rm -f "$rootfs.tmp/etc/apt/sources.list"
  cat >"$rootfs.tmp/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  rm -rf "$rootfs.tmp"/var/cache/apt/archives/*.deb "$rootfs.tmp"/var/lib/apt/lists/*
  date -u +%Y-%m-%dT%H:%M:%SZ >"$rootfs.tmp/.quantd-complete"
  rm -rf "$rootfs"
  mv "$rootfs.tmp" "$rootfs"
fi
step_done "debootstrap"

# --- 2. the tree as an image ---------------------------------------------
# The stamp names the tree (its completion time) and the image made from it;
# the import runs again when either changed.
step "import $base_image"
stamp="$cache/bookworm.image"
want="$(cat "$rootfs/.quantd-complete")"
have_id="$(image_id "$base_image")"
if [ -n "$have_id" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want $have_id" ]; then
  echo "present: $have_id"
else
  ctr="$("${buildah[@]}" from --name "quantd-base-import-$$" scratch)"
  trap '"${buildah[@]}" rm "$ctr" >/dev/null 2>&1 || true' EXIT
  mnt="$("${buildah[@]}" mount "$ctr")"
  tar -C "$rootfs" --exclude=./.quantd-complete --exclude='./dev/*' -cf - . | tar -C "$mnt" -xpf - --numeric-owner
  "${buildah[@]}" unmount "$ctr" >/dev/null
  "${buildah[@]}" config --os linux --arch amd64 --cmd '["bash"]' \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$ctr"
  previous="$have_id"
  have_id="$("${buildah[@]}" commit --quiet --rm "$ctr" "$base_image" | sed 's/^sha256://')"
  drop_untagged "$previous" "$have_id"
  trap - EXIT
  echo "$want $have_id" >"$stamp"
  echo "imported: $have_id"
fi
step_done "import"

# --- 3. the Dockerfile ---------------------------------------------------
# --format docker: the OCI image format has no HEALTHCHECK.
step "build $image"
previous="$(image_id "$image")"
"${buildah[@]}" build --isolation chroot --format docker \
  --build-arg BASE="$base_image" --build-arg RUNTIME_BASE="$base_image" \
  --build-arg BUILD_JOBS="${BUILD_JOBS:-$(nproc)}" \
  -t "$image" "$@" "$root"
built="$(image_id "$image")"
# The image this tag named before, now untagged: removed unless a container
# or another tag still uses it (vfs stores every layer in full).
drop_untagged "$previous" "$built"
step_done "build"

step_start=$total_start
step_done "total"
echo "image $image"
echo "id $built"
