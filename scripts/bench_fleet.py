"""bench_fleet.py - the 1,000-server fleet benchmark (bench.py --fleet).

Measures the agent serving a fleet, side by side with a trivial reference
subagent (build/bench/bench_ref_subagent: a table of as many rows, served
from memory by net-snmp's table helpers) behind the same snmpd, in the same
run, so each number has a reference taken under the same load. It measures;
nothing passes or fails. Targets are printed beside the numbers.

Set-up: one cupi-sim with N virtual servers on 127.0.0.2, ports 24000 on
(--count/--base-port), a private snmpd master on 127.0.0.1 (AgentX over a
unix socket, agentxTimeout 25 / agentxRetries 0 as the README recommends),
the agent with N cupiServer entries (the sim's CA as cupiCaFile, poll and
cache TTL left at their defaults) and the reference with N rows.

Phases, in order:
  1. start-up at N: time until cupiServerTable row N answers, until the
     cupiSmtpServerTable of every row has values; max GET latency meanwhile
  2. steady state (--fleet-seconds, 120): one long-lived v2c client
     alternating a GET of the agent's last row and the reference's last row;
     CUPI requests per second and connections from cupi-sim's fleet counters
  3. memory (VmRSS, [heap] RSS, Private_Dirty, USS), walk of the whole MIB
  4. GET CPU per varbind: K GETs of the last row, CPU time of the process
     from /proc/PID/stat divided by K (and with the idle CPU rate taken off)
  5. SETs with every CUPI request of server 1 delayed by 200 ms
  6. SIGHUP reload: max GET latency while the agent re-reads its config
  7. the same CPU per varbind (and memory) at 100 and 1 servers / rows
"""

import os
import signal
import statistics
import time
from pathlib import Path

import bench
from bench import AGENTX_TIMEOUT_S, BackgroundGets, GetClient, fmt, lat_stats
from sim_helper import CupiSim
from snmp_helper import (ROOT, SERVER_TABLE, SMTP_CLIENT_TABLE, SMTP_SERVER_TABLE, Agent, Snmpd,
                         _Process, agent_config, col, server_lines, snmpbulkwalk, snmpget,
                         snmpset, tool_env, wait_for)

FLEET_ADDR = "127.0.0.2"
BASE_PORT = 24000
REF_ROOT = "1.3.6.1.4.1.8072.9999.9999.77"
REF_ENTRY = REF_ROOT + ".1.1"
DEFAULT_POLL_S = 60  # cupiPollInterval when not configured
SET_LATENCY_MS = 200
CLK_TCK = os.sysconf("SC_CLK_TCK")


def ref_oid(column, index):
    return "%s.%d.%d" % (REF_ENTRY, column, index)


def srv_oid(column, index):
    return col(SMTP_SERVER_TABLE, column, index)


# --- processes -------------------------------------------------------------------


class RefSubagent(_Process):
    """bench_ref_subagent behind snmpd, stopped by its PID."""

    name = "refagent"

    def __init__(self, tmpdir, build):
        super().__init__(tmpdir)
        self.binary = Path(build) / "bench" / "bench_ref_subagent"

    def start(self, agentx, rows, port, timeout=30):
        self._spawn([str(self.binary), "-x", agentx, "-n", str(rows)],
                    env=tool_env(self.dir / "state"))
        last = ref_oid(2, rows)
        wait_for(lambda: snmpget(port, last, timeout=1, retries=0)[0].get(last, ("",))[0]
                 == "STRING", timeout, interval=0.1, what="reference row %d" % rows)
        return self


# --- /proc -------------------------------------------------------------------------


def thread_cpu(pid):
    """{thread name: CPU s} of a process's live threads (schedstat)."""
    out = {}
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return out
    for tid in tids:
        try:
            with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
                name = f.read().strip()
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                out[name] = out.get(name, 0.0) + int(f.read().split()[0]) / 1e9
        except (OSError, ValueError, IndexError):
            pass
    return out


