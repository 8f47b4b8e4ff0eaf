"""bench_state.py - the state store at fleet size (bench.py --state-store).

N (1,000) servers, each with both resources' values and H (100) change
rows of long values in the agent's state store, the agent beside the
trivial reference subagent (bench/bench_ref_subagent, N rows) behind the
same snmpd, as in bench_fleet.py. It measures; nothing passes or fails.

Phases:
  1. the store: a JSON state file of an earlier release with those rows,
     imported by a first start (the import's time), then the agent stopped
  2. start-up with that store: time until cupiServerTable row N answers,
     until every row serves config values, and until server N's newest
     change row answers (history queryable)
  3. steady state (--fleet-seconds): one client alternating GETs of the
     agent's last row and the reference's, while a SET of a random server's
     maxNumberConnections runs every 4 s (each one a change written with its
     history rows); GET p50/p99/max, the agent's RSS, the store's size
  4. the agent stopped: its log's median and max SNMP-thread time to record
     one change (model/state.c measures each commit)
"""

import json
import random
import re
import threading
import time

import bench
from bench import fmt, lat_stats
from bench_fleet import Fleet, alternate_gets, memory, ref_oid, srv_oid
from snmp_helper import (OBJECTS, SERVER_TABLE, SMTP_SERVER_TABLE, agent_config, col,
                         server_lines, snmpbulkwalk, snmpget, snmpset)

CHANGE_ENTRY = OBJECTS + ".4.1"
LAST_CHANGE = 12  # cupiServerLastChangeIndex
SET_EVERY_S = 4.0
# Not bench_fleet's ports: the two benchmarks may run side by side.
BASE_PORT = 26000


def long_host(k, server=0):
    """A long smart host name; with server, one no other server's history
    holds (the history then shares no text across the fleet)."""
    first = "relay-%d" % k if not server else "relay-%d-s%d" % (k, server)
    return ".".join([first] + ["l%d" % i + "x" * 54 for i in range(4)]) + ".example"


class StateFleet(Fleet):
    def __init__(self, work, build, servers, rows, idle_timeout=30, distinct=False):
        super().__init__(work, build, servers, idle_timeout, base_port=BASE_PORT)
        self.distinct = distinct
        self.rows = rows
        self.with_store = True
        self.state_file = self.work / "state" / "cupi-state.db"

    def agent_conf(self, servers):
        lines = [server_lines(i, "cuc%d" % i, self.sim, sim_server="cuc%d" % i)
                 for i in range(1, servers + 1)]
        extra = ["cupiHistorySize %d" % self.rows]
        if self.with_store:
            extra.append("cupiStateFile %s" % self.state_file)
        return agent_config(self.snmpd, lines, extra=extra)

    def write_json_state(self):
        """What an agent of an earlier release left: values as cupi-sim holds
        them (no change at the first read), H rows of long values each."""
        now = int(time.time())
        values = self.sim.state(server="cuc1")
        client = {k: v for k, v in values["client"].items() if k != "smtpPassword"}
        servers = []
        for i in range(1, self.n + 1):
            own = i if self.distinct else 0
            rows = []
            for k in range(1, self.rows + 1):
                server_row = k % 2 == 0
                rows.append({"index": k, "time": now - 86400 + k,
                             "resource": "server" if server_row else "client",
                             "field": "maxNumberConnections" if server_row else "smtpSmartHost",
                             "old": str(k % 50 + 1) if server_row else long_host(k, own),
                             "new": (str((k + 1) % 50 + 1) if server_row
                                     else long_host(k + 1, own)),
                             "source": "snmp" if k % 3 == 0 else "external"})
            servers.append({"index": i, "url": self.sim.url_of("cuc%d" % i),
                            "server": {"readAt": now - 30, "values": values["server"]},
                            "client": {"readAt": now - 30, "values": client},
                            "history": {"version": 1, "lastIndex": self.rows, "rows": rows}})
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"format": "cupi-snmp-state", "version": 2, "servers": servers},
                          indent="\t")
        self.state_file.write_text(text)
        return len(text)


def store_bytes(path):
    out = {}
    for suffix in ("", "-wal", "-shm"):
        try:
            out[suffix or "db"] = (path.parent / (path.name + suffix)).stat().st_size
        except OSError:
            out[suffix or "db"] = 0
    return out


