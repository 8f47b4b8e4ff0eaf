"""cupi-sim's fleet options: generated servers (--count, --base-port,
--name-prefix), accepted-connection counters, the per-second fleet counters
(GET /_sim/fleet) the fleet benchmark reads, and --idle-timeout.

Run: CUPI_BUILD_DIR=BUILD python3 -m pytest -q tests/integration/test_sim_fleet.py
"""

import socket
import subprocess
import time

import pytest

from sim_helper import CupiSim, sim_binary


@pytest.fixture
def fleet(tmp_path):
    s = CupiSim(tmp_path / "sim", verbose=False)
    s.start(servers=("0:first",), extra_args=["--count", "3", "--name-prefix", "f"])
    yield s
    assert s.stop() == 0, s.log_text()


def test_count_generates_named_servers_after_the_given_ones(fleet):
    assert list(fleet.ports) == ["first", "f1", "f2", "f3"]
    assert len(set(fleet.ports.values())) == 4
    for name in fleet.ports:
        assert fleet.get("server", server=name)[0] == 200


def test_fleet_counters_sum_every_server_per_second(fleet):
    before = fleet._ok("GET", "/_sim/fleet", server="f3")
    assert before["servers"] == 4
    for name in ("f1", "f2", "f2"):
        assert fleet.get("client", server=name)[0] == 200
    assert fleet.request("GET", "/vmrest/smtpserver/serverconfigs", auth=False,
                         server="f1")[0] == 401
    after = fleet._ok("GET", "/_sim/fleet", server="first")
    assert after["requests"] - before["requests"] == 4  # the 401 included
    assert after["gets"] - before["gets"] == 3  # authenticated resource GETs only
    assert after["puts"] == before["puts"]
    # one connection per request (sim.request closes it), control ones included
    assert after["connections"] - before["connections"] >= 5
    ps = after["per_second"]
    assert sum(ps["requests"]) == after["requests"]
    assert sum(ps["gets"]) == after["gets"]
    assert sum(ps["connections"]) == after["connections"]
    assert len(ps["requests"]) == after["uptime_ms"] // 1000 - ps["first_second"] + 1


def test_server_counters_count_accepted_connections(fleet):
    conn = fleet.connection("f2")
    try:
        for _ in range(3):  # one keep-alive connection, three requests
            assert fleet.request("GET", "/vmrest/smtpclient/clientconfigs", conn=conn)[0] == 200
    finally:
        conn.close()
    counters = fleet.counters("f2")
    assert counters["requests"] == 3
    assert counters["with_session_cookie"] == 0  # http.client keeps no cookies
    # that connection, plus the control request now being answered
    assert counters["connections"] == 2


def test_fleet_listens_on_another_loopback_address(tmp_path):
    s = CupiSim(tmp_path / "sim2", verbose=False)
    s.start(servers=(), extra_args=["--listen", "127.0.0.2", "--count", "2"])
    try:
        assert all(url.startswith("https://127.0.0.2:") for url in s.urls.values())
        # over TLS to 127.0.0.2, verified: the certificate names that address
        assert s.control("GET", "/_sim/counters", server="sim2")[0] == 200
    finally:
        assert s.stop() == 0


def test_idle_timeout_closes_a_silent_connection(tmp_path):
    s = CupiSim(tmp_path / "sim3", verbose=False)
    s.start(servers=("0:idle",), extra_args=["--idle-timeout", "1"])
    try:
        with socket.create_connection(("127.0.0.1", s.port_of("idle")), timeout=10) as sock:
            t = time.monotonic()
            while sock.recv(256):  # a TLS alert may come before the close
                pass
            # closed by the server after about a second (a socket timeout
            # would have raised instead)
            assert 0.5 < time.monotonic() - t < 8
    finally:
        assert s.stop() == 0


@pytest.mark.parametrize("args, message", [
    (["--count", "1", "--idle-timeout", "0"], "--idle-timeout 0"),
    (["--count", "0"], "--count 0"),
    (["--count", "10001"], "--count 10001"),
    (["--server", "0", "--base-port", "24000"], "go with --count"),
    (["--count", "2", "--base-port", "65535"], "beyond 65535"),
    (["--count", "2", "--name-prefix", "bad/"], "--name-prefix"),
    (["--server", "0:sim1", "--count", "1"], "duplicate name"),
])
def test_fleet_usage_errors_exit_2(args, message):
    proc = subprocess.run([str(sim_binary())] + args, capture_output=True, text=True,
                          timeout=30, env={"CUPI_SIM_PASSWORD": "x"})
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert "listening" not in proc.stdout
