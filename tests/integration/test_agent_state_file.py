"""The agent's state file when it cannot be written: a failed save is retried
with back-off (1 s doubling to 60 s) until it succeeds, and the outage is
logged once when it starts and once when it ends, not at every refresh.
The agent checks that the path still names the database it has open before
each write, so a directory moved away is an outage, not writes to a file
nobody will find.

The file is made unwritable by replacing its directory with a regular file:
the tests run as root, whom permission bits do not stop, while a path
through a regular file fails for everyone (ENOTDIR), needs no privilege
(no bind mount, no chattr, no tmpfs) and is undone by renaming the
directory back.

Run: CUPI_BUILD_DIR=BUILD /usr/bin/python3 -m pytest -q tests/integration/test_agent_state_file.py
"""

import time

import pytest

from sim_helper import CupiSim
from state_helper import ERROR_TEXT, RECOVERED_TEXT, RETRY_MAX_S, cupictl, log_lines
from state_helper import saved_value as stored
from snmp_helper import (SERVER_TABLE, SMTP_SERVER_TABLE, Agent, Snmpd, agent_config, col,
                         server_lines, snmpget, snmpset, wait_for)

IDX = 1
STATUS, ST_OK = 4, 2
MAX_CONNECTIONS = col(SMTP_SERVER_TABLE, 3, IDX)


def saved_value(path, field="maxNumberConnections"):
    return stored(path, field)


def cupictl_state(agent):
    """cupictl state with the agent's own configuration file: (status, out)."""
    p = cupictl(agent.conf_file, "state")
    return p.returncode, p.stdout + p.stderr


@pytest.fixture
def stack(tmp_path):
    sim = CupiSim(tmp_path / "sim")
    sim.start(servers=["cuc1"])
    snmpd = Snmpd(tmp_path / "snmpd", agentx_timeout=10, agentx_retries=0).start()
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    state_file = state_dir / "cupi-state.json"
    # Refreshes every second, so that an error per refresh would show.
    text = agent_config(snmpd, [server_lines(IDX, "cuc1", sim)], poll=1, ttl=1,
                        timeout_ms=2000, extra="cupiStateFile %s" % state_file)
    agent = Agent(tmp_path / "agent", text).start()
    try:
        status = col(SERVER_TABLE, STATUS, IDX)
        wait_for(lambda: snmpget(snmpd.port, status)[0].value(status) == ST_OK, 15,
                 what="server status ok")
        wait_for(lambda: saved_value(state_file) is not None, 10, what="the first save")
        yield sim, snmpd, agent, state_dir, state_file
    finally:
        agent.stop()
        snmpd.stop()
        snmpd.cleanup()
        sim.stop()


