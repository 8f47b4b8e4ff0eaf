"""Hostile local input: files that block, never end or are not files at all
where a password or CA file is expected, secrets that would be cut short,
and configuration lines that must not be echoed.

- A FIFO with no writer or /dev/zero as cupiPasswordFile or cupiCaFile:
  cupi-snmp-agent refuses to start (exit 1, the file named) or, on SIGHUP,
  keeps its running configuration; SNMP GETs through a real snmpd keep being
  answered within their timeout, and SIGTERM still ends the agent. cupictl
  exits 1 promptly naming the file.
- The same bytes get the same verdict as an SNMP SET of the smart host's
  password, as cupictl's smtpPassword=- and as a cupiPasswordFile: one line
  of printable UTF-8, nothing cut away.
- A configuration that is a symbolic link to a file of other content (a
  password, a line of /etc/shadow): neither the agent's log nor cupictl's
  output holds any of it.

One lab (cupi-sim, snmpd, one agent) serves the module; every test that
swaps a file puts it back and waits for the agent to have reloaded.

Environment: CUPI_BUILD_DIR (binaries), see sim_helper and snmp_helper.
"""

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from sim_helper import CupiSim
from snmp_helper import (SERVER_TABLE, SMTP_CLIENT_TABLE, Agent, Snmpd, agent_config, col,
                         cupictl_binary, snmpget, snmpset, wait_for)

ACCOUNT_PASSWORD = "Acc0unt-Hostile-pw"
SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SERVER_NAME_1 = col(SERVER_TABLE, 2, 1)
CLIENT_PASSWORD_1 = col(SMTP_CLIENT_TABLE, 6, 1)
# Prompt: well under any timeout of the tools, far from a hang.
PROMPT_S = 10


def private(path, data):
    path = Path(path)
    if path.is_symlink() or path.exists():
        path.unlink()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    return path


class Lab:
    def __init__(self, root):
        self.root = root
        self.files = root / "files"
        self.files.mkdir(parents=True)
        self.sim = CupiSim(root / "sim", password=ACCOUNT_PASSWORD)
        self.sim.start(servers=["cuc1"])
        self.snmpd = Snmpd(root / "snmpd").start()
        self.pw = self.files / "account.pw"
        self.ca = self.files / "ca.pem"
        self.restore()
        self.agent = Agent(root / "agent", self.config_text())
        self.reloads = 0

    def config_text(self, pw=None, ca=None):
        return agent_config(self.snmpd, [
            "cupiServer 1 cuc1 %s\ncupiUser 1 %s\ncupiPasswordFile 1 %s\ncupiCaFile 1 %s\n"
            % (self.sim.url, self.sim.user, pw or self.pw, ca or self.ca)], poll=1, ttl=1,
            timeout_ms=3000)

    def restore(self):
        private(self.pw, ACCOUNT_PASSWORD + "\n")
        if self.ca.is_symlink() or self.ca.exists():
            self.ca.unlink()
        shutil.copy(self.sim.ca_file, self.ca)

    def conf_for_cupictl(self, name, pw=None, ca=None):
        return private(self.files / name, self.config_text(pw, ca))

    def wait_reloaded(self):
        """Waits for the agent to log one more successful reload."""
        self.reloads += 1
        wait_for(lambda: self.agent.log_text().count("configuration reloaded") >= self.reloads,
                 PROMPT_S, what="reload %d" % self.reloads)

    def stop(self):
        self.agent.stop()
        self.snmpd.cleanup()
        self.sim.stop()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    lab = Lab(tmp_path_factory.mktemp("hostile-files"))
    try:
        lab.agent.start()
        wait_for(lambda: snmpget(lab.snmpd.port, SERVER_NAME_1)[0].value(SERVER_NAME_1)
                 == "cuc1", 20, what="the agent's row")
        yield lab
    finally:
        lab.stop()


def make_hostile(path, kind):
    """Replaces path by a FIFO without a writer or a link to /dev/zero."""
    path = Path(path)
    if path.is_symlink() or path.exists():
        path.unlink()
    if kind == "fifo":
        os.mkfifo(path, 0o600)
    else:
        os.symlink("/dev/zero", path)
    return path


KIND_TEXT = {"fifo": "is a FIFO, not a regular file",
             "zero": "is a character device, not a regular file"}
