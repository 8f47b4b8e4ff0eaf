"""bench_fleet_cases.py - a fleet in trouble (bench.py --fleet --fleet-case ...).

The same set-up as bench_fleet.py (one cupi-sim with N virtual servers on
127.0.0.2, a private snmpd, the trivial reference subagent with N rows beside
the agent, in the same run), plus snmptrapd and, standing in for a cut WAN
link, a silent listener: a child process on 127.0.0.2 that accepts TCP
connections and never reads or writes a byte (one port per dead server, so
that every dead server is a host of its own). It measures; nothing passes or
fails. Targets are printed beside the numbers.

Cases (--fleet-case, comma-separated; "all" for every one):
  poll10          cupiPollInterval 10 (connections kept) at N servers: GET
                  p99/max of the agent and the reference over --fleet-seconds
                  from one client alternating them, agent RSS, CUPI requests
                  per second; then the agent again at the default poll for
                  60 s: its RSS.
  partial-outage  60% of the servers answer (cupi-sim), 40% point at the
                  silent listener, cupiPollInterval 30: for 150 s from the
                  agent's start, the answering servers' cupiServerDataAge
                  (walked every 3 s) and when every dead one reads
                  unreachable(3); snmpd probed meanwhile.
  whole-outage    every server behind the silent listener, cupiTimeout 3000,
                  poll 30: when all read unreachable, cupiServerStatusChanged
                  notifications per server (snmptrapd), snmpd probed.
  stalled-master  100 servers (a smaller fleet: the stall is about the
                  agent's loop, not the fleet's size), poll 2 s: snmpd stopped
                  with SIGSTOP for 40 s, a change made in cupi-sim 20 s into the
                  stall; cupiServerDataAge right after SIGCONT, and the change's
                  cupiChangeTime against when it was made.

Probes (outage cases): a child process GETs sysUpTime.0 (snmpd's own), the
agent's cupiServerStatus of its last row and the reference's last row in
turn, then sleeps 100 ms; each GET waits 2 s, no retry. A GET not answered
in 2 s is an unanswered probe; the latencies give the agent's GET max beside
the reference's.

Results, 2026-12-07, main at 2f80dc5, N = 1,000, each case once on 2 cores
shared with other engineers (load average 1.0-2.7), agent / reference:
  poll10          GET p99 4.03 / 3.44 ms (1.17x, target 1.2x), max 138 / 141 ms
                  (0.98x, target 2x); CUPI 200 requests/s, 0.5 connections
                  opened a minute; RSS 81.7 MiB (target 48: missed, ~50 KB per
                  kept TLS connection: OpenSSL's per-connection state, curl's
                  kept handle and body buffer); at the default poll 35.3 MiB.
                  The worker thread used 471 ms of CPU a second with no GET:
                  between reads it waits on a curl timer already past.
  partial-outage  answering servers' cupiServerDataAge at most 31 s (target
                  45); all 400 silent ones unreachable after 39.5 s (target
                  90); no probe unanswered; GET max 52 / 143 ms, p99 3.8 / 6.3.
                  (Before both tables were walked alike, only the agent's:
                  96 / 16 ms.)
  whole-outage    all 1,000 unreachable after 44.4 s (target 90); exactly one
                  cupiServerStatusChanged per server, each unreachable(3); no
                  probe unanswered; GET max 8.8 / 56 ms, p99 2.8 / 3.6 ms.
  stalled-master  (100 servers) cupiServerDataAge 2 s right after a 40 s stall
                  (target 8); a change made 20 s into the stall recorded with a
                  cupiChangeTime 1.5 s after it was made (target 4), notified
                  0.1 s after SIGCONT.
"""

import calendar
import multiprocessing
import os
import resource
import select
import signal
import socket
import time

import bench
from bench import GetClient, fmt, lat_stats
from bench_fleet import (FLEET_ADDR, REF_ENTRY, Fleet, cpu_s, memory, phase_steady, ref_oid,
                         thread_cpu)
from snmp_helper import (NOTIFICATIONS, OBJECTS, SERVER_TABLE, SMTP_SERVER_TABLE, SYS_UPTIME,
                         Snmptrapd, agent_config, col, server_lines, snmpbulkwalk, snmpget,
                         wait_for)

