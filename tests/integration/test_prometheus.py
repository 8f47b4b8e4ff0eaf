"""contrib/prometheus: generator.yml and the snmp.yml generated from it,
against Debian's prometheus-snmp-generator and prometheus-snmp-exporter.

1. prometheus-snmp-generator regenerates snmp.yml from the committed
   generator.yml and the MIB; any difference from the committed snmp.yml
   fails (the MIB changed and snmp.yml was not regenerated, or the other
   way round).
2. prometheus-snmp-exporter, with the committed snmp.yml, scrapes a real
   snmpd + agent + cupi-sim: every series carries cupiServerName, the values
   are the ones CUPI holds, the status state set says ok, and no series
   carries the smart-host password.

Environment: CUPI_BUILD_DIR, CUPI_SOURCE_DIR (see nms_helper).
"""

import re
import shutil
import time
import urllib.error
import urllib.request

import pytest

from nms_helper import CONTRIB, Stack, free_tcp_port, mib_dir, run
from snmp_helper import _Process, tool_env, wait_for

GENERATOR = "/usr/bin/prometheus-snmp-generator"
EXPORTER = "/usr/bin/prometheus-snmp-exporter"
PROM = CONTRIB / "prometheus"

STATES = {
    "cuc-paris": {
        "server": {"maxNumberConnections": "37", "domainName": "paris.example.com",
                   "Port": "587", "allowConnectionsFromUntrustedIpAddresses": "true",
                   "requireTlsFromUntrustedIpAddresses": "2"},
        "client": {"smtpSmartHost": "relay.example.net", "isAuthEnabled": "true",
                   "smtpUsername": "mailer", "smtpPassword": "Never-Scraped-42"},
    },
    "cuc-lyon": {
        "server": {"maxNumberConnections": "11", "domainName": "lyon.example.com"},
        "client": {"smtpSmartHost": "10.9.8.7"},
    },
}


class Exporter(_Process):
    """prometheus-snmp-exporter on 127.0.0.1:PORT, stopped by its PID."""

    name = "snmp_exporter"

    def start(self, config, timeout=15):
        for _ in range(5):
            self.port = free_tcp_port()
            self._spawn([EXPORTER, "--config.file=%s" % config,
                         "--web.listen-address=127.0.0.1:%d" % self.port],
                        env=tool_env(self.dir / "state"))
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    with urllib.request.urlopen("http://127.0.0.1:%d/" % self.port, timeout=2):
                        return self
                except (OSError, urllib.error.URLError):
                    time.sleep(0.1)
            self.stop()
        raise AssertionError("snmp_exporter did not start:\n" + self.log_text())

    def scrape(self, target, module="cupi_smtp"):
        url = "http://127.0.0.1:%d/snmp?module=%s&target=%s" % (self.port, module, target)
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.read().decode()


