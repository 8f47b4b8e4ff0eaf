#!/usr/bin/env bash
# demo.sh - cupi-snmp end to end on this machine, nothing outside loopback:
# builds, starts cupi-sim (a simulated Unity Connection), a private snmpd
# master, snmptrapd and cupi-snmp-agent, then shows a walk of CUPI-SMTP-MIB,
# a SET that changes the SMTP configuration on the (simulated) server, and
# the notification that SET caused.
#
#   scripts/demo.sh          run the show, then keep everything up (Ctrl-C, or
#                            SIGTERM to this script, stops it all)
#   scripts/demo.sh --once   run the show and stop; exit 0 when every step worked
#
# It builds in build-demo/ (tests off, so it builds quickly) and never touches
# build/, the tree scripts/test.sh configures with tests on. CUPI_BUILD_DIR
# names another, already configured tree to use instead.
set -euo pipefail

once=0
case "${1:-}" in
  --once) once=1 ;;
  "") ;;
  -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
  *) echo "usage: $0 [--once]" >&2; exit 2 ;;
esac

top=$(cd "$(dirname "$0")/.." && pwd)
build=${CUPI_BUILD_DIR:-$top/build-demo}
work=$(mktemp -d /tmp/cupi-snmp-demo.XXXXXX)
pids=()

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
fail() { echo "demo: FAILED: $*" >&2; exit 1; }

# Everything started is stopped together: SIGTERM to all, then up to 1.5 s
# for all of them at once, then SIGKILL, so the whole stop stays within 2 s.
cleanup() {
  local pid alive
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for _ in $(seq 15); do
    alive=0
    for pid in "${pids[@]}"; do
      kill -0 "$pid" 2>/dev/null && alive=1
    done
    [ "$alive" = 1 ] || break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do
    kill -9 "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
# bash runs a trap only once the foreground command has ended: every long
# wait below is a background sleep followed by "wait", which a signal ends.
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() { # a free port on 127.0.0.1 (udp or tcp)
  python3 - "$1" <<'EOF'
import socket, sys
kind = socket.SOCK_DGRAM if sys.argv[1] == "udp" else socket.SOCK_STREAM
s = socket.socket(socket.AF_INET, kind)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
EOF
}

wait_for() { # wait_for SECONDS COMMAND...: retry until it succeeds
  local limit=$1; shift
  local end=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $end ] || return 1
    sleep 0.3
  done
}

step "Installing what is missing and building"
# shellcheck source=scripts/deps.sh
. "$top/scripts/deps.sh"
cupi_install_deps build
if [ ! -f "$build/CMakeCache.txt" ]; then
  if [ -n "${CUPI_BUILD_DIR:-}" ]; then
    cmake -S "$top" -B "$build" >/dev/null
  else
    cmake -S "$top" -B "$build" -DCUPI_BUILD_TESTS=OFF >/dev/null
  fi
fi
cmake --build "$build" -j "$(nproc)" >/dev/null
echo "built in $build"

# MIB names for the net-snmp tools when the IETF base MIBs can be had;
# numeric OIDs otherwise.
mibdir="$work/mibs"
mkdir -p "$mibdir"
mib_opts=(-On)
have_mibs=0
if "$top/scripts/fetch-ietf-mibs.sh" "$mibdir" >/dev/null 2>&1; then
  mib_opts=(-M "$mibdir:$top/mib:/usr/share/snmp/mibs" -m SNMPv2-MIB:CUPI-SMTP-MIB)
  have_mibs=1
fi
export MIBS=""

step "Starting cupi-sim, a simulated Unity Connection (HTTPS on loopback)"
pw="$work/cupi.pw"
( umask 077; echo "Demo-$(date +%s)-$RANDOM" > "$pw" )
"$build/tools/cupi-sim" --server 0:cuc-demo --password-file "$pw" --write-ca "$work/ca.pem" \
  > "$work/sim.out" 2> "$work/sim.log" &
pids+=($!)
wait_for 20 grep -q 'cupi-sim: ready' "$work/sim.out" || fail "cupi-sim did not start"
sim_url=$(sed -n 's/.*listening on \(https:[^ ]*\).*/\1/p' "$work/sim.out" | head -n1)
echo "cupi-sim at $sim_url"

step "Starting snmptrapd and a private snmpd master (AgentX on a unix socket)"
trap_port=$(free_port udp)
snmp_port=$(free_port udp)
cat > "$work/snmptrapd.conf" <<EOF
disableAuthorization yes
EOF
snmptrapd -f -C -c "$work/snmptrapd.conf" -Lf "$work/traps.log" "${mib_opts[@]}" \
  -F 'NOTIFICATION %v\n' udp:127.0.0.1:"$trap_port" &
