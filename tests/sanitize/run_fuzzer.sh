#!/bin/sh
# ctest's sanitize.fuzz_<target>: runs a fuzz target for a fixed time,
# starting from its seed folders, and fails on a crash, a leak, a sanitizer
# report, an input slower than 30 s or one over the memory limits; the
# input is then left in WORK_DIR with the report on stderr.
# Usage: run_fuzzer.sh FUZZER WORK_DIR SECONDS SEED_DIR...
# New inputs go to WORK_DIR/corpus (emptied first, so every run starts
# from the seeds alone), never into the seed folders.
set -eu
fuzzer=$1
work=$2
seconds=$3
shift 3
rm -rf "$work/corpus"
mkdir -p "$work/corpus"
for dir in "$@"; do
  [ -d "$dir" ] || { echo "no seed folder $dir" >&2; exit 1; }
done
exec "$fuzzer" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 -malloc_limit_mb=1024 \
  -print_final_stats=1 -artifact_prefix="$work/" "$work/corpus" "$@"
