"""contrib/zabbix against a real Zabbix 6.0 server (Debian's zabbix-server-pgsql,
PostgreSQL, zabbix-frontend-php under php-fpm and nginx for the JSON-RPC API).

One set-up for the whole module (zabbix_helper.ZabbixStack, with the
database schema cached under the build tree): cupi-sim, snmpd + the agent,
a stock snmptrapd (Debian's `mibs :`: no MIB loaded) whose traphandle is
contrib/zabbix/cupi-zabbix-traps writing the server's SNMPTrapperFile; the
template imported through the API and linked to a host on the test snmpd.
Nothing waits for item intervals: every check is forced ("check now"
tasks), and the host's macros shorten the trigger periods. In order:
- discovery finds the sim's server; every SNMP item gets a value, none is
  unsupported, values agree with snmpget;
- a CUPI fault raises the status problem, and the data-age problem (which
  depends on it) stays quiet meanwhile; slow CUPI answers raise the data-age
  problem alone; both resolve;
- an external change (made in the sim, no notification delivered) opens the
  change problem; it stays open across later polls, for minutes, until it is
  closed through the API (event.acknowledge, close);
- notifications from the agent through the stock snmptrapd reach the
  matching trap items, and the change notification opens its problem; the
  same notifications written by snmptrapd with NET-SNMP-MIB, with
  CUPI-SMTP-MIB, and numerically (-On) match the same items; a foreign one
  lands in snmptrap.fallback;
- the agent stopped: the silent-agent problem; a discovery run meanwhile
  loses no item; snmpd stopped: no SNMP data collection.

It runs once per CI run (ctest name once.test_zabbix_live), outside the
sanitizer pass: it judges the contrib files, not the agent's memory. If Zabbix, PostgreSQL, php-fpm or nginx cannot run, the test fails
with the reason; it never skips.

Environment: CUPI_BUILD_DIR, CUPI_SOURCE_DIR; CUPI_ZABBIX_CACHE (default
CUPI_BUILD_DIR/zabbix-cache) keeps the database with Zabbix's schema.
"""

import os
import time
from pathlib import Path

import pytest
import yaml

from nms_helper import CONTRIB, Stack, mib_dir
from snmp_helper import (
    SERVER_TABLE, SMTP_SERVER_TABLE, SNMPTRAPD, Snmptrapd, build_dir, col, free_udp_port, snmpget, snmpset,
    tool_env, wait_for)
from zabbix_helper import ZabbixStack

TEMPLATE_FILE = CONTRIB / "zabbix" / "template_cupi_smtp_snmp.yaml"
HANDLER = CONTRIB / "zabbix" / "cupi-zabbix-traps"
TEMPLATE = "CUPI SMTP by SNMP"
ROOT = "1.3.6.1.4.1.8072.9999.9999.25"
ITEM_SNMP, ITEM_INTERNAL, ITEM_TRAP = 20, 5, 17
ST_OK = 2
# Host macros: periods short enough for a test.
HOST_MACROS = {"{$SNMP_COMMUNITY}": "public", "{$CUPI.NODATA.TIMEOUT}": "30s",
               "{$CUPI.AGENT.INTERVAL}": "5s",
               "{$SNMP.TIMEOUT}": "30s",
               # Lowered to 3 s where a test wants old data: with the items'
               # own 1 min schedule, any short outage would otherwise count.
               "{$CUPI.DATA_AGE.MAX}": "3600"}
AGENT_TIMEOUT_MS = 12000


class ZabbixTrapd(Snmptrapd):
    """snmptrapd as an operator runs it: its own snmptrapd.conf with the
    traphandle, snmp.conf as Debian ships it (`mibs :`: no MIB loaded) or
    naming MIBs, no output options."""

    def __init__(self, tmpdir, traps_file, snmp_conf="mibs :\n", args=(), port=None):
        super().__init__(tmpdir, port=port)
        self.traps_file = traps_file
        self.snmp_conf = snmp_conf
        self.args = list(args)

    def start(self, timeout=10):
        (self.state_dir / "snmp.conf").write_text(self.snmp_conf)
        (self.state_dir / "snmptrapd.conf").write_text(
            "disableAuthorization yes\ntraphandle default %s %s\n" % (HANDLER, self.traps_file))
        env = tool_env(self.state_dir)
        env.pop("MIBS", None)  # snmp.conf decides, as on a real host
        for _ in range(1 if self.port else 5):
            port = self.port or free_udp_port()
            self._spawn([SNMPTRAPD, "-f", "-Lf", str(self.log_file), "-p", str(self.pid_file)] +
                        self.args + ["udp:127.0.0.1:%d" % port], env=env)
            if self._wait_bound(port, timeout):
                self.port = port
                return self
            self.stop()
        raise AssertionError("snmptrapd did not start\n" + self.log_text())