ROLE_TEXT = {"pw": "password file", "ca": "CA file"}
CASES = [(role, kind) for role in ("pw", "ca") for kind in ("fifo", "zero")]


def run_cupictl(conf, *args, stdin=b""):
    start = time.monotonic()
    proc = subprocess.run([str(cupictl_binary()), "-c", str(conf)] + list(args), input=stdin,
                          capture_output=True, timeout=60)
    return proc, time.monotonic() - start


def assert_answering(lab, seconds):
    """GETs through snmpd answered, each within its 2 s timeout, for a while."""
    deadline = time.monotonic() + seconds
    n = 0
    while time.monotonic() < deadline:
        vals, err = snmpget(lab.snmpd.port, SERVER_NAME_1, SYS_DESCR, timeout=2, retries=0)
        assert err == "", err
        assert vals.value(SERVER_NAME_1) == "cuc1"
        n += 1
        time.sleep(0.2)
    assert n >= 3


# --- cupictl -------------------------------------------------------------------


@pytest.mark.parametrize("role, kind", CASES)
def test_cupictl_refuses_blocking_files_promptly(lab, role, kind):
    target = lab.files / ("cupictl-%s-%s" % (role, kind))
    make_hostile(target, kind)
    conf = lab.conf_for_cupictl("cupictl-%s-%s.conf" % (role, kind),
                                **{role: target})
    proc, took = run_cupictl(conf, "get", "server")
    err = proc.stderr.decode()
    assert proc.returncode == 1, err
    assert took < PROMPT_S
    assert "%s %s: %s" % (ROLE_TEXT[role], target, KIND_TEXT[kind]) in err, err
    assert "%s:" % conf in err  # the line that names it


@pytest.mark.parametrize("kind", ["fifo", "zero"])
def test_cupictl_state_refuses_blocking_state_file(lab, kind):
    target = make_hostile(lab.files / ("state-" + kind), kind)
    conf = private(lab.files / ("state-%s.conf" % kind),
                   lab.config_text() + "cupiStateFile %s\n" % target)
    for args in (["state"], ["history"]):
        proc, took = run_cupictl(conf, *args)
        err = proc.stderr.decode()
        assert proc.returncode == 1, err
        assert took < PROMPT_S
        assert "cupiStateFile %s %s" % (target, KIND_TEXT[kind]) in err, err


# --- the agent ----------------------------------------------------------------


@pytest.mark.parametrize("role, kind", CASES + [("state", "fifo")])
def test_agent_refuses_blocking_files_at_start(lab, tmp_path, role, kind):
    target = make_hostile(tmp_path / ("%s-%s" % (role, kind)), kind)
    if role == "state":
        text = lab.config_text() + "cupiStateFile %s\n" % target
    else:
        text = lab.config_text(**{role: target})
    agent = Agent(tmp_path / "agent", text)
    agent.start()
    try:
        code = agent.proc.wait(timeout=PROMPT_S)
    finally:
        agent.stop()
    log = agent.log_text()
    assert code == 1, log
    if role == "state":
        assert "cupiStateFile %s %s" % (target, KIND_TEXT[kind]) in log, log
    else:
        assert "%s %s: %s" % (ROLE_TEXT[role], target, KIND_TEXT[kind]) in log, log
    # The master and the lab's agent answer all along.
    assert_answering(lab, 1)


@pytest.mark.parametrize("role, kind", CASES)
def test_agent_reload_with_blocking_file_keeps_answering(lab, role, kind):
    path = lab.pw if role == "pw" else lab.ca
    log_before = len(lab.agent.log_text())
    make_hostile(path, kind)
    try:
        lab.agent.reload()
        want = "%s %s: %s" % (ROLE_TEXT[role], path, KIND_TEXT[kind])
        wait_for(lambda: want in lab.agent.log_text()[log_before:], PROMPT_S,
                 what="the reload refused, naming %s" % path)
        assert "configuration not reloaded" in lab.agent.log_text()[log_before:]
        # Nothing waits on the file: SNMP is answered, the row stays.
        assert_answering(lab, 3)
        assert lab.agent.running()
    finally:
        lab.restore()
    lab.agent.reload()
    lab.wait_reloaded()
    assert_answering(lab, 1)


