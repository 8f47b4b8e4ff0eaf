"""When the agent reads CUPI: every cupiPollInterval in the background, and at
once when an SNMP request touches values older than cupiCacheTtl (the request
itself is answered from memory, never by waiting on CUPI).

Real snmpd master, the agent, cupi-sim.
"""

import time

import pytest

from sim_helper import CupiSim
from snmp_helper import (SERVER_TABLE, SMTP_SERVER_TABLE, Agent, Snmpd, agent_config, col,
                         server_lines, snmpget, wait_for)

MAX_CONNECTIONS = col(SMTP_SERVER_TABLE, 3, 1)
STATUS = col(SERVER_TABLE, 4, 1)


@pytest.fixture
def stack(tmp_path):
    sim = CupiSim(tmp_path / "sim")
    sim.start(servers=["cuc1"])
    snmpd = Snmpd(tmp_path / "snmpd").start()
    agent = None

    def start(poll, ttl):
        nonlocal agent
        agent = Agent(tmp_path / "agent",
                      agent_config(snmpd, [server_lines(1, "cuc1", sim)], poll=poll, ttl=ttl))
        agent.start()
        wait_for(lambda: snmpget(snmpd.port, MAX_CONNECTIONS)[0].value(MAX_CONNECTIONS), 15,
                 what="values served")
        return agent

    yield sim, snmpd, start
    if agent:
        agent.stop()
    snmpd.cleanup()
    sim.stop()


def value(snmpd):
    return snmpget(snmpd.port, MAX_CONNECTIONS)[0].value(MAX_CONNECTIONS)


def test_read_of_stale_values_starts_a_read(stack):
    sim, snmpd, start = stack
    start(poll=3600, ttl=1)
    before = value(snmpd)
    target = 7 if before != 7 else 8
    gets = sim.counters()["get"]["server"]
    sim.set_state({"server": {"maxNumberConnections": str(target)}})
    time.sleep(1.5)  # older than cupiCacheTtl now
    t0 = time.monotonic()
    assert value(snmpd) == before  # answered from memory at once
    assert time.monotonic() - t0 < 1.0
    wait_for(lambda: value(snmpd) == target, 5, what="the value read because it was asked for")
    assert sim.counters()["get"]["server"] > gets


def test_fresh_values_are_not_read_again(stack):
    sim, snmpd, start = stack
    start(poll=3600, ttl=3600)
    gets = sim.counters()["get"]["server"]
    for _ in range(20):
        value(snmpd)
    time.sleep(1)
    assert sim.counters()["get"]["server"] == gets


def test_background_reads_follow_the_poll_interval(stack):
    sim, snmpd, start = stack
    start(poll=2, ttl=3600)
    gets = sim.counters()["get"]["server"]
    time.sleep(6.5)
    n = sim.counters()["get"]["server"] - gets
    # one read per period (the phase decides where in it): 3, give or take one
    assert 2 <= n <= 4, n
