"""contrib/nagios: the committed check_snmp command lines, run for real.

The command and service definitions are read from contrib/nagios/*.cfg,
their macros filled in as Nagios would ($USER1$ = the monitoring-plugins
directory, the host's address and custom variables, the service's
arguments) with the test snmpd's port, and /usr/lib/nagios/plugins/check_snmp
runs against snmpd + agent + cupi-sim:
- OK for a server whose CUPI answers (status and data age);
- CRITICAL for status while CUPI drops connections or answers 500, and OK
  again once it recovers;
- CRITICAL for the data age of a server never read (4294967295).

Environment: CUPI_BUILD_DIR, CUPI_SOURCE_DIR (see nms_helper).
"""

import re
import shlex

import pytest

from nms_helper import CONTRIB, Stack, free_tcp_port, run
from snmp_helper import server_lines, wait_for

NAGIOS = CONTRIB / "nagios"
PLUGINS = "/usr/lib/nagios/plugins"
OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3


def definitions(kind):
    """[{directive: value}] of every `define KIND { ... }` in contrib/nagios."""
    out = []
    for cfg in sorted(NAGIOS.glob("*.cfg")):
        text = cfg.read_text()
        for body in re.findall(r"define\s+%s\s*\{(.*?)\n\s*\}" % kind, text, re.S):
            d = {}
            for line in body.splitlines():
                line = line.strip()
                if line and not line.startswith("#"):
                    k, _, v = line.partition(" ")
                    d[k] = v.strip()
            out.append(d)
    return out


@pytest.fixture(scope="module")
def nagios_objects():
    commands = {c["command_name"]: c["command_line"] for c in definitions("command")}
    services = definitions("service")
    hosts = {h["host_name"]: h for h in definitions("host")}
    assert {"check_cupi_status", "check_cupi_data_age"} <= set(commands)
    assert services and all(s["host_name"] in hosts for s in services)
    for s in services:
        assert s["check_command"].split("!")[0] in commands, s
    return commands, services, hosts


def command_argv(nagios_objects, check_command, port, host=None):
    commands, _, hosts = nagios_objects
    name, *args = check_command.split("!")
    host = host or next(iter(hosts.values()))
    macros = {"USER1": PLUGINS, "HOSTADDRESS": "127.0.0.1"}
    for k, v in host.items():
        if k.startswith("_"):
            macros["_HOST" + k[1:]] = v
    macros["_HOSTSNMP_PORT"] = str(port)  # the test's snmpd instead of 161
    for i, a in enumerate(args, 1):
        macros["ARG%d" % i] = a
    line = commands[name]
    line = re.sub(r"\$(\w+)\$", lambda m: macros[m.group(1)], line)
    return shlex.split(line)


def check(argv):
    p = run(argv, timeout=60)
    return p.returncode, p.stdout.strip()


def service(nagios_objects, prefix):
    _, services, _ = nagios_objects
    return next(s for s in services if s["check_command"].startswith(prefix + "!"))


def test_check_snmp_against_the_agent(tmp_path, nagios_objects):
    stack = Stack(tmp_path, servers=["cuc-paris"])
    # Row 2: a server that never answers (nothing listens on that port).
    never = server_lines(2, "cuc-gone", url="https://127.0.0.1:%d" % free_tcp_port(),
                         user="admin", password="x", insecure=True)
    try:
        stack.start(extra_servers=never)
        status_cmd = service(nagios_objects, "check_cupi_status")["check_command"]
        age_cmd = service(nagios_objects, "check_cupi_data_age")["check_command"]
        assert status_cmd.split("!")[1] == "1" and age_cmd.split("!")[1] == "1"

        code, out = check(command_argv(nagios_objects, status_cmd, stack.port))
        assert code == OK, out
        assert out.startswith("SNMP OK") and "CUPI status" in out and " 2" in out, out
        code, out = check(command_argv(nagios_objects, age_cmd, stack.port))
        assert code == OK, out
        age = int(re.search(r"CUPI data age (\d+)", out).group(1))
        assert age < 300, out

        # Never read: 4294967295 seconds old.
        age2 = age_cmd.replace("check_cupi_data_age!1!", "check_cupi_data_age!2!")
        code, out = check(command_argv(nagios_objects, age2, stack.port))
        assert code == CRITICAL and "4294967295" in out, out

        # CUPI down: connections dropped, then HTTP 500.
        for fault in ({"drop": True}, {"status": 500}):
            stack.sim.fault(**fault)
            code, out = wait_for(
                lambda: (lambda r: r if r[0] != OK else None)(
                    check(command_argv(nagios_objects, status_cmd, stack.port))),
                30, what="check_cupi_status CRITICAL with %s" % fault)
            assert code == CRITICAL and out.startswith("SNMP CRITICAL"), out
            assert re.search(r"CUPI status \*?(3|8)\*?", out), out  # unreachable / badResponse
            stack.sim.clear_faults()
            wait_for(lambda: check(command_argv(nagios_objects, status_cmd, stack.port))[0] == OK,
                     30, what="check_cupi_status OK again")
    finally:
        stack.stop()


def test_unreachable_snmpd_is_not_ok(nagios_objects):
    """No snmpd on the port: check_snmp says so (not OK)."""
    status_cmd = service(nagios_objects, "check_cupi_status")["check_command"]
    argv = command_argv(nagios_objects, status_cmd, free_tcp_port())
    argv = [a for a in argv]
    i = argv.index("-t")
    argv[i + 1] = "1"
    i = argv.index("-e")
    argv[i + 1] = "0"
    code, out = check(argv)
    assert code in (CRITICAL, UNKNOWN), out
