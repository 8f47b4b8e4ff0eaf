"""contrib/zabbix: the Zabbix 6.0 template generated from the MIB.

Zabbix itself is not installable here, so the template is checked for what
an import and the server rely on:
- regenerating it (make_template.py) gives the committed file;
- the YAML export structure of 6.0: version, groups, template, a discovery
  rule with item prototypes, value maps, macros, 32-hex-digit UUIDs, no
  duplicate keys or UUIDs;
- every OID in it is, for net-snmp's own MIB parser (snmptranslate), the
  object the item's key names, and the prototypes cover every readable
  column of the three tables except the write-only password;
- value maps agree with the MIB's enumerations (tlsOptional(2) included);
- trigger expressions use the 6.0 syntax and reference item keys of this
  template (prototype triggers: prototypes of the same rule) and defined
  macros.

Environment: CUPI_SOURCE_DIR (see nms_helper).
"""

import re
import sys

import pytest
import yaml

from nms_helper import CONTRIB, mib_dir, run
from snmp_helper import tool_env

ZABBIX = CONTRIB / "zabbix"
TEMPLATE_FILE = ZABBIX / "template_cupi_smtp_snmp.yaml"
SCRIPT = ZABBIX / "make_template.py"
ROOT = "1.3.6.1.4.1.8072.9999.9999.25"
TABLE_ENTRIES = {ROOT + ".1.1.1": "cupiServerEntry", ROOT + ".1.2.1": "cupiSmtpServerEntry",
                 ROOT + ".1.3.1": "cupiSmtpClientEntry"}
PASSWORD = "cupiSmtpClientPassword"


@pytest.fixture(scope="module")
def doc():
    return yaml.safe_load(TEMPLATE_FILE.read_text())


@pytest.fixture(scope="module")
def template(doc):
    return doc["zabbix_export"]["templates"][0]


@pytest.fixture(scope="module")
def translate(tmp_path_factory):
    mibs = mib_dir(tmp_path_factory.mktemp("zbx-mibs"))
    env = tool_env(tmp_path_factory.mktemp("zbx-netsnmp"))

    def tr(*args):
        p = run(["snmptranslate", "-M", mibs, "-m", "CUPI-SMTP-MIB"] + list(args), env=env)
        noise = [l for l in p.stderr.splitlines()
                 if l.strip() and not l.startswith("Created directory:")]
        assert p.returncode == 0 and not noise, p.stderr
        return p.stdout

    return tr


def test_regenerating_gives_the_committed_file(tmp_path):
    out = tmp_path / "t.yaml"
    p = run([sys.executable, SCRIPT, "-o", out])
    assert p.returncode == 0, p.stderr
    assert out.read_text() == TEMPLATE_FILE.read_text(), (
        "contrib/zabbix/template_cupi_smtp_snmp.yaml is not what make_template.py makes "
        "of the MIB: run contrib/zabbix/make_template.py")