class Lab:
    def __init__(self, tmp, report):
        self.tmp = tmp
        self.report = report
        self.t0 = time.monotonic()
        cache = os.environ.get("CUPI_ZABBIX_CACHE") or str(build_dir() / "zabbix-cache")
        self.zbx = ZabbixStack(cache)
        self.stack = None
        self.hostid = None

    def start(self):
        self.zbx.start()
        self.report("zabbix stack up in %.1f s (schema cache built in this run: %.1f s)" % (
            time.monotonic() - self.t0, self.zbx.cache_build_s))
        self.api = self.zbx.api
        traps = self.zbx.traps_file
        self.stack = Stack(self.tmp / "stack", trapd=True,
                           trapd_factory=lambda d: ZabbixTrapd(d, traps))
        self.stack.start(poll=1, ttl=1)
        self.stack.agent.write_config(self.stack.agent.conf_file.read_text() +
                                      "cupiTimeout %d\n" % AGENT_TIMEOUT_MS)
        self.stack.agent.reload()
        return self

    def stop(self):
        if self.stack:
            self.stack.stop()
        self.zbx.stop()

    # -- API helpers ---------------------------------------------------------

    def item_list(self, **filt):
        return self.api.call("item.get", dict({
            "hostids": [self.hostid], "output": ["itemid", "key_", "type", "state", "error",
                                                 "lastclock", "lastvalue", "flags", "status",
                                                 "value_type"],
            "selectItemDiscovery": ["ts_delete", "status"]}, **filt))

    def item(self, key):
        items = self.item_list(filter={"key_": key})
        assert len(items) == 1, (key, items)
        return items[0]

    def check_now(self, itemids):
        self.api.call("task.create", [{"type": 6, "request": {"itemid": str(i)}}
                                      for i in itemids])

    def force(self, keys, done, timeout=60, what=None, every=6):
        """Forces checks of the items `keys` until done(items by key) is
        true (re-forcing every `every` s: a task for an item the server's
        configuration cache does not hold yet is dropped)."""
        deadline = time.monotonic() + timeout
        next_force = 0
        while True:
            by_key = {i["key_"]: i for i in self.item_list(filter={"key_": list(keys)})}
            if done(by_key):
                return by_key
            now = time.monotonic()
            if now > deadline:
                raise AssertionError("timed out after %d s waiting for %s; items: %s\n"
                                     "server log:\n%s" % (timeout, what, by_key,
                                                          self.zbx.server_log()[-6000:]))
            if now >= next_force:
                self.check_now([i["itemid"] for i in by_key.values()])
                next_force = now + every
            time.sleep(0.5)

    def set_macro(self, macro, value):
        """Changes a host macro and waits for the server's configuration
        cache to hold it (CacheUpdateFrequency is 2 s)."""
        m = self.api.call("usermacro.get", {"hostids": [self.hostid],
                                            "filter": {"macro": macro}})[0]
        self.api.call("usermacro.update", {"hostmacroid": m["hostmacroid"], "value": value})
        time.sleep(5)

    def problems(self):
        return self.api.call("problem.get", {"hostids": [self.hostid], "output": "extend",
                                             "recent": False})

    def problem_named(self, fragment):
        return [p for p in self.problems() if fragment in p["name"]]

    def history(self, key, value_type=2):
        it = self.item(key)
        return self.api.call("history.get", {"itemids": [it["itemid"]], "history": value_type,
                                             "output": "extend", "sortfield": "clock",
                                             "sortorder": "ASC"})


