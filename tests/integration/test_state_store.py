"""The state store (cupiStateFile, an SQLite database) under the agent:
one agent per state (a second one refuses, naming the holder's pid),
cupictl reading it while the agent writes, kill -9 in a loop losing no
notified change, and a store replaced by garbage giving one clear error
while the agent serves from memory and retries until the store can be
written again (a full disk and a read-only directory:
test_state_store_tmpfs.py).

Run: CUPI_BUILD_DIR=BUILD /usr/bin/python3 -m pytest -q tests/integration/test_state_store.py
"""

import os
import random
import signal
import threading
import time

import pytest

from snmp_helper import SERVER_TABLE, Agent, col, snmpget, snmpset, tool_env, wait_for
from state_helper import (ERROR_TEXT, RECOVERED_TEXT, RETRY_MAX_S, cupictl, integrity, log_lines,
                          saved_doc, saved_value)
from test_agent_notify import (CLIENT_CHANGED, CLIENT_COLUMNS, IDX, SERVER_CHANGED,
                               SERVER_COLUMNS, Lab, config_oid, expected_value, get1, ours)

LAST_INDEX = 12


@pytest.fixture
def lab(tmp_path):
    lab = Lab(tmp_path)
    yield lab
    lab.stop()


def lab_cupictl(lab, *args):
    return cupictl(lab.agent.conf_file, *args, env=tool_env(lab.dir))


def wait_value(lab, field, value, timeout=10, resource="server"):
    wait_for(lambda: saved_value(lab.state_file, field, resource=resource) == value, timeout,
             what="%s=%s in the state store" % (field, value))


def test_one_agent_per_state_and_cupictl_reads_while_it_runs(lab):
    lab.start_sim()
    lab.start_snmp()
    lab.start_agent()
    lab.sim.set_state({"server": {"maxNumberRecipients": "4321"}})
    wait_value(lab, "maxNumberRecipients", "4321", timeout=10)

    # a second agent on the same state refuses to start, naming the holder
    second = Agent(lab.dir / "agent2", lab.agent_text())
    second.start()
    assert second.proc.wait(timeout=15) == 1
    text = second.log_text()
    assert "in use by another agent (pid %d" % lab.agent.pid in text, text
    assert str(lab.state_file) in text
    assert lab.agent.running()

    # cupictl reads the store while the agent runs, with the same reader
    p = lab_cupictl(lab, "history", "--json")
    assert p.returncode == 0, p.stderr
    assert '"new":\t"4321"' in p.stdout or '"new": "4321"' in p.stdout, p.stdout
    p = lab_cupictl(lab, "state")
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[-1].startswith("current: "), p.stdout
    # ... and the agent keeps writing after it
    vals, err = snmpset(lab.snmpd.port, (config_oid("server", "maxNumberConnections"), "i", 17),
                        timeout=5)
    assert not err, err
    wait_value(lab, "maxNumberConnections", "17")
    assert integrity(lab.state_file) == "ok"

    # once the first agent is gone, the state is free
    lab.agent.stop()
    second.start()
    try:
        name = col(SERVER_TABLE, 2, IDX)
        wait_for(lambda: snmpget(lab.snmpd.port, name)[0].value(name) == "cuc1", 15,
                 what="the second agent serving")
        assert not log_lines(second, "in use by another agent")
    finally:
        second.stop()


def _changes(lab, stop):
    """External changes (cupi-sim's state) and SETs, until stop is set."""
    k = 0
    while not stop.is_set():
        k += 1
        if k % 2:
            lab.sim.set_state({"server": {"maxNumberRecipients": str(1000 + k),
                                          "maxMessageSizeKb": str(2000 + k)}})
        else:
            snmpset(lab.snmpd.port, (config_oid("server", "maxNumberConnections"), "i",
                                     k % 90 + 1),
                    (config_oid("client", "smtpUsername"), "s", "user-%d" % k), timeout=1)
        time.sleep(0.15)


