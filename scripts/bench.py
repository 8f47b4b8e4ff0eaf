#!/usr/bin/env python3
"""bench.py - performance numbers of cupi-snmp (driven by scripts/bench.sh).

Not a test: nothing here passes or fails on a time; it prints a table of
numbers (and writes them as JSON with --json FILE). Everything runs on
127.0.0.1 with the integration tests' helpers (tests/integration/
sim_helper.py, snmp_helper.py): cupi-sim, a private snmpd master, snmptrapd
and cupi-snmp-agent, every one stopped by its PID.

  1. GET latency of a config column through snmpd, one long-lived UDP client
     (a minimal SNMPv2c GET written here, no process start-up per request),
     with CUPI fast and with CUPI answering every GET after 3 s.
  2. GETBULK walk of the whole subtree (snmpbulkwalk) with 1, 10, 50 servers,
     and the agent's memory (VmRSS, VmHWM) at each size.
  3. SET round trip (snmpset) of 1 and 5 fields, CUPI fast and PUT slowed by 2 s.
  4. Notification burst: 1,000 external changes with a 1 s poll.
  5. Codec throughput on the CUPI reference bodies (build/bench/bench_codec), and
     instructions per decode/encode under callgrind when valgrind is there.
  6. The MIB module's CPU per GET in-process with 1, 100 and 1,000 servers
     (build/bench/bench_mib_get: no snmpd, no network).

With --fleet it runs the 1,000-server fleet benchmark instead (bench_fleet.py:
one cupi-sim with N servers on 127.0.0.2, the agent beside a trivial
reference subagent, targets printed beside the numbers). With --state-store
it runs the state store at fleet size instead (bench_state.py: N servers x
H history rows, a SET every 4 s).

Environment: CUPI_BUILD_DIR (set by bench.sh), the tree whose binaries run.
"""

import argparse
import http.client
import json
import multiprocessing
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TOP = HERE.parent
sys.path.insert(0, str(TOP / "tests" / "integration"))

from sim_helper import CupiSim  # noqa: E402
from snmp_helper import (  # noqa: E402
    ROOT, SMTP_CLIENT_TABLE, SMTP_SERVER_TABLE, Agent, Snmpd, Snmptrapd,
    agent_config, col, server_lines, snmpbulkwalk, snmpget, snmpset, wait_for)

SERVER_CHANGED = ROOT + ".0.1"
MAX_SERVERS = 50
AGENTX_TIMEOUT_S = 25  # as the README's snmpd.conf


# --- a minimal SNMPv2c GET client (BER) ----------------------------------------


def _ber_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def _tlv(tag, payload):
    return bytes([tag]) + _ber_len(len(payload)) + payload


