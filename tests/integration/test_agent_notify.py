"""Notifications, change detection and the state file of cupi-snmp-agent, seen
the way an NMS sees them: a real snmpd master (agentxTimeout above any SET,
agentxRetries 0) sending trap2sink/informsink to a real snmptrapd whose log
the tests parse, the agent over AgentX, cupi-sim as Unity Connection.

External changes are made through cupi-sim's control interface
(POST /_sim/state: a change made in CUC's web UI, no PUT); SNMP changes with
snmpset. Each resource is read every cupiPollInterval; the contract's bound
for a notification after an external change is cupiPollInterval + 2 s.

Run: CUPI_BUILD_DIR=BUILD /usr/bin/python3 -m pytest -q tests/integration/test_agent_notify.py
"""

import json
import os
import re
import sqlite3
import stat
import subprocess
import threading
import time
from pathlib import Path

import pytest

from sim_helper import CupiSim
from state_helper import saved_doc, state_bytes
from snmp_helper import (NOTIFICATIONS, SERVER_TABLE, SMTP_CLIENT_TABLE, SMTP_SERVER_TABLE,
                         Agent, Snmpd, Snmptrapd, agent_config, col, free_udp_port,
                         server_lines, snmpget, snmpset, wait_for)

SERVER_CHANGED = NOTIFICATIONS + ".1"
CLIENT_CHANGED = NOTIFICATIONS + ".2"
STATUS_CHANGED = NOTIFICATIONS + ".3"

# cupiServerTable columns
NAME, STATUS, DATA_AGE, LAST_ERROR, CHANGES, SOURCE, LAST_INDEX = 2, 4, 5, 6, 9, 11, 12
ST_OK, ST_UNREACHABLE = 2, 3
SRC_EXTERNAL, SRC_SNMP = 2, 3

# CUPI field -> MIB column
SERVER_COLUMNS = {"Port": 1, "domainName": 2, "maxNumberConnections": 3,
                  "smtpClientThreads": 4, "maxMessageSizeKb": 5, "maxNumberMessagesSession": 6,
                  "maxNumberRecipients": 7, "retryDeliveryTimeoutMin": 8,
                  "allowConnectionsFromUntrustedIpAddresses": 9,
                  "requireAuthenticationFromUntrustedIpAddresses": 10,
                  "requireTlsFromUntrustedIpAddresses": 11}
CLIENT_COLUMNS = {"smtpSmartHost": 1, "isClientSecure": 2, "smtpPort": 3, "isAuthEnabled": 4,
                  "smtpUsername": 5, "smtpPassword": 6}

POLL = 2  # cupiPollInterval and cupiCacheTtl of most tests: refresh every 2 s
# A failed read is tried once more 1 to 2 s later before it counts.
UNREACHABLE_BOUND = POLL + 2 + 2
IDX = 1
ACCOUNT_PASSWORD = "Ntf-Acc0unt-pw"
SMART_HOST_PASSWORD = "Smart-H0st-Ntf-Secret"


# --- helpers ------------------------------------------------------------------


def ours(trapd):
    """The CUPI-SMTP-MIB notifications snmptrapd logged (snmpd's own
    coldStart/shutdown left out)."""
    return [n for n in trapd.notifications()
            if (n["trap_oid"] or "").startswith(NOTIFICATIONS + ".")]


def of(trapd, trap_oid):
    return [n for n in ours(trapd) if n["trap_oid"] == trap_oid]


def vb(n, oid):
    return n["varbinds"].get(oid, (None, None))


def describe(trapd):
    return "\n".join("%s %s" % (n["trap_oid"], dict(n["varbinds"])) for n in ours(trapd))


def config_oid(resource, field, index=IDX):
    if resource == "server":
        return col(SMTP_SERVER_TABLE, SERVER_COLUMNS[field], index)
    return col(SMTP_CLIENT_TABLE, CLIENT_COLUMNS[field], index)


def expected_value(field, text):
    """The SNMP value (as snmp_helper parses it) of a CUPI text value."""
    if text in ("true", "false"):
        return 1 if text == "true" else 2
    if field in ("domainName", "smtpSmartHost", "smtpUsername"):
        return text
    return int(text)


def get1(snmpd, oid):
    vals, err = snmpget(snmpd.port, oid)
    assert not err, err
    return vals.value(oid)


def wait_status(snmpd, status, timeout=15, index=IDX):
    oid = col(SERVER_TABLE, STATUS, index)
    wait_for(lambda: snmpget(snmpd.port, oid)[0].value(oid) == status, timeout,
             what="cupiServerStatus.%d == %d" % (index, status))


