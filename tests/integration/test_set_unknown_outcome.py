"""SETs whose PUT gets no answer: the outcome is unknown, so the agent reads
the resource back before judging the SET, and a PUT that CUPI applies only
after the agent gave up on it is served and notified as the SET's change
(source snmp), never as somebody else's.

cupi-sim's injected latency holds a PUT before applying it: with latency
above cupiTimeout the agent's PUT times out, the read-back still sees the old
value (commitFailed), and the sim applies the PUT a moment later.

Real snmpd master, snmptrapd, the agent, cupi-sim.
"""

import re

import pytest

from sim_helper import CupiSim
from snmp_helper import (NOTIFICATIONS, SERVER_TABLE, SMTP_SERVER_TABLE, Agent, Snmpd,
                         Snmptrapd, agent_config, col, server_lines, snmpget, snmpset, wait_for)

SERVER_CHANGED = NOTIFICATIONS + ".1"
STATUS, SOURCE = 4, 11
ST_OK = 2
SRC_EXTERNAL, SRC_SNMP = 2, 3
MAX_CONNECTIONS = col(SMTP_SERVER_TABLE, 3, 1)
TIMEOUT_MS = 1000
POLL = 2


def set_status(err):
    if not err:
        return "noError"
    m = re.search(r"Reason: (\w+)", err)
    return m.group(1) if m else "unparsed: " + err


@pytest.fixture
def lab(tmp_path):
    sim = CupiSim(tmp_path / "sim")
    sim.start(servers=["cuc1"])
    trapd = Snmptrapd(tmp_path / "trapd").start()
    snmpd = Snmpd(tmp_path / "snmpd", agentx_timeout=15, agentx_retries=0,
                  trap_port=trapd.port).start()
    agent = Agent(tmp_path / "agent",
                  agent_config(snmpd, [server_lines(1, "cuc1", sim)], poll=POLL, ttl=POLL,
                               timeout_ms=TIMEOUT_MS))
    agent.start()
    status = col(SERVER_TABLE, STATUS, 1)
    wait_for(lambda: snmpget(snmpd.port, status)[0].value(status) == ST_OK, 15,
             what="status ok")
    wait_for(lambda: snmpget(snmpd.port, MAX_CONNECTIONS)[0].value(MAX_CONNECTIONS), 10,
             what="values served")
    yield sim, trapd, snmpd, agent
    agent.stop()
    snmpd.cleanup()
    trapd.stop()
    sim.stop()


def changes_of(trapd):
    return [n for n in trapd.notifications() if n["trap_oid"] == SERVER_CHANGED]


def test_put_applied_after_timeout_is_served_and_notified_as_snmp(lab):
    sim, trapd, snmpd, agent = lab
    before = snmpget(snmpd.port, MAX_CONNECTIONS)[0].value(MAX_CONNECTIONS)
    target = 7 if before != 7 else 8
    # Held past the agent's timeout, then applied.
    sim.fault(method="PUT", resource="server", latency_ms=TIMEOUT_MS + 1500, count=1)
    _, err = snmpset(snmpd.port, (MAX_CONNECTIONS, "i", target), timeout=15)
    assert set_status(err) == "commitFailed", err
    # One PUT only: the agent never resent it.
    assert sim.counters()["put"]["server"] == 1
    wait_for(lambda: sim.state()["server"]["maxNumberConnections"] == str(target), 10,
             what="the late PUT applied by CUPI")
    # Served once a read sees it, and reported as the SET's change.
    wait_for(lambda: snmpget(snmpd.port, MAX_CONNECTIONS)[0].value(MAX_CONNECTIONS) == target,
             POLL + 5, what="the late value served")
    source = col(SERVER_TABLE, SOURCE, 1)
    assert snmpget(snmpd.port, source)[0].value(source) == SRC_SNMP
    notes = trapd.wait_for(lambda n: n["trap_oid"] == SERVER_CHANGED, timeout=5)
    assert [n["varbinds"].value(MAX_CONNECTIONS) for n in notes] == [target]
    assert notes[0]["varbinds"].value(source) == SRC_SNMP
    assert "applied late" in agent.log_text()


def test_a_later_external_change_is_still_external(lab):
    """The expectation covers exactly the late PUT's values: a different
    value written behind the agent's back stays an external change."""
    sim, trapd, snmpd, agent = lab
    before = snmpget(snmpd.port, MAX_CONNECTIONS)[0].value(MAX_CONNECTIONS)
    target, other = (7, 9) if before not in (7, 9) else (11, 12)
    sim.fault(method="PUT", resource="server", drop=True, count=1)
    _, err = snmpset(snmpd.port, (MAX_CONNECTIONS, "i", target), timeout=15)
    # The dropped PUT may be resent by libcurl on a fresh connection (the
    # body holds absolute values, so a resend is harmless): either it was
    # applied and the read-back says so, or it was not and nothing changed.
    applied = sim.state()["server"]["maxNumberConnections"] == str(target)
    assert set_status(err) == ("noError" if applied else "commitFailed"), err
    sim.set_state({"server": {"maxNumberConnections": str(other)}})
    wait_for(lambda: snmpget(snmpd.port, MAX_CONNECTIONS)[0].value(MAX_CONNECTIONS) == other,
             POLL + 5, what="the external value served")
    notes = trapd.wait_for(lambda n: n["trap_oid"] == SERVER_CHANGED and
                           n["varbinds"].value(MAX_CONNECTIONS) == other, timeout=5)
    assert notes[-1]["varbinds"].value(col(SERVER_TABLE, SOURCE, 1)) == SRC_EXTERNAL
