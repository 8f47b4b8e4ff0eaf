"""cupi-snmp-agent, the write path, end to end: snmpset through a
real snmpd master to the agent, the agent's PUTs landing on cupi-sim.

Covers: every read-write column set alone; one PUT per resource per PDU with
only the fields set; every error status (wrongType ... commitFailed,
undoFailed) with cupi-sim's state byte-for-byte unchanged after a rejected
SET and no PUT when the error comes before ACTION; a PUT that does not
stick; rollback of the first resource when the second PUT fails; a PUT
slowed to 2 s (SET succeeds, AgentX session kept, concurrent GETs answered,
the agent keeps refreshing another server meanwhile); read-your-writes with
cupiServerConfigChanges, cupiServerLastChangeSource and the notification;
SNMPv3 authPriv writes and a read-only v2c community with
doc/snmpd.conf.sample; the smart-host password in no log, state file, GET
or walk.

One lab (cupi-sim with two virtual servers, snmpd, snmptrapd, the agent with
two rows) serves the whole module; before every test both simulated servers
are put back to the CUPI reference's values and the agent has caught up with them.

Environment: CUPI_BUILD_DIR (binaries), see sim_helper and snmp_helper.
"""

import http.server
import json
import re
import statistics
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from sim_helper import CupiSim
from state_helper import saved_doc, saved_value, state_bytes
from snmp_helper import (
    ROOT,
    SERVER_TABLE,
    SMTP_CLIENT_TABLE,
    SMTP_SERVER_TABLE,
    Agent,
    Snmpd,
    Snmptrapd,
    agent_config,
    col,
    server_lines,
    snmpbulkwalk,
    snmpget,
    snmpset,
    snmpwalk,
    wait_for,
)

SAMPLE_SNMPD_CONF = Path(__file__).resolve().parents[2] / "doc" / "snmpd.conf.sample"

# The master waits this long for one AgentX answer, without resending.
AGENTX_TIMEOUT_S = 10
SET_TIMEOUT_S = 15  # snmpset's own timeout, above anything the agent may take

V3_USER = "cupiadmin"
V3_AUTH = "use-a-long-auth-passphrase"
V3_PRIV = "use-a-long-priv-passphrase"


def v3_args(user=V3_USER, auth=V3_AUTH, priv=V3_PRIV):
    return ["-l", "authPriv", "-u", user, "-a", "SHA", "-A", auth, "-x", "AES", "-X", priv]


TRUE, FALSE = 1, 2  # TruthValue
SOURCE_SNMP = 3

# cupiServerTable columns
SRV_NAME, SRV_CONFIG_CHANGES, SRV_LAST_CHANGE_SOURCE = 2, 9, 11

# The CUPI reference's example values: cupi-sim's initial state, put back before every test.
SEED = {
    "server": {
        "Port": "587", "domainName": "ucbu-aricent-vm234.cisco.com",
        "maxNumberConnections": "20", "smtpClientThreads": "2", "maxMessageSizeKb": "10000",
        "maxNumberMessagesSession": "10", "maxNumberRecipients": "15000",
        "retryDeliveryTimeoutMin": "240", "allowConnectionsFromUntrustedIpAddresses": "true",
        "requireAuthenticationFromUntrustedIpAddresses": "true",
        "requireTlsFromUntrustedIpAddresses": "1",
    },
    "client": {
        "smtpSmartHost": "outbound.cisco.com", "isClientSecure": "true", "smtpPort": "25",
        "isAuthEnabled": "true", "smtpUsername": "Admin", "smtpPassword": "",
    },
}

# Every read-write column: (resource, column, CUPI field, kind, new value,
# state to put in place first so that the new value alone is consistent).
# kind: int, bool (TruthValue), str, password.
WRITABLE = [
    ("server", 1, "Port", "int", 25, None),
    ("server", 2, "domainName", "str", "mail.example.org", None),
    ("server", 3, "maxNumberConnections", "int", 30, None),
    ("server", 4, "smtpClientThreads", "int", 5, None),
    ("server", 5, "maxMessageSizeKb", "int", 20000, None),
    ("server", 6, "maxNumberMessagesSession", "int", 50, None),
    ("server", 7, "maxNumberRecipients", "int", 100, None),
    ("server", 8, "retryDeliveryTimeoutMin", "int", 60, None),
    ("server", 9, "allowConnectionsFromUntrustedIpAddresses", "bool", FALSE,
     {"requireAuthenticationFromUntrustedIpAddresses": "false",
      "requireTlsFromUntrustedIpAddresses": "0"}),
    ("server", 10, "requireAuthenticationFromUntrustedIpAddresses", "bool", FALSE, None),
    ("server", 11, "requireTlsFromUntrustedIpAddresses", "int", 2, None),
    ("client", 1, "smtpSmartHost", "str", "smtp-relay.example.net", None),
    ("client", 2, "isClientSecure", "bool", FALSE, None),
    ("client", 3, "smtpPort", "int", 587, None),
    ("client", 4, "isAuthEnabled", "bool", FALSE, None),
    ("client", 5, "smtpUsername", "str", "relay-user", None),
    ("client", 6, "smtpPassword", "password", "N3w-Relay#Secret42", None),
]
FIELD = {(r, c): (name, kind) for r, c, name, kind, _, _ in WRITABLE}
TABLE = {"server": SMTP_SERVER_TABLE, "client": SMTP_CLIENT_TABLE}


