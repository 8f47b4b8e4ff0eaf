#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (build-fuzz/) and runs each for a
# bounded time from its committed seeds (tests/fuzz/corpus/): the codecs, the
# configuration parser, the agent's state file, CUPI error bodies, and the
# HTTP client's URL, cookie and back-off helpers. Exit 0 when no crash, leak
# or broken property was found.
#
#   scripts/fuzz.sh [SECONDS]     (default 20 per target)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-20}
dir=${CUPI_FUZZ_BUILD_DIR:-$top/build-fuzz}
CC=clang cmake -S "$top" -B "$dir" -DCUPI_BUILD_FUZZ=ON -DCUPI_BUILD_TESTS=OFF \
  -DCUPI_FUZZ_SECONDS="$seconds" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
targets=(fuzz_decode fuzz_config fuzz_state_file fuzz_store_open fuzz_error_message fuzz_http)
cmake --build "$dir" -j "$(nproc)" --target "${targets[@]}" >/dev/null
cd "$dir" && ctest --output-on-failure --no-tests=error -R '^fuzz\.'
