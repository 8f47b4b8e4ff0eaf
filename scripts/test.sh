#!/usr/bin/env bash
# Builds cupi-snmp and runs every test: unit and integration (real snmpd,
# snmptrapd, net-snmp tools, cupi-sim), then the same suite again under
# AddressSanitizer + UndefinedBehaviorSanitizer (LeakSanitizer included),
# then the tests that run the SNMP thread and the CUPI worker side by side
# under ThreadSanitizer.
# Installs missing Debian packages first. Exit 0 only when everything passed.
#
# Then, once: the real-NMS tests (once.*: a real Prometheus, a real Zabbix
# server), the install layout, the systemd unit (systemd-analyze), the packages
# (scripts/package.sh, lintian) and their deployment on a Debian 12 booted
# under systemd-nspawn (tests/deploy). Last, the libFuzzer targets run for a
# bounded time each (scripts/fuzz.sh).
#
#   scripts/test.sh [--no-sanitize] [--no-tsan] [--no-fuzz] [--no-install] [ctest args...]
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

sanitize=1
tsan=1
fuzz=1
install=1
ctest_args=()
for arg in "$@"; do
  case "$arg" in
    --no-sanitize) sanitize=0 ;;
    --no-tsan) tsan=0 ;;
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
# Integration modules mostly wait (on CUPI latency, poll periods, the
# master): one more of them than cores keeps both cores busy.
it_jobs=${CUPI_TEST_JOBS:-$((jobs + 1))}

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
  (cd "$dir" && ctest --output-on-failure --no-tests=error -j "$it_jobs" -R '^integration\.' "${ctest_args[@]}")
}

run_suite "$here/build"
# Real-NMS runs (a Prometheus scraping snmp_exporter, a Zabbix server with
# its database and API): they judge the contrib/ files, not the agent's
# memory, so they run once.
# They, the install layout, systemd unit, package and deployment tests each
# have their own ports, directories and containers: side by side.
echo "==> real NMS, install layout, systemd unit, package and deployment tests (once)"
(cd "$here/build" && ctest --output-on-failure --no-tests=error -j "$jobs" -R '^(once|package|deploy)\.' "${ctest_args[@]}")
if [ "$sanitize" = 1 ]; then
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
  export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$here/tests/lsan.supp:print_suppressions=0}
  run_suite "$here/build-asan" -DCUPI_SANITIZE=ON
fi
if [ "$tsan" = 1 ]; then
  # The module's unit tests that start the worker thread, the worker's own,
  # the history's text pool (shared by every thread),
  # and the integration modules whose agents read, write and reload through
  # both threads. A race stops the process (halt_on_error), failing its test.
  echo "==> ThreadSanitizer: configure and build $here/build-tsan"
  cmake -S "$here" -B "$here/build-tsan" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCUPI_BUILD_TESTS=ON \
    -DCUPI_TSAN=ON >/dev/null
  cmake --build "$here/build-tsan" -j "$jobs" >/dev/null
  echo "==> ThreadSanitizer: unit and integration tests"
  (cd "$here/build-tsan" &&
    TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1 second_deadlock_stack=1} \
      ctest --output-on-failure --no-tests=error -j "$jobs" \
      -R '^(unit\.test_(set_txn|agent_model|mib_handlers|mib_scale|poller|text_pool)|integration\.test_(agent_read|agent_set|refresh_schedule|status_hysteresis|reload_during_set|set_unknown_outcome))$' \
      "${ctest_args[@]}")
fi
if [ "$fuzz" = 1 ]; then
  echo "==> fuzzing"
  "$here/scripts/fuzz.sh" "${CUPI_FUZZ_SECONDS:-15}"
fi
echo "==> all tests passed"
