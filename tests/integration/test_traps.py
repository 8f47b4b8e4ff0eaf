"""contrib/snmptrapd: the traphandle example and the SNMPTT configuration,
with a real snmptrapd receiving the agent's notifications.

snmptrapd (numeric OIDs, CUPI-SMTP-MIB loaded for enumeration labels, as
the README recommends) runs three traphandles for every notification:
contrib/snmptrapd/cupi-traphandle, SNMPTT in standalone mode with
contrib/snmptrapd/cupi-smtp.snmptt.conf, and a capture of the raw handler
input. A SET through snmpd causes cupiSmtpServerConfigChanged and CUPI
going away causes cupiServerStatusChanged; each must come out as its
readable line from both handlers. The raw input is what Zabbix's trap
receiver reads too, so the Zabbix template's trap item expressions are
checked on it: each matches its own notification only.

Also: both generated files are what their scripts make of the MIB.

Environment: CUPI_BUILD_DIR, CUPI_SOURCE_DIR (see nms_helper).
"""

import re
import sys

import pytest
import yaml

from nms_helper import CONTRIB, Stack, mib_dir, run
from snmp_helper import (
    SMTP_SERVER_TABLE,
    SNMPTRAPD,
    SnmpError,
    Snmptrapd,
    col,
    free_udp_port,
    snmpset,
    tool_env,
    wait_for,
)

TRAPS = CONTRIB / "snmptrapd"
HANDLER = TRAPS / "cupi-traphandle"
SNMPTT_CONF = TRAPS / "cupi-smtp.snmptt.conf"
SNMPTT = "/usr/sbin/snmptt"
SYSTEM_SNMPTT_INI = "/etc/snmp/snmptt.ini"
ZABBIX_TEMPLATE = CONTRIB / "zabbix" / "template_cupi_smtp_snmp.yaml"
ROOT = "1.3.6.1.4.1.8072.9999.9999.25"
SMART_HOST_PASSWORD = "Trap-Secret-77"


def snmptt_ini(tmp, conf_file):
    """The system snmptt.ini (all of SNMPTT's defaults) with the logs in tmp,
    no syslog, no exec, and only our configuration file."""
    text = open(SYSTEM_SNMPTT_INI).read()
    settings = {"mode": "standalone", "log_enable": "1", "log_file": tmp / "snmptt.log",
                "unknown_trap_log_enable": "1", "unknown_trap_log_file": tmp / "unknown.log",
                "log_system_enable": "0", "syslog_enable": "0", "syslog_system_enable": "0",
                "exec_enable": "0", "pre_exec_enable": "0", "net_snmp_perl_enable": "0",
                # Net::IP is only a Recommends of Debian's snmptt.
                "ipv6_enable": "0", "dns_enable": "0"}
    for k, v in settings.items():
        text, n = re.subn(r"(?m)^%s\s*=.*$" % re.escape(k), "%s = %s" % (k, v), text)
        assert n == 1, "%s: no single %s" % (SYSTEM_SNMPTT_INI, k)
    text, n = re.subn(r"(?ms)^snmptt_conf_files\s*=\s*<<END\n.*?^END$",
                      "snmptt_conf_files = <<END\n%s\nEND" % conf_file, text)
    assert n == 1
    ini = tmp / "snmptt.ini"
    ini.write_text(text)
    return ini


class HandlerTrapd(Snmptrapd):
    """snmptrapd whose notifications go to traphandles (not to its log)."""

    def __init__(self, tmpdir, mibs):
        super().__init__(tmpdir)
        self.mibs = mibs
        self.handler_log = self.dir / "traphandle.log"
        self.snmptt_log = self.dir / "snmptt.log"
        self.raw_log = self.dir / "raw.log"

    def start(self, timeout=10):
        capture = self.dir / "capture.sh"
        capture.write_text("#!/bin/sh\ncat >> '%s'\necho @@END >> '%s'\n" % (self.raw_log,
                                                                         self.raw_log))
        capture.chmod(0o755)
        ini = snmptt_ini(self.dir, SNMPTT_CONF)
        self.conf_file.write_text("\n".join([
            "disableAuthorization yes",
            "doNotRetainNotificationLogs yes",
            "traphandle default %s %s --mib %s --log %s" % (
                sys.executable, HANDLER, self.mibs / "CUPI-SMTP-MIB.txt", self.handler_log),
            "traphandle default %s --ini=%s" % (SNMPTT, ini),
            "traphandle default %s" % capture,
        ]) + "\n")
        for _ in range(5):
            port = free_udp_port()
            self._spawn([SNMPTRAPD, "-f", "-Lf", str(self.log_file), "-C", "-c",
                         str(self.conf_file), "-p", str(self.pid_file), "-On",
                         "-M", str(self.mibs), "-m", "CUPI-SMTP-MIB", "udp:127.0.0.1:%d" % port],
                        env=tool_env(self.state_dir))
            if self._wait_bound(port, timeout):
                self.port = port
                return self
            self.stop()
        raise SnmpError("snmptrapd did not start\n" + self.log_text())

    @staticmethod
    def lines(path):
        try:
            return path.read_text(errors="replace").splitlines()
        except OSError:
            return []

    def raw_blocks(self):
        try:
            text = self.raw_log.read_text(errors="replace")
        except OSError:
            return []
        return [b for b in text.split("@@END\n") if b.strip()]