REF_TABLE = REF_ENTRY  # column(REF_TABLE, c) walks the reference's column c
CASES = ("poll10", "partial-outage", "whole-outage", "stalled-master")
STATUS_COL, AGE_COL = 4, 5
ST_UNREACHABLE = 3
NEVER_READ = 4294967295  # cupiServerDataAge before any values
STATUS_CHANGED = NOTIFICATIONS + ".3"
CHANGE_ENTRY = OBJECTS + ".4.1"  # cupiChangeEntry
MAX_RECIPIENTS_COL = 7  # cupiSmtpServerMaxRecipients: maxNumberRecipients
PROBE_TIMEOUT_S = 2.0
PROBE_PAUSE_S = 0.1


# --- the silent listener -------------------------------------------------------------


def _silent_proc(count, lifetime, conn):
    """Child: count listening sockets on FLEET_ADDR (ports from the kernel),
    their ports sent back through conn; accepts every connection and holds it
    without reading or writing until its peer goes (EPOLLRDHUP, which needs
    no read), for lifetime seconds at most. Sends (accepted, most held) when
    asked to stop (SIGTERM) or at the end of its lifetime."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    ep = select.epoll()
    listeners, ports = {}, []
    for _ in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((FLEET_ADDR, 0))
        s.listen(64)
        s.setblocking(False)
        listeners[s.fileno()] = s
        ports.append(s.getsockname()[1])
        ep.register(s.fileno(), select.EPOLLIN)
    conn.send(ports)
    held, accepted, most = {}, 0, 0
    deadline = time.monotonic() + lifetime
    while not stop and time.monotonic() < deadline:
        try:
            events = ep.poll(0.2)
        except InterruptedError:
            continue
        for fd, ev in events:
            if fd in listeners:
                while True:
                    try:
                        c, _ = listeners[fd].accept()
                    except OSError:
                        break
                    held[c.fileno()] = c
                    ep.register(c.fileno(), select.EPOLLRDHUP)
                    accepted += 1
                most = max(most, len(held))
            elif ev & (select.EPOLLRDHUP | select.EPOLLHUP | select.EPOLLERR):
                c = held.pop(fd, None)
                if c:
                    ep.unregister(fd)
                    c.close()
    conn.send((accepted, most))
    conn.close()


class SilentListener:
    """The silent listener in a child process of its own (the driver's GIL
    never delays an accept), stopped by its PID; lives lifetime s at most."""

    def __init__(self, count, lifetime):
        ctx = multiprocessing.get_context("fork")
        self.rx, tx = ctx.Pipe(duplex=False)
        self.proc = ctx.Process(target=_silent_proc, args=(count, lifetime, tx), daemon=True)
        self.proc.start()
        tx.close()
        if not self.rx.poll(30):
            self.stop()
            raise RuntimeError("silent listener did not start")
        self.ports = self.rx.recv()
        self.accepted = self.most_held = None

    def stop(self):
        if self.proc.is_alive():
            os.kill(self.proc.pid, signal.SIGTERM)
            if self.rx.poll(10):
                try:
                    self.accepted, self.most_held = self.rx.recv()
                except EOFError:
                    pass
        self.proc.join(10)
        if self.proc.is_alive():
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.join(5)


# --- probes ------------------------------------------------------------------------


def _probe_proc(port, oids, stop, conn):
    """Child: GETs of oids in turn, a pause, again, until stop is set (10 min
    at most). Sends {oid: [(t, latency s)]}, [(t, oid, error)], noSuch count."""
    cli = GetClient(port, timeout=PROBE_TIMEOUT_S)
    lat = {o: [] for o in oids}
    failures, nosuch = [], 0
    deadline = time.monotonic() + 600
    while not stop.is_set() and time.monotonic() < deadline:
        for o in oids:
            t = time.monotonic()
            try:
                tag = cli.get(o)
                lat[o].append((t, time.monotonic() - t))
                nosuch += tag in (0x80, 0x81, 0x82)
            except (OSError, ValueError) as e:
                failures.append((t, o, "%s after %.2f s" % (e, time.monotonic() - t)))
        time.sleep(PROBE_PAUSE_S)
    cli.close()
    conn.send((lat, failures, nosuch))
    conn.close()


class Probes:
    """snmpd's sysUpTime.0, an agent object and a reference object probed
    from a child process (2 s timeout, no retry)."""

    def __init__(self, port, agent_oid, ref):
        self.oids = {"sysUpTime": SYS_UPTIME, "agent": agent_oid, "ref": ref}
        ctx = multiprocessing.get_context("fork")
        self.stop_ev = ctx.Event()
        self.rx, tx = ctx.Pipe(duplex=False)
        self.proc = ctx.Process(target=_probe_proc,
                                args=(port, list(self.oids.values()), self.stop_ev, tx),
                                daemon=True)
        self.proc.start()
        tx.close()
        self.result = None

    def finish(self, t0=None):
        """Stops the probes; the slowest agent GETs are given as (ms, s after t0)."""
        self.stop_ev.set()
        lat, failures, nosuch = {}, [], 0
        if self.rx.poll(30):
            lat, failures, nosuch = self.rx.recv()
        self.proc.join(10)
        if self.proc.is_alive():
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.join(5)
        out = {"nosuch": nosuch, "failures": len(failures),
               "first_failures": [f[2] + " (" + k + ")" for f in failures[:3]
                                  for k, o in self.oids.items() if o == f[1]]}
        for k, o in self.oids.items():
            out[k] = dict(lat_stats([x for _, x in lat.get(o, ())]),
                          unanswered=len([f for f in failures if f[1] == o]))
            if t0 is not None:
                out[k]["worst"] = [(x * 1000, t - t0) for t, x in
                                   sorted(lat.get(o, ()), key=lambda p: -p[1])[:5]]
        self.result = out
        return out


# --- reading the agent's tables ------------------------------------------------------


def column(port, table, column_no):
    """{index: value} of a column of a table indexed by one integer."""
    prefix = "%s.%d." % (table, column_no)
    vals, _ = snmpbulkwalk(port, prefix[:-1], timeout=3, retries=0, repetitions=50)
    return {int(o[len(prefix):]): v[1] for o, v in vals.items() if o.startswith(prefix)}


def date_and_time(raw):
    """DateAndTime octets as seconds since the epoch (UTC offset applied)."""
    if not raw or len(raw) < 8:
        return None
    t = calendar.timegm((raw[0] * 256 + raw[1], raw[2], raw[3], raw[4], raw[5], raw[6]))
    t += raw[7] / 10.0
    if len(raw) >= 11:
        off = (raw[9] * 3600 + raw[10] * 60) * (1 if raw[8] == ord("-") else -1)
        t += off
    return t


def changes_of(port, index):
    """cupiChangeTable rows of one server: [(change index, time, object)]."""
    times, _ = snmpbulkwalk(port, "%s.2.%d" % (CHANGE_ENTRY, index), timeout=3, retries=0)
    objs, _ = snmpbulkwalk(port, "%s.3.%d" % (CHANGE_ENTRY, index), timeout=3, retries=0)
    out = []
    for o in times.order:
        k = int(o.rsplit(".", 1)[1])
        obj = objs.get("%s.3.%d.%d" % (CHANGE_ENTRY, index, k), (None, None))[1]
        out.append((k, date_and_time(times.raw.get(o)), obj))
    return out


def thread_rates(pid, fn):
    """Runs fn(); returns (its result, {thread name: CPU ms per s meanwhile})."""
    c0, t0 = thread_cpu(pid), time.monotonic()
    value = fn()
    c1, span = thread_cpu(pid), time.monotonic() - t0
    return value, {k: (v - c0.get(k, 0.0)) / span * 1000 for k, v in c1.items()}


# --- configuration -------------------------------------------------------------------


def mixed_config(fl, alive, dead_ports, extra):
    """Servers 1..alive on cupi-sim, then one per silent port (the sim's CA
    and account, so a dead server differs from a live one only by its link)."""
    lines = [server_lines(i, "cuc%d" % i, fl.sim, sim_server="cuc%d" % i)
             for i in range(1, alive + 1)]
    for k, port in enumerate(dead_ports):
        i = alive + 1 + k
        lines.append(server_lines(i, "dead%d" % i, fl.sim,
                                  url="https://%s:%d" % (FLEET_ADDR, port)))
    return agent_config(fl.snmpd, lines, extra=list(extra))


# --- cases ---------------------------------------------------------------------------


def case_poll10(fl, n, seconds, debug):
    res = {"servers": n, "poll_s": 10}
    t0 = time.monotonic()
    fl.spawn_agent(n, conf=agent_config(fl.snmpd, [
        server_lines(i, "cuc%d" % i, fl.sim, sim_server="cuc%d" % i) for i in range(1, n + 1)],
        poll=10), debug=debug)
    res["row_n_s"], res["all_values_s"] = fl.wait_served(n, timeout=120)
    # one period more: every server read and its connection kept
    time.sleep(max(0.0, 15 - (time.monotonic() - t0)) + 10)
    _, res["idle_thread_cpu_ms_per_s"] = thread_rates(fl.agent.pid, lambda: time.sleep(5))
    res["steady"], res["thread_cpu_ms_per_s"] = thread_rates(
        fl.agent.pid, lambda: phase_steady(fl, n, seconds, poll_s=10))
    res["agent_mem"] = memory(fl.agent.pid)
    res["agent_threads_cpu_s"] = cpu_s(fl.agent.pid)
    res["agent_alive"] = fl.agent.running()

    # the default poll: connections closed after use
    fl.spawn_agent(n, debug=debug)
    _, res["default_all_values_s"] = fl.wait_served(n, timeout=120)
    t1 = time.monotonic()
    rss = []
    while time.monotonic() - t1 < 60:
        rss.append(memory(fl.agent.pid).get("VmRSS"))
        time.sleep(5)
    res["default_mem"] = memory(fl.agent.pid)
    res["default_rss_max_kB"] = max(r for r in rss if r is not None)
    res["default_rss_kB"] = res["default_mem"].get("VmRSS")
    return res


def outage_watch(fl, n, dead, t0, seconds, healthy=(), every=3.0):
    """Walks cupiServerStatus and cupiServerDataAge (and as many columns of
    the reference) every `every` s until `seconds` after t0. Returns the
    samples' summary."""
    dead = set(dead)
    healthy = set(healthy)
    all_dead_s = None
    healthy_values_s = None
    max_age, max_age_at, samples, walk_s = None, None, 0, []
    ages_seen = []
    while time.monotonic() - t0 < seconds:
        t = time.monotonic()
        status = column(fl.port, SERVER_TABLE, STATUS_COL)
        ages = column(fl.port, SERVER_TABLE, AGE_COL) if healthy else {}
        walk_s.append(time.monotonic() - t)
        # the reference walked as much, so that both carry the same load
        # when the probes compare them
        column(fl.port, REF_TABLE, 3)
        if healthy:
            column(fl.port, REF_TABLE, 4)
        samples += 1
        off = t - t0
        if all_dead_s is None and dead and \
                all(status.get(i) == ST_UNREACHABLE for i in dead):
            all_dead_s = off
        if healthy:
            h = [ages.get(i) for i in healthy]
            if healthy_values_s is None and all(a is not None and a != NEVER_READ for a in h):
                healthy_values_s = off
            if healthy_values_s is not None:
                m = max(a for a in h if a is not None and a != NEVER_READ)
                ages_seen.append((round(off), m))
                if max_age is None or m > max_age:
                    max_age, max_age_at = m, off
        time.sleep(max(0.0, every - (time.monotonic() - t)))
    last = column(fl.port, SERVER_TABLE, STATUS_COL)
    return {"all_dead_unreachable_s": all_dead_s,
            "dead_unreachable_at_end": len([i for i in dead if last.get(i) == ST_UNREACHABLE]),
            "healthy_not_ok_at_end": len([i for i in healthy if last.get(i) != 2]),
            "healthy_all_values_s": healthy_values_s,
            "healthy_max_age_s": max_age, "healthy_max_age_at_s": max_age_at,
            "healthy_age_samples": ages_seen, "samples": samples,
            "walk_max_s": max(walk_s) if walk_s else None}


