#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (build-fuzz/) and runs each for a
# bounded time from the seed bodies. Exit 0 when no crash, leak or
# round-trip mismatch was found.
#
#   scripts/fuzz.sh [SECONDS]     (default 20 per target)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-20}
dir=${CUPI_FUZZ_BUILD_DIR:-$top/build-fuzz}
CC=clang cmake -S "$top" -B "$dir" -DCUPI_BUILD_FUZZ=ON -DCUPI_BUILD_TESTS=OFF \
  -DCUPI_FUZZ_SECONDS="$seconds" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$dir" -j "$(nproc)" --target fuzz_decode >/dev/null
cd "$dir" && ctest --output-on-failure --no-tests=error -R '^fuzz\.'