def wait_answer(fl, oid, asn_type, timeout, every):
    """Seconds until oid answers with a value of asn_type, or None."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        v, _ = snmpget(fl.port, oid, timeout=1, retries=0)
        if v.get(oid, ("",))[0] == asn_type:
            return time.monotonic() - t0
        time.sleep(every)
    return None


def wait_value(fl, n, timeout):
    """Seconds until server n's maxNumberConnections answers."""
    return wait_answer(fl, srv_oid(3, n), "INTEGER", timeout, 0.02)


def wait_history(fl, n, timeout):
    """Seconds until server n's newest change row answers."""
    return wait_answer(fl, "%s.5.%d.%d" % (CHANGE_ENTRY, n, fl.rows), "STRING", timeout, 0.05)


def set_loop(port, n, stop, out):
    rng = random.Random(4)
    k = 0
    while not stop.wait(SET_EVERY_S):
        k += 1
        index = rng.randint(1, n)
        t = time.monotonic()
        _, err = snmpset(port, (srv_oid(3, index), "i", 1 + k % 90), timeout=30)
        out.append((time.monotonic() - t, err or None))


def recorded(agent):
    m = re.search(r"(\d+) change\(s\) recorded, SNMP-thread time median ([\d.]+) ms, "
                  r"max ([\d.]+) ms \(its CPU time: median ([\d.]+) ms, max ([\d.]+) ms\)",
                  agent.log_text())
    return {"changes": int(m.group(1)), "median_ms": float(m.group(2)),
            "max_ms": float(m.group(3)), "cpu_median_ms": float(m.group(4)),
            "cpu_max_ms": float(m.group(5))} if m else None


