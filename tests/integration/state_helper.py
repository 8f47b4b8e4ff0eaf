"""The agent's state store (cupiStateFile, an SQLite database) as the tests
read it: with Python's sqlite3, read-only, while the agent may be writing,
through the documented schema (doc/state-store.md) rather than the agent's
own reader. Also what the agent logs about its store and cupictl run against
an agent's configuration file."""

import sqlite3
import subprocess
from pathlib import Path

from snmp_helper import cupictl_binary

RETRY_MAX_S = 60  # the back-off's cap between attempts to write the store
ERROR_TEXT = "cannot write state file"  # logged once per outage
RECOVERED_TEXT = "written again"  # logged when the store can be written again


def log_lines(agent, needle):
    """The agent's log lines that contain needle."""
    return [line for line in agent.log_text().splitlines() if needle in line]


def cupictl(conf_file, *args, env=None):
    """cupictl -c conf_file args...: the CompletedProcess (text output)."""
    return subprocess.run([str(cupictl_binary()), "-c", str(conf_file)] + list(args),
                          capture_output=True, text=True, timeout=30, env=env,
                          stdin=subprocess.DEVNULL)


def connect(path):
    """A read-only connection; raises sqlite3.Error when it is not a database."""
    return sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=5)


def saved_doc(path):
    """The store as one dict, shaped as the JSON state file of earlier
    releases was: {"servers": [{"index", "url", "server": {"readAt",
    "values"}, "client": {...}, "history": {"lastIndex", "rows": [...]}}]}.
    Raises OSError when there is no store, sqlite3.Error when unreadable."""
    if not Path(path).exists():
        raise FileNotFoundError(path)
    con = connect(path)
    try:
        servers = {}
        for index, url, last in con.execute(
                "SELECT server, url, last_change FROM servers ORDER BY server"):
            servers[index] = {"index": index, "url": url,
                              "history": {"lastIndex": last, "rows": []}}
        for index, resource, read_at in con.execute(
                "SELECT server, resource, read_at FROM resources"):
            if index in servers:
                servers[index][resource] = {"readAt": read_at, "values": {}}
        for index, resource, field, value in con.execute(
                "SELECT server, resource, field, value FROM field_values"):
            if index in servers and resource in servers[index]:
                servers[index][resource]["values"][field] = value
        for row in con.execute("SELECT server, change, time, resource, field, old, new, source "
                               "FROM changes ORDER BY server, change"):
            index = row[0]
            if index in servers:
                servers[index]["history"]["rows"].append(dict(zip(
                    ("index", "time", "resource", "field", "old", "new", "source"), row[1:])))
        info = dict(con.execute("SELECT key, value FROM store_info"))
    finally:
        con.close()
    return {"format": info.get("format"), "servers": [servers[i] for i in sorted(servers)],
            "writtenAt": int(info.get("written_at", 0))}


def try_saved_doc(path):
    """saved_doc, or None while there is no readable store."""
    try:
        return saved_doc(path)
    except (OSError, sqlite3.Error):
        return None


def saved_value(path, field, index=1, resource="server"):
    doc = try_saved_doc(path)
    for s in (doc or {}).get("servers", []):
        if s["index"] == index:
            return s.get(resource, {}).get("values", {}).get(field)
    return None


def state_bytes(path):
    """Every byte the agent wrote for its state: the database and its WAL
    (a commit lives there until the next checkpoint)."""
    out = b""
    for suffix in ("", "-wal"):
        p = Path(str(path) + suffix)
        if p.exists():
            out += p.read_bytes()
    return out


def integrity(path):
    """PRAGMA integrity_check's answer ("ok" when sound)."""
    con = connect(path)
    try:
        return "\n".join(r[0] for r in con.execute("PRAGMA integrity_check"))
    finally:
        con.close()


def set_rows(path, sql, params=()):
    """Edits the store as an operator would with the sqlite3 shell (the
    agent must be stopped)."""
    con = sqlite3.connect(str(path), timeout=5)
    try:
        con.execute(sql, params)
        con.commit()
    finally:
        con.close()
