"""A Debian 12 root booted with systemd as PID 1 under systemd-nspawn, for
tests that deploy the packages as an operator would.

    root = debian_root(workdir)  # from the cache, built once with debootstrap
    box = Container(root, log)
    box.boot()                   # systemd up inside, or an exception
    try:
        box.run("systemctl", "is-system-running")
    finally:
        box.poweroff()

The root is built with debootstrap (minbase, plus systemd, snmpd and the
agent's libraries) from the Debian archive this machine's apt sources name,
and kept as a tarball under /var/cache/cupi-snmp-test (CUPI_DEPLOY_CACHE),
keyed by everything that went into it. Each test run unpacks a fresh copy:
snmpd starts for the first time at its boot, as on a server that already
ran SNMP before cupi-snmp came.

The container shares the host's network (no --private-network): programs
on the host's 127.0.0.1 are reachable from inside and the other way round.
Commands run inside through nsenter into the container's PID 1. The
container is stopped by powering it off, then by its nspawn process's PID."""

import fcntl
import glob
import hashlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

CACHE_DIR = Path(os.environ.get("CUPI_DEPLOY_CACHE") or "/var/cache/cupi-snmp-test")
SUITE = "bookworm"
# What an operator's server has before cupi-snmp: systemd, and snmpd
# (installed and started once). The agent's libraries are there too so that
# installing the package needs no download.
INCLUDE = ["systemd", "systemd-sysv", "dbus", "snmpd", "snmp", "adduser", "libcurl4",
           "libxml2", "libcjson1", "libsnmp40", "libssl3"]
RECIPE = 1  # bump when the way the root is made changes
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
BOOT_TIMEOUT_S = 120


class NspawnUnavailable(RuntimeError):
    """systemd-nspawn cannot run a container on this machine: it exited
    before any systemd appeared inside. A container that starts but boots
    too slowly or not at all is a failure (AssertionError), not this."""


def debian_mirror():
    """The Debian archive this machine's apt sources name for SUITE (main),
    not the security archive."""
    files = sorted(glob.glob("/etc/apt/sources.list.d/*.sources")) + \
        ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list"))
    for path in files:
        try:
            text = Path(path).read_text()
        except OSError:
            continue
        if path.endswith(".sources"):  # deb822 stanzas
            for stanza in re.split(r"\n\s*\n", text):
                fields = {}
                for line in stanza.splitlines():
                    m = re.match(r"([A-Za-z-]+):\s*(.*)", line)
                    if m:
                        fields[m.group(1).lower()] = m.group(2).split()
                if ("deb" in fields.get("types", []) and SUITE in fields.get("suites", [])
                        and "main" in fields.get("components", [])):
                    for uri in fields.get("uris", []):
                        if "security" not in uri:
                            return uri
        else:
            for line in text.splitlines():
                m = re.match(r"\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s+(.*)", line)
                if m and m.group(2) == SUITE and "main" in m.group(3).split() \
                        and "security" not in m.group(1):
                    return m.group(1)
    raise RuntimeError("no Debian %s archive in /etc/apt/sources.list*" % SUITE)


def _cache_file(mirror):
    key = hashlib.sha256(repr((RECIPE, SUITE, mirror, INCLUDE)).encode()).hexdigest()[:12]
    return CACHE_DIR / ("debian12-root-%s.tar.zst" % key)


def _build_root(mirror, tarball):
    """debootstrap into a temporary directory, then the tarball (atomically)."""
    work = Path(tempfile.mkdtemp(prefix="cupi-debootstrap-", dir="/var/tmp"))
    try:
        root = work / "root"
        t0 = time.monotonic()
        got = subprocess.run(["debootstrap", "--variant=minbase",
                              "--include=" + ",".join(INCLUDE), SUITE, str(root), mirror],
                             capture_output=True, text=True, timeout=1200)
        if got.returncode != 0:
            raise RuntimeError("debootstrap failed:\n" + got.stdout[-3000:] + got.stderr[-3000:])
        tmp = tarball.with_suffix(".tmp")
        subprocess.run(["tar", "-C", str(root), "--numeric-owner", "--xattrs", "-I", "zstd -T0",
                        "-cf", str(tmp), "."], check=True, capture_output=True)
        os.replace(tmp, tarball)
        print("\nbuilt %s from %s in %.0f s" % (tarball, mirror, time.monotonic() - t0))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def debian_root(workdir):
    """A fresh Debian 12 root in workdir/root, from the cache (built first
    when missing). Returns its path."""
    mirror = debian_mirror()
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    tarball = _cache_file(mirror)
    with open(CACHE_DIR / ".lock", "w") as lock:  # one builder at a time
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not tarball.exists():
            _build_root(mirror, tarball)
    root = Path(workdir) / "root"
    root.mkdir()
    subprocess.run(["tar", "-C", str(root), "--numeric-owner", "--xattrs", "-I", "zstd",
                    "-xpf", str(tarball)], check=True, capture_output=True)
    return root