@pytest.fixture(scope="module")
def mibs(tmp_path_factory):
    return mib_dir(tmp_path_factory.mktemp("trap-mibs"))


def test_generated_snmptt_conf_is_current(tmp_path):
    out = tmp_path / "c.conf"
    p = run([sys.executable, TRAPS / "make_snmptt_conf.py", "-o", out])
    assert p.returncode == 0, p.stderr
    assert out.read_text() == SNMPTT_CONF.read_text(), (
        "contrib/snmptrapd/cupi-smtp.snmptt.conf is not what make_snmptt_conf.py makes of "
        "the MIB: run contrib/snmptrapd/make_snmptt_conf.py")
    events = re.findall(r"(?m)^EVENT (\w+) \.([0-9.]+) ", SNMPTT_CONF.read_text())
    assert events == [("cupiSmtpServerConfigChanged", ROOT + ".0.1"),
                      ("cupiSmtpClientConfigChanged", ROOT + ".0.2"),
                      ("cupiServerStatusChanged", ROOT + ".0.3")]


def zabbix_trap_patterns():
    doc = yaml.safe_load(ZABBIX_TEMPLATE.read_text())
    out = {}
    for item in doc["zabbix_export"]["templates"][0]["items"]:
        # Only the notification items: polled items and the fallback (which
        # takes what no other trap item does) have other keys.
        m = re.fullmatch(r'snmptrap\["(.*)"\]', item["key"])
        if m:
            out[item["name"].split()[-1]] = re.compile(m.group(1))
    assert len(out) == 3, sorted(out)
    return out


def test_notifications_through_traphandle_and_snmptt(tmp_path, mibs):
    stack = Stack(tmp_path, servers=["cuc-paris"], trapd=True,
                  trapd_factory=lambda d: HandlerTrapd(d, mibs))
    trapd = None
    try:
        stack.start(states={"cuc-paris": {
            "server": {"maxNumberConnections": "10",
                       "allowConnectionsFromUntrustedIpAddresses": "false",
                       "requireTlsFromUntrustedIpAddresses": "0"},
            "client": {"smtpPassword": SMART_HOST_PASSWORD}}})
        trapd = stack.trapd

        # A SET: one server-config notification, source snmp(3).
        _, err = snmpset(stack.port,
                         (col(SMTP_SERVER_TABLE, 3, 1), "i", 30),
                         (col(SMTP_SERVER_TABLE, 9, 1), "i", 1),
                         (col(SMTP_SERVER_TABLE, 11, 1), "i", 2), timeout=10)
        assert err == "", err
        line = wait_for(lambda: next((l for l in trapd.lines(trapd.handler_log)
                                      if " cupiSmtpServerConfigChanged " in l), None), 20,
                        what="the traphandle's line for the SET")
        # (further OBJECTS a later MIB revision adds may follow source=)
        assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ 127\.0\.0\.1 cupiSmtpServerConfigChanged "
                        r"server=cuc-paris index=1 source=snmp( \S+)* changed: ", line), line
        # the newest of the three history rows the SET made
        assert " change=3 " in line, line
        changed = dict(kv.split("=", 1) for kv in line.split(" changed: ", 1)[1].split())
        assert changed == {"cupiSmtpServerMaxConnections": "30",
                           "cupiSmtpServerAllowUntrusted": "true",
                           "cupiSmtpServerRequireTlsUntrusted": "tlsOptional"}, line
        tt = wait_for(lambda: next((l for l in trapd.lines(trapd.snmptt_log)
                                    if ROOT + ".0.1 " in l), None), 20,
                      what="SNMPTT's line for the SET")
        assert 'Normal "CUPI SMTP"' in tt
        assert "SMTP server configuration of cuc-paris changed (source snmp, change 3): " in tt, tt
        assert ROOT + ".1.2.1.3.1:30" in tt, tt

        # CUPI goes away: a status notification.
        stack.sim.fault(drop=True)
        line = wait_for(lambda: next((l for l in trapd.lines(trapd.handler_log)
                                      if " cupiServerStatusChanged " in l), None), 30,
                        what="the traphandle's line for the status change")
        assert re.search(r" cupiServerStatusChanged server=cuc-paris index=1 "
                         r"status=unreachable error=\S", line), line
        tt = wait_for(lambda: next((l for l in trapd.lines(trapd.snmptt_log)
                                    if ROOT + ".0.3 " in l), None), 20,
                      what="SNMPTT's line for the status change")
        assert 'Warning "CUPI SMTP"' in tt
        assert "CUPI status of cuc-paris is now unreachable (last error: " in tt, tt
        # snmpd's own coldStart is unknown to SNMPTT; none of ours is.
        assert not [l for l in trapd.lines(trapd.dir / "unknown.log") if ROOT in l]

        # The Zabbix template's trap items: each matches its own only.
        patterns = zabbix_trap_patterns()
        blocks = wait_for(lambda: (lambda b: b if len(b) >= 2 else None)(
            [b for b in trapd.raw_blocks() if ("." + ROOT + ".0.") in b.splitlines()[3]]), 10,
            what="our two raw notifications")
        for block in trapd.raw_blocks():  # snmpd's coldStart: no CUPI item takes it
            if block not in blocks:
                assert not [n for n, rx in patterns.items() if rx.search(block)], block
        seen = set()
        for block in blocks:
            trap_oid = block.splitlines()[3].split()[1].lstrip(".")
            name = {ROOT + ".0.1": "cupiSmtpServerConfigChanged",
                    ROOT + ".0.2": "cupiSmtpClientConfigChanged",
                    ROOT + ".0.3": "cupiServerStatusChanged"}[trap_oid]
            hits = sorted(n for n, rx in patterns.items() if rx.search(block))
            assert hits == [name], (hits, block)
            seen.add(name)
        assert seen == {"cupiSmtpServerConfigChanged", "cupiServerStatusChanged"}

        # No secret in anything the handlers wrote.
        for f in (trapd.handler_log, trapd.snmptt_log, trapd.raw_log, trapd.out_file):
            text = f.read_text(errors="replace") if f.exists() else ""
            assert SMART_HOST_PASSWORD not in text and stack.sim.password not in text, f
    finally:
        stack.stop()


