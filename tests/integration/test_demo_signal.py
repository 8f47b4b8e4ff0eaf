"""scripts/demo.sh in its waiting mode stops everything it started when its
own PID gets SIGTERM (a service manager or `kill PID`, not Ctrl-C to the
whole process group), within 2 seconds."""

import os
import signal
import subprocess
import time
from pathlib import Path

SOURCE_DIR = Path(os.environ.get("CUPI_SOURCE_DIR") or Path(__file__).resolve().parents[2])
DEMO = SOURCE_DIR / "scripts" / "demo.sh"
READY_LINE = "Everything keeps running"
START_LIMIT_S = 240


def children_of():
    """{ppid: [pid, ...]} of every process now visible in /proc."""
    tree = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path("/proc", entry, "stat").read_text()
        except OSError:
            continue
        # The command name is in parentheses and may hold blanks.
        fields = stat[stat.rindex(")") + 2:].split()
        tree.setdefault(int(fields[1]), []).append(int(entry))
    return tree


def descendants(pid):
    tree, found, todo = children_of(), [], [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        stat = Path("/proc", str(pid), "stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2:].split()[0] != "Z"


def test_sigterm_to_the_demo_stops_all_it_started(tmp_path):
    out_path = tmp_path / "demo.out"
    env = dict(os.environ)
    with open(out_path, "w") as out:
        # Its own session, so that whatever happens the test can clean up by
        # the process group the demo leads; the signal under test goes to the
        # demo's PID only.
        demo = subprocess.Popen([str(DEMO)], stdout=out, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + START_LIMIT_S
        while READY_LINE not in out_path.read_text():
            assert demo.poll() is None, "demo exited early:\n" + out_path.read_text()
            assert time.monotonic() < deadline, "demo not ready:\n" + out_path.read_text()
            time.sleep(0.5)
        started = descendants(demo.pid)
        # cupi-sim, snmptrapd, snmpd, the agent and the waiting sleep at least.
        assert len(started) >= 5, started
        hints = out_path.read_text()
        assert "traps.log" in hints
        assert "-M " in hints and "CUPI-SMTP-MIB::" in hints, hints

        t0 = time.monotonic()
        os.kill(demo.pid, signal.SIGTERM)
        while time.monotonic() - t0 < 2.0:
            if demo.poll() is not None and not any(alive(p) for p in started):
                break
            time.sleep(0.05)
        elapsed = time.monotonic() - t0
        print("\ndemo stopped %d processes in %.2f s" % (len(started), elapsed))
        assert demo.poll() is not None, "demo still running 2 s after SIGTERM"
        left = [p for p in started if alive(p)]
        assert not left, "still running 2 s after SIGTERM: %s" % left
        assert demo.returncode == 143
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait(5)