def test_agent_sigterm_after_hostile_reloads(tmp_path, lab):
    """An agent of its own: /dev/zero and a FIFO both in place on a reload,
    then SIGTERM ends it at once (before, /dev/zero made it spin and ignore
    SIGTERM)."""
    pw, ca = tmp_path / "pw", tmp_path / "ca.pem"
    private(pw, ACCOUNT_PASSWORD + "\n")
    shutil.copy(lab.sim.ca_file, ca)
    # Its own master: two agents must not register the same rows in one.
    snmpd = Snmpd(tmp_path / "snmpd").start()
    text = lab.config_text(pw=pw, ca=ca).replace(lab.snmpd.agentx, snmpd.agentx)
    agent = Agent(tmp_path / "agent", text)
    agent.start()
    try:
        wait_for(lambda: "module started" in agent.log_text(), PROMPT_S, what="start")
        make_hostile(pw, "zero")
        make_hostile(ca, "fifo")
        agent.reload()
        wait_for(lambda: "configuration not reloaded" in agent.log_text(), PROMPT_S,
                 what="the reload refused")
        assert agent.running()
        start = time.monotonic()
        assert agent.stop(grace=PROMPT_S) == 0
        assert time.monotonic() - start < PROMPT_S
    finally:
        if agent.running():
            agent.stop()
        snmpd.cleanup()


# --- the same bytes, the same verdict ---------------------------------------------

# (bytes of the value, accepted?). The line end a file or standard input
# adds is not part of the value.
SECRET_BYTES = [
    (b"Plain-Relay-pw1", True),
    (b"caf\xc3\xa9 with blanks", True),
    (b"x" * 255, True),
    (b"abc\x00def", False),  # NUL: cupictl used to set "abc"
    (b"abc\rdef", False),  # CR: cupictl used to set "abc"
    (b"trailing-cr\r", False),  # a DOS line end
    (b"two\nlines", False),
    (b"tab\there", False),
    (b"esc\x1b[0m", False),
    (b"latin1-\xe9", False),  # not UTF-8
    (b"c1-\xc2\x85", False),  # NEL, a C1 control
    (b"\x00" * 16, False),  # /dev/zero: used to set an empty password
]


def snmp_verdict(lab, value):
    vals, err = snmpset(lab.snmpd.port, (CLIENT_PASSWORD_1, "x", value.hex()), timeout=15)
    if err:
        assert "wrongValue" in err or "wrongLength" in err, err
        return False
    return True


def cupictl_verdict(lab, conf, value):
    proc, took = run_cupictl(conf, "set", "client", "smtpPassword=-", stdin=value + b"\n")
    assert took < PROMPT_S + 20
    err = proc.stderr.decode(errors="replace")
    assert proc.returncode in (0, 1), err
    if proc.returncode == 1:
        assert "smtpPassword" in err, err
    return proc.returncode == 0


def config_verdict(lab, value):
    """The same bytes as a cupiPasswordFile: refused by its rules, or taken
    (then CUPI says whether it is the account's password: none of the table's
    values is, so a taken one is sent and answered 401)."""
    pw = private(lab.files / "table.pw", value + b"\n")
    conf = lab.conf_for_cupictl("table.conf", pw=pw)
    proc, _ = run_cupictl(conf, "get", "server")
    err = proc.stderr.decode(errors="replace")
    refused = "password file %s" % pw in err
    assert proc.returncode == 1, err
    if not refused:
        assert "authentication refused (HTTP 401/403)" in err, err
    return not refused


def test_secret_bytes_same_verdict_through_snmp_cupictl_and_config(lab):
    conf = lab.conf_for_cupictl("cupictl.conf")
    for value, accepted in SECRET_BYTES:
        before = lab.sim.state("cuc1")["client"]["smtpPassword"]
        verdicts = {"snmp": snmp_verdict(lab, value), "cupictl": cupictl_verdict(lab, conf, value),
                    "config": config_verdict(lab, value)}
        assert verdicts == dict.fromkeys(verdicts, accepted), (value, verdicts)
        if accepted:
            assert lab.sim.state("cuc1")["client"]["smtpPassword"] == value.decode()
        else:
            assert lab.sim.state("cuc1")["client"]["smtpPassword"] == before, value


