"""A reload that removes a server while one of its SETs waits for CUPI: the
SET's requests are not cancelled, the SET reports what CUPI did, and the
change is notified (source snmp) before the row goes.

cupi-sim holds each PUT 3 s before applying it; the configuration without
the server is loaded (SIGHUP) as soon as cupi-sim has counted the SET's first
PUT (it counts a PUT before holding it), so the reload lands while that PUT
is in flight.

Real snmpd master, snmptrapd, the agent, cupi-sim.
"""

import threading
import time

import pytest

from sim_helper import CupiSim
from snmp_helper import (NOTIFICATIONS, SERVER_TABLE, SMTP_CLIENT_TABLE, SMTP_SERVER_TABLE,
                         Agent, Snmpd, Snmptrapd, agent_config, col, server_lines, snmpget,
                         snmpset, wait_for)

SERVER_CHANGED = NOTIFICATIONS + ".1"
CLIENT_CHANGED = NOTIFICATIONS + ".2"
STATUS, SOURCE = 4, 11
ST_OK = 2
SRC_SNMP = 3
PUT_LATENCY_MS = 3000
MAX_CONNECTIONS = col(SMTP_SERVER_TABLE, 3, 1)
SMTP_PORT = col(SMTP_CLIENT_TABLE, 3, 1)


@pytest.fixture
def lab(tmp_path):
    sim1 = CupiSim(tmp_path / "sim1")
    sim1.start(servers=["cuc1"])
    sim2 = CupiSim(tmp_path / "sim2")
    sim2.start(servers=["cuc2"])
    trapd = Snmptrapd(tmp_path / "trapd").start()
    snmpd = Snmpd(tmp_path / "snmpd", agentx_timeout=20, agentx_retries=0,
                  trap_port=trapd.port).start()
    both = [server_lines(1, "cuc1", sim1), server_lines(2, "cuc2", sim2)]
    agent = Agent(tmp_path / "agent", agent_config(snmpd, both, poll=2, ttl=2))
    agent.start()
    for index in (1, 2):
        status = col(SERVER_TABLE, STATUS, index)
        wait_for(lambda s=status: snmpget(snmpd.port, s)[0].value(s) == ST_OK, 15,
                 what="server %d ok" % index)
    for oid in (MAX_CONNECTIONS, SMTP_PORT):
        wait_for(lambda o=oid: snmpget(snmpd.port, o)[0].value(o) is not None, 10,
                 what="values served")
    only_two = agent_config(snmpd, [both[1]], poll=2, ttl=2)
    yield sim1, trapd, snmpd, agent, only_two
    agent.stop()
    snmpd.cleanup()
    trapd.stop()
    sim2.stop()
    sim1.stop()


def set_while_removed(lab, varbinds, resources):
    sim1, trapd, snmpd, agent, only_two = lab
    for resource in resources:
        sim1.fault(method="PUT", resource=resource, latency_ms=PUT_LATENCY_MS, count=1)

    def puts():
        counted = sim1.counters()["put"]
        return sum(counted.get(resource, 0) for resource in resources)

    puts_before = puts()
    failures = []

    def reload_during_put():
        try:
            wait_for(lambda: puts() > puts_before, 10, what="the SET's PUT at cupi-sim")
            agent.write_config(only_two)
            agent.reload()
        except Exception as e:  # re-raised in the test's thread below
            failures.append(e)

    reloader = threading.Thread(target=reload_during_put)
    reloader.start()
    started = time.monotonic()
    _, err = snmpset(snmpd.port, *varbinds, timeout=30)
    reloader.join()
    elapsed = time.monotonic() - started
    if failures:
        raise failures[0]
    return err, elapsed


def assert_notified_as_snmp(trapd, trap_oid):
    source = col(SERVER_TABLE, SOURCE, 1)
    trapd.wait_for(lambda n: n["trap_oid"] == trap_oid and
                   n["varbinds"].value(source) == SRC_SNMP, timeout=10)


def assert_row_gone(snmpd):
    status = col(SERVER_TABLE, STATUS, 1)
    wait_for(lambda: snmpget(snmpd.port, status)[0].value(status) is None, 10,
             what="server 1's row gone after its SET")
    status2 = col(SERVER_TABLE, STATUS, 2)
    assert snmpget(snmpd.port, status2)[0].value(status2) == ST_OK


def test_one_resource(lab):
    sim1, trapd, snmpd, agent, _ = lab
    before = snmpget(snmpd.port, MAX_CONNECTIONS)[0].value(MAX_CONNECTIONS)
    target = 11 if before != 11 else 12
    err, elapsed = set_while_removed(lab, [(MAX_CONNECTIONS, "i", target)], ["server"])
    assert not err, err
    assert elapsed >= PUT_LATENCY_MS / 1000.0
    assert sim1.state()["server"]["maxNumberConnections"] == str(target)
    assert sim1.counters()["put"]["server"] == 1
    assert_notified_as_snmp(trapd, SERVER_CHANGED)
    assert_row_gone(snmpd)
    assert "removed; it stays until its SET ends" in agent.log_text()
    assert "request cancelled" not in agent.log_text()


def test_two_resources(lab):
    sim1, trapd, snmpd, agent, _ = lab
    before = snmpget(snmpd.port, MAX_CONNECTIONS, SMTP_PORT)[0]
    max_conn = 13 if before.value(MAX_CONNECTIONS) != 13 else 14
    port = 587 if before.value(SMTP_PORT) != 587 else 465
    err, _ = set_while_removed(lab, [(MAX_CONNECTIONS, "i", max_conn), (SMTP_PORT, "i", port)],
                               ["server", "client"])
    assert not err, err
    state = sim1.state()
    assert state["server"]["maxNumberConnections"] == str(max_conn)
    assert state["client"]["smtpPort"] == str(port)
    assert_notified_as_snmp(trapd, SERVER_CHANGED)
    assert_notified_as_snmp(trapd, CLIENT_CHANGED)
    assert_row_gone(snmpd)
