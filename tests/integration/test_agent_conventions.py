"""cupi-snmp-agent as a net-snmp daemon: where it finds its configuration
(SNMPCONFPATH, .local.conf, -C; cupictl the same), -u/-g, its sysORTable row
through the master, systemd's notify protocol, the core-dump policy, -H, and a
pid file that never follows a symbolic link.

Every process is real (cupi-sim, snmpd, the agent) on 127.0.0.1 and stopped
by its PID. -u/-g need root: the CI runs as root (scripts/test.sh installs
packages); elsewhere those tests fail rather than pretend to pass.

Environment: CUPI_BUILD_DIR (binaries), see sim_helper and snmp_helper.
"""

import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from sim_helper import CupiSim
from snmp_helper import (ROOT, SERVER_TABLE, SMTP_SERVER_TABLE, Agent, Snmpd, agent_config,
                         col, cupictl_binary, server_lines, snmpget, snmpwalk, wait_for)

SYS_OR_ENTRY = "1.3.6.1.2.1.1.9.1"  # sysOREntry: .2 sysORID, .3 sysORDescr
SOURCE_DIR = Path(os.environ.get("CUPI_SOURCE_DIR") or Path(__file__).resolve().parents[2])
NOBODY = pwd.getpwnam("nobody")


class EnvAgent(Agent):
    """The Agent of snmp_helper with extra environment variables, and (with
    defaults=True) without its "-C -c FILE", so that it reads the default
    configuration files."""

    def __init__(self, tmpdir, config_text, env=None, defaults=False, **kw):
        super().__init__(tmpdir, config_text, **kw)
        self.more_env = dict(env or {})
        self.defaults = defaults

    def args(self):
        a = super().args()
        if self.defaults:
            i = a.index("-C")
            del a[i:i + 3]  # -C -c FILE
        return a

    def _spawn(self, args, env=None):
        env = dict(env or os.environ)
        env.update(self.more_env)
        return super()._spawn(args, env=env)


@pytest.fixture
def sim(tmp_path):
    s = CupiSim(tmp_path / "sim")
    s.start(servers=["cuc1"])
    yield s
    s.stop()


@pytest.fixture
def snmpd(tmp_path):
    d = Snmpd(tmp_path / "snmpd").start()
    yield d
    d.cleanup()