_SAMPLE = re.compile(r'^(\w+)(?:\{(.*)\})?\s+(\S+)$')
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse_samples(text):
    """[(name, {label: value}, float)] of a Prometheus text exposition."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        assert m, "unparsable exposition line: %r" % line
        labels = dict(_LABEL.findall(m.group(2) or ""))
        out.append((m.group(1), labels, float(m.group(3))))
    return out


@pytest.fixture(scope="module")
def mibs(tmp_path_factory):
    return mib_dir(tmp_path_factory.mktemp("prom-mibs"))


def test_snmp_yml_is_what_the_generator_makes(tmp_path, mibs):
    work = tmp_path / "gen"
    work.mkdir()
    shutil.copyfile(PROM / "generator.yml", work / "generator.yml")
    env = tool_env(tmp_path / "netsnmp")
    env["MIBDIRS"] = str(mibs)
    p = run([GENERATOR, "generate", "--fail-on-parse-errors", "-o", work / "snmp.yml"],
            cwd=str(work), env=env)
    assert p.returncode == 0, "generator failed:\n%s%s" % (p.stdout, p.stderr)
    fresh = (work / "snmp.yml").read_text()
    committed = (PROM / "snmp.yml").read_text()
    assert fresh == committed, (
        "contrib/prometheus/snmp.yml differs from what prometheus-snmp-generator makes of "
        "generator.yml and the MIB; regenerate it (see generator.yml)")
    # What the module must be, whatever the generator's version.
    assert "cupi_smtp:\n" in committed
    assert "cupiSmtpClientPassword" not in committed
    assert "1.3.6.1.4.1.8072.9999.9999.25.1.3.1.6" not in committed


def test_exporter_config_is_valid(tmp_path):
    p = run([EXPORTER, "--dry-run", "--config.file=%s" % (PROM / "snmp.yml")],
            env=tool_env(tmp_path))
    assert p.returncode == 0, p.stdout + p.stderr


def test_scrape_through_exporter(tmp_path):
    stack = Stack(tmp_path, servers=list(STATES))
    exporter = Exporter(tmp_path / "exporter")
    try:
        stack.start(states=STATES)
        exporter.start(PROM / "snmp.yml")
        target = "127.0.0.1:%d" % stack.port

        def scraped():
            s = parse_samples(exporter.scrape(target))
            return s if any(n == "cupiSmtpClientSmartHost" for n, _, _ in s) else None

        samples = wait_for(scraped, 20, what="a scrape with both config tables")
        by_name = {}
        for name, labels, value in samples:
            by_name.setdefault(name, []).append((labels, value))
        ours = {n: v for n, v in by_name.items() if n.startswith("cupi")}

        # Every series of a table (scalars have no index) names its server.
        names = {"1": "cuc-paris", "2": "cuc-lyon"}
        tabular = 0
        for name, series in ours.items():
            for labels, _ in series:
                if "cupiServerIndex" in labels:
                    tabular += 1
                    assert labels.get("cupiServerName") == names[labels["cupiServerIndex"]], (
                        name, labels)
        assert tabular >= 2 * 25, tabular

        def value(name, index, **match):
            got = [v for l, v in ours.get(name, [])
                   if l["cupiServerIndex"] == index and all(l.get(k) == w for k, w in match.items())]
            assert len(got) == 1, "%s.%s %s: %s" % (name, index, match, ours.get(name))
            return got[0]

        assert value("cupiSmtpServerMaxConnections", "1") == 37
        assert value("cupiSmtpServerMaxConnections", "2") == 11
        assert value("cupiSmtpServerPort", "1") == 587
        assert value("cupiSmtpServerRequireTlsUntrusted", "1") == 2
        assert value("cupiSmtpServerAllowUntrusted", "1") == 1  # TruthValue true(1)
        assert value("cupiSmtpServerDomainName", "1",
                     cupiSmtpServerDomainName="paris.example.com") == 1
        assert value("cupiSmtpClientSmartHost", "2", cupiSmtpClientSmartHost="10.9.8.7") == 1
        assert value("cupiSmtpClientUsername", "1", cupiSmtpClientUsername="mailer") == 1
        for idx in ("1", "2"):
            assert value("cupiServerStatus", idx, cupiServerStatus="ok") == 1
            assert value("cupiServerStatus", idx, cupiServerStatus="unreachable") == 0
            age = value("cupiServerDataAge", idx)
            assert 0 <= age < 4294967295, age  # read at least once
            assert value("cupiServerRequests", idx) >= 2
        assert value("cupiServerUrl", "1", cupiServerUrl=stack.sim.url_of("cuc-paris")) == 1

        # The password: no series, and its value nowhere in the scrape.
        assert "cupiSmtpClientPassword" not in ours
        assert "cupiServerIndex" not in ours
        text = exporter.scrape(target)
        assert "Never-Scraped-42" not in text
        assert "1.3.6.1.4.1.8072.9999.9999.25.1.3.1.6" not in text

        # A server that went away: the state set follows.
        stack.sim.fault(server="cuc-lyon", drop=True)
        wait_for(lambda: value_of(exporter, target, "cupiServerStatus", "2",
                                  "unreachable") == 1, 30,
                 what="cupiServerStatus{cupiServerStatus=unreachable} of cuc-lyon")
    finally:
        exporter.stop()
        stack.stop()


def value_of(exporter, target, name, index, state):
    for n, labels, v in parse_samples(exporter.scrape(target)):
        if n == name and labels.get("cupiServerIndex") == index and labels.get(name) == state:
            return v
    return None
