"""The change history (cupiChangeTable, cupiChangeHistorySize,
cupiServerLastChangeIndex) as an NMS sees it: a real snmpd master and
snmptrapd, the agent over AgentX, cupi-sim as Unity Connection, and the
state file and `cupictl history` that read it back.

Run: CUPI_BUILD_DIR=BUILD /usr/bin/python3 -m pytest -q tests/integration/test_history.py
"""

import datetime
import json
import subprocess
import time
from pathlib import Path

import pytest

from state_helper import saved_doc, set_rows, state_bytes, try_saved_doc
from snmp_helper import (OBJECTS, SERVER_TABLE, SMTP_CLIENT_TABLE, SMTP_SERVER_TABLE, col,
                         server_lines, agent_config, snmpbulkwalk, snmpget, snmpset, snmpwalk,
                         wait_for, tool_env, cupictl_binary)
from test_agent_notify import (ACCOUNT_PASSWORD, CLIENT_CHANGED, CLIENT_COLUMNS, POLL,
                               SERVER_CHANGED, SERVER_COLUMNS, SMART_HOST_PASSWORD, Lab,
                               describe, ours, settle, vb)

CHANGE_ENTRY = OBJECTS + ".4.1"  # cupiChangeEntry; + ".COL.SERVER.CHANGE"
HISTORY_SIZE = OBJECTS + ".5.0"
TIME, OBJECT, OLD, NEW, SOURCE = 2, 3, 4, 5, 6
LAST_INDEX = 12
EXTERNAL, SNMP = 2, 3
SERVER_MIB = {"Port": "cupiSmtpServerPort", "maxNumberConnections": "cupiSmtpServerMaxConnections",
              "domainName": "cupiSmtpServerDomainName",
              "maxNumberRecipients": "cupiSmtpServerMaxRecipients",
              "maxMessageSizeKb": "cupiSmtpServerMaxMessageSize",
              "allowConnectionsFromUntrustedIpAddresses": "cupiSmtpServerAllowUntrusted"}
CLIENT_MIB = {"smtpUsername": "cupiSmtpClientUsername", "smtpPassword": "cupiSmtpClientPassword",
              "smtpSmartHost": "cupiSmtpClientSmartHost"}


def field_oid(resource, field, index):
    if resource == "server":
        return col(SMTP_SERVER_TABLE, SERVER_COLUMNS[field], index)
    return col(SMTP_CLIENT_TABLE, CLIENT_COLUMNS[field], index)


def rows_of(vals):
    """{(server, change): {column: (type, value)}} of a walk of cupiChangeTable."""
    rows = {}
    for oid, tv in vals.items():
        if not oid.startswith(CHANGE_ENTRY + "."):
            continue
        column, server, change = (int(a) for a in oid[len(CHANGE_ENTRY) + 1:].split("."))
        rows.setdefault((server, change), {})[column] = tv
    return rows


def walk_changes(lab):
    vals, err = snmpbulkwalk(lab.snmpd.port, OBJECTS + ".4")
    assert not err, err
    return vals


def last_index(lab, index):
    oid = col(SERVER_TABLE, LAST_INDEX, index)
    vals, err = snmpget(lab.snmpd.port, oid)
    assert not err, err
    return vals.value(oid)


def wait_last_index(lab, index, want, timeout=POLL + 4):
    wait_for(lambda: last_index(lab, index) == want, timeout,
             what="cupiServerLastChangeIndex.%d == %d" % (index, want))


def date_and_time(raw):
    """DateAndTime octets -> aware datetime."""
    assert len(raw) == 11, raw
    year = raw[0] * 256 + raw[1]
    assert chr(raw[8]) in "+-"
    offset = datetime.timedelta(hours=raw[9], minutes=raw[10])
    tz = datetime.timezone(offset if chr(raw[8]) == "+" else -offset)
    return datetime.datetime(year, raw[2], raw[3], raw[4], raw[5], raw[6], tzinfo=tz)