def settle(seconds):
    time.sleep(seconds)


class Lab:
    """cupi-sim, snmptrapd, snmpd (master) and the agent of one test."""

    def __init__(self, tmp_path):
        self.dir = tmp_path
        self.sim = CupiSim(tmp_path / "sim", password=ACCOUNT_PASSWORD)
        self.trapd = None
        self.snmpd = None
        self.agent = None
        self.sim_state = tmp_path / "sim" / "sim-state.json"
        self.state_file = tmp_path / "agent" / "cupi-state.json"

    def start_sim(self, **kw):
        kw.setdefault("servers", ["cuc1"])
        kw.setdefault("state", self.sim_state)
        self.sim.start(**kw)
        return self.sim

    def start_snmp(self, inform_only=False, debug=None):
        self.trapd = Snmptrapd(self.dir / "trapd").start()
        if inform_only:
            self.snmpd = Snmpd(self.dir / "snmpd", agentx_timeout=10, agentx_retries=0,
                               extra="informsink 127.0.0.1:%d public" % self.trapd.port,
                               debug=debug).start()
        else:
            self.snmpd = Snmpd(self.dir / "snmpd", agentx_timeout=10, agentx_retries=0,
                               trap_port=self.trapd.port, debug=debug).start()

    def agent_text(self, poll=POLL, ttl=POLL, state=True, extra=(), url=None):
        extra = [extra] if isinstance(extra, str) else list(extra)
        # Status tests here watch single outages: one failed read (tried
        # twice) makes a server unreachable. test_status_hysteresis.py
        # covers the default of two.
        extra.insert(0, "cupiUnreachableAfter 1")
        if state:
            extra.append("cupiStateFile %s" % self.state_file)
        return agent_config(self.snmpd, [server_lines(IDX, "cuc1", self.sim, url=url,
                                                      ca_file=self.sim.ca_file)],
                            poll=poll, ttl=ttl, timeout_ms=2000, extra=extra)

    def start_agent(self, text=None, wait_ok=True, **kw):
        text = text or self.agent_text(**kw)
        if self.agent is None:
            self.agent = Agent(self.dir / "agent", text)
        else:
            self.agent.write_config(text)
        self.agent.start()
        # registered with the master: the server row answers
        name = col(SERVER_TABLE, NAME, IDX)
        wait_for(lambda: snmpget(self.snmpd.port, name)[0].value(name) == "cuc1", 15,
                 what="the agent's row in the master")
        if wait_ok:
            wait_status(self.snmpd, ST_OK)
            # values served
            oid = config_oid("server", "Port")
            wait_for(lambda: snmpget(self.snmpd.port, oid)[0].value(oid) is not None, 10,
                     what="config values")
        return self.agent

    def stop(self):
        for p in (self.agent, self.snmpd, self.trapd):
            if p is not None:
                p.stop()
        if self.snmpd is not None:
            self.snmpd.cleanup()
        self.sim.stop()


@pytest.fixture
def lab(tmp_path):
    lab = Lab(tmp_path)
    yield lab
    lab.stop()


@pytest.fixture
def running(lab):
    """Everything started; the agent has read both resources (status ok)."""
    lab.start_sim()
    lab.start_snmp()
    lab.start_agent()
    return lab


# --- change detection -----------------------------------------------------------


def test_first_poll_silent_then_one_field_change_one_notification(running):
    lab = running
    # The start-up (unknown -> ok, first read) and two more polls: nothing.
    settle(2 * POLL + 0.5)
    assert ours(lab.trapd) == [], describe(lab.trapd)
    # snmpd's coldStart went through, so the pipeline itself works
    assert lab.trapd.notifications(), lab.trapd.log_text()

    t0 = time.monotonic()
    lab.sim.set_state({"server": {"maxNumberConnections": "37"}})
    got = lab.trapd.wait_for(lambda n: n["trap_oid"] == SERVER_CHANGED, timeout=POLL + 2)
    latency = time.monotonic() - t0
    print("external change -> notification latency: %.2f s (poll %d s)" % (latency, POLL))
    n = got[0]
    assert vb(n, col(SERVER_TABLE, NAME, IDX)) == ("STRING", "cuc1")
    assert vb(n, col(SERVER_TABLE, SOURCE, IDX)) == ("INTEGER", SRC_EXTERNAL)
    assert vb(n, config_oid("server", "maxNumberConnections")) == ("INTEGER", 37)
    # the OBJECTS first, then only the changed column
    assert n["varbinds"].order == [col(SERVER_TABLE, NAME, IDX), col(SERVER_TABLE, SOURCE, IDX),
                                   col(SERVER_TABLE, LAST_INDEX, IDX),
                                   config_oid("server", "maxNumberConnections")]
    assert vb(n, col(SERVER_TABLE, LAST_INDEX, IDX)) == ("Gauge32", 1)
    # exactly one, also after more polls
    settle(2 * POLL + 0.5)
    assert len(ours(lab.trapd)) == 1, describe(lab.trapd)
    assert get1(lab.snmpd, config_oid("server", "maxNumberConnections")) == 37
    assert get1(lab.snmpd, col(SERVER_TABLE, SOURCE, IDX)) == SRC_EXTERNAL
    assert get1(lab.snmpd, col(SERVER_TABLE, CHANGES, IDX)) == 1


