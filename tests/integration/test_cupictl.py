"""cupictl against cupi-sim: the real binary, over verified HTTPS.

Every test writes its own configuration file (mode 0600, the account password
in a cupiPasswordFile) trusting the simulator's generated CA, runs
BUILD/tools/cupictl and checks its exit status and output against what the
simulator holds and counts (/_sim/state, /_sim/counters). No output of
cupictl may ever contain the account password or a smart-host password.

Run: CUPI_BUILD_DIR=BUILD /usr/bin/python3 -m pytest -q tests/integration/test_cupictl.py
"""

import json
import os
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from sim_helper import CupiSim
from snmp_helper import cupictl_binary

PASSWORD = "Ctl-Acc0unt pw#1"  # a blank and a '#': must survive the password file
SMTP_PASSWORD = "Smart-H0st-Secret"

# Values that differ from the CUPI reference's, so a test cannot pass on defaults.
CUC1_SERVER = {"Port": "25", "domainName": "mail.paris.example.com",
               "maxNumberConnections": "17", "smtpClientThreads": "3",
               "maxMessageSizeKb": "2048", "maxNumberMessagesSession": "7",
               "maxNumberRecipients": "900", "retryDeliveryTimeoutMin": "60",
               "allowConnectionsFromUntrustedIpAddresses": "true",
               "requireAuthenticationFromUntrustedIpAddresses": "true",
               "requireTlsFromUntrustedIpAddresses": "2"}
CUC1_CLIENT = {"smtpSmartHost": "relay.paris.example.com", "isClientSecure": "false",
               "smtpPort": "587", "isAuthEnabled": "true", "smtpUsername": "cuc-relay",
               "smtpPassword": SMTP_PASSWORD}
CUC2_SERVER = {"Port": "587", "domainName": "mail.lyon.example.com",
               "maxNumberConnections": "42", "allowConnectionsFromUntrustedIpAddresses": "false",
               "requireAuthenticationFromUntrustedIpAddresses": "false",
               "requireTlsFromUntrustedIpAddresses": "0"}
CUC2_CLIENT = {"smtpSmartHost": "10.1.2.3", "isAuthEnabled": "false", "smtpUsername": ""}

SECRETS = (PASSWORD, SMTP_PASSWORD)


@pytest.fixture
def sim(tmp_path):
    """cupi-sim with two virtual servers, cuc1 and cuc2, holding different
    non-seed values."""
    s = CupiSim(tmp_path / "sim", password=PASSWORD)
    s.start(servers=["cuc1", "cuc2"])
    s.set_state({"server": CUC1_SERVER, "client": CUC1_CLIENT}, server="cuc1")
    s.set_state({"server": CUC2_SERVER, "client": CUC2_CLIENT}, server="cuc2")
    yield s
    assert s.stop() in (0, None), s.log_text()