def test_failed_save_retried_until_the_set_value_lands(stack, tmp_path):
    sim, snmpd, agent, state_dir, state_file = stack
    old = saved_value(state_file)
    new = 33 if old != "33" else 34

    away = tmp_path / "state.away"
    state_dir.rename(away)
    state_dir.write_text("a regular file where the state directory was\n")
    try:
        vals, err = snmpset(snmpd.port, (MAX_CONNECTIONS, "i", new), timeout=5)
        assert not err, err
        assert sim.state()["server"]["maxNumberConnections"] == str(new)
        # Several refreshes and retries (1, 2, 4 s) go by with the file broken.
        time.sleep(7)
        errors = log_lines(agent, ERROR_TEXT)
        assert len(errors) == 1, agent.log_text()
        assert "Not a directory" in errors[0] and "stale" in errors[0], errors[0]
        assert not log_lines(agent, RECOVERED_TEXT)
        assert agent.running()
        code, out = cupictl_state(agent)
        assert code == 1 and "Not a directory" in out, out
        # Served from memory all along.
        assert snmpget(snmpd.port, MAX_CONNECTIONS)[0].value(MAX_CONNECTIONS) == new
    finally:
        state_dir.unlink()
        away.rename(state_dir)
    assert saved_value(state_file) == old  # nothing could be written meanwhile

    restored = time.monotonic()
    wait_for(lambda: saved_value(state_file) == str(new), RETRY_MAX_S + 10,
             what="the SET's value in the state file")
    print("state file current %.1f s after the directory came back"
          % (time.monotonic() - restored))
    wait_for(lambda: log_lines(agent, RECOVERED_TEXT), 5, what="the recovery notice")
    notice = log_lines(agent, RECOVERED_TEXT)
    assert len(notice) == 1 and "stale for" in notice[0], notice
    assert len(log_lines(agent, ERROR_TEXT)) == 1, agent.log_text()
    # Nothing beside the database but its WAL, shared memory and lock.
    names = {p.name for p in state_dir.iterdir()}
    assert state_file.name in names, names
    assert names <= {state_file.name + s for s in ("", "-wal", "-shm", ".lock")}, names

    # A later outage is logged again, once.
    state_dir.rename(away)
    state_dir.write_text("broken again\n")
    try:
        vals, err = snmpset(snmpd.port, (MAX_CONNECTIONS, "i", new + 1), timeout=5)
        assert not err, err
        wait_for(lambda: len(log_lines(agent, ERROR_TEXT)) == 2, 5, what="the second outage")
        time.sleep(3)
        assert len(log_lines(agent, ERROR_TEXT)) == 2, agent.log_text()
    finally:
        state_dir.unlink()
        away.rename(state_dir)
    wait_for(lambda: saved_value(state_file) == str(new + 1), RETRY_MAX_S + 10,
             what="the second SET's value in the state file")


def test_state_file_kept_when_saves_never_fail(stack):
    """The control: with a writable directory there is no error and no
    recovery notice, and a SET lands within a second."""
    sim, snmpd, agent, state_dir, state_file = stack
    new = 41 if saved_value(state_file) != "41" else 42
    vals, err = snmpset(snmpd.port, (MAX_CONNECTIONS, "i", new), timeout=5)
    assert not err, err
    wait_for(lambda: saved_value(state_file) == str(new), 5, what="the SET's value saved")
    time.sleep(2)
    assert not log_lines(agent, ERROR_TEXT) and not log_lines(agent, RECOVERED_TEXT)
    # cupictl reads the same file: both resources read moments ago, file current.
    code, out = cupictl_state(agent)
    assert code == 0, out
    lines = out.splitlines()
    i = lines.index("server %d cuc1 %s" % (IDX, sim.url_of("cuc1")))
    for line in lines[i + 1:i + 3]:
        assert "values read from CUPI" in line, out
        assert int(line.split("(")[1].split()[0]) <= 10, out
    assert lines[-1].startswith("current: "), out


def test_value_set_during_outage_survives_a_crash(stack, tmp_path):
    """The case that was broken: a SET while the file cannot be written, the
    file fixed, then the agent killed. The restarted agent, with CUPI gone,
    serves the SET's value from the file, not the one before it."""
    sim, snmpd, agent, state_dir, state_file = stack
    new = 27 if saved_value(state_file) != "27" else 28
    away = tmp_path / "state.away"
    state_dir.rename(away)
    state_dir.write_text("not a directory\n")
    try:
        vals, err = snmpset(snmpd.port, (MAX_CONNECTIONS, "i", new), timeout=5)
        assert not err, err
        wait_for(lambda: log_lines(agent, ERROR_TEXT), 5, what="the failed save")
    finally:
        state_dir.unlink()
        away.rename(state_dir)
    wait_for(lambda: saved_value(state_file) == str(new), RETRY_MAX_S + 10,
             what="the SET's value in the state file")
    agent.kill()
    sim.stop()
    agent.start()
    wait_for(lambda: snmpget(snmpd.port, MAX_CONNECTIONS)[0].value(MAX_CONNECTIONS) == new, 15,
             what="the saved value served after the restart")
