"""The state store on a full disk and in a read-only directory: each gives
one clear error while the agent serves from memory, and the agent writes
again once it can. Both mount a small tmpfs (the tests run as root); where
mounting is not permitted this module is skipped, saying so, and ctest
lists it as not run (a module of its own, so that the skip hides nothing
else).

Run: CUPI_BUILD_DIR=BUILD /usr/bin/python3 -m pytest -q tests/integration/test_state_store_tmpfs.py
"""

import subprocess
import time

import pytest

from snmp_helper import snmpset, wait_for
from state_helper import (ERROR_TEXT, RECOVERED_TEXT, RETRY_MAX_S, integrity, log_lines,
                          saved_doc, saved_value)
from test_agent_notify import SERVER_CHANGED, config_oid, get1
from test_state_store import lab, wait_value  # noqa: F401 (lab: fixture)


class Tmpfs:
    def __init__(self, path, size):
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0700" % size, "tmpfs",
                            str(path)], capture_output=True, text=True)
        if p.returncode != 0:
            pytest.skip("SKIPPED LOUDLY: cannot mount a tmpfs here (%s): the full-disk and "
                        "read-only cases need one" % p.stderr.strip())

    def remount(self, opt):
        subprocess.run(["mount", "-o", "remount,%s" % opt, str(self.path)], check=True)

    def unmount(self):
        subprocess.run(["umount", "-l", str(self.path)], check=False)


def fill(path):
    """Fills the file system of path; returns the filler file."""
    filler = path / "filler"
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    try:
        with open(path / "filler2", "wb") as f:
            while True:
                f.write(b"\0" * 512)
                f.flush()
    except OSError:
        pass
    return filler


def test_disk_full_then_space_again(lab):
    mnt = Tmpfs(lab.dir / "full", "512k")
    try:
        lab.state_file = mnt.path / "state.db"
        lab.start_sim()
        lab.start_snmp()
        filler = fill(mnt.path)
        lab.start_agent()
        wait_for(lambda: log_lines(lab.agent, ERROR_TEXT), 10, what="the error")
        vals, err = snmpset(lab.snmpd.port, (config_oid("server", "maxNumberConnections"), "i",
                                             23), timeout=5)
        assert not err, err
        time.sleep(4)  # retries at 1, 2 s ...
        errors = log_lines(lab.agent, ERROR_TEXT)
        assert len(errors) == 1, errors
        assert "full" in errors[0] or "No space" in errors[0], errors[0]
        assert get1(lab.snmpd, config_oid("server", "maxNumberConnections")) == 23
        filler.unlink()
        (mnt.path / "filler2").unlink()
        wait_value(lab, "maxNumberConnections", "23", timeout=RETRY_MAX_S + 10)
        wait_for(lambda: log_lines(lab.agent, RECOVERED_TEXT), 10, what="the recovery")
        assert len(log_lines(lab.agent, ERROR_TEXT)) == 1
        doc = saved_doc(lab.state_file)
        assert any(r["field"] == "maxNumberConnections" and r["new"] == "23"
                   for r in doc["servers"][0]["history"]["rows"]), doc
        assert integrity(lab.state_file) == "ok"
    finally:
        lab.stop()
        mnt.unmount()


def test_read_only_directory_then_writable(lab):
    mnt = Tmpfs(lab.dir / "ro", "4m")
    try:
        lab.state_file = mnt.path / "state.db"
        lab.start_sim()
        lab.start_snmp()
        lab.start_agent()
        wait_for(lambda: saved_value(lab.state_file, "Port") is not None, 10,
                 what="the first save")
        lab.agent.stop()
        old = lab.sim.state()["server"]["maxMessageSizeKb"]
        mnt.remount("ro")
        lab.start_agent()
        # the saved values were read from the read-only store ...
        assert "1 resource(s) loaded" in lab.agent.log_text() or \
            "2 resource(s) loaded" in lab.agent.log_text(), lab.agent.log_text()
        new = "4321" if old != "4321" else "4322"
        lab.sim.set_state({"server": {"maxMessageSizeKb": new}})
        # ... the change is served, notified, and cannot be written: one error
        lab.trapd.wait_for(lambda n: n["trap_oid"] == SERVER_CHANGED, timeout=10)
        wait_for(lambda: log_lines(lab.agent, ERROR_TEXT), 10, what="the error")
        time.sleep(3)
        errors = log_lines(lab.agent, ERROR_TEXT)
        assert len(errors) == 1, errors
        assert "read-only" in errors[0].lower() or "readonly" in errors[0].lower(), errors[0]
        assert get1(lab.snmpd, config_oid("server", "maxMessageSizeKb")) == int(new)
        mnt.remount("rw")
        wait_value(lab, "maxMessageSizeKb", new, timeout=RETRY_MAX_S + 10)
        wait_for(lambda: log_lines(lab.agent, RECOVERED_TEXT), 10, what="the recovery")
        assert integrity(lab.state_file) == "ok"
    finally:
        lab.stop()
        mnt.unmount()