def test_cupictl_endless_stdin_refused_promptly(lab):
    """< /dev/zero used to set an empty password and exit 0."""
    conf = lab.conf_for_cupictl("cupictl-zero.conf")
    before = lab.sim.state("cuc1")["client"]["smtpPassword"]
    with open("/dev/zero", "rb") as zero:
        start = time.monotonic()
        proc = subprocess.run([str(cupictl_binary()), "-c", str(conf), "set", "client",
                               "smtpPassword=-"], stdin=zero, capture_output=True, timeout=60)
    assert time.monotonic() - start < PROMPT_S
    assert proc.returncode == 1
    assert b"smtpPassword: standard input" in proc.stderr
    assert lab.sim.state("cuc1")["client"]["smtpPassword"] == before


def test_cupictl_turns_core_dumps_off(tmp_path):
    """Started with an unlimited core size (as `ulimit -c unlimited` would),
    as an unprivileged user: while it waits for the password on standard
    input its core limit is 0 and it is not dumpable (/proc/PID files then
    belong to root), and a SIGSEGV there leaves no core."""
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv (util-linux) is needed to run cupictl as nobody"
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    os.chmod(cwd, 0o777)

    def unlimited_core():
        import resource
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY,
                                                  resource.RLIM_INFINITY))

    proc = subprocess.Popen([setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                             str(cupictl_binary()), "-c", "/nonexistent.conf", "set", "client",
                             "smtpPassword=-"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=str(cwd), preexec_fn=unlimited_core)
    try:
        def core_limit():
            try:
                with open("/proc/%d/limits" % proc.pid) as f:
                    for line in f:
                        if line.startswith("Max core file size"):
                            return line.split()[4:6]
            except OSError:
                return None
            return None
        wait_for(lambda: core_limit() == ["0", "0"], PROMPT_S, what="RLIMIT_CORE 0")
        assert os.stat("/proc/%d/environ" % proc.pid).st_uid == 0  # not dumpable
        proc.send_signal(11)  # SIGSEGV
        proc.communicate(timeout=PROMPT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    # Under AddressSanitizer its own SIGSEGV handler ends the process instead.
    if os.environ.get("CUPI_SANITIZE") == "1":
        assert proc.returncode != 0
    else:
        assert proc.returncode == -11
    assert list(cwd.iterdir()) == []


# --- no configuration content in messages -------------------------------------------

PASSWORDLIKE = "Zq9!xT4#pLm2-Hostile"
SHADOW_LINE = "root:$y$j9T$F5Jx3kqE0e$Kq1vS0mEhAsH:20228:0:99999:7:::"


@pytest.mark.parametrize("content", [PASSWORDLIKE, SHADOW_LINE, "  " + PASSWORDLIKE + "  "])
def test_config_content_never_echoed(lab, tmp_path, content):
    target = private(tmp_path / "not-a-config", content + "\n")
    conf = tmp_path / "linked.conf"
    os.symlink(target, conf)
    proc, _ = run_cupictl(conf, "get", "server")
    out = (proc.stdout + proc.stderr).decode(errors="replace")
    assert proc.returncode == 1
    assert "%s:1: not a directive" % conf in out, out
    assert content.strip() not in out and "j9T" not in out and "Zq9" not in out, out
    # The agent at start...
    agent = Agent(tmp_path / "agent", "")
    agent.conf_file.unlink()
    os.symlink(target, agent.conf_file)
    agent.start()
    try:
        assert agent.proc.wait(timeout=PROMPT_S) == 1
    finally:
        agent.stop()
    log = agent.log_text()
    assert "not a directive" in log, log
    assert content.strip() not in log and "j9T" not in log and "Zq9" not in log, log


def test_config_content_never_echoed_on_reload(lab):
    before = len(lab.agent.log_text())
    saved = lab.agent.conf_file.read_text()
    lab.agent.write_config(saved + PASSWORDLIKE + "\n" + SHADOW_LINE + "\n")
    try:
        lab.agent.reload()
        wait_for(lambda: "configuration not reloaded" in lab.agent.log_text()[before:],
                 PROMPT_S, what="the reload refused")
        log = lab.agent.log_text()[before:]
        assert "not a directive" in log
        assert "Zq9" not in log and "j9T" not in log, log
        assert_answering(lab, 1)
    finally:
        lab.agent.write_config(saved)
    lab.agent.reload()
    lab.wait_reloaded()
