"""cupi-snmp-agent -t: the configuration checked as the agent would read it
(syntax, password files, CA files, the state store), nothing started; exit 0,
or 1 with FILE:LINE: lines. systemd runs it before a start and a reload.

Environment: CUPI_BUILD_DIR (binaries)."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from snmp_helper import agent_binary

CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


def check(conf, *extra):
    got = subprocess.run([str(agent_binary()), "-t", "-C", "-c", str(conf), *extra],
                         capture_output=True, text=True, timeout=30)
    return got.returncode, got.stdout + got.stderr


@pytest.fixture
def setup(tmp_path):
    """A valid configuration: one server, a password file, a CA file, a state
    file in a writable directory. Returns (conf path, dict of the parts)."""
    pw = tmp_path / "cuc.pw"
    pw.write_text("secret\n")
    os.chmod(pw, 0o600)
    ca = tmp_path / "ca.pem"
    shutil.copy(CA_BUNDLE, ca)
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    parts = {"pw": pw, "ca": ca, "state": state_dir / "state.json"}

    def write(extra=""):
        conf = tmp_path / "agent.conf"
        conf.write_text(
            "cupiServer 1 cuc1 https://127.0.0.1:1\n"
            "cupiUser 1 admin\n"
            "cupiPasswordFile 1 %s\n"
            "cupiCaFile 1 %s\n"
            "cupiStateFile %s\n%s" % (pw, ca, parts["state"], extra))
        return conf
    parts["write"] = write
    return write(), parts


def test_good_configuration_exits_0_and_starts_nothing(setup):
    conf, parts = setup
    code, out = check(conf)
    assert code == 0, out
    assert "configuration OK: 1 server" in out
    assert not parts["state"].exists()  # nothing ran that would write it


def test_syntax_error_names_file_and_line(setup):
    conf, parts = setup
    conf = parts["write"]("cupiPollIntervall 30\n")
    code, out = check(conf)
    assert code == 1
    assert '%s:6: unknown directive "cupiPollIntervall"' % conf in out, out


def test_unreadable_password_file(setup):
    conf, parts = setup
    parts["pw"].unlink()
    code, out = check(conf)
    assert code == 1
    assert "%s:3: cannot read password file %s" % (conf, parts["pw"]) in out, out
    assert "secret" not in out


def test_ca_file_that_does_not_parse(setup):
    conf, parts = setup
    pem = CA_BUNDLE.read_text()
    first = pem[:pem.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----\n")]
    body = first.splitlines()
    body[3] = "!" * len(body[3])  # a line of base64 turned into garbage
    parts["ca"].write_text("\n".join(body) + "\n")
    code, out = check(conf)
    assert code == 1
    assert "%s:1: cupiCaFile 1 %s: certificate 1 does not parse" % (conf, parts["ca"]) in out, out

    parts["ca"].write_text("not a certificate\n")
    code, out = check(conf)
    assert code == 1
    assert "cupiCaFile 1 %s: no PEM certificate in it" % parts["ca"] in out, out


def test_ca_file_that_is_a_fifo_is_refused_at_once(setup):
    conf, parts = setup
    parts["ca"].unlink()
    os.mkfifo(parts["ca"])  # nobody ever writes: reading it would block forever
    code, out = check(conf)  # check() gives up after 30 s
    assert code == 1
    assert "%s:4: cannot read CA file %s: is a FIFO, not a regular file" % (
        conf, parts["ca"]) in out, out


def test_state_store_directory_missing(setup):
    conf, parts = setup
    parts["state"].parent.rmdir()
    code, out = check(conf)
    assert code == 1
    assert "%s: cannot write in its directory" % parts["state"] in out, out


def test_state_file_the_store_cannot_read_is_a_warning(setup):
    conf, parts = setup
    parts["state"].write_text("{\"format\": \"something else\"}")
    code, out = check(conf)
    assert code == 0, out
    assert "warning: %s: will be ignored and not written over" % parts["state"] in out, out
