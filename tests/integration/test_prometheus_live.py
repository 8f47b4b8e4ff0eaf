"""contrib/prometheus and contrib/grafana in a real Prometheus: Debian's
prometheus (own free port, own data directory, 1 s scrape and rule
intervals) scrapes Debian's prometheus-snmp-exporter (own free port, the
committed snmp.yml) in front of snmpd + agent + cupi-sim, with the committed
alerts.yml, its durations shortened in a copy (minutes become seconds).

One set-up, then in order:
  1. healthy: no alert, every series named; the numbers measured (series
     per server, scrape time) are printed;
  2. untrusted senders allowed without authentication and TLS (a change
     made in CUPI): both untrusted alerts and CupiSmtpConfigChanged
     (external) fire; fixed, the untrusted alerts resolve; a SET through the
     agent: CupiSmtpConfigChanged (snmp); both resolve once the window
     passes;
  3. every query of every panel of the Grafana dashboard, its variables
     substituted, returns data;
  4. a timeout fault on one server: CupiSmtpServerNotOk and
     CupiSmtpDataTooOld fire, and the server's series stay the same while
     the fault lasts; cleared, both resolve;
  5. the agent stopped: CupiSmtpAgentMissing fires and the per-server alerts
     stay quiet; started again, it resolves, and the time since the last
     change (sysUpTime - cupiServerLastChange) is right after a change;
  6. snmpd stopped: CupiSmtpScrapeFailing fires; started again, it resolves.

It runs once per CI run (ctest name once.test_prometheus_live), outside the
sanitizer pass: it judges the contrib files, not the agent's memory.

Environment: CUPI_BUILD_DIR, CUPI_SOURCE_DIR (see nms_helper).
"""

import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
import yaml

from nms_helper import CONTRIB, Stack, free_tcp_port
from snmp_helper import SMTP_SERVER_TABLE, _Process, col, snmpset, tool_env, wait_for
from test_prometheus import PROM, Exporter

PROMETHEUS = "/usr/bin/prometheus"
DASHBOARD = CONTRIB / "grafana" / "cupi-smtp.json"
JOB = "cupi-smtp"
TIMEOUT_MS = 500

STATES = {
    "cuc-paris": {"server": {"allowConnectionsFromUntrustedIpAddresses": "false",
                             "requireAuthenticationFromUntrustedIpAddresses": "false",
                             "requireTlsFromUntrustedIpAddresses": "0"}},
    "cuc-lyon": {"server": {"allowConnectionsFromUntrustedIpAddresses": "false",
                            "requireAuthenticationFromUntrustedIpAddresses": "false",
                            "requireTlsFromUntrustedIpAddresses": "0"}},
}
ALERTS = ("CupiSmtpServerNotOk", "CupiSmtpDataTooOld", "CupiSmtpConfigChanged",
          "CupiSmtpUntrustedWithoutAuth", "CupiSmtpUntrustedWithoutTls", "CupiSmtpAgentMissing",
          "CupiSmtpScrapeFailing")


def shortened_rules(src, dest):
    """alerts.yml with minutes made seconds: every `for`, every range and the
    data-age threshold (900 s -> 15 s). Each substitution must apply, so a
    change of alerts.yml cannot silently leave a rule unshortened."""
    doc = yaml.safe_load(src.read_text())
    applied = set()
    for group in doc["groups"]:
        for rule in group["rules"]:
            if "for" in rule:
                m = re.fullmatch(r"(\d+)m", rule["for"])
                assert m, rule
                rule["for"] = "%ss" % m.group(1)
                applied.add(rule["alert"])
            expr = rule["expr"]
            expr = re.sub(r"\[(\d+)m\]", r"[\1s]", expr)
            expr = expr.replace("cupiServerDataAge > 900", "cupiServerDataAge > 15")
            if expr != rule["expr"]:
                applied.add(rule.get("alert") or rule.get("record"))
            rule["expr"] = expr
    names = {r.get("alert") for g in doc["groups"] for r in g["rules"]} - {None}
    assert names == set(ALERTS), names
    assert applied == set(ALERTS), set(ALERTS) - applied
    dest.write_text(yaml.safe_dump(doc, sort_keys=False))
    return dest