def run(args, build, work):
    n, rows = args.servers, args.history_rows
    res = {"servers": n, "rows": rows, "steady_seconds": args.fleet_seconds,
           "distinct_history": args.distinct_history}
    fl = StateFleet(work, build, n, rows, args.sim_idle_timeout, args.distinct_history)
    step = bench.progress
    try:
        step("state store: cupi-sim with %d servers, snmpd, reference" % n)
        fl.start()
        fl.start_ref(n)
        res["json_bytes"] = fl.write_json_state()
        step("state store: first start, importing %d servers x %d rows" % (n, rows))
        t = time.monotonic()
        fl.spawn_agent(n)
        fl.wait_served(n, timeout=180)
        res["import_start_s"] = time.monotonic() - t
        fl.stop_agent()
        res["store_bytes_after_import"] = store_bytes(fl.state_file)

        step("state store: start-up with the store")
        t = time.monotonic()
        fl.spawn_agent(n)
        st = res["startup"] = {"values_n_answers_s": wait_value(fl, n, 60)}
        history_s = wait_history(fl, n, 30)  # None: not within 30 s (reported as "-")
        st["history_n_answers_s"] = (history_s + st["values_n_answers_s"]
                                     if None not in (history_s, st["values_n_answers_s"]) else None)
        t1 = time.monotonic()
        walk = snmpbulkwalk(fl.port, SMTP_SERVER_TABLE + ".3", timeout=10, repetitions=50)[0]
        st["walk_s"] = time.monotonic() - t1
        st["walk_rows"] = len(walk)
        st["all_rows_values_s"] = time.monotonic() - t
        last = col(SERVER_TABLE, LAST_CHANGE, n)
        res["startup"]["last_change_n"] = snmpget(fl.port, last)[0].value(last)

        step("state store: steady state, %d s of GETs, a SET every %.0f s" %
             (args.fleet_seconds, SET_EVERY_S))
        time.sleep(2)
        stop, sets = threading.Event(), []
        setter = threading.Thread(target=set_loop, args=(fl.port, n, stop, sets), daemon=True)
        setter.start()
        lat, errors = alternate_gets(fl.port, [srv_oid(3, n), ref_oid(3, n)],
                                     args.fleet_seconds)
        stop.set()
        setter.join(timeout=40)
        res["steady"] = {
            "agent": dict(lat_stats([x for _, x in lat[srv_oid(3, n)]]),
                          errors=errors[srv_oid(3, n)]),
            "ref": dict(lat_stats([x for _, x in lat[ref_oid(3, n)]]),
                        errors=errors[ref_oid(3, n)]),
            "sets": len(sets), "set_errors": len([e for _, e in sets if e]),
            "set_median_s": sorted(s for s, _ in sets)[len(sets) // 2] if sets else None}
        res["agent_mem"] = memory(fl.agent.pid)
        res["ref_mem"] = memory(fl.ref.pid)
        res["store_bytes_running"] = store_bytes(fl.state_file)
        agent = fl.agent
        fl.stop_agent()
        res["record"] = recorded(agent)

        if args.baseline:
            step("state store: the same without a state store (baseline), %d s" %
                 args.fleet_seconds)
            fl.with_store = False
            fl.spawn_agent(n)
            fl.wait_served(n, timeout=180)
            time.sleep(2)
            stop, sets = threading.Event(), []
            setter = threading.Thread(target=set_loop, args=(fl.port, n, stop, sets),
                                      daemon=True)
            setter.start()
            lat, errors = alternate_gets(fl.port, [srv_oid(3, n), ref_oid(3, n)],
                                         args.fleet_seconds)
            stop.set()
            setter.join(timeout=40)
            res["baseline"] = {
                "agent": lat_stats([x for _, x in lat[srv_oid(3, n)]]),
                "ref": lat_stats([x for _, x in lat[ref_oid(3, n)]]),
                "agent_mem": memory(fl.agent.pid)}
            fl.stop_agent()
    finally:
        fl.stop()
    return res


def report(r):
    out = ["", "State store: %d servers x %d history rows (%s), a SET every %.0f s, agent "
           "beside the reference subagent" % (
               r["servers"], r["rows"], "no text shared between servers"
               if r.get("distinct_history") else "the same texts on every server",
               SET_EVERY_S)]
    out.append("  JSON state file imported at the first start: %.1f MB, %s s (start to all "
               "rows served)" % (r["json_bytes"] / 1e6, fmt(r.get("import_start_s"), 1)))
    out.append("  store after import: %s" % r.get("store_bytes_after_import"))
    st = r.get("startup", {})
    out.append("  start-up with the store: server N's values %s s, its newest change row "
               "%s s (cupiServerLastChangeIndex.N = %s), then a walk of a column of every "
               "row %s s (%s rows): all served %s s after the start  [target: all rows "
               "within 2 s, history at once]" % (
                   fmt(st.get("values_n_answers_s")), fmt(st.get("history_n_answers_s")),
                   st.get("last_change_n"), fmt(st.get("walk_s")), st.get("walk_rows"),
                   fmt(st.get("all_rows_values_s"))))
    s = r.get("steady", {})
    a, b = s.get("agent", {}), s.get("ref", {})
    row = "  %-34s %12s %12s %8s  %s"
    out.append(row % ("GET over %d s (ms)" % r["steady_seconds"], "agent", "reference",
                      "ratio", "target"))
    for key, target in (("p50", ""), ("p99", "<= 1.2x"), ("max", "<= 2x")):
        ratio = a.get(key) / b.get(key) if a.get(key) and b.get(key) else None
        out.append(row % (key, fmt(a.get(key), 3), fmt(b.get(key), 3), fmt(ratio, 2), target))
    out.append(row % ("GETs (errors)", "%s (%s)" % (a.get("n"), a.get("errors")),
                      "%s (%s)" % (b.get("n"), b.get("errors")), "", ""))
    out.append("  SETs: %s (%s errors), median %s s" % (s.get("sets"), s.get("set_errors"),
                                                       fmt(s.get("set_median_s"), 3)))
    mem = r.get("agent_mem", {})
    out.append("  agent RSS %s MiB (VmHWM %s MiB)  [target <= 64 MiB]; reference RSS %s MiB" % (
        fmt(mem.get("VmRSS", 0) / 1024, 1), fmt(mem.get("VmHWM", 0) / 1024, 1),
        fmt(r.get("ref_mem", {}).get("VmRSS", 0) / 1024, 1)))
    out.append("  store while running: %s" % r.get("store_bytes_running"))
    base = r.get("baseline")
    if base:
        ba, bb = base["agent"], base["ref"]
        out.append("  without a state store, same run (baseline): GET p50 %s / %s, p99 %s / %s,"
                   " max %s / %s ms (agent / reference); agent RSS %s MiB" % (
                       fmt(ba.get("p50"), 3), fmt(bb.get("p50"), 3), fmt(ba.get("p99"), 3),
                       fmt(bb.get("p99"), 3), fmt(ba.get("max"), 1), fmt(bb.get("max"), 1),
                       fmt(base["agent_mem"].get("VmRSS", 0) / 1024, 1)))
    rec = r.get("record") or {}
    out.append("  SNMP-thread time to record one change: median %s ms, max %s ms (its CPU "
               "time: median %s ms, max %s ms) over %s change(s)  [target: median < 1 ms]" % (
                   fmt(rec.get("median_ms")), fmt(rec.get("max_ms")),
                   fmt(rec.get("cpu_median_ms")), fmt(rec.get("cpu_max_ms")),
                   rec.get("changes")))
    return "\n".join(out)
