"""cupiServerStatus does not flap: a transport error or a timeout is tried
again once before it counts, and a server is reported unreachable only after
cupiUnreachableAfter failed reads in a row (default 2). Recovery is reported
at the first good read. Each transition gives exactly one notification.

Real snmpd master, snmptrapd, the agent, cupi-sim (its fault injection drops
connections without answering).
"""

import time

import pytest

from sim_helper import CupiSim
from snmp_helper import (NOTIFICATIONS, SERVER_TABLE, Agent, Snmpd, Snmptrapd, agent_config, col,
                         server_lines, snmpget, wait_for)

STATUS_CHANGED = NOTIFICATIONS + ".3"
STATUS = 4
ST_OK, ST_UNREACHABLE = 2, 3
POLL = 2


@pytest.fixture
def lab(tmp_path):
    sim = CupiSim(tmp_path / "sim")
    sim.start(servers=["cuc1"])
    trapd = Snmptrapd(tmp_path / "trapd").start()
    snmpd = Snmpd(tmp_path / "snmpd", trap_port=trapd.port).start()
    agent = Agent(tmp_path / "agent",
                  agent_config(snmpd, [server_lines(1, "cuc1", sim)], poll=POLL, ttl=POLL,
                               timeout_ms=1000))
    agent.start()
    wait_for(lambda: status(snmpd) == ST_OK, 15, what="status ok")
    yield sim, trapd, snmpd, agent
    agent.stop()
    snmpd.cleanup()
    trapd.stop()
    sim.stop()


def status(snmpd):
    oid = col(SERVER_TABLE, STATUS, 1)
    return snmpget(snmpd.port, oid)[0].value(oid)


def transitions(trapd):
    oid = col(SERVER_TABLE, STATUS, 1)
    return [n["varbinds"].value(oid) for n in trapd.notifications()
            if n["trap_oid"] == STATUS_CHANGED]


def sample_status(snmpd, seconds):
    seen, deadline = set(), time.monotonic() + seconds
    while time.monotonic() < deadline:
        seen.add(status(snmpd))
        time.sleep(0.2)
    return seen


def test_one_dropped_connection_is_retried_not_reported(lab):
    sim, trapd, snmpd, agent = lab
    sim.fault(method="GET", resource="server", drop=True, count=1)
    wait_for(lambda: sim.counters()["dropped"] >= 1, 2 * POLL + 2, what="the dropped read")
    # the retry and the next regular reads succeed: the status never moves
    assert sample_status(snmpd, 2 * POLL + 2) == {ST_OK}
    assert transitions(trapd) == []


def test_one_failed_read_is_not_yet_unreachable(lab):
    """A read failing twice (first try and retry) is one failed read: below
    the default threshold of two, nothing is reported."""
    sim, trapd, snmpd, agent = lab
    sim.fault(method="GET", resource="server", drop=True, count=2)
    wait_for(lambda: sim.counters()["dropped"] >= 2, 2 * POLL + 4, what="both tries dropped")
    assert sample_status(snmpd, 2 * POLL + 2) == {ST_OK}
    assert transitions(trapd) == []


def test_outage_reported_once_after_two_failed_reads_and_recovery_at_once(lab):
    sim, trapd, snmpd, agent = lab
    sim.fault(method="GET", drop=True, count=1000)
    t0 = time.monotonic()
    wait_for(lambda: status(snmpd) == ST_UNREACHABLE, 4 * POLL + 6, what="unreachable")
    took = time.monotonic() - t0
    # two failed reads, each tried twice: never at the first one
    assert took >= POLL, took
    time.sleep(2 * POLL)
    assert transitions(trapd) == [ST_UNREACHABLE]
    sim.clear_faults()
    t0 = time.monotonic()
    wait_for(lambda: status(snmpd) == ST_OK, POLL + 3, what="recovery at the first good read")
    time.sleep(POLL)
    assert transitions(trapd) == [ST_UNREACHABLE, ST_OK]
