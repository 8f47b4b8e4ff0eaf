#!/usr/bin/env python3
"""Counts the copies of the two secrets left in a running agent's memory.

Starts cupi-sim (CUPI account password known), a private snmpd master and
cupi-snmp-agent, lets the agent read CUPI, SETs cupiSmtpClientPassword to a
known value, waits for the read-back, then dumps the agent's memory with
gcore and counts every occurrence of:

  - the CUPI password, raw and inside the Basic credentials (base64 of
    "user:password", which is what goes on the wire);
  - the smart-host password (smtpPassword) of the SET.

Needs gdb (gcore) and root (or ptrace rights over the agent). Prints one
line per form and exits 0; it measures, it does not judge.

    scripts/core-secrets.py [--build DIR] [--keep DIR] [--sets N] [--format xml|json]
"""

import argparse
import base64
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "integration"))

CUPI_USER = "core-probe-admin"
CUPI_PASSWORD = "Cupi-Acc0unt-Pw-7f3a91"
SMTP_PASSWORD = "Smart-H0st-Pw-c2d84e"


def count(data, needle):
    n, start = 0, 0
    while True:
        i = data.find(needle, start)
        if i < 0:
            return n
        n += 1
        start = i + 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=str(HERE.parent / "build"))
    ap.add_argument("--keep", help="keep the core and logs in this directory")
    ap.add_argument("--sets", type=int, default=1, help="SETs of the password before the dump")
    ap.add_argument("--format", choices=("xml", "json"), default="xml", help="cupiFormat")
    args = ap.parse_args()
    os.environ["CUPI_BUILD_DIR"] = str(Path(args.build).resolve())

    from sim_helper import CupiSim
    from snmp_helper import (SMTP_CLIENT_TABLE, SMTP_SERVER_TABLE, Agent, Snmpd, agent_config,
                             col, server_lines, snmpget, snmpset, wait_for)

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="cupi-core-"))
    work.mkdir(parents=True, exist_ok=True)
    sim = CupiSim(work / "sim", user=CUPI_USER, password=CUPI_PASSWORD)
    snmpd = agent = None
    try:
        sim.start(servers=["cuc1"])
        snmpd = Snmpd(work / "snmpd", agentx_timeout=10, agentx_retries=0).start()
        conf = agent_config(snmpd, [server_lines(1, "cuc1", sim, fmt=args.format)], poll=1, ttl=1)
        agent = Agent(work / "agent", conf, debug=None).start()
        port_oid = col(SMTP_SERVER_TABLE, 1, 1)
        wait_for(lambda: snmpget(snmpd.port, port_oid)[0].value(port_oid) is not None, 20,
                 what="the agent to read CUPI")
        for i in range(args.sets):
            _, err = snmpset(snmpd.port, (col(SMTP_CLIENT_TABLE, 6, 1), "s", SMTP_PASSWORD),
                             timeout=15)
            if err:
                raise SystemExit("SET failed: %s" % err)
        time.sleep(2.5)  # a few refreshes after the SET
        core = work / "agent.core"
        subprocess.run(["gcore", "-o", str(work / "agent.core"), str(agent.pid)],
                       capture_output=True, check=True, timeout=120)
        # gcore appends ".PID"
        core = work / ("agent.core.%d" % agent.pid)
        data = core.read_bytes()
        basic = base64.b64encode(("%s:%s" % (CUPI_USER, CUPI_PASSWORD)).encode())
        rows = [
            ("CUPI password, raw", count(data, CUPI_PASSWORD.encode())),
            ("CUPI password, Basic credentials (base64)", count(data, basic)),
            ("smtpPassword, raw", count(data, SMTP_PASSWORD.encode())),
        ]
        print("core: %s (%d bytes)" % (core, len(data)))
        for what, n in rows:
            print("%-45s %d" % (what, n))
        if not args.keep:
            core.unlink()
    finally:
        if agent:
            agent.stop()
        if snmpd:
            snmpd.cleanup()
        sim.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
