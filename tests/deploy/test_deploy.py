"""The README's "Deploy", step by step, on a stock Debian 12 with systemd as
PID 1 (systemd-nspawn) where snmpd is installed and already ran once:
install the package built by scripts/package.sh, name two CUPI servers
(cupi-sim on the host's 127.0.0.1), restart snmpd, start the agent, both
rows ok over SNMPv3 with the MIB's names, a SET that reaches CUPI, reloads
with a good and a broken configuration, a restart with a broken one, kill -9
and systemd's restart, the unit's systemd-analyze security figure, purge.

The steps are the tests of this module, in this order, on one container.
Skipped (with the reason in the summary, "DEPLOY TEST SKIPPED") only where
systemd-nspawn cannot boot a container: not root, or no container support.

Environment: CUPI_BUILD_DIR (cupi-sim), CUPI_SOURCE_DIR; CUPI_DEPLOY_CACHE
(default /var/cache/cupi-snmp-test) keeps the Debian root between runs."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "integration"))

from nspawn_helper import CACHE_DIR, Container, NspawnUnavailable, debian_root  # noqa: E402
from sim_helper import CupiSim  # noqa: E402
from snmp_helper import free_udp_port, wait_for  # noqa: E402

SOURCE_DIR = Path(os.environ.get("CUPI_SOURCE_DIR") or HERE.parents[1])
SKIP = "DEPLOY TEST SKIPPED: "
UNIT = "cupi-snmp-agent"
CONF = "/etc/snmp/cupi-snmp-agent.conf"
USER = "_cupi-snmp"
V3 = ["-v3", "-l", "authPriv", "-u", "cupiadmin", "-a", "SHA", "-A", "deploy-auth-passphrase",
      "-x", "AES", "-X", "deploy-priv-passphrase", "-t", "30", "-r", "0"]
# What an operator adds for the NMS (README step 4), in a file of its own.
ACCESS_CONF = """\
createUser cupiadmin SHA "deploy-auth-passphrase" AES "deploy-priv-passphrase"
view   cupiRead   included  .1.3.6.1.4.1.8072.9999.9999.25
view   cupiRead   included  .1.3.6.1.2.1.1
view   cupiWrite  included  .1.3.6.1.4.1.8072.9999.9999.25
group  cupiAdmins usm       cupiadmin
access cupiAdmins ""        usm    priv   exact   cupiRead  cupiWrite  none
"""


def wait_until(fn, timeout, what):
    """snmp_helper.wait_for at the pace of commands run in the container."""
    return wait_for(fn, timeout, interval=0.5, what=what)


class Deployment:
    def __init__(self, box, sim, port):
        self.box, self.sim, self.port = box, sim, port
        self.notes = []

    def show(self, prop):
        return self.box.run("systemctl", "show", "-p", prop, "--value", UNIT).stdout.strip()

    def journal(self):
        return self.box.run("journalctl", "-u", UNIT, "--no-pager", "-o", "cat").stdout

    def snmp(self, tool, *args, check=True):
        return self.box.run(tool, *V3, "-m", "+CUPI-SMTP-MIB", "127.0.0.1:%d" % self.port,
                            *args, check=check, timeout=60)

    def statuses(self):
        got = self.snmp("snmpget", "CUPI-SMTP-MIB::cupiServerStatus.1",
                        "CUPI-SMTP-MIB::cupiServerStatus.2", check=False)
        return got.stdout if got.returncode == 0 else ""

    def both_ok(self, timeout=60):
        def ok():
            out = self.statuses()
            return out if out.count("ok(2)") == 2 else None
        return wait_until(ok, timeout, "both cupiServerStatus ok(2): %s" % self.statuses())


def prerequisites():
    """Only "cannot run here" skips; a missing tool that scripts/deps.sh
    installs is a failure."""
    if os.geteuid() != 0:
        pytest.skip(SKIP + "systemd-nspawn and debootstrap need root")
    for tool in ("systemd-nspawn", "debootstrap", "nsenter", "zstd", "dpkg-deb"):
        assert shutil.which(tool), "%s missing: scripts/deps.sh installs it" % tool


@pytest.fixture(scope="module")
def dep():
    prerequisites()
    t0 = time.monotonic()
    warm = any(CACHE_DIR.glob("debian12-root-*.tar.zst"))
    work = Path(tempfile.mkdtemp(prefix="cupi-deploy-", dir="/var/tmp"))
    sim = box = None
    try:
        dist = work / "dist"
        got = subprocess.run([str(SOURCE_DIR / "scripts" / "package.sh"), "--no-rpm"],
                             env=dict(os.environ, CUPI_DIST_DIR=str(dist)),
                             capture_output=True, text=True, timeout=900)
        assert got.returncode == 0, got.stderr[-3000:]
        debs = {p.name.split("_")[0]: p for p in dist.glob("*.deb")}
        t_pkg = time.monotonic()
        root = debian_root(work)
        t_root = time.monotonic()

        # The one change to the stock root: snmpd on a free port of the
        # shared loopback rather than 161 (other tests run beside this one).
        port = free_udp_port()
        (root / "etc/snmp/snmpd.conf.d/00-test-address.conf").write_text(
            "agentaddress udp:127.0.0.1:%d\n" % port)
        for d in debs.values():
            shutil.copy(d, root / "root")
        mibs = work / "ietf-mibs"
        got = subprocess.run([str(SOURCE_DIR / "scripts" / "fetch-ietf-mibs.sh"), str(mibs)],
                             capture_output=True, text=True, timeout=300)
        assert got.returncode == 0, "the IETF MIBs for the test: " + got.stderr
        shutil.copytree(mibs, root / "root" / "ietf-mibs", symlinks=False)

        sim = CupiSim(work / "sim")
        sim.start(servers=["cuc1", "cuc2"])
        box = Container(root, work / "nspawn.log")
        try:
            box.boot()
        except NspawnUnavailable as e:
            pytest.skip(SKIP + "systemd-nspawn cannot run a container here: %s" % e)
        t_boot = time.monotonic()
        d = Deployment(box, sim, port)
        yield d
        print("\n\ndeploy test (%s root cache): %.0f s in all; packages %.0f s, root %.0f s, "
              "boot %.0f s, steps %.0f s" % (
                  "warm" if warm else "cold", time.monotonic() - t0, t_pkg - t0,
                  t_root - t_pkg, t_boot - t_root, time.monotonic() - t_boot))
        for n in d.notes:
            print(n)
    finally:
        if box:
            box.poweroff()
        if sim:
            sim.stop()
        shutil.rmtree(work, ignore_errors=True)


# --- README "Deploy", in its order -----------------------------------------------


def test_step1_install_the_package(dep):
    box = dep.box
    # snmpd ran once at boot with Debian's "master agentx": its 0700 directory.
    assert box.run("stat", "-c", "%a %U", "/var/agentx").stdout.split() == ["700", "root"]
    got = box.sh("cd /root && apt-get install -y ./cupi-snmp_*.deb", timeout=300)
    out = got.stdout + got.stderr
    assert "/var/agentx was 0700 (made so by snmpd); now 0755" in out, out
    assert "systemctl restart snmpd" in out  # the next steps, printed
    assert box.run("stat", "-c", "%a %U", "/var/agentx").stdout.split() == ["755", "root"]
    assert box.run("getent", "passwd", USER).returncode == 0
    assert box.run("stat", "-c", "%a %U", "/var/lib/cupi-snmp").stdout.split() == ["750", USER]
    # Enabled, not started: no server is named yet.
    assert box.run("systemctl", "is-enabled", UNIT).stdout.strip() == "enabled"
    assert box.run("systemctl", "is-active", UNIT, check=False).stdout.strip() == "inactive"
    # The agent's package pulls no web server: cupi-sim is a package of its own.
    assert box.run("dpkg-query", "-W", "libmicrohttpd12", check=False).returncode != 0
    snippet = box.path("/etc/snmp/snmpd.conf.d/cupi-snmp.conf").read_text()
    assert "agentXPerms 0660 0755 Debian-snmp _cupi-snmp" in snippet
    assert re.search(r"^agentxRetries 0$", snippet, re.M)


def test_step2_name_the_servers(dep):
    box, sim = dep.box, dep.sim
    shutil.copy(sim.ca_file, box.path("/etc/snmp/cuc-ca.pem"))
    lines = []
    for i, name in ((1, "cuc1"), (2, "cuc2")):
        pw = "/etc/snmp/%s.pw" % name
        box.run("install", "-m", "0600", "-o", USER, "-g", USER, "/dev/null", pw)
        # The password through stdin, never on a command line.
        box.sh("cat > %s" % pw, input=sim.password + "\n")
        lines += ["cupiServer       %d %s %s" % (i, name, sim.url_of(name)),
                  "cupiUser         %d %s" % (i, sim.user),
                  "cupiPasswordFile %d %s" % (i, pw),
                  "cupiCaFile       %d /etc/snmp/cuc-ca.pem" % i]
    with open(box.path(CONF), "a") as f:
        f.write("\n" + "\n".join(lines) + "\n")
    got = box.run("runuser", "-u", USER, "--", "cupi-snmp-agent", "-t")
    assert "configuration OK: 2 servers" in got.stderr, got.stderr
    got = box.run("runuser", "-u", USER, "--", "cupictl", "-s", "cuc1", "get", "server")
    assert got.stdout.strip(), got.stderr


def test_step3_snmpd_access_for_the_nms(dep):
    dep.box.path("/etc/snmp/snmpd.conf.d/cupi-access.conf").write_text(ACCESS_CONF)


def test_step4_a_start_before_snmpd_reread_says_why(dep):
    """Started before snmpd re-read its configuration: "activating", and the
    status line and the journal say why, once."""
    box = dep.box
    box.run("systemctl", "start", "--no-block", UNIT)
    want = "AgentX: cannot connect to /var/agentx/master: Permission denied (see agentXPerms)"
    wait_until(lambda: dep.show("StatusText") == want, 30,
               "status %r" % dep.show("StatusText"))
    assert dep.show("ActiveState") == "activating"
    time.sleep(6)  # a retry more, with the same reason
    lines = [l for l in dep.journal().splitlines() if "cannot connect to /var/agentx/master" in l]
    assert len(lines) == 1, dep.journal()
    assert "agentXPerms" in lines[0] and "_cupi-snmp" in lines[0]


def test_step4_start(dep):
    box = dep.box
    box.run("systemctl", "restart", "snmpd")
    box.run("systemctl", "start", UNIT, timeout=60)  # returns once ready
    assert dep.show("ActiveState") == "active"
    assert box.run("stat", "-c", "%a %U %G", "/var/agentx/master").stdout.split() == [
        "660", "Debian-snmp", USER]
    wait_until(lambda: dep.show("StatusText") ==
               "AgentX: connected to /var/agentx/master; 2 servers: 2 ok", 60,
               "status %r" % dep.show("StatusText"))
    status = box.run("systemctl", "status", UNIT, "--no-pager", check=False).stdout
    assert "Status: \"AgentX: connected to /var/agentx/master; 2 servers: 2 ok\"" in status
    assert "CUPI-SMTP-MIB registered" in dep.journal()


def test_step5_names_and_rows_over_snmpv3(dep):
    box = dep.box
    got = box.run("cupi-snmp-install-mibs", "/root/ietf-mibs")
    assert "CUPI-SMTP-MIB loads" in got.stdout
    assert dep.both_ok().count("CUPI-SMTP-MIB::cupiServerStatus.") == 2
    walk = dep.snmp("snmpwalk", "CUPI-SMTP-MIB::cupiServerName").stdout
    assert "cupiServerName.1 = STRING: cuc1" in walk and "cupiServerName.2 = STRING: cuc2" in walk


def test_step5_a_set_reaches_cupi(dep):
    before = dep.sim.state(server="cuc1")["server"]["maxNumberConnections"]
    new = "31" if before != "31" else "32"
    got = dep.snmp("snmpset", "CUPI-SMTP-MIB::cupiSmtpServerMaxConnections.1", "i", new)
    assert "INTEGER: %s" % new in got.stdout
    assert dep.sim.state(server="cuc1")["server"]["maxNumberConnections"] == new


def test_step6_reload_good_then_broken(dep):
    box = dep.box
    pid = dep.show("MainPID")
    conf = box.path(CONF)
    good = conf.read_text()
    conf.write_text(good + "cupiPollInterval 30\n")
    box.run("systemctl", "reload", UNIT)
    wait_until(lambda: "configuration reloaded, 2 server(s)" in dep.journal(), 10,
               "the reload in the journal")

    broken_line = len((good + "cupiPollInterval 30\n").splitlines()) + 1
    conf.write_text(good + "cupiPollInterval 30\ncupiPollIntervall 30\n")
    got = box.run("systemctl", "reload", UNIT, check=False)
    assert got.returncode != 0, "a broken configuration reloaded"
    assert '%s:%d: unknown directive "cupiPollIntervall"' % (CONF, broken_line) in dep.journal()
    # The running agent keeps its configuration and keeps answering.
    assert dep.show("MainPID") == pid and dep.show("ActiveState") == "active"
    dep.both_ok(10)
    conf.write_text(good)


def test_step6_a_broken_configuration_does_not_loop(dep):
    box = dep.box
    conf = box.path(CONF)
    good = conf.read_text()
    conf.write_text(good + "cupiPollIntervall 30\n")
    got = box.run("systemctl", "restart", UNIT, check=False, timeout=60)
    assert got.returncode != 0
    time.sleep(12)  # RestartSec=5: two restarts would have come by now
    assert dep.show("ActiveState") == "failed", dep.show("ActiveState")
    n = int(dep.show("NRestarts"))
    dep.notes.append("restart with a broken configuration: NRestarts=%d, then failed" % n)
    assert n == 0, dep.journal()[-2000:]
    conf.write_text(good)
    box.run("systemctl", "start", UNIT, timeout=60)
    dep.both_ok()


def test_step7_kill_9_and_systemd_restarts_it(dep):
    box = dep.box
    pid = dep.show("MainPID")
    box.sh("kill -9 %s" % pid)  # the shell's kill: no procps in a minimal system
    wait_until(lambda: dep.show("ActiveState") == "active" and dep.show("MainPID") not in
               (pid, "0"), 30, "a new agent")
    assert int(dep.show("NRestarts")) >= 1
    dep.both_ok()


def test_step7_unit_security_exposure(dep):
    got = dep.box.run("systemd-analyze", "security", UNIT, "--no-pager")
    m = re.search(r"Overall exposure level for %s\.service: (\d+\.\d+) (\S+)" % UNIT, got.stdout)
    assert m, got.stdout
    dep.notes.append("systemd-analyze security %s: %s %s" % (UNIT, m.group(1), m.group(2)))
    assert float(m.group(1)) <= 2.0


def test_step8_purge(dep):
    box = dep.box
    got = box.run("apt-get", "purge", "-y", "cupi-snmp", timeout=300)
    out = got.stdout + got.stderr
    assert "cupi-snmp purged. Left in place" in out, out
    for what in ("_cupi-snmp", "password files", "/etc/snmp/snmpd.conf", "cupiStateFile"):
        assert what in out, what
    for gone in (CONF, "/etc/snmp/snmpd.conf.d/cupi-snmp.conf", "/var/lib/cupi-snmp",
                 "/lib/systemd/system/cupi-snmp-agent.service", "/usr/sbin/cupi-snmp-agent"):
        assert not box.path(gone).exists(), gone
    assert box.run("stat", "-c", "%a", "/var/agentx").stdout.strip() == "700"
    assert box.run("getent", "passwd", USER).returncode == 0  # Debian keeps system users
    assert box.run("systemctl", "is-active", UNIT, check=False).stdout.strip() != "active"
    assert box.run("dpkg-query", "-W", "-f", "${Status}", "cupi-snmp",
                   check=False).stdout.strip() in ("", "unknown ok not-installed")