@pytest.fixture(scope="module")
def report(request):
    """report(text): a line of the numbers measured, written after the
    module (visible with ctest -V, also when pytest captures output)."""
    lines = []
    yield lines.append
    plugins = request.config.pluginmanager
    tr, capman = plugins.getplugin("terminalreporter"), plugins.getplugin("capturemanager")
    if tr is not None and capman is not None:
        with capman.global_and_fixture_disabled():
            tr.write_line("")
            for line in lines + ["(once per CI run, outside the sanitizer pass: "
                                 "scripts/test.sh)"]:
                tr.write_line("measured: " + line)


@pytest.fixture(autouse=True)
def _timed(request, report):
    t0 = time.monotonic()
    yield
    report("%-60s %6.1f s" % (request.node.name, time.monotonic() - t0))


@pytest.fixture(scope="module")
def lab(tmp_path_factory, report):
    lab = Lab(tmp_path_factory.mktemp("zbx"), report)
    try:
        lab.start()
        yield lab
    finally:
        report("zabbix module took %.1f s" % (time.monotonic() - lab.t0))
        lab.stop()


def snmp_value(lab, oid):
    return snmpget(lab.stack.port, oid)[0].value(oid)


# -- import, host, discovery, values ------------------------------------------


def test_template_imports_and_host_links(lab):
    rules = {k: {"createMissing": True, "updateExisting": True} for k in
             ("groups", "templates", "items", "triggers", "discoveryRules", "graphs",
              "templateDashboards", "valueMaps")}
    assert lab.api.call("configuration.import", {
        "format": "yaml", "rules": rules, "source": TEMPLATE_FILE.read_text()}) is True
    tpl = lab.api.call("template.get", {"filter": {"host": TEMPLATE},
                                        "selectDashboards": "extend"})
    assert len(tpl) == 1
    assert [d["name"] for d in tpl[0]["dashboards"]] == ["CUPI SMTP"]
    group = lab.api.call("hostgroup.get", {"filter": {"name": "Linux servers"}})[0]["groupid"]
    lab.hostid = lab.api.call("host.create", {
        "host": "cupi-snmp-test",
        "groups": [{"groupid": group}],
        "interfaces": [{"type": 2, "main": 1, "useip": 1, "ip": "127.0.0.1", "dns": "",
                        "port": str(lab.stack.port),
                        "details": {"version": 2, "bulk": 1, "community": "{$SNMP_COMMUNITY}"}}],
        "templates": [{"templateid": tpl[0]["templateid"]}],
        "macros": [{"macro": m, "value": v} for m, v in HOST_MACROS.items()],
    })["hostids"][0]


def test_discovery_finds_the_server(lab):
    doc = yaml.safe_load(TEMPLATE_FILE.read_text())
    protos = doc["zabbix_export"]["templates"][0]["discovery_rules"][0]["item_prototypes"]
    rule = lab.api.call("discoveryrule.get", {"hostids": [lab.hostid], "output": "extend"})
    assert len(rule) == 1
    rid = rule[0]["itemid"]
    deadline = time.monotonic() + 90
    while True:
        discovered = lab.item_list(filter={"flags": 4})
        if len(discovered) >= len(protos):
            break
        assert time.monotonic() < deadline, (
            "discovery made %d of %d items; rule: %s" % (
                len(discovered), len(protos),
                lab.api.call("discoveryrule.get", {"itemids": [rid], "output": ["error",
                                                                                "state"]})))
        lab.check_now([rid])
        time.sleep(4)
    keys = {i["key_"] for i in discovered}
    assert keys == {p["key"].replace("{#SNMPINDEX}", "1") for p in protos}
    want = {"cuc1: CUPI requests and failures", "cuc1: SMTP configuration data age"}
    wait_for(lambda: want <= {g["name"] for g in lab.api.call(
        "graph.get", {"hostids": [lab.hostid], "output": ["name"]})}, 30,
        what="the graphs %s" % want)
    lab.report("discovery: %d items" % len(discovered))


