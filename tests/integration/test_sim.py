"""cupi-sim behaves like Unity Connection's CUPI for the two SMTP resources.

Other integration tests (cupictl, the agent) trust the simulator; these tests
are what that trust rests on: the CUPI reference's bodies and status codes, Basic auth,
validation with ErrorDetails, the write-only password, throttling, state
file, TLS with the written CA, and the control interface.

Run: CUPI_BUILD_DIR=BUILD /usr/bin/python3 -m pytest -q tests/integration/test_sim.py
"""

import json
import os
import socket
import ssl
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from sim_helper import CLIENT_PATH, SERVER_PATH, CupiSim, SimError, sim_binary

DATA_DIR = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture
def sim(tmp_path):
    s = CupiSim(tmp_path / "sim")
    s.start()
    yield s
    assert s.stop() == 0, s.log_text()


def xml_fields(body):
    """[(tag, text)] of a resource body, in document order, and the root tag."""
    root = ET.fromstring(body)
    return root.tag, [(child.tag, child.text or "") for child in root]


def error_details(body, fmt="xml"):
    if fmt == "json":
        doc = json.loads(body)
        return doc["errors"]["code"], doc["errors"]["message"]
    root = ET.fromstring(body)
    assert root.tag == "ErrorDetails"
    return root.findtext("errors/code"), root.findtext("errors/message")


# -- authentication ---------------------------------------------------------


def test_401_without_auth(sim):
    status, headers, body = sim.request("GET", SERVER_PATH, auth=False)
    assert status == 401
    assert body == b"Not Authorized"
    assert headers["www-authenticate"] == 'Basic realm="Cisco Unity Connection"'
    assert "set-cookie" not in headers


def test_401_with_wrong_password_and_user(sim):
    assert sim.request("GET", SERVER_PATH, auth=(sim.user, "wrong"))[0] == 401
    assert sim.request("GET", CLIENT_PATH, auth=("nobody", sim.password))[0] == 401
    assert sim.request("PUT", SERVER_PATH, auth=False, body="<x/>",
                       content_type="application/xml")[0] == 401
    counters = sim.counters()
    assert counters["status"] == {"401": 3}
    assert counters["put"]["server"] == 0  # refused before the resource


def test_password_from_environment(tmp_path):
    with CupiSim(tmp_path) as s:
        s.start(password_via_env=True)
        assert s.get("server")[0] == 200


def test_refuses_to_start_without_password(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "CUPI_SIM_PASSWORD"}
    import subprocess
    proc = subprocess.run([str(sim_binary()), "--server", "0"], env=env, capture_output=True,
                          text=True, timeout=30)
    assert proc.returncode != 0
    assert "password" in proc.stderr
    assert "listening" not in proc.stdout


# -- GET bodies ---------------------------------------------------------------


@pytest.mark.parametrize("resource", ["server", "client"])
def test_get_xml_is_the_seed_example(sim, resource):
    status, headers, body = sim.get(resource, "xml")
    assert status == 200
    assert headers["content-type"].startswith("application/xml")
    expected = (DATA_DIR / ("seed_%s.xml" % resource)).read_text()
    assert xml_fields(body) == xml_fields(expected)  # same root, fields, order, values


@pytest.mark.parametrize("resource", ["server", "client"])
def test_get_json_is_the_seed_example(sim, resource):
    status, headers, body = sim.get(resource, "json")
    assert status == 200
    assert headers["content-type"].startswith("application/json")
    doc = json.loads(body)
    expected = json.loads((DATA_DIR / ("seed_%s.json" % resource)).read_text())
    assert list(doc.items()) == list(expected.items())  # order too
    assert all(isinstance(v, str) for v in doc.values())


def test_without_accept_the_answer_is_xml(sim):
    status, headers, body = sim.request("GET", SERVER_PATH)
    assert status == 200 and headers["content-type"].startswith("application/xml")
    assert xml_fields(body)[0] == "SmtpServerConfiguration"


def test_unknown_path_404_and_other_method_405(sim):
    status, _, body = sim.request("GET", "/vmrest/users")
    assert status == 404
    assert error_details(body)[0]
    status, headers, _ = sim.request("POST", SERVER_PATH, body="<a/>",
                                     content_type="application/xml")
    assert status == 405
    assert "PUT" in headers["allow"]
    assert sim.request("DELETE", CLIENT_PATH)[0] == 405


# -- PUT ----------------------------------------------------------------------


def test_put_server_200_with_seed_body(sim):
    body = (DATA_DIR / "seed_server_put.xml").read_text()
    status, _, resp = sim.put("server", body, "xml")
    assert status == 200 and resp == b""
    assert sim.state()["server"]["Port"] == "25"
    counters = sim.counters()
    assert counters["put"]["server"] == 1
    assert counters["last_put_body"]["server"] == body
    assert counters["last_put_content_type"]["server"] == "application/xml"