pids+=($!)
cat > "$work/snmpd.conf" <<EOF
master agentx
agentXSocket unix:$work/agentx.sock
# A SET waits for CUPI: let the master wait longer than cupiTimeout, and never
# resend an AgentX request (a resent CommitSet would fail the SET).
agentxTimeout 25
agentxRetries 0
rocommunity public 127.0.0.1
# SNMPv3 user for writes (authPriv): see README "Writes need SNMPv3".
createUser demo SHA "demo-auth-pass" AES "demo-priv-pass"
rwuser demo priv
trap2sink 127.0.0.1:$trap_port public
EOF
snmpd -f -C -c "$work/snmpd.conf" -Lf "$work/snmpd.log" udp:127.0.0.1:"$snmp_port" &
pids+=($!)
wait_for 20 snmpget -v2c -c public -t 1 -r 0 127.0.0.1:"$snmp_port" 1.3.6.1.2.1.1.3.0 ||
  fail "snmpd did not start (log: $work/snmpd.log)"
echo "snmpd on udp:127.0.0.1:$snmp_port, snmptrapd on udp:127.0.0.1:$trap_port"

step "Starting cupi-snmp-agent"
cat > "$work/agent.conf" <<EOF
cupiServer       1 cuc-demo $sim_url
cupiUser         1 admin
cupiPasswordFile 1 $pw
cupiCaFile       1 $work/ca.pem
cupiCacheTtl     2
cupiPollInterval 2
agentXSocket     unix:$work/agentx.sock
EOF
chmod 600 "$work/agent.conf"
"$build/agent/cupi-snmp-agent" -f -C -c "$work/agent.conf" -Lf "$work/agent.log" &
pids+=($!)

root=1.3.6.1.4.1.8072.9999.9999.25
agent="127.0.0.1:$snmp_port"
v2=(-v2c -c public -t 2 -r 1)
v3=(-v3 -l authPriv -u demo -a SHA -A demo-auth-pass -x AES -X demo-priv-pass -t 10 -r 0)
has_values() { snmpget "${v2[@]}" -On -Oqv "$agent" "$root.1.2.1.1.1" | grep -qE '^[0-9]+$'; }
wait_for 30 has_values || fail "the agent serves no values (log: $work/agent.log)"

step "snmpbulkwalk of CUPI-SMTP-MIB"
snmpbulkwalk "${v2[@]}" "${mib_opts[@]}" "$agent" "$root" | tee "$work/walk.txt"
[ "$(grep -c . "$work/walk.txt")" -ge 27 ] || fail "the walk is missing columns"

step "SET over SNMPv3: maxNumberConnections 20 -> 35, smart host -> relay.example.net"
snmpset "${v3[@]}" "${mib_opts[@]}" "$agent" "$root.1.2.1.3.1" i 35 "$root.1.3.1.1.1" s relay.example.net ||
  fail "the SET failed"

step "What Unity Connection (cupi-sim) holds now"
state=$(python3 - "$sim_url" "$work/ca.pem" <<'EOF'
import json, ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[2])
with urllib.request.urlopen(sys.argv[1] + "/_sim/state", context=ctx, timeout=5) as r:
    s = json.load(r)
print("maxNumberConnections =", s["server"]["maxNumberConnections"])
print("smtpSmartHost =", s["client"]["smtpSmartHost"])
EOF
)
echo "$state"
grep -q 'maxNumberConnections = 35' <<<"$state" || fail "the server did not get the new value"
grep -q 'smtpSmartHost = relay.example.net' <<<"$state" || fail "the client config did not change"

step "The notifications the SET caused (snmptrapd)"
notifications='ConfigChanged|\.0\.[12][[:space:]]'
got_traps() { [ "$(grep -cE "$notifications" "$work/traps.log")" -ge 2 ]; }
wait_for 15 got_traps || fail "no notification arrived (log: $work/traps.log)"
grep -E "$notifications" "$work/traps.log" | sed 's/\t/\n    /g'

step "Demo complete"
if [ "$once" = 1 ]; then
  exit 0
fi
# The hints name objects when the MIBs could be had, numbers otherwise.
walk_oid=$root
set_oid="$root.1.2.1.3.1"
if [ "$have_mibs" = 1 ]; then
  walk_oid=CUPI-SMTP-MIB::cupiSmtpMIB
  set_oid=CUPI-SMTP-MIB::cupiSmtpServerMaxConnections.1
fi
quoted() { printf ' %q' "$@"; }
echo "Everything keeps running; try for example:"
echo "  snmpbulkwalk$(quoted "${v2[@]}" "${mib_opts[@]}" "$agent" "$walk_oid")"
echo "  snmpset$(quoted "${v3[@]}" "${mib_opts[@]}" "$agent" "$set_oid" i 25)"
echo "Notifications are logged by snmptrapd to $work/traps.log:"
echo "  tail -f $work/traps.log"
echo "Logs: $work/agent.log, $work/snmpd.log, $work/sim.log"
echo "Ctrl-C (or: kill $$) stops everything this script started."
while :; do
  sleep 3600 &
  pids+=($!)
  wait $! || true
  unset 'pids[${#pids[@]}-1]'
done