def oid(resource, column, index=1):
    return col(TABLE[resource], column, index)


def vb(resource, column, value, index=1):
    """An snmpset (oid, type, value) triple for a config column."""
    kind = FIELD[(resource, column)][1]
    return (oid(resource, column, index), "i" if kind in ("int", "bool") else "s", value)


def sim_text(kind, value):
    """cupi-sim's state text of an SNMP value."""
    if kind == "bool":
        return "true" if value == TRUE else "false"
    return str(value)


def snmp_value(kind, text):
    """The SNMP value the agent serves for cupi-sim's state text."""
    if kind == "bool":
        return TRUE if text == "true" else FALSE
    if kind == "int":
        return int(text)
    if kind == "password":
        return ""
    return text


def set_status(err):
    """The error status of an snmpset result: "noError", net-snmp's name
    (wrongType, ..., genErr) or "timeout"."""
    if not err:
        return "noError"
    if "Timeout" in err:
        return "timeout"
    m = re.search(r"Reason: (\(genError\)|\w+)", err)
    if not m:
        return "unparsed: " + err
    return "genErr" if m.group(1) == "(genError)" else m.group(1)


def failed_object(err):
    m = re.search(r"Failed object: \.?([\d.]+)", err)
    return m.group(1) if m else None


def put_fields(body):
    """{field: text} of a PUT body as cupi-sim recorded it (XML or JSON)."""
    assert body, "no PUT body recorded"
    body = body.strip()
    if body.startswith("{"):
        doc = json.loads(body)
        if len(doc) == 1 and isinstance(next(iter(doc.values())), dict):
            doc = next(iter(doc.values()))
        return {k: str(v) for k, v in doc.items()}
    root = ET.fromstring(body)
    return {child.tag: child.text or "" for child in root}


# --- the lab -------------------------------------------------------------------


class Lab:
    """cupi-sim (cuc1, cuc2), snmptrapd, snmpd and the agent with rows 1 and 2."""

    def __init__(self, base):
        self.base = Path(base)
        self.sim = CupiSim(self.base / "sim")
        self.trapd = Snmptrapd(self.base / "snmptrapd")
        self.snmpd = None
        self.agent = None
        self.state_file = self.base / "agent" / "cupi-state"

    def start(self):
        self.sim.start(servers=["cuc1", "cuc2"])
        self.trapd.start()
        # Writes also over SNMPv3 authPriv, as operators are told to make them.
        self.snmpd = Snmpd(self.base / "snmpd", agentx_timeout=AGENTX_TIMEOUT_S,
                           agentx_retries=0, trap_port=self.trapd.port,
                           extra=["createUser %s SHA \"%s\" AES \"%s\"" % (V3_USER, V3_AUTH,
                                                                           V3_PRIV),
                                  "rwuser %s priv" % V3_USER],
                           debug="agentx/master").start()
        conf = agent_config(self.snmpd,
                            [server_lines(1, "cuc1", self.sim, sim_server="cuc1"),
                             server_lines(2, "cuc2", self.sim, sim_server="cuc2")],
                            poll=1, ttl=1, extra=["cupiStateFile %s" % self.state_file])
        # -D cupi: the password must stay out of the debug output too.
        self.agent = Agent(self.base / "agent", conf, debug="cupi").start()
        wait_for(lambda: self.port and all(
            snmpget(self.port, oid("server", 1, i), oid("client", 1, i))[0]
            .value(oid("client", 1, i)) is not None for i in (1, 2)), 20,
            what="both rows served")
        return self

    def stop(self):
        for p in (self.agent, self.snmpd, self.trapd):
            if p:
                p.stop()
        if self.snmpd:
            self.snmpd.cleanup()
        self.sim.stop()

    @property
    def port(self):
        return self.snmpd.port

    def raw_state(self, server="cuc1"):
        status, _, body = self.sim.request("GET", "/_sim/state", auth=False, server=server)
        assert status == 200
        return body

    def agent_view(self, index=1):
        """{(resource, column): value} served for a row."""
        oids = [oid(r, c, index) for r, c, _, _, _, _ in WRITABLE]
        vals, err = snmpget(self.port, oids)
        assert not err, err
        return {(r, c): vals.value(oid(r, c, index)) for r, c, _, _, _, _ in WRITABLE}

    def in_sync(self, index=1, server="cuc1"):
        state = self.sim.state(server)
        want = {(r, c): snmp_value(kind, state[r][name])
                for r, c, name, kind, _, _ in WRITABLE}
        return self.agent_view(index) == want

    def reset(self):
        """Seed state on both servers, no faults, zero counters, agent in sync."""
        for server, index in (("cuc1", 1), ("cuc2", 2)):
            self.sim.clear_faults(server)
            if self.sim.state(server) != SEED:
                self.sim.set_state(SEED, server)
            self.sim.reset_counters(server)
            wait_for(lambda: self.in_sync(index, server), 10,
                     what="the agent to serve %s's state" % server)

    def set(self, *varbinds, **kw):
        kw.setdefault("timeout", SET_TIMEOUT_S)
        t0 = time.monotonic()
        vals, err = snmpset(self.port, list(varbinds), **kw)
        self.last_set_latency = time.monotonic() - t0
        return vals, err

    def counters(self, server="cuc1"):
        return self.sim.counters(server)

    def server_col(self, column, index=1):
        vals, err = snmpget(self.port, col(SERVER_TABLE, column, index))
        assert not err, err
        return vals.value(col(SERVER_TABLE, column, index))


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    lab = Lab(tmp_path_factory.mktemp("set-lab"))
    try:
        lab.start()
        yield lab
    finally:
        lab.stop()