def test_three_fields_one_notification(running):
    lab = running
    changes = {"domainName": "mail.ntf.example.com", "maxNumberRecipients": "1234",
               "allowConnectionsFromUntrustedIpAddresses": "false",
               "requireAuthenticationFromUntrustedIpAddresses": "false",
               "requireTlsFromUntrustedIpAddresses": "0"}
    before = lab.sim.state()["server"]
    changed = {k: v for k, v in changes.items() if before[k] != v}
    assert len(changed) >= 3, before
    lab.sim.set_state({"server": changes})
    n = lab.trapd.wait_for(lambda n: n["trap_oid"] == SERVER_CHANGED, timeout=POLL + 2)[0]
    assert vb(n, col(SERVER_TABLE, SOURCE, IDX)) == ("INTEGER", SRC_EXTERNAL)
    appended = [o for o in n["varbinds"].order
                if o.startswith(SMTP_SERVER_TABLE + ".")]
    assert sorted(appended) == sorted(config_oid("server", f) for f in changed)
    for f, text in changed.items():
        assert vb(n, config_oid("server", f))[1] == expected_value(f, text), (f, n)
    settle(2 * POLL)
    assert len(ours(lab.trapd)) == 1, describe(lab.trapd)


def test_both_resources_two_notifications(running):
    lab = running
    lab.sim.set_state({"server": {"smtpClientThreads": "7"},
                       "client": {"smtpSmartHost": "relay.ntf.example.com",
                                  "smtpUsername": "ntf-user"}})
    lab.trapd.wait_for(lambda n: n["trap_oid"] in (SERVER_CHANGED, CLIENT_CHANGED),
                       timeout=POLL + 2, count=2)
    settle(2 * POLL)
    notes = ours(lab.trapd)
    assert sorted(n["trap_oid"] for n in notes) == [SERVER_CHANGED, CLIENT_CHANGED], \
        describe(lab.trapd)
    server = of(lab.trapd, SERVER_CHANGED)[0]
    client = of(lab.trapd, CLIENT_CHANGED)[0]
    assert vb(server, config_oid("server", "smtpClientThreads")) == ("INTEGER", 7)
    assert [o for o in server["varbinds"].order if o.startswith(SMTP_SERVER_TABLE)] == \
        [config_oid("server", "smtpClientThreads")]
    assert vb(client, config_oid("client", "smtpSmartHost")) == \
        ("STRING", "relay.ntf.example.com")
    assert vb(client, config_oid("client", "smtpUsername")) == ("STRING", "ntf-user")
    assert [o for o in client["varbinds"].order if o.startswith(SMTP_CLIENT_TABLE)] == \
        [config_oid("client", "smtpSmartHost"), config_oid("client", "smtpUsername")]
    for n in (server, client):
        assert vb(n, col(SERVER_TABLE, SOURCE, IDX)) == ("INTEGER", SRC_EXTERNAL)
        assert vb(n, col(SERVER_TABLE, NAME, IDX)) == ("STRING", "cuc1")


# --- SET ------------------------------------------------------------------------


def test_set_one_snmp_notification_no_duplicate(lab):
    """Through informs this time (informsink only): the same notifications."""
    lab.start_sim()
    lab.start_snmp(inform_only=True)
    lab.start_agent()
    oid = config_oid("server", "maxNumberConnections")
    vals, err = snmpset(lab.snmpd.port, (oid, "i", 44), timeout=5)
    assert not err, err
    n = lab.trapd.wait_for(lambda n: n["trap_oid"] == SERVER_CHANGED, timeout=3)[0]
    assert vb(n, col(SERVER_TABLE, SOURCE, IDX)) == ("INTEGER", SRC_SNMP)
    assert vb(n, oid) == ("INTEGER", 44)
    assert [o for o in n["varbinds"].order if o.startswith(SMTP_SERVER_TABLE)] == [oid]
    assert lab.sim.state()["server"]["maxNumberConnections"] == "44"
    # 2-3 refreshes later: the poll that reads 44 from CUPI reports nothing
    settle(3 * POLL + 0.5)
    assert len(ours(lab.trapd)) == 1, describe(lab.trapd)
    assert get1(lab.snmpd, col(SERVER_TABLE, SOURCE, IDX)) == SRC_SNMP
    assert get1(lab.snmpd, col(SERVER_TABLE, CHANGES, IDX)) == 1