def cpu_s(pid):
    """CPU time of the process in seconds: the scheduler's run time of its
    live threads (thread_cpu), else utime + stime from /proc/PID/stat (clock
    ticks, too coarse for a few thousand GETs of microseconds each)."""
    per_thread = thread_cpu(pid)
    if per_thread:
        return sum(per_thread.values())
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def memory(pid):
    """VmRSS, VmHWM (status), Private_Dirty, Private_Clean, USS (smaps_rollup)
    and heap = RSS of the [heap] mapping (smaps), all kB."""
    out = dict(bench.proc_mem(pid))
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                k = line.split(":", 1)[0]
                if k in ("Private_Dirty", "Private_Clean", "Pss"):
                    out[k] = int(line.split()[1])
        out["USS"] = out.get("Private_Dirty", 0) + out.get("Private_Clean", 0)
        heap, in_heap = 0, False
        with open("/proc/%d/smaps" % pid) as f:
            for line in f:
                parts = line.split()
                if parts and "-" in parts[0] and len(parts) >= 5 and not parts[0].endswith(":"):
                    in_heap = parts[-1] == "[heap]"
                elif in_heap and parts and parts[0] == "Rss:":
                    heap += int(parts[1])
        out["heap"] = heap
    except OSError:
        pass
    return out


# --- measurements ------------------------------------------------------------------


def alternate_gets(port, oids, seconds):
    """One client, GETs of oids in turn for seconds; {oid: [(start offset s,
    latency s)]}, errors per oid. A timed-out GET (30 s) counts as an error,
    not a latency."""
    cli = GetClient(port, timeout=AGENTX_TIMEOUT_S + 5)
    lat = {o: [] for o in oids}
    errors = {o: 0 for o in oids}
    start = time.monotonic()
    deadline = start + seconds
    try:
        while time.monotonic() < deadline:
            for o in oids:
                t = time.monotonic()
                try:
                    cli.get(o)
                    lat[o].append((t - start, time.monotonic() - t))
                except (OSError, ValueError):
                    errors[o] += 1
            time.sleep(0.002)  # leaves the two cores to the processes measured
    finally:
        cli.close()
    return lat, errors


def cpu_per_get(port, targets, k):
    """CPU per GET of each (pid, oid) in targets: k GETs of each, in turn from
    one client, so every process is measured over the same seconds and the
    same load from the rest of the machine. Returns one dict per target:
    CPU us per GET raw, and net of the process's idle CPU rate (taken over
    3 s just before), wall time per GET."""
    c0 = [cpu_s(pid) for pid, _ in targets]
    time.sleep(3)
    idle = [(cpu_s(pid) - c) / 3 for (pid, _), c in zip(targets, c0)]
    cli = GetClient(port, timeout=5)
    errors = [0] * len(targets)
    wall = [0.0] * len(targets)
    t0 = time.monotonic()
    c0 = [cpu_s(pid) for pid, _ in targets]
    for _ in range(k):
        for i, (_, oid) in enumerate(targets):
            t = time.monotonic()
            try:
                cli.get(oid)
            except (OSError, ValueError):
                errors[i] += 1
            wall[i] += time.monotonic() - t
    c1 = [cpu_s(pid) for pid, _ in targets]
    span = time.monotonic() - t0
    cli.close()
    return [{"k": k, "errors": errors[i], "cpu_us_per_get": (c1[i] - c0[i]) / k * 1e6,
             "cpu_us_per_get_net": max(0.0, c1[i] - c0[i] - idle[i] * span) / k * 1e6,
             "idle_cpu_ms_per_s": idle[i] * 1000, "wall_us_per_get": wall[i] / k * 1e6}
            for i in range(len(targets))]


def fleet_counters(sim):
    return sim._ok("GET", "/_sim/fleet")