@pytest.fixture
def env(lab):
    lab.reset()
    snmpd_log, agent_log = len(lab.snmpd.log_text()), len(lab.agent.log_text())
    yield lab
    # Every test leaves the AgentX session as it found it: the master timed
    # nothing out (snmpd runs with -D agentx/master), the agent was not
    # disconnected.
    assert "timeout on session" not in lab.snmpd.log_text()[snmpd_log:]
    assert "disconnected" not in lab.agent.log_text()[agent_log:]


def assert_no_put(env):
    for server in ("cuc1", "cuc2"):
        put = env.counters(server)["put"]
        assert put == {"server": 0, "client": 0}, (server, put)


# --- each column alone ----------------------------------------------------------


@pytest.mark.parametrize("resource,column,field,kind,value,pre", WRITABLE,
                         ids=["%s.%d-%s" % (w[0], w[1], w[2]) for w in WRITABLE])
def test_each_writable_column_lands_on_cupi(env, resource, column, field, kind, value, pre):
    if pre:
        env.sim.set_state({resource: pre})
        env.sim.reset_counters()
    before = env.sim.state()
    assert before[resource][field] != sim_text(kind, value)

    vals, err = env.set(vb(resource, column, value))
    assert err == "", err

    other = "client" if resource == "server" else "server"
    counters = env.counters()
    assert counters["put"] == {resource: 1, other: 0}
    assert put_fields(counters["last_put_body"][resource]) == {field: sim_text(kind, value)}
    after = env.sim.state()
    expected = dict(before[resource], **{field: sim_text(kind, value)})
    assert after[resource] == expected
    assert after[other] == before[other]
    assert env.counters("cuc2")["put"] == {"server": 0, "client": 0}

    got, err = snmpget(env.port, oid(resource, column))
    assert err == "", err
    if kind == "password":
        assert got[oid(resource, column)] == ("STRING", "")
        assert got.raw[oid(resource, column)] == b""
    else:
        assert got.value(oid(resource, column)) == value


def test_one_pdu_one_put_per_resource_with_only_its_fields(env):
    varbinds = [
        vb("server", 3, 33), vb("client", 1, "relay.example.com"), vb("server", 1, 25),
        vb("client", 3, 587), vb("server", 5, 4096),
    ]
    vals, err = env.set(*varbinds)
    assert err == "", err
    print("\nSET of 3 server + 2 client fields: %.3f s (snmpset process included)"
          % env.last_set_latency)
    c = env.counters()
    assert c["put"] == {"server": 1, "client": 1}
    assert put_fields(c["last_put_body"]["server"]) == {
        "maxNumberConnections": "33", "Port": "25", "maxMessageSizeKb": "4096"}
    assert put_fields(c["last_put_body"]["client"]) == {
        "smtpSmartHost": "relay.example.com", "smtpPort": "587"}
    state = env.sim.state()
    assert state["server"] == dict(SEED["server"], maxNumberConnections="33", Port="25",
                                   maxMessageSizeKb="4096")
    assert state["client"] == dict(SEED["client"], smtpSmartHost="relay.example.com",
                                   smtpPort="587")
    view = env.agent_view()
    assert (view[("server", 3)], view[("server", 1)], view[("server", 5)]) == (33, 25, 4096)
    assert (view[("client", 1)], view[("client", 3)]) == ("relay.example.com", 587)


# --- error statuses -----------------------------------------------------------------