def test_put_client_204_with_seed_json_body(sim):
    body = (DATA_DIR / "seed_client_put.json").read_text()
    status, _, resp = sim.put("client", body, "json")
    assert status == 204 and resp == b""
    state = sim.state()["client"]
    assert state["smtpPort"] == "587" and state["isAuthEnabled"] == "false"


def test_415_put_without_content_type(sim):
    status, _, body = sim.request("PUT", SERVER_PATH,
                                  body="<SmtpServerConfiguration><Port>25</Port></SmtpServerConfiguration>")
    assert status == 415
    status, _, _ = sim.put("server", "<SmtpServerConfiguration><Port>25</Port></SmtpServerConfiguration>",
                           content_type="text/plain")
    assert status == 415
    assert sim.state()["server"]["Port"] == "587"


def test_content_type_with_charset_is_accepted(sim):
    status, _, _ = sim.put("server", {"Port": 25}, content_type="application/xml; charset=utf-8")
    assert status == 200


def test_partial_put_changes_only_given_fields(sim):
    before = sim.state()
    assert sim.put("server", {"maxNumberConnections": 33}, "json")[0] == 200
    after = sim.state()
    assert after["server"].pop("maxNumberConnections") == "33"
    before["server"].pop("maxNumberConnections")
    assert after == before


def test_unknown_fields_are_ignored(sim):
    status, _, _ = sim.put("server", {"Port": 25, "noSuchField": "x"})
    assert status == 200
    assert sim.state()["server"]["Port"] == "25"


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_out_of_range_400_and_nothing_changes(sim, fmt):
    before = sim.state()
    # A good value and a bad one in the same body: neither may stick.
    status, headers, body = sim.put("server", {"Port": 25, "maxNumberConnections": 51}, fmt)
    assert status == 400
    assert headers["content-type"].startswith("application/" + fmt)
    code, message = error_details(body, fmt)
    assert code == "INVALID_PARAMETER"
    assert "maxNumberConnections" in message
    assert sim.state() == before


@pytest.mark.parametrize("resource,changes,field", [
    ("server", {"allowConnectionsFromUntrustedIpAddresses": "false"},
     "allowConnectionsFromUntrustedIpAddresses"),
    ("client", {"smtpUsername": ""}, "smtpUsername"),
    ("client", {"isAuthEnabled": "true", "smtpUsername": ""}, "isAuthEnabled"),
])
def test_cross_field_rule_400(sim, resource, changes, field):
    before = sim.state()
    status, _, body = sim.put(resource, changes)
    assert status == 400
    code, message = error_details(body)
    assert code == "INVALID_PARAMETER" and field in message
    assert sim.state() == before


def test_cross_field_rule_satisfied_in_the_same_body(sim):
    changes = {"allowConnectionsFromUntrustedIpAddresses": "false",
               "requireAuthenticationFromUntrustedIpAddresses": "false",
               "requireTlsFromUntrustedIpAddresses": "0"}
    assert sim.put("server", changes)[0] == 200
    server = sim.state()["server"]
    assert {k: server[k] for k in changes} == changes


def test_malformed_body_400(sim):
    status, _, body = sim.put("server", "<SmtpServerConfiguration><Port>25</Po", "xml")
    assert status == 400
    assert error_details(body)[0] == "INVALID_PARAMETER"
    status, _, body = sim.put("client", '{"smtpPort": ', "json")
    assert status == 400
    assert sim.state()["server"]["Port"] == "587"


def test_body_over_1mib_413(sim):
    body = "<SmtpServerConfiguration><domainName>" + "a" * (1024 * 1024) + \
           "</domainName></SmtpServerConfiguration>"
    status, _, _ = sim.put("server", body)
    assert status == 413


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_password_is_write_only(sim, fmt):
    assert sim.put("client", {"smtpPassword": "s3cret-relay"}, fmt)[0] == 204
    status, _, body = sim.get("client", "xml")
    assert b"s3cret-relay" not in body
    assert b"<smtpPassword></smtpPassword>" in body
    status, _, body = sim.get("client", "json")
    assert json.loads(body)["smtpPassword"] == ""
    assert sim.state()["client"]["smtpPassword"] == "s3cret-relay"


# -- sessions, throttling, virtual servers -------------------------------------


