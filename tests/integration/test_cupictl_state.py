"""cupictl state: the report on the agent's state file, read from the file
alone (the agent and CUPI are not needed, so none is started here; a state
file the agent wrote is checked in test_agent_state_file.py).

Run: CUPI_BUILD_DIR=BUILD /usr/bin/python3 -m pytest -q tests/integration/test_cupictl_state.py
"""

import json
import os
import sqlite3
import subprocess
import time

import pytest

from snmp_helper import cupictl_binary
from state_helper import set_rows

PASSWORD = "State-Report-Pw1"
SERVER_VALUES = {"Port": "587", "domainName": "mail.example.com", "maxNumberConnections": "20",
                 "smtpClientThreads": "5", "maxMessageSizeKb": "10240",
                 "maxNumberMessagesSession": "10", "maxNumberRecipients": "1000",
                 "retryDeliveryTimeoutMin": "240",
                 "allowConnectionsFromUntrustedIpAddresses": "true",
                 "requireAuthenticationFromUntrustedIpAddresses": "false",
                 "requireTlsFromUntrustedIpAddresses": "2"}
REWRITE_S = 300  # the agent rewrites its file at least this often, plus a refresh
POLL_S = 60  # the configuration's cupiPollInterval: each resource's read period


def run(conf, *args):
    p = subprocess.run([str(cupictl_binary()), "-c", str(conf), *args], capture_output=True,
                       text=True, timeout=30)
    assert PASSWORD not in p.stdout + p.stderr
    return p


@pytest.fixture
def setup(tmp_path):
    state = tmp_path / "state.json"
    conf = tmp_path / "agent.conf"
    conf.write_text("cupiServer 1 cuc-paris https://cuc1.example.com:8443\n"
                    "cupiUser 1 admin\ncupiPassword 1 %s\n"
                    "cupiServer 2 cuc-lyon https://cuc2.example.com\n"
                    "cupiUser 2 admin\ncupiPassword 2 %s\n"
                    "cupiServer 3 cuc-nice https://cuc3.example.com\n"
                    "cupiUser 3 admin\ncupiPassword 3 %s\n"
                    "cupiCacheTtl 30\ncupiPollInterval 60\n"
                    "cupiStateFile %s\n" % (PASSWORD, PASSWORD, PASSWORD, state))
    os.chmod(conf, 0o600)
    now = int(time.time())
    doc = {"format": "cupi-snmp-state", "version": 1, "servers": [
        {"index": 1, "url": "https://cuc1.example.com:8443",
         "server": {"readAt": now - 100, "values": SERVER_VALUES}},
        # moved: saved for another URL than the one configured now
        {"index": 2, "url": "https://old-lyon.example.com",
         "server": {"readAt": now - 100, "values": SERVER_VALUES}},
        # not configured any more
        {"index": 9, "url": "https://gone.example.com"},
        # a value the agent would refuse
        {"index": 3, "url": "https://cuc3.example.com",
         "server": {"readAt": now - 100, "values": dict(SERVER_VALUES, Port="26")}},
    ]}
    state.write_text(json.dumps(doc))
    return conf, state, now


def test_text_report_current(setup):
    conf, state, now = setup
    p = run(conf, "state")
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert "state file %s" % state in out
    lines = out.splitlines()
    i = lines.index("server 1 cuc-paris https://cuc1.example.com:8443")
    assert lines[i + 1].startswith("  server: values read from CUPI ")
    age = int(lines[i + 1].split("(")[1].split()[0])
    assert 100 <= age <= 110, lines[i + 1]
    assert lines[i + 2] == "  client: no values saved"
    i = lines.index("server 2 cuc-lyon https://cuc2.example.com")
    assert lines[i + 1] == "  nothing saved for this server at this URL"
    i = lines.index("server 3 cuc-nice https://cuc3.example.com")
    assert "invalid: the agent ignores them" in lines[i + 3]
    assert ("saved for server 2 at https://old-lyon.example.com, which is now another URL: "
            "the agent ignores it") in lines
    assert ("saved for server 9 at https://gone.example.com, which is not configured: "
            "the agent ignores it") in lines
    assert lines[-1] == "current: written within the last %d s" % (REWRITE_S + POLL_S)