# (id, varbinds, expected status, state put in place first, fault rules on cuc1,
#  whether a PUT may have been sent)
ERRORS = [
    ("wrongType-string-to-integer", [vb("server", 3, 30)[:1] + ("s", "30")], "wrongType",
     None, (), False),
    ("wrongType-integer-to-string", [vb("server", 2, "x")[:1] + ("i", "5")], "wrongType",
     None, (), False),
    ("wrongLength-300-chars", [vb("server", 2, "a" * 300)], "wrongLength", None, (), False),
    ("wrongLength-password-300", [vb("client", 6, "p" * 300)], "wrongLength", None, (),
     False),
    ("wrongValue-port-26", [vb("server", 1, 26)], "wrongValue", None, (), False),
    ("wrongValue-client-port-26", [vb("client", 3, 26)], "wrongValue", None, (), False),
    ("wrongValue-maxConnections-51", [vb("server", 3, 51)], "wrongValue", None, (), False),
    ("wrongValue-maxConnections-negative", [vb("server", 3, -1)], "wrongValue", None, (),
     False),
    ("wrongValue-requireTls-3", [vb("server", 11, 3)], "wrongValue", None, (), False),
    ("wrongValue-truthvalue-3", [vb("server", 9, 3)], "wrongValue", None, (), False),
    ("wrongValue-truthvalue-0", [vb("client", 2, 0)], "wrongValue", None, (), False),
    ("wrongValue-domain-with-space", [vb("server", 2, "mail example.org")], "wrongValue",
     None, (), False),
    ("wrongValue-smarthost-control-char", [vb("client", 1, "relay\x01.example.com")],
     "wrongValue", None, (), False),
    ("wrongValue-in-second-varbind", [vb("server", 3, 30), vb("server", 4, 11)],
     "wrongValue", None, (), False),
    ("notWritable-cupiServerName", [(col(SERVER_TABLE, SRV_NAME, 1), "s", "renamed")],
     "notWritable", None, (), False),
    ("notWritable-with-a-writable-column", [vb("server", 3, 30),
                                            (col(SERVER_TABLE, SRV_NAME, 1), "s", "x")],
     "notWritable", None, (), False),
    ("noCreation-row-99", [vb("server", 3, 30, index=99)], "noCreation", None, (), False),
    ("noCreation-client-row-99", [vb("client", 5, "u", index=99)], "noCreation", None, (),
     False),
    ("inconsistentValue-same-pdu", [vb("server", 10, TRUE), vb("server", 9, FALSE)],
     "inconsistentValue", None, (), False),
    ("inconsistentValue-tls-same-pdu", [vb("server", 9, FALSE), vb("server", 10, FALSE),
                                        vb("server", 11, 2)],
     "inconsistentValue", None, (), False),
    ("inconsistentValue-against-current",
     [vb("server", 10, TRUE)], "inconsistentValue",
     {"server": {"allowConnectionsFromUntrustedIpAddresses": "false",
                 "requireAuthenticationFromUntrustedIpAddresses": "false",
                 "requireTlsFromUntrustedIpAddresses": "0"}}, (), False),
    ("inconsistentValue-auth-without-username",
     [vb("client", 4, TRUE), vb("client", 5, "")], "inconsistentValue", None, (), False),
    ("inconsistentValue-empty-username-current-auth",
     [vb("client", 5, "")], "inconsistentValue", None, (), False),
    # A column a cross-field rule involves: the SET always reads CUPI first
    # (recent values may stand in for the read of any other column).
    ("resourceUnavailable-cupi-busy-503",
     [vb("server", 11, 2)], "resourceUnavailable", None,
     ({"method": "GET", "resource": "server", "status": 503},), False),
    ("resourceUnavailable-cupi-down-drop",
     [vb("server", 11, 2)], "resourceUnavailable", None,
     ({"method": "GET", "resource": "*", "drop": True},), False),
    ("commitFailed-put-500", [vb("server", 3, 30)], "commitFailed", None,
     ({"method": "PUT", "resource": "server", "status": 500},), True),
    ("commitFailed-put-400", [vb("server", 3, 30)], "commitFailed", None,
     ({"method": "PUT", "resource": "server", "status": 400},), True),
    # The first resource's PUT fails: the second, sent at the same time and
    # applied, is put back.
    ("commitFailed-first-of-two-resources", [vb("server", 3, 30),
                                             vb("client", 1, "relay.example.com")],
     "commitFailed", None, ({"method": "PUT", "resource": "server", "status": 500},), True),
    ("commitFailed-client-put-500", [vb("client", 1, "relay.example.com")], "commitFailed",
     None, ({"method": "PUT", "resource": "client", "status": 500},), True),
    # 204 without applying anything: the read-back shows the value did not stick.
    ("commitFailed-put-does-not-stick", [vb("server", 3, 30)], "commitFailed", None,
     ({"method": "PUT", "resource": "server", "status": 204, "count": 1},), True),
]


@pytest.mark.parametrize("security", ["v2c", "v3-authPriv"])
@pytest.mark.parametrize("varbinds,status,pre,faults,may_put", [e[1:] for e in ERRORS],
                         ids=[e[0] for e in ERRORS])
