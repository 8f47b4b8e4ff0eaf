"""contrib/prometheus: generator.yml and the snmp.yml generated from it,
against Debian's prometheus-snmp-generator and prometheus-snmp-exporter.

1. prometheus-snmp-generator regenerates snmp.yml from the committed
   generator.yml and the MIB; any difference from the committed snmp.yml
   fails (the MIB changed and snmp.yml was not regenerated, or the other
   way round).
2. prometheus-snmp-exporter, with the committed snmp.yml, scrapes a real
   snmpd + agent + cupi-sim: every series carries cupiServerName, the values
   are the ones CUPI holds, the status and TruthValue state sets say what
   CUPI holds, sysUpTime is there, and no series carries the smart-host
   password.
3. alerts.yml passes `promtool check rules` and its unit tests
   (`promtool test rules alerts.test.yml`), which cover every alert; the
   Grafana dashboard is well formed and has its datasource and server
   variables.

test_prometheus_live.py runs all of it in a real Prometheus.

Environment: CUPI_BUILD_DIR, CUPI_SOURCE_DIR (see nms_helper).
"""

import json
import re
import shutil
import time
import urllib.error
import urllib.request

import pytest
import yaml

from nms_helper import CONTRIB, Stack, free_tcp_port, mib_dir, run
from snmp_helper import _Process, tool_env, wait_for

GENERATOR = "/usr/bin/prometheus-snmp-generator"
PROMTOOL = "/usr/bin/promtool"
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
        "client": {"smtpSmartHost": "10.9.8.7", "isAuthEnabled": "false"},
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
    return mib_dir(tmp_path_factory.mktemp("prom-mibs"), extra=("SNMPv2-MIB",))


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
    # The change history is events, not series: only its two numbers.
    assert "cupiServerLastChangeIndex" in committed and "cupiChangeHistorySize" in committed
    assert not re.search(r"cupiChange(Time|Object|OldValue|NewValue|Source)\b", committed)
    assert "1.3.6.1.4.1.8072.9999.9999.25.1.4" not in committed


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
        # Enumerations and TruthValues: state sets, the meaning in the label.
        assert value("cupiSmtpServerRequireTlsUntrusted", "1",
                     cupiSmtpServerRequireTlsUntrusted="tlsOptional") == 1
        assert value("cupiSmtpServerRequireTlsUntrusted", "1",
                     cupiSmtpServerRequireTlsUntrusted="tlsNotOffered") == 0
        assert value("cupiSmtpServerAllowUntrusted", "1", cupiSmtpServerAllowUntrusted="true") == 1
        assert value("cupiSmtpServerAllowUntrusted", "1", cupiSmtpServerAllowUntrusted="false") == 0
        assert value("cupiSmtpClientAuthEnabled", "1", cupiSmtpClientAuthEnabled="true") == 1
        assert value("cupiSmtpClientAuthEnabled", "2", cupiSmtpClientAuthEnabled="false") == 1
        # sysUpTime (hundredths of a second) beside cupiServerLastChange.
        assert len(by_name["sysUpTime"]) == 1 and by_name["sysUpTime"][0][1] > 0
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
        for idx in ("1", "2"):
            assert value("cupiServerLastChangeIndex", idx) == 0  # the states were set first
        assert [v for _, v in ours["cupiChangeHistorySize"]] == [100]
        assert not [n for n in ours if n.startswith("cupiChange") and n != "cupiChangeHistorySize"]

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


def test_alert_rules_and_their_unit_tests(tmp_path):
    p = run([PROMTOOL, "check", "rules", PROM / "alerts.yml"], env=tool_env(tmp_path))
    assert p.returncode == 0, p.stdout + p.stderr
    p = run([PROMTOOL, "test", "rules", "alerts.test.yml"], cwd=str(PROM), env=tool_env(tmp_path))
    assert p.returncode == 0 and "SUCCESS" in p.stdout, p.stdout + p.stderr
    # Every alert is tested firing (a test expecting it with labels).
    rules = yaml.safe_load((PROM / "alerts.yml").read_text())
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    records = {r["record"] for g in rules["groups"] for r in g["rules"] if "record" in r}
    tests = yaml.safe_load((PROM / "alerts.test.yml").read_text())["tests"]
    fired = {t["alertname"] for case in tests for t in case.get("alert_rule_test", [])
             if t.get("exp_alerts")}
    quiet = {t["alertname"] for case in tests for t in case.get("alert_rule_test", [])
             if not t.get("exp_alerts")}
    assert len(alerts) >= 7 and alerts == fired == quiet, (alerts, fired, quiet)
    exprs = " ".join(e["expr"] for case in tests for e in case.get("promql_expr_test", []))
    assert all(r in exprs for r in records), records
    # Each alert names the server (or the snmpd) in its summary and description.
    for g in rules["groups"]:
        for r in g["rules"]:
            if "alert" in r:
                for k in ("summary", "description"):
                    assert re.search(r"\$labels\.(cupiServerName|instance)", r["annotations"][k]), (
                        r["alert"], k)


def test_grafana_dashboard_is_well_formed():
    doc = json.loads((CONTRIB / "grafana" / "cupi-smtp.json").read_text())
    variables = {v["name"]: v for v in doc["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert "cupiServerName" in json.dumps(variables["server"]["query"])
    ids = [p["id"] for p in doc["panels"]]
    assert len(ids) == len(set(ids))
    queries = [t["expr"] for p in doc["panels"] for t in p.get("targets", [])]
    assert len(queries) >= 10
    for p in doc["panels"]:
        if p["type"] == "row":
            continue
        assert p["datasource"]["uid"] == "${datasource}", p["title"]
        for t in p["targets"]:
            assert t["datasource"]["uid"] == "${datasource}", p["title"]
            # Every per-server query follows the server variable.
            assert 'cupiServerName=~"$server"' in t["expr"], (p["title"], t["expr"])
    # Every configuration column is shown.
    mib_columns = re.findall(r"^(cupiSmtp(?:Server|Client)\w+) OBJECT-TYPE",
                             (CONTRIB.parent / "mib" / "CUPI-SMTP-MIB.txt").read_text(), re.M)
    shown = " ".join(queries)
    missing = [c for c in mib_columns if c != "cupiSmtpClientPassword" and not c.endswith(
        ("Table", "Entry")) and c not in shown]
    assert not missing, missing
    assert "cupiSmtpClientPassword" not in shown


def value_of(exporter, target, name, index, state):
    for n, labels, v in parse_samples(exporter.scrape(target)):
        if n == name and labels.get("cupiServerIndex") == index and labels.get(name) == state:
            return v
    return None
