"""Real net-snmp processes (snmpd master, snmptrapd) and cupi-snmp-agent for
integration tests, plus wrappers of the net-snmp command-line tools.

Usage (pytest):

    from snmp_helper import Snmpd, Snmptrapd, Agent, snmpget, snmpbulkwalk, ROOT

    def test_x(tmp_path, sim):                       # sim: a started CupiSim
        trapd = Snmptrapd(tmp_path).start()
        snmpd = Snmpd(tmp_path, trap_port=trapd.port).start()
        agent = Agent(tmp_path, agent_config(snmpd, [server_lines(1, "cuc1", sim)],
                                             poll=1, ttl=1)).start()
        try:
            wait_for(lambda: snmpget(snmpd.port, ROOT + ".1.2.1.1.1")[0], 10)
            vals, err = snmpbulkwalk(snmpd.port, ROOT)
            assert vals[ROOT + ".1.1.1.4.1"] == ("INTEGER", 2)
            trapd.wait_for(lambda n: n["trap_oid"] == ROOT + ".0.3", timeout=5)
        finally:
            agent.stop(); snmpd.stop(); trapd.stop()

Everything listens on 127.0.0.1, on free ports; every process is started in
the given directory and stopped by its PID (SIGTERM, SIGKILL after a grace
period), never by name. Every wait is bounded.

Tool output is parsed from net-snmp's options "-On -Oe -Ox": numeric OIDs,
enumerations as numbers, every OCTET STRING as hex bytes (so quotes, newlines
and non-ASCII bytes cannot confuse the parser; continuation lines of long hex
strings are joined). No MIB is loaded (MIBS="" and an empty -m), the user's and
the system's snmp.conf are not read (SNMPCONFPATH points into the test dir).

Parsed values are {oid: (type, value)}, oid without the leading dot:
    "INTEGER"  -> int          "Gauge32", "Counter32", "Counter64" -> int
    "Timeticks" -> int (hundredths of a second)
    "STRING"   -> str (UTF-8, undecodable bytes replaced); raw bytes are in
                  SnmpValues.raw[oid]
    "OID"      -> str without the leading dot     "IpAddress" -> str
    "noSuchObject", "noSuchInstance", "endOfMibView" -> None
    anything else -> (net-snmp's type name, the text after it)

Environment: CUPI_BUILD_DIR (default: build/ in this checkout); the agent
binary is CUPI_BUILD_DIR/agent/cupi-snmp-agent, cupictl is
CUPI_BUILD_DIR/tools/cupictl.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = "1.3.6.1.4.1.8072.9999.9999.25"
OBJECTS = ROOT + ".1"
NOTIFICATIONS = ROOT + ".0"
SERVER_TABLE = OBJECTS + ".1.1"       # cupiServerEntry;      + ".COL.INDEX"
SMTP_SERVER_TABLE = OBJECTS + ".2.1"  # cupiSmtpServerEntry
SMTP_CLIENT_TABLE = OBJECTS + ".3.1"  # cupiSmtpClientEntry
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
SNMP_TRAP_OID = "1.3.6.1.6.3.1.1.4.1.0"

SNMPD = "/usr/sbin/snmpd"
SNMPTRAPD = "/usr/sbin/snmptrapd"
DEFAULT_BUILD_DIR = Path(__file__).resolve().parents[2] / "build"

NO_VALUE_TYPES = ("noSuchObject", "noSuchInstance", "endOfMibView")


def build_dir():
    """The build tree whose binaries the tests run."""
    return Path(os.environ.get("CUPI_BUILD_DIR") or DEFAULT_BUILD_DIR)


def agent_binary():
    return build_dir() / "agent" / "cupi-snmp-agent"


def cupictl_binary():
    return build_dir() / "tools" / "cupictl"


def col(table, column, index):
    """OID of a column instance, e.g. col(SERVER_TABLE, 4, 1)."""
    return "%s.%d.%d" % (table, column, index)


class SnmpError(RuntimeError):
    """A process did not start or stop as expected; carries its log."""


def wait_for(fn, timeout, interval=0.1, what=None):
    """Calls fn until it returns something truthy; returns that value. Raises
    AssertionError (with `what`) after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1f s waiting for %s" % (timeout, what or fn))
        time.sleep(interval)


