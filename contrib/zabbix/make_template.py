#!/usr/bin/env python3
"""Writes the Zabbix 6.0 template for CUPI-SMTP-MIB (YAML export format)
from the MIB text.

    contrib/zabbix/make_template.py [--mib mib/CUPI-SMTP-MIB.txt] [-o FILE]

Default output: contrib/zabbix/template_cupi_smtp_snmp.yaml, which is
committed; run this again after the MIB changes (a test fails while the
committed file differs from what this script makes).

What the template holds, all derived from the MIB:
- a low-level discovery rule over cupiServerTable ({#SNMPINDEX}, and
  {#CUPI.NAME}, {#CUPI.URL} from cupiServerName and cupiServerUrl);
- an SNMP item prototype for every readable column of cupiServerTable and
  of every table that AUGMENTS it, except write-only columns (the MIB says
  "write-only" in their DESCRIPTION: the smart-host password reads empty,
  so an item for it would only ever hold "");
- value maps for the enumerations and TruthValue;
- trigger prototypes: cupiServerStatus other than ok, cupiServerDataAge
  above {$CUPI.DATA_AGE.MAX}, and cupiServerConfigChanges changing;
- one SNMP trap item per NOTIFICATION-TYPE, matching the notification's
  name or its numeric OID (whichever the trap receiver writes).

Output is deterministic: UUIDs are derived from the element's identity,
the date from the MIB's LAST-UPDATED.
"""

import argparse
import hashlib
import re
import sys
import uuid
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from smi_reader import read_module  # noqa: E402

HERE = Path(__file__).resolve().parent
DEFAULT_MIB = HERE.parent.parent / "mib" / "CUPI-SMTP-MIB.txt"
DEFAULT_OUT = HERE / "template_cupi_smtp_snmp.yaml"

# The one import the module's root hangs from (NET-SNMP-MIB).
ANCHORS = {"netSnmpPlaypen": "1.3.6.1.4.1.8072.9999.9999"}
SERVER_TABLE = "cupiServerTable"

TEMPLATE = "CUPI SMTP by SNMP"
GROUP = "Templates/Applications"
DATA_AGE_MACRO = "{$CUPI.DATA_AGE.MAX}"
DATA_AGE_DEFAULT = "300"

# TCs imported from SNMPv2-TC whose values the template maps.
TC_ENUMS = {"TruthValue": [("true", 1), ("false", 2)]}
TEXT_SYNTAX = ("DisplayString", "OCTET")
# MIB UNITS -> (Zabbix units, multiplier to get there or None).
UNITS = {"seconds": ("s", None), "minutes": ("s", "60"), "kilobytes": ("B", "1024")}
# Per table: how often its columns are polled, and the component tag.
TABLE_POLL = {SERVER_TABLE: ("1m", "cupi-server")}
CONFIG_POLL = ("5m", None)

# Trigger prototypes: column -> (name, priority, expression builder, extra).
TRIGGERS = {
    "cupiServerStatus": lambda m, ref: {
        "expression": "last(%s)<>%d" % (ref, dict(m.objects["cupiServerStatus"].enums)["ok"]),
        "name": "{#CUPI.NAME}: CUPI status is not ok",
        "opdata": "Status: {ITEM.LASTVALUE1}",
        "priority": "HIGH",
        "description": "The agent's last exchange with this server's CUPI interface "
                       "failed; cupiServerLastError says why. The values served are "
                       "the last ones read (see the data age).",
    },
    "cupiServerDataAge": lambda m, ref: {
        "expression": "last(%s)>%s" % (ref, DATA_AGE_MACRO),
        "name": "{#CUPI.NAME}: SMTP configuration data older than %s s" % DATA_AGE_MACRO,
        "opdata": "Age: {ITEM.LASTVALUE1}",
        "priority": "WARNING",
        "description": "The values served for this server were read from CUPI longer "
                       "ago than %s seconds (4294967295: never read)." % DATA_AGE_MACRO,
    },
    "cupiServerConfigChanges": lambda m, ref: {
        "expression": "change(%s)>0" % ref,
        "name": "{#CUPI.NAME}: SMTP configuration changed",
        "priority": "INFO",
        "manual_close": "YES",
        "description": "The agent saw a change of this server's SMTP server or SMTP "
                       "client configuration (made through SNMP or elsewhere). "
                       "Acknowledge to close.",
    },
}


