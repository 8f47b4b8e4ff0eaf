"""contrib/zabbix: the Zabbix 6.0 template generated from the MIB, checked
without a server (test_zabbix_live.py runs it in a real one):
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
  macros; dependencies name triggers of the template; change problems are
  closed by hand only;
- each trap item's regular expression matches its notification's OID as
  net-snmp prints it with every output option and MIB set, and nothing else.

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
    types = {}
    for item in template["items"]:
        types.setdefault(item["type"], []).append(item["key"])
        if item["type"] == "SNMP_TRAP":
            assert item["value_type"] == "LOG"
            assert re.fullmatch(r'snmptrap\[".*"\]', item["key"]) or \
                item["key"] == "snmptrap.fallback"
    assert "snmptrap.fallback" in types["SNMP_TRAP"] and len(types["SNMP_TRAP"]) == 4
    assert types["SNMP_AGENT"] == ["cupiChangeHistorySize"]
    assert types["INTERNAL"] == ["zabbix[host,snmp,available]"]
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
        if item["key"] == "snmptrap.fallback" or item["type"] != "SNMP_TRAP":
            continue
        regex = trap_regex(item)
        name = re.search(r"\\b(\w+)\\b$", regex).group(1)
        tail = re.search(r"\)\\.([0-9\\.]+)\(", regex).group(1).replace("\\.", ".")
        oid = "1.3.6.1.4.1." + tail
        assert translate("-On", "CUPI-SMTP-MIB::" + name).strip() == "." + oid
        traps[name] = oid
    scalar = next(i for i in template["items"] if i["type"] == "SNMP_AGENT")
    assert translate("-OS", scalar["snmp_oid"]).strip() == \
        "CUPI-SMTP-MIB::%s.0" % scalar["key"]
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
        elif vm["name"] == "zabbix.host.available":
            assert mapping == {0: "not available", 1: "available", 2: "unknown"}
        else:
            assert vm["name"] == "SNMPv2-TC::TruthValue" and mapping == {1: "true", 2: "false"}
    assert {"cupiServerStatus", "cupiSmtpServerRequireTlsUntrusted"} <= checked
    tls = next(v for v in template["valuemaps"]
               if v["name"] == "CUPI-SMTP-MIB::cupiSmtpServerRequireTlsUntrusted")
    assert {"value": "2", "newvalue": "tlsOptional"} in tls["mappings"]


_FUNC_REF = re.compile(r'\b(\w+)\(/([^/]+)/((?:[^,()\[]|\[(?:"[^"]*"|[^\]])*\])+)')


def trap_regex(item):
    return re.fullmatch(r'snmptrap\["(.*)"\]', item["key"]).group(1)


def all_triggers(doc):
    """[(trigger, prototype item or None)] of the whole export."""
    zx = doc["zabbix_export"]
    template = zx["templates"][0]
    out = [(t, None) for t in zx.get("triggers", [])]
    out += [(t, None) for i in template["items"] for t in i.get("triggers", [])]
    out += [(t, p) for p in template["discovery_rules"][0]["item_prototypes"]
            for t in p.get("trigger_prototypes", [])]
    return out


def test_trigger_expressions_reference_existing_items(doc, template):
    rule = template["discovery_rules"][0]
    proto_keys = {p["key"] for p in rule["item_prototypes"]}
    item_keys = {i["key"] for i in template["items"]}
    macros = {m["macro"] for m in template.get("macros", [])}
    triggers = all_triggers(doc)
    by_name = {t["name"]: t for t, _ in triggers}
    assert len(by_name) == len(triggers)
    proto_names = set()
    for trig, proto in triggers:
        expr = trig["expression"]
        refs = _FUNC_REF.findall(expr)
        assert refs, expr
        for func, host, key in refs:
            assert func in ("last", "change", "max", "nodata"), expr
            assert host == template["template"], expr
            if proto is None:
                assert key in item_keys, "%s references %s, no such item" % (expr, key)
            else:
                assert key in proto_keys | item_keys, expr
                assert key == proto["key"], "a trigger under %s uses %s" % (proto["key"], key)
        for mac in re.findall(r"\{\$[A-Z0-9_.]+\}", expr):
            assert mac in macros, mac
        assert trig["priority"] in ("INFO", "WARNING", "AVERAGE", "HIGH", "DISASTER")
        for dep in trig.get("dependencies", []):
            assert dep["name"] in by_name, dep
            assert by_name[dep["name"]]["expression"] == dep["expression"], dep
        if "changed" in trig["name"]:
            # Open until an operator closes it.
            assert trig.get("recovery_mode") == "NONE" and trig.get("manual_close") == "YES"
        else:
            assert "recovery_mode" not in trig
        if proto is not None:
            proto_names.add(proto["key"].split("[")[0])
    assert proto_names == {"cupiServerStatus", "cupiServerDataAge", "cupiServerLastChangeIndex"}
    status = next(t for t, p in triggers if p and p["key"].startswith("cupiServerStatus["))
    assert status["expression"].endswith("<>2")  # ok(2)
    # The chain: SNMP unavailable <- agent silent <- status <- data age.
    chain = ["zabbix[host,snmp,available]", "cupiChangeHistorySize",
             "cupiServerStatus[{#SNMPINDEX}]", "cupiServerDataAge[{#SNMPINDEX}]"]
    on = {}
    for t, _ in triggers:
        for k in chain:
            if "/%s)" % k in t["expression"] or "/%s," % k in t["expression"]:
                on[k] = t
    for up, down in zip(chain, chain[1:]):
        assert [d["name"] for d in on[down]["dependencies"]] == [on[up]["name"]], down
    assert "nodata(" in on["cupiChangeHistorySize"]["expression"]


# How net-snmp prints a notification OID, per output option and loaded MIBs.
TRAP_PRINT_OPTIONS = [("CUPI-SMTP-MIB", o) for o in ("-On", "-OS", "-Os", "-Of", "-Ou")] + \
    [("NET-SNMP-MIB", o) for o in ("-OS", "-Os", "-Of")] + [("SNMPv2-SMI", "-OS")]


def test_trap_regexes_match_every_printed_form(template, tmp_path_factory):
    mibs = mib_dir(tmp_path_factory.mktemp("zbx-trap-mibs"))
    env = tool_env(tmp_path_factory.mktemp("zbx-trap-netsnmp"))
    items = [i for i in template["items"] if i["type"] == "SNMP_TRAP" and
             i["key"] != "snmptrap.fallback"]
    oids = {}
    for item in items:
        name = re.search(r"\\b(\w+)\\b$", trap_regex(item)).group(1)
        oids[name] = translate_oid(mibs, env, "CUPI-SMTP-MIB", "-On", "CUPI-SMTP-MIB::" + name)
    printed = {name: [] for name in oids}
    for module, opt in TRAP_PRINT_OPTIONS:
        for name, oid in oids.items():
            printed[name].append(translate_oid(mibs, env, module, opt, oid))
    # Debian's stock snmptrapd ("mibs :"): no module at all.
    for name, oid in oids.items():
        p = run(["snmptranslate", "-M", mibs, "-m", "", oid], env=env)
        printed[name].append(p.stdout.strip())
    assert any(t.startswith("iso.3.6.1.4.1.8072") for t in printed["cupiServerStatusChanged"])
    for item in items:
        regex = re.compile(trap_regex(item))
        name = re.search(r"\\b(\w+)\\b$", regex.pattern).group(1)
        for other, forms in printed.items():
            for form in forms:
                # as the value of snmpTrapOID.0 in a trap record line
                line = "iso.3.6.1.6.3.1.1.4.1.0 %s\n" % form
                assert bool(regex.search(line)) == (other == name), (item["key"], form)
        # Longer OIDs and names, and the objects of the MIB, do not match.
        num = oids[name]
        for wrong in (num + "0", num + ".1", num[:-1] + "9", name + "X",
                      "iso.3.6.1.4.1.8072.9999.9999.25.1.1.1.2.1 \"cuc1\""):
            assert not regex.search("x %s\n" % wrong.lstrip(".")), (item["key"], wrong)


def translate_oid(mibs, env, module, opt, oid):
    p = run(["snmptranslate", "-M", mibs, "-m", module, opt, oid], env=env)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()