def test_error_status_leaves_cupi_unchanged(env, varbinds, status, pre, faults, may_put,
                                            security):
    if pre:
        env.sim.set_state(pre)
        wait_for(env.in_sync, 10, what="the agent to see the changed state")
    for rule in faults:
        env.sim.fault(**rule)
    env.sim.reset_counters()
    state_before = env.raw_state()
    state2_before = env.raw_state("cuc2")

    over = {"version": "3", "extra": v3_args()} if security == "v3-authPriv" else {}
    vals, err = env.set(*varbinds, **over)
    assert set_status(err) == status, err
    assert failed_object(err) in [v[0] for v in varbinds], err

    env.sim.clear_faults()
    assert env.raw_state() == state_before
    assert env.raw_state("cuc2") == state2_before
    if not may_put:
        assert_no_put(env)
    else:
        # One PUT, to the resource the fault hit, plus a put-back where the
        # PUT answered 2xx without the value sticking; the other resource's
        # PUT, when the SET has one, goes at the same time and is put back.
        put = env.counters()["put"]
        hit = faults[0]["resource"]
        other = "client" if hit == "server" else "server"
        other_set = any(v[0].startswith(TABLE[other] + ".") for v in varbinds)
        assert put[hit] == (2 if faults[0].get("status") == 204 else 1), put
        assert put[other] == (2 if other_set else 0), put
    # The agent still serves what CUPI holds.
    wait_for(env.in_sync, 10, what="the agent to serve the unchanged state")


def test_put_refused_by_cupi_leaves_server_status_ok(env):
    """CUPI answering a PUT with 400 says the values were wrong, not that the
    server is unwell: the SET fails, cupiServerStatus stays ok(2)."""
    # An earlier test's fault may still show until the next refresh.
    wait_for(lambda: env.server_col(4) == 2, 10, what="cupiServerStatus ok")
    env.sim.fault(method="PUT", resource="server", status=400)
    vals, err = env.set(vb("server", 3, 30))
    assert set_status(err) == "commitFailed", err
    assert env.server_col(4) == 2  # cupiServerStatus ok
    env.sim.clear_faults()


def test_put_faulted_without_applying_does_not_change_the_sim(env):
    """The premise of the 'does not stick' case: a faulted PUT applies nothing."""
    env.sim.fault(method="PUT", resource="server", status=204)
    before = env.raw_state()
    status, _, _ = env.sim.put("server", {"maxNumberConnections": "30"})
    assert status == 204
    assert env.raw_state() == before


def test_second_resource_put_failure_rolls_the_first_back(env):
    env.sim.fault(method="PUT", resource="client", status=500)
    before = env.raw_state()
    vals, err = env.set(vb("server", 3, 44), vb("server", 2, "rollback.example.org"),
                        vb("client", 1, "relay.example.com"))
    assert set_status(err) == "commitFailed", err
    assert env.raw_state() == before
    c = env.counters()
    assert c["put"] == {"server": 2, "client": 1}  # change, failed PUT, put-back
    assert put_fields(c["last_put_body"]["server"]) == {
        "maxNumberConnections": SEED["server"]["maxNumberConnections"],
        "domainName": SEED["server"]["domainName"]}
    wait_for(env.in_sync, 10, what="the agent to serve the rolled-back state")


def test_failed_put_back_is_undo_failed(env):
    # The first server PUT passes (a latency-only rule used up), the put-back fails.
    env.sim.fault(method="PUT", resource="server", latency_ms=1, count=1)
    env.sim.fault(method="PUT", resource="server", status=500)
    env.sim.fault(method="PUT", resource="client", status=500)
    vals, err = env.set(vb("server", 3, 44), vb("client", 1, "relay.example.com"))
    assert set_status(err) == "undoFailed", err
    c = env.counters()
    assert c["put"] == {"server": 2, "client": 1}
    state = env.sim.state()
    assert state["server"]["maxNumberConnections"] == "44"  # could not be put back
    assert state["client"] == SEED["client"]
    env.sim.clear_faults()
    wait_for(env.in_sync, 10, what="the agent to serve what CUPI really holds")


# --- a slow PUT ------------------------------------------------------------------------