def test_set_smart_host_password_notified_as_empty_string(running):
    lab = running
    oid = config_oid("client", "smtpPassword")
    vals, err = snmpset(lab.snmpd.port, (oid, "s", SMART_HOST_PASSWORD), timeout=5)
    assert not err, err
    n = lab.trapd.wait_for(lambda n: n["trap_oid"] == CLIENT_CHANGED, timeout=3)[0]
    assert vb(n, col(SERVER_TABLE, SOURCE, IDX)) == ("INTEGER", SRC_SNMP)
    assert vb(n, oid) == ("STRING", "")
    assert n["varbinds"].raw[oid] == b""
    assert [o for o in n["varbinds"].order if o.startswith(SMTP_CLIENT_TABLE)] == [oid]
    assert lab.sim.state()["client"]["smtpPassword"] == SMART_HOST_PASSWORD
    settle(2 * POLL + 0.5)
    assert len(ours(lab.trapd)) == 1, describe(lab.trapd)
    # never written anywhere the agent writes
    assert SMART_HOST_PASSWORD not in lab.trapd.log_text()
    assert SMART_HOST_PASSWORD not in lab.agent.log_text()
    assert lab.state_file.exists()
    assert SMART_HOST_PASSWORD.encode() not in state_bytes(lab.state_file)


def test_set_right_after_external_change_keeps_each_source(running):
    """An external change the SET's own fresh read sees first is notified as
    external(2), the SET's change as snmp(3): one source per notification,
    the right one, even when both are queued within the same instant."""
    lab = running
    lab.sim.set_state({"server": {"domainName": "ext.ntf.example.com"}})
    oid = config_oid("server", "maxNumberConnections")
    vals, err = snmpset(lab.snmpd.port, (oid, "i", 21), timeout=5)
    assert not err, err
    lab.trapd.wait_for(lambda n: n["trap_oid"] == SERVER_CHANGED, timeout=POLL + 2, count=2)
    settle(2 * POLL)
    notes = of(lab.trapd, SERVER_CHANGED)
    assert len(notes) == 2, describe(lab.trapd)
    ext = [n for n in notes if config_oid("server", "domainName") in n["varbinds"]]
    snmp = [n for n in notes if oid in n["varbinds"]]
    assert len(ext) == 1 and len(snmp) == 1 and ext[0] is not snmp[0], describe(lab.trapd)
    assert vb(ext[0], col(SERVER_TABLE, SOURCE, IDX)) == ("INTEGER", SRC_EXTERNAL), \
        describe(lab.trapd)
    assert vb(ext[0], config_oid("server", "domainName")) == ("STRING", "ext.ntf.example.com")
    assert vb(snmp[0], col(SERVER_TABLE, SOURCE, IDX)) == ("INTEGER", SRC_SNMP), \
        describe(lab.trapd)
    assert vb(snmp[0], oid) == ("INTEGER", 21)


