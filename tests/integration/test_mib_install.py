"""The MIB for operators: scripts/fetch-ietf-mibs.sh --install, and the
net-snmp tools reading CUPI-SMTP-MIB by name afterwards, labels included.

- --install copies the IETF base modules as world-readable regular files
  (whatever the umask), leaves things alone when net-snmp already finds
  them, and rejects bad usage with status 2;
- after it, with net-snmp configured as Debian ships it (snmp.conf
  `mibs :`) and the install directory and the project's MIB on the MIB
  path, snmptranslate -m +CUPI-SMTP-MIB resolves names and shows
  cupiSmtpServerRequireTlsUntrusted's labels tlsNotOffered(0),
  tlsRequired(1), tlsOptional(2);
- against the agent: snmpget prints tlsOptional(2), snmpset accepts the
  label tlsNotOffered, snmpwalk prints names.

Environment: CUPI_BUILD_DIR, CUPI_SOURCE_DIR (see nms_helper).
"""

import os
import re
import shutil
import stat

import pytest

from nms_helper import FETCH_MIBS, IETF_REQUIRED, MIB_FILE, Stack, run
from snmp_helper import wait_for

MODULE = "CUPI-SMTP-MIB"
TLS = MODULE + "::cupiSmtpServerRequireTlsUntrusted"
TLS_OID = ".1.3.6.1.4.1.8072.9999.9999.25.1.2.1.11"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(ietf install dir, dir holding CUPI-SMTP-MIB as `cmake --install`
    would put it) after fetch-ietf-mibs.sh --install --npm under umask 077."""
    base = tmp_path_factory.mktemp("operator")
    ietf = base / "share" / "snmp" / "mibs" / "ietf"
    p = run(["sh", "-c", 'umask 077; exec sh "$0" --install --npm "$1"', FETCH_MIBS, ietf],
            timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    cupi = base / "cupi-mibs"
    cupi.mkdir()
    shutil.copyfile(MIB_FILE, cupi / MIB_FILE.name)
    return ietf, cupi


def operator_env(tmp_path, mibdirs):
    """net-snmp as Debian configures it (snmp.conf: `mibs :`), no MIBS in
    the environment, MIBDIRS added to the default path."""
    conf = tmp_path / "snmpconf"
    conf.mkdir(exist_ok=True)
    (conf / "snmp.conf").write_text("mibs :\n")
    env = {k: v for k, v in os.environ.items() if k not in ("MIBS", "MIBFILES")}
    env["SNMPCONFPATH"] = str(conf)
    env["SNMP_PERSISTENT_DIR"] = str(conf)
    # One "+" for the whole list: after the default path, so these win.
    env["MIBDIRS"] = "+" + ":".join(str(d) for d in mibdirs)
    return env


def complaints(stderr):
    return [l for l in stderr.splitlines() if l.strip() and not l.startswith("Created directory")]


def test_install_places_readable_files(installed):
    ietf, _ = installed
    for m in IETF_REQUIRED:
        f = ietf / (m + ".txt")
        st = f.lstat()
        assert stat.S_ISREG(st.st_mode), "%s is not a regular file" % f
        assert st.st_mode & 0o444 == 0o444, "%s is not readable by all: %o" % (f, st.st_mode)
        assert re.search(r"(?m)^%s\s+DEFINITIONS" % re.escape(m), f.read_text())
    assert ietf.stat().st_mode & 0o555 == 0o555


def test_install_leaves_alone_what_net_snmp_finds(installed, tmp_path):
    ietf, _ = installed
    target = tmp_path / "elsewhere"
    env = dict(os.environ, CUPI_SYSTEM_MIB_DIRS=str(ietf))
    p = run(["sh", FETCH_MIBS, "--install", target], env=env)
    assert p.returncode == 0, p.stderr
    assert "nothing installed" in p.stdout
    assert not target.exists()


@pytest.mark.parametrize("args", [["--install", "a", "b"], ["--bogus", "d"], []])
def test_usage_errors(args):
    p = run(["sh", FETCH_MIBS] + args)
    assert p.returncode == 2 and "usage:" in p.stderr


def test_snmptranslate_by_name_after_install(installed, tmp_path):
    ietf, cupi = installed
    env = operator_env(tmp_path, [ietf, cupi])
    p = run(["snmptranslate", "-m", "+" + MODULE, "-On", TLS], env=env)
    assert p.returncode == 0 and p.stdout.strip() == TLS_OID, p.stdout + p.stderr
    # "+" also loads net-snmp's default list, which Debian does not ship in
    # main: those may be reported missing, nothing this module needs may.
    for line in complaints(p.stderr):
        assert not re.search(r"SNMPv2-(SMI|TC|CONF)|CUPI-SMTP-MIB|NET-SNMP-MIB", line), p.stderr
    # Without the "+": nothing to complain about at all.
    p = run(["snmptranslate", "-m", MODULE, "-Td", TLS], env=env)
    assert p.returncode == 0 and not complaints(p.stderr), p.stderr
    syntax = re.search(r"SYNTAX\s+INTEGER\s*\{([^}]*)\}", p.stdout).group(1)
    assert re.findall(r"(\w+)\((\d+)\)", syntax) == [
        ("tlsNotOffered", "0"), ("tlsRequired", "1"), ("tlsOptional", "2")]
    # The same, before the install: net-snmp misses the IETF modules (unless
    # this machine has them from elsewhere).
    p = run(["snmptranslate", "-m", MODULE, "-On", TLS], env=operator_env(tmp_path, [cupi]))
    if complaints(p.stderr):
        assert "SNMPv2-SMI" in p.stderr, p.stderr


def test_labels_against_the_agent(installed, tmp_path):
    ietf, cupi = installed
    env = operator_env(tmp_path, [ietf, cupi])
    stack = Stack(tmp_path / "stack", servers=["cuc1"])
    try:
        stack.start(states={"cuc1": {"server": {
            "allowConnectionsFromUntrustedIpAddresses": "true",
            "requireTlsFromUntrustedIpAddresses": "2"}}})
        target = "udp:127.0.0.1:%d" % stack.port

        def get():
            p = run(["snmpget", "-v2c", "-c", "public", "-m", MODULE, target, TLS + ".1"],
                    env=env, timeout=30)
            assert p.returncode == 0 and not complaints(p.stderr), p.stderr
            return p.stdout.strip()

        assert get() == TLS + ".1 = INTEGER: tlsOptional(2)"
        p = run(["snmpset", "-v2c", "-c", "private", "-t", "10", "-r", "0", "-m", MODULE,
                 target, TLS + ".1", "i", "tlsNotOffered"], env=env, timeout=30)
        assert p.returncode == 0, p.stdout + p.stderr
        assert p.stdout.strip() == TLS + ".1 = INTEGER: tlsNotOffered(0)"
        assert stack.sim.state()["server"]["requireTlsFromUntrustedIpAddresses"] == "0"
        wait_for(lambda: get() == TLS + ".1 = INTEGER: tlsNotOffered(0)", 10,
                 what="the GET after the SET")

        p = run(["snmpwalk", "-v2c", "-c", "public", "-m", "+" + MODULE, target,
                 MODULE + "::cupiSmtpObjects"], env=env, timeout=30)
        assert p.returncode == 0, p.stderr
        assert '%s::cupiServerName.1 = STRING: "cuc1"' % MODULE in p.stdout.splitlines() or \
            "%s::cupiServerName.1 = STRING: cuc1" % MODULE in p.stdout.splitlines(), p.stdout
        assert "%s::cupiServerStatus.1 = INTEGER: ok(2)" % MODULE in p.stdout
        assert "%s::cupiSmtpServerAllowUntrusted.1 = INTEGER: true(1)" % MODULE in p.stdout
    finally:
        stack.stop()