def test_slow_put_set_succeeds_session_kept_agent_keeps_working(env):
    """PUT slowed to 2 s. The SET succeeds; the AgentX session survives; GETs
    sent meanwhile by another manager are all answered (net-snmp's master
    holds them back while a SET is in progress, so their latency is
    measured and printed, not bounded); and the subagent's loop is not
    blocked: it keeps refreshing row 2 (cupi-sim's cuc2) while row 1's PUT
    hangs."""
    connects_before = env.agent.log_text().count("AgentX subagent connected")
    env.sim.fault(method="PUT", resource="server", latency_ms=2000, count=1)

    stop = threading.Event()
    samples = []  # (time, cuc1 in_progress, cuc1 put.server, cuc2 get total)
    gets = []     # (sent at, latency, error)

    def monitor():
        while not stop.is_set():
            c1, c2 = env.counters("cuc1"), env.counters("cuc2")
            samples.append((time.monotonic(), c1["in_progress"], c1["put"]["server"],
                            c2["get"]["server"] + c2["get"]["client"]))
            time.sleep(0.05)

    def one_get():
        oids = [oid("server", 3, 1), oid("server", 3, 2), col(SERVER_TABLE, 4, 2)]
        t = time.monotonic()
        vals, err = snmpget(env.port, oids, timeout=AGENTX_TIMEOUT_S, retries=0)
        gets.append((t, time.monotonic() - t, err or (None if len(vals) == 3 else "short")))

    def getter():
        # Another manager: a GET every 100 ms, each from its own process, not
        # waiting for the previous answer.
        while not stop.is_set():
            th = threading.Thread(target=one_get)
            th.start()
            get_threads.append(th)
            time.sleep(0.1)

    get_threads = []
    threads = [threading.Thread(target=monitor), threading.Thread(target=getter)]
    for th in threads:
        th.start()
    try:
        time.sleep(0.5)
        t0 = time.monotonic()
        vals, err = env.set(vb("server", 3, 31))
        t1 = time.monotonic()
        time.sleep(0.5)
    finally:
        stop.set()
        for th in threads + get_threads:
            th.join(timeout=30)

    set_latency = t1 - t0
    during = [g for g in gets if t0 <= g[0] <= t1]
    lat = sorted(g[1] for g in gets)
    lat_during = sorted(g[1] for g in during)
    print("\nslow PUT: SET latency %.3f s; %d GETs (%d sent during the SET); "
          "GET latency all: min %.3f median %.3f max %.3f s; during the SET: %s"
          % (set_latency, len(gets), len(during), lat[0], statistics.median(lat), lat[-1],
             ", ".join("%.3f" % x for x in lat_during)))

    assert err == "", err
    assert 2.0 <= set_latency < AGENTX_TIMEOUT_S
    assert env.sim.state()["server"]["maxNumberConnections"] == "31"
    assert env.counters()["put"]["server"] == 1
    # Every GET answered, none timed out.
    assert gets and all(g[2] is None for g in gets), [g for g in gets if g[2]]
    assert during, "no GET was sent while the SET was in progress"

    # While row 1's PUT hung in cupi-sim (in progress there), the agent went
    # on reading row 2's resources: cuc2's GET count rose inside that window.
    hung = [s for s in samples if s[1] >= 1 and s[2] >= 1]
    assert hung, "never saw the PUT in progress"
    window = hung[-1][0] - hung[0][0]
    cuc2_gets = hung[-1][3] - hung[0][3]
    print("slow PUT: PUT seen in progress for %.2f s; cuc2 GETs meanwhile: %d"
          % (window, cuc2_gets))
    assert window >= 1.5
    assert cuc2_gets >= 2

    # The AgentX session was kept: no timeout, no reconnect, answers go on.
    assert "timeout on session" not in env.snmpd.log_text()
    log = env.agent.log_text()
    assert "disconnected" not in log
    assert log.count("AgentX subagent connected") == connects_before
    got, err = snmpget(env.port, oid("server", 3, 1), timeout=1, retries=0)
    assert err == "" and got.value(oid("server", 3, 1)) == 31


# --- read-your-writes ------------------------------------------------------------------


def test_reload_during_a_slow_set_lets_its_put_finish(env):
    """A SIGHUP that rebuilds every CUPI client (cupiTimeout changed) while a
    SET's PUT is in flight: the old client is kept until the SET ends, so the
    PUT completes and the SET succeeds instead of being cut off."""
    conf = env.agent.conf_file.read_text()
    env.sim.fault(method="PUT", resource="server", latency_ms=1500, count=1)
    result = {}
    th = threading.Thread(target=lambda: result.update(r=env.set(vb("server", 3, 37))))
    th.start()
    try:
        wait_for(lambda: env.counters("cuc1")["in_progress"] >= 1, 5, interval=0.02,
                 what="the slow PUT in progress")
        env.agent.write_config(conf + "cupiTimeout 6000\n")
        env.agent.reload()
        th.join(20)
        vals, err = result["r"]
        assert not err, err
        assert env.sim.state("cuc1")["server"]["maxNumberConnections"] == "37"
        assert "reconfigured" in env.agent.log_text()
    finally:
        th.join(20)
        env.agent.write_config(conf)
        env.agent.reload()