def _ber_int(v):
    return _tlv(0x02, v.to_bytes(max(1, (v.bit_length() + 8) // 8), "big", signed=True))


def _ber_oid(oid):
    arcs = [int(x) for x in oid.strip(".").split(".")]
    out = bytearray([40 * arcs[0] + arcs[1]])
    for a in arcs[2:]:
        chunk = [a & 0x7F]
        a >>= 7
        while a:
            chunk.append(0x80 | (a & 0x7F))
            a >>= 7
        out += bytes(reversed(chunk))
    return _tlv(0x06, bytes(out))


def _parse_tlv(buf, pos):
    """(tag, value bytes, next position)."""
    tag = buf[pos]
    n = buf[pos + 1]
    pos += 2
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(buf[pos:pos + k], "big")
        pos += k
    if pos + n > len(buf):
        raise ValueError("truncated")
    return tag, buf[pos:pos + n], pos + n


def _children(value):
    pos, out = 0, []
    while pos < len(value):
        tag, v, pos = _parse_tlv(value, pos)
        out.append((tag, v))
    return out


class GetClient:
    """One UDP socket, one GetRequest at a time; get() returns the value's BER
    tag (0x80..0x82 are noSuchObject/noSuchInstance/endOfMibView) or raises
    on a timeout, an error-status or a malformed answer."""

    def __init__(self, port, community="public", timeout=2.0):
        self.addr = ("127.0.0.1", port)
        self.community = community.encode()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.settimeout(timeout)
        self.sock.connect(self.addr)
        self.req_id = int.from_bytes(os.urandom(3), "big")

    def close(self):
        self.sock.close()

    def get(self, oid):
        self.req_id = (self.req_id + 1) & 0x7FFFFFFF
        rid = self.req_id
        vb = _tlv(0x30, _tlv(0x30, _ber_oid(oid) + b"\x05\x00"))
        pdu = _tlv(0xA0, _ber_int(rid) + _ber_int(0) + _ber_int(0) + vb)
        self.sock.send(_tlv(0x30, _ber_int(1) + _tlv(0x04, self.community) + pdu))
        while True:  # skip late answers to earlier (timed-out) requests
            data = self.sock.recv(65535)
            tag, msg, _ = _parse_tlv(data, 0)
            parts = _children(msg)
            if tag != 0x30 or len(parts) != 3 or parts[2][0] != 0xA2:
                raise ValueError("not a v2c Response")
            fields = _children(parts[2][1])
            if int.from_bytes(fields[0][1], "big", signed=True) != rid:
                continue
            status = int.from_bytes(fields[1][1], "big", signed=True)
            if status != 0:
                raise ValueError("error-status %d" % status)
            varbind = _children(_children(fields[3][1])[0][1])
            return varbind[1][0]


# --- helpers ---------------------------------------------------------------------


def progress(text):
    print("bench: %s ..." % text, file=sys.stderr, flush=True)


def pct(values, p):
    """Nearest-rank percentile of a list (None when empty)."""
    if not values:
        return None
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


def lat_stats(samples_s):
    """{n, p50, p95, p99, max, mean} in milliseconds."""
    ms = [x * 1000.0 for x in samples_s]
    if not ms:
        return {"n": 0}
    return {"n": len(ms), "p50": pct(ms, 50), "p95": pct(ms, 95), "p99": pct(ms, 99),
            "max": max(ms), "mean": statistics.fmean(ms)}


def proc_mem(pid):
    """{VmRSS, VmHWM} in KiB from /proc/PID/status."""
    out = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                key = line.split(":", 1)[0]
                if key in ("VmRSS", "VmHWM"):
                    out[key] = int(line.split()[1])
    except OSError:
        pass
    return out


def timed_gets(port, oid, n=None, seconds=None, interval=0.0):
    """GETs of oid with one client: n of them, or as many as fit in seconds
    (bounded either way). Returns (latencies in s, errors, noSuch answers)."""
    cli = GetClient(port)
    lat, errors, nosuch = [], 0, 0
    deadline = time.monotonic() + (seconds if seconds else 600)
    try:
        i = 0
        while (n is None or i < n) and time.monotonic() < deadline:
            i += 1
            t = time.monotonic()
            try:
                tag = cli.get(oid)
                lat.append(time.monotonic() - t)
                if tag in (0x80, 0x81, 0x82):
                    nosuch += 1
            except (OSError, ValueError):
                errors += 1
            if interval:
                time.sleep(interval)
    finally:
        cli.close()
    return lat, errors, nosuch


def _getter_proc(port, oid, interval, stop, conn):
    """Runs in a child process (no GIL shared with the driver): GETs until
    stop is set, at most 10 minutes; sends (start time, latency) and errors."""
    cli = GetClient(port, timeout=AGENTX_TIMEOUT_S + 5)
    samples, errors = [], 0
    deadline = time.monotonic() + 600
    while not stop.is_set() and time.monotonic() < deadline:
        t = time.monotonic()
        try:
            cli.get(oid)
            samples.append((t, time.monotonic() - t))
        except (OSError, ValueError):
            errors += 1
        time.sleep(interval)
    cli.close()
    conn.send((samples, errors))
    conn.close()


class BackgroundGets:
    """GETs from another process while the driver does something else."""

    def __init__(self, port, oid, interval=0.01):
        ctx = multiprocessing.get_context("fork")
        self.stop_ev = ctx.Event()
        self.rx, tx = ctx.Pipe(duplex=False)
        self.proc = ctx.Process(target=_getter_proc, args=(port, oid, interval, self.stop_ev, tx),
                                daemon=True)
        self.proc.start()
        tx.close()
        self.samples, self.errors = [], 0

    def finish(self):
        self.stop_ev.set()
        if self.rx.poll(AGENTX_TIMEOUT_S + 15):
            self.samples, self.errors = self.rx.recv()
        self.proc.join(10)
        if self.proc.is_alive():
            self.proc.kill()  # by PID, our own child
            self.proc.join(5)
        return self

    def between(self, t0, t1):
        return [lat for t, lat in self.samples if t0 <= t <= t1]


def cfg(resource, column, index=1):
    return col(SMTP_SERVER_TABLE if resource == "server" else SMTP_CLIENT_TABLE, column, index)


# --- the lab ---------------------------------------------------------------------


class Lab:
    def __init__(self, base):
        self.base = Path(base)
        self.sim = CupiSim(self.base / "sim", verbose=False)
        self.trapd = Snmptrapd(self.base / "snmptrapd")
        self.snmpd = None
        self.agent = None
        self.agent_runs = 0

    def start(self):
        names = ["cuc%d" % i for i in range(1, MAX_SERVERS + 1)]
        self.sim.start(servers=names, timeout=60)
        self.trapd.start()
        self.snmpd = Snmpd(self.base / "snmpd", agentx_timeout=AGENTX_TIMEOUT_S, agentx_retries=0,
                           trap_port=self.trapd.port).start()
        return self

    @property
    def port(self):
        return self.snmpd.port

    def start_agent(self, servers=1, poll=1, ttl=1, wait=60):
        self.stop_agent()
        self.agent_runs += 1
        lines = [server_lines(i, "cuc%d" % i, self.sim, sim_server="cuc%d" % i)
                 for i in range(1, servers + 1)]
        conf = agent_config(self.snmpd, lines, poll=poll, ttl=ttl)
        self.agent = Agent(self.base / ("agent-%d" % self.agent_runs), conf, debug=None).start()
        # every row's config columns served
        want = servers * 6
        wait_for(lambda: len([o for o in snmpbulkwalk(self.port, SMTP_CLIENT_TABLE, timeout=2)[0]
                              if o.startswith(SMTP_CLIENT_TABLE)]) >= want, wait, interval=0.2,
                 what="%d rows served" % servers)
        return self.agent

    def stop_agent(self):
        if self.agent:
            self.agent.stop()
            self.agent = None

    def stop(self):
        self.stop_agent()
        if self.snmpd:
            self.snmpd.cleanup()
        self.trapd.stop()
        self.sim.stop()

    def agentx_trouble(self):
        """Signs of a lost AgentX session in the logs (should be 0)."""
        text = (self.snmpd.log_text() if self.snmpd else "") + \
            (self.agent.log_text() if self.agent else "")
        return sum(text.count(s) for s in ("timeout on session", "failed to respond to ping",
                                            "disconnected", "re-register"))


# --- 1. GET latency ---------------------------------------------------------------


def bench_get(lab, n):
    res = {}
    lab.sim.clear_faults("cuc1")
    lab.start_agent(servers=1, poll=1, ttl=1)
    oid = cfg("server", 3)  # cupiSmtpServerMaxConnections.1
    timed_gets(lab.port, oid, n=50)  # warm-up
    lat, err, nosuch = timed_gets(lab.port, "1.3.6.1.2.1.1.3.0", n=n)
    res["snmpd_sysuptime"] = dict(lat_stats(lat), errors=err)
    # spaced 4 ms apart so a run spans more than one 3 s CUPI answer
    lat, err, nosuch = timed_gets(lab.port, oid, n=n, interval=0.004)
    res["cupi_fast"] = dict(lat_stats(lat), errors=err, nosuch=nosuch)

    # CUPI answers every GET after 3 s; with ttl = poll = 1 s a refresh is
    # in flight all the time.
    lab.sim.fault(server="cuc1", method="GET", latency_ms=3000)
    time.sleep(1.5)
    before = lab.sim.counters("cuc1")["in_progress"]
    lat, err, nosuch = timed_gets(lab.port, oid, n=n, interval=0.004)
    after = lab.sim.counters("cuc1")["in_progress"]
    res["cupi_3s"] = dict(lat_stats(lat), errors=err, nosuch=nosuch,
                          cupi_in_progress_before=before, cupi_in_progress_after=after)
    lab.sim.clear_faults("cuc1")
    res["agentx_trouble"] = lab.agentx_trouble()
    return res


# --- 2. walks and memory -------------------------------------------------------------


def bench_walk(lab, sizes, reps):
    res = []
    for n in sizes:
        agent = lab.start_agent(servers=n, poll=10, ttl=10)
        time.sleep(0.5)
        mem0 = proc_mem(agent.pid)
        row = {"servers": n}
        for label, repetitions in (("cr10", None), ("cr50", 50)):
            times, count = [], 0
            for _ in range(reps):
                t = time.monotonic()
                vals, err = snmpbulkwalk(lab.port, ROOT, timeout=5, repetitions=repetitions)
                times.append(time.monotonic() - t)
                count = len(vals)
            row["walk_%s_ms" % label] = {"median": statistics.median(times) * 1000,
                                         "min": min(times) * 1000, "max": max(times) * 1000}
            row["varbinds"] = count
        mem = proc_mem(agent.pid)
        row["idle_VmRSS_kB"] = mem0.get("VmRSS")
        row["VmRSS_kB"] = mem.get("VmRSS")
        row["VmHWM_kB"] = mem.get("VmHWM")
        res.append(row)
    lab.stop_agent()
    # process start-up of a net-snmp tool, for scale
    t = time.monotonic()
    for _ in range(reps):
        snmpget(lab.port, "1.3.6.1.2.1.1.3.0")
    startup_ms = (time.monotonic() - t) / reps * 1000
    first, last = res[0], res[-1]
    per_server = None
    if last["servers"] > first["servers"] and first.get("VmRSS_kB") and last.get("VmRSS_kB"):
        per_server = (last["VmRSS_kB"] - first["VmRSS_kB"]) / (last["servers"] - first["servers"])
    return {"sizes": res, "per_server_VmRSS_kB": per_server, "snmpget_process_ms": startup_ms}


# --- 3. SET ------------------------------------------------------------------------


def _set_varbinds(kind, i):
    """Varbinds of a SET; values change with i so every SET is a real change."""
    if kind == "1 field":
        return [(cfg("server", 3), "i", 20 + i % 20)]
    if kind == "5 fields, 1 resource":
        return [(cfg("server", 3), "i", 20 + i % 20), (cfg("server", 4), "i", 1 + i % 9),
                (cfg("server", 5), "i", 10000 + i), (cfg("server", 6), "i", 10 + i % 50),
                (cfg("server", 7), "i", 15000 + i)]
    # 3 server + 2 client fields: two PUTs, two read-backs
    return [(cfg("server", 3), "i", 20 + i % 20), (cfg("server", 4), "i", 1 + i % 9),
            (cfg("server", 7), "i", 15000 + i),
            (cfg("client", 1), "s", "relay%d.example.com" % i),
            (cfg("client", 5), "s", "bench-user-%d" % i)]


def bench_set(lab, reps, slow_reps):
    res = {"fast": {}, "slow_put_2s": {}}
    lab.sim.clear_faults("cuc1")
    lab.start_agent(servers=1, poll=5, ttl=5)
    i = 0
    for kind in ("1 field", "5 fields, 1 resource", "5 fields, 2 resources"):
        times, errors = [], []
        for _ in range(reps):
            i += 1
            t = time.monotonic()
            _, err = snmpset(lab.port, _set_varbinds(kind, i), timeout=AGENTX_TIMEOUT_S + 5)
            times.append(time.monotonic() - t)
            if err:
                errors.append(err)
        res["fast"][kind] = dict(lat_stats(times), errors=len(errors),
                                 first_error=errors[0] if errors else None)

    # PUT slowed by 2 s, while another manager GETs every 50 ms.
    for kind in ("1 field", "5 fields, 1 resource"):
        times, errors, during = [], [], []
        bg = BackgroundGets(lab.port, cfg("server", 3), interval=0.05)
        # snmpd's own sysUpTime.0 too: tells the master's hold from the agent's
        bg_local = BackgroundGets(lab.port, "1.3.6.1.2.1.1.3.0", interval=0.05)
        time.sleep(0.3)
        spans = []
        for _ in range(slow_reps):
            i += 1
            lab.sim.fault(server="cuc1", method="PUT", resource="server", latency_ms=2000, count=1)
            t = time.monotonic()
            _, err = snmpset(lab.port, _set_varbinds(kind, i), timeout=AGENTX_TIMEOUT_S + 5)
            t1 = time.monotonic()
            times.append(t1 - t)
            spans.append((t, t1))
            if err:
                errors.append(err)
        bg.finish()
        bg_local.finish()
        during_local = []
        for t0, t1 in spans:
            during += bg.between(t0, t1)
            during_local += bg_local.between(t0, t1)
        res["slow_put_2s"][kind] = dict(lat_stats(times), errors=len(errors),
                                        first_error=errors[0] if errors else None,
                                        gets_during_set=lat_stats(during),
                                        gets_all=lat_stats([x for _, x in bg.samples]),
                                        get_errors=bg.errors,
                                        sysuptime_gets_during_set=lat_stats(during_local),
                                        sysuptime_get_errors=bg_local.errors)
    lab.sim.clear_faults("cuc1")
    res["agentx_trouble"] = lab.agentx_trouble()
    return res


# --- 4. notification burst -------------------------------------------------------------


def bench_burst(lab, changes, pace, base):
    """changes external changes of one field, pace seconds apart (0: as fast
    as cupi-sim takes them), values base, base+1, ..."""
    lab.sim.clear_faults("cuc1")
    if lab.agent is None:
        lab.start_agent(servers=1, poll=1, ttl=1)
    oid = cfg("server", 7)  # maxNumberRecipients
    time.sleep(1.5)
    notes_before = len([n for n in lab.trapd.notifications() if n["trap_oid"] == SERVER_CHANGED])
    bg = BackgroundGets(lab.port, oid, interval=0.01)
    time.sleep(0.3)
    conn = lab.sim.connection("cuc1")
    posted, post_errors = 0, 0
    t0 = time.monotonic()
    final = base + changes - 1
    try:
        for i in range(changes):
            if pace:
                time.sleep(pace)
            body = json.dumps({"server": {"maxNumberRecipients": str(base + i)}})
            for _attempt in range(2):  # one reconnect if the server closed it
                try:
                    status, _, _ = lab.sim.request("POST", "/_sim/state", body=body, auth=False,
                                                   content_type="application/json", conn=conn)
                    posted += status == 200
                    post_errors += status != 200
                    break
                except (OSError, http.client.HTTPException):
                    conn.close()
                    conn = lab.sim.connection("cuc1")
            else:
                post_errors += 1
    finally:
        conn.close()
    t1 = time.monotonic()

    def final_notified():
        return any(n["trap_oid"] == SERVER_CHANGED and
                   n["varbinds"].value(oid) == final for n in lab.trapd.notifications())
    seen = True
    try:
        wait_for(final_notified, 10, interval=0.1, what="the last change notified")
    except AssertionError:
        seen = False
    t2 = time.monotonic()
    time.sleep(2)
    bg.finish()
    notes = len([n for n in lab.trapd.notifications()
                 if n["trap_oid"] == SERVER_CHANGED]) - notes_before
    return {"changes": changes, "pace_ms": pace * 1000, "posted": posted,
            "post_errors": post_errors,
            "burst_s": t1 - t0, "last_change_to_notification_s": (t2 - t1) if seen else None,
            "final_value_notified": seen, "notifications": notes,
            "gets_during_burst": lat_stats(bg.between(t0, t1)), "get_errors": bg.errors,
            "agent_mem": proc_mem(lab.agent.pid), "agentx_trouble": lab.agentx_trouble()}


# --- 5. codecs -----------------------------------------------------------------------------


def bench_codec(build, seconds, callgrind):
    exe = Path(build) / "bench" / "bench_codec"
    data = TOP / "tests" / "data"
    if not exe.exists():
        return {"error": "%s not built (-DCUPI_BUILD_BENCH=ON)" % exe}
    p = subprocess.run([str(exe), str(data), "--seconds", str(seconds)], capture_output=True,
                       text=True, timeout=120)
    rows = [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]
    out = {"throughput": rows, "exit": p.returncode}
    if callgrind and shutil.which("valgrind"):
        # instructions of one operation: (Ir of N+1 iterations - Ir of 1) / N
        instr = {}
        with tempfile.TemporaryDirectory(prefix="cupi-cg-") as d:
            def ir(case, op, iters):
                f = Path(d) / ("cg.%s.%s.%d" % (case, op, iters))
                subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=%s" % f,
                                str(exe), str(data), "--iterations", str(iters), "--case", case,
                                "--op", op], capture_output=True, timeout=300)
                for line in f.read_text().splitlines():
                    if line.startswith("totals:") or line.startswith("summary:"):
                        return int(line.split()[1])
                return None
            for row in rows:
                a, b = ir(row["case"], row["op"], 1), ir(row["case"], row["op"], 101)
                if a is not None and b is not None:
                    instr["%s %s" % (row["case"], row["op"])] = (b - a) / 100.0
        out["instructions_per_op"] = instr
    return out


# --- 6. MIB GET in-process ------------------------------------------------------------------


def bench_mib_get(build, gets):
    exe = Path(build) / "bench" / "bench_mib_get"
    if not exe.exists():
        return {"error": "%s not built (-DCUPI_BUILD_BENCH=ON)" % exe}
    p = subprocess.run([str(exe), "--gets", str(gets), "1", "100", "1000"], capture_output=True,
                       text=True, timeout=300)
    rows = [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]
    return {"sizes": rows, "exit": p.returncode}


# --- report --------------------------------------------------------------------------------


def fmt(v, digits=2):
    if v is None:
        return "-"
    if isinstance(v, float):
        return "%.*f" % (digits, v)
    return str(v)


def lat_row(label, s, extra=""):
    if not s.get("n"):
        return "  %-44s (no samples) %s" % (label, extra)
    return "  %-44s %6d %8s %8s %8s %8s  %s" % (label, s["n"], fmt(s["p50"], 3), fmt(s["p95"], 3),
                                               fmt(s["p99"], 3), fmt(s["max"], 3), extra)


def report(r):
    out = []
    hdr = "  %-44s %6s %8s %8s %8s %8s" % ("", "n", "p50 ms", "p95 ms", "p99 ms", "max ms")
    if "get" in r:
        g = r["get"]
        out += ["", "1. GET latency through snmpd, one long-lived v2c client (ms)", hdr]
        out.append(lat_row("sysUpTime.0 (snmpd itself, baseline)", g["snmpd_sysuptime"],
                           "errors %d" % g["snmpd_sysuptime"]["errors"]))
        out.append(lat_row("cupiSmtpServerMaxConnections.1, CUPI fast", g["cupi_fast"],
                           "errors %d noSuch %d" % (g["cupi_fast"]["errors"],
                                                    g["cupi_fast"]["nosuch"])))
        s = g["cupi_3s"]
        out.append(lat_row("same, CUPI answering after 3 s", s,
                           "errors %d noSuch %d; CUPI GETs in flight %d/%d (start/end)"
                           % (s["errors"], s["nosuch"], s["cupi_in_progress_before"],
                              s["cupi_in_progress_after"])))
        out.append("  AgentX trouble lines in the logs: %d" % g["agentx_trouble"])
    if "walk" in r:
        w = r["walk"]
        out += ["", "2. snmpbulkwalk of the whole subtree (ms, median of runs; includes the "
                "tool's start-up, %.1f ms for one snmpget) and agent memory" %
                w["snmpget_process_ms"],
                "  %8s %9s %14s %14s %12s %12s %12s" % ("servers", "varbinds", "walk -Cr10",
                                                        "walk -Cr50", "VmRSS kB", "VmHWM kB",
                                                        "idle RSS kB")]
        for row in w["sizes"]:
            out.append("  %8d %9d %14s %14s %12s %12s %12s" % (
                row["servers"], row["varbinds"], fmt(row["walk_cr10_ms"]["median"], 1),
                fmt(row["walk_cr50_ms"]["median"], 1), fmt(row["VmRSS_kB"]),
                fmt(row["VmHWM_kB"]), fmt(row["idle_VmRSS_kB"])))
        out.append("  per additional server: %s kB RSS" % fmt(w["per_server_VmRSS_kB"], 1))
    if "set" in r:
        s = r["set"]
        out += ["", "3. SET round trip with snmpset (ms, includes the tool's start-up)", hdr]
        for kind, v in s["fast"].items():
            out.append(lat_row("CUPI fast, %s" % kind, v, "errors %d" % v["errors"]))
        for kind, v in s["slow_put_2s"].items():
            out.append(lat_row("PUT +2 s, %s" % kind, v, "errors %d" % v["errors"]))
            out.append(lat_row("  GET of a config column meanwhile", v["gets_during_set"],
                               "get errors %d" % v["get_errors"]))
            out.append(lat_row("  GET of snmpd's sysUpTime.0 meanwhile",
                               v["sysuptime_gets_during_set"],
                               "get errors %d" % v["sysuptime_get_errors"]))
        out.append("  AgentX trouble lines in the logs: %d" % s["agentx_trouble"])
        for v in list(s["fast"].values()) + list(s["slow_put_2s"].values()):
            if v.get("first_error"):
                out.append("  first SET error: %s" % v["first_error"].replace("\n", " | "))
                break
    for k, b in enumerate(r.get("burst", ())):
        if not k:
            out += ["", "4. Notification burst: external changes of one field "
                    "(POST /_sim/state), poll and cache TTL 1 s"]
        out += ["  %d changes, %s:" % (b["changes"], "%g ms apart" % b["pace_ms"]
                                       if b["pace_ms"] else "back to back"),
                "  posted %d (errors %d) in %.2f s; notifications received: %d; "
                "last change notified after %s s" % (b["posted"], b["post_errors"], b["burst_s"],
                                                     b["notifications"],
                                                     fmt(b["last_change_to_notification_s"])),
                hdr,
                lat_row("GET during the burst (every 10 ms)", b["gets_during_burst"],
                        "get errors %d" % b["get_errors"]),
                "  agent after the burst: VmRSS %s kB, VmHWM %s kB; AgentX trouble lines: %d"
                % (b["agent_mem"].get("VmRSS"), b["agent_mem"].get("VmHWM"),
                   b["agentx_trouble"])]
    if "codec" in r:
        c = r["codec"]
        out += ["", "5. Codec (libcupi, reference's example bodies)"]
        if "error" in c:
            out.append("  " + c["error"])
        else:
            instr = c.get("instructions_per_op", {})
            out.append("  %-14s %-7s %6s %14s %10s %14s" % ("body", "op", "bytes", "ops/s",
                                                            "us/op", "instr/op"))
            for row in c["throughput"]:
                ps = row["per_sec"]
                out.append("  %-14s %-7s %6d %14s %10s %14s" % (
                    row["case"], row["op"], row["bytes"], "{:,.0f}".format(ps),
                    fmt(1e6 / ps if ps else None, 2),
                    fmt(instr.get("%s %s" % (row["case"], row["op"])), 0)))
    if "mibget" in r:
        m = r["mibget"]
        out += ["", "6. MIB GET in-process, last row's last client column (CPU us per GET)"]
        if "error" in m:
            out.append("  " + m["error"])
        else:
            for row in m["sizes"]:
                out.append("  %5d rows  %8s us  (%d GETs)" % (row["rows"],
                                                          fmt(row["cpu_us_per_get"], 2),
                                                          row["gets"]))
            if m["exit"] != 0:
                out.append("  bench_mib_get exited %d" % m["exit"])
    return "\n".join(out)


def run_mode(args, work, results, t_start, key, run, report, base_port):
    """One fleet-sized mode: results[key] = run(), its report, the JSON.
    base_port: the first of the mode's 1000 cupi-sim ports."""
    if not 2 <= args.servers <= 1000:
        print("bench: --servers must be 2..1000 (ports %d-%d)" % (base_port, base_port + 999),
              file=sys.stderr)
        return 2
    try:
        results[key] = run()
    finally:
        if args.keep:
            print("bench: work directory kept: %s" % work, file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    results["duration_s"] = time.monotonic() - t_start
    print(report(results[key]))
    print("\n(bench took %.0f s)" % results["duration_s"])
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
        print("numbers written to %s" % args.json)
    return 0


def main_fleet(args, build, work, results, t_start):
    # These modules import this one back for its helpers; both run bench_fleet.Fleet.
    import bench_fleet  # noqa: E402
    if args.fleet_case:
        import bench_fleet_cases as mode  # noqa: E402
    else:
        mode = bench_fleet
    return run_mode(args, work, results, t_start, "fleet",
                    lambda: mode.run(args, build, work), mode.report, bench_fleet.BASE_PORT)


def main_state(args, build, work, results, t_start):
    import bench_state  # noqa: E402 (imports this module back for its helpers)
    return run_mode(args, work, results, t_start, "state_store",
                    lambda: bench_state.run(args, build, work), bench_state.report,
                    bench_state.BASE_PORT)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", help="also write the numbers as JSON to this file")
    ap.add_argument("--gets", type=int, default=1000, help="GETs per latency run (1000)")
    ap.add_argument("--changes", type=int, default=1000, help="changes in the burst (1000)")
    ap.add_argument("--only", default="get,walk,set,burst,codec,mibget",
                    help="comma-separated subset of get,walk,set,burst,codec,mibget")
    ap.add_argument("--no-callgrind", action="store_true", help="skip instruction counts")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    ap.add_argument("--fleet", action="store_true",
                    help="the fleet benchmark instead of the other modes")
    ap.add_argument("--servers", type=int, default=1000, help="fleet size (1000)")
    ap.add_argument("--fleet-seconds", type=int, default=120,
                    help="fleet steady-state GET window in seconds (120)")
    ap.add_argument("--cpu-gets", type=int, default=3000,
                    help="fleet: GETs per CPU-per-varbind measurement (3000)")
    ap.add_argument("--set-reps", type=int, default=3, help="fleet: SETs of each kind (3)")
    ap.add_argument("--sim-idle-timeout", type=int, default=30,
                    help="fleet: cupi-sim closes a connection idle this long (30 s)")
    ap.add_argument("--fleet-case", default="",
                    help="fleet: instead of the fleet phases, these cases (comma-separated: "
                    "poll10,partial-outage,whole-outage,stalled-master, or all)")
    ap.add_argument("--agent-debug", default="",
                    help="fleet cases: -D tokens for the agent (e.g. cupi; with --keep)")
    ap.add_argument("--state-store", action="store_true",
                    help="the state store at fleet size instead of the other modes")
    ap.add_argument("--history-rows", type=int, default=100,
                    help="state store: change rows per server (100)")
    ap.add_argument("--distinct-history", action="store_true",
                    help="state store: every server's history texts its own (the worst "
                    "case for the shared texts; default: the same rows on every server)")
    ap.add_argument("--baseline", action="store_true",
                    help="state store: also the same steady state without a store")
    args = ap.parse_args()
    only = set(args.only.split(","))
    build = os.environ.get("CUPI_BUILD_DIR") or str(TOP / "build-bench")
    os.environ["CUPI_BUILD_DIR"] = build

    work = Path(tempfile.mkdtemp(prefix="cupi-bench-"))
    results = {"build_dir": build, "host": {"cpus": os.cpu_count(), "uname": " ".join(os.uname())},
               "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    t_start = time.monotonic()
    if args.fleet:
        return main_fleet(args, build, work, results, t_start)
    if args.state_store:
        return main_state(args, build, work, results, t_start)
    lab = None
    try:
        if only & {"get", "walk", "set", "burst"}:
            lab = Lab(work).start()
            if "get" in only:
                print("bench: GET latency ...", file=sys.stderr, flush=True)
                results["get"] = bench_get(lab, args.gets)
            if "walk" in only:
                print("bench: walks and memory ...", file=sys.stderr, flush=True)
                results["walk"] = bench_walk(lab, (1, 10, MAX_SERVERS), reps=5)
            if "set" in only:
                print("bench: SET ...", file=sys.stderr, flush=True)
                results["set"] = bench_set(lab, reps=10, slow_reps=3)
            if "burst" in only:
                print("bench: notification burst ...", file=sys.stderr, flush=True)
                lab.stop_agent()
                results["burst"] = [bench_burst(lab, args.changes, 0, 20000),
                                    bench_burst(lab, args.changes, 0.005, 30000)]
        if "codec" in only:
            print("bench: codecs ...", file=sys.stderr, flush=True)
            results["codec"] = bench_codec(build, 0.5, not args.no_callgrind)
        if "mibget" in only:
            print("bench: MIB GET in-process ...", file=sys.stderr, flush=True)
            results["mibget"] = bench_mib_get(build, 10000)
    finally:
        if lab:
            lab.stop()
        if args.keep:
            print("bench: work directory kept: %s" % work, file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    results["duration_s"] = time.monotonic() - t_start
    print(report(results))
    print("\n(bench took %.0f s)" % results["duration_s"])
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
        print("numbers written to %s" % args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