def test_jsessionid_cookie(sim):
    status, headers, _ = sim.get("server")
    cookie = headers["set-cookie"]
    assert cookie.startswith("JSESSIONID=")
    assert "Path=/vmrest/" in cookie and "Secure" in cookie and "HttpOnly" in cookie
    session = cookie.split(";", 1)[0]
    assert sim.counters()["with_session_cookie"] == 0
    status, headers, _ = sim.get("client", headers={"Cookie": session})
    assert status == 200
    assert "set-cookie" not in headers  # the session is known: not re-issued
    assert sim.counters()["with_session_cookie"] == 1
    # A forged id does not count and gets a fresh cookie.
    _, headers, _ = sim.get("client", headers={"Cookie": "JSESSIONID=" + "0" * 32})
    assert "set-cookie" in headers
    assert sim.counters()["with_session_cookie"] == 1


def test_503_beyond_five_requests_in_progress(sim):
    sim.fault(method="GET", latency_ms=1500)
    barrier = threading.Barrier(8)
    results = []
    lock = threading.Lock()

    def worker():
        barrier.wait()
        status, _, body = sim.get("server", timeout=20)
        with lock:
            results.append((status, body))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    statuses = sorted(s for s, _ in results)
    assert statuses == [200] * 5 + [503] * 3
    for status, body in results:
        if status == 503:
            assert error_details(body)[0]
    counters = sim.counters()
    assert counters["max_in_progress"] == 5
    assert counters["status"]["503"] == 3
    assert counters["in_progress"] == 0


def test_two_virtual_servers_have_independent_state(tmp_path):
    with CupiSim(tmp_path) as s:
        s.start(servers=["paris", "lyon"])
        assert set(s.ports) == {"paris", "lyon"} and s.ports["paris"] != s.ports["lyon"]
        assert s.put("server", {"maxNumberConnections": 44}, server="lyon")[0] == 200
        assert s.state("lyon")["server"]["maxNumberConnections"] == "44"
        assert s.state("paris")["server"]["maxNumberConnections"] == "20"
        _, _, body = s.get("server", "json", server="paris")
        assert json.loads(body)["maxNumberConnections"] == "20"
        assert s.counters("paris")["put"]["server"] == 0
        assert s.counters("lyon")["put"]["server"] == 1


# -- state file -------------------------------------------------------------------


def test_state_file_survives_restart(tmp_path):
    state = tmp_path / "state.json"
    with CupiSim(tmp_path) as s:
        s.start(servers=["a", "b"], state=state)
        assert s.put("server", {"maxNumberConnections": 42}, server="a")[0] == 200
        assert s.put("client", {"smtpPassword": "kept", "smtpSmartHost": "relay.example.com"},
                     server="b")[0] == 204
        assert state.stat().st_mode & 0o777 == 0o600
        assert s.stop() == 0

        # Another run with only server "b" must not lose "a".
        s.start(servers=["b"], state=state)
        assert s.state("b")["client"]["smtpSmartHost"] == "relay.example.com"
        s.set_state({"client": {"smtpPort": "587"}}, server="b")
        assert s.stop() == 0

        s.start(servers=["a", "b"], state=state)
        assert s.state("a")["server"]["maxNumberConnections"] == "42"
        client = s.state("b")["client"]
        assert client["smtpPassword"] == "kept" and client["smtpPort"] == "587"
        _, _, body = s.get("client", "json", server="b")
        assert json.loads(body)["smtpPassword"] == ""


def test_corrupt_state_file_exits_1(tmp_path):
    state = tmp_path / "state.json"
    state.write_text("{ not json")
    s = CupiSim(tmp_path)
    with pytest.raises(SimError) as info:
        s.start(state=state)
    assert "exited with 1" in str(info.value)
    assert "state" in str(info.value)


# -- TLS ------------------------------------------------------------------------------


def test_tls_verified_with_the_written_ca(sim):
    pem = sim.ca_file.read_text()
    assert pem.count("BEGIN CERTIFICATE") == 1
    for host in ("127.0.0.1", "localhost"):
        conn = sim.connection(host=host)
        status, _, _ = sim.request("GET", SERVER_PATH, conn=conn)
        conn.close()
        assert status == 200


def test_tls_fails_with_another_ca(sim, tmp_path):
    with CupiSim(tmp_path / "other") as other:
        other.start()
        conn = sim.connection(cafile=other.ca_file)
        with pytest.raises(ssl.SSLCertVerificationError):
            sim.request("GET", SERVER_PATH, conn=conn)
        conn.close()


def test_plain_http_mode(tmp_path):
    with CupiSim(tmp_path) as s:
        s.start(http=True)
        assert s.url.startswith("http://127.0.0.1:")
        status, headers, _ = s.get("server")
        assert status == 200
        assert "Secure" not in headers["set-cookie"]


# -- control interface ----------------------------------------------------------------


def test_control_state_change_is_not_validated_nor_a_put(sim):
    doc = sim.set_state({"server": {"maxNumberConnections": "99", "Port": 587},
                         "client": {"isAuthEnabled": True}})
    assert doc["server"]["maxNumberConnections"] == "99"
    _, _, body = sim.get("server", "json")
    assert json.loads(body)["maxNumberConnections"] == "99"
    counters = sim.counters()
    assert counters["put"] == {"server": 0, "client": 0}