def test_read_your_writes(env):
    changes = env.server_col(SRV_CONFIG_CHANGES)
    traps_before = len(env.trapd.notifications())
    vals, err = env.set(vb("server", 7, 321), vb("server", 8, 15))
    assert err == "", err
    got, err = snmpget(env.port, oid("server", 7), oid("server", 8),
                       col(SERVER_TABLE, SRV_CONFIG_CHANGES, 1),
                       col(SERVER_TABLE, SRV_LAST_CHANGE_SOURCE, 1), timeout=1, retries=0)
    assert err == "", err
    assert got.value(oid("server", 7)) == 321
    assert got.value(oid("server", 8)) == 15
    assert got.value(col(SERVER_TABLE, SRV_CONFIG_CHANGES, 1)) == changes + 1
    assert got.value(col(SERVER_TABLE, SRV_LAST_CHANGE_SOURCE, 1)) == SOURCE_SNMP

    def ours(n):
        vbs = n["varbinds"]
        return (n["trap_oid"] == ROOT + ".0.1"
                and vbs.value(col(SERVER_TABLE, SRV_LAST_CHANGE_SOURCE, 1)) == SOURCE_SNMP
                and vbs.value(oid("server", 7)) == 321)

    found = env.trapd.wait_for(ours, timeout=10)
    assert len(found) == 1
    vbs = found[0]["varbinds"]
    assert vbs.value(oid("server", 8)) == 15
    assert vbs.value(col(SERVER_TABLE, SRV_NAME, 1)) == "cuc1"
    # Only the changed columns are appended.
    assert oid("server", 3) not in vbs
    assert len(env.trapd.notifications()) > traps_before
    # Row 2 is untouched.
    assert env.counters("cuc2")["put"] == {"server": 0, "client": 0}
    assert env.server_col(SRV_LAST_CHANGE_SOURCE, 2) != SOURCE_SNMP


# --- the password -----------------------------------------------------------------------


def test_password_never_in_log_state_file_get_or_walk(env):
    secret = "Pw-" + "%x" % int(time.time() * 1000) + "-Zq9!"
    vals, err = env.set(vb("client", 6, secret), vb("client", 5, "relay-user"))
    assert err == "", err
    assert env.sim.state()["client"]["smtpPassword"] == secret
    assert secret in env.counters()["last_put_body"]["client"]  # it did go to CUPI

    got, err = snmpget(env.port, oid("client", 6), oid("client", 6, 2))
    assert err == ""
    assert got.raw[oid("client", 6)] == b"" and got.raw[oid("client", 6, 2)] == b""
    for walker in (snmpbulkwalk, snmpwalk):
        vals, err, proc = walker(env.port, ROOT, full=True)
        assert err == "", err
        assert vals.value(oid("client", 6)) == ""
        assert secret not in proc.stdout
        assert secret.encode().hex() not in proc.stdout.replace(" ", "").lower()
        assert all(secret.encode() not in raw for raw in vals.raw.values())

    # The agent runs with -D cupi; wait for the SET's values in its state.
    wait_for(lambda: saved_value(env.state_file, "smtpUsername", resource="client") ==
             "relay-user", 10, what="the state file")
    time.sleep(1.5)
    assert secret not in env.agent.log_text()
    assert "cupi" in env.agent.log_text()  # the debug output is there
    assert secret.encode() not in state_bytes(env.state_file)
    history = saved_doc(env.state_file)["servers"][0]["history"]["rows"]
    passwords = [(r["old"], r["new"]) for r in history if r["field"] == "smtpPassword"]
    assert passwords and set(passwords) == {("", "")}, passwords


# --- SNMPv3 with the sample snmpd.conf ---------------------------------------------------



class SampleSnmpd(Snmpd):
    """snmpd with doc/snmpd.conf.sample; only the AgentX socket, the
    read-only community's source and the trap sink are made local."""

    def config_text(self):
        out = []
        for line in SAMPLE_SNMPD_CONF.read_text().splitlines():
            words = line.split()
            if words[:1] == ["agentXSocket"]:
                line = "agentXSocket %s" % self.agentx
            elif words[:2] == ["rocommunity", "public"]:
                line = "rocommunity public 127.0.0.1"
            elif words[:1] == ["trap2sink"]:
                continue
            out.append(line)
        # The probe start() uses: sysUpTime through the read-only community.
        return "\n".join(out) + "\n"


@pytest.fixture
def v3lab(tmp_path):
    text = SAMPLE_SNMPD_CONF.read_text()
    assert "createUser %s SHA" % V3_USER in text
    # Writes through a VACM group whose access needs authPriv.
    assert re.search(r"^group\s+(\S+)\s+usm\s+%s$" % V3_USER, text, re.M)
    assert re.search(r'^access\s+\S+\s+""\s+usm\s+priv\s+exact\s+\S+\s+\S+', text, re.M)
    sim = CupiSim(tmp_path / "sim").start()
    snmpd = agent = None
    try:
        snmpd = SampleSnmpd(tmp_path / "snmpd").start()
        agent = Agent(tmp_path / "agent",
                      agent_config(snmpd, [server_lines(1, "cuc1", sim)], poll=1, ttl=1)).start()
        wait_for(lambda: snmpget(snmpd.port, oid("server", 3))[0].value(oid("server", 3)), 20,
                 what="row 1 served")
        yield sim, snmpd, agent
    finally:
        for p in (agent, snmpd):
            if p:
                p.stop()
        if snmpd:
            snmpd.cleanup()
        sim.stop()