def test_export_structure(doc, template):
    zx = doc["zabbix_export"]
    assert zx["version"] == "6.0"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", zx["date"])
    group_names = {g["name"] for g in zx["groups"]}
    assert {g["name"] for g in template["groups"]} <= group_names
    assert template["template"] and template["name"]
    uuids = []

    def walk(node):
        if isinstance(node, dict):
            if "uuid" in node:
                uuids.append(node["uuid"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(zx)
    assert uuids and all(re.fullmatch(r"[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}", u)
                         for u in uuids), uuids
    assert len(uuids) == len(set(uuids)), "duplicate UUIDs"

    rules = template["discovery_rules"]
    assert len(rules) == 1
    rule = rules[0]
    assert rule["type"] == "SNMP_AGENT" and rule["key"]
    keys = [i["key"] for i in template["items"]] + [rule["key"]] + \
        [p["key"] for p in rule["item_prototypes"]]
    assert len(keys) == len(set(keys)), "duplicate item keys"
    valuemaps = {v["name"]: v for v in template["valuemaps"]}
    for proto in rule["item_prototypes"]:
        assert proto["type"] == "SNMP_AGENT"
        assert "{#SNMPINDEX}" in proto["key"] and proto["snmp_oid"].endswith(".{#SNMPINDEX}")
        assert proto.get("value_type", "UNSIGNED") in ("UNSIGNED", "CHAR", "FLOAT")
        if "valuemap" in proto:
            assert proto["valuemap"]["name"] in valuemaps
    for item in template["items"]:
        assert item["type"] == "SNMP_TRAP" and item["value_type"] == "LOG"
        assert re.fullmatch(r'snmptrap\[".*"\]', item["key"])
    macros = {m["macro"] for m in template.get("macros", [])}
    assert all(re.fullmatch(r"\{\$[A-Z0-9_.]+\}", m) for m in macros)
    assert not [k for k in keys if k.startswith(PASSWORD)]
    assert ROOT + ".1.3.1.6" not in TEMPLATE_FILE.read_text()


def test_every_oid_is_what_its_key_names(template, translate):
    rule = template["discovery_rules"][0]
    checked = 0
    for proto in rule["item_prototypes"]:
        name = proto["key"].split("[", 1)[0]
        oid = proto["snmp_oid"][:-len(".{#SNMPINDEX}")]
        assert translate("-On", "CUPI-SMTP-MIB::" + name).strip() == "." + oid, proto["key"]
        assert translate("-OS", oid).strip() == "CUPI-SMTP-MIB::" + name
        checked += 1
    # discovery[{#MACRO},OID,...]
    m = re.fullmatch(r"discovery\[(.*)\]", rule["snmp_oid"])
    parts = m.group(1).split(",")
    pairs = dict(zip(parts[0::2], parts[1::2]))
    assert translate("-OS", pairs["{#CUPI.NAME}"]).strip() == "CUPI-SMTP-MIB::cupiServerName"
    assert translate("-OS", pairs["{#CUPI.URL}"]).strip() == "CUPI-SMTP-MIB::cupiServerUrl"
    # Trap items: the name and the OID in the regular expression agree.
    traps = {}
    for item in template["items"]:
        m = re.search(r"\((\w+)\|\\\.\?([0-9\\.]+)\)", item["key"])
        assert m, item["key"]
        name, oid = m.group(1), m.group(2).replace("\\.", ".")
        assert translate("-On", "CUPI-SMTP-MIB::" + name).strip() == "." + oid
        traps[name] = oid
    assert checked > 0
    # Every notification of the MIB has a trap item.
    notifs = {}
    for line in translate("-Tz").splitlines():
        mm = re.fullmatch(r'"(\w+)"\s+"([0-9.]+)"', line.strip())
        if mm and mm.group(2).startswith(ROOT + ".0."):
            notifs[mm.group(1)] = mm.group(2)
    assert traps == notifs


def test_prototypes_cover_every_readable_column(template, translate):
    """Independent of make_template's MIB reader: net-snmp's list of the
    tables' columns and their access."""
    want = set()
    for line in translate("-Tz").splitlines():
        mm = re.fullmatch(r'"(\w+)"\s+"([0-9.]+)"', line.strip())
        if not mm or mm.group(2).rsplit(".", 1)[0] not in TABLE_ENTRIES:
            continue
        detail = translate("-Td", "CUPI-SMTP-MIB::" + mm.group(1))
        access = re.search(r"MAX-ACCESS\s+(\S+)", detail).group(1)
        if access in ("read-only", "read-write") and mm.group(1) != PASSWORD:
            want.add(mm.group(1))
    got = {p["key"].split("[", 1)[0] for p in template["discovery_rules"][0]["item_prototypes"]}
    assert got == want
    assert len(want) >= 26


def test_valuemaps_match_the_mib(template, translate):
    checked = set()
    for vm in template["valuemaps"]:
        mapping = {int(m["value"]): m["newvalue"] for m in vm["mappings"]}
        if vm["name"].startswith("CUPI-SMTP-MIB::"):
            detail = translate("-Td", vm["name"])
            syntax = re.search(r"SYNTAX\s+INTEGER\s*\{([^}]*)\}", detail).group(1)
            mib = {int(n): l for l, n in re.findall(r"(\w+)\((\d+)\)", syntax)}
            assert mapping == mib, vm["name"]
            checked.add(vm["name"].split("::")[1])
        else:
            assert vm["name"] == "SNMPv2-TC::TruthValue" and mapping == {1: "true", 2: "false"}
    assert {"cupiServerStatus", "cupiSmtpServerRequireTlsUntrusted"} <= checked
    tls = next(v for v in template["valuemaps"]
               if v["name"] == "CUPI-SMTP-MIB::cupiSmtpServerRequireTlsUntrusted")
    assert {"value": "2", "newvalue": "tlsOptional"} in tls["mappings"]


_FUNC_REF = re.compile(r"\b(\w+)\(/([^/]+)/([^,)]+(?:\[[^\]]*\])?)")


def test_trigger_expressions_reference_existing_items(template):
    rule = template["discovery_rules"][0]
    proto_keys = {p["key"] for p in rule["item_prototypes"]}
    macros = {m["macro"] for m in template.get("macros", [])}
    triggers = [(t, p) for p in rule["item_prototypes"] for t in p.get("trigger_prototypes", [])]
    names = set()
    for trig, proto in triggers:
        expr = trig["expression"]
        refs = _FUNC_REF.findall(expr)
        assert refs, expr
        for func, host, key in refs:
            assert func in ("last", "change", "min", "max", "avg", "nodata", "count"), expr
            assert host == template["template"], expr
            assert key in proto_keys, "%s references %s, no such prototype" % (expr, key)
        assert key == proto["key"], "a trigger under %s uses %s" % (proto["key"], key)
        for mac in re.findall(r"\{\$[A-Z0-9_.]+\}", expr):
            assert mac in macros, mac
        assert trig["priority"] in ("INFO", "WARNING", "AVERAGE", "HIGH", "DISASTER")
        names.add(proto["key"].split("[")[0])
    assert names == {"cupiServerStatus", "cupiServerDataAge", "cupiServerConfigChanges"}
    status = next(t for t, p in triggers if p["key"].startswith("cupiServerStatus["))
    assert status["expression"].endswith("<>2")  # ok(2)