def check_row(vals, server, change, resource, field, old, new, source):
    oid = lambda c: "%s.%d.%d.%d" % (CHANGE_ENTRY, c, server, change)
    assert vals[oid(OBJECT)] == ("OID", field_oid(resource, field, server)), vals.get(oid(OBJECT))
    assert vals[oid(OLD)] == ("STRING", old), (field, vals[oid(OLD)])
    assert vals[oid(NEW)] == ("STRING", new), (field, vals[oid(NEW)])
    assert vals[oid(SOURCE)] == ("INTEGER", source)
    when = date_and_time(vals.raw[oid(TIME)])
    age = (datetime.datetime.now(datetime.timezone.utc) - when).total_seconds()
    assert -5 <= age <= 300, when


def cupictl(lab, *args):
    p = subprocess.run([str(cupictl_binary()), "-c", str(lab.agent.conf_file)] + list(args),
                       capture_output=True, text=True, timeout=30, env=tool_env(lab.dir),
                       stdin=subprocess.DEVNULL)
    return p


def two_server_text(lab, size=None, servers=(1, 2), url1=None):
    names = {1: "cuc1", 2: "cuc2"}
    blocks = [server_lines(i, names[i], lab.sim, sim_server=names[i],
                           url=url1 if i == 1 else None, ca_file=lab.sim.ca_file)
              for i in servers]
    extra = ["cupiUnreachableAfter 1", "cupiStateFile %s" % lab.state_file]
    if size is not None:
        extra.append("cupiHistorySize %d" % size)
    return agent_config(lab.snmpd, blocks, poll=POLL, ttl=POLL, timeout_ms=2000, extra=extra)


@pytest.fixture
def lab(tmp_path):
    lab = Lab(tmp_path)
    yield lab
    lab.stop()


