"""A fleet outage as the agent sees it: 1,000 configured servers whose
connections are accepted and never answered all time out together, so that
1,000 status transitions happen in the same second. Real snmpd master, real
snmptrapd, the agent over AgentX.

What must hold: exactly one cupiServerStatusChanged per server reaches
snmptrapd, and snmpd keeps answering its own sysUpTime and the agent's
objects throughout (each GET within 2 s, no retries). Sending the burst from
one callback used to deadlock snmpd and the agent on the AgentX socket.

Run: CUPI_BUILD_DIR=BUILD /usr/bin/python3 -m pytest -q tests/integration/test_fleet_burst.py
"""

import resource
import selectors
import socket
import threading
import time

import pytest

from snmp_helper import (NOTIFICATIONS, SERVER_TABLE, SYS_UPTIME, Agent, Snmpd, Snmptrapd,
                         agent_config, col, server_lines, snmpget, wait_for)

SERVERS = 1000
STATUS_CHANGED = NOTIFICATIONS + ".3"
STATUS = 4
ST_UNREACHABLE = 3
GET_TIMEOUT = 2.0


class Blackhole:
    """Accepts TCP connections on 127.0.0.1 and never sends a byte: a WAN
    outage where the far end's TCP stack still answers."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4096)
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self.held = []
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        sel = selectors.DefaultSelector()
        sel.register(self.sock, selectors.EVENT_READ)
        while not self._stop.is_set():
            for _ in sel.select(timeout=0.1):
                while True:
                    try:
                        conn, _ = self.sock.accept()
                    except (BlockingIOError, OSError):
                        break
                    self.held.append(conn)
                    self.accepted += 1
        sel.close()

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join(5)
        for c in self.held:
            c.close()
        self.sock.close()


class Poller:
    """GETs sysUpTime (snmpd's own) and a cupiServerStatus (the agent's)
    every 100 ms; records each round trip and every failure."""

    def __init__(self, port):
        self.port = port
        self.times = []
        self.failures = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        status = col(SERVER_TABLE, STATUS, SERVERS)
        while not self._stop.is_set():
            for oid in (SYS_UPTIME, status):
                t = time.monotonic()
                vals, err = snmpget(self.port, oid, timeout=GET_TIMEOUT, retries=0)
                took = time.monotonic() - t
                self.times.append(took)
                if err or vals.value(oid) is None:
                    self.failures.append("%s after %.2f s: %s" % (oid, took, err or vals))
            time.sleep(0.1)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join(GET_TIMEOUT * 3)


@pytest.fixture
def fd_room():
    """The agent holds two sockets per server: lift the soft descriptor
    limit it inherits (and this process's, which holds the far ends)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 6 * SERVERS
    if hard != resource.RLIM_INFINITY and hard < need:
        pytest.fail("RLIMIT_NOFILE hard limit %d is below the %d this test needs" % (hard, need))
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, need), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_1000_servers_time_out_together(tmp_path, fd_room):
    hole = Blackhole().start()
    trapd = Snmptrapd(tmp_path / "trapd").start()
    snmpd = Snmpd(tmp_path / "snmpd", trap_port=trapd.port).start()
    url = "http://127.0.0.1:%d" % hole.port
    servers = [server_lines(i, "cuc%d" % i, url=url, insecure=True)
               for i in range(1, SERVERS + 1)]
    # Every server read at once and reported unreachable at its first failed
    # read (a read is still tried twice): the transitions come as close
    # together as the agent lets them.
    agent = Agent(tmp_path / "agent",
                  agent_config(snmpd, servers, poll=1, ttl=1, timeout_ms=3000,
                               extra=["cupiUnreachableAfter 1", "cupiMaxRefreshes 1000"]),
                  debug=None)
    poller = None
    try:
        agent.start(timeout=30)
        last = col(SERVER_TABLE, STATUS, SERVERS)
        wait_for(lambda: snmpget(snmpd.port, last)[0].value(last) is not None, 20,
                 what="the agent's rows registered")
        poller = Poller(snmpd.port).start()
        notes = trapd.wait_for(lambda n: n["trap_oid"] == STATUS_CHANGED, timeout=90,
                               count=SERVERS)
        time.sleep(3)  # anything duplicated or late shows up now
        poller.stop()

        notes = [n for n in trapd.notifications() if n["trap_oid"] == STATUS_CHANGED]
        per_server = {}
        for n in notes:
            for oid, (_, value) in n["varbinds"].items():
                if oid.startswith(SERVER_TABLE + ".%d." % STATUS):
                    index = int(oid.rsplit(".", 1)[1])
                    per_server.setdefault(index, []).append(value)
        ticks = [n["uptime"] for n in notes]
        print("%d connections accepted; %d status notifications over %.2f s of snmpd's "
              "uptime; %d GETs, max %.3f s, mean %.3f s"
              % (hole.accepted, len(notes), (max(ticks) - min(ticks)) / 100.0,
                 len(poller.times), max(poller.times), sum(poller.times) / len(poller.times)))
        assert len(notes) == SERVERS
        assert sorted(per_server) == list(range(1, SERVERS + 1))
        assert all(v == [ST_UNREACHABLE] for v in per_server.values())
        assert not poller.failures, poller.failures[:5]
        assert len(poller.times) >= 20
        assert agent.running() and snmpd.running()
        # and the agent's rows still answer once the burst is over
        vals, err = snmpget(snmpd.port, col(SERVER_TABLE, STATUS, 1), timeout=GET_TIMEOUT,
                            retries=0)
        assert not err and vals.value(col(SERVER_TABLE, STATUS, 1)) == ST_UNREACHABLE
    finally:
        if poller:
            poller.stop()
        agent.stop()
        snmpd.cleanup()
        trapd.stop()
        hole.stop()
