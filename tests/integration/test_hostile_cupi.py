"""The agent, snmpd, snmptrapd and cupictl against a HOSTILE CUPI server
(independent_cupi.py in its hostile modes).

Values the field table refuses (out of range, not an enum value, control
characters, a "\\u0000" escape, invalid UTF-8), served in XML and in JSON:
the resource keeps its last good values (served, in the state file), the
server's cupiServerStatus becomes badResponse(8) with cupiServerLastError
naming the field and the value, one cupiServerStatusChanged per transition,
no ConfigChanged; CUPI answering good values again brings the status back.

A server echoing every request header, the credential and the password (in
ErrorDetails, plain-text errors, a returned value and unknown fields), with
account passwords of 1, 3, 8 and 64 characters: no secret (plaintext, base64
of user:password, the Basic header) in any SNMP value of a walk of the whole
MIB, in any notification at snmptrapd, in the agent's log or the state file,
nor on cupictl's output.

A SET of smtpUsername with invalid UTF-8 or a control character is
wrongValue and no PUT reaches the server.

Run: CUPI_BUILD_DIR=BUILD /usr/bin/python3 -m pytest -q tests/integration/test_hostile_cupi.py
"""

import base64
import os
import subprocess
import time
from pathlib import Path

import pytest

from independent_cupi import SEED_CLIENT, SEED_SERVER, IndependentCupi
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
    cupictl_binary,
    snmpbulkwalk,
    snmpget,
    snmpset,
    wait_for,
)

STATUS_CHANGED = ROOT + ".0.3"
CONFIG_CHANGED = (ROOT + ".0.1", ROOT + ".0.2")
SRV_STATUS, SRV_LAST_ERROR = 4, 6
OK, AUTH_FAILED, BAD_RESPONSE = 2, 4, 8

SERVER_FIELDS = list(SEED_SERVER)
CLIENT_FIELDS = list(SEED_CLIENT)