def start_probed(fl, n, conf, debug, res):
    """Starts the agent with conf, waits for its rows, starts the GET
    probes (the last row's status beside the reference). Returns (t0,
    probes); res gets registered_s."""
    t0 = time.monotonic()
    fl.spawn_agent(n, conf=conf, debug=debug)
    wait_for(lambda: column(fl.port, SERVER_TABLE, STATUS_COL).get(n), 60, interval=0.2,
             what="the agent's rows registered")
    res["registered_s"] = time.monotonic() - t0
    return t0, Probes(fl.port, col(SERVER_TABLE, STATUS_COL, n), ref_oid(3, n))


def case_partial(fl, n, seconds, debug):
    alive = n * 6 // 10
    dead = list(range(alive + 1, n + 1))
    hole = SilentListener(len(dead), seconds + 120)
    res = {"servers": n, "answering": alive, "silent": len(dead), "poll_s": 30}
    try:
        t0, probes = start_probed(fl, n, mixed_config(fl, alive, hole.ports,
                                                      ["cupiPollInterval 30"]), debug, res)
        try:
            watch, res["thread_cpu_ms_per_s"] = thread_rates(fl.agent.pid, lambda: outage_watch(
                fl, n, dead, t0, seconds, healthy=range(1, alive + 1)))
            res.update(watch)
        finally:
            res["probes"] = probes.finish(t0)
        res["agent_mem"] = memory(fl.agent.pid)
        res["agent_alive"] = fl.agent.running()
    finally:
        res["agent_log_tail"] = fl.agent.log_text()[-2000:] if fl.agent else ""
        fl.stop_agent()
        hole.stop()
        res["silent_accepted"], res["silent_most_held"] = hole.accepted, hole.most_held
    return res