def test_walk_after_external_changes_and_sets(lab):
    lab.start_sim(servers=["cuc1", "cuc2"])
    lab.start_snmp()
    lab.start_agent(two_server_text(lab))
    assert snmpget(lab.snmpd.port, HISTORY_SIZE)[0].value(HISTORY_SIZE) == 100
    # the first reads are where history starts: nothing
    settle(POLL + 0.5)
    assert walk_changes(lab) == {}
    assert last_index(lab, 1) == 0 and last_index(lab, 2) == 0

    before = lab.sim.state(server="cuc1")
    lab.sim.set_state({"server": {"maxNumberConnections": "37",
                                  "domainName": "hist.example.com"}}, server="cuc1")
    wait_last_index(lab, 1, 2)
    ext = lab.trapd.wait_for(lambda n: n["trap_oid"] == SERVER_CHANGED, timeout=5)[0]
    assert vb(ext, col(SERVER_TABLE, LAST_INDEX, 1)) == ("Gauge32", 2)

    # a SET of two client fields, the password among them
    vals, err = snmpset(lab.snmpd.port,
                        (field_oid("client", "smtpUsername", 1), "s", "hist-user"),
                        (field_oid("client", "smtpPassword", 1), "s", SMART_HOST_PASSWORD),
                        timeout=5)
    assert not err, err
    assert last_index(lab, 1) == 4  # at once, with the SET's answer
    snmp = lab.trapd.wait_for(lambda n: n["trap_oid"] == CLIENT_CHANGED, timeout=5)[0]
    assert vb(snmp, col(SERVER_TABLE, LAST_INDEX, 1)) == ("Gauge32", 4)
    # the next polls read what the SET wrote: nothing more
    settle(2 * POLL + 0.5)
    assert last_index(lab, 1) == 4

    lab.sim.set_state({"client": {"smtpSmartHost": "relay2.example.com"}}, server="cuc2")
    wait_last_index(lab, 2, 1)
    settle(0.5)

    vals = walk_changes(lab)
    rows = rows_of(vals)
    assert sorted(rows) == [(1, 1), (1, 2), (1, 3), (1, 4), (2, 1)], sorted(rows)
    assert all(sorted(r) == [TIME, OBJECT, OLD, NEW, SOURCE] for r in rows.values())
    check_row(vals, 1, 1, "server", "domainName", before["server"]["domainName"],
              "hist.example.com", EXTERNAL)
    check_row(vals, 1, 2, "server", "maxNumberConnections",
              before["server"]["maxNumberConnections"], "37", EXTERNAL)
    check_row(vals, 1, 3, "client", "smtpUsername", before["client"]["smtpUsername"],
              "hist-user", SNMP)
    check_row(vals, 1, 4, "client", "smtpPassword", "", "", SNMP)
    check_row(vals, 2, 1, "client", "smtpSmartHost",
              lab.sim.state(server="cuc1")["client"]["smtpSmartHost"], "relay2.example.com",
              EXTERNAL)
    # every notification names the newest row the table had when it was sent
    for n in ours(lab.trapd):
        if n["trap_oid"] in (SERVER_CHANGED, CLIENT_CHANGED):
            idx = [o for o in n["varbinds"]
                   if o.startswith("%s.%d." % (SERVER_TABLE, LAST_INDEX))]
            assert len(idx) == 1, describe(lab.trapd)
            server = int(idx[0].rsplit(".", 1)[1])
            assert (server, n["varbinds"][idx[0]][1]) in rows, describe(lab.trapd)

    # GETNEXT and GETBULK (several repetition counts) walk the same cells,
    # in order, across servers and rows
    order = vals.order
    assert order == sorted(order, key=lambda o: [int(a) for a in o.split(".")])
    for reps in (1, 3, 7, 40):
        again, err = snmpbulkwalk(lab.snmpd.port, OBJECTS + ".4", repetitions=reps)
        assert not err and again.order == order and dict(again) == dict(vals), reps
    again, err = snmpwalk(lab.snmpd.port, OBJECTS + ".4")
    assert not err and again.order == order

    # never a password: not in SNMP answers, the state file, cupictl or traps
    everything, err = snmpbulkwalk(lab.snmpd.port, OBJECTS)
    assert not err, err
    assert not any(SMART_HOST_PASSWORD.encode() in raw for raw in everything.raw.values())
    for text in (lab.trapd.log_text(), lab.agent.log_text()):
        assert SMART_HOST_PASSWORD not in text and ACCOUNT_PASSWORD not in text

    # cupictl history shows the saved history (the file is saved soon after
    # a change)
    wait_for(lambda: (try_saved_doc(lab.state_file) or {"servers": [{}, {}]})["servers"][1]
             .get("history", {}).get("lastIndex") == 1, 10, what="the state file's history")
    assert SMART_HOST_PASSWORD.encode() not in state_bytes(lab.state_file)
    p = cupictl(lab, "history", "--json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    got = {(s["index"], r["index"]): r for s in doc["servers"] for r in s["rows"]}
    assert sorted(got) == sorted(rows)
    assert [s["lastIndex"] for s in doc["servers"]] == [4, 1]
    assert [s["name"] for s in doc["servers"]] == ["cuc1", "cuc2"]
    for key, r in got.items():
        cells = rows[key]
        assert r["old"] == cells[OLD][1] and r["new"] == cells[NEW][1]
        assert r["source"] == {EXTERNAL: "external", SNMP: "snmp"}[cells[SOURCE][1]]
        field = r["field"]
        mib = (SERVER_MIB if r["resource"] == "server" else CLIENT_MIB)[field]
        assert r["object"] == "%s.%d" % (mib, key[0])
        assert cells[OBJECT][1] == field_oid(r["resource"], field, key[0])
        t = datetime.datetime.strptime(r["time"], "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=datetime.timezone.utc)
        assert t == date_and_time(vals.raw["%s.%d.%d.%d" % (CHANGE_ENTRY, TIME, *key)])
    p = cupictl(lab, "history", "--server", "2")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].split()[:4] == ["SERVER", "CHANGE", "TIME", "(UTC)"]
    assert len(lines) == 2, p.stdout
    assert lines[1].split()[:2] == ["2", "1"]
    assert "cupiSmtpClientSmartHost.2" in lines[1] and '-> "relay2.example.com"' in lines[1]
    p = cupictl(lab, "history")
    assert p.returncode == 0 and len(p.stdout.splitlines()) == 6
    assert SMART_HOST_PASSWORD not in p.stdout
    assert 'cupiSmtpClientPassword.1' in p.stdout and '"" -> ""' in p.stdout
    assert cupictl(lab, "history", "--server", "9").returncode == 2
    assert cupictl(lab, "history", "--bogus").returncode == 2


def test_restart_keeps_indexes_and_records_change_made_while_down(lab):
    lab.start_sim()
    lab.start_snmp()
    lab.start_agent()
    lab.sim.set_state({"server": {"maxNumberRecipients": "4321"}})
    wait_last_index(lab, 1, 1)
    before = rows_of(walk_changes(lab))
    lab.agent.stop()  # SIGTERM saves the state file
    doc = saved_doc(lab.state_file)
    assert doc["format"] == "cupi-snmp-state"
    assert doc["servers"][0]["history"]["lastIndex"] == 1

    old = lab.sim.state()["server"]["maxMessageSizeKb"]
    new = "4321" if old != "4321" else "4322"
    lab.sim.set_state({"server": {"maxMessageSizeKb": new}})
    lab.start_agent(wait_ok=False)
    # the saved row is served again before any poll, and the change made
    # while the agent was down becomes row 2, external
    wait_last_index(lab, 1, 2)
    vals = walk_changes(lab)
    rows = rows_of(vals)
    assert sorted(rows) == [(1, 1), (1, 2)]
    assert rows[(1, 1)] == before[(1, 1)]
    check_row(vals, 1, 2, "server", "maxMessageSizeKb", old, new, EXTERNAL)
    n = lab.trapd.wait_for(lambda n: n["trap_oid"] == SERVER_CHANGED
                           and vb(n, col(SERVER_TABLE, LAST_INDEX, 1))[1] == 2, timeout=5)
    assert n
    settle(POLL + 0.5)
    assert last_index(lab, 1) == 2

    # a history section that is not sound is logged and not trusted, but
    # its last index still holds: numbers never go back
    lab.agent.stop()
    set_rows(lab.state_file, "UPDATE changes SET new = 'not a number' "
             "WHERE server = 1 AND change = 1")
    lab.sim.set_state({"server": {"maxNumberRecipients": "4000"}})
    lab.start_agent(wait_ok=False)
    wait_last_index(lab, 1, 3)
    assert sorted(rows_of(walk_changes(lab))) == [(1, 3)]
    assert "saved change history ignored" in lab.agent.log_text()
    # the unsound rows are gone from the store too, the new one is there
    wait_for(lambda: [r["index"] for r in saved_doc(lab.state_file)["servers"][0]["history"]
                      ["rows"]] == [3], 10, what="the store rewritten")


def store_rows(lab):
    """{server: [change indexes]} as the state store holds them."""
    doc = try_saved_doc(lab.state_file)
    return doc and {s["index"]: [r["index"] for r in s["history"]["rows"]]
                    for s in doc["servers"]}


def wait_store_rows(lab, want):
    wait_for(lambda: store_rows(lab) == want, 10, what="the store's rows %s" % want)


def test_reload_keeps_removes_and_resizes_history(lab):
    lab.start_sim(servers=["cuc1", "cuc2"])
    lab.start_snmp()
    lab.start_agent(two_server_text(lab, size=3))
    assert snmpget(lab.snmpd.port, HISTORY_SIZE)[0].value(HISTORY_SIZE) == 3
    # five fields in one change: indexes 1..5, the newest three kept
    lab.sim.set_state({"server": {"maxNumberConnections": "11", "smtpClientThreads": "3",
                                  "maxMessageSizeKb": "1234", "maxNumberRecipients": "77",
                                  "retryDeliveryTimeoutMin": "9"}}, server="cuc1")
    lab.sim.set_state({"server": {"maxNumberConnections": "12"}}, server="cuc2")
    wait_last_index(lab, 1, 5)
    wait_last_index(lab, 2, 1)
    assert sorted(rows_of(walk_changes(lab))) == [(1, 3), (1, 4), (1, 5), (2, 1)]
    one_more = lambda: lab.sim.set_state({"server": {"Port": "587" if lab.sim.state()
                                                     ["server"]["Port"] == "25" else "25"}},
                                         server="cuc1")
    one_more()
    wait_last_index(lab, 1, 6)
    assert sorted(rows_of(walk_changes(lab))) == [(1, 4), (1, 5), (1, 6), (2, 1)]
    kept = rows_of(walk_changes(lab))

    # server 2 removed, the history smaller: server 1 keeps its newest two
    lab.agent.write_config(two_server_text(lab, size=2, servers=(1,)))
    lab.agent.reload()
    wait_for(lambda: snmpget(lab.snmpd.port, HISTORY_SIZE)[0].value(HISTORY_SIZE) == 2, 10,
             what="cupiChangeHistorySize 2")
    rows = rows_of(walk_changes(lab))
    assert sorted(rows) == [(1, 5), (1, 6)]
    assert rows[(1, 6)] == kept[(1, 6)]
    assert last_index(lab, 1) == 6
    assert last_index(lab, 2) is None
    wait_store_rows(lab, {1: [5, 6]})

    # server 2 back: a new row, no history; server 1 unchanged
    lab.agent.write_config(two_server_text(lab, size=2))
    lab.agent.reload()
    wait_for(lambda: last_index(lab, 2) == 0, 10, what="server 2 back, without history")
    assert sorted(rows_of(walk_changes(lab))) == [(1, 5), (1, 6)]
    wait_store_rows(lab, {1: [5, 6], 2: []})

    # history off: no rows, yet the numbers still count the changes
    lab.agent.write_config(two_server_text(lab, size=0))
    lab.agent.reload()
    wait_for(lambda: snmpget(lab.snmpd.port, HISTORY_SIZE)[0].value(HISTORY_SIZE) == 0, 10,
             what="cupiChangeHistorySize 0")
    assert walk_changes(lab) == {}
    one_more()
    wait_last_index(lab, 1, 7)
    assert walk_changes(lab) == {}
    wait_store_rows(lab, {1: [], 2: []})
    assert saved_doc(lab.state_file)["servers"][0]["history"]["lastIndex"] == 7

    # server 1 now at another URL (cuc2's): its rows are gone, numbering goes on
    lab.agent.write_config(two_server_text(lab, size=3, url1=lab.sim.url_of("cuc2")))
    lab.agent.reload()
    wait_for(lambda: snmpget(lab.snmpd.port, HISTORY_SIZE)[0].value(HISTORY_SIZE) == 3, 10,
             what="cupiChangeHistorySize 3")
    wait_for(lambda: snmpget(lab.snmpd.port, field_oid("server", "maxNumberConnections", 1))[0]
             .value(field_oid("server", "maxNumberConnections", 1)) == 12, 10,
             what="server 1 reading cuc2")
    assert last_index(lab, 1) == 7
    lab.sim.set_state({"server": {"maxNumberConnections": "13"}}, server="cuc2")
    wait_last_index(lab, 1, 8)
    wait_last_index(lab, 2, 1)  # server 2 reads cuc2 too: its own first row
    assert sorted(rows_of(walk_changes(lab))) == [(1, 8), (2, 1)]
    wait_store_rows(lab, {1: [8], 2: [1]})
    assert saved_doc(lab.state_file)["servers"][0]["url"] == lab.sim.url_of("cuc2")


def long_host(k):
    """A valid host name of about 240 characters."""
    return ".".join(["relay-%d" % k] + ["l%d" % i + "x" * 54 for i in range(4)]) + ".example"


def test_walk_of_a_full_history_of_100_servers(lab):
    """100 servers x 100 rows loaded from a state file: the walk is exact
    (50,000 cells in order); its time is printed, not judged. Long host
    names make the file larger than a file without history may be (4 MiB):
    the bound grows with the history."""
    n_servers, n_rows = 100, 100
    lab.start_snmp()
    url = "https://127.0.0.1:1"  # nothing listens: no read ever adds a row
    fields = [("server", "maxNumberConnections"), ("client", "smtpSmartHost")]
    servers = []
    for i in range(1, n_servers + 1):
        rows = []
        for k in range(1, n_rows + 1):
            resource, field = fields[k % 2]
            old, new = ((str(k % 50), str((k + 1) % 50)) if resource == "server" else
                        (long_host(k), long_host(k + 1)))
            rows.append({"index": 1000 + k, "time": 1764590000 + k, "resource": resource,
                         "field": field, "old": old, "new": new,
                         "source": "snmp" if k % 3 == 0 else "external"})
        servers.append({"index": i, "url": url,
                        "history": {"version": 1, "lastIndex": 1000 + n_rows, "rows": rows}})
    lab.state_file.parent.mkdir(parents=True, exist_ok=True)
    lab.state_file.write_text(json.dumps({"format": "cupi-snmp-state", "version": 2,
                                          "servers": servers}, indent="\t"))  # as the agent
    json_bytes = lab.state_file.read_bytes()
    assert len(json_bytes) > 4 * 1024 * 1024
    blocks = [server_lines(i, "cuc%d" % i, url=url, insecure=True)
              for i in range(1, n_servers + 1)]
    text = agent_config(lab.snmpd, blocks, poll=3600, ttl=3600, timeout_ms=1000,
                        extra=["cupiStateFile %s" % lab.state_file])
    lab.start_agent(text, wait_ok=False)
    assert last_index(lab, 1) == 1000 + n_rows and last_index(lab, 100) == 1000 + n_rows
    # imported once into a database; the JSON file kept beside, unchanged
    assert lab.state_file.read_bytes()[:16] == b"SQLite format 3\0"
    assert Path(str(lab.state_file) + ".json.bak").read_bytes() == json_bytes
    assert "imported into a database" in lab.agent.log_text()
    doc = saved_doc(lab.state_file)
    assert len(doc["servers"]) == n_servers
    assert all(len(s["history"]["rows"]) == n_rows for s in doc["servers"])
    for reps in (10, 50):
        t0 = time.monotonic()
        vals, err = snmpbulkwalk(lab.snmpd.port, OBJECTS + ".4", repetitions=reps, timeout=5)
        took = time.monotonic() - t0
        assert not err, err
        print("snmpbulkwalk -Cr%d of cupiChangeTable, %d servers x %d rows (%d cells): %.2f s"
              % (reps, n_servers, n_rows, len(vals), took))
        assert len(vals) == n_servers * n_rows * 5
        expected = ["%s.%d.%d.%d" % (CHANGE_ENTRY, c, i, 1000 + k)
                    for c in (TIME, OBJECT, OLD, NEW, SOURCE)
                    for i in range(1, n_servers + 1) for k in range(1, n_rows + 1)]
        assert vals.order == expected
    assert vals["%s.%d.%d.%d" % (CHANGE_ENTRY, NEW, 42, 1007)] == ("STRING", long_host(8))
    assert vals["%s.%d.%d.%d" % (CHANGE_ENTRY, OBJECT, 42, 1008)] == \
        ("OID", field_oid("server", "maxNumberConnections", 42))
    assert vals["%s.%d.%d.%d" % (CHANGE_ENTRY, SOURCE, 42, 1009)] == ("INTEGER", SNMP)