def test_every_item_gets_a_value_and_none_is_unsupported(lab):
    items = [i for i in lab.item_list() if int(i["type"]) in (ITEM_SNMP, ITEM_INTERNAL)]
    keys = [i["key_"] for i in items]
    # Rates need two readings: keep forcing until every item has a value. A
    # forced check can land a few milliseconds after a scheduled one, before
    # the agent's next CUPI read (one a second here), and then the request
    # rate is rightly 0: wait for a pair of readings that spans a read.
    def every_item_has_a_value(by):
        rate = by.get("cupiServerRequests[1]", {}).get("lastvalue") or "0"
        return float(rate) > 0 and all(i["lastclock"] != "0" or i["state"] == "1"
                                       for i in by.values())

    got = lab.force(keys, every_item_has_a_value, timeout=120,
                    what="a value for every item and a request rate above 0", every=4)
    bad = {k: i["error"] for k, i in got.items() if i["state"] != "0"}
    assert not bad, "unsupported items: %s" % bad
    # All well: no problem at all (none of the triggers fires without its cause).
    assert lab.problems() == []
    protos = yaml.safe_load(TEMPLATE_FILE.read_text())["zabbix_export"]["templates"][0][
        "discovery_rules"][0]["item_prototypes"]
    assert len(got) == len(protos) + 2  # + SNMP availability, cupiChangeHistorySize
    lab.report("%d polled items, all with a value, none unsupported" % len(got))
    # Values as snmpd serves them: every item whose value is the object's own
    # (times a multiplier), not a rate or an age.
    details = {i["key_"]: i for i in lab.api.call("item.get", {
        "hostids": [lab.hostid], "output": ["key_", "snmp_oid", "lastvalue"],
        "selectPreprocessing": ["type", "params"]})}
    volatile = ("cupiServerDataAge[1]", "cupiServerRequests[1]", "cupiServerFailures[1]",
                "cupiServerLastChange[1]")
    compared = 0
    for key, it in details.items():
        if not it["snmp_oid"] or key in volatile:
            continue
        value = snmp_value(lab, it["snmp_oid"])
        factor = [float(p["params"]) for p in it["preprocessing"] if p["type"] == "1"]
        if isinstance(value, int):
            want = value * (factor[0] if factor else 1)
            assert float(it["lastvalue"]) == want, (key, it["lastvalue"], value)
        else:
            assert it["lastvalue"] == value, (key, it["lastvalue"], value)
        compared += 1
    assert compared == len(got) - 1 - len(volatile)  # all but SNMP availability
    lab.report("%d item values equal to snmpget's" % compared)
    assert got["cupiServerName[1]"]["lastvalue"] == "cuc1"
    assert got["cupiServerStatus[1]"]["lastvalue"] == str(ST_OK)
    assert got["cupiServerUrl[1]"]["lastvalue"] == lab.stack.sim.url_of("cuc1")
    for colnum, key in ((3, "cupiSmtpServerMaxConnections[1]"),
                        (4, "cupiSmtpServerClientThreads[1]")):
        assert got[key]["lastvalue"] == str(snmp_value(lab, col(SMTP_SERVER_TABLE, colnum, 1)))
    assert got["zabbix[host,snmp,available]"]["lastvalue"] == "1"
    assert int(got["cupiChangeHistorySize"]["lastvalue"]) >= 0
    # Rates: floats per second; the timestamp as seconds of uptime.
    assert float(got["cupiServerRequests[1]"]["lastvalue"]) > 0
    assert float(got["cupiServerFailures[1]"]["lastvalue"]) >= 0
    ticks = snmp_value(lab, col(SERVER_TABLE, 10, 1))
    assert abs(float(got["cupiServerLastChange[1]"]["lastvalue"]) - ticks / 100.0) < 1


# -- triggers -------------------------------------------------------------------