def test_stale_file_said_clearly(setup):
    conf, state, now = setup
    os.utime(state, (now - 1000, now - 1000))
    p = run(conf, "state")
    assert p.returncode == 0, p.stderr
    last = p.stdout.splitlines()[-1]
    assert last.startswith("STALE: written ") and "cannot write the file" in last, last
    age = int(last.split()[2])
    assert 1000 <= age <= 1010

    p = run(conf, "state", "--json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["stale"] is True and doc["staleAfter"] == REWRITE_S + POLL_S
    assert doc["file"] == str(state) and doc["writtenAt"] == now - 1000


def test_json_report_and_one_server(setup):
    conf, state, now = setup
    p = run(conf, "state", "--json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["stale"] is False
    by_index = {s["index"]: s for s in doc["servers"]}
    assert sorted(by_index) == [1, 2, 3]
    assert by_index[1]["saved"] is True and by_index[1]["server"]["readAt"] == now - 100
    assert by_index[1]["client"] is None
    assert by_index[2]["saved"] is False
    assert by_index[3]["invalid"] == 1 and by_index[3]["server"] is None

    p = run(conf, "-s", "cuc-paris", "state", "--json")
    assert p.returncode == 0, p.stderr
    assert [s["index"] for s in json.loads(p.stdout)["servers"]] == [1]
    p = run(conf, "-s", "7", "state")
    assert p.returncode == 2 and "no server" in p.stderr


@pytest.mark.parametrize("content, needle", [
    (None, "cannot read state file"),
    ("{\"format\": \"cupi-snmp-state\", \"version\": 3, \"servers\": []}", "version 3"),
    ("garbage", "not a cupi-snmp state file"),
])
def test_unreadable_or_corrupt_file(setup, content, needle):
    conf, state, now = setup
    if content is None:
        state.unlink()
    else:
        state.write_text(content)
    p = run(conf, "state")
    assert p.returncode == 1
    assert needle in p.stderr, p.stderr
    assert p.stdout == ""


def test_no_state_file_configured(tmp_path):
    conf = tmp_path / "agent.conf"
    conf.write_text("cupiServer 1 a https://a.example.com\ncupiUser 1 u\n"
                    "cupiPassword 1 %s\n" % PASSWORD)
    os.chmod(conf, 0o600)
    p = run(conf, "state")
    assert p.returncode == 1 and "no cupiStateFile" in p.stderr
    assert run(conf, "state", "extra").returncode == 2


# The schema as doc/state-store.md documents it, written here by hand: an
# operator's (or a later release's) tool that follows the documentation is
# read as the agent's own store.
SCHEMA = """
PRAGMA application_id = 1129664585;
PRAGMA user_version = 1;
CREATE TABLE store_info (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE servers (server INTEGER PRIMARY KEY, url TEXT NOT NULL,
                      last_change INTEGER NOT NULL DEFAULT 0);
CREATE TABLE resources (server INTEGER NOT NULL, resource TEXT NOT NULL,
                        read_at INTEGER NOT NULL, PRIMARY KEY (server, resource)) WITHOUT ROWID;
CREATE TABLE field_values (server INTEGER NOT NULL, resource TEXT NOT NULL,
                           field TEXT NOT NULL, value TEXT NOT NULL,
                           PRIMARY KEY (server, resource, field)) WITHOUT ROWID;
CREATE TABLE changes (server INTEGER NOT NULL, change INTEGER NOT NULL, time INTEGER NOT NULL,
                      resource TEXT NOT NULL, field TEXT NOT NULL, old TEXT NOT NULL,
                      new TEXT NOT NULL, source TEXT NOT NULL,
                      PRIMARY KEY (server, change)) WITHOUT ROWID;
"""


def write_db(path, now, written_at):
    con = sqlite3.connect(str(path))
    con.executescript(SCHEMA)
    con.executemany("INSERT INTO store_info VALUES (?, ?)",
                    [("format", "cupi-snmp-state"), ("store_id", "0123abcd"),
                     ("written_at", str(written_at))])
    con.execute("INSERT INTO servers VALUES (1, 'https://cuc1.example.com:8443', 2)")
    con.execute("INSERT INTO servers VALUES (9, 'https://gone.example.com', 0)")
    con.execute("INSERT INTO resources VALUES (1, 'server', ?)", (now - 100,))
    con.executemany("INSERT INTO field_values VALUES (1, 'server', ?, ?)",
                    list(SERVER_VALUES.items()))
    con.executemany("INSERT INTO changes VALUES (1, ?, ?, 'server', 'Port', ?, ?, ?)",
                    [(1, now - 50, "25", "587", "external"), (2, now - 40, "587", "25", "snmp")])
    con.commit()
    con.close()


def test_database_read_as_the_agent_writes_it(setup):
    conf, state, now = setup
    state.unlink()
    write_db(state, now, now - 20)
    p = run(conf, "state")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    i = lines.index("server 1 cuc-paris https://cuc1.example.com:8443")
    age = int(lines[i + 1].split("(")[1].split()[0])
    assert lines[i + 1].startswith("  server: values read from CUPI ") and 100 <= age <= 110
    assert lines[i + 2] == "  client: no values saved"
    assert ("saved for server 9 at https://gone.example.com, which is not configured: "
            "the agent ignores it") in lines
    assert lines[-1] == "current: written within the last %d s" % (REWRITE_S + POLL_S)
    p = run(conf, "history", "--json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    rows = doc["servers"][0]["rows"]
    assert doc["servers"][0]["lastIndex"] == 2
    assert [(r["index"], r["old"], r["new"], r["source"]) for r in rows] == \
        [(1, "25", "587", "external"), (2, "587", "25", "snmp")]

    # not written for a long time: stale, from store_info's written_at
    set_rows(state, "UPDATE store_info SET value = ? WHERE key = 'written_at'", (str(now - 1000),))
    p = run(conf, "state", "--json")
    doc = json.loads(p.stdout)
    assert doc["stale"] is True and doc["writtenAt"] == now - 1000

    # a later release's schema is refused, saying so
    set_rows(state, "PRAGMA user_version = 7")
    p = run(conf, "state")
    assert p.returncode == 1 and "schema version 7 is newer" in p.stderr, p.stderr
