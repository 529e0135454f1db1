#!/usr/bin/env bash
# `make bench`: runs every benchmark binary; each prints its figures and the ratio of each
# variant to the baseline it measured in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build}
status=0
for b in "$BUILD_DIR"/bench/*_bench; do
  echo "== $(basename "$b")"
  "$b" --benchmark_min_time=0.5 || status=1
  echo
done
exit $status