def cupi_load(before, after, servers, poll_s):
    """CUPI load between two /_sim/fleet snapshots: requests per second (max
    and mean over the whole seconds in between), per server per minute and
    per poll period, connections per minute."""
    span_s = (after["uptime_ms"] - before["uptime_ms"]) / 1000.0
    ps = after["per_second"]
    first = int(before["uptime_ms"] // 1000) + 1
    last = int(after["uptime_ms"] // 1000) - 1
    rates = [ps["requests"][s - ps["first_second"]] for s in range(first, last + 1)
             if s >= ps["first_second"]]
    req = after["requests"] - before["requests"]
    gets = after["gets"] - before["gets"]
    mean = statistics.fmean(rates) if rates else 0.0
    return {"seconds": span_s, "requests": req, "gets": gets,
            "connections": after["connections"] - before["connections"],
            "max_per_s": max(rates) if rates else None, "mean_per_s": mean,
            "max_over_mean": (max(rates) / mean) if rates and mean else None,
            "busiest_seconds": sorted(rates, reverse=True)[:5],
            "per_server_per_min": req / servers / (span_s / 60.0) if span_s else None,
            "gets_per_server_per_period": gets / servers / (span_s / poll_s) if span_s else None,
            "connections_per_min": (after["connections"] - before["connections"]) /
            (span_s / 60.0) if span_s else None}


def bg_max(bg, t0, t1):
    s = lat_stats(bg.between(t0, t1))
    s["errors"] = bg.errors
    return s


class Fleet:
    def __init__(self, work, build, servers, idle_timeout=30, base_port=BASE_PORT):
        self.idle_timeout = idle_timeout
        self.base_port = base_port  # cupi-sim's servers: base_port .. base_port + servers - 1
        self.work = Path(work)
        self.build = build
        self.n = servers
        self.sim = CupiSim(self.work / "sim", verbose=False)
        self.snmpd = None
        self.agent = None
        self.ref = None
        self.runs = 0

    def start(self, trap_port=None):
        self.sim.start(servers=(), timeout=120,
                       extra_args=["--listen", FLEET_ADDR, "--count", str(self.n),
                                   "--base-port", str(self.base_port), "--name-prefix", "cuc",
                                   "--idle-timeout", str(self.idle_timeout)])
        self.snmpd = Snmpd(self.work / "snmpd", agentx_timeout=AGENTX_TIMEOUT_S,
                           agentx_retries=0, trap_port=trap_port).start()
        return self

    @property
    def port(self):
        return self.snmpd.port

    def agent_conf(self, servers):
        lines = [server_lines(i, "cuc%d" % i, self.sim, sim_server="cuc%d" % i)
                 for i in range(1, servers + 1)]
        return agent_config(self.snmpd, lines)

    def spawn_agent(self, servers, conf=None, debug=None):
        """The agent with the first `servers` of the sim, or with the
        configuration text conf; debug: -D tokens (its log grows fast)."""
        self.stop_agent()
        self.runs += 1
        self.agent = Agent(self.work / ("agent-%d" % self.runs), conf or self.agent_conf(servers),
                           debug=debug).start(timeout=30)
        return self.agent

    def start_ref(self, rows):
        self.stop_ref()
        self.runs += 1
        self.ref = RefSubagent(self.work / ("ref-%d" % self.runs), self.build).start(
            self.snmpd.agentx, rows, self.port)
        return self.ref

    def rows_with_values(self, servers):
        vals, _ = snmpbulkwalk(self.port, SMTP_SERVER_TABLE + ".3", timeout=5,
                               repetitions=50)
        return len([o for o in vals if o.startswith(SMTP_SERVER_TABLE + ".3.")])

    def wait_served(self, servers, timeout):
        """(s until cupiServerTable row N answers, s until every row has config
        values), from now; None for what did not happen within timeout."""
        t0 = time.monotonic()
        name_oid = col(SERVER_TABLE, 2, servers)
        row_s = values_s = None
        deadline = t0 + timeout
        while time.monotonic() < deadline and row_s is None:
            v, _ = snmpget(self.port, name_oid, timeout=1, retries=0)
            if v.get(name_oid, ("",))[0] == "STRING":
                row_s = time.monotonic() - t0
            else:
                time.sleep(0.05)
        last_oid = srv_oid(3, servers)
        while time.monotonic() < deadline and values_s is None:
            v, _ = snmpget(self.port, last_oid, timeout=1, retries=0)
            if v.get(last_oid, ("",))[0] == "INTEGER" and \
                    self.rows_with_values(servers) >= servers:
                values_s = time.monotonic() - t0
            else:
                time.sleep(0.2)
        return row_s, values_s

    def stop_agent(self):
        if self.agent:
            self.agent.stop()
            self.agent = None

    def stop_ref(self):
        if self.ref:
            self.ref.stop()
            self.ref = None

    def stop(self):
        self.stop_agent()
        self.stop_ref()
        if self.snmpd:
            self.snmpd.cleanup()
        self.sim.stop()

    def agentx_trouble(self):
        text = self.snmpd.log_text() + (self.agent.log_text() if self.agent else "")
        return sum(text.count(s) for s in ("timeout on session", "failed to respond to ping",
                                            "disconnected", "re-register"))


# --- phases ----------------------------------------------------------------------


def phase_startup(fl, n):
    """Agent start with n servers while two background clients GET a row of
    the agent (its first) and of the reference."""
    agent_bg = BackgroundGets(fl.port, col(SERVER_TABLE, 2, 1), interval=0.01)
    ref_bg = BackgroundGets(fl.port, ref_oid(3, n), interval=0.01)
    time.sleep(0.5)
    t0 = time.monotonic()
    fl.spawn_agent(n)
    row_s, values_s = fl.wait_served(n, timeout=120)
    t1 = time.monotonic()
    time.sleep(1)
    agent_bg.finish()
    ref_bg.finish()
    return {"row_n_answers_s": row_s, "all_rows_values_s": values_s,
            "agent_get_during_start": bg_max(agent_bg, t0, t1),
            "ref_get_during_start": bg_max(ref_bg, t0, t1),
            "agent_alive": fl.agent.running()}


def phase_steady(fl, n, seconds, poll_s=DEFAULT_POLL_S):
    a_oid, r_oid = srv_oid(3, n), ref_oid(3, n)
    pids = {"agent": fl.agent.pid, "ref": fl.ref.pid, "snmpd": fl.snmpd.pid, "sim": fl.sim.pid}
    cpu0 = {k: cpu_s(p) for k, p in pids.items()}
    before = fleet_counters(fl.sim)
    lat, errors = alternate_gets(fl.port, [a_oid, r_oid], seconds)
    after = fleet_counters(fl.sim)
    span = (after["uptime_ms"] - before["uptime_ms"]) / 1000.0
    cpu = {k: (cpu_s(p) - cpu0[k]) / span * 1000 for k, p in pids.items()}
    # the slowest agent GETs, with the most CUPI requests cupi-sim counted
    # in one second while each was waiting: tells whether stalls come with
    # refresh bursts
    ps = after["per_second"]
    worst = []
    for off, x in sorted(lat[a_oid], key=lambda p: -p[1])[:5]:
        t = before["uptime_ms"] / 1000.0 + off
        secs = range(int(t) - ps["first_second"], int(t + x) - ps["first_second"] + 1)
        during = [ps["requests"][i] for i in secs if 0 <= i < len(ps["requests"])]
        worst.append({"offset_s": off, "ms": x * 1000,
                      "cupi_max_per_s_during": max(during) if during else None})
    return {"agent": dict(lat_stats([x for _, x in lat[a_oid]]), errors=errors[a_oid]),
            "ref": dict(lat_stats([x for _, x in lat[r_oid]]), errors=errors[r_oid]),
            "agent_worst": worst, "cpu_ms_per_s": cpu,
            "cupi": cupi_load(before, after, n, poll_s)}


def walk_s(port, oid):
    t = time.monotonic()
    vals, err = snmpbulkwalk(port, oid, timeout=10, retries=0, repetitions=50)
    took = time.monotonic() - t
    return {"s": took, "varbinds": len(vals), "error": err or None,
            "us_per_varbind": took / len(vals) * 1e6 if vals else None}


def phase_set(fl, reps):
    """SETs on server 1 with every CUPI request of cuc1 delayed 200 ms."""
    fl.sim._ok("POST", "/_sim/state", {"server": {"allowConnectionsFromUntrustedIpAddresses":
                                                  "true"}}, server="cuc1")
    time.sleep(1)
    fl.sim.fault(server="cuc1", method="*", latency_ms=SET_LATENCY_MS)
    t = time.monotonic()
    for _ in range(5):
        snmpget(fl.port, "1.3.6.1.2.1.1.3.0")
    tool_ms = (time.monotonic() - t) / 5 * 1000

    def one_rule(i):  # requireAuthenticationFromUntrustedIpAddresses: in a cross-field rule
        return [(srv_oid(10, 1), "i", 1 + i % 2)]

    def five_two(i):
        return [(srv_oid(3, 1), "i", 20 + i % 20), (srv_oid(4, 1), "i", 1 + i % 9),
                (srv_oid(7, 1), "i", 15000 + i),
                (col(SMTP_CLIENT_TABLE, 1, 1), "s", "relay%d.example.com" % i),
                (col(SMTP_CLIENT_TABLE, 5, 1), "s", "bench-user-%d" % i)]

    def one_free(i):  # maxNumberConnections: no cross-field rule
        return [(srv_oid(3, 1), "i", 20 + i % 20)]

    res = {"snmpget_process_ms": tool_ms, "data_age_before_fresh_set_s": []}
    age_oid = col(SERVER_TABLE, 5, 1)  # cupiServerDataAge.1
    i = 100
    for label, make, warm in (("1 varbind", one_rule, False),
                              ("5 varbinds, 2 resources", five_two, False),
                              ("1 varbind, rule-free, fresh cache", one_free, True)):
        times, errors = [], []
        for _ in range(reps):
            i += 1
            if warm:
                # a GET first, then a pause: whatever refresh it caused is over
                snmpget(fl.port, srv_oid(3, 1))
                time.sleep(1.5)
                res["data_age_before_fresh_set_s"].append(
                    snmpget(fl.port, age_oid)[0].value(age_oid))
            t = time.monotonic()
            _, err = snmpset(fl.port, make(i), timeout=AGENTX_TIMEOUT_S + 5)
            times.append(time.monotonic() - t)
            if err:
                errors.append(err)
        res[label] = {"median_s": statistics.median(times), "max_s": max(times),
                      "min_s": min(times), "n": len(times), "errors": len(errors),
                      "first_error": errors[0] if errors else None}
    fl.sim.clear_faults("cuc1")
    return res


def phase_reload(fl, n, seconds=12):
    agent_bg = BackgroundGets(fl.port, srv_oid(3, n), interval=0.01)
    ref_bg = BackgroundGets(fl.port, ref_oid(3, n), interval=0.01)
    time.sleep(1)
    t0 = time.monotonic()
    fl.agent.send_signal(signal.SIGHUP)
    time.sleep(seconds)
    t1 = time.monotonic()
    agent_bg.finish()
    ref_bg.finish()
    v, _ = snmpget(fl.port, srv_oid(3, n))
    return {"agent_get_during_reload": bg_max(agent_bg, t0, t1),
            "ref_get_during_reload": bg_max(ref_bg, t0, t1),
            "row_n_after": v.get(srv_oid(3, n), ("-",))[0], "agent_alive": fl.agent.running()}


def phase_size(fl, n, k):
    """Agent with n servers and reference with n rows: CPU per GET of the
    last row, memory."""
    fl.start_ref(n)
    fl.spawn_agent(n)
    row_s, values_s = fl.wait_served(n, timeout=60)
    time.sleep(2)
    agent_cpu, ref_cpu = cpu_per_get(fl.port, [(fl.agent.pid, srv_oid(3, n)),
                                               (fl.ref.pid, ref_oid(3, n))], k)
    return {"servers": n, "all_rows_values_s": values_s, "agent_cpu": agent_cpu,
            "ref_cpu": ref_cpu, "agent_mem": memory(fl.agent.pid), "ref_mem": memory(fl.ref.pid)}


def run(args, build, work):
    n = args.servers
    k = args.cpu_gets
    res = {"servers": n, "steady_seconds": args.fleet_seconds,
           "sim_idle_timeout_s": args.sim_idle_timeout}
    fl = Fleet(work, build, n, args.sim_idle_timeout)
    try:
        step = bench.progress
        step("fleet: cupi-sim with %d servers on %s:%d.., snmpd, reference" % (n, FLEET_ADDR,
                                                                               BASE_PORT))
        t = time.monotonic()
        fl.start()
        res["sim_start_s"] = time.monotonic() - t
        fl.start_ref(n)
        step("fleet: agent start-up with %d servers" % n)
        res["startup"] = phase_startup(fl, n)
        if not fl.agent.running():
            res["fatal"] = "agent exited during start-up:\n" + fl.agent.log_text()[-2000:]
            return res
        step("fleet: steady state, %d s of GETs" % args.fleet_seconds)
        res["steady"] = phase_steady(fl, n, args.fleet_seconds)
        res["mem_n"] = {"agent": memory(fl.agent.pid), "ref": memory(fl.ref.pid)}
        step("fleet: walks")
        res["walk"] = {"agent": walk_s(fl.port, ROOT), "ref": walk_s(fl.port, REF_ROOT)}
        step("fleet: CPU per GET at %d" % n)
        agent_cpu, ref_cpu = cpu_per_get(fl.port, [(fl.agent.pid, srv_oid(3, n)),
                                                   (fl.ref.pid, ref_oid(3, n))], k)
        res["cpu_n"] = {"agent": agent_cpu, "ref": ref_cpu}
        step("fleet: SETs with CUPI 200 ms")
        res["set"] = phase_set(fl, args.set_reps)
        step("fleet: SIGHUP reload")
        res["reload"] = phase_reload(fl, n)
        res["agentx_trouble_n"] = fl.agentx_trouble()
        res["sizes"] = []
        for size in (100, 1):
            if size < n:
                step("fleet: %d server(s)" % size)
                res["sizes"].append(phase_size(fl, size, k))
    finally:
        fl.stop()
    return res


# --- report ------------------------------------------------------------------------


def _ratio(a, b):
    return (a / b) if a is not None and b else None


def report(r):
    n = r["servers"]
    out = ["", "Fleet benchmark: %d servers (one cupi-sim on %s, ports %d-%d), agent beside "
           "a trivial reference subagent of %d rows, same snmpd, same run" %
           (n, FLEET_ADDR, BASE_PORT, BASE_PORT + n - 1, n)]
    if "fatal" in r:
        return "\n".join(out + ["  " + r["fatal"]])
    row = "  %-44s %14s %14s %8s  %s"
    out.append(row % ("", "agent", "reference", "ratio", "target"))

    def line(label, a, b, digits, target):
        out.append(row % (label, fmt(a, digits), fmt(b, digits), fmt(_ratio(a, b), 2), target))

    st = r["steady"]
    out.append("  GET latency over %d s spanning refreshes (ms), last row, one client:" %
               r["steady_seconds"])
    line("  p50", st["agent"].get("p50"), st["ref"].get("p50"), 3, "")
    line("  p99", st["agent"].get("p99"), st["ref"].get("p99"), 3, "<= 1.2x reference")
    line("  max", st["agent"].get("max"), st["ref"].get("max"), 3, "<= 2x reference")
    line("  GETs (errors = no answer in 30 s)", st["agent"].get("n"), st["ref"].get("n"), 0,
         "errors %d / %d" % (st["agent"]["errors"], st["ref"]["errors"]))
    cpu = st["cpu_ms_per_s"]
    line("  process CPU meanwhile (ms per s)", cpu["agent"], cpu["ref"], 1,
         "snmpd %.1f, cupi-sim %.1f ms/s" % (cpu["snmpd"], cpu["sim"]))
    out.append("  %-44s %s" % ("  slowest agent GETs: ms @ s into the window",
                                "; ".join("%.0f @ %.0f s (CUPI max %s req/s meanwhile)" % (
                                    w["ms"], w["offset_s"], fmt(w["cupi_max_per_s_during"]))
                                    for w in st.get("agent_worst", ())[:3])))
    cpu_n = r["cpu_n"]
    sizes = {s["servers"]: s for s in r.get("sizes", ())}
    out.append("  GET CPU per varbind (us of process CPU from /proc/PID/task/*/schedstat; "
               "raw / net of the idle CPU rate):")
    for size, c in [(1, sizes.get(1)), (100, sizes.get(100)), (n, {"agent_cpu": cpu_n["agent"],
                                                                   "ref_cpu": cpu_n["ref"]})]:
        if not c:
            continue
        a, b = c["agent_cpu"], c["ref_cpu"]
        tgt = ""
        if size == n and sizes.get(1):
            tgt = "<= 1.2x of 1 server: %sx" % fmt(_ratio(a["cpu_us_per_get_net"],
                                                        sizes[1]["agent_cpu"]
                                                        ["cpu_us_per_get_net"]), 2)
        line("  %d server(s), raw" % size, a["cpu_us_per_get"], b["cpu_us_per_get"], 1, "")
        line("  %d server(s), net" % size, a["cpu_us_per_get_net"], b["cpu_us_per_get_net"], 1,
             tgt)
        out.append("  %-44s idle CPU %s / %s ms/s; wall %s / %s us per GET; K=%d" % (
            "", fmt(a["idle_cpu_ms_per_s"], 1), fmt(b["idle_cpu_ms_per_s"], 1),
            fmt(a["wall_us_per_get"], 0), fmt(b["wall_us_per_get"], 0), a["k"]))
    w = r["walk"]
    line("Walk of the whole MIB, snmpbulkwalk -Cr50 (s)", w["agent"]["s"], w["ref"]["s"], 2,
         "varbinds %d / %d" % (w["agent"]["varbinds"], w["ref"]["varbinds"]))
    line("  per varbind (us)", w["agent"]["us_per_varbind"], w["ref"]["us_per_varbind"], 1, "")
    c = st["cupi"]
    out.append("  CUPI load over the steady window (%.0f s; cupi-sim's fleet counters):" %
               c["seconds"])
    out.append(row % ("  requests: mean / max per second", fmt(c["mean_per_s"], 1),
                      fmt(c["max_per_s"], 0), fmt(c["max_over_mean"], 2),
                      "no second > 2x mean"))
    out.append(row % ("  busiest seconds", "", "", "", " ".join(str(int(x)) for x in
                                                                 c["busiest_seconds"])))
    out.append(row % ("  requests per server per minute", fmt(c["per_server_per_min"], 2), "",
                      "", ""))
    out.append(row % ("  GETs per server per poll period (%d s)" % DEFAULT_POLL_S,
                      fmt(c["gets_per_server_per_period"], 2), "", "", "<= 2"))
    out.append(row % ("  connections opened per minute", fmt(c["connections_per_min"], 1), "",
                      "", "(%d in the window; cupi-sim closes a connection idle %d s)" %
                      (c["connections"], r["sim_idle_timeout_s"])))
    m, m1 = r["mem_n"], sizes.get(1)
    out.append("  Memory at %d (kB; heap = RSS of the [heap] mapping, from /proc/PID/smaps):" % n)
    for key in ("VmRSS", "heap", "Private_Dirty", "USS"):
        line("  %s" % key, m["agent"].get(key), m["ref"].get(key), 0,
             "RSS < 48 MB at 1,000" if key == "VmRSS" else "")
    if m1:
        for key in ("VmRSS", "heap", "Private_Dirty"):
            per = (m["agent"].get(key, 0) - m1["agent_mem"].get(key, 0)) / (n - 1)
            per_ref = (m["ref"].get(key, 0) - m1["ref_mem"].get(key, 0)) / (n - 1)
            line("  %s per server / row (vs 1)" % key, per, per_ref, 2,
                 "heap <= 20 KB per idle server" if key == "heap" else "")
        line("  USS at 1 server / 1 row", m1["agent_mem"].get("USS"), m1["ref_mem"].get("USS"),
             0, "<= 2x reference")
        line("  VmRSS at 1 server / 1 row", m1["agent_mem"].get("VmRSS"),
             m1["ref_mem"].get("VmRSS"), 0, "")
    s = r["startup"]
    out.append("  Start-up with %d servers (s from the agent's spawn):" % n)
    out.append(row % ("  cupiServerTable row %d answers" % n, fmt(s["row_n_answers_s"], 2),
                      "", "", ""))
    out.append(row % ("  every cupiSmtpServerTable row has values", fmt(s["all_rows_values_s"], 2),
                      "", "", "<= 2 s"))
    line("  longest GET during start-up (ms)", s["agent_get_during_start"].get("max"),
         s["ref_get_during_start"].get("max"), 1, "<= 50 ms")
    rl = r["reload"]
    line("  longest GET during a SIGHUP reload (ms)", rl["agent_get_during_reload"].get("max"),
         rl["ref_get_during_reload"].get("max"), 1, "<= 50 ms")
    out.append("  %-44s GETs %s / %s, errors %s / %s; row %d after: %s" % (
        "", rl["agent_get_during_reload"].get("n"), rl["ref_get_during_reload"].get("n"),
        rl["agent_get_during_reload"]["errors"], rl["ref_get_during_reload"]["errors"], n,
        rl["row_n_after"]))
    st_set = r["set"]
    out.append("  SET wall time, every CUPI request of server 1 delayed %d ms (snmpset, s; "
               "the tool's own start-up is %.0f ms):" % (SET_LATENCY_MS,
                                                         st_set["snmpget_process_ms"]))
    for label, tgt in (("1 varbind", "<= 0.65 s"), ("5 varbinds, 2 resources", "<= 0.65 s"),
                       ("1 varbind, rule-free, fresh cache", "<= 0.45 s")):
        v = st_set[label]
        out.append(row % ("  %s, median" % label, fmt(v["median_s"], 3), "", "",
                          "%s (min %s, max %s; errors %d/%d)" % (
                              tgt, fmt(v["min_s"], 3), fmt(v["max_s"], 3), v["errors"],
                              v["n"])))
        if v.get("first_error"):
            out.append("      first error: %s" % v["first_error"].replace("\n", " | ")[:200])
    out.append("  %-44s cupiServerDataAge.1 before each: %s s (cache TTL 30 s)" % (
        "", ", ".join(str(a) for a in st_set["data_age_before_fresh_set_s"])))
    out.append("  AgentX trouble lines in the logs at %d: %d" % (n, r["agentx_trouble_n"]))
    out.append("  cupi-sim start with %d servers: %.1f s" % (n, r["sim_start_s"]))
    return "\n".join(out)