def test_kill9_in_a_loop_loses_no_notified_change(lab):
    """SIGKILL at random moments while external changes and SETs run: the
    store stays sound, and every change a notification announced (its
    cupiServerLastChangeIndex and values) is in the history."""
    lab.start_sim()
    lab.start_snmp()
    text = lab.agent_text(poll=1, ttl=1, extra=["cupiHistorySize 10000"])
    rng = random.Random(1234)
    rounds = 8
    for r in range(rounds):
        lab.start_agent(text, wait_ok=False)
        stop = threading.Event()
        worker = threading.Thread(target=_changes, args=(lab, stop), daemon=True)
        worker.start()
        time.sleep(1.0 + rng.random() * 2.0)
        lab.agent.send_signal(signal.SIGKILL)
        lab.agent.proc.wait(timeout=10)
        stop.set()
        worker.join(timeout=10)
        assert integrity(lab.state_file) == "ok", r
    log = lab.agent.log_text()
    assert "not loaded" not in log and "history ignored" not in log, log

    notes = [n for n in ours(lab.trapd) if n["trap_oid"] in (SERVER_CHANGED, CLIENT_CHANGED)]
    assert len(notes) >= rounds, len(notes)
    doc = saved_doc(lab.state_file)
    rows = {r["index"]: r for r in doc["servers"][0]["history"]["rows"]}
    last = doc["servers"][0]["history"]["lastIndex"]
    by_oid = {config_oid("server", f): ("server", f) for f in SERVER_COLUMNS}
    by_oid.update({config_oid("client", f): ("client", f) for f in CLIENT_COLUMNS})
    seen = []
    for n in notes:
        _, newest = n["varbinds"].get(col(SERVER_TABLE, LAST_INDEX, IDX), (None, None))
        assert newest in rows and newest <= last, (newest, sorted(rows)[-5:])
        seen.append(newest)
        # each value it carries is the newest row of that field up to it
        for oid, (typ, value) in n["varbinds"].items():
            if oid not in by_oid:
                continue
            resource, field = by_oid[oid]
            if field == "smtpPassword":
                continue
            mine = [r for i, r in rows.items() if i <= newest and r["field"] == field and
                    r["resource"] == resource]
            assert mine, (field, newest)
            newest_row = max(mine, key=lambda r: r["index"])
            assert expected_value(field, newest_row["new"]) == value, (field, newest_row, value)
    # numbers only grow, across every restart (a SET of both resources
    # sends two notifications naming the same newest row)
    assert seen == sorted(seen), seen
    print("%d rounds, %d notifications, %d rows" % (rounds, len(notes), len(rows)))


# --- garbage (a full disk and a read-only directory: test_state_store_tmpfs) ---------


def test_store_replaced_by_garbage(lab):
    lab.start_sim()
    lab.start_snmp()
    lab.start_agent()
    wait_for(lambda: saved_value(lab.state_file, "Port") is not None, 10, what="the first save")
    garbage = lab.state_file.with_name("garbage")
    garbage.write_bytes(os.urandom(8192))
    garbage.rename(lab.state_file)
    kept = lab.state_file.read_bytes()
    old = lab.sim.state()["server"]["maxMessageSizeKb"]
    new = "4321" if old != "4321" else "4322"
    lab.sim.set_state({"server": {"maxMessageSizeKb": new}})
    wait_for(lambda: log_lines(lab.agent, ERROR_TEXT), 10, what="the error")
    time.sleep(3)
    errors = log_lines(lab.agent, ERROR_TEXT)
    assert len(errors) == 1 and "not a cupi-snmp state file" in errors[0], errors
    assert get1(lab.snmpd, config_oid("server", "maxMessageSizeKb")) == int(new)
    assert lab.state_file.read_bytes() == kept  # never written over
    # cupictl says the same
    p = lab_cupictl(lab, "state")
    assert p.returncode == 1 and "not a cupi-snmp state file" in p.stderr, p.stderr
    # removed: the next retry writes everything the agent holds
    lab.state_file.unlink()
    wait_value(lab, "maxMessageSizeKb", new, timeout=RETRY_MAX_S + 10)
    wait_for(lambda: log_lines(lab.agent, RECOVERED_TEXT), 10, what="the recovery")
    doc = saved_doc(lab.state_file)
    assert [r["new"] for r in doc["servers"][0]["history"]["rows"]
            if r["field"] == "maxMessageSizeKb"][-1] == new
    assert "client" in doc["servers"][0]
    assert integrity(lab.state_file) == "ok"