def write_private(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def server_block(cupi, fmt):
    return ("cupiServer 1 hostile https://127.0.0.1:{port}\n"
            "cupiUser 1 {user}\n"
            "cupiPasswordFile 1 {pwf}\n"
            "cupiCaFile 1 {ca}\n"
            "cupiFormat 1 {fmt}\n").format(port=cupi.port, user=cupi.user,
                                           pwf=cupi.password_file, ca=cupi.ca_file, fmt=fmt)


def b64(raw):
    return base64.b64encode(raw).decode()


class Lab:
    """independent_cupi + snmptrapd + snmpd + the agent (poll and cache 1 s,
    a state file), one server row."""

    def __init__(self, base, fmt, password="Hostile-Pw 42#x", user="cupiadmin"):
        self.base = Path(base)
        self.fmt = fmt
        self.cupi = IndependentCupi(self.base / "cupi", user=user, password=password)
        self.trapd = Snmptrapd(self.base / "snmptrapd")
        self.snmpd = self.agent = None
        self.state_file = self.base / "agent.state"

    def start(self):
        self.cupi.start()
        self.trapd.start()
        self.snmpd = Snmpd(self.base / "snmpd", agentx_timeout=25, agentx_retries=0,
                           trap_port=self.trapd.port).start()
        conf = agent_config(self.snmpd, [server_block(self.cupi, self.fmt)], poll=1, ttl=1,
                            extra="cupiStateFile %s" % self.state_file)
        self.agent = Agent(self.base / "agent", conf, debug="cupi").start()
        self.wait_status(OK, 20)
        return self

    def stop(self):
        for p in (self.agent, self.snmpd, self.trapd):
            if p:
                p.stop()
        if self.snmpd:
            self.snmpd.cleanup()
        return self.cupi.stop()

    def server_row(self):
        o_status, o_error = col(SERVER_TABLE, SRV_STATUS, 1), col(SERVER_TABLE, SRV_LAST_ERROR, 1)
        vals, err = snmpget(self.snmpd.port, o_status, o_error)
        assert not err, err
        return vals.value(o_status), vals.value(o_error)

    def wait_status(self, status, timeout=15):
        return wait_for(lambda: (lambda r: r if r[0] == status else None)(self.server_row()),
                        timeout, what="cupiServerStatus %d" % status)

    def walk(self, oid=ROOT):
        vals, err = snmpbulkwalk(self.snmpd.port, oid)
        assert not err, err
        return vals

    def config_values(self):
        vals = self.walk(ROOT + ".1")
        return {o: v[1] for o, v in vals.items()
                if o.startswith(SMTP_SERVER_TABLE + ".") or o.startswith(SMTP_CLIENT_TABLE + ".")}

    def notifications(self, trap_oids):
        return [n for n in self.trapd.notifications() if n["trap_oid"] in trap_oids]


@pytest.fixture(params=["xml", "json"])
def lab(request, tmp_path):
    lab = Lab(tmp_path, request.param)
    try:
        lab.start()
        yield lab
    finally:
        lab.stop()


# --- values the MIB cannot carry -------------------------------------------------

# (case, field, raw XML text, raw JSON token, what cupiServerLastError shows of it)
BAD_VALUES = [
    ("maxConnections-9999", "maxNumberConnections", b"9999", b'"9999"', '"9999"'),
    ("maxConnections-negative", "maxNumberConnections", b"-5", b"-5", '"-5"'),
    ("port-26", "Port", b"26", b'"26"', '"26"'),
    ("requireTls-7", "requireTlsFromUntrustedIpAddresses", b"7", b'"7"', '"7"'),
    ("smtpPort-1", "smtpPort", b"1", b'"1"', '"1"'),
    ("domain-control-char", "domainName", b"ab&#9;cd.example.com",
     b'"ab\\u0009cd.example.com"', '"ab\\x09cd.example.com"'),
    # XML 1.0 cannot carry a NUL at all: libxml2 refuses the document
    ("domain-nul", "domainName", None, b'"ab\\u0000cd.example.com"',
     '"ab\\u0000cd.example.com"'),
    ("username-bad-utf8", "smtpUsername", b"x\xc3", b'"x\xc3"', '"x\\xC3"'),
]


def seed_walk(lab):
    """The config columns as served with the CUPI reference's values (the first good
    read), taken from the agent itself once."""
    return lab.config_values()


def state_values(lab):
    """{resource: values} of the state file's one server."""
    entry = saved_doc(lab.state_file)["servers"][0]
    return {r: entry[r]["values"] for r in ("server", "client") if r in entry}


def test_invalid_values_keep_last_good(lab):
    good = seed_walk(lab)
    assert good[col(SMTP_SERVER_TABLE, 3, 1)] == int(SEED_SERVER["maxNumberConnections"])
    wait_for(lambda: saved_value(lab.state_file, "maxNumberConnections") is not None and
             saved_value(lab.state_file, "smtpSmartHost", resource="client") is not None, 10,
             what="the state file")
    good_state = state_values(lab)
    start = len(lab.trapd.notifications())
    status_seen = 0
    cases = [c for c in BAD_VALUES if (c[2] if lab.fmt == "xml" else c[3]) is not None]
    for case, field, xml_raw, json_raw, shown in cases:
        raw = xml_raw if lab.fmt == "xml" else json_raw
        lab.cupi.set_mode(raw_values={field: b64(raw)})
        _, last_error = lab.wait_status(BAD_RESPONSE)
        assert "field %s" % field in last_error, (case, last_error)
        assert shown in last_error, (case, last_error)
        # the last good values stay served, and stay in the state file
        assert lab.config_values() == good, case
        time.sleep(1.5)  # more refreshes of the bad answer
        assert lab.config_values() == good, case
        assert state_values(lab) == good_state, case
        lab.cupi.set_mode(raw_values={})
        lab.wait_status(OK)
        # exactly one notification per transition (ok -> bad, bad -> ok)
        status_seen += 2
        got = lab.trapd.wait_for(lambda n: n["trap_oid"] == STATUS_CHANGED, timeout=10,
                                 count=status_seen)
        assert len(got) == status_seen, case
        bad = got[-2]["varbinds"]
        assert bad.value(col(SERVER_TABLE, SRV_STATUS, 1)) == BAD_RESPONSE
        assert "field %s" % field in bad.value(col(SERVER_TABLE, SRV_LAST_ERROR, 1))
        assert got[-1]["varbinds"].value(col(SERVER_TABLE, SRV_STATUS, 1)) == OK
    time.sleep(2)  # nothing late
    news = lab.trapd.notifications()[start:]
    assert [n["trap_oid"] for n in news] == [STATUS_CHANGED] * status_seen
    assert lab.config_values() == good
    # the agent's log says what was refused
    assert "badResponse" in lab.agent.log_text()


def test_state_file_never_takes_a_bad_value(tmp_path):
    """A bad answer right from the start (no good value yet): nothing is
    served or stored; once CUPI answers good values they are."""
    lab = Lab(tmp_path, "json")
    try:
        lab.cupi.start()
        lab.cupi.set_mode(raw_values={"maxNumberConnections": b64(b'"9999"')})
        lab.trapd.start()
        lab.snmpd = Snmpd(lab.base / "snmpd", agentx_timeout=25, agentx_retries=0,
                          trap_port=lab.trapd.port).start()
        conf = agent_config(lab.snmpd, [server_block(lab.cupi, "json")], poll=1, ttl=1,
                            extra="cupiStateFile %s" % lab.state_file)
        lab.agent = Agent(lab.base / "agent", conf, debug="cupi").start()
        _, last_error = lab.wait_status(BAD_RESPONSE, 20)
        assert "maxNumberConnections" in last_error and "9999" in last_error
        o = col(SMTP_SERVER_TABLE, 3, 1)
        vals, err = snmpget(lab.snmpd.port, o)
        assert not err and vals.value(o) is None  # noSuchInstance: never read
        time.sleep(1.5)
        assert b"9999" not in state_bytes(lab.state_file)
        lab.cupi.set_mode(raw_values={})
        lab.wait_status(OK)
        wait_for(lambda: snmpget(lab.snmpd.port, o)[0].value(o) == 20, 10,
                 what="the good value served")
        assert lab.notifications(CONFIG_CHANGED) == []
    finally:
        lab.stop()


# --- SET values that are not text ---------------------------------------------------


def test_set_username_not_text_is_wrong_value(lab):
    o = col(SMTP_CLIENT_TABLE, 5, 1)
    pw = col(SMTP_CLIENT_TABLE, 6, 1)
    lab.cupi.clear()
    # "x\xc3" (cut UTF-8), a control character, a C1 control, a line feed
    for oid, hexbytes in [(o, "78C3"), (o, "780179"), (o, "78C285"), (o, "610A62"),
                          (pw, "70C3"), (pw, "700070")]:  # the password: UTF-8, no NUL
        _, err = snmpset(lab.snmpd.port, (oid, "x", hexbytes), timeout=10)
        assert "wrongValue" in err, (hexbytes, err)
    time.sleep(0.5)
    assert lab.cupi.requests(method="PUT") == []
    assert lab.cupi.state()["client"] == SEED_CLIENT
    vals, err = snmpget(lab.snmpd.port, o)
    assert vals.value(o) == SEED_CLIENT["smtpUsername"]


# --- secrets echoed back ------------------------------------------------------------

# account passwords of 1, 3, 8 and 64 characters; the short ones are
# characters no message, log line or value holds otherwise, so that finding
# them anywhere means a leak
PASSWORDS = {
    1: "\u00a7",
    3: "Q~\u00a7",
    8: "S3cr3t!x",
    64: "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_",
}


def secret_forms(user, password):
    cred = "%s:%s" % (user, password)
    enc = base64.b64encode(cred.encode()).decode()
    forms = [password, cred, enc, enc.rstrip("="), "Basic " + enc]
    return [f.encode("utf-8") for f in forms]


def assert_clean(what, data, forms):
    if isinstance(data, str):
        data = data.encode("utf-8", "replace")
    for f in forms:
        assert f not in data, "a secret (%d bytes) in %s" % (len(f), what)


ECHO_PHASES = [
    # (mode, the status it leads to, what cupiServerLastError then says)
    ({"echo_in_body": True}, OK, ""),
    ({"echo_in_body": False, "echo_value": "domainName"}, BAD_RESPONSE, "field domainName"),
    ({"echo_value": None, "echo": {"status": 400, "format": "xml"}}, BAD_RESPONSE, "HTTP 400"),
    ({"echo": {"status": 401, "format": "text"}}, AUTH_FAILED, "HTTP 401"),
    ({"echo": {"status": 500, "format": "json"}}, BAD_RESPONSE, "HTTP 500"),
    ({"echo": None}, OK, ""),
]


@pytest.mark.parametrize("length", sorted(PASSWORDS))
def test_no_secret_anywhere(tmp_path, length):
    fmt = "xml" if length in (1, 8) else "json"
    lab = Lab(tmp_path, fmt, password=PASSWORDS[length])
    forms = secret_forms(lab.cupi.user, lab.cupi.password)
    try:
        lab.start()
        walks = []
        for mode, status, says in ECHO_PHASES:
            lab.cupi.set_mode(**mode)
            row = wait_for(lambda: (lambda r: r if r[0] == status and says in r[1] else None)(
                lab.server_row()), 15, what="status %d saying %r" % (status, says))
            if length < 4 and mode.get("echo_value"):
                # a short password is never searched and replaced: the value
                # that may echo it is withheld as a whole
                assert "withheld" in row[1], row[1]
            time.sleep(1.2)  # a few refreshes in this mode
            walks.append(lab.walk())
        # cupictl against the echoing server
        conf = lab.base / "cupictl.conf"
        write_private(conf, server_block(lab.cupi, fmt))
        lab.cupi.set_mode(echo={"status": 400, "format": fmt})
        p = subprocess.run([str(cupictl_binary()), "-c", str(conf), "get", "server"],
                           capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
        assert p.returncode == 1
        assert b"HTTP 400" in p.stderr
        assert_clean("cupictl's output", p.stdout + p.stderr, forms)
        lab.cupi.set_mode(echo=None, echo_value="smtpSmartHost")
        p = subprocess.run([str(cupictl_binary()), "-c", str(conf), "get", "client"],
                           capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
        assert p.returncode == 1 and b"smtpSmartHost" in p.stderr, p.stderr
        assert_clean("cupictl's output", p.stdout + p.stderr, forms)
        lab.cupi.set_mode(echo_value=None)
        lab.wait_status(OK)
    finally:
        code = lab.stop()
    assert code == 0
    # every SNMP value of every walk of the whole MIB
    assert walks and all(walks)
    for vals in walks:
        for oid, raw in vals.raw.items():
            assert_clean("SNMP value %s" % oid, raw, forms)
        for oid, (typ, value) in vals.items():
            assert_clean("SNMP value %s" % oid, str(value), forms)
    # every notification (raw log and decoded values), the agent's log, the state file
    assert_clean("snmptrapd's log", lab.trapd.log_text(), forms)
    notes = lab.trapd.notifications()
    assert any(n["trap_oid"] == STATUS_CHANGED for n in notes)
    for n in notes:
        for oid, raw in n["varbinds"].raw.items():
            assert_clean("notification value %s" % oid, raw, forms)
    assert_clean("the agent's log", lab.agent.log_text(), forms)
    assert_clean("the state file", state_bytes(lab.state_file), forms)


def test_cupictl_refuses_invalid_answer(tmp_path):
    cupi = IndependentCupi(tmp_path / "cupi").start()
    try:
        conf = tmp_path / "cupictl.conf"
        for fmt in ("xml", "json"):
            write_private(conf, server_block(cupi, fmt))
            cupi.set_mode(raw_values={"maxNumberConnections": b64(b"9999" if fmt == "xml"
                                                                   else b'"9999"')})
            p = subprocess.run([str(cupictl_binary()), "-c", str(conf), "get", "server"],
                               capture_output=True, text=True, timeout=30,
                               stdin=subprocess.DEVNULL)
            assert p.returncode == 1, p.stdout
            assert p.stdout == ""
            assert "maxNumberConnections" in p.stderr and "9999" in p.stderr, p.stderr
            assert cupi.password not in p.stderr
            # the other resource is fine
            p = subprocess.run([str(cupictl_binary()), "-c", str(conf), "get", "client"],
                               capture_output=True, text=True, timeout=30,
                               stdin=subprocess.DEVNULL)
            assert p.returncode == 0, p.stderr
        cupi.set_mode(raw_values={})
    finally:
        assert cupi.stop() == 0