def uid(*parts):
    """A stable UUIDv4-shaped id (Zabbix 6.0 wants 32 hex digits, version 4)."""
    digest = hashlib.sha256("\0".join(("cupi-snmp zabbix",) + parts).encode()).digest()
    return uuid.UUID(bytes=digest[:16], version=4).hex


def words(mib_name):
    """cupiSmtpServerMaxConnections -> 'SMTP server max connections'."""
    parts = re.findall(r"[A-Z][a-z0-9]*|[a-z0-9]+", mib_name[len("cupi"):])
    acronyms = {"smtp": "SMTP", "url": "URL", "tls": "TLS"}
    text = " ".join(acronyms.get(p.lower(), p.lower()) for p in parts)
    return text[:1].upper() + text[1:]


def valuemap_name(node):
    return "CUPI-SMTP-MIB::%s" % node.name if node.enums else "SNMPv2-TC::%s" % node.syntax


def enums_of(node):
    return node.enums or TC_ENUMS.get(node.syntax, [])


def item_ref(key):
    return "/%s/%s" % (TEMPLATE, key)


def column_prototype(mib, node, poll, tag):
    key = "%s[{#SNMPINDEX}]" % node.name
    text = node.syntax in TEXT_SYNTAX
    item = {
        "uuid": uid("item", node.name),
        "name": "{#CUPI.NAME}: %s" % words(node.name),
        "type": "SNMP_AGENT",
        "snmp_oid": "%s.{#SNMPINDEX}" % node.oid,
        "key": key,
        "delay": poll,
        "history": "7d",
    }
    if text:
        item["trends"] = "0"
        item["value_type"] = "CHAR"
    units = UNITS.get(node.units)
    if units:
        item["units"] = units[0]
    item["description"] = "MIB: CUPI-SMTP-MIB::%s\n%s" % (node.name, node.description)
    if units and units[1]:
        item["preprocessing"] = [{"type": "MULTIPLIER", "parameters": [units[1]]}]
    if enums_of(node):
        item["valuemap"] = {"name": valuemap_name(node)}
    item["tags"] = [{"tag": "component", "value": tag}, {"tag": "server", "value": "{#CUPI.NAME}"}]
    if node.name in TRIGGERS:
        trig = TRIGGERS[node.name](mib, item_ref(key))
        item["trigger_prototypes"] = [dict({"uuid": uid("trigger", node.name)}, **trig)]
    return item


def trap_item(node):
    # Receivers write the trap OID by name when they load the MIB, else as
    # numbers; the regular expression takes either, and no longer OID.
    regex = r"\b(%s|\.?%s)([^.0-9]|$)" % (node.name, node.oid.replace(".", r"\."))
    return {
        "uuid": uid("trap", node.name),
        "name": "Notification %s" % node.name,
        "type": "SNMP_TRAP",
        "key": 'snmptrap["%s"]' % regex,
        "delay": "0",
        "history": "30d",
        "trends": "0",
        "value_type": "LOG",
        "description": "MIB: CUPI-SMTP-MIB::%s (%s)\nVarbinds: %s.\n%s" % (
            node.name, node.oid, ", ".join(node.objects), node.description),
        "tags": [{"tag": "component", "value": "notification"}],
    }