class Prometheus(_Process):
    """prometheus on 127.0.0.1:PORT with its own data directory, stopped by
    its PID."""

    name = "prometheus"

    def start(self, config, timeout=30):
        for _ in range(5):
            self.port = free_tcp_port()
            self._spawn([PROMETHEUS, "--config.file=%s" % config,
                         "--storage.tsdb.path=%s" % (self.dir / "data"),
                         "--web.listen-address=127.0.0.1:%d" % self.port,
                         "--storage.tsdb.retention.time=1h", "--log.level=warn"],
                        env=tool_env(self.dir / "env"))
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    with urllib.request.urlopen(self.url("/-/ready"), timeout=2) as r:
                        if r.status == 200:
                            return self
                except (OSError, urllib.error.URLError):
                    pass
                time.sleep(0.2)
            self.stop()
        raise AssertionError("prometheus did not start:\n" + self.log_text())

    def url(self, path, **params):
        q = ("?" + urllib.parse.urlencode(params, doseq=True)) if params else ""
        return "http://127.0.0.1:%d%s%s" % (self.port, path, q)

    def api(self, path, **params):
        with urllib.request.urlopen(self.url("/api/v1/" + path, **params), timeout=10) as r:
            doc = json.load(r)
        assert doc["status"] == "success", doc
        return doc["data"]

    def query(self, expr, at=None):
        params = {"query": expr}
        if at is not None:
            params["time"] = "%.3f" % at
        data = self.api("query", **params)
        assert data["resultType"] == "vector", (expr, data)
        return data["result"]

    def alerts(self, name, state="firing"):
        return [a for a in self.api("alerts")["alerts"]
                if a["labels"]["alertname"] == name and a["state"] == state]


def prometheus_config(path, rules, exporter_port, snmpd_port):
    cfg = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(rules)],
        "scrape_configs": [{
            "job_name": JOB,
            "metrics_path": "/snmp",
            "params": {"module": ["cupi_smtp"]},
            "static_configs": [{"targets": ["127.0.0.1:%d" % snmpd_port]}],
            "relabel_configs": [
                {"source_labels": ["__address__"], "target_label": "__param_target"},
                {"source_labels": ["__param_target"], "target_label": "instance"},
                {"target_label": "__address__", "replacement": "127.0.0.1:%d" % exporter_port},
            ],
        }],
    }
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def dashboard_queries():
    """(panel title, expr) of every target of every panel, variables
    substituted as Grafana would with every server selected."""
    doc = json.loads(DASHBOARD.read_text())
    names = {v["name"] for v in doc["templating"]["list"]}
    assert {"datasource", "server"} <= names, names
    out = []
    for p in doc["panels"]:
        for t in p.get("targets", []):
            expr = t["expr"].replace("$server", ".*").replace("$__rate_interval", "20s")
            assert "$" not in expr, (p["title"], expr)
            out.append((p["title"], expr))
    return out


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("prom-live")
    stack = Stack(tmp, servers=list(STATES))
    exporter = Exporter(tmp / "exporter")
    prom = Prometheus(tmp / "prometheus")
    try:
        stack.start(states=STATES, timeout_ms=TIMEOUT_MS)
        exporter.start(PROM / "snmp.yml")
        rules = shortened_rules(PROM / "alerts.yml", tmp / "alerts-short.yml")
        conf = prometheus_config(tmp / "prometheus.yml", rules, exporter.port, stack.port)
        prom.start(conf)
        yield stack, exporter, prom
    finally:
        prom.stop()
        exporter.stop()
        stack.stop()


