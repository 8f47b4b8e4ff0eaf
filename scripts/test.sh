#!/usr/bin/env bash
# Builds cupi-snmp and runs every test: unit and integration (real snmpd,
# snmptrapd, net-snmp tools, cupi-sim), then the same suite again under
# AddressSanitizer + UndefinedBehaviorSanitizer (LeakSanitizer included).
# Installs missing Debian packages first. Exit 0 only when everything passed.
#
# Then, once each: the real NMS server tests (tests/nms: a Zabbix server
# with PostgreSQL and its API), the install layout, the systemd unit (systemd-analyze) and the packages
# (scripts/package.sh, lintian), once. Last, the libFuzzer targets run for a
# bounded time each (scripts/fuzz.sh).
#
#   scripts/test.sh [--no-sanitize] [--no-fuzz] [--no-install] [ctest args...]
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

sanitize=1
fuzz=1
install=1
ctest_args=()
for arg in "$@"; do
  case "$arg" in
    --no-sanitize) sanitize=0 ;;
    --no-fuzz) fuzz=0 ;;
    --no-install) install=0 ;;
    *) ctest_args+=("$arg") ;;
  esac
done

# shellcheck source=scripts/deps.sh
. "$here/scripts/deps.sh"
if [ "$install" = 1 ]; then
  cupi_install_deps build test
fi

jobs=$(nproc 2>/dev/null || echo 2)

run_suite() {
  local dir=$1; shift
  echo "==> configure $dir ($*)"
  # Tests on, always: a tree configured without them (by hand, or an older
  # demo) would otherwise leave ctest with nothing to run.
  cmake -S "$here" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCUPI_BUILD_TESTS=ON "$@" >/dev/null
  echo "==> build $dir"
  cmake --build "$dir" -j "$jobs" >/dev/null
  echo "==> unit tests ($dir)"
  (cd "$dir" && ctest --output-on-failure --no-tests=error -j "$jobs" -R '^(unit|style)\.' "${ctest_args[@]}")
  echo "==> integration tests ($dir)"
  # Each module runs its own processes on free loopback ports in its own
  # temporary directories, so modules run side by side.
  (cd "$dir" && ctest --output-on-failure --no-tests=error -j "$jobs" -R '^integration\.' "${ctest_args[@]}")
}

run_suite "$here/build"
# Real NMS servers (Zabbix with PostgreSQL, php-fpm, nginx): once, not in
# the sanitizer pass below.
echo "==> real NMS server tests (once; not repeated under the sanitizers)"
(cd "$here/build" && ctest --output-on-failure --no-tests=error -R '^nms\.' "${ctest_args[@]}")
echo "==> install layout, systemd unit and package tests"
(cd "$here/build" && ctest --output-on-failure --no-tests=error -R '^package\.' "${ctest_args[@]}")
if [ "$sanitize" = 1 ]; then
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
  export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$here/tests/lsan.supp:print_suppressions=0}
  run_suite "$here/build-asan" -DCUPI_SANITIZE=ON
fi
if [ "$fuzz" = 1 ]; then
  echo "==> fuzzing"
  "$here/scripts/fuzz.sh" "${CUPI_FUZZ_SECONDS:-15}"
fi
echo "==> all tests passed"