def private_file(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


def write_conf(tmp_path, sim, fmt="xml", password=PASSWORD, ca_file=None, servers=("cuc1",),
               name="cupi.conf"):
    """A configuration for the given sim servers, indexes 1, 2, ... in order."""
    pw_file = private_file(tmp_path / (name + ".pw"), password + "\n")
    lines = ["# cupictl test configuration", "cupiTimeout 10000"]
    for index, server in enumerate(servers, start=1):
        lines += [
            "cupiServer %d %s %s" % (index, server, sim.url_of(server)),
            "cupiUser %d %s" % (index, sim.user),
            "cupiPasswordFile %d %s" % (index, pw_file),
            "cupiCaFile %d %s" % (index, ca_file or sim.ca_file),
            "cupiFormat %d %s" % (index, fmt),
        ]
    return private_file(tmp_path / name, "\n".join(lines) + "\n")


def cupictl(conf, *args, secrets=SECRETS, stdin=None):
    """Runs cupictl -c conf ARGS (stdin: text fed to it); checks that no
    secret is in its output."""
    cmd = [str(cupictl_binary())]
    if conf is not None:
        cmd += ["-c", str(conf)]
    cmd += [str(a) for a in args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                          **({"input": stdin} if stdin is not None
                             else {"stdin": subprocess.DEVNULL}))
    for secret in secrets:
        assert secret not in proc.stdout and secret not in proc.stderr, "a password was printed"
    return proc


def parse_lines(stdout):
    """`field = value` lines -> list of (field, value), in order."""
    pairs = []
    for line in stdout.splitlines():
        name, sep, value = line.partition(" = ")
        assert sep, "not a `field = value` line: %r" % line
        pairs.append((name, value))
    return pairs


def expected_output(state, resource):
    """What get prints: the sim's values, the password empty."""
    return {k: ("" if k == "smtpPassword" else v) for k, v in state[resource].items()}


def raw_state(sim, server=None):
    status, _, body = sim.request("GET", "/_sim/state", auth=False, server=server)
    assert status == 200
    return body


def put_body_fields(sim, resource, fmt, server=None):
    """The fields of the last PUT body the sim received, as {name: text}."""
    body = sim.counters(server)["last_put_body"][resource]
    assert body is not None, "no PUT body recorded"
    if fmt == "json":
        doc = json.loads(body)
        assert isinstance(doc, dict)
        assert all(isinstance(v, str) for v in doc.values()), "JSON values must be strings"
        return doc
    root = ET.fromstring(body)
    assert root.tag == {"server": "SmtpServerConfiguration",
                        "client": "SmtpClientConfiguration"}[resource]
    fields = {child.tag: child.text or "" for child in root}
    assert len(fields) == len(root), "a field sent twice"
    return fields


def assert_no_request(sim, server=None):
    assert sim.counters(server)["requests"] == 0


# -- get -------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["xml", "json"])
@pytest.mark.parametrize("resource", ["server", "client"])
def test_get_prints_cupi_values(tmp_path, sim, fmt, resource):
    conf = write_conf(tmp_path, sim, fmt)
    proc = cupictl(conf, "get", resource)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    pairs = parse_lines(proc.stdout)
    state = sim.state("cuc1")
    # CUPI payload names, every field once, in CUPI's order.
    assert [name for name, _ in pairs] == list(state[resource])
    assert dict(pairs) == expected_output(state, resource)
    if resource == "client":
        assert state["client"]["smtpPassword"] == SMTP_PASSWORD  # held, not shown
        assert dict(pairs)["smtpPassword"] == ""
    counters = sim.counters("cuc1")
    assert counters["get"][resource] == 1
    assert counters["put"] == {"server": 0, "client": 0}


@pytest.mark.parametrize("fmt", ["xml", "json"])
@pytest.mark.parametrize("resource", ["server", "client"])
def test_get_json_output(tmp_path, sim, fmt, resource):
    conf = write_conf(tmp_path, sim, fmt)
    proc = cupictl(conf, "get", resource, "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    state = sim.state("cuc1")
    assert doc == expected_output(state, resource)
    assert list(doc) == list(state[resource])


def test_json_option_before_the_command(tmp_path, sim):
    conf = write_conf(tmp_path, sim)
    proc = cupictl(conf, "--json", "get", "server")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == expected_output(sim.state("cuc1"), "server")


# -- set -------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_set_one_field(tmp_path, sim, fmt):
    conf = write_conf(tmp_path, sim, fmt)
    before = sim.state("cuc1")
    proc = cupictl(conf, "set", "server", "maxNumberConnections=30")
    assert proc.returncode == 0, proc.stderr
    counters = sim.counters("cuc1")
    assert counters["put"] == {"server": 1, "client": 0}
    assert counters["last_put_content_type"]["server"] == "application/" + fmt
    assert put_body_fields(sim, "server", fmt) == {"maxNumberConnections": "30"}
    after = sim.state("cuc1")
    assert after["server"] == dict(before["server"], maxNumberConnections="30")
    assert after["client"] == before["client"]
    # The other virtual server is untouched.
    assert sim.counters("cuc2")["requests"] == 0


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_set_several_fields_case_insensitive(tmp_path, sim, fmt):
    conf = write_conf(tmp_path, sim, fmt)
    before = sim.state("cuc1")
    proc = cupictl(conf, "set", "server", "MAXNUMBERCONNECTIONS=30", "port=587",
                   "DomainName=smtp.example.org", "requiretlsfromuntrustedipaddresses=0",
                   "retryDeliveryTimeoutMin=2147483647")
    assert proc.returncode == 0, proc.stderr
    assert sim.counters("cuc1")["put"] == {"server": 1, "client": 0}
    wanted = {"maxNumberConnections": "30", "Port": "587", "domainName": "smtp.example.org",
              "requireTlsFromUntrustedIpAddresses": "0",
              "retryDeliveryTimeoutMin": "2147483647"}
    # CUPI's exact payload names, only the fields given.
    assert put_body_fields(sim, "server", fmt) == wanted
    after = sim.state("cuc1")
    assert after["server"] == dict(before["server"], **wanted)
    # The next get shows them.
    proc = cupictl(conf, "get", "server")
    assert proc.returncode == 0
    assert dict(parse_lines(proc.stdout)) == after["server"]


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_set_client_fields(tmp_path, sim, fmt):
    conf = write_conf(tmp_path, sim, fmt)
    before = sim.state("cuc1")
    proc = cupictl(conf, "set", "client", "smtpSmartHost=2001:db8::25", "ISCLIENTSECURE=1",
                   "smtpPort=25")
    assert proc.returncode == 0, proc.stderr
    counters = sim.counters("cuc1")
    assert counters["put"] == {"server": 0, "client": 1}
    wanted = {"smtpSmartHost": "2001:db8::25", "isClientSecure": "true", "smtpPort": "25"}
    assert put_body_fields(sim, "client", fmt) == wanted
    assert sim.state("cuc1")["client"] == dict(before["client"], **wanted)
    assert sim.state("cuc1")["server"] == before["server"]


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_set_smtp_password_is_stored_never_shown(tmp_path, sim, fmt):
    conf = write_conf(tmp_path, sim, fmt)
    new = "N3w-Relay-Passw0rd"
    proc = cupictl(conf, "set", "client", "smtpPassword=" + new, "smtpUsername=relay2",
                   secrets=SECRETS + (new,))
    assert proc.returncode == 0, proc.stderr
    assert sim.counters("cuc1")["put"] == {"server": 0, "client": 1}
    assert put_body_fields(sim, "client", fmt) == {"smtpPassword": new, "smtpUsername": "relay2"}
    client = sim.state("cuc1")["client"]
    assert client["smtpPassword"] == new
    assert client["smtpUsername"] == "relay2"
    for extra in ([], ["--json"]):
        proc = cupictl(conf, "get", "client", *extra, secrets=SECRETS + (new,))
        assert proc.returncode == 0
        shown = json.loads(proc.stdout) if extra else dict(parse_lines(proc.stdout))
        assert shown["smtpPassword"] == ""
        assert shown["smtpUsername"] == "relay2"


def test_set_smtp_password_from_stdin_stays_off_argv(tmp_path, sim):
    """smtpPassword=- takes the one line of standard input, so the secret is
    never in cupictl's argv; without input it fails before any PUT."""
    conf = write_conf(tmp_path, sim, "xml")
    new = "Std1n-Relay-Passw0rd"
    proc = cupictl(conf, "set", "client", "smtpPassword=-", stdin=new + "\n",
                   secrets=SECRETS + (new,))
    assert proc.returncode == 0, proc.stderr
    assert sim.state("cuc1")["client"]["smtpPassword"] == new
    assert put_body_fields(sim, "client", "xml") == {"smtpPassword": new}

    sim.reset_counters()
    proc = cupictl(conf, "set", "client", "smtpPassword=-", stdin="")
    assert proc.returncode == 1
    assert "standard input" in proc.stderr
    assert sim.counters("cuc1")["put"] == {"server": 0, "client": 0}


@pytest.mark.parametrize("args, field", [
    (["server", "maxNumberConnections=51"], "maxNumberConnections"),
    (["server", "maxNumberConnections=-1"], "maxNumberConnections"),
    (["server", "Port=26"], "Port"),
    (["server", "requireTlsFromUntrustedIpAddresses=3"], "requireTlsFromUntrustedIpAddresses"),
    (["server", "domainName=mail example.com"], "domainName"),
    (["server", "domainName=-bad.example.com"], "domainName"),
    (["server", "domainName="], "domainName"),
    (["server", "smtpClientThreads=11"], "smtpClientThreads"),
    (["server", "maxMessageSizeKb=50001"], "maxMessageSizeKb"),
    (["server", "maxNumberConnections=thirty"], "maxNumberConnections"),
    (["server", "allowConnectionsFromUntrustedIpAddresses=maybe"],
     "allowConnectionsFromUntrustedIpAddresses"),
    # A good value first: nothing at all is sent when one value is bad.
    (["server", "maxNumberConnections=10", "maxNumberRecipients=50001"], "maxNumberRecipients"),
    (["client", "smtpUsername=" + "u" * 256], "smtpUsername"),
    (["client", "smtpSmartHost=relay_1.example.com"], "smtpSmartHost"),
    (["client", "smtpPort=2525"], "smtpPort"),
    (["client", "smtpUsername=bad\tname"], "smtpUsername"),
])
def test_invalid_value_sends_nothing(tmp_path, sim, args, field):
    conf = write_conf(tmp_path, sim)
    before = raw_state(sim, "cuc1")
    proc = cupictl(conf, "set", *args)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout == ""
    assert field in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, "one message, once: %r" % proc.stderr
    assert sim.counters("cuc1")["put"] == {"server": 0, "client": 0}
    assert raw_state(sim, "cuc1") == before


def test_max_length_values_are_accepted(tmp_path, sim):
    conf = write_conf(tmp_path, sim)
    user = "u" * 255
    proc = cupictl(conf, "set", "client", "smtpUsername=" + user)
    assert proc.returncode == 0, proc.stderr
    assert sim.state("cuc1")["client"]["smtpUsername"] == user


@pytest.mark.parametrize("args, field", [
    # requireAuthentication... is true in cuc1's state.
    (["server", "allowConnectionsFromUntrustedIpAddresses=false"],
     "requireAuthenticationFromUntrustedIpAddresses"),
    (["server", "allowConnectionsFromUntrustedIpAddresses=false",
      "requireAuthenticationFromUntrustedIpAddresses=false"],
     "requireTlsFromUntrustedIpAddresses"),
    # isAuthEnabled is true in cuc1's state.
    (["client", "smtpUsername="], "smtpUsername"),
])
def test_cross_field_rule_sends_nothing(tmp_path, sim, args, field):
    conf = write_conf(tmp_path, sim)
    before = raw_state(sim, "cuc1")
    proc = cupictl(conf, "set", *args)
    assert proc.returncode == 1, proc.stderr
    assert field in proc.stderr
    assert sim.counters("cuc1")["put"] == {"server": 0, "client": 0}
    assert raw_state(sim, "cuc1") == before


def test_cross_field_rule_judged_with_all_changes(tmp_path, sim):
    """Turning off untrusted connections together with what depends on it is
    consistent, and is one PUT."""
    conf = write_conf(tmp_path, sim)
    proc = cupictl(conf, "set", "server", "allowConnectionsFromUntrustedIpAddresses=false",
                   "requireAuthenticationFromUntrustedIpAddresses=false",
                   "requireTlsFromUntrustedIpAddresses=0")
    assert proc.returncode == 0, proc.stderr
    assert sim.counters("cuc1")["put"]["server"] == 1
    server = sim.state("cuc1")["server"]
    assert server["allowConnectionsFromUntrustedIpAddresses"] == "false"
    assert server["requireTlsFromUntrustedIpAddresses"] == "0"


def test_cross_field_rule_judged_on_current_cupi_values(tmp_path, sim):
    """The rule reads CUPI's current values: changed in the web UI, the same
    command that was refused is accepted."""
    conf = write_conf(tmp_path, sim)
    sim.set_state({"server": {"requireAuthenticationFromUntrustedIpAddresses": "false",
                              "requireTlsFromUntrustedIpAddresses": "0"}}, server="cuc1")
    proc = cupictl(conf, "set", "server", "allowConnectionsFromUntrustedIpAddresses=false")
    assert proc.returncode == 0, proc.stderr
    assert sim.state("cuc1")["server"]["allowConnectionsFromUntrustedIpAddresses"] == "false"


# -- CUPI's answers --------------------------------------------------------


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_cupi_400_message_is_shown(tmp_path, sim, fmt):
    conf = write_conf(tmp_path, sim, fmt)
    before = raw_state(sim, "cuc1")
    sim.fault(server="cuc1", method="PUT", resource="server", status=400)
    proc = cupictl(conf, "set", "server", "maxNumberConnections=30")
    assert proc.returncode == 1
    assert "HTTP 400" in proc.stderr
    # CUPI's own message, from the ErrorDetails body.
    assert "Simulated HTTP 400 (cupi-sim fault injection)" in proc.stderr
    assert "PUT" in proc.stderr
    assert sim.counters("cuc1")["put"]["server"] == 1
    assert raw_state(sim, "cuc1") == before


def test_cupi_500_on_get_fails(tmp_path, sim):
    conf = write_conf(tmp_path, sim)
    sim.fault(server="cuc1", method="GET", status=500)
    proc = cupictl(conf, "get", "server")
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "HTTP 500" in proc.stderr


@pytest.mark.parametrize("resource, assignment, field", [
    ("server", "maxNumberConnections=30", "maxNumberConnections"),
    ("client", "smtpSmartHost=other.example.com", "smtpSmartHost"),
])
def test_value_that_did_not_stick(tmp_path, sim, resource, assignment, field):
    """CUPI answers the PUT with success but does not apply it (as it does for
    a misspelt field): the read-back catches it."""
    conf = write_conf(tmp_path, sim)
    before = raw_state(sim, "cuc1")
    sim.fault(server="cuc1", method="PUT", resource=resource, status=204)
    proc = cupictl(conf, "set", resource, assignment)
    assert proc.returncode == 1
    assert "did not stick" in proc.stderr
    assert field in proc.stderr
    counters = sim.counters("cuc1")
    assert counters["put"][resource] == 1
    assert counters["get"][resource] == 2  # current values, then the read-back
    assert raw_state(sim, "cuc1") == before


def test_password_only_change_needs_no_read_back_match(tmp_path, sim):
    """A write-only value cannot be read back: a PUT accepted is success."""
    conf = write_conf(tmp_path, sim)
    proc = cupictl(conf, "set", "client", "smtpPassword=Another-0ne",
                   secrets=SECRETS + ("Another-0ne",))
    assert proc.returncode == 0, proc.stderr
    assert sim.state("cuc1")["client"]["smtpPassword"] == "Another-0ne"


# -- authentication, TLS, transport ----------------------------------------


@pytest.mark.parametrize("command", [["get", "server"], ["set", "server", "Port=587"]])
def test_wrong_password(tmp_path, sim, command):
    wrong = "Not-The-Passw0rd"
    conf = write_conf(tmp_path, sim, password=wrong)
    proc = cupictl(conf, *command, secrets=SECRETS + (wrong,))
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "401" in proc.stderr
    assert "authentication" in proc.stderr.lower()
    counters = sim.counters("cuc1")
    assert counters["status"].get("401", 0) >= 1
    assert counters["put"] == {"server": 0, "client": 0}


def test_wrong_ca_is_a_tls_error(tmp_path, sim):
    other = CupiSim(tmp_path / "other-sim", password=PASSWORD)
    other.start(servers=["other"])
    try:
        conf = write_conf(tmp_path, sim, ca_file=other.ca_file)
        proc = cupictl(conf, "get", "server")
    finally:
        other.stop()
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "TLS" in proc.stderr
    assert "certificate" in proc.stderr
    # Refused in the handshake: no HTTP request reached the sim.
    assert sim.counters("cuc1")["requests"] == 0


def test_connection_refused(tmp_path, sim):
    conf = write_conf(tmp_path, sim)
    sim.stop()
    for command in (["get", "server"], ["set", "server", "Port=587"]):
        proc = cupictl(conf, *command)
        assert proc.returncode == 1
        assert proc.stdout == ""
        assert "could not reach" in proc.stderr
        assert "connect" in proc.stderr.lower()


# -- server selection -------------------------------------------------------


@pytest.mark.parametrize("select, name", [
    (None, "cuc1"), ("1", "cuc1"), ("cuc1", "cuc1"), ("2", "cuc2"), ("cuc2", "cuc2"),
])
def test_select_server(tmp_path, sim, select, name):
    conf = write_conf(tmp_path, sim, servers=("cuc1", "cuc2"))
    opts = ["-s", select] if select else []
    proc = cupictl(conf, *opts, "get", "server")
    assert proc.returncode == 0, proc.stderr
    assert dict(parse_lines(proc.stdout)) == sim.state(name)["server"]
    other = "cuc2" if name == "cuc1" else "cuc1"
    assert sim.counters(name)["get"]["server"] == 1
    assert sim.counters(other)["requests"] == 0


def test_set_on_selected_server(tmp_path, sim):
    conf = write_conf(tmp_path, sim, servers=("cuc1", "cuc2"))
    cuc1_before = raw_state(sim, "cuc1")
    proc = cupictl(conf, "-s", "cuc2", "set", "server", "maxNumberConnections=5")
    assert proc.returncode == 0, proc.stderr
    assert sim.state("cuc2")["server"]["maxNumberConnections"] == "5"
    assert sim.counters("cuc2")["put"]["server"] == 1
    assert raw_state(sim, "cuc1") == cuc1_before
    assert sim.counters("cuc1")["requests"] == 0


@pytest.mark.parametrize("select", ["9", "cuc9", "0"])
def test_unknown_server_is_a_usage_error(tmp_path, sim, select):
    conf = write_conf(tmp_path, sim, servers=("cuc1", "cuc2"))
    proc = cupictl(conf, "-s", select, "get", "server")
    assert proc.returncode == 2
    assert '"%s"' % select in proc.stderr
    assert_no_request(sim, "cuc1")
    assert_no_request(sim, "cuc2")


# -- usage errors -------------------------------------------------------------


@pytest.mark.parametrize("args", [
    [],
    ["get"],
    ["set"],
    ["set", "server"],
    ["get", "mailbox"],
    ["set", "mailbox", "Port=25"],
    ["get", "server", "extra"],
    ["put", "server"],
    ["set", "server", "noSuchField=1"],
    ["set", "server", "smtpPort=25"],  # a client field
    ["set", "client", "Port=25"],  # a server field
    ["set", "server", "maxNumberConnections"],
    ["set", "server", "=30"],
    ["set", "server", "Port=25", "PORT=587"],
    # The misspelt name wins over the bad value before it.
    ["set", "server", "maxNumberConnections=abc", "maxConnections=5"],
    ["-x", "get", "server"],
    ["-s"],
])
def test_usage_errors(tmp_path, sim, args):
    conf = write_conf(tmp_path, sim)
    proc = cupictl(conf, *args)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert proc.stdout == ""
    assert proc.stderr.strip()
    assert_no_request(sim, "cuc1")


def test_help_and_version(tmp_path):
    proc = cupictl(None, "-h")
    assert proc.returncode == 0
    assert "Usage: cupictl" in proc.stdout
    proc = cupictl(None, "-v")
    assert proc.returncode == 0
    assert proc.stdout.startswith("cupictl ")


# -- configuration -------------------------------------------------------------


def test_missing_config_file(tmp_path):
    path = tmp_path / "nope.conf"
    proc = cupictl(path, "get", "server")
    assert proc.returncode == 1
    assert str(path) in proc.stderr
    assert "No such file" in proc.stderr


@pytest.mark.parametrize("bad_line, words", [
    ("cupiFormat 1 yaml", "cupiFormat"),
    ("cupiNoSuchDirective 1", "unknown directive"),
    ("cupiTimeout 50", "cupiTimeout"),
    ("cupiMaxConcurrent 6", "cupiMaxConcurrent"),
    ("cupiServer 0 zero https://127.0.0.1:1", "1..65535"),
    ("cupiUser 1", "cupiUser"),
])
def test_config_error_names_file_and_line(tmp_path, sim, bad_line, words):
    conf = write_conf(tmp_path, sim)
    text = Path(conf).read_text().splitlines()
    text.insert(2, bad_line)  # becomes line 3
    private_file(conf, "\n".join(text) + "\n")
    proc = cupictl(conf, "get", "server")
    assert proc.returncode == 1
    assert "%s:3:" % conf in proc.stderr
    assert words in proc.stderr
    assert_no_request(sim, "cuc1")


def test_config_without_password(tmp_path, sim):
    conf = private_file(tmp_path / "nopw.conf",
                        "cupiServer 4 cuc1 %s\ncupiUser 4 admin\ncupiCaFile 4 %s\n"
                        % (sim.url, sim.ca_file))
    proc = cupictl(conf, "get", "server")
    assert proc.returncode == 1
    assert "%s:1:" % conf in proc.stderr
    assert "cupiPassword" in proc.stderr


def test_http_url_needs_insecure(tmp_path, sim):
    conf = write_conf(tmp_path, sim)
    text = Path(conf).read_text().replace("https://", "http://")
    private_file(conf, text)
    proc = cupictl(conf, "get", "server")
    assert proc.returncode == 1
    assert "cupiInsecure" in proc.stderr
    assert_no_request(sim, "cuc1")


def test_inline_password_in_readable_file_warns(tmp_path, sim):
    conf = tmp_path / "inline.conf"
    conf.write_text('cupiServer 1 cuc1 %s\ncupiUser 1 admin\ncupiPassword 1 "%s"\n'
                    'cupiCaFile 1 %s\n' % (sim.url, PASSWORD, sim.ca_file))
    os.chmod(conf, 0o644)
    proc = cupictl(conf, "get", "server")
    assert proc.returncode == 0, proc.stderr
    assert "warning" in proc.stderr and "readable by group or others" in proc.stderr
    assert dict(parse_lines(proc.stdout)) == sim.state("cuc1")["server"]
    os.chmod(conf, 0o600)
    proc = cupictl(conf, "get", "server")
    assert proc.returncode == 0
    assert proc.stderr == ""