def status_notifications(trapd, skip=0):
    """{index: [status, ...]} of the cupiServerStatusChanged received after
    the first `skip` notifications, and how many were received in all."""
    out = {}
    prefix = col(SERVER_TABLE, STATUS_COL, 0)[:-1]
    notes = trapd.notifications()
    for note in notes[skip:]:
        if note["trap_oid"] != STATUS_CHANGED:
            continue
        for oid, (_, v) in note["varbinds"].items():
            if oid.startswith(prefix):
                out.setdefault(int(oid[len(prefix):]), []).append(v)
    return out, len(notes)


def case_whole(fl, trapd, n, seconds, debug):
    res = {"servers": n, "poll_s": 30, "timeout_ms": 3000}
    _, before = status_notifications(trapd)  # earlier cases' are not counted
    hole = SilentListener(n, seconds + 120)
    try:
        ticks0 = snmpget(fl.port, SYS_UPTIME)[0].value(SYS_UPTIME)  # snmpd's clock at t0
        t0, probes = start_probed(fl, n, mixed_config(
            fl, 0, hole.ports, ["cupiPollInterval 30", "cupiTimeout 3000"]), debug, res)
        try:
            watch, res["thread_cpu_ms_per_s"] = thread_rates(fl.agent.pid, lambda: outage_watch(
                fl, n, range(1, n + 1), t0, seconds, every=2.0))
            res.update(watch)
        finally:
            res["probes"] = probes.finish(t0)
        time.sleep(3)  # the last notifications through snmpd
        notes, _ = status_notifications(trapd, before)
        sent = [nt["uptime"] for nt in trapd.notifications()[before:]
                if nt["trap_oid"] == STATUS_CHANGED]
        if sent and ticks0 is not None:
            res["notes_sent_s"] = ((min(sent) - ticks0) / 100.0, (max(sent) - ticks0) / 100.0)
        counts = [len(notes.get(i, ())) for i in range(1, n + 1)]
        res["notifications"] = sum(counts)
        res["notifications_before"] = before
        res["servers_with_one"] = counts.count(1)
        res["servers_with_none"] = counts.count(0)
        res["servers_with_more"] = len([c for c in counts if c > 1])
        res["notified_unreachable"] = len([i for i in range(1, n + 1)
                                           if notes.get(i) == [ST_UNREACHABLE]])
        res["agent_mem"] = memory(fl.agent.pid)
        res["agent_alive"] = fl.agent.running()
    finally:
        res["agent_log_tail"] = fl.agent.log_text()[-2000:] if fl.agent else ""
        fl.stop_agent()
        hole.stop()
        res["silent_accepted"], res["silent_most_held"] = hole.accepted, hole.most_held
    return res


