#!/usr/bin/env python3
"""bench_set_latency.py - SET wall time when every CUPI request is slow.

Not a test: prints numbers. cupi-sim answers every GET and PUT after
--latency-ms (200 by default), so a SET's time is roughly its number of
sequential CUPI round trips times that latency. snmpset goes through a
private snmpd master to cupi-snmp-agent (AgentX), all on 127.0.0.1, every
process stopped by its PID.

Cases:
  1 varbind             a column a cross-field rule involves (fresh read needed)
  5 varbinds, 2 res.    three server and two client columns, rules involved
  1 rule-free, fresh    maxNumberConnections while the cache is fresh (1 s poll)

Environment: CUPI_BUILD_DIR, the build tree whose binaries run.
Usage: CUPI_BUILD_DIR=build scripts/bench_set_latency.py [--reps N] [--latency-ms MS]
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

TOP = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TOP / "tests" / "integration"))

from sim_helper import CupiSim  # noqa: E402
from snmp_helper import (  # noqa: E402
    SMTP_CLIENT_TABLE, SMTP_SERVER_TABLE, Agent, Snmpd, agent_config, col, server_lines,
    snmpget, snmpset, wait_for)


def srv(column):
    return col(SMTP_SERVER_TABLE, column, 1)


def cli(column):
    return col(SMTP_CLIENT_TABLE, column, 1)


def varbinds(case, i):
    """Values change with i so that every SET is a real change. The CUPI reference
    state allows untrusted connections and has authentication enabled, so
    each value is consistent with the rules."""
    if case == "1 varbind":
        return [(srv(11), "i", 1 + i % 2)]  # requireTlsFromUntrustedIpAddresses
    if case == "5 varbinds, 2 resources":
        return [(srv(3), "i", 20 + i % 20), (srv(4), "i", 1 + i % 9), (srv(11), "i", 1 + i % 2),
                (cli(3), "i", 25 if i % 2 else 587), (cli(5), "s", "bench-user-%d" % i)]
    return [(srv(3), "i", 20 + i % 20)]  # maxNumberConnections: no rule involves it


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--latency-ms", type=int, default=200)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="cupi-set-bench-") as tmp:
        base = Path(tmp)
        sim = CupiSim(base / "sim")
        snmpd = agent = None
        try:
            sim.start(servers=["cuc1"])
            snmpd = Snmpd(base / "snmpd", agentx_timeout=15, agentx_retries=0).start()
            conf = agent_config(snmpd, [server_lines(1, "cuc1", sim, sim_server="cuc1")],
                                poll=1, ttl=5)
            agent = Agent(base / "agent", conf).start()
            wait_for(lambda: snmpget(snmpd.port, srv(3))[0].value(srv(3)) is not None, 20,
                     what="row 1 served")
            for method in ("GET", "PUT"):
                sim.fault(server="cuc1", method=method, latency_ms=args.latency_ms, count=-1)
            print("SET wall time with every CUPI request answered after %d ms "
                  "(%d SETs each, ms)" % (args.latency_ms, args.reps))
            print("%-26s %8s %8s %8s" % ("case", "median", "min", "max"))
            i = 0
            for case in ("1 varbind", "5 varbinds, 2 resources", "1 rule-free, fresh cache"):
                times = []
                for _ in range(args.reps):
                    i += 1
                    time.sleep(1.5)  # a refresh lands in between: the cache is fresh
                    t0 = time.monotonic()
                    _, err = snmpset(snmpd.port, varbinds(case, i), timeout=15)
                    times.append((time.monotonic() - t0) * 1000)
                    if err:
                        print("  %s: SET failed: %s" % (case, err.strip()))
                print("%-26s %8.0f %8.0f %8.0f" % (case, statistics.median(times), min(times),
                                                 max(times)))
        finally:
            for p in (agent, snmpd):
                if p:
                    p.stop()
            if snmpd:
                snmpd.cleanup()
            sim.stop()


if __name__ == "__main__":
    main()