def test_status_fault_raises_status_problem_and_holds_data_age(lab):
    sim = lab.stack.sim
    sim.fault(method="GET", drop=True, count=100000)
    try:
        wait_for(lambda: snmp_value(lab, col(SERVER_TABLE, 4, 1)) != ST_OK, 30,
                 what="cupiServerStatus not ok")
        # Old data meanwhile: above {$CUPI.DATA_AGE.MAX}.
        wait_for(lambda: snmp_value(lab, col(SERVER_TABLE, 5, 1)) > 6, 30, what="data age > 6")
        lab.force(["cupiServerStatus[1]"],
                  lambda by: by["cupiServerStatus[1]"]["lastvalue"] != str(ST_OK),
                  what="the status polled")
        wait_for(lambda: lab.problem_named("CUPI status is not ok"), 30,
                 what="the status problem")
        # The data-age trigger depends on the status trigger: while the status
        # problem is open, old data raise no second problem.
        lab.set_macro("{$CUPI.DATA_AGE.MAX}", "3")
        lab.force(["cupiServerDataAge[1]"],
                  lambda by: float(by["cupiServerDataAge[1]"]["lastvalue"]) > 6,
                  what="the data age polled")
        time.sleep(3)
        assert not lab.problem_named("data older than"), lab.problems()
    finally:
        sim.clear_faults()
    wait_for(lambda: snmp_value(lab, col(SERVER_TABLE, 4, 1)) == ST_OK, 30, what="status ok")
    lab.force(["cupiServerStatus[1]", "cupiServerDataAge[1]"],
              lambda by: by["cupiServerStatus[1]"]["lastvalue"] == str(ST_OK) and
              float(by["cupiServerDataAge[1]"]["lastvalue"]) <= 3,
              what="status ok polled")
    wait_for(lambda: not lab.problem_named("CUPI status is not ok"), 30,
             what="the status problem resolved")


def test_slow_cupi_raises_data_age_problem_alone(lab):
    """CUPI answering, but slowly: the data get older than
    {$CUPI.DATA_AGE.MAX} between reads while the status stays ok."""
    sim = lab.stack.sim
    wait_for(lambda: snmp_value(lab, col(SERVER_TABLE, 4, 1)) == ST_OK, 30, what="status ok")
    assert not lab.problem_named("data older than")
    sim.fault(method="GET", latency_ms=AGENT_TIMEOUT_MS - 3000, count=100000)
    try:
        def aged(by):
            return lab.problem_named("data older than")
        lab.force(["cupiServerDataAge[1]"], lambda by: aged(by), timeout=120, every=3,
                  what="the data-age problem")
        assert snmp_value(lab, col(SERVER_TABLE, 4, 1)) == ST_OK
        assert not lab.problem_named("CUPI status is not ok")
    finally:
        sim.clear_faults()
    lab.force(["cupiServerDataAge[1]"], lambda by: not lab.problem_named("data older than"),
              timeout=90, every=3, what="the data-age problem resolved")
    lab.set_macro("{$CUPI.DATA_AGE.MAX}", HOST_MACROS["{$CUPI.DATA_AGE.MAX}"])


def test_external_change_problem_stays_until_closed(lab):
    """Notifications held back (snmptrapd stopped): the change is seen
    through cupiServerLastChangeIndex alone."""
    lab.stack.trapd.stop()
    before = snmp_value(lab, col(SERVER_TABLE, 12, 1))
    lab.stack.sim.set_state({"server": {"maxNumberConnections": "37"}})
    wait_for(lambda: snmp_value(lab, col(SERVER_TABLE, 12, 1)) > before, 30,
             what="cupiServerLastChangeIndex to move")
    lab.force(["cupiServerLastChangeIndex[1]"],
              lambda by: int(by["cupiServerLastChangeIndex[1]"]["lastvalue"] or 0) > before,
              what="the new change index polled")
    wait_for(lambda: lab.problem_named("cuc1: SMTP configuration changed"), 30,
             what="the change problem")
    lab.change_problem = lab.problem_named("cuc1: SMTP configuration changed")[0]
    lab.change_opened = time.monotonic()
    # Later polls (the index no longer moves) do not close it.
    item = lab.item("cupiServerLastChangeIndex[1]")
    for _ in range(2):
        clock = item["lastclock"]
        item = lab.force(["cupiServerLastChangeIndex[1]"],
                         lambda by: by["cupiServerLastChangeIndex[1]"]["lastclock"] != clock,
                         what="another poll")["cupiServerLastChangeIndex[1]"]
    assert lab.problem_named("cuc1: SMTP configuration changed")
    lab.stack.trapd.start()


def trap_items(lab):
    return {i["key_"]: i for i in lab.item_list() if int(i["type"]) == ITEM_TRAP}