def case_stall(fl, trapd, servers, stall_s, debug):
    poll = 2
    changed = servers // 2
    res = {"servers": servers, "poll_s": poll, "stall_s": stall_s, "changed_server": changed}
    fl.spawn_agent(servers, conf=agent_config(fl.snmpd, [
        server_lines(i, "cuc%d" % i, fl.sim, sim_server="cuc%d" % i)
        for i in range(1, servers + 1)], poll=poll), debug=debug)
    try:
        _, res["all_values_s"] = fl.wait_served(servers, timeout=60)
        time.sleep(3 * poll)
        ages = column(fl.port, SERVER_TABLE, AGE_COL)
        res["age_before_max_s"] = max(ages.values()) if ages else None
        before = changes_of(fl.port, changed)
        res["changes_before"] = len(before)
        value = str(int(fl.sim.state("cuc%d" % changed)["server"]["maxNumberRecipients"]) + 7)

        os.kill(fl.snmpd.pid, signal.SIGSTOP)
        stopped = time.monotonic()
        try:
            time.sleep(stall_s / 2)
            fl.sim.set_state({"server": {"maxNumberRecipients": value}}, "cuc%d" % changed)
            made = time.time()
            res["change_made_into_stall_s"] = time.monotonic() - stopped
            time.sleep(max(0.0, stall_s - (time.monotonic() - stopped)))
        finally:
            os.kill(fl.snmpd.pid, signal.SIGCONT)
        resumed = time.monotonic()
        res["stall_measured_s"] = resumed - stopped

        # right after: the first walk that gives every row
        ages = {}
        while time.monotonic() - resumed < 30 and len(ages) < servers:
            ages = column(fl.port, SERVER_TABLE, AGE_COL)
        res["age_walk_after_resume_s"] = time.monotonic() - resumed
        res["ages_read"] = len(ages)
        res["age_after_max_s"] = max(ages.values()) if ages else None
        res["age_after_median_s"] = sorted(ages.values())[len(ages) // 2] if ages else None

        want = col(SMTP_SERVER_TABLE, MAX_RECIPIENTS_COL, changed)
        found = None
        deadline = time.monotonic() + 20
        while found is None and time.monotonic() < deadline:
            rows = [r for r in changes_of(fl.port, changed) if r[2] == want and
                    r[0] > max([b[0] for b in before] or [0])]
            found = rows[-1] if rows else None
            if found is None:
                time.sleep(0.5)
        res["change_found"] = found is not None
        if found:
            res["change_time_minus_made_s"] = found[1] - made if found[1] else None
            res["change_found_after_resume_s"] = time.monotonic() - resumed

        def notified():
            return any(nt["trap_oid"] == NOTIFICATIONS + ".1" and
                       str(nt["varbinds"].value(want)) == value for nt in trapd.notifications())
        try:
            wait_for(notified, 20, interval=0.2)
            res["notified_after_resume_s"] = time.monotonic() - resumed
        except AssertionError:
            res["notified_after_resume_s"] = None
        res["agentx_trouble"] = fl.agentx_trouble()
        res["agent_alive"] = fl.agent.running()
    finally:
        res["agent_log_tail"] = fl.agent.log_text()[-2000:] if fl.agent else ""
        fl.stop_agent()
    return res


def run(args, build, work):
    n = args.servers
    cases = CASES if args.fleet_case == "all" else tuple(args.fleet_case.split(","))
    for c in cases:
        if c not in CASES:
            raise SystemExit("bench: unknown --fleet-case %s (one of %s, all)" % (
                c, ",".join(CASES)))
    res = {"servers": n, "cases": list(cases), "load_before": os.getloadavg()}
    trapd = Snmptrapd(work / "snmptrapd")
    fl = Fleet(work, build, n, args.sim_idle_timeout)
    debug = args.agent_debug or None
    try:
        step = bench.progress
        step("fleet cases: cupi-sim with %d servers on %s, snmpd, snmptrapd, reference" % (
            n, FLEET_ADDR))
        trapd.start()
        fl.start(trap_port=trapd.port)
        fl.start_ref(n)
        for c in cases:
            step("fleet case %s" % c)
            load0 = os.getloadavg()
            if c == "poll10":
                r = case_poll10(fl, n, args.fleet_seconds, debug)
            elif c == "partial-outage":
                r = case_partial(fl, n, 150, debug)
            elif c == "whole-outage":
                r = case_whole(fl, trapd, n, 100, debug)
            else:
                r = case_stall(fl, trapd, min(n, 100), 40, debug)
            r["load_before"], r["load_after"] = load0, os.getloadavg()
            res[c] = r
            fl.stop_agent()
    finally:
        fl.stop()
        trapd.stop()
    return res


# --- report --------------------------------------------------------------------------


def _ratio(a, b):
    return (a / b) if a is not None and b else None


def report(r):
    n = r["servers"]
    row = "  %-46s %12s %12s %7s  %s"
    out = ["", "Fleet cases: %d servers (cupi-sim on %s), agent beside a trivial reference "
           "subagent of %d rows, same snmpd, same run" % (n, FLEET_ADDR, n),
           "  load average before: %s" % " ".join("%.2f" % x for x in r["load_before"])]

    def line(label, a, b, digits, target):
        out.append(row % (label, fmt(a, digits), fmt(b, digits), fmt(_ratio(a, b), 2), target))

    def load(c):
        out.append("  load average before / after: %s / %s" % (
            " ".join("%.2f" % x for x in c["load_before"]),
            " ".join("%.2f" % x for x in c["load_after"])))

    def threads(c):
        if c.get("thread_cpu_ms_per_s"):
            out.append("  agent CPU per thread meanwhile (ms per s): %s" % ", ".join(
                "%s %.1f" % kv for kv in sorted(c["thread_cpu_ms_per_s"].items())))

    def probes(p):
        out.append(row % ("snmpd probes every 100 ms (2 s, no retry):", "agent", "reference",
                          "ratio", "target"))
        line("  GET max (ms)", p["agent"].get("max"), p["ref"].get("max"), 1, "<= 2x reference")
        line("  GET p99 (ms)", p["agent"].get("p99"), p["ref"].get("p99"), 1, "")
        out.append("  %-46s agent %s, reference %s, sysUpTime %s (max %s ms); target 0" % (
            "  unanswered", p["agent"]["unanswered"], p["ref"]["unanswered"],
            p["sysUpTime"]["unanswered"], fmt(p["sysUpTime"].get("max"), 1)))
        out.append("  %-46s %s / %s / %s" % ("  probes answered (agent/ref/sysUpTime)",
                                             p["agent"].get("n"), p["ref"].get("n"),
                                             p["sysUpTime"].get("n")))
        out.append("  %-46s %s" % ("  slowest agent GETs (ms @ s from the start)", "; ".join(
            "%.0f @ %.1f" % tuple(w) for w in p["agent"].get("worst", ()))))
        out.append("  %-46s %s" % ("  slowest reference GETs", "; ".join(
            "%.0f @ %.1f" % tuple(w) for w in p["ref"].get("worst", ()))))
        for f in p.get("first_failures", ()):
            out.append("      %s" % f)

    if "poll10" in r:
        c = r["poll10"]
        st = c["steady"]
        out += ["", "poll10: cupiPollInterval 10 (connections kept), %d servers" % c["servers"]]
        load(c)
        out.append(row % ("", "agent", "reference", "ratio", "target"))
        out.append("  GET latency, one client alternating, %d GETs each (ms):" %
                   st["agent"].get("n", 0))
        line("  p50", st["agent"].get("p50"), st["ref"].get("p50"), 3, "")
        line("  p99", st["agent"].get("p99"), st["ref"].get("p99"), 3, "<= 1.2x reference")
        line("  max", st["agent"].get("max"), st["ref"].get("max"), 3, "<= 2x reference")
        out.append("  %-46s %d / %d" % ("  errors (no answer in 30 s)", st["agent"]["errors"],
                                        st["ref"]["errors"]))
        cpu = st["cpu_ms_per_s"]
        line("  process CPU (ms per s)", cpu["agent"], cpu["ref"], 1,
             "snmpd %.1f, cupi-sim %.1f" % (cpu["snmpd"], cpu["sim"]))
        cl = st["cupi"]
        out.append(row % ("  CUPI requests per second: mean / max", fmt(cl["mean_per_s"], 1),
                          fmt(cl["max_per_s"], 0), "", "200/s expected (2 per server per 10 s)"))
        out.append(row % ("  GETs per server per poll period", fmt(
            cl["gets_per_server_per_period"], 2), "", "", "2 resources"))
        out.append(row % ("  connections opened per minute", fmt(cl["connections_per_min"], 1),
                          "", "", "kept: few"))
        m = c["agent_mem"]
        out.append(row % ("  agent VmRSS / VmHWM (MiB)", fmt(m.get("VmRSS", 0) / 1024.0, 1),
                          fmt(m.get("VmHWM", 0) / 1024.0, 1), "", "VmRSS <= 48 MiB"))
        out.append(row % ("  agent at the default poll (60 s): VmRSS (MiB)",
                          fmt(c["default_rss_kB"] / 1024.0, 1),
                          "max %s" % fmt(c["default_rss_max_kB"] / 1024.0, 1), "",
                          "~32 MB kept"))
        for label, key in (("idle, no GETs", "idle_thread_cpu_ms_per_s"),
                           ("during the GETs", "thread_cpu_ms_per_s")):
            out.append("  agent CPU per thread, %s (ms per s): %s" % (label, ", ".join(
                "%s %.1f" % kv for kv in sorted(c[key].items()))))
        slow = "; ".join("%.0f ms @ %.0f s" % (w["ms"], w["offset_s"])
                         for w in st.get("agent_worst", ())[:3])
        out.append("  slowest agent GETs: %s" % slow)
    if "partial-outage" in r:
        c = r["partial-outage"]
        out += ["", "partial-outage: %d answering, %d behind the silent listener, poll 30 s "
                "(times from the agent's start)" % (c["answering"], c["silent"])]
        load(c)
        out.append(row % ("  answering servers: max cupiServerDataAge (s)",
                          fmt(c["healthy_max_age_s"]), "", "",
                          "<= 45 s (at %s s; %d walks, each %s s at most)" % (
                              fmt(c["healthy_max_age_at_s"], 0), c["samples"],
                              fmt(c["walk_max_s"], 1))))
        out.append(row % ("  answering servers: all have values (s)",
                          fmt(c["healthy_all_values_s"], 1), "", "", ""))
        out.append(row % ("  all silent servers unreachable(3) (s)",
                          fmt(c["all_dead_unreachable_s"], 1), "", "",
                          "<= 90 s (%d/%d at the end)" % (c["dead_unreachable_at_end"],
                                                          c["silent"])))
        out.append(row % ("  answering servers not ok(2) at the end", c["healthy_not_ok_at_end"],
                          "", "", "0"))
        probes(c["probes"])
        threads(c)
        out.append("  silent listener: %s connections accepted, %s held at most" % (
            c["silent_accepted"], c["silent_most_held"]))
        out.append("  max age per sample (s into the run: s): %s" % ", ".join(
            "%d:%d" % tuple(x) for x in c["healthy_age_samples"][::3]))
    if "whole-outage" in r:
        c = r["whole-outage"]
        out += ["", "whole-outage: %d servers behind the silent listener, cupiTimeout 3000, "
                "poll 30 s (times from the agent's start)" % c["servers"]]
        load(c)
        out.append(row % ("  all unreachable(3) (s)", fmt(c["all_dead_unreachable_s"], 1), "",
                          "", "<= 90 s (%d/%d at the end)" % (c["dead_unreachable_at_end"],
                                                              c["servers"])))
        out.append(row % ("  cupiServerStatusChanged received", c["notifications"], "", "",
                          "exactly one per server"))
        out.append(row % ("  servers with one / none / more", "%d/%d/%d" % (
            c["servers_with_one"], c["servers_with_none"], c["servers_with_more"]), "", "",
            "%d/0/0 (unreachable(3) in each: %d)" % (c["servers"], c["notified_unreachable"])))
        if c.get("notes_sent_s"):
            out.append("  %-46s %.1f to %.1f s from the start" % (
                "  notifications sent by snmpd", c["notes_sent_s"][0], c["notes_sent_s"][1]))
        probes(c["probes"])
        threads(c)
        out.append("  silent listener: %s connections accepted, %s held at most" % (
            c["silent_accepted"], c["silent_most_held"]))
    if "stalled-master" in r:
        c = r["stalled-master"]
        out += ["", "stalled-master: %d servers (a smaller fleet), poll %d s, snmpd stopped "
                "(SIGSTOP) %.1f s" % (c["servers"], c["poll_s"], c.get("stall_measured_s", 0))]
        load(c)
        out.append(row % ("  max cupiServerDataAge before the stall (s)",
                          fmt(c.get("age_before_max_s")), "", "", ""))
        out.append(row % ("  max cupiServerDataAge right after (s)", fmt(c.get("age_after_max_s")),
                          "", "", "<= 8 s (median %s; walk done %s s after SIGCONT)" % (
                              fmt(c.get("age_after_median_s")),
                              fmt(c.get("age_walk_after_resume_s"), 1))))
        out.append(row % ("  change made %s s into the stall: recorded" %
                          fmt(c.get("change_made_into_stall_s"), 1),
                          "yes" if c.get("change_found") else "no", "", "", ""))
        out.append(row % ("  its cupiChangeTime - when it was made (s)",
                          fmt(c.get("change_time_minus_made_s"), 1), "", "", "<= 4 s"))
        out.append(row % ("  its notification received after SIGCONT (s)",
                          fmt(c.get("notified_after_resume_s"), 1), "", "", ""))
        out.append("  AgentX trouble lines in the logs: %s" % c.get("agentx_trouble"))
    return "\n".join(out)
