"""What the NMS integration tests (contrib/) share: a running stack of
cupi-sim + snmpd (+ snmptrapd) + cupi-snmp-agent, and a MIB directory with
CUPI-SMTP-MIB and the modules it imports, for tools that read MIBs by name
(snmptranslate, prometheus-snmp-generator, snmptrapd).

    stack = Stack(tmp_path, trapd=True).start(state={"server": {...}})
    ...stack.snmpd.port, stack.sim, stack.trapd...
    stack.stop()

    d = mib_dir(tmp_path)   # SNMPv2-SMI/TC/CONF, NET-SNMP-MIB, CUPI-SMTP-MIB

The IETF base modules come from scripts/fetch-ietf-mibs.sh (the system MIB
directories, else the npm registry's net-snmp package, pinned and cached);
when they cannot be had the tests fail, they never skip.
"""

import os
import shutil
import socket
import subprocess
from pathlib import Path

from sim_helper import CupiSim
from snmp_helper import (
    SERVER_TABLE,
    SMTP_CLIENT_TABLE,
    SMTP_SERVER_TABLE,
    Agent,
    Snmpd,
    Snmptrapd,
    agent_config,
    col,
    server_lines,
    snmpget,
    wait_for,
)

SOURCE_DIR = Path(os.environ.get("CUPI_SOURCE_DIR") or Path(__file__).resolve().parents[2])
CONTRIB = SOURCE_DIR / "contrib"
MIB_FILE = SOURCE_DIR / "mib" / "CUPI-SMTP-MIB.txt"
FETCH_MIBS = SOURCE_DIR / "scripts" / "fetch-ietf-mibs.sh"
NET_SNMP_MIB = Path("/usr/share/snmp/mibs/NET-SNMP-MIB.txt")  # netSnmpPlaypen
IETF_REQUIRED = ("SNMPv2-SMI", "SNMPv2-TC", "SNMPv2-CONF")

STATUS_OK = 2


def run(cmd, timeout=120, **kw):
    if "input" not in kw:
        kw["stdin"] = subprocess.DEVNULL
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True,
                          timeout=timeout, **kw)


def fetch_ietf(dest):
    """scripts/fetch-ietf-mibs.sh DEST; fails the test when it cannot."""
    p = run(["sh", FETCH_MIBS, dest], timeout=300)
    assert p.returncode == 0, "%s failed (%d):\n%s%s" % (FETCH_MIBS, p.returncode, p.stdout,
                                                        p.stderr)
    return Path(dest)


def mib_dir(tmp_path, extra=()):
    """A directory holding exactly CUPI-SMTP-MIB and what it imports (and the
    IETF modules named in extra, e.g. SNMPv2-MIB for sysUpTime), so a MIB
    parser has nothing else to complain about. Regular files, not links:
    some tools skip links."""
    ietf = fetch_ietf(Path(tmp_path) / "ietf-all")
    d = Path(tmp_path) / "mibs"
    d.mkdir(exist_ok=True)
    for m in IETF_REQUIRED + tuple(extra):
        assert (ietf / (m + ".txt")).exists(), "%s not fetched by %s" % (m, FETCH_MIBS)
        shutil.copyfile(ietf / (m + ".txt"), d / (m + ".txt"))
    shutil.copyfile(NET_SNMP_MIB, d / NET_SNMP_MIB.name)
    shutil.copyfile(MIB_FILE, d / MIB_FILE.name)
    return d


def free_tcp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def row_ready(port, index=1):
    oids = (col(SMTP_SERVER_TABLE, 1, index), col(SMTP_CLIENT_TABLE, 1, index))
    vals, _ = snmpget(port, *oids)
    return all(vals.get(o, ("",))[0] not in ("", "noSuchInstance", "noSuchObject") for o in oids)


def server_status(port, index=1):
    oid = col(SERVER_TABLE, 4, index)
    vals, _ = snmpget(port, oid)
    return vals.value(oid)


class Stack:
    """cupi-sim (one virtual server per name), a snmpd master (v2c public /
    private from 127.0.0.1), optionally snmptrapd as its trap sink, and the
    agent with one row per sim server (index 1, 2, ...)."""

    def __init__(self, tmp_path, servers=("cuc1",), trapd=False, trapd_factory=None):
        self.dir = Path(tmp_path)
        self.servers = list(servers)
        self.sim = CupiSim(self.dir / "sim")
        self.trapd = None
        if trapd:
            self.trapd = (trapd_factory or Snmptrapd)(self.dir / "trapd")
        self.snmpd = None
        self.agent = None

    def start(self, states=None, poll=1, ttl=1, extra_servers="", timeout_ms=None):
        """states: {server name: sim state changes}; extra_servers: more
        server_lines() text (rows not served by the sim, not waited for).
        Waits until every sim row has been read and its status is ok."""
        self.sim.start(servers=self.servers)
        for name, state in (states or {}).items():
            self.sim.set_state(state, server=name)
        if self.trapd:
            self.trapd.start()
        self.snmpd = Snmpd(self.dir / "snmpd", trap_port=self.trapd.port if self.trapd else None)
        self.snmpd.start()
        conf = agent_config(self.snmpd, [server_lines(i + 1, n, self.sim, sim_server=n)
                                         for i, n in enumerate(self.servers)] + [extra_servers],
                            poll=poll, ttl=ttl, timeout_ms=timeout_ms)
        self.agent = Agent(self.dir / "agent", conf).start()
        for i in range(len(self.servers)):
            wait_for(lambda: row_ready(self.snmpd.port, i + 1), 20, what="row %d read" % (i + 1))
            wait_for(lambda: server_status(self.snmpd.port, i + 1) == STATUS_OK, 20,
                     what="cupiServerStatus.%d ok" % (i + 1))
        return self

    @property
    def port(self):
        return self.snmpd.port

    def stop(self):
        for p in (self.agent, self.snmpd, self.trapd):
            if p is not None:
                (p.cleanup if hasattr(p, "cleanup") else p.stop)()
        self.sim.stop()