def trap_key(items, name):
    found = [k for k in items if name in k]
    assert len(found) == 1, (name, list(items))
    return found[0]


def test_agent_notifications_reach_the_trap_items(lab):
    items = trap_items(lab)
    # cupiSmtpServerConfigChanged: a SET through snmpd.
    vals, err = snmpset(lab.stack.port, (col(SMTP_SERVER_TABLE, 3, 1), "i", 29))
    assert not err, err
    # cupiSmtpClientConfigChanged: a change in CUPI.
    lab.stack.sim.set_state({"client": {"smtpSmartHost": "relay.zabbix-test.example"}})
    # cupiServerStatusChanged: an outage and back.
    lab.stack.sim.fault(method="GET", drop=True, count=100000)
    wait_for(lambda: snmp_value(lab, col(SERVER_TABLE, 4, 1)) != ST_OK, 30, what="outage")
    lab.stack.sim.clear_faults()
    wait_for(lambda: snmp_value(lab, col(SERVER_TABLE, 4, 1)) == ST_OK, 30, what="recovery")
    for name, oid in (("cupiSmtpServerConfigChanged", ROOT + ".0.1"),
                      ("cupiSmtpClientConfigChanged", ROOT + ".0.2"),
                      ("cupiServerStatusChanged", ROOT + ".0.3")):
        key = trap_key(items, name)
        wait_for(lambda: lab.history(key, 2), 30,
                 what="%s in its trap item; trap file:\n%s" % (
                     name, _read(lab.zbx.traps_file)[-3000:]))
        text = lab.history(key, 2)[-1]["value"]
        assert "iso." + oid[len("1."):] in text, text  # as the stock snmptrapd writes it
        assert "cuc1" in text
    # The change notifications open their own problems, to be closed by hand.
    for which in ("SMTP server", "SMTP client"):
        wait_for(lambda: lab.problem_named("%s configuration changed (notification)" % which),
                 30, what="the %s notification's problem" % which)
    assert lab.item("snmptrap.fallback")["lastclock"] == "0"


def _read(path):
    try:
        return Path(path).read_text(errors="replace")
    except OSError:
        return ""


def _send_trap(port, trap_oid, varbinds=()):
    from nms_helper import run
    args = ["snmptrap", "-v2c", "-c", "public", "-m", "", "udp:127.0.0.1:%d" % port, "",
            trap_oid]
    for oid, typ, value in varbinds:
        args += [oid, typ, value]
    p = run(args, env=tool_env())
    assert p.returncode == 0, p.stderr


def test_every_form_of_the_trap_oid_matches(lab):
    """snmptrapd with MIBs loaded (NET-SNMP-MIB only; CUPI-SMTP-MIB too) or
    printing numbers (-On): each form reaches the same trap items."""
    mibs = mib_dir(lab.tmp / "mibs")
    forms = {
        "NET-SNMP-MIB": ("mibdirs %s\nmibs SNMPv2-SMI:NET-SNMP-MIB\n" % mibs, [],
                         "NET-SNMP-MIB::netSnmpPlaypen.25.0.%d"),
        "CUPI-SMTP-MIB": ("mibdirs %s\nmibs +CUPI-SMTP-MIB\n" % mibs, [],
                          "CUPI-SMTP-MIB::%s"),
        "numeric": ("mibs :\n", ["-On"], ".%s.0.%%d" % ROOT),
    }
    names = ["cupiSmtpServerConfigChanged", "cupiSmtpClientConfigChanged",
             "cupiServerStatusChanged"]
    items = trap_items(lab)
    for form, (conf, args, shown) in forms.items():
        trapd = ZabbixTrapd(lab.tmp / ("trapd-" + form.lower()), lab.zbx.traps_file,
                            snmp_conf=conf, args=args).start()
        try:
            for n, name in enumerate(names, 1):
                before = len(lab.history(trap_key(items, name), 2))
                _send_trap(trapd.port, "%s.0.%d" % (ROOT, n),
                           [("%s.1.1.1.2.1" % ROOT, "s", "cuc-%s" % form.lower())])
                want = shown % (name if "%s" in shown else n)
                wait_for(lambda: len(lab.history(trap_key(items, name), 2)) > before, 30,
                         what="%s written as %s; trap file:\n%s" % (
                             name, form, _read(lab.zbx.traps_file)[-2000:]))
                text = lab.history(trap_key(items, name), 2)[-1]["value"]
                assert want in text, (want, text)
        finally:
            trapd.stop()
    # A notification of another MIB: the fallback item.
    _send_trap(lab.stack.trapd.port, "1.3.6.1.4.1.8072.4.0.2")
    wait_for(lambda: lab.history("snmptrap.fallback", 2), 30, what="the fallback item")
    assert "8072.4.0.2" in lab.history("snmptrap.fallback", 2)[-1]["value"]


