#!/usr/bin/env bash
# bench.sh - performance numbers of cupi-snmp on this machine (not a test:
# it prints numbers, nothing passes or fails on a time). Builds a Release
# tree with the bench programs, then runs scripts/bench.py against cupi-sim,
# a private snmpd master, snmptrapd and the agent, all on 127.0.0.1:
#   1. GET latency through snmpd (one long-lived client), CUPI fast / 3 s slow
#   2. snmpbulkwalk of the subtree with 1, 10, 50 servers, agent memory
#   3. SET round trip (1 and 5 fields), CUPI fast / PUT slowed by 2 s
#   4. notification burst: 1,000 external changes, 1 s poll
#   5. codec throughput on the CUPI reference bodies (and callgrind instructions/op)
#   6. the MIB module's CPU per GET in-process at 1, 100 and 1,000 servers
# About 1-2 minutes after the build.
#
#   scripts/bench.sh [--no-install] [--json FILE] [--only get,walk,set,burst,codec,mibget]
#                    [--gets N] [--changes N] [--no-callgrind] [--keep]
#
# Fleet mode, instead of the above (about 3-4 minutes after the build):
#   scripts/bench.sh --fleet [--servers N] [--json FILE] [--fleet-seconds S]
#                    [--cpu-gets K] [--set-reps R] [--sim-idle-timeout S] [--keep]
# One cupi-sim with N (1,000) virtual servers on 127.0.0.2, ports 24000 on,
# the agent with N cupiServer entries and a trivial reference AgentX subagent
# with N rows (bench/bench_ref_subagent) behind the same snmpd. Prints, with
# the reference and the target beside each agent number: GET p50/p99/max over
# S (120) s spanning refreshes, GET CPU per varbind at 1/100/N servers, walk
# time, CUPI requests per second and per server, connections per minute,
# heap/RSS per server, USS at 1 server, start-up time and the longest GET
# stall during start-up and a SIGHUP reload, SET wall time with 200 ms CUPI.
#
# Fleet in trouble, instead of the fleet phases (scripts/bench_fleet_cases.py;
# about 9 minutes for all four, each beside the reference in the same run):
#   scripts/bench.sh --fleet --fleet-case poll10,partial-outage,whole-outage,stalled-master
#                    [--servers N] [--fleet-seconds S] [--agent-debug cupi --keep] [--json FILE]
# poll10: cupiPollInterval 10 (GET p99/max, RSS, CUPI requests/s; RSS at the
# default poll); partial-outage: 60% answering, 40% behind a listener that
# accepts TCP and never answers, poll 30; whole-outage: all behind it,
# cupiTimeout 3000, poll 30 (notifications through snmptrapd); stalled-master:
# 100 servers, poll 2, snmpd stopped 40 s with SIGSTOP. "all" runs every case.
#
# State store mode (about 3 minutes after the build):
#   scripts/bench.sh --state-store [--servers N] [--history-rows H] [--fleet-seconds S]
#                    [--distinct-history] [--json FILE] [--keep]
# The same fleet set-up, the agent with a state store of N (1,000) servers x
# H (100) change rows (the same texts on every server, as a change rolled
# out fleet-wide leaves them; with --distinct-history none shared), imported
# from a JSON state file of an earlier release at a first start, then started
# again from the store; a SET of a random
# server every 4 s: GET p50/p99/max beside the reference, RSS, start-up time
# until every row and the history answer, SNMP-thread time to record one
# change (median, max; the agent logs it at exit).
#
# Build tree: $CUPI_BUILD_DIR, default build-bench/ (configured Release,
# -DCUPI_BUILD_BENCH=ON).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${CUPI_BUILD_DIR:-$top/build-bench}

install=1
args=()
for arg in "$@"; do
  case "$arg" in
    --no-install) install=0 ;;
    -h|--help) sed -n '2,/^# -DCUPI_BUILD_BENCH/p' "$0"; exit 0 ;;
    *) args+=("$arg") ;;
  esac
done

# shellcheck source=scripts/deps.sh
. "$top/scripts/deps.sh"
if [ "$install" = 1 ]; then
  cupi_install_deps build
fi

echo "==> build $build (Release)" >&2
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$top" -B "$build" -DCUPI_BUILD_TESTS=OFF >/dev/null
fi
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCUPI_BUILD_BENCH=ON >/dev/null
cmake --build "$build" -j "$(nproc 2>/dev/null || echo 2)" >/dev/null

export CUPI_BUILD_DIR=$build
exec python3 "$top/scripts/bench.py" "${args[@]}"