def free_udp_port():
    """A UDP port on 127.0.0.1 that was free a moment ago (the caller retries
    if someone takes it in between)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is dead for our purposes.
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().split(b"\0")
    except OSError:
        return []


def _short_dir(path, name_len):
    """A directory where path/NAME fits in sun_path (108 bytes); the test dir
    when it is short enough, else a fresh short temporary directory."""
    if len(str(path)) + 1 + name_len < 100:
        return Path(path), False
    return Path(tempfile.mkdtemp(prefix="cupi-ax-")), True


def tool_env(tmpdir=None):
    """Environment for net-snmp tools and daemons: no MIBs, no user or system
    snmp.conf, a private persistent directory."""
    env = {k: v for k, v in os.environ.items() if k not in ("MIBDIRS", "MIBFILES")}
    env["MIBS"] = ""
    d = Path(tmpdir) if tmpdir else Path(tempfile.gettempdir()) / ("cupi-netsnmp-%d" % os.getuid())
    d.mkdir(parents=True, exist_ok=True)
    env["SNMPCONFPATH"] = str(d)
    env["SNMP_PERSISTENT_DIR"] = str(d)
    return env


# --- output parsing ---------------------------------------------------------

_LINE = re.compile(r"^\.?(\d+(?:\.\d+)+) = (.*)$")
_NO_VALUE = {
    "No Such Object available on this agent at this OID": "noSuchObject",
    "No Such Instance currently exists at this OID": "noSuchInstance",
    "No more variables left in this MIB View (It is past the end of the MIB tree)":
        "endOfMibView",
}
_INT_TYPES = ("INTEGER", "Gauge32", "Counter32", "Counter64", "UInteger32", "Unsigned32")


class SnmpValues(dict):
    """{oid: (type, value)} in the order received; .raw holds OCTET STRINGs as
    bytes; .order the OIDs in order, duplicates included (a walk that loops
    shows up there)."""

    def __init__(self):
        super().__init__()
        self.raw = {}
        self.order = []

    def value(self, oid):
        """The value alone (None when absent or noSuch*)."""
        return self.get(oid.lstrip("."), (None, None))[1]


def _parse_value(text):
    """(type, value, raw bytes or None) of the text after " = "."""
    text = text.strip()
    if text in _NO_VALUE:
        return _NO_VALUE[text], None, None
    if text == '""':
        return "STRING", "", b""
    if ": " not in text and text.endswith(":"):
        text += " "
    typ, sep, rest = text.partition(": ")
    if not sep:
        # -Ot style bare numbers or anything unexpected
        return ("INTEGER", int(text), None) if re.fullmatch(r"-?\d+", text) else ("?", text, None)
    rest = rest.strip()
    if typ == "Hex-STRING":
        raw = bytes.fromhex("".join(rest.split()))
        return "STRING", raw.decode("utf-8", "replace"), raw
    if typ == "STRING":
        # only without -Ox; quoted with backslash escapes
        if len(rest) >= 2 and rest[0] == '"' and rest[-1] == '"':
            rest = re.sub(r'\\(.)', r"\1", rest[1:-1])
        return "STRING", rest, rest.encode()
    if typ in _INT_TYPES:
        m = re.match(r"-?\d+", rest.split("(")[-1].rstrip(")") if "(" in rest else rest)
        return typ, int(m.group(0)) if m else rest, None
    if typ == "Timeticks":
        m = re.match(r"\((\d+)\)", rest)
        return typ, int(m.group(1)) if m else rest, None
    if typ == "OID":
        return typ, rest.lstrip("."), None
    return typ, rest, None


def parse_varbinds(text):
    """Parses "OID = TYPE: value" lines (net-snmp -On -Ox output); lines that
    do not start a varbind continue the previous one (long hex strings).
    Other lines before the first varbind are ignored."""
    vals = SnmpValues()
    records = []
    for line in text.splitlines():
        m = _LINE.match(line)
        if m:
            records.append([m.group(1), m.group(2)])
        elif records and line.strip():
            records[-1][1] += " " + line.strip()
    for oid, rest in records:
        typ, value, raw = _parse_value(rest)
        vals[oid] = (typ, value)
        vals.order.append(oid)
        if raw is not None:
            vals.raw[oid] = raw
    return vals


# --- command-line tools -----------------------------------------------------

OUTPUT_OPTIONS = ["-On", "-Oe", "-Ox"]


def _tool(cmd, port, oids, version, community, timeout, retries, extra, env=None):
    args = [cmd, "-v" + version, "-c", community, "-m", "", "-t", str(timeout),
            "-r", str(retries)] + OUTPUT_OPTIONS + list(extra)
    args.append("udp:127.0.0.1:%d" % port)
    args += [str(o) for o in oids]
    # The tool retries itself; this bound is only against a hung process.
    limit = 10 + timeout * (retries + 1) * (20 if "walk" in cmd else 2)
    p = subprocess.run(args, capture_output=True, text=True, env=env or tool_env(),
                       timeout=limit, stdin=subprocess.DEVNULL)
    return p


def snmpget(port, *oids, version="2c", community="public", timeout=1, retries=1, extra=(),
            full=False):
    """snmpget OIDs; returns (values, error_text). error_text is the tool's
    stderr plus a note of its exit status when non-zero ("" when all went
    well); noSuch* answers are values, not errors. full=True also returns the
    CompletedProcess as a third item."""
    if len(oids) == 1 and isinstance(oids[0], (list, tuple)):
        oids = tuple(oids[0])
    p = _tool("snmpget", port, oids, version, community, timeout, retries, extra)
    return _result(p, full)


def snmpwalk(port, oid=ROOT, version="2c", community="public", timeout=1, retries=1, extra=(),
             full=False):
    """snmpwalk (GETNEXT) of a subtree. See snmpbulkwalk for the result."""
    p = _tool("snmpwalk", port, [oid], version, community, timeout, retries, extra)
    return _result(p, full, walk_root=oid)


def snmpbulkwalk(port, oid=ROOT, version="2c", community="public", timeout=1, retries=1,
                 repetitions=None, extra=(), full=False):
    """snmpbulkwalk (GETBULK) of a subtree; returns (values, error_text). An
    empty subtree gives {} (net-snmp's fallback GET of the root, answered
    noSuchObject/Instance, is dropped)."""
    extra = list(extra)
    if repetitions:
        extra += ["-Cr%d" % repetitions]
    p = _tool("snmpbulkwalk", port, [oid], version, community, timeout, retries, extra)
    return _result(p, full, walk_root=oid)


def snmpset(port, *varbinds, version="2c", community="private", timeout=2, retries=0, extra=(),
            full=False):
    """snmpset (oid, type, value) triples, type as snmpset's letters (i u s x
    d n o t a c g ...); returns (values, error_text)."""
    if len(varbinds) == 1 and isinstance(varbinds[0], list):
        varbinds = tuple(varbinds[0])
    flat = []
    for oid, typ, value in varbinds:
        flat += [str(oid), typ, str(value)]
    p = _tool("snmpset", port, flat, version, community, timeout, retries, extra)
    return _result(p, full)


def _result(p, full, walk_root=None):
    vals = parse_varbinds(p.stdout)
    if walk_root is not None:
        root = walk_root.lstrip(".")
        if list(vals) == [root] and vals[root][0] in NO_VALUE_TYPES:
            vals = SnmpValues()
    err = p.stderr.strip()
    if p.returncode != 0:
        err = (err + "\n" if err else "") + "(exit status %d)" % p.returncode
    return (vals, err, p) if full else (vals, err)


# --- processes --------------------------------------------------------------


class _Process:
    """A child process started in a test dir and stopped by its PID."""

    name = "process"

    def __init__(self, tmpdir):
        self.dir = Path(tmpdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.proc = None
        self._out = None
        self.log_file = self.dir / ("%s.log" % self.name)
        self.out_file = self.dir / ("%s.out" % self.name)

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def _spawn(self, args, env=None):
        self._out = open(self.out_file, "ab")
        self.proc = subprocess.Popen(args, stdout=self._out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env, cwd=str(self.dir))
        return self.proc

    def send_signal(self, sig):
        if self.running():
            self.proc.send_signal(sig)

    def kill(self):
        """SIGKILL now (a crash, as a test scenario); returns the exit status."""
        return self.stop(sig=signal.SIGKILL)

    def wait(self, timeout):
        """Waits for the process to exit by itself; returns its exit status
        (raises subprocess.TimeoutExpired)."""
        return self.proc.wait(timeout=timeout)

    def stop(self, grace=10, sig=signal.SIGTERM):
        """sig (SIGTERM) by PID, SIGKILL after grace seconds. Returns the exit
        status (negative: killed by that signal), None if never started."""
        if self.proc is None:
            return None
        proc = self.proc
        code = proc.poll()
        if code is None:
            proc.send_signal(sig)
            try:
                code = proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait(timeout=10)
        if self._out:
            self._out.close()
            self._out = None
        return code

    def log_text(self):
        """The log file (-Lf) followed by whatever went to stdout/stderr."""
        text = ""
        for f in (self.log_file, self.out_file):
            try:
                text += f.read_text(errors="replace")
            except OSError:
                pass
        return text

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class Snmpd(_Process):
    """snmpd as AgentX master on udp:127.0.0.1:PORT and unix:DIR/agentx.sock.

    Attributes: port, agentx ("unix:/path"), agentx_path, conf_file,
    log_file, pid. trap_port: adds trap2sink (and informsink when inform=True)
    to 127.0.0.1:trap_port. extra: more snmpd.conf lines (str or list).
    debug: -D tokens (e.g. "agentx/master" to see AgentX timeouts)."""

    name = "snmpd"

    def __init__(self, tmpdir, agentx_timeout=None, agentx_retries=None, trap_port=None,
                 inform=False, sys_name="cupi-test", extra=(), debug=None, port=None):
        super().__init__(tmpdir)
        self.agentx_timeout = agentx_timeout
        self.agentx_retries = agentx_retries
        self.trap_port = trap_port
        self.inform = inform
        self.sys_name = sys_name
        self.extra = [extra] if isinstance(extra, str) else list(extra)
        self.debug = debug
        self.port = port
        sock_dir, self._own_sock_dir = _short_dir(self.dir, len("agentx.sock"))
        self.agentx_path = sock_dir / "agentx.sock"
        self.agentx = "unix:%s" % self.agentx_path
        self.conf_file = self.dir / "snmpd.conf"
        self.pid_file = self.dir / "snmpd.pid"
        self.state_dir = self.dir / "snmpd-state"
        self.state_dir.mkdir(exist_ok=True)
        self.starts = 0

    def config_text(self):
        lines = [
            "master agentx",
            "agentXSocket %s" % self.agentx,
            "rocommunity public 127.0.0.1",
            "rwcommunity private 127.0.0.1",
            "sysName %s" % self.sys_name,
        ]
        if self.agentx_timeout is not None:
            lines.append("agentxTimeout %s" % self.agentx_timeout)
        if self.agentx_retries is not None:
            lines.append("agentxRetries %s" % self.agentx_retries)
        if self.trap_port:
            lines.append("trap2sink 127.0.0.1:%d public" % self.trap_port)
            if self.inform:
                lines.append("informsink 127.0.0.1:%d public" % self.trap_port)
        return "\n".join(lines + self.extra) + "\n"

    def start(self, timeout=15):
        self.conf_file.write_text(self.config_text())
        attempts = 1 if self.port else 5
        last = ""
        for _ in range(attempts):
            port = self.port or free_udp_port()
            if self._start_on(port, timeout):
                self.port = port
                self.starts += 1
                return self
            last = self.log_text()
            self.stop()
        raise SnmpError("snmpd did not start\n" + last)

    def _start_on(self, port, timeout):
        args = [SNMPD, "-f", "-Lf", str(self.log_file), "-C", "-c", str(self.conf_file),
                "-p", str(self.pid_file)]
        if self.debug:
            args += ["-D" + self.debug]
        args.append("udp:127.0.0.1:%d" % port)
        self._spawn(args, env=tool_env(self.state_dir))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False  # e.g. the port was taken meanwhile
            vals, _ = snmpget(port, SYS_UPTIME, timeout=0.3, retries=0)
            if vals.get(SYS_UPTIME, ("",))[0] == "Timeticks":
                return True
            time.sleep(0.05)
        return False

    def restart(self, timeout=15, kill=False):
        """Stops (SIGKILL when kill=True, else SIGTERM) and starts again on
        the same port and AgentX socket."""
        if kill:
            self.kill()
        else:
            self.stop()
        try:
            self.agentx_path.unlink()  # a killed master leaves its socket
        except FileNotFoundError:
            pass
        return self.start(timeout=timeout)

    def stop(self, grace=10, sig=signal.SIGTERM):
        code = super().stop(grace, sig)
        return code

    def cleanup(self):
        self.stop()
        if self._own_sock_dir:
            shutil.rmtree(self.agentx_path.parent, ignore_errors=True)

    def __exit__(self, *exc):
        self.cleanup()


class Snmptrapd(_Process):
    """snmptrapd on udp:127.0.0.1:PORT, no authorization, every notification
    written to its log as

        @@BEGIN UDP: [127.0.0.1]:PORT->[127.0.0.1]:PORT
        .1.3.6.1.2.1.1.3.0 = Timeticks: (N) ...
        .1.3.6.1.6.3.1.1.4.1.0 = OID: .1.3...
        ...one varbind per line (-On -Ox; long hex strings continue on
           following lines)...
        @@END

    notifications() parses that into a list of
        {"trap_oid": "1.3...", "uptime": ticks, "source": "UDP: ...",
         "varbinds": SnmpValues {oid: (type, value)} without sysUpTime.0 and
                     snmpTrapOID.0}
    """

    name = "snmptrapd"
    BEGIN = "@@BEGIN"
    END = "@@END"

    def __init__(self, tmpdir, port=None):
        super().__init__(tmpdir)
        self.port = port
        self.conf_file = self.dir / "snmptrapd.conf"
        self.pid_file = self.dir / "snmptrapd.pid"
        self.state_dir = self.dir / "snmptrapd-state"
        self.state_dir.mkdir(exist_ok=True)

    def start(self, timeout=10):
        self.conf_file.write_text(
            "disableAuthorization yes\n"
            "doNotRetainNotificationLogs yes\n"
            "format2 %s %%b\\n%%V\\n%%v\\n%s\\n\n" % (self.BEGIN, self.END))
        attempts = 1 if self.port else 5
        for _ in range(attempts):
            port = self.port or free_udp_port()
            args = [SNMPTRAPD, "-f", "-Lf", str(self.log_file), "-C", "-c", str(self.conf_file),
                    "-p", str(self.pid_file), "-m", ""] + OUTPUT_OPTIONS + [
                    "udp:127.0.0.1:%d" % port]
            self._spawn(args, env=tool_env(self.state_dir))
            if self._wait_bound(port, timeout):
                self.port = port
                return self
            self.stop()
        raise SnmpError("snmptrapd did not start\n" + self.log_text())

    def _wait_bound(self, port, timeout):
        """snmptrapd answers nothing to probe: wait for its UDP socket."""
        deadline = time.monotonic() + timeout
        hexport = ":%04X" % port
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with open("/proc/net/udp") as f:
                    if any(line.split()[1].endswith(hexport) and
                           line.split()[1].startswith("0100007F") for line in f.readlines()[1:]):
                        return True
            except OSError:
                pass
            time.sleep(0.05)
        return False

    def notifications(self):
        text = ""
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            pass
        return parse_notifications(text)

    def wait_for(self, predicate=None, timeout=10, count=1):
        """Waits until at least `count` notifications satisfy predicate
        (default: any); returns the matching ones. Raises AssertionError."""
        pred = predicate or (lambda n: True)
        return wait_for(lambda: (lambda m: m if len(m) >= count else None)(
            [n for n in self.notifications() if pred(n)]), timeout,
            what="%d notification(s) matching %s; got %s" % (count, pred, "see log"))


def parse_notifications(text):
    out = []
    block = None
    for line in text.splitlines():
        if line.startswith(Snmptrapd.BEGIN):
            block = {"source": line[len(Snmptrapd.BEGIN):].strip(), "lines": []}
        elif line.startswith(Snmptrapd.END) and block is not None:
            vbs = parse_varbinds("\n".join(block["lines"]))
            trap = vbs.pop(SNMP_TRAP_OID, (None, None))[1]
            uptime = vbs.pop(SYS_UPTIME, (None, None))[1]
            vbs.order = [o for o in vbs.order if o not in (SNMP_TRAP_OID, SYS_UPTIME)]
            out.append({"trap_oid": trap, "uptime": uptime, "source": block["source"],
                        "varbinds": vbs})
            block = None
        elif block is not None:
            block["lines"].append(line)
    return out


class Agent(_Process):
    """cupi-snmp-agent with a config file written from config_text (mode
    0600): cupi-snmp-agent [-f] -C -c CONF -Lf LOG [-D TOKENS] -p PIDFILE.

    The process runs in tmpdir; relative_paths=True passes -c/-Lf/-p relative
    to it. foreground=False runs it as a daemon: start() waits for the pid file and
    the daemon's pid is then .pid; stop() signals that pid and waits for it
    to be gone (its exit status cannot be known: returns 0 when it exited
    within the grace period, None otherwise)."""

    name = "agent"
    MARK = "CUPI_TEST_AGENT_MARK"

    def __init__(self, tmpdir, config_text, debug="cupi", foreground=True, extra_args=(),
                 binary=None, conf_name="cupi-snmp-agent.conf", relative_paths=False):
        super().__init__(tmpdir)
        self.binary = Path(binary) if binary else agent_binary()
        self.conf_file = self.dir / conf_name
        self.pid_file = self.dir / "agent.pid"
        self.debug = debug
        self.foreground = foreground
        self.extra_args = list(extra_args)
        self.relative_paths = relative_paths  # -c, -Lf, -p relative to the agent's cwd (dir)
        self.daemon_pid = None
        self.mark = "%d-%d-%s" % (os.getpid(), id(self), time.monotonic_ns())
        self.write_config(config_text)

    def write_config(self, text):
        fd = os.open(self.conf_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(self.conf_file, 0o600)

    def args(self):
        a = [str(self.binary)]
        if self.foreground:
            a.append("-f")
        path = (lambda f: f.name) if self.relative_paths else str
        a += ["-C", "-c", path(self.conf_file), "-Lf", path(self.log_file), "-p",
              path(self.pid_file)]
        if self.debug:
            a += ["-D", self.debug]
        return a + self.extra_args

    def start(self, timeout=10):
        try:
            self.pid_file.unlink()
        except FileNotFoundError:
            pass
        env = tool_env(self.dir / "agent-state")
        env[self.MARK] = self.mark
        self._spawn(self.args(), env=env)
        if not self.foreground:
            code = self.proc.wait(timeout=timeout)  # the parent returns at once
            if code != 0:
                raise SnmpError("daemon start exited %s\n%s" % (code, self.log_text()))
            try:
                pid = wait_for(self.read_pidfile, timeout, what="the agent's pid file")
            except AssertionError:
                self.stop()  # finds the daemon by its marker
                raise
            self.daemon_pid = pid
        return self

    def marked_pids(self):
        """PIDs of live processes carrying this Agent's environment marker
        (the daemon, whatever its pid file says)."""
        needle = ("%s=%s" % (self.MARK, self.mark)).encode()
        pids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open("/proc/%s/environ" % entry, "rb") as f:
                    if needle in f.read().split(b"\0") and _pid_alive(int(entry)):
                        pids.append(int(entry))
            except OSError:
                pass
        return pids

    def read_pidfile(self):
        try:
            text = self.pid_file.read_text().strip()
            return int(text) if text else None
        except (OSError, ValueError):
            return None

    @property
    def pid(self):
        if not self.foreground:
            return self.daemon_pid
        return self.proc.pid if self.proc else None

    def running(self):
        if not self.foreground:
            return bool(self.daemon_pid) and _pid_alive(self.daemon_pid)
        return super().running()

    def _is_ours(self, pid):
        cmd = _cmdline(pid)
        return bool(cmd) and os.path.basename(cmd[0]) == self.binary.name.encode()

    def send_signal(self, sig):
        if self.foreground:
            return super().send_signal(sig)
        if self.daemon_pid and _pid_alive(self.daemon_pid) and self._is_ours(self.daemon_pid):
            os.kill(self.daemon_pid, sig)

    def reload(self):
        """SIGHUP: the agent re-reads its configuration."""
        self.send_signal(signal.SIGHUP)

    def stop(self, grace=10, sig=signal.SIGTERM):
        if self.foreground:
            return super().stop(grace, sig)
        pid, self.daemon_pid = self.daemon_pid, None
        if self._out:
            self._out.close()
            self._out = None
        pids = [pid] if pid and _pid_alive(pid) and self._is_ours(pid) else []
        # a daemon whose pid file went elsewhere (or nowhere) is found by its marker
        pids += [p for p in self.marked_pids() if p not in pids]
        if not pids:
            return None
        for p in pids:
            os.kill(p, sig)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if not any(_pid_alive(p) for p in pids):
                return 0 if pid in pids else None
            time.sleep(0.05)
        for p in pids:
            if _pid_alive(p):
                os.kill(p, signal.SIGKILL)
        return None


# --- configuration text -----------------------------------------------------


def server_lines(index, name, sim=None, url=None, user=None, password=None, ca_file=None,
                 fmt=None, insecure=False, sim_server=None):
    """cupiServer/cupiUser/cupiPassword/cupiCaFile/cupiFormat lines for one
    server; from a CupiSim (sim_helper) when given (its URL, account and CA;
    sim_server picks one of its virtual servers)."""
    if sim is not None:
        url = url or sim.url_of(sim_server)
        user = user or sim.user
        password = sim.password if password is None else password
        if ca_file is None and sim.ca_file:
            ca_file = sim.ca_file
    lines = ["cupiServer %d %s %s" % (index, name, url),
             "cupiUser %d %s" % (index, user or "admin"),
             "cupiPassword %d %s" % (index, password if password is not None else "x")]
    if ca_file:
        lines.append("cupiCaFile %d %s" % (index, ca_file))
    if insecure:
        lines.append("cupiInsecure %d" % index)
    if fmt:
        lines.append("cupiFormat %d %s" % (index, fmt))
    return "\n".join(lines) + "\n"


def agent_config(snmpd, servers=(), poll=None, ttl=None, timeout_ms=None, extra=(),
                 ping=None):
    """A whole agent configuration: agentXSocket of snmpd (a Snmpd or an
    address string), the server blocks (strings from server_lines), and
    cupiPollInterval/cupiCacheTtl/cupiTimeout/agentxPingInterval when given."""
    address = snmpd.agentx if hasattr(snmpd, "agentx") else snmpd
    lines = ["agentXSocket %s" % address]
    if poll is not None:
        lines.append("cupiPollInterval %d" % poll)
    if ttl is not None:
        lines.append("cupiCacheTtl %d" % ttl)
    if timeout_ms is not None:
        lines.append("cupiTimeout %d" % timeout_ms)
    if ping is not None:
        lines.append("agentxPingInterval %d" % ping)
    text = "\n".join(lines) + "\n"
    text += "".join(servers)
    if extra:
        text += "\n".join([extra] if isinstance(extra, str) else list(extra)) + "\n"
    return text