def test_traphandle_ignores_other_notifications(mibs):
    text = ("host\nUDP: [192.0.2.1]:162->[192.0.2.2]:162\n.1.3.6.1.2.1.1.3.0 0:0:00:01.00\n"
            ".1.3.6.1.6.3.1.1.4.1.0 .1.3.6.1.6.3.1.1.5.1\n")
    p = run([sys.executable, HANDLER, "--mib", mibs / "CUPI-SMTP-MIB.txt"], input=text)
    assert p.returncode == 0 and p.stdout == "", p.stdout + p.stderr


def test_traphandle_reads_names_and_numbers_alike(mibs):
    """snmptrapd with or without the MIB loaded: the same line."""
    numeric = ("h\nUDP: [192.0.2.9]:1->[192.0.2.2]:162\n.1.3.6.1.2.1.1.3.0 1\n"
               ".1.3.6.1.6.3.1.1.4.1.0 .%s.0.2\n.%s.1.1.1.2.4 \"cuc 4\"\n.%s.1.1.1.11.4 2\n"
               ".%s.1.3.1.1.4 relay.example.net\n.%s.1.3.1.6.4 \"\"\n") % ((ROOT,) * 5)
    named = ("h\nUDP: [192.0.2.9]:1->[192.0.2.2]:162\nDISMAN-EVENT-MIB::sysUpTimeInstance 1\n"
             "SNMPv2-MIB::snmpTrapOID.0 CUPI-SMTP-MIB::cupiSmtpClientConfigChanged\n"
             "CUPI-SMTP-MIB::cupiServerName.4 cuc 4\n"
             "CUPI-SMTP-MIB::cupiServerLastChangeSource.4 external\n"
             "CUPI-SMTP-MIB::cupiSmtpClientSmartHost.4 relay.example.net\n"
             "CUPI-SMTP-MIB::cupiSmtpClientPassword.4 \n")
    outs = []
    for text in (numeric, named):
        p = run([sys.executable, HANDLER, "--mib", mibs / "CUPI-SMTP-MIB.txt"], input=text)
        assert p.returncode == 0, p.stderr
        outs.append(p.stdout.split(" ", 1)[1])  # without the time stamp
    assert outs[0] == outs[1]
    assert outs[0] == ('192.0.2.9 cupiSmtpClientConfigChanged server="cuc 4" index=4 '
                       'source=external changed: cupiSmtpClientSmartHost=relay.example.net '
                       'cupiSmtpClientPassword=""\n')