def firing(prom, name, timeout, **labels):
    """Waits for alert `name` firing with these labels; returns it."""
    def found():
        for a in prom.alerts(name):
            if all(a["labels"].get(k) == v for k, v in labels.items()):
                return a
        return None
    return wait_for(found, timeout, interval=0.5, what="%s %s firing" % (name, labels))


def resolved(prom, name, timeout, **labels):
    def gone():
        return not [a for a in prom.alerts(name, state="firing") + prom.alerts(name, "pending")
                    if all(a["labels"].get(k) == v for k, v in labels.items())]
    wait_for(gone, timeout, interval=0.5, what="%s %s resolved" % (name, labels))


def names_the_server(alert, server):
    ann = alert["annotations"]
    assert server in ann["summary"] and server in ann["description"], alert


def scraped(server):
    """The selector of a server's scraped series (not rule results)."""
    return '{job="%s", cupiServerName="%s", __name__=~"cupi[A-Z].*"}' % (JOB, server)


def series_of(prom, server, at):
    return {tuple(sorted(s["metric"].items())) for s in prom.query(scraped(server), at=at)}


def test_alerts_dashboard_and_series_in_prometheus(lab):
    stack, _, prom = lab
    t_start = time.monotonic()

    # --- 1. healthy -----------------------------------------------------
    wait_for(lambda: len(prom.query('cupiServerStatus{cupiServerStatus="ok"} == 1')) == 2, 30,
             what="both servers ok in Prometheus")
    wait_for(lambda: prom.query("sysUpTime"), 10, what="sysUpTime scraped")
    time.sleep(3)  # a few rule evaluations
    active = [a["labels"]["alertname"] for a in prom.api("alerts")["alerts"]]
    assert active == [], active
    per_server = {s: len(series_of(prom, s, None)) for s in STATES}
    per_target = len(prom.query('{job="%s"}' % JOB))
    scrape = prom.query('max_over_time(scrape_duration_seconds{job="%s"}[10s])' % JOB)
    print("series per server: %s; per target in all: %d; slowest scrape of the last 10 s: "
          "%.3f s" % (per_server, per_target, float(scrape[0]["value"][1])))
    assert per_server["cuc-paris"] == per_server["cuc-lyon"] >= 40, per_server
    pw = prom.query('{job="%s", __name__=~"cupiSmtpClientPassword.*"}' % JOB)
    assert pw == []

    # --- 2. untrusted senders, configuration changes ---------------------
    stack.sim.set_state({"server": {"allowConnectionsFromUntrustedIpAddresses": "true",
                                    "requireAuthenticationFromUntrustedIpAddresses": "false",
                                    "requireTlsFromUntrustedIpAddresses": "2"}},
                        server="cuc-paris")
    changed = firing(prom, "CupiSmtpConfigChanged", 20, cupiServerName="cuc-paris",
                     cupiServerLastChangeSource="external")
    names_the_server(changed, "cuc-paris")
    for name in ("CupiSmtpUntrustedWithoutAuth", "CupiSmtpUntrustedWithoutTls"):
        names_the_server(firing(prom, name, 30, cupiServerName="cuc-paris"), "cuc-paris")
    others = [a for a in prom.api("alerts")["alerts"]
              if a["labels"].get("cupiServerName") not in (None, "cuc-paris")]
    assert others == [], others
    stack.sim.set_state({"server": {"requireAuthenticationFromUntrustedIpAddresses": "true",
                                    "requireTlsFromUntrustedIpAddresses": "1"}},
                        server="cuc-paris")
    resolved(prom, "CupiSmtpUntrustedWithoutAuth", 20)
    resolved(prom, "CupiSmtpUntrustedWithoutTls", 20)
    # A SET through the agent.
    _, err = snmpset(stack.port, (col(SMTP_SERVER_TABLE, 3, 2), "i", 17))
    assert not err, err
    changed = firing(prom, "CupiSmtpConfigChanged", 20, cupiServerName="cuc-lyon",
                     cupiServerLastChangeSource="snmp")
    names_the_server(changed, "cuc-lyon")

    # --- 3. the dashboard's queries ---------------------------------------
    wait_for(lambda: prom.query("cupiServerLastChange > 0"), 10, what="a last change")
    empty = [(title, expr) for title, expr in dashboard_queries() if not prom.query(expr)]
    assert not empty, "dashboard queries without data: %s" % empty

    resolved(prom, "CupiSmtpConfigChanged", 40)

    # --- 4. a timeout fault: alerts, and no new series ---------------------
    stack.sim.fault(server="cuc-lyon", latency_ms=TIMEOUT_MS + 1500)
    wait_for(lambda: prom.query('cupiServerStatus{cupiServerName="cuc-lyon",'
                                'cupiServerStatus="unreachable"} == 1'), 40,
             what="cuc-lyon unreachable in Prometheus")
    t_fault = time.time()
    error = prom.query('cupiServerLastError{cupiServerName="cuc-lyon"}')
    assert [e["metric"].get("cupiServerLastError") for e in error] == [
        "timeout waiting for the answer"], error
    names_the_server(firing(prom, "CupiSmtpServerNotOk", 40, cupiServerName="cuc-lyon"),
                     "cuc-lyon")
    names_the_server(firing(prom, "CupiSmtpDataTooOld", 40, cupiServerName="cuc-lyon"),
                     "cuc-lyon")
    others = [a for a in prom.api("alerts")["alerts"]
              if a["labels"].get("cupiServerName") != "cuc-lyon"]
    assert others == [], others
    t_end = time.time()
    before = series_of(prom, "cuc-lyon", t_fault)
    during = {tuple(sorted(s.items())) for s in prom.api(
        "series", **{"match[]": scraped("cuc-lyon"), "start": "%.3f" % t_fault,
                     "end": "%.3f" % t_end})}
    assert during == before, "series that came or went during the fault: %s" % (
        during ^ before)
    print("fault lasted %.0f s in Prometheus with the same %d series" % (t_end - t_fault,
                                                                          len(before)))
    stack.sim.clear_faults(server="cuc-lyon")
    resolved(prom, "CupiSmtpServerNotOk", 30)
    resolved(prom, "CupiSmtpDataTooOld", 30)

    # --- 5. the agent stopped ------------------------------------------------
    stack.agent.stop()
    missing = firing(prom, "CupiSmtpAgentMissing", 30, instance="127.0.0.1:%d" % stack.port)
    assert "127.0.0.1:%d" % stack.port in missing["annotations"]["summary"], missing
    quiet = [a["labels"]["alertname"] for a in prom.api("alerts")["alerts"]
             if a["labels"]["alertname"] != "CupiSmtpAgentMissing"]
    assert quiet == [], quiet
    stack.agent.start()
    resolved(prom, "CupiSmtpAgentMissing", 40)
    wait_for(lambda: len(prom.query('cupiServerStatus{cupiServerStatus="ok"} == 1')) == 2, 40,
             what="both servers ok again")
    # snmpd has run for a while: the time since a change is sysUpTime's.
    stack.sim.set_state({"server": {"maxNumberConnections": "29"}}, server="cuc-paris")
    since = "(sysUpTime - on (job, instance) group_right cupiServerLastChange) / 100"
    got = wait_for(lambda: prom.query('%s and on (cupiServerIndex) cupiServerLastChange > 0'
                                      % since), 20, what="time since the last change")
    ages = [float(s["value"][1]) for s in got]
    assert ages and all(0 <= a < 15 for a in ages), got

    # --- 6. snmpd stopped ------------------------------------------------------
    stack.snmpd.stop()
    failing = firing(prom, "CupiSmtpScrapeFailing", 40, instance="127.0.0.1:%d" % stack.port)
    assert "127.0.0.1:%d" % stack.port in failing["annotations"]["summary"], failing
    stack.snmpd.start()
    resolved(prom, "CupiSmtpScrapeFailing", 40)
    print("whole run: %.0f s" % (time.monotonic() - t_start))