def test_snmpv3_authpriv_writes_v2c_read_only_cannot(v3lab):
    sim, snmpd, agent = v3lab
    sim.reset_counters()

    # SNMPv3 authPriv: accepted, lands on CUPI, readable back over v3 too.
    vals, err = snmpset(snmpd.port, [vb("server", 3, 35), vb("client", 5, "v3-user")],
                        version="3", timeout=SET_TIMEOUT_S, extra=v3_args())
    assert err == "", err
    state = sim.state()
    assert state["server"]["maxNumberConnections"] == "35"
    assert state["client"]["smtpUsername"] == "v3-user"
    assert sim.counters()["put"] == {"server": 1, "client": 1}
    got, err = snmpget(snmpd.port, oid("server", 3), version="3", extra=v3_args())
    assert err == "" and got.value(oid("server", 3)) == 35

    # v2c read-only community: reads work, a SET is refused by the master's
    # VACM before any AgentX traffic; CUPI sees no PUT.
    sim.reset_counters()
    before = sim.request("GET", "/_sim/state", auth=False)[2]
    got, err = snmpget(snmpd.port, oid("server", 3), community="public")
    assert err == "" and got.value(oid("server", 3)) == 35
    vals, err = snmpset(snmpd.port, [vb("server", 3, 40)], community="public",
                        timeout=SET_TIMEOUT_S)
    print("\nv2c read-only community SET: %s" % set_status(err))
    assert set_status(err) in ("noAccess", "authorizationError", "notWritable"), err
    # A community that is not configured at all gets no answer (or an error).
    vals, err2 = snmpset(snmpd.port, [vb("server", 3, 40)], community="private", timeout=1)
    assert set_status(err2) != "noError"

    # SNMPv3 without privacy, and with a wrong passphrase: no write either.
    vals, err3 = snmpset(snmpd.port, [vb("server", 3, 40)], version="3", timeout=2,
                         extra=["-l", "authNoPriv", "-u", V3_USER, "-a", "SHA", "-A", V3_AUTH])
    assert set_status(err3) != "noError"
    vals, err4 = snmpset(snmpd.port, [vb("server", 3, 40)], version="3", timeout=2,
                         extra=v3_args(auth="a-wrong-auth-passphrase"))
    assert set_status(err4) != "noError"

    assert sim.counters()["put"] == {"server": 0, "client": 0}
    assert sim.request("GET", "/_sim/state", auth=False)[2] == before


# --- a CUPI that answers with half a body -----------------------------------------


class PartialCupi:
    """A plain-HTTP CUPI that serves the CUPI reference's values and, once partial is
    set, server configurations lacking maxNumberRecipients. Counts PUTs."""

    def __init__(self):
        self.partial = False
        self.puts = 0
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status, body=b""):
                self.send_response(status)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                resource = "server" if self.path.endswith("serverconfigs") else "client"
                values = {k: v for k, v in SEED[resource].items() if k != "smtpPassword"}
                if resource == "server" and owner.partial:
                    del values["maxNumberRecipients"]
                root = "SmtpServerConfiguration" if resource == "server" \
                    else "SmtpClientConfiguration"
                body = "<%s>%s</%s>" % (root, "".join(
                    "<%s>%s</%s>" % (k, v, k) for k, v in values.items()), root)
                self._send(200, body.encode())

            def do_PUT(self):
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                owner.puts += 1
                self._send(204)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_set_with_partial_fresh_read_changes_nothing(tmp_path):
    """The SET's fresh read lacks a field: resourceUnavailable, no PUT, and
    the values served before stay served (half a snapshot is never cached).
    The column set is one a cross-field rule involves: its read is never
    skipped for the values the agent read moments ago."""
    cupi = PartialCupi()
    snmpd = agent = None
    try:
        snmpd = Snmpd(tmp_path / "snmpd", agentx_timeout=AGENTX_TIMEOUT_S,
                      agentx_retries=0).start()
        # No refresh during the test: only the SET reads CUPI.
        conf = agent_config(snmpd, [server_lines(1, "partial", url=cupi.url, insecure=True)],
                            poll=3600, ttl=3600)
        agent = Agent(tmp_path / "agent", conf, debug="cupi").start()
        recipients = oid("server", 7)
        wait_for(lambda: snmpget(snmpd.port, recipients)[0].value(recipients) is not None, 20,
                 what="the row served")
        cupi.partial = True
        vals, err = snmpset(snmpd.port, [vb("server", 11, 2)], timeout=SET_TIMEOUT_S)
        assert set_status(err) == "resourceUnavailable", err
        assert cupi.puts == 0
        got, err = snmpget(snmpd.port, recipients, oid("server", 3))
        assert err == "", err
        assert got.value(recipients) == int(SEED["server"]["maxNumberRecipients"])
        assert got.value(oid("server", 3)) == int(SEED["server"]["maxNumberConnections"])
    finally:
        for p in (agent, snmpd):
            if p:
                p.stop()
        if snmpd:
            snmpd.cleanup()
        cupi.close()