def test_agent_stopped_raises_silent_agent_problem(lab):
    rid = lab.api.call("discoveryrule.get", {"hostids": [lab.hostid]})[0]["itemid"]
    # Polled every {$CUPI.AGENT.INTERVAL} (5 s): no silence so far.
    time.sleep(6)
    assert not lab.problem_named("cupi-snmp-agent is not answering")
    lab.stack.agent.stop()
    stopped = time.monotonic()
    try:
        wait_for(lambda: snmp_value(lab, col(SERVER_TABLE, 4, 1)) is None, 30,
                 what="the agent's objects gone from snmpd")
        lab.force(["cupiChangeHistorySize", "cupiServerStatus[1]"],
                  lambda by: all(i["state"] == "1" for i in by.values()),
                  what="the agent's items unsupported")
        # A discovery run during the outage: nothing marked lost.
        lab.check_now([rid])
        wait_for(lambda: lab.api.call("discoveryrule.get", {
            "itemids": [rid], "output": ["error"]})[0]["error"], 30,
            what="the discovery rule to reject the empty table")
        lost = [i["key_"] for i in lab.item_list(filter={"flags": 4})
                if i["itemDiscovery"]["ts_delete"] != "0"]
        assert not lost, "marked not discovered: %s" % lost
        wait_for(lambda: lab.problem_named("cupi-snmp-agent is not answering"), 150,
                 interval=2, what="the silent-agent problem")
        # nodata over {$CUPI.NODATA.TIMEOUT} (30 s): not before.
        assert time.monotonic() - stopped >= 25
        assert lab.item("zabbix[host,snmp,available]")["lastvalue"] == "1"
        assert not lab.problem_named("no SNMP data collection")
    finally:
        lab.stack.agent.start()
    wait_for(lambda: snmp_value(lab, col(SERVER_TABLE, 4, 1)) == ST_OK, 30, what="agent back")
    lab.force(["cupiChangeHistorySize"],
              lambda by: by["cupiChangeHistorySize"]["state"] == "0", what="the agent back")


def test_snmpd_stopped_raises_no_snmp_data_collection(lab):
    snmpd = lab.stack.snmpd
    snmpd.stop()
    try:
        lab.force(["cupiChangeHistorySize", "zabbix[host,snmp,available]"],
                  lambda by: by["zabbix[host,snmp,available]"]["lastvalue"] == "0",
                  timeout=150, every=5, what="the SNMP interface unavailable")
        lab.force(["zabbix[host,snmp,available]"],
                  lambda by: lab.problem_named("no SNMP data collection"),
                  timeout=150, every=5, what="the no-SNMP-data problem")
    finally:
        snmpd.start()


def test_change_problem_was_open_for_minutes_and_closes_by_hand(lab):
    prob = lab.change_problem
    assert [p["eventid"] for p in lab.problem_named("cuc1: SMTP configuration changed")] == \
        [prob["eventid"]], "the change problem closed by itself"
    held = time.monotonic() - lab.change_opened
    lab.report("change problem held open for %.0f s, then closed through the API" % held)
    assert held >= 60
    lab.api.call("event.acknowledge", {"eventids": [prob["eventid"]], "action": 1 | 4,
                                       "message": "closed by the test"})
    wait_for(lambda: not lab.problem_named("cuc1: SMTP configuration changed"), 60,
             what="the change problem closed")
    ev = lab.api.call("event.get", {"eventids": [prob["eventid"]], "output": "extend"})[0]
    assert ev["r_eventid"] != "0"