def test_control_state_rejects_unknown_field_and_bad_type(sim):
    assert sim.control("POST", "/_sim/state", {"server": {"nope": "1"}})[0] == 400
    assert sim.control("POST", "/_sim/state", {"server": {"Port": "abc"}})[0] == 400
    assert sim.control("POST", "/_sim/state", {"mailbox": {}})[0] == 400
    assert sim.state()["server"]["Port"] == "587"


def test_fault_status_count_then_normal(sim):
    faults = sim.fault(method="PUT", resource="client", status=503, count=2)
    assert faults["faults"][0]["count"] == 2
    assert sim.put("server", {"Port": 25})[0] == 200  # other resource: unaffected
    assert sim.get("client")[0] == 200  # other method: unaffected
    assert sim.put("client", {"smtpPort": 587})[0] == 503
    assert sim.put("client", {"smtpPort": 587})[0] == 503
    assert sim.state()["client"]["smtpPort"] == "25"
    assert sim.put("client", {"smtpPort": 587})[0] == 204
    assert sim.control("GET", "/_sim/fault")[1] == {"faults": []}


def test_fault_malformed_and_drop(sim):
    sim.fault(method="GET", malformed=True, count=1)
    status, _, body = sim.get("server")
    assert status == 200
    with pytest.raises(ET.ParseError):
        ET.fromstring(body)
    sim.fault(drop=True, count=1)
    with pytest.raises((ConnectionError, OSError)):
        sim.get("server")
    assert sim.get("server")[0] == 200
    assert sim.counters()["dropped"] == 1


def test_fault_header_bytes(sim):
    """One header line of N bytes, written past libmicrohttpd (over TLS),
    then the real body; the connection closes after it."""
    n = 300_000
    sim.fault(method="GET", header_bytes=n, count=1)
    raw = socket.create_connection(("127.0.0.1", sim.port_of()), timeout=10)
    with sim.ssl_context().wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        tls.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: %s\r\n\r\n"
                     % (SERVER_PATH, sim.auth_header())).encode())
        data = b""
        while True:
            chunk = tls.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"HTTP/1.1 200 OK", lines[0]
    pad = [l for l in lines if l.startswith(b"X-Sim-Padding: ")]
    assert len(pad) == 1 and len(pad[0]) == len(b"X-Sim-Padding: ") + n
    length = [l for l in lines if l.lower().startswith(b"content-length:")]
    assert int(length[0].split(b":")[1]) == len(body)
    assert ET.fromstring(body).tag == "SmtpServerConfiguration"
    # Used up: the next answer is an ordinary one.
    assert sim.get("server")[0] == 200


def test_fault_rules_until_cleared(sim):
    sim.fault(status=500)  # count defaults to -1: until cleared
    for _ in range(3):
        assert sim.get("client")[0] == 500
    assert sim.clear_faults() == {"faults": []}
    assert sim.get("client")[0] == 200


def test_fault_rule_validation(sim):
    assert sim.control("POST", "/_sim/fault", {"method": "POST"})[0] == 400
    assert sim.control("POST", "/_sim/fault", {"resource": "mailbox"})[0] == 400
    assert sim.control("POST", "/_sim/fault", {"latency": 10})[0] == 400
    assert sim.control("POST", "/_sim/fault", {"status": 503, "drop": True})[0] == 400
    assert sim.control("POST", "/_sim/fault", {"header_bytes": 10, "drop": True})[0] == 400
    assert sim.control("POST", "/_sim/fault", {"header_bytes": 17 * 1024 * 1024})[0] == 400


def test_counters_and_reset(sim):
    sim.get("server")
    sim.get("server")
    sim.put("client", {"smtpPort": 587}, "json")
    sim.request("GET", SERVER_PATH, auth=False)
    c = sim.counters()
    assert c["requests"] == 4
    assert c["get"] == {"server": 2, "client": 0}
    assert c["put"] == {"server": 0, "client": 1}
    assert c["status"] == {"200": 2, "204": 1, "401": 1}
    assert c["last_put_content_type"]["client"] == "application/json"
    assert c["last_put_body"]["server"] is None
    c = sim.reset_counters()
    assert c["requests"] == 0 and c["status"] == {} and c["last_put_body"]["client"] is None


def test_control_unknown_path_and_method(sim):
    assert sim.control("GET", "/_sim/nothing")[0] == 404
    assert sim.control("PUT", "/_sim/state", {})[0] == 405
    # The control interface is not under /vmrest and needs no auth.
    assert sim.control("GET", "/_sim/state")[0] == 200