def build(mib_path):
    mib = read_module(mib_path, ANCHORS)
    objs = mib.objects
    server_entry = mib.children(SERVER_TABLE)[0]
    tables = [(objs[SERVER_TABLE], server_entry)]
    for node in objs.values():
        if node.augments == server_entry.name:
            tables.append((objs[node.parent], node))

    prototypes, valuemaps = [], {}
    for table, entry in tables:
        poll, tag = TABLE_POLL.get(table.name, CONFIG_POLL)
        if tag is None:
            tag = words(table.name[:-len("Table")]).lower().replace(" ", "-")
        for col in mib.children(entry.name):
            if col.access not in ("read-only", "read-write"):
                continue
            if "write-only" in col.description:
                continue
            prototypes.append(column_prototype(mib, col, poll, tag))
            if enums_of(col):
                valuemaps[valuemap_name(col)] = enums_of(col)

    name_oid, url_oid = objs["cupiServerName"].oid, objs["cupiServerUrl"].oid
    rule = {
        "uuid": uid("discovery", SERVER_TABLE),
        "name": "CUPI servers",
        "type": "SNMP_AGENT",
        "snmp_oid": "discovery[{#CUPI.NAME},%s,{#CUPI.URL},%s]" % (name_oid, url_oid),
        "key": "cupi.server.discovery",
        "delay": "1h",
        "description": "One entry per Unity Connection server the agent manages "
                       "(rows of cupiServerTable, {#SNMPINDEX} = cupiServerIndex).",
        "item_prototypes": prototypes,
    }
    notif_root = objs["cupiSmtpNotifications"].name
    traps = [trap_item(n) for n in objs.values()
             if n.macro == "NOTIFICATION-TYPE" and n.parent == notif_root]

    root = next(n for n in objs.values() if n.macro == "MODULE-IDENTITY")
    lu = root.last_updated
    date = "%s-%s-%sT%s:%s:00Z" % (lu[0:4], lu[4:6], lu[6:8], lu[8:10], lu[10:12])
    template = {
        "uuid": uid("template", TEMPLATE),
        "template": TEMPLATE,
        "name": TEMPLATE,
        "description": (
            "SMTP server and SMTP client configuration of Cisco Unity Connection servers, "
            "through cupi-snmp-agent (%s, %s).\n"
            "Generated by contrib/zabbix/make_template.py from the MIB; do not edit by hand.\n"
            "Set the host's SNMP interface to the snmpd that carries the agent and "
            "{$SNMP_COMMUNITY}. Trap items need Zabbix's SNMP trap receiver "
            "(snmptrapd + zabbix_trap_receiver.pl or SNMPTT)." % (mib.name, root.oid)),
        "groups": [{"name": GROUP}],
        "items": traps,
        "discovery_rules": [rule],
        "macros": [{"macro": DATA_AGE_MACRO, "value": DATA_AGE_DEFAULT,
                    "description": "Seconds after which values not refreshed from CUPI "
                                   "raise a problem."}],
        "valuemaps": [{
            "uuid": uid("valuemap", name),
            "name": name,
            "mappings": [{"value": str(num), "newvalue": label} for label, num in enums],
        } for name, enums in sorted(valuemaps.items())],
    }
    return {"zabbix_export": {
        "version": "6.0",
        "date": date,
        "groups": [{"uuid": uid("group", GROUP), "name": GROUP}],
        "templates": [template],
    }}


class _Dumper(yaml.SafeDumper):
    """Multi-line text as literal blocks, as Zabbix's own exports do."""


_Dumper.add_representer(str, lambda d, s: d.represent_scalar(
    "tag:yaml.org,2002:str", s, style="|" if "\n" in s else None))


def render(doc):
    header = ("# Zabbix 6.0 template for CUPI-SMTP-MIB. Generated by "
              "contrib/zabbix/make_template.py\n# from mib/CUPI-SMTP-MIB.txt: "
              "do not edit; run the script after a MIB change.\n")
    return header + yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                              width=100, default_flow_style=False)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mib", type=Path, default=DEFAULT_MIB)
    ap.add_argument("-o", "--output", type=Path, default=DEFAULT_OUT,
                    help="output file, '-' for stdout")
    args = ap.parse_args()
    text = render(build(args.mib))
    if str(args.output) == "-":
        sys.stdout.write(text)
    else:
        args.output.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
