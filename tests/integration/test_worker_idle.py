"""Between reads the CUPI worker thread sleeps: with 20 servers read every
10 s over kept TLS connections, the worker uses a small share of one core.
A worker that wakes in a loop between reads (a timer that stays expired)
uses most of a core however little there is to do; the bound below is far
from both, so load on the machine does not decide the outcome.

Real snmpd master, the agent, cupi-sim.
"""

import os
import time
from pathlib import Path

from sim_helper import CupiSim
from snmp_helper import (SERVER_TABLE, Agent, Snmpd, agent_config, col, server_lines, snmpget,
                         wait_for)

SERVERS = 20
POLL = 10
MEASURE_S = 6.0
TICKS = os.sysconf("SC_CLK_TCK")


def worker_cpu_s(pid):
    for tid in os.listdir("/proc/%d/task" % pid):
        task = Path("/proc/%d/task/%s" % (pid, tid))
        if (task / "comm").read_text().strip() == "cupi-worker":
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime
    raise AssertionError("no cupi-worker thread in the agent")


def test_worker_sleeps_between_reads(tmp_path):
    names = ["cuc%d" % i for i in range(1, SERVERS + 1)]
    sim = CupiSim(tmp_path / "sim")
    sim.start(servers=names)
    snmpd = Snmpd(tmp_path / "snmpd").start()
    lines = [server_lines(i, name, sim, sim_server=name) for i, name in enumerate(names, 1)]
    agent = Agent(tmp_path / "agent", agent_config(snmpd, lines, poll=POLL, ttl=POLL))
    try:
        agent.start()
        last = col(SERVER_TABLE, 4, SERVERS)
        wait_for(lambda: snmpget(snmpd.port, last)[0].value(last) == 2, 30,
                 what="every server read")
        time.sleep(2)  # the first reads' connections settle
        before, t0 = worker_cpu_s(agent.pid), time.monotonic()
        time.sleep(MEASURE_S)
        used, elapsed = worker_cpu_s(agent.pid) - before, time.monotonic() - t0
        print("worker CPU: %.2f s in %.1f s with %d servers at poll %d s" %
              (used, elapsed, SERVERS, POLL))
        assert used < 0.25 * elapsed, "the worker busy %.2f s of %.1f s" % (used, elapsed)
    finally:
        agent.stop()
        snmpd.cleanup()
        sim.stop()
