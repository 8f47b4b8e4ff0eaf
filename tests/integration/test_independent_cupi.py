"""cupictl and cupi-snmp-agent against an INDEPENDENT CUPI implementation
(independent_cupi.py, written from the CUPI reference alone: no libcupi field table or
codec), so that a bug symmetric in libcupi's encoder and decoder, which
cupi-sim would share, shows up here.

cupictl: get (XML, JSON with string values, JSON with native values and []
for empty strings) prints the CUPI reference's values; set sends exactly one partial
PUT whose body, parsed by this file's own parser, holds exactly the fields
given with the right values, Content-Type, root element / JSON strings, then
reads back; out-of-range values never reach the server; a 400 from the server
shows the server's message; with no cookie every request authenticates, with
a JSESSIONID the cookie comes back together with Basic authentication.

The agent (snmpd master with agentxTimeout 25 / agentxRetries 0, traps to
snmptrapd): a walk serves the CUPI reference's values; one SET PDU touching both
resources gives one PUT per resource holding only those fields; a change made
on the server itself gives one ConfigChanged notification with source
external(2).

Run: CUPI_BUILD_DIR=BUILD /usr/bin/python3 -m pytest -q tests/integration/test_independent_cupi.py
"""

import json
import os
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from independent_cupi import (
    CLIENT_PATH,
    SEED_CLIENT,
    SEED_SERVER,
    SERVER_PATH,
    IndependentCupi,
    header,
)
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

PATHS = {"server": SERVER_PATH, "client": CLIENT_PATH}
ROOTS = {"server": "SmtpServerConfiguration", "client": "SmtpClientConfiguration"}
SEED = {"server": SEED_SERVER, "client": SEED_CLIENT}
SERVER_ORDER = list(SEED_SERVER)
CLIENT_ORDER = list(SEED_CLIENT)

# (cupiFormat, the independent server's JSON mode)
FORMATS = {"xml": ("xml", "strings"), "json": ("json", "strings"),
           "json-native": ("json", "native")}
MIME = {"xml": "application/xml", "json": "application/json"}

SMTP_PW = "Sm4rt&<Host>\"pw"  # never printed


# --- helpers --------------------------------------------------------------------


def write_private(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)


def server_block(index, name, cupi, fmt, host="127.0.0.1"):
    return ("cupiServer {i} {name} https://{host}:{port}\n"
            "cupiUser {i} {user}\n"
            "cupiPasswordFile {i} {pwf}\n"
            "cupiCaFile {i} {ca}\n"
            "cupiFormat {i} {fmt}\n").format(i=index, name=name, host=host, port=cupi.port,
                                             user=cupi.user, pwf=cupi.password_file,
                                             ca=cupi.ca_file, fmt=fmt)


def secrets_of(cupi):
    return (cupi.password, SMTP_PW)


def assert_no_secret(cupi, *texts):
    for t in texts:
        for s in secrets_of(cupi):
            # the message must not quote the secret itself
            assert s not in t, "a password appears in the output"


