"""cupi_smtp.so loaded into snmpd with "dlmod cupi_smtp PATH": the same module
as the subagent serves, refreshes and writes without any AgentX hop."""

import os
import signal
import subprocess
from pathlib import Path

import pytest

from sim_helper import CupiSim
from snmp_helper import (ROOT, SERVER_TABLE, SMTP_CLIENT_TABLE, SMTP_SERVER_TABLE, SNMPD, Snmpd,
                         build_dir, col, free_udp_port, server_lines, snmpbulkwalk, snmpget, snmpset,
                         snmpwalk, tool_env, wait_for)


def plugin_path():
    return build_dir() / "agent" / "cupi_smtp.so"


def sanitizer_preload(monkeypatch):
    """In the sanitizer build the plugin needs the ASan/UBSan runtimes, which
    must come first in snmpd (not built with them): preload them. Leaks of
    snmpd itself are net-snmp's, not the plugin's."""
    if os.environ.get("CUPI_SANITIZE") != "1":
        return
    libs = [subprocess.run(["gcc", "-print-file-name=%s" % name], capture_output=True,
                           text=True, check=True).stdout.strip()
            for name in ("libasan.so", "libubsan.so")]
    monkeypatch.setenv("LD_PRELOAD", " ".join(libs))
    monkeypatch.setenv("ASAN_OPTIONS", "detect_leaks=0")


def plugin_lab(tmp_path, monkeypatch, name):
    """A cupi-sim and the configuration the module reads; returns the sim and
    a (not started) snmpd that loads the module."""
    sim = CupiSim(tmp_path / "sim")
    sim.start(servers=["cuc1"])
    conf = tmp_path / "cupi-snmp-agent.conf"
    conf.write_text(server_lines(1, name, sim) + "cupiCacheTtl 1\ncupiPollInterval 1\n")
    conf.chmod(0o600)
    monkeypatch.setenv("CUPI_SNMP_CONFIG", str(conf))
    sanitizer_preload(monkeypatch)
    return sim, Snmpd(tmp_path / "snmpd", extra=["dlmod cupi_smtp %s" % plugin_path()])


@pytest.fixture
def lab(tmp_path, monkeypatch):
    sim, snmpd = plugin_lab(tmp_path, monkeypatch, "cuc-plugin")
    snmpd.start()
    yield sim, snmpd
    snmpd.stop()
    sim.stop()


def test_plugin_serves_sets_and_follows_cupi(lab):
    sim, snmpd = lab
    port_oid = col(SMTP_SERVER_TABLE, 1, 1)
    wait_for(lambda: snmpget(snmpd.port, port_oid)[0].value(port_oid) is not None, 15,
             what="the plugin to read CUPI")

    walk, err = snmpbulkwalk(snmpd.port)
    assert not err, err
    state = sim.state()
    assert walk.value(col(SERVER_TABLE, 2, 1)) == "cuc-plugin"
    assert walk.value(col(SERVER_TABLE, 4, 1)) == 2  # ok
    assert walk.value(port_oid) == int(state["server"]["Port"])
    assert walk.value(col(SMTP_CLIENT_TABLE, 1, 1)) == state["client"]["smtpSmartHost"]
    assert len([o for o in walk if o.startswith(SMTP_SERVER_TABLE + ".")]) == 11

    _, err = snmpset(snmpd.port, (col(SMTP_SERVER_TABLE, 3, 1), "i", 41))
    assert not err, err
    assert sim.state()["server"]["maxNumberConnections"] == "41"
    assert snmpget(snmpd.port, col(SMTP_SERVER_TABLE, 3, 1))[0].value(
        col(SMTP_SERVER_TABLE, 3, 1)) == 41

    sim.set_state({"server": {"maxMessageSizeKb": "1234"}})
    size_oid = col(SMTP_SERVER_TABLE, 5, 1)
    wait_for(lambda: snmpget(snmpd.port, size_oid)[0].value(size_oid) == 1234, 10,
             what="the plugin to see an external change")
    assert "cupi: " in snmpd.log_text()


def test_plugin_adds_its_sysortable_row(lab):
    """Loaded into snmpd, the module's row sits in snmpd's own sysORTable."""
    _, snmpd = lab
    entry = "1.3.6.1.2.1.1.9.1"
    walk, err = snmpwalk(snmpd.port, entry)
    assert not err, err
    ids = [oid.rsplit(".", 1)[1] for oid, (_, v) in walk.items()
           if oid.startswith(entry + ".2.") and v == ROOT]
    assert len(ids) == 1, walk
    assert "CUPI-SMTP-MIB" in walk.value(entry + ".3." + ids[0])


def test_plugin_in_a_snmpd_that_forks(tmp_path, monkeypatch):
    """snmpd loads its modules, then forks into the background: the module's
    CUPI worker must run in the daemon, not in the parent that exits."""
    # The helper's snmpd only for its configuration and paths.
    sim, template = plugin_lab(tmp_path, monkeypatch, "cuc-forked")
    template.conf_file.write_text(template.config_text())
    port = free_udp_port()
    pid_file = template.pid_file
    args = [SNMPD, "-Lf", str(template.log_file), "-C", "-c", str(template.conf_file),
            "-p", str(pid_file), "udp:127.0.0.1:%d" % port]
    daemon = None
    try:
        parent = subprocess.run(args, env=tool_env(template.state_dir), timeout=30)
        wait_for(lambda: pid_file.exists() and pid_file.read_text().strip(), 10,
                 what="the daemon's pid file")
        daemon = int(pid_file.read_text())
        assert parent.returncode == 0
        assert daemon != os.getpid()
        assert "snmpd" in Path("/proc/%d/cmdline" % daemon).read_bytes().decode()
        port_oid = col(SMTP_SERVER_TABLE, 1, 1)
        wait_for(lambda: snmpget(port, port_oid)[0].value(port_oid) is not None, 15,
                 what="the forked snmpd's module to read CUPI")
        _, err = snmpset(port, (col(SMTP_SERVER_TABLE, 3, 1), "i", 42))
        assert not err, err
        assert sim.state()["server"]["maxNumberConnections"] == "42"
        # Its worker is a thread of the daemon.
        names = {(Path("/proc/%d/task" % daemon) / t / "comm").read_text().strip()
                 for t in os.listdir("/proc/%d/task" % daemon)}
        assert "cupi-worker" in names
    finally:
        if not daemon and pid_file.exists() and pid_file.read_text().strip():
            daemon = int(pid_file.read_text())  # a daemon whose parent failed
        if daemon:
            os.kill(daemon, signal.SIGTERM)
            wait_for(lambda: not Path("/proc/%d" % daemon).exists() or
                     Path("/proc/%d/stat" % daemon).read_text().rsplit(")", 1)[1].split()[0] == "Z",
                     15, what="the daemon to stop")
        sim.stop()
