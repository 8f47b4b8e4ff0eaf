"""The notification part of the deployment sample (doc/snmpd.conf.sample, the
README's Deploy section): its commented SNMPv3 inform line, pointed at a local
snmptrapd configured with the receiver lines the sample gives, delivers the
agent's notifications authenticated and encrypted; a receiver without that
user logs nothing."""

import re
from pathlib import Path

import pytest

from sim_helper import CupiSim
from snmp_helper import (NOTIFICATIONS, SMTP_SERVER_TABLE, Agent, Snmpd, Snmptrapd,
                         agent_config, col, server_lines, snmpget, wait_for)

SAMPLE = Path(__file__).resolve().parents[2] / "doc" / "snmpd.conf.sample"
SERVER_CHANGED = NOTIFICATIONS + ".1"


def sample_lines():
    return SAMPLE.read_text().splitlines()


def receiver_lines():
    """The snmptrapd.conf lines the sample's comments give for the v3 user."""
    out = []
    for line in sample_lines():
        m = re.match(r"^#\s+((createUser|authUser) .*)$", line)
        if m:
            out.append(m.group(1))
    return out


class V3Snmptrapd(Snmptrapd):
    """snmptrapd with authorization on: only what the given lines allow."""

    def __init__(self, tmpdir, auth_lines):
        super().__init__(tmpdir)
        self.auth_lines = auth_lines

    def _spawn(self, args, env=None):
        self.conf_file.write_text(
            "\n".join(self.auth_lines) + "\n"
            "doNotRetainNotificationLogs yes\n"
            "format2 %s %%b\\n%%V\\n%%v\\n%s\\n\n" % (self.BEGIN, self.END))
        return super()._spawn(args, env=env)


class SampleSnmpd(Snmpd):
    """snmpd with the sample file; local AgentX socket and community, and
    its commented SNMPv3 inform line switched on towards trap_port."""

    def config_text(self):
        out = []
        for line in sample_lines():
            words = line.split()
            if words[:1] == ["agentXSocket"]:
                line = "agentXSocket %s" % self.agentx
            elif words[:2] == ["rocommunity", "public"]:
                line = "rocommunity public 127.0.0.1"
            elif words[:1] == ["trap2sink"]:
                continue
            elif line.startswith("#trapsess "):
                line = line[1:].replace("nms.example.com", "127.0.0.1:%d" % self.trap_port)
            out.append(line)
        return "\n".join(out) + "\n"


@pytest.fixture
def sim(tmp_path):
    s = CupiSim(tmp_path / "sim").start()
    yield s
    s.stop()


def run_lab(tmp_path, sim, trapd, wait_s=20):
    snmpd = SampleSnmpd(tmp_path / "snmpd", trap_port=trapd.port)
    assert any(line.startswith("trapsess -Ci -v3 -l authPriv") for line in
               snmpd.config_text().splitlines())
    snmpd.start()
    agent = None
    try:
        agent = Agent(tmp_path / "agent",
                      agent_config(snmpd, [server_lines(1, "cuc1", sim)], poll=1, ttl=1)).start()
        port_oid = col(SMTP_SERVER_TABLE, 1, 1)
        wait_for(lambda: snmpget(snmpd.port, port_oid)[0].value(port_oid), 20, what="row 1")
        sim.set_state({"server": {"maxNumberConnections": "31"}})
        # The agent's poll sees the change, the master turns it into an inform.
        return trapd.wait_for(lambda n: n["trap_oid"] == SERVER_CHANGED, timeout=wait_s)
    finally:
        if agent:
            agent.stop()
        snmpd.stop()


def test_v3_inform_line_delivers_to_a_receiver_with_the_sample_user(tmp_path, sim):
    lines = receiver_lines()
    assert [line.split()[0] for line in lines] == ["createUser", "authUser"]
    trapd = V3Snmptrapd(tmp_path / "trapd", lines).start()
    try:
        got = run_lab(tmp_path, sim, trapd)
        assert got and got[0]["trap_oid"] == SERVER_CHANGED
    finally:
        trapd.stop()


def test_a_receiver_without_the_user_gets_nothing(tmp_path, sim):
    # Same receiver, but the user is not authorized to log anything.
    lines = [line for line in receiver_lines() if not line.startswith("authUser")]
    trapd = V3Snmptrapd(tmp_path / "trapd", lines).start()
    try:
        with pytest.raises(AssertionError):
            run_lab(tmp_path, sim, trapd, wait_s=8)
        assert trapd.notifications() == []
    finally:
        trapd.stop()
