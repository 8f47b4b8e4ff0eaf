"""contrib/zabbix/cupi-zabbix-traps, the snmptrapd traphandle writing
Zabbix's SNMP trap file, on its own (test_zabbix_live.py runs
it under snmptrapd into a real Zabbix server):
- a record is what Zabbix's SNMP trapper splits on: "<time> ZBXTRAP
  <address>" then the varbind lines; "ZBXTRAP" in a value cannot start a
  record; snmpTrapAddress.0 names the origin when present;
- many handlers at once (as snmptrapd forks them) append whole records,
  never interleaved;
- a locked file or a stdin that never closes makes it give up after its
  timeout, with a message and exit status 1: it never hangs snmptrapd.
"""

import fcntl
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from nms_helper import CONTRIB

HANDLER = CONTRIB / "zabbix" / "cupi-zabbix-traps"
TRAP = "iso.3.6.1.4.1.8072.9999.9999.25.0.3"


def handler_input(value, sender="127.0.0.1", extra=()):
    return ("localhost\nUDP: [%s]:50969->[127.0.0.1]:162\n"
            "iso.3.6.1.2.1.1.3.0 0:0:09:43.84\n"
            "iso.3.6.1.6.3.1.1.4.1.0 %s\n"
            "iso.3.6.1.4.1.8072.9999.9999.25.1.1.1.2.1 \"%s\"\n" % (sender, TRAP, value) +
            "".join(l + "\n" for l in extra))


def run_handler(path, text, timeout=20, args=()):
    return subprocess.run([sys.executable, str(HANDLER)] + list(args) + [str(path)],
                          input=text, capture_output=True, text=True, timeout=timeout)


def zabbix_records(text):
    """Splits a trap file the way zabbix_server's SNMP trapper does: a
    record starts at each "ZBXTRAP"; the address follows it; the value is
    the text before ZBXTRAP on that line plus everything after the address
    up to the line of the next record."""
    out = []
    starts = [m.start() for m in re.finditer("ZBXTRAP", text)]
    for n, pos in enumerate(starts):
        line_start = text.rfind("\n", 0, pos) + 1
        end = starts[n + 1] if n + 1 < len(starts) else len(text)
        end = text.rfind("\n", 0, end) if n + 1 < len(starts) else end
        m = re.match(r"ZBXTRAP\s+(\S+)\s(.*)", text[pos:end], re.S)
        out.append((m.group(1), text[line_start:pos] + m.group(2)))
    return out


def test_record_format(tmp_path):
    f = tmp_path / "traps.log"
    p = run_handler(f, handler_input('cuc1 \\"x\\" ZBXTRAP 10.9.9.9 y'))
    assert p.returncode == 0, p.stderr
    text = f.read_text()
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ZBXTRAP 127\.0\.0\.1\n", text), text
    recs = zabbix_records(text)
    assert len(recs) == 1, recs  # the value's ZBXTRAP started no record
    addr, value = recs[0]
    assert addr == "127.0.0.1"
    assert "iso.3.6.1.6.3.1.1.4.1.0 %s\n" % TRAP in value
    assert "ZBX-TRAP 10.9.9.9" in value
    assert text.endswith("\n")


def test_snmp_trap_address_names_the_origin(tmp_path):
    f = tmp_path / "traps.log"
    p = run_handler(f, handler_input("cuc1", sender="192.0.2.1",
                                     extra=["iso.3.6.1.6.3.18.1.3.0 192.0.2.77"]))
    assert p.returncode == 0, p.stderr
    assert zabbix_records(f.read_text())[0][0] == "192.0.2.77"


def test_concurrent_handlers_never_interleave(tmp_path):
    f = tmp_path / "traps.log"
    n = 24
    big = "x" * 20000  # larger than a pipe buffer: a split write would show

    def one(i):
        return run_handler(f, handler_input("rec-%02d-%s-end" % (i, big)))

    with ThreadPoolExecutor(max_workers=n) as pool:
        results = list(pool.map(one, range(n)))
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results]
    recs = zabbix_records(f.read_text())
    assert len(recs) == n
    seen = set()
    for addr, value in recs:
        m = re.search(r'"rec-(\d\d)-(x+)-end"', value)
        assert m and len(m.group(2)) == len(big), value[:200]
        assert value.count("ZBX") == 0 and value.count("rec-") == 1
        seen.add(int(m.group(1)))
    assert seen == set(range(n))


def test_locked_file_gives_up_after_the_timeout(tmp_path):
    f = tmp_path / "traps.log"
    f.write_text("")
    with open(f) as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        t0 = time.monotonic()
        p = run_handler(f, handler_input("cuc1"), args=["--timeout", "1"])
        took = time.monotonic() - t0
    assert p.returncode == 1 and "gave up" in p.stderr, (p.returncode, p.stderr)
    assert took < 10, took
    assert f.read_text() == ""


def test_stdin_left_open_gives_up_after_the_timeout(tmp_path):
    f = tmp_path / "traps.log"
    proc = subprocess.Popen([sys.executable, str(HANDLER), "--timeout", "1", str(f)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        proc.stdin.write("localhost\n")
        proc.stdin.flush()
        proc.wait(timeout=15)  # stdin still open
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError("cupi-zabbix-traps hung on an open stdin")
    finally:
        proc.stdin.close()
    err = proc.stderr.read()
    proc.stderr.close()
    proc.stdout.close()
    assert proc.returncode == 1 and "gave up" in err


def test_unwritable_file_is_an_error(tmp_path):
    p = run_handler(tmp_path / "no-such-dir" / "traps.log", handler_input("cuc1"))
    assert p.returncode == 1 and "traps.log" in p.stderr