@pytest.fixture
def world_dir():
    """A directory every user may read (pytest's own are root's, mode 0700):
    what the agent must still read after -u nobody."""
    d = Path(tempfile.mkdtemp(prefix="cupi-conv-"))
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def private(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


def server_names(port):
    vals, _ = snmpwalk(port, SERVER_TABLE + ".2")
    return {int(oid.rsplit(".", 1)[1]): v for oid, (_, v) in vals.items()}


def wait_rows(port, want, timeout=15):
    return wait_for(lambda: server_names(port) == want, timeout,
                    what="cupiServerName rows %s (have %s)" % (want, server_names(port)))


def status(pid):
    """{field: [values]} of /proc/PID/status."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.split()
    return out


# --- where the configuration comes from ----------------------------------------


def test_agent_reads_conf_then_local_conf_in_each_snmpconfpath_directory(tmp_path, sim,
                                                                          snmpd):
    one, two = tmp_path / "etc-one", tmp_path / "etc-two"
    # The main file's password for server 1 is wrong; the local file of the
    # same directory, read after it, puts the right one.
    private(one / "cupi-snmp-agent.conf",
            agent_config(snmpd, [server_lines(1, "first", sim, password="wrong")], poll=1,
                         ttl=1))
    private(one / "cupi-snmp-agent.local.conf", "cupiPassword 1 %s\n" % sim.password)
    private(two / "cupi-snmp-agent.conf", server_lines(2, "second", sim))
    env = {"SNMPCONFPATH": "%s:%s:%s" % (one, tmp_path / "absent", two)}
    agent = EnvAgent(tmp_path / "agent", "", env=env, defaults=True).start()
    try:
        wait_rows(snmpd.port, {1: "first", 2: "second"})
        port_oid = col(SMTP_SERVER_TABLE, 1, 1)
        wait_for(lambda: snmpget(snmpd.port, port_oid)[0].value(port_oid) is not None, 15,
                 what="server 1 read with the local file's password")
        assert snmpget(snmpd.port, col(SERVER_TABLE, 4, 1))[0].value(
            col(SERVER_TABLE, 4, 1)) == 2  # ok, not authFailed

        # SIGHUP searches the same path again: a server added to a local file.
        private(two / "cupi-snmp-agent.local.conf", server_lines(3, "third", sim))
        agent.reload()
        wait_rows(snmpd.port, {1: "first", 2: "second", 3: "third"})
    finally:
        agent.stop()
    assert "wrong" not in agent.log_text()


def test_agent_minus_C_reads_no_default_file(tmp_path, snmpd, sim):
    etc = tmp_path / "etc"
    private(etc / "cupi-snmp-agent.conf", server_lines(1, "from-default", sim))
    env = {"SNMPCONFPATH": str(etc)}
    # -C -c FILE: only FILE, which has the AgentX address and no server.
    agent = EnvAgent(tmp_path / "agent", agent_config(snmpd, [server_lines(2, "only", sim)]),
                     env=env).start()
    try:
        wait_rows(snmpd.port, {2: "only"})
    finally:
        agent.stop()


def test_cupictl_searches_the_agents_path(tmp_path, sim):
    etc = tmp_path / "etc"
    private(etc / "cupi-snmp-agent.conf", server_lines(1, "cuc1", sim, password="wrong"))
    private(etc / "cupi-snmp-agent.local.conf", "cupiPassword 1 %s\n" % sim.password)
    env = dict(os.environ, SNMPCONFPATH="%s:%s" % (tmp_path / "nothing", etc))
    p = subprocess.run([str(cupictl_binary()), "get", "server"], capture_output=True,
                       text=True, env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "Port = %s" % sim.state()["server"]["Port"] in p.stdout

    env["SNMPCONFPATH"] = str(tmp_path / "nothing")
    p = subprocess.run([str(cupictl_binary()), "get", "server"], capture_output=True,
                       text=True, env=env, timeout=60)
    assert p.returncode == 1
    assert "no cupiServer configured" in p.stderr and str(tmp_path / "nothing") in p.stderr


# --- -H -------------------------------------------------------------------------


def test_minus_H_lists_every_directive_the_parser_takes(tmp_path):
    p = subprocess.run([str(Agent(tmp_path, "").binary), "-H"], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    rows = re.findall(r"^    (\S+)\s+(.*?)\s{2,}(.+)$", p.stdout, re.M)
    names = [r[0] for r in rows]
    for name in ("cupiServer", "cupiPasswordFile", "cupiStateFile", "agentXSocket"):
        assert name in names
    assert dict((r[0], r[1]) for r in rows)["cupiServer"] == "INDEX NAME URL"
    # Each directive listed is one the parser takes, and the manual names it.
    manual = (SOURCE_DIR / "doc" / "cupi-snmp-agent.conf.5").read_text()
    for name in names:
        assert name in manual, name
        conf = private(tmp_path / ("t-%s.conf" % name), "%s\n" % name)
        q = subprocess.run([str(Agent(tmp_path, "").binary), "-f", "-C", "-c", str(conf),
                            "-Le"], capture_output=True, text=True, timeout=30)
        assert q.returncode == 1
        assert "unknown directive" not in q.stderr, (name, q.stderr)
        assert "not a directive" not in q.stderr, (name, q.stderr)


# --- sysORTable -----------------------------------------------------------------


def sys_or_rows(port):
    vals, err = snmpwalk(port, SYS_OR_ENTRY)
    assert not err, err
    ids = {oid.rsplit(".", 1)[1]: v for oid, (t, v) in vals.items()
           if oid.startswith(SYS_OR_ENTRY + ".2.")}
    descr = {oid.rsplit(".", 1)[1]: v for oid, (t, v) in vals.items()
             if oid.startswith(SYS_OR_ENTRY + ".3.")}
    return {i: descr.get(i) for i, v in ids.items() if v == ROOT}


def test_sysortable_row_through_the_master(tmp_path, sim, snmpd):
    assert sys_or_rows(snmpd.port) == {}
    agent = Agent(tmp_path / "agent", agent_config(snmpd, [server_lines(1, "cuc1", sim)]))
    agent.start()
    try:
        rows = wait_for(lambda: sys_or_rows(snmpd.port), 15, what="the sysORTable row")
        assert len(rows) == 1
        assert "CUPI-SMTP-MIB" in next(iter(rows.values()))
        # A reload keeps exactly one row.
        agent.reload()
        wait_rows(snmpd.port, {1: "cuc1"})
        assert len(sys_or_rows(snmpd.port)) == 1
    finally:
        agent.stop()
    wait_for(lambda: sys_or_rows(snmpd.port) == {}, 10, what="the row gone after stop")


# --- systemd notify protocol ----------------------------------------------------


class NotifySocket:
    """A unix datagram socket standing in for systemd's NOTIFY_SOCKET."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.messages = []

    def wait(self, field, count=1, timeout=15):
        """Waits until `count` messages hold the line `field`; returns all so
        far."""
        deadline = time.monotonic() + timeout
        while sum(field in m.split("\n") for m in self.messages) < count:
            left = deadline - time.monotonic()
            assert left > 0, "no %s within %s s; got %s" % (field, timeout, self.messages)
            self.sock.settimeout(left)
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except socket.timeout:
                pass
        return self.messages

    def close(self):
        self.sock.close()


def without_status(msgs):
    """The messages other than a lone STATUS= line, which the agent sends
    whenever the servers' status changes."""
    return [m for m in msgs if not re.fullmatch(r"STATUS=[^\n]*", m)]


def test_notify_ready_reloading_stopping(tmp_path, sim, snmpd):
    notify = NotifySocket(tmp_path / "notify.sock")
    agent = EnvAgent(tmp_path / "agent", agent_config(snmpd, [server_lines(1, "cuc1", sim)]),
                     env={"NOTIFY_SOCKET": notify.path})
    try:
        agent.start()
        msgs = notify.wait("READY=1")
        first = msgs[0].split("\n")
        assert first[0] == "READY=1"
        assert "MAINPID=%d" % agent.pid in first
        # Ready means registered, and the status line says with whom.
        assert "STATUS=AgentX: connected to %s; 1 server: 1 unknown" % snmpd.agentx in first \
            or "STATUS=AgentX: connected to %s; 1 server: 1 ok" % snmpd.agentx in first, first
        wait_rows(snmpd.port, {1: "cuc1"}, timeout=5)
        # The status line follows the servers' status.
        notify.wait("STATUS=AgentX: connected to %s; 1 server: 1 ok" % snmpd.agentx)

        agent.reload()
        notify.wait("READY=1", count=2)
        msgs = without_status(notify.messages)
        reloading = msgs[1].split("\n")
        assert reloading[0] == "RELOADING=1"
        assert re.fullmatch(r"MONOTONIC_USEC=\d+", reloading[1])
        assert msgs[2] == "READY=1"

        agent.send_signal(signal.SIGTERM)
        notify.wait("STOPPING=1")
        assert agent.wait(10) == 0
    finally:
        agent.stop()
        notify.close()


def test_not_ready_until_registered_and_one_message_per_cause(tmp_path, sim, snmpd):
    """Without a master the agent stays "activating": no READY=1, a status
    line naming the socket and the system's reason, and one log line for it
    however many retries fail; once the master is there, READY=1."""
    short = Path(tempfile.mkdtemp(prefix="cupi-ax-"))  # a unix socket path has 107 bytes
    missing = short / "agentx" / "master"
    notify = NotifySocket(tmp_path / "notify.sock")
    agent = EnvAgent(tmp_path / "agent",
                     agent_config(str(missing), [server_lines(1, "cuc1", sim)], ping=1),
                     env={"NOTIFY_SOCKET": notify.path})
    want = ("STATUS=AgentX: cannot connect to %s: No such file or directory "
            "(is snmpd running, with master agentx?)" % missing)
    try:
        agent.start()
        notify.wait(want)
        time.sleep(4.5)  # four more retries, one per second
        assert not [m for m in notify.messages if "READY=1" in m.split("\n")]
        log = agent.log_text()
        lines = [l for l in log.splitlines() if "cannot connect to %s" % missing in l]
        assert len(lines) == 1, log
        assert "No such file or directory" in lines[0] and "master agentx" in lines[0]
        assert "Failed to connect to the agentx master agent" not in log

        # The master appears where the agent looks: a symbolic link to snmpd's.
        missing.parent.mkdir()
        missing.symlink_to(snmpd.agentx_path)
        notify.wait("READY=1", timeout=10)
        wait_rows(snmpd.port, {1: "cuc1"}, timeout=5)
        assert "AgentX: connected to %s, CUPI-SMTP-MIB registered" % missing in agent.log_text()
    finally:
        agent.stop()
        notify.close()
        shutil.rmtree(short, ignore_errors=True)


def test_no_notify_socket_no_message(tmp_path, sim, snmpd):
    """Started without NOTIFY_SOCKET (not by systemd), the agent just runs."""
    agent = Agent(tmp_path / "agent", agent_config(snmpd, [server_lines(1, "cuc1", sim)]))
    agent.start()
    try:
        wait_rows(snmpd.port, {1: "cuc1"})
        assert "NOTIFY" not in agent.log_text()
    finally:
        assert agent.stop() == 0


# --- -u / -g and core dumps -----------------------------------------------------


def proc_owner(pid):
    """The owner of /proc/PID/environ: root while the process is not
    dumpable, the process's own user when it is."""
    return os.stat("/proc/%d/environ" % pid).st_uid


def test_runs_as_user_and_group_after_start(tmp_path, sim, snmpd, world_dir):
    assert os.geteuid() == 0, "this test needs root (-u/-g)"
    # The CA file is read again as nobody (on SIGHUP, and every few minutes).
    ca = shutil.copy(sim.ca_file, world_dir / "ca.pem")
    os.chmod(ca, 0o644)
    conf = agent_config(snmpd, [server_lines(1, "cuc1", sim, ca_file=ca)], poll=1, ttl=1)
    agent = Agent(tmp_path / "agent", conf, extra_args=["-u", "nobody", "-g", "nogroup"])
    agent.start()
    try:
        # Registered through the AgentX socket opened as root.
        wait_rows(snmpd.port, {1: "cuc1"})
        st = status(agent.pid)
        assert st["Uid"] == [str(NOBODY.pw_uid)] * 4
        assert st["Gid"] == [str(NOBODY.pw_gid)] * 4
        # nobody's supplementary groups, none of root's
        assert set(st.get("Groups", [])) <= {str(NOBODY.pw_gid)}
        assert proc_owner(agent.pid) == 0  # not dumpable
        # And it still reaches CUPI and serves.
        port_oid = col(SMTP_SERVER_TABLE, 1, 1)
        wait_for(lambda: snmpget(snmpd.port, port_oid)[0].value(port_oid) is not None, 15,
                 what="values read as nobody")

        # SIGHUP re-reads as nobody: the root-only (0600) file cannot be
        # opened; the running configuration stays.
        agent.reload()
        wait_for(lambda: "Permission denied" in agent.log_text(), 10,
                 what="the reload refused for lack of rights")
        assert "configuration not reloaded" in agent.log_text()
        assert server_names(snmpd.port) == {1: "cuc1"}
        assert agent.running()
    finally:
        agent.stop()


def test_allow_core_dumps_option(tmp_path, sim, snmpd):
    assert os.geteuid() == 0, "this test needs root (-u)"
    conf = agent_config(snmpd, [server_lines(1, "cuc1", sim)])
    plain = Agent(tmp_path / "plain", conf)
    debug = Agent(tmp_path / "debug", conf, extra_args=["-u", "nobody", "--allow-core-dumps"])
    plain.start()
    debug.start()
    try:
        wait_for(lambda: plain.log_text().count("started") >= 2, 10, what="plain started")
        wait_for(lambda: debug.log_text().count("started") >= 2, 10, what="debug started")
        # Dumpable again after the change of user, since it was asked for.
        assert proc_owner(debug.pid) == NOBODY.pw_uid
        # As root the owner says nothing; prctl's own answer does.
        out = subprocess.run(["gdb", "-batch", "-p", str(plain.pid), "-ex",
                              "print (int)prctl(3, 0, 0, 0, 0)"], capture_output=True,
                             text=True, timeout=120)
        assert re.search(r"\$1 = 0\b", out.stdout), out.stdout + out.stderr
    finally:
        plain.stop()
        debug.stop()


def test_unknown_user_or_group_refused(tmp_path):
    binary = str(Agent(tmp_path, "").binary)
    for opt, name in (("-u", "no-such-user-cupi"), ("-g", "no-such-group-cupi")):
        p = subprocess.run([binary, "-f", "-C", "-Le", opt, name], capture_output=True,
                           text=True, timeout=30)
        assert p.returncode == 1
        assert "unknown %s \"%s\"" % ("user" if opt == "-u" else "group", name) in p.stderr


def test_failed_drop_stops_the_agent(tmp_path, world_dir):
    """Started as nobody and told to become root: setuid fails, and the agent
    stops (exit 1) instead of running on as someone it was not told to be."""
    assert os.geteuid() == 0, "this test needs root (setpriv)"
    conf = world_dir / "agent.conf"
    conf.write_text("agentXSocket unix:%s/none.sock\n" % world_dir)
    os.chmod(conf, 0o644)
    p = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                        str(Agent(tmp_path, "").binary), "-f", "-C", "-c", str(conf), "-Le",
                        "-u", "root"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 1, p.stderr
    assert "cannot" in p.stderr and "stopping" in p.stderr


# --- pid file -------------------------------------------------------------------


def test_pid_file_symlink_refused(tmp_path, snmpd):
    target = tmp_path / "precious"
    target.write_text("do not touch\n")
    link = tmp_path / "agent" / "link.pid"
    link.parent.mkdir()
    link.symlink_to(target)
    agent = Agent(tmp_path / "agent", agent_config(snmpd), extra_args=["-p", str(link)])
    agent.start()
    try:
        assert agent.wait(15) == 1
    finally:
        agent.stop()
    assert target.read_text() == "do not touch\n"
    assert link.is_symlink()
    assert "is a symbolic link" in agent.log_text()


def test_pid_file_written_0644_and_removed_on_exit(tmp_path, snmpd):
    pid_file = tmp_path / "agent" / "run.pid"
    agent = Agent(tmp_path / "agent", agent_config(snmpd), extra_args=["-p", str(pid_file)])
    agent.start()
    try:
        wait_for(lambda: pid_file.exists() and pid_file.read_text().strip(), 10,
                 what="the pid file")
        assert int(pid_file.read_text()) == agent.pid
        assert pid_file.stat().st_mode & 0o777 == 0o644
    finally:
        assert agent.stop() == 0
    assert not pid_file.exists()