class Ctl:
    """cupictl with a config file naming the independent server."""

    def __init__(self, tmp_path, cupi, fmt, host="127.0.0.1"):
        self.cupi = cupi
        self.conf = tmp_path / "cupictl.conf"
        write_private(self.conf, server_block(1, "indep", cupi, fmt, host))

    def run(self, *args, timeout=30):
        p = subprocess.run([str(cupictl_binary()), "-c", str(self.conf)] + list(args),
                           capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
        assert_no_secret(self.cupi, p.stdout, p.stderr)
        return p


def parse_lines(text):
    """{field: value} and the field order of cupictl's `field = value` lines."""
    out, order = {}, []
    for line in text.splitlines():
        if not line.strip():
            continue
        k, sep, v = line.partition(" = ")
        if not sep:
            assert line.rstrip().endswith(" ="), "unexpected line %r" % line
            k, v = line.rstrip()[:-2], ""
        out[k] = v
        order.append(k)
    return out, order


def parse_put(rec, fmt):
    """{field: value} of a recorded PUT body, by this test's own parser:
    checks the Content-Type, the root element (XML) or that every value is a
    JSON string, and that no field appears twice."""
    ctype = (header(rec, "Content-Type") or "").split(";")[0].strip().lower()
    assert ctype == MIME[fmt], "PUT Content-Type %r for cupiFormat %s" % (ctype, fmt)
    body = rec["body"]
    resource = "server" if rec["path"] == SERVER_PATH else "client"
    if fmt == "xml":
        assert "<!DOCTYPE" not in body
        root = ET.fromstring(body.encode("utf-8"))
        assert root.tag == ROOTS[resource], "root element %r" % root.tag
        tags = [c.tag for c in root]
        assert len(tags) == len(set(tags)), "a field appears twice: %s" % tags
        for c in root:
            assert len(c) == 0 and not c.attrib, "field %s is not a simple element" % c.tag
        return {c.tag: c.text or "" for c in root}
    pairs = json.loads(body, object_pairs_hook=lambda p: p)
    keys = [k for k, _ in pairs]
    assert len(keys) == len(set(keys)), "a field appears twice: %s" % keys
    for k, v in pairs:
        assert isinstance(v, str), "JSON value of %s is %r, not a string" % (k, type(v).__name__)
    return dict(pairs)


def assert_authenticated(reqs, cookie):
    """Every request carries valid Basic auth; without cookies none carries
    one; with cookies, each one sent is a session the server issued."""
    assert reqs
    for r in reqs:
        assert r["auth"] == "valid", "%s %s without valid Basic auth (%s)" % (
            r["method"], r["path"], r["auth"])
        if not cookie:
            assert header(r, "Cookie") is None, "a Cookie header although none was set"
        else:
            assert r["cookie_session"] in (None, "valid"), "an unknown JSESSIONID"


# --- cupictl ----------------------------------------------------------------------


@pytest.fixture
def cupi(tmp_path):
    c = IndependentCupi(tmp_path / "cupi").start()
    yield c
    assert c.stop() == 0, c.log_text()


@pytest.mark.parametrize("resource", ["server", "client"])
@pytest.mark.parametrize("mode", list(FORMATS))
def test_get_prints_seed_values(tmp_path, cupi, mode, resource):
    fmt, json_mode = FORMATS[mode]
    cupi.set_mode(json=json_mode)
    ctl = Ctl(tmp_path, cupi, fmt)

    p = ctl.run("get", resource)
    assert p.returncode == 0, p.stderr
    values, order = parse_lines(p.stdout)
    assert values == SEED[resource]
    assert order == list(SEED[resource])  # CUPI's order

    p = ctl.run("get", resource, "--json")
    assert p.returncode == 0, p.stderr
    obj = json.loads(p.stdout)
    assert obj == SEED[resource]
    assert all(isinstance(v, str) for v in obj.values())

    reqs = cupi.requests()
    assert [r["method"] for r in reqs] == ["GET", "GET"]
    for r in reqs:
        assert r["path"] == PATHS[resource]
        assert MIME[fmt] in (header(r, "Accept") or ""), header(r, "Accept")
        assert r["status"] == 200
    assert_authenticated(reqs, cookie=False)


def test_get_json_native_empty_values(tmp_path, cupi):
    """Native JSON with [] for an empty string and real booleans/numbers."""
    cupi.set_mode(json="native")
    cupi.set_state(client={"smtpUsername": "", "isAuthEnabled": "false", "smtpPort": "587",
                           "smtpSmartHost": ""})
    ctl = Ctl(tmp_path, cupi, "json")
    p = ctl.run("get", "client", "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == {"smtpSmartHost": "", "isClientSecure": "true",
                                    "smtpPort": "587", "isAuthEnabled": "false",
                                    "smtpUsername": "", "smtpPassword": ""}


ODD_USER = "relay&<\"'\\ \u00e9\u20ac>"  # XML/JSON escapes, non-ASCII


@pytest.mark.parametrize("case", ["upper", "lower"])
@pytest.mark.parametrize("mode", list(FORMATS))
def test_get_tolerant_parsing(tmp_path, cupi, mode, case):
    """Field names in another letter case, unknown fields (nested ones
    holding known names too), an XML declaration, escaped characters: the
    values printed are the server's, under CUPI's payload names."""
    fmt, json_mode = FORMATS[mode]
    cupi.set_mode(json=json_mode, name_case=case, extra_fields=True, xml_declaration=True)
    cupi.set_state(server={"maxNumberConnections": "0", "Port": "25"},
                   client={"smtpUsername": ODD_USER, "smtpSmartHost": "192.0.2.25"})
    ctl = Ctl(tmp_path, cupi, fmt)
    for resource, want in (("server", dict(SEED_SERVER, maxNumberConnections="0", Port="25")),
                           ("client", dict(SEED_CLIENT, smtpUsername=ODD_USER,
                                           smtpSmartHost="192.0.2.25"))):
        p = ctl.run("get", resource, "--json")
        assert p.returncode == 0, p.stderr
        assert json.loads(p.stdout) == want
        p = ctl.run("get", resource)
        assert p.returncode == 0, p.stderr
        values, order = parse_lines(p.stdout)
        assert values == want and order == list(want)


def test_get_through_dns_name(tmp_path, cupi):
    """Host name verification against the certificate's DNS SAN."""
    ctl = Ctl(tmp_path, cupi, "xml", host="localhost")
    p = ctl.run("get", "server")
    assert p.returncode == 0, p.stderr
    assert parse_lines(p.stdout)[0] == SEED_SERVER


SET_CASES = {
    "server-one": ("server", ["maxNumberConnections=33"], {"maxNumberConnections": "33"}),
    "server-several": ("server",
                       ["Port=25", "DOMAINNAME=mail.example.org",
                        "retryDeliveryTimeoutMin=2147483647",
                        "requireTlsFromUntrustedIpAddresses=2", "maxNumberRecipients=0",
                        "requireAuthenticationFromUntrustedIpAddresses=false"],
                       {"Port": "25", "domainName": "mail.example.org",
                        "retryDeliveryTimeoutMin": "2147483647",
                        "requireTlsFromUntrustedIpAddresses": "2", "maxNumberRecipients": "0",
                        "requireAuthenticationFromUntrustedIpAddresses": "false"}),
    "client-one": ("client", ["smtpSmartHost=2001:db8::25"], {"smtpSmartHost": "2001:db8::25"}),
    "client-several": ("client",
                       ["isClientSecure=false", "smtpport=587",
                        "smtpUsername=relay&<user>\"\u00e9", "smtpPassword=" + SMTP_PW],
                       {"isClientSecure": "false", "smtpPort": "587",
                        "smtpUsername": "relay&<user>\"\u00e9", "smtpPassword": SMTP_PW}),
}


@pytest.mark.parametrize("case", list(SET_CASES))
@pytest.mark.parametrize("mode", list(FORMATS))
def test_set_sends_one_partial_put(tmp_path, cupi, mode, case):
    fmt, json_mode = FORMATS[mode]
    resource, args, expected = SET_CASES[case]
    cupi.set_mode(json=json_mode)
    ctl = Ctl(tmp_path, cupi, fmt)

    p = ctl.run("set", resource, *args)
    assert p.returncode == 0, p.stderr

    reqs = cupi.requests()
    puts = [r for r in reqs if r["method"] == "PUT"]
    assert len(puts) == 1, [(r["method"], r["path"]) for r in reqs]
    put = puts[0]
    assert put["path"] == PATHS[resource]
    assert put["status"] == (200 if resource == "server" else 204)
    fields = parse_put(put, fmt)
    assert fields == expected  # only those fields, CUPI's names, right values
    # read back after the PUT
    i = reqs.index(put)
    assert any(r["method"] == "GET" and r["path"] == PATHS[resource] for r in reqs[i + 1:]), \
        "no read-back after the PUT"
    assert all(r["path"] == PATHS[resource] for r in reqs)
    assert_authenticated(reqs, cookie=False)

    want = dict(SEED[resource])
    want.update(expected)
    assert cupi.state()[resource] == want

    # and cupictl reads the new values back
    p = ctl.run("get", resource)
    assert p.returncode == 0, p.stderr
    if resource == "client":
        want["smtpPassword"] = ""  # write-only: never read back
    assert parse_lines(p.stdout)[0] == want


@pytest.mark.parametrize("mode", list(FORMATS))
def test_set_chunked_charset_one_connection(tmp_path, cupi, mode):
    """Bodies in chunked transfer encoding, media types with a charset; the
    three requests of a set (read, PUT, read back) share one connection."""
    fmt, json_mode = FORMATS[mode]
    cupi.set_mode(json=json_mode, chunked=True, charset=True)
    ctl = Ctl(tmp_path, cupi, fmt)
    p = ctl.run("set", "server", "maxNumberConnections=44", "smtpClientThreads=0")
    assert p.returncode == 0, p.stderr
    reqs = cupi.requests()
    puts = [r for r in reqs if r["method"] == "PUT"]
    assert len(puts) == 1
    assert parse_put(puts[0], fmt) == {"maxNumberConnections": "44", "smtpClientThreads": "0"}
    assert len({r["conn"] for r in reqs}) == 1, "connection not reused: %s" % (
        [r["conn"] for r in reqs])
    p = ctl.run("get", "server", "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == dict(SEED_SERVER, maxNumberConnections="44",
                                        smtpClientThreads="0")


BAD_VALUES = [
    ("server", "maxNumberConnections=51"), ("server", "maxNumberConnections=-1"),
    ("server", "Port=26"), ("server", "smtpClientThreads=11"),
    ("server", "maxMessageSizeKb=50001"), ("server", "maxNumberMessagesSession=101"),
    ("server", "maxNumberRecipients=50001"), ("server", "retryDeliveryTimeoutMin=-1"),
    ("server", "retryDeliveryTimeoutMin=2147483648"),
    ("server", "requireTlsFromUntrustedIpAddresses=3"),
    ("server", "allowConnectionsFromUntrustedIpAddresses=maybe"),
    ("server", "maxNumberConnections=abc"), ("server", "domainName=bad_host!"),
    ("client", "smtpPort=24"), ("client", "isClientSecure=yes!"),
    ("client", "smtpSmartHost=-bad-.example"),
]


@pytest.mark.parametrize("resource,arg", BAD_VALUES)
def test_set_out_of_range_never_puts(tmp_path, cupi, resource, arg):
    ctl = Ctl(tmp_path, cupi, "xml")
    # a valid field alongside: the whole command is refused, nothing is sent
    other = {"server": ["Port=25", "maxNumberConnections=30"],
             "client": ["smtpPort=587", "smtpUsername=relay"]}[resource]
    other = [o for o in other if o.split("=")[0].lower() != arg.split("=")[0].lower()][0]
    p = ctl.run("set", resource, other, arg)
    assert p.returncode == 1, (p.returncode, p.stderr)
    assert p.stderr.strip()
    assert cupi.requests(method="PUT") == []
    assert cupi.state() == {"server": SEED_SERVER, "client": SEED_CLIENT}


@pytest.mark.parametrize("mode", ["xml", "json"])
def test_server_400_message_shown(tmp_path, cupi, mode):
    message = "Independent CUPI refuses: SMTP domain locked by policy 4711"
    cupi.set_mode(reject_put={"status": 400, "message": message})
    ctl = Ctl(tmp_path, cupi, FORMATS[mode][0])
    p = ctl.run("set", "server", "maxNumberConnections=30")
    assert p.returncode == 1
    assert message in p.stderr, p.stderr
    assert len(cupi.requests(method="PUT")) == 1
    assert cupi.state()["server"] == SEED_SERVER


def test_wrong_account_password(tmp_path, cupi):
    ctl = Ctl(tmp_path, cupi, "xml")
    write_private(cupi.password_file.with_name("wrong.pw"), "not-the-password\n")
    text = ctl.conf.read_text().replace(str(cupi.password_file),
                                        str(cupi.password_file.with_name("wrong.pw")))
    write_private(ctl.conf, text)
    p = ctl.run("get", "server")
    assert p.returncode == 1
    reqs = cupi.requests()
    assert len(reqs) == 1 and reqs[0]["status"] == 401  # 401 is not retried
    assert reqs[0]["auth"] == "invalid"


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_session_cookie_comes_back_with_basic_auth(tmp_path, cupi, fmt):
    cupi.set_mode(cookie=True, json="strings")
    ctl = Ctl(tmp_path, cupi, fmt)
    p = ctl.run("set", "client", "smtpPort=587")
    assert p.returncode == 0, p.stderr
    reqs = cupi.requests()
    assert len(reqs) >= 3
    assert_authenticated(reqs, cookie=True)
    # the first request got a JSESSIONID; every later one sends it back
    for r in reqs[1:]:
        assert r["cookie_session"] == "valid", (r["method"], header(r, "Cookie") is not None)


# --- the agent --------------------------------------------------------------------

TRUE, FALSE = 1, 2
SOURCE_EXTERNAL, SOURCE_SNMP = 2, 3
SERVER_CHANGED, CLIENT_CHANGED = ROOT + ".0.1", ROOT + ".0.2"
SRV_NAME, SRV_STATUS, SRV_LAST_CHANGE_SOURCE = 2, 4, 11


def snmp_of(text, kind):
    if kind == "bool":
        return TRUE if text == "true" else FALSE
    if kind == "int":
        return int(text)
    return text


SERVER_KINDS = ["int", "str", "int", "int", "int", "int", "int", "int", "bool", "bool", "int"]
CLIENT_KINDS = ["str", "bool", "int", "bool", "str", "password"]


def expected_walk(server, client, index=1):
    out = {}
    for c, (name, kind) in enumerate(zip(SERVER_ORDER, SERVER_KINDS), 1):
        out[col(SMTP_SERVER_TABLE, c, index)] = snmp_of(server[name], kind)
    for c, (name, kind) in enumerate(zip(CLIENT_ORDER, CLIENT_KINDS), 1):
        out[col(SMTP_CLIENT_TABLE, c, index)] = "" if kind == "password" else \
            snmp_of(client[name], kind)
    return out


class AgentLab:
    def __init__(self, base, mode, cookie, extra_modes=None):
        self.base = Path(base)
        self.mode = mode
        self.cookie = cookie
        self.extra_modes = extra_modes or {}
        self.cupi = IndependentCupi(self.base / "cupi")
        self.trapd = Snmptrapd(self.base / "snmptrapd")
        self.snmpd = self.agent = None

    def start(self):
        fmt, json_mode = FORMATS[self.mode]
        self.cupi.start()
        self.cupi.set_mode(json=json_mode, cookie=self.cookie, **self.extra_modes)
        self.trapd.start()
        self.snmpd = Snmpd(self.base / "snmpd", agentx_timeout=25, agentx_retries=0,
                           trap_port=self.trapd.port).start()
        conf = agent_config(self.snmpd, [server_block(1, "indep", self.cupi, fmt)],
                            poll=1, ttl=1)
        self.agent = Agent(self.base / "agent", conf, debug="cupi").start()
        for o in (col(SMTP_SERVER_TABLE, 1, 1), col(SMTP_CLIENT_TABLE, 1, 1)):
            wait_for(lambda o=o: snmpget(self.snmpd.port, o)[0].value(o) is not None, 20,
                     what="the row's config columns served")
        return self

    def stop(self):
        for p in (self.agent, self.snmpd, self.trapd):
            if p:
                p.stop()
        if self.snmpd:
            self.snmpd.cleanup()
        code = self.cupi.stop()
        assert_no_secret(self.cupi, self.agent.log_text() if self.agent else "")
        return code

    def walk(self):
        vals, err = snmpbulkwalk(self.snmpd.port, ROOT + ".1")
        assert not err, err
        return vals

    def changed(self, trap_oid):
        return [n for n in self.trapd.notifications() if n["trap_oid"] == trap_oid]


# (format, cookie, more server modes): the CUPI reference's plain layout, and a
# Tomcat-like one (JSESSIONID, chunked bodies, charset, XML declaration)
TOMCAT = {"chunked": True, "charset": True, "xml_declaration": True}
LAB_MODES = {"xml": ("xml", False, {}), "xml-tomcat": ("xml", True, TOMCAT),
             "json-tomcat": ("json", True, TOMCAT), "json-native": ("json-native", False, {})}


@pytest.fixture(params=list(LAB_MODES))
def lab(request, tmp_path):
    mode, cookie, extra = LAB_MODES[request.param]
    lab = AgentLab(tmp_path, mode, cookie, extra)
    try:
        lab.start()
        yield lab
    finally:
        lab.stop()


def config_values(vals):
    return {o: v[1] for o, v in vals.items()
            if o.startswith(SMTP_SERVER_TABLE + ".") or o.startswith(SMTP_CLIENT_TABLE + ".")}


def test_agent_walk_serves_seed_values(lab):
    vals = lab.walk()
    assert config_values(vals) == expected_walk(SEED_SERVER, SEED_CLIENT)
    assert vals.value(col(SERVER_TABLE, SRV_NAME, 1)) == "indep"
    assert vals.value(col(SERVER_TABLE, SRV_STATUS, 1)) == 2  # ok
    reqs = lab.cupi.requests()
    assert {r["path"] for r in reqs} == {SERVER_PATH, CLIENT_PATH}
    assert all(r["method"] == "GET" and r["status"] == 200 for r in reqs)
    fmt = FORMATS[lab.mode][0]
    assert all(MIME[fmt] in (header(r, "Accept") or "") for r in reqs)
    assert_authenticated(reqs, cookie=lab.cookie)
    # connections are reused: a few seconds of refreshes (two requests a
    # second) on at most cupiMaxConcurrent (2) connections
    time.sleep(3)
    reqs = lab.cupi.requests()
    assert len(reqs) >= 6
    assert len({r["conn"] for r in reqs}) <= 2, "%d connections for %d requests" % (
        len({r["conn"] for r in reqs}), len(reqs))
    if lab.cookie:
        # the refreshes after the first ones send the JSESSIONID back, with
        # Basic authentication still on every request
        wait_for(lambda: any(r["cookie_session"] == "valid" for r in lab.cupi.requests()), 5,
                 what="a request carrying the JSESSIONID back")
        assert_authenticated(lab.cupi.requests(), cookie=True)


def test_agent_set_one_put_per_resource(lab):
    fmt = FORMATS[lab.mode][0]
    lab.cupi.clear()
    before = len(lab.trapd.notifications())
    vals, err = snmpset(lab.snmpd.port,
                        (col(SMTP_SERVER_TABLE, 3, 1), "i", 33),
                        (col(SMTP_SERVER_TABLE, 10, 1), "i", FALSE),
                        (col(SMTP_CLIENT_TABLE, 5, 1), "s", "relay&<user>"),
                        (col(SMTP_CLIENT_TABLE, 2, 1), "i", FALSE),
                        (col(SMTP_CLIENT_TABLE, 6, 1), "s", SMTP_PW),
                        timeout=30, retries=0)
    assert not err, err
    puts = lab.cupi.requests(method="PUT")
    assert sorted(r["path"] for r in puts) == sorted([SERVER_PATH, CLIENT_PATH]), \
        [r["path"] for r in puts]
    by_path = {r["path"]: parse_put(r, fmt) for r in puts}
    assert by_path[SERVER_PATH] == {"maxNumberConnections": "33",
                                    "requireAuthenticationFromUntrustedIpAddresses": "false"}
    assert by_path[CLIENT_PATH] == {"smtpUsername": "relay&<user>", "isClientSecure": "false",
                                    "smtpPassword": SMTP_PW}
    reqs = lab.cupi.requests()
    assert_authenticated(reqs, cookie=lab.cookie)
    for put in puts:  # each resource is read back after its PUT
        i = reqs.index(put)
        assert any(r["method"] == "GET" and r["path"] == put["path"] for r in reqs[i + 1:])

    state = lab.cupi.state()
    server = dict(SEED_SERVER, maxNumberConnections="33",
                  requireAuthenticationFromUntrustedIpAddresses="false")
    client = dict(SEED_CLIENT, smtpUsername="relay&<user>", isClientSecure="false",
                  smtpPassword=SMTP_PW)
    assert state == {"server": server, "client": client}
    client["smtpPassword"] = ""  # served as a zero-length string
    assert config_values(lab.walk()) == expected_walk(server, client)

    for trap in (SERVER_CHANGED, CLIENT_CHANGED):
        n = lab.trapd.wait_for(lambda n, t=trap: n["trap_oid"] == t, timeout=10)[0]
        assert n["varbinds"].value(col(SERVER_TABLE, SRV_LAST_CHANGE_SOURCE, 1)) == SOURCE_SNMP
    time.sleep(3)  # three polls: nothing more
    news = lab.trapd.notifications()[before:]
    assert sorted(n["trap_oid"] for n in news) == [SERVER_CHANGED, CLIENT_CHANGED]


def test_agent_external_change_notified_once(lab):
    # the first poll has happened (values served); let one more pass
    time.sleep(2)
    assert lab.changed(SERVER_CHANGED) == [] and lab.changed(CLIENT_CHANGED) == []
    lab.cupi.set_state(server={"maxMessageSizeKb": "20000", "domainName": "mail.example.org"})
    n = lab.trapd.wait_for(lambda n: n["trap_oid"] == SERVER_CHANGED, timeout=15)[0]
    vb = n["varbinds"]
    assert vb.value(col(SERVER_TABLE, SRV_NAME, 1)) == "indep"
    assert vb.value(col(SERVER_TABLE, SRV_LAST_CHANGE_SOURCE, 1)) == SOURCE_EXTERNAL
    appended = {o: v[1] for o, v in vb.items() if o.startswith(SMTP_SERVER_TABLE + ".")}
    assert appended == {col(SMTP_SERVER_TABLE, 5, 1): 20000,
                        col(SMTP_SERVER_TABLE, 2, 1): "mail.example.org"}
    time.sleep(3)  # three more polls
    assert len(lab.changed(SERVER_CHANGED)) == 1
    assert lab.changed(CLIENT_CHANGED) == []
    assert lab.cupi.requests(method="PUT") == []
    server = dict(SEED_SERVER, maxMessageSizeKb="20000", domainName="mail.example.org")
    assert config_values(lab.walk()) == expected_walk(server, SEED_CLIENT)


def test_agent_tolerant_parsing(lab):
    """Upper-case names and unknown (nested) fields in the answers: the
    values served do not change, so no spurious notification; then a real
    external change is seen as exactly that change."""
    time.sleep(2)
    lab.cupi.set_mode(name_case="upper", extra_fields=True, xml_declaration=True)
    time.sleep(3)  # three refreshes with the new layout
    assert config_values(lab.walk()) == expected_walk(SEED_SERVER, SEED_CLIENT)
    assert lab.changed(SERVER_CHANGED) == [] and lab.changed(CLIENT_CHANGED) == []
    lab.cupi.set_state(client={"smtpUsername": ODD_USER})
    n = lab.trapd.wait_for(lambda n: n["trap_oid"] == CLIENT_CHANGED, timeout=15)[0]
    vb = n["varbinds"]
    assert vb.value(col(SERVER_TABLE, SRV_LAST_CHANGE_SOURCE, 1)) == SOURCE_EXTERNAL
    appended = {o: v[1] for o, v in vb.items() if o.startswith(SMTP_CLIENT_TABLE + ".")}
    assert appended == {col(SMTP_CLIENT_TABLE, 5, 1): ODD_USER}
    assert vb.raw[col(SMTP_CLIENT_TABLE, 5, 1)] == ODD_USER.encode("utf-8")
    assert config_values(lab.walk()) == expected_walk(SEED_SERVER,
                                                      dict(SEED_CLIENT, smtpUsername=ODD_USER))
    assert lab.changed(SERVER_CHANGED) == []