def _children(pid):
    out = []
    for task in glob.glob("/proc/%d/task/*/children" % pid):
        try:
            out += [int(p) for p in Path(task).read_text().split()]
        except OSError:
            pass
    return out


def _comm(pid):
    try:
        return Path("/proc/%d/comm" % pid).read_text().strip()
    except OSError:
        return None


class Container:
    """The root booted: systemd as the container's PID 1."""

    def __init__(self, root, log_file, name=None):
        self.root = Path(root)
        self.log_file = Path(log_file)
        self.name = name or "cupi-deploy-%d" % os.getpid()
        self.proc = None
        self.leader = None

    def log_text(self):
        try:
            return self.log_file.read_text(errors="replace")
        except OSError:
            return ""

    def boot(self):
        """Starts systemd-nspawn -b and waits until systemd inside says the
        system is up. NspawnUnavailable when systemd-nspawn exits before a
        systemd appears inside (this machine cannot run it); AssertionError,
        with the log's tail, when systemd does not appear or does not come up
        within BOOT_TIMEOUT_S."""
        log = open(self.log_file, "wb")
        # --register=no, --keep-unit: no systemd-machined or D-Bus needed on
        # the host (which may not run systemd itself).
        self.proc = subprocess.Popen(
            ["systemd-nspawn", "--quiet", "--register=no", "--keep-unit", "--boot",
             "--console=passive", "--machine=" + self.name, "--directory=" + str(self.root)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
        log.close()
        deadline = time.monotonic() + BOOT_TIMEOUT_S
        while self.leader is None:
            if self.proc.poll() is not None:
                raise NspawnUnavailable("systemd-nspawn exited with %s:\n%s"
                                        % (self.proc.returncode, self.log_text()[-3000:]))
            if time.monotonic() > deadline:
                self.poweroff()
                raise AssertionError("no systemd inside the container after %d s:\n%s"
                                     % (BOOT_TIMEOUT_S, self.log_text()[-3000:]))
            for pid in _children(self.proc.pid):
                if _comm(pid) == "systemd":
                    self.leader = pid
            time.sleep(0.2)
        state = ""
        while time.monotonic() < deadline:
            got = self.run("systemctl", "is-system-running", check=False, timeout=10)
            state = got.stdout.strip()
            if state in ("running", "degraded"):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.5)
        failed = self.run("systemctl", "--failed", "--no-pager", check=False).stdout \
            if self.proc.poll() is None else ""
        self.poweroff()
        raise AssertionError("systemd in the container never came up (state %r):\n%s\n%s"
                             % (state, failed, self.log_text()[-3000:]))

    def run(self, *cmd, check=True, timeout=120, input=None):
        """cmd inside the container (as root, a clean environment). Returns
        the CompletedProcess; check=True asserts exit status 0."""
        argv = ["nsenter", "--target", str(self.leader), "--all", "--",
                "env", "-i", "PATH=" + PATH, "LANG=C", "HOME=/root", "SYSTEMD_PAGER=",
                "SYSTEMD_COLORS=0", *cmd]
        got = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                             input=input)
        if check:
            assert got.returncode == 0, "%s exited %d\n%s%s" % (
                " ".join(cmd), got.returncode, got.stdout, got.stderr)
        return got

    def sh(self, script, **kw):
        return self.run("sh", "-ec", script, **kw)

    def path(self, inside):
        """A path inside the container as the host sees it."""
        return self.root / inside.lstrip("/")

    def poweroff(self, timeout=60):
        if self.proc is None or self.proc.poll() is not None:
            return
        if self.leader:
            try:
                os.kill(self.leader, signal.SIGRTMIN + 4)  # systemd: poweroff
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            # The container's PID 1 first: its namespace goes with it.
            for pid in (self.leader, self.proc.pid):
                try:
                    os.kill(pid, signal.SIGKILL) if pid else None
                except ProcessLookupError:
                    pass
            self.proc.wait(timeout=30)