# --- status ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A CA and a server certificate for 127.0.0.1/localhost that survive a
    cupi-sim restart (its generated CA would not)."""
    d = tmp_path_factory.mktemp("pki")

    def run(*args):
        subprocess.run(["openssl"] + list(args), check=True, capture_output=True, cwd=d)

    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=cupi-test-ca",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost")
    (d / "ext.cnf").write_text(
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf")
    return {"cert": d / "server.pem", "key": d / "server.key", "ca": d / "ca.pem"}


def test_cupi_down_one_status_notification_values_served_and_back(lab, pki):
    lab.start_sim(**pki)
    port = lab.sim.port_of()
    lab.start_snmp()
    lab.start_agent()
    served = {f: get1(lab.snmpd, config_oid("server", f)) for f in SERVER_COLUMNS}
    settle(POLL)
    assert ours(lab.trapd) == [], describe(lab.trapd)  # unknown -> ok: nothing

    lab.sim.stop()
    t0 = time.monotonic()
    n = lab.trapd.wait_for(lambda n: n["trap_oid"] == STATUS_CHANGED,
                           timeout=UNREACHABLE_BOUND)[0]
    print("CUPI down -> StatusChanged latency: %.2f s" % (time.monotonic() - t0))
    assert vb(n, col(SERVER_TABLE, NAME, IDX)) == ("STRING", "cuc1")
    assert vb(n, col(SERVER_TABLE, STATUS, IDX)) == ("INTEGER", ST_UNREACHABLE)
    assert vb(n, col(SERVER_TABLE, LAST_ERROR, IDX))[1], n  # says why
    # several failed polls later: still one, the last values still served
    settle(3 * POLL)
    assert len(ours(lab.trapd)) == 1, describe(lab.trapd)
    for f, v in served.items():
        assert get1(lab.snmpd, config_oid("server", f)) == v, f
    assert get1(lab.snmpd, col(SERVER_TABLE, STATUS, IDX)) == ST_UNREACHABLE
    assert get1(lab.snmpd, col(SERVER_TABLE, DATA_AGE, IDX)) >= 3 * POLL - 1

    # back on the same port with the same certificate (and its state file)
    lab.start_sim(servers=["%d:cuc1" % port], **pki)
    t0 = time.monotonic()
    back = lab.trapd.wait_for(
        lambda n: n["trap_oid"] == STATUS_CHANGED and
        vb(n, col(SERVER_TABLE, STATUS, IDX))[1] == ST_OK, timeout=POLL + 2)[0]
    print("CUPI back -> StatusChanged latency: %.2f s" % (time.monotonic() - t0))
    assert vb(back, col(SERVER_TABLE, LAST_ERROR, IDX)) == ("STRING", "")
    settle(2 * POLL)
    notes = ours(lab.trapd)
    assert [n["trap_oid"] for n in notes] == [STATUS_CHANGED, STATUS_CHANGED], \
        describe(lab.trapd)  # nothing changed in CUPI: no ConfigChanged
    assert get1(lab.snmpd, col(SERVER_TABLE, DATA_AGE, IDX)) <= POLL + 1


def test_start_with_cupi_unreachable_one_status_notification(lab):
    lab.start_sim()
    lab.start_snmp()
    dead = "https://127.0.0.1:%d" % free_udp_port()  # nothing listens (TCP)
    lab.start_agent(lab.agent_text(url=dead, state=False), wait_ok=False)
    n = lab.trapd.wait_for(lambda n: n["trap_oid"] == STATUS_CHANGED,
                           timeout=UNREACHABLE_BOUND)[0]
    assert vb(n, col(SERVER_TABLE, STATUS, IDX)) == ("INTEGER", ST_UNREACHABLE)
    settle(3 * POLL)
    assert len(ours(lab.trapd)) == 1, describe(lab.trapd)
    # no values ever read: the config columns have no instance
    vals, err = snmpget(lab.snmpd.port, config_oid("server", "Port"))
    assert vals[config_oid("server", "Port")][0] == "noSuchInstance", (vals, err)


# --- the state file -------------------------------------------------------------


def saved(lab):
    return saved_doc(lab.state_file)


def wait_saved(lab, pred, timeout=10):
    def ok():
        try:
            return pred(saved(lab))
        except (OSError, ValueError, KeyError, IndexError, sqlite3.Error):
            return False
    return wait_for(ok, timeout, what="the state file")


def test_state_file_change_while_agent_down_is_notified(lab):
    lab.start_sim()
    lab.sim.set_state({"client": {"smtpPassword": SMART_HOST_PASSWORD}})
    lab.start_snmp()
    lab.start_agent()
    wait_saved(lab, lambda d: d["servers"][0]["server"]["values"]["maxNumberConnections"])
    for suffix in ("", "-wal", "-shm"):  # sqlite gives them the database's mode
        assert stat.S_IMODE(Path(str(lab.state_file) + suffix).stat().st_mode) == 0o600
    lab.agent.stop()
    doc = saved(lab)
    assert doc["format"] == "cupi-snmp-state"
    assert SMART_HOST_PASSWORD.encode() not in state_bytes(lab.state_file)
    assert ACCOUNT_PASSWORD.encode() not in state_bytes(lab.state_file)
    assert "smtpPassword" not in doc["servers"][0]["client"]["values"]
    old = doc["servers"][0]["server"]["values"]["maxMessageSizeKb"]

    new = "4321" if old != "4321" else "4322"
    lab.sim.set_state({"server": {"maxMessageSizeKb": new}})
    lab.start_agent(wait_ok=False)
    n = lab.trapd.wait_for(lambda n: n["trap_oid"] == SERVER_CHANGED, timeout=POLL + 3)[0]
    assert vb(n, col(SERVER_TABLE, SOURCE, IDX)) == ("INTEGER", SRC_EXTERNAL)
    assert vb(n, config_oid("server", "maxMessageSizeKb")) == ("INTEGER", int(new))
    assert [o for o in n["varbinds"].order if o.startswith(SMTP_SERVER_TABLE)] == \
        [config_oid("server", "maxMessageSizeKb")]
    settle(2 * POLL)
    assert len(ours(lab.trapd)) == 1, describe(lab.trapd)
    wait_saved(lab, lambda d: d["servers"][0]["server"]["values"]["maxMessageSizeKb"] == new)
    assert stat.S_IMODE(lab.state_file.stat().st_mode) == 0o600
    assert SMART_HOST_PASSWORD.encode() not in state_bytes(lab.state_file)
    assert SMART_HOST_PASSWORD not in lab.agent.log_text()


def test_state_file_values_served_with_their_age_when_cupi_down(lab):
    lab.start_sim()
    lab.sim.set_state({"server": {"domainName": "saved.ntf.example.com",
                                  "maxNumberConnections": "23"},
                       "client": {"smtpUsername": "saved-user"}})
    lab.start_snmp()
    lab.start_agent()
    wait_saved(lab, lambda d: d["servers"][0]["server"]["values"]["domainName"] ==
               "saved.ntf.example.com")
    lab.agent.stop()
    read_at = min(saved(lab)["servers"][0][r]["readAt"] for r in ("server", "client"))
    lab.sim.stop()
    settle(4)

    lab.start_agent(wait_ok=False)
    started = time.time()
    assert get1(lab.snmpd, config_oid("server", "domainName")) == "saved.ntf.example.com"
    assert get1(lab.snmpd, config_oid("server", "maxNumberConnections")) == 23
    assert get1(lab.snmpd, config_oid("client", "smtpUsername")) == "saved-user"
    age = get1(lab.snmpd, col(SERVER_TABLE, DATA_AGE, IDX))
    assert age >= int(started - read_at) - 1 >= 3, (age, started - read_at)
    assert age != 4294967295
    n = lab.trapd.wait_for(lambda n: n["trap_oid"] == STATUS_CHANGED,
                           timeout=UNREACHABLE_BOUND)[0]
    assert vb(n, col(SERVER_TABLE, STATUS, IDX)) == ("INTEGER", ST_UNREACHABLE)
    settle(2 * POLL)
    assert len(ours(lab.trapd)) == 1, describe(lab.trapd)
    # still served, and older
    assert get1(lab.snmpd, config_oid("server", "domainName")) == "saved.ntf.example.com"
    assert get1(lab.snmpd, col(SERVER_TABLE, DATA_AGE, IDX)) >= age + 2 * POLL - 1
    # a failed poll does not make the saved values look fresh
    assert min(saved(lab)["servers"][0][r]["readAt"] for r in ("server", "client")) == read_at


def _valid_state_text(lab):
    """A well-formed state file for this agent's server, values off the CUPI reference
    so that loading it would be visible as a notification at the first poll.
    Version 1, without a change history: what an older agent wrote, which
    loads as well as a current one."""
    return json.dumps({
        "format": "cupi-snmp-state", "version": 1,
        "servers": [{"index": IDX, "url": lab.sim.url,
                     "server": {"readAt": int(time.time()) - 60,
                                "values": {"Port": "25", "domainName": "old.example.com",
                                           "maxNumberConnections": "1",
                                           "smtpClientThreads": "1",
                                           "maxMessageSizeKb": "1",
                                           "maxNumberMessagesSession": "1",
                                           "maxNumberRecipients": "1",
                                           "retryDeliveryTimeoutMin": "1",
                                           "allowConnectionsFromUntrustedIpAddresses": "false",
                                           "requireAuthenticationFromUntrustedIpAddresses":
                                               "false",
                                           "requireTlsFromUntrustedIpAddresses": "0"}}}]},
        indent=1)


CORRUPTIONS = {
    "random-bytes": lambda text: os.urandom(3000),
    "truncated": lambda text: text.encode()[:len(text) // 2],
    "newer-version": lambda text: text.replace('"version": 1', '"version": 99').encode(),
    "wrong-format": lambda text: text.replace('"cupi-snmp-state"', '"other-state"').encode(),
    "empty": lambda text: b"",
    "not-an-object": lambda text: b"[1, 2, 3]\n",
    # well-formed, but a value no CUPI answer could hold: that resource is not taken
    "bad-value": lambda text: text.replace('"Port": "25"', '"Port": "twenty-five"').encode(),
    # an integer that would reach the manager truncated to 32 bits (as 1)
    "beyond-Integer32": lambda text: text.replace('"retryDeliveryTimeoutMin": "1"',
                                                  '"retryDeliveryTimeoutMin": "4294967297"')
    .encode(),
    "absurd-readAt": lambda text: re.sub(r'"readAt": \d+', '"readAt": 1e300', text).encode(),
    "negative-readAt": lambda text: re.sub(r'"readAt": \d+', '"readAt": -5', text).encode(),
}


# The whole file is unusable: it is refused, left as it is (it may not even
# be ours), and the agent keeps its state in memory until it is removed.
REFUSED = {"random-bytes", "truncated", "newer-version", "wrong-format", "not-an-object"}
RETRY_MAX_S = 60


@pytest.mark.parametrize("kind", sorted(CORRUPTIONS))
def test_corrupt_state_file_ignored(lab, kind):
    lab.start_sim()
    lab.start_snmp()
    text = _valid_state_text(lab)
    assert '"version": 1' in text and '"cupi-snmp-state"' in text
    lab.state_file.parent.mkdir(parents=True, exist_ok=True)
    corrupt = CORRUPTIONS[kind](text)
    lab.state_file.write_bytes(corrupt)
    lab.start_agent()
    log = lab.agent.log_text()
    assert str(lab.state_file) in log and ("ignored" in log or "not loaded" in log), log
    assert lab.agent.running()
    # runs normally: values from CUPI, and the first poll is silent (nothing
    # was loaded to compare against)
    assert get1(lab.snmpd, config_oid("server", "Port")) == \
        int(lab.sim.state()["server"]["Port"])
    settle(2 * POLL)
    assert ours(lab.trapd) == [], describe(lab.trapd)
    if kind in REFUSED:
        # one error for the outage, the file untouched; once it is removed
        # the agent's retry writes a good store
        errors = [line for line in lab.agent.log_text().splitlines()
                  if "cannot write state file" in line]
        assert len(errors) == 1 and str(lab.state_file) in errors[0], errors
        assert lab.state_file.read_bytes() == corrupt
        lab.state_file.unlink()
        timeout = RETRY_MAX_S + 10
    else:
        # empty: a store not written yet; else imported, only the bad
        # resource left out
        if corrupt:
            assert Path(str(lab.state_file) + ".json.bak").read_bytes() == corrupt
        timeout = 10
    wait_saved(lab, lambda d: d["format"] == "cupi-snmp-state" and
               d["servers"][0]["server"]["values"]["Port"] == lab.sim.state()["server"]["Port"],
               timeout=timeout)
    assert stat.S_IMODE(lab.state_file.stat().st_mode) == 0o600


def test_valid_state_file_control(lab):
    """The control for the corrupt cases: the same file, not corrupted, is
    loaded and its difference to CUPI notified at the first poll."""
    lab.start_sim()
    lab.start_snmp()
    lab.state_file.parent.mkdir(parents=True, exist_ok=True)
    lab.state_file.write_text(_valid_state_text(lab))
    lab.start_agent()
    n = lab.trapd.wait_for(lambda n: n["trap_oid"] == SERVER_CHANGED, timeout=POLL + 2)[0]
    assert vb(n, col(SERVER_TABLE, SOURCE, IDX)) == ("INTEGER", SRC_EXTERNAL)
    assert len([o for o in n["varbinds"].order if o.startswith(SMTP_SERVER_TABLE)]) == 11
    assert "1 resource(s) loaded" in lab.agent.log_text()


# --- load ----------------------------------------------------------------------


def test_burst_of_1000_changes_coalesced_without_stalling(lab):
    lab.start_sim()
    lab.start_snmp(debug="agentx/master")
    lab.start_agent(poll=1, ttl=1)
    oid_value = config_oid("server", "maxNumberRecipients")
    oid_name = col(SERVER_TABLE, NAME, IDX)

    times, errors = [], []
    stop = threading.Event()

    def poller():
        while not stop.is_set():
            t = time.monotonic()
            vals, err = snmpget(lab.snmpd.port, oid_name, oid_value, timeout=2, retries=0)
            times.append(time.monotonic() - t)
            if err or vals.value(oid_name) != "cuc1":
                errors.append(err or str(vals))
            time.sleep(0.05)

    th = threading.Thread(target=poller, daemon=True)
    th.start()
    t0 = time.monotonic()
    try:
        for i in range(1000):
            lab.sim.set_state({"server": {"maxNumberRecipients": str(20000 + i)}})
    finally:
        burst = time.monotonic() - t0
        final = "20999"
    # the last value is served and notified
    wait_for(lambda: snmpget(lab.snmpd.port, oid_value)[0].value(oid_value) == int(final), 5,
             what="the final value")
    lab.trapd.wait_for(lambda n: n["trap_oid"] == SERVER_CHANGED and
                       vb(n, oid_value)[1] == int(final), timeout=5)
    settle(2)
    stop.set()
    th.join(10)

    notes = of(lab.trapd, SERVER_CHANGED)
    print("burst: 1000 changes in %.1f s -> %d notifications (ratio %.0f:1); "
          "%d GETs meanwhile, max %.3f s, mean %.3f s"
          % (burst, len(notes), 1000 / max(1, len(notes)), len(times), max(times),
             sum(times) / len(times)))
    assert not errors, errors[:5]
    assert len(times) >= 10
    assert max(times) < 1.0, max(times)
    # at most one per resource per refresh (1 s), with slack
    assert 1 <= len(notes) <= burst / 1 + 5, len(notes)
    assert len(notes) < 100
    assert all(vb(n, col(SERVER_TABLE, SOURCE, IDX))[1] == SRC_EXTERNAL for n in notes)
    snmpd_log = lab.snmpd.log_text()
    assert "agentx/master" in snmpd_log  # the debug output that would show a timeout
    assert "timeout on session" not in snmpd_log
    agent_log = lab.agent.log_text()
    for bad in ("failed to respond to ping", "re-register", "disconnected"):
        assert bad not in agent_log, bad
    assert lab.agent.running()


# --- cupiNotifications no --------------------------------------------------------


def test_notifications_no(lab):
    lab.start_sim()
    lab.start_snmp()
    lab.start_agent(extra="cupiNotifications no")
    lab.sim.set_state({"server": {"maxNumberConnections": "31"},
                       "client": {"smtpUsername": "quiet-user"}})
    wait_for(lambda: get1(lab.snmpd, col(SERVER_TABLE, CHANGES, IDX)) >= 2, POLL + 3,
             what="the change seen")
    vals, err = snmpset(lab.snmpd.port, (config_oid("server", "maxNumberConnections"), "i", 32),
                        timeout=5)
    assert not err, err
    lab.sim.stop()  # and a status change
    wait_status(lab.snmpd, ST_UNREACHABLE, timeout=UNREACHABLE_BOUND + 1)
    settle(POLL)
    assert get1(lab.snmpd, col(SERVER_TABLE, CHANGES, IDX)) == 3
    assert ours(lab.trapd) == [], describe(lab.trapd)
    assert lab.trapd.notifications(), "snmptrapd got nothing at all (not even coldStart)"


# --- more than one server; shutdown ------------------------------------------------


def test_second_server_notifies_with_its_own_instance(lab):
    """Index 7 (not 2): every varbind of its notification carries .7; the
    other server stays silent."""
    lab.start_sim(servers=["cuc1", "cuc2"])
    lab.start_snmp()
    text = agent_config(lab.snmpd, [server_lines(IDX, "cuc1", lab.sim, sim_server="cuc1"),
                                    server_lines(7, "cuc2", lab.sim, sim_server="cuc2")],
                        poll=POLL, ttl=POLL, timeout_ms=2000)
    lab.start_agent(text)
    wait_status(lab.snmpd, ST_OK, index=7)
    settle(POLL)
    lab.sim.set_state({"client": {"smtpUsername": "seven"}}, server="cuc2")
    n = lab.trapd.wait_for(lambda n: n["trap_oid"] == CLIENT_CHANGED, timeout=POLL + 2)[0]
    assert n["varbinds"].order == [col(SERVER_TABLE, NAME, 7), col(SERVER_TABLE, SOURCE, 7),
                                   col(SERVER_TABLE, LAST_INDEX, 7),
                                   config_oid("client", "smtpUsername", 7)]
    assert vb(n, col(SERVER_TABLE, LAST_INDEX, 7)) == ("Gauge32", 1)
    assert vb(n, col(SERVER_TABLE, NAME, 7)) == ("STRING", "cuc2")
    assert vb(n, config_oid("client", "smtpUsername", 7)) == ("STRING", "seven")
    settle(POLL)
    assert len(ours(lab.trapd)) == 1, describe(lab.trapd)
    assert get1(lab.snmpd, col(SERVER_TABLE, CHANGES, IDX)) == 0
    assert get1(lab.snmpd, col(SERVER_TABLE, CHANGES, 7)) == 1


def test_sigterm_saves_a_change_made_just_before(running):
    """The save is delayed (coalesced); SIGTERM must still write it."""
    lab = running
    oid = config_oid("server", "maxNumberMessagesSession")
    vals, err = snmpset(lab.snmpd.port, (oid, "i", 77), timeout=5)
    assert not err, err
    assert lab.agent.stop() == 0
    doc = saved(lab)
    assert doc["servers"][0]["server"]["values"]["maxNumberMessagesSession"] == "77"
