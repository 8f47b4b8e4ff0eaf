#!/usr/bin/env python3
"""Writes the Zabbix 6.0 template for CUPI-SMTP-MIB (YAML export format)
from the MIB text.

    contrib/zabbix/make_template.py [--mib mib/CUPI-SMTP-MIB.txt] [-o FILE]

Default output: contrib/zabbix/template_cupi_smtp_snmp.yaml, which is
committed; run this again after the MIB changes (a test fails while the
committed file differs from what this script makes).

What the template holds, all derived from the MIB:
- a low-level discovery rule over cupiServerTable ({#SNMPINDEX}, and
  {#CUPI.NAME}, {#CUPI.URL} from cupiServerName and cupiServerUrl), with
  filter macros on the name, and an empty answer (agent gone: snmpd then
  has no rows) rejected so that an outage does not mark every item lost;
- an SNMP item prototype for every readable column of cupiServerTable and
  of every table that AUGMENTS it, except write-only columns (the MIB says
  "write-only" in their DESCRIPTION: the smart-host password reads empty,
  so an item for it would only ever hold ""); Counter32 columns that count
  requests become rates, TimeStamp columns seconds of uptime, text and
  configuration columns are stored only when they change (or daily);
- value maps for the enumerations and TruthValue;
- the agent's scalar cupiChangeHistorySize polled outside discovery, so
  that nodata() on it says when the agent behind snmpd is silent, and
  Zabbix's SNMP availability of the host for snmpd itself;
- triggers: SNMP unavailable <- agent silent <- (per server) status not ok
  <- data age above {$CUPI.DATA_AGE.MAX} (each depends on the one before);
  a configuration change (a new cupiServerLastChangeIndex, or the
  notification) opens a problem that stays until an operator closes it;
- one SNMP trap item per NOTIFICATION-TYPE, matching the notification's OID
  in every form snmptrapd writes it (numeric, "iso.3.6...", through
  NET-SNMP-MIB or SNMPv2-SMI names, or the notification's own name), and
  snmptrap.fallback for the rest;
- graph prototypes and a template dashboard.

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
ENTERPRISES = "1.3.6.1.4.1"
SERVER_TABLE = "cupiServerTable"
# The scalar whose silence means the agent (not snmpd) is gone.
HEARTBEAT_SCALAR = "cupiChangeHistorySize"

TEMPLATE = "CUPI SMTP by SNMP"
GROUP = "Templates/Applications"
MACROS = [
    ("{$CUPI.DATA_AGE.MAX}", "300",
     "Seconds after which values not refreshed from CUPI raise a problem."),
    ("{$CUPI.NODATA.TIMEOUT}", "5m",
     "How long the agent may stay silent (snmpd answers, the agent's objects do not) "
     "before a problem is raised."),
    ("{$CUPI.AGENT.INTERVAL}", "1m",
     "How often the agent's own object (%s) is polled; keep {$CUPI.NODATA.TIMEOUT} "
     "a few times longer." % "cupiChangeHistorySize"),
    ("{$SNMP.TIMEOUT}", "5m",
     "How long snmpd may not answer before a problem is raised."),
    ("{$CUPI.SERVER.NAME.MATCHES}", ".*",
     "Discover only servers (cupiServerName) matching this regular expression."),
    ("{$CUPI.SERVER.NAME.NOT_MATCHES}", "CHANGE_IF_NEEDED",
     "Do not discover servers (cupiServerName) matching this regular expression."),
]
DATA_AGE_MACRO = "{$CUPI.DATA_AGE.MAX}"
TEXT_HEARTBEAT = "1d"

# TCs imported from SNMPv2-TC whose values the template maps.
TC_ENUMS = {"TruthValue": [("true", 1), ("false", 2)]}
TEXT_SYNTAX = ("DisplayString", "OCTET")
# MIB UNITS -> (Zabbix units, multiplier to get there or None).
UNITS = {"seconds": ("s", None), "minutes": ("s", "60"), "kilobytes": ("B", "1024")}
# Counters shown as a rate per second (name suffix, units).
RATES = {"cupiServerRequests": "CUPI requests per second",
         "cupiServerFailures": "CUPI failed requests per second"}
# Per table: how often its columns are polled, the component tag, and
# whether values are kept only when they change.
TABLE_POLL = {SERVER_TABLE: ("1m", "cupi-server", False)}
CONFIG_POLL = ("5m", None, True)


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


def ref(key):
    return "/%s/%s" % (TEMPLATE, key)


def proto_key(name):
    return "%s[{#SNMPINDEX}]" % name


# --- triggers ---------------------------------------------------------------
# Each builder gets the MIB; the expression names items by key. "depends"
# names another trigger of this table (its name and expression are filled
# in when the template is assembled).

SNMP_AVAILABLE_KEY = "zabbix[host,snmp,available]"

HOST_TRIGGERS = {
    "snmp": lambda m: {
        "expression": "max(%s,{$SNMP.TIMEOUT})=0" % ref(SNMP_AVAILABLE_KEY),
        "name": "CUPI SMTP: no SNMP data collection",
        "opdata": "Current state: {ITEM.LASTVALUE1}",
        "priority": "WARNING",
        "description": "snmpd on this host has not answered Zabbix's SNMP requests for "
                       "{$SNMP.TIMEOUT}: check that snmpd runs and the host's SNMP interface "
                       "(address, port, community).",
    },
    "agent": lambda m: {
        "expression": "nodata(%s,{$CUPI.NODATA.TIMEOUT})=1" % ref(HEARTBEAT_SCALAR),
        "name": "CUPI SMTP: cupi-snmp-agent is not answering",
        "priority": "AVERAGE",
        "description": "snmpd answers but the agent's objects (%s) have returned no value "
                       "for {$CUPI.NODATA.TIMEOUT}: cupi-snmp-agent is stopped or not "
                       "connected to snmpd over AgentX. Every other item of this template "
                       "is then unsupported." % HEARTBEAT_SCALAR,
        "depends": "snmp",
    },
}


def trap_trigger(notif):
    return {
        "expression": "length(last(%s))>0" % ref(trap_key(notif)),
        "name": "CUPI SMTP: %s configuration changed (notification)" % (
            "SMTP server" if "Server" in notif.name[len("cupiSmtp"):][:6] else "SMTP client"),
        "opdata": "{ITEM.LASTVALUE1}",
        "priority": "INFO",
        "recovery_mode": "NONE",
        "manual_close": "YES",
        "description": "The agent sent %s: a Unity Connection server's configuration "
                       "changed, through SNMP or elsewhere. The problem stays until an "
                       "operator closes it (Problems > Update > Close problem)." % notif.name,
    }


PROTOTYPE_TRIGGERS = {
    "status": lambda m: {
        "expression": "last(%s)<>%d" % (ref(proto_key("cupiServerStatus")),
                                       dict(m.objects["cupiServerStatus"].enums)["ok"]),
        "name": "{#CUPI.NAME}: CUPI status is not ok",
        "opdata": "Status: {ITEM.LASTVALUE1}",
        "priority": "HIGH",
        "description": "The agent's last exchange with this server's CUPI interface "
                       "failed; cupiServerLastError says why. The values served are "
                       "the last ones read (see the data age).",
        "depends": "agent",
        "item": "cupiServerStatus",
    },
    "data_age": lambda m: {
        "expression": "last(%s)>%s" % (ref(proto_key("cupiServerDataAge")), DATA_AGE_MACRO),
        "name": "{#CUPI.NAME}: SMTP configuration data older than %s s" % DATA_AGE_MACRO,
        "opdata": "Age: {ITEM.LASTVALUE1}",
        "priority": "WARNING",
        "description": "The values served for this server were read from CUPI longer "
                       "ago than %s seconds (4294967295: never read)." % DATA_AGE_MACRO,
        "depends": "status",
        "item": "cupiServerDataAge",
    },
    "change": lambda m: {
        "expression": "change(%s)>0" % ref(proto_key("cupiServerLastChangeIndex")),
        "name": "{#CUPI.NAME}: SMTP configuration changed",
        "opdata": "Change index: {ITEM.LASTVALUE1}",
        "priority": "INFO",
        "recovery_mode": "NONE",
        "manual_close": "YES",
        "description": "cupiServerLastChangeIndex moved: the agent saw a change of this "
                       "server's SMTP server or SMTP client configuration (made through "
                       "SNMP or elsewhere); cupiChangeTable (or `cupictl history`) lists "
                       "it. The problem stays until an operator closes it (Problems > "
                       "Update > Close problem). It is not raised while the change's "
                       "notification problem is open, so a change seen both ways is "
                       "one problem.",
        "depends_traps": True,
        "item": "cupiServerLastChangeIndex",
    },
}


def trigger_ref(trig):
    return {"name": trig["name"], "expression": trig["expression"]}


def finish_trigger(key, trig, built):
    """The export form: a uuid, dependencies as name + expression."""
    out = {"uuid": uid("trigger", key)}
    deps = []
    if trig.get("depends"):
        deps.append(trigger_ref(built[trig["depends"]]))
    if trig.get("depends_traps"):
        deps += [trigger_ref(built[k]) for k in sorted(built) if k.startswith("trap:")]
    for field in ("expression", "name", "opdata", "priority", "recovery_mode", "manual_close",
                  "description"):
        if field in trig:
            out[field] = trig[field]
    if deps:
        out["dependencies"] = deps
    out["tags"] = [{"tag": "scope", "value": "availability" if key in ("snmp", "agent")
                    else "notice" if "change" in key or key.startswith("trap:")
                    else "performance"}]
    return out


# --- items ------------------------------------------------------------------

def column_prototype(node, poll, tag, heartbeat):
    key = proto_key(node.name)
    text = node.syntax in TEXT_SYNTAX
    item = {
        "uuid": uid("item", node.name),
        "name": "{#CUPI.NAME}: %s" % RATES.get(node.name, words(node.name)),
        "type": "SNMP_AGENT",
        "snmp_oid": "%s.{#SNMPINDEX}" % node.oid,
        "key": key,
        "delay": poll,
        "history": "7d",
    }
    preprocessing = []
    units = UNITS.get(node.units)
    if text:
        item["trends"] = "0"
        item["value_type"] = "CHAR"
    elif node.name in RATES:
        item["value_type"] = "FLOAT"
        units = ("rps", None)
        preprocessing.append({"type": "CHANGE_PER_SECOND", "parameters": [""]})
    elif node.syntax == "TimeStamp":
        # sysUpTime (hundredths of a second) at the event: shown as uptime.
        item["value_type"] = "FLOAT"
        units = ("uptime", "0.01")
    if units:
        item["units"] = units[0]
    item["description"] = "MIB: CUPI-SMTP-MIB::%s\n%s" % (node.name, node.description)
    if units and units[1]:
        preprocessing.append({"type": "MULTIPLIER", "parameters": [units[1]]})
    if text or heartbeat:
        preprocessing.append({"type": "DISCARD_UNCHANGED_HEARTBEAT",
                              "parameters": [TEXT_HEARTBEAT]})
    if preprocessing:
        item["preprocessing"] = preprocessing
    if enums_of(node):
        item["valuemap"] = {"name": valuemap_name(node)}
    item["tags"] = [{"tag": "component", "value": tag}, {"tag": "server", "value": "{#CUPI.NAME}"}]
    return item


def trap_key(node):
    return 'snmptrap["%s"]' % trap_regex(node)


def trap_regex(node):
    """The notification's OID in every form snmptrapd prints it: numeric
    (with or without the leading dot), "iso.3.6.1...", from SNMPv2-SMI
    ("enterprises.8072..." or "SNMPv2-SMI::enterprises.8072..."), from
    NET-SNMP-MIB ("NET-SNMP-MIB::netSnmpPlaypen.25.0.N", also in -Of's
    "...netSnmpPlaypen.25.0.N"), and by its own name (with or without
    "CUPI-SMTP-MIB::"). No longer OID (".25.0.10" for ".25.0.1") and no
    longer name matches."""
    playpen = ANCHORS["netSnmpPlaypen"]
    assert node.oid.startswith(playpen + ".") and playpen.startswith(ENTERPRISES + ".")
    under_playpen = node.oid[len(playpen) + 1:]
    under_ent = node.oid[len(ENTERPRISES) + 1:]
    esc = lambda s: s.replace(".", r"\.")  # noqa: E731
    end = r"(?![.0-9])"
    return "|".join([
        r"\b(1\.3\.6\.1\.4\.1|iso\.3\.6\.1\.4\.1|enterprises)\.%s%s" % (esc(under_ent), end),
        r"\bnetSnmpPlaypen\.%s%s" % (esc(under_playpen), end),
        r"\b%s\b" % node.name,
    ])


def trap_item(node):
    return {
        "uuid": uid("trap", node.name),
        "name": "Notification %s" % node.name,
        "type": "SNMP_TRAP",
        "key": trap_key(node),
        "delay": "0",
        "history": "30d",
        "trends": "0",
        "value_type": "LOG",
        "logtimefmt": "yyyy-MM-dd hh:mm:ss",
        "description": "MIB: CUPI-SMTP-MIB::%s (%s)\nVarbinds: %s.\n%s" % (
            node.name, node.oid, ", ".join(node.objects), node.description),
        "tags": [{"tag": "component", "value": "notification"}],
    }


def fallback_item():
    return {
        "uuid": uid("trap", "fallback"),
        "name": "SNMP traps (fallback)",
        "type": "SNMP_TRAP",
        "key": "snmptrap.fallback",
        "delay": "0",
        "history": "7d",
        "trends": "0",
        "value_type": "LOG",
        "logtimefmt": "yyyy-MM-dd hh:mm:ss",
        "description": "Every notification from this host that no other SNMP trap item "
                       "matched (other MIBs, or a receiver that writes the OID another way).",
        "tags": [{"tag": "component", "value": "notification"}],
    }


def host_items(mib):
    node = mib.objects[HEARTBEAT_SCALAR]
    return [
        {
            "uuid": uid("item", SNMP_AVAILABLE_KEY),
            "name": "SNMP agent availability",
            "type": "INTERNAL",
            "key": SNMP_AVAILABLE_KEY,
            "history": "7d",
            "description": "Zabbix's view of the host's SNMP interface (snmpd): 0 not "
                           "available, 1 available, 2 unknown.",
            "valuemap": {"name": "zabbix.host.available"},
            "tags": [{"tag": "component", "value": "health"}],
        },
        {
            "uuid": uid("item", HEARTBEAT_SCALAR),
            "name": "CUPI SMTP: %s" % words(node.name).lower().capitalize(),
            "type": "SNMP_AGENT",
            "snmp_oid": "%s.0" % node.oid,
            "key": HEARTBEAT_SCALAR,
            "delay": "{$CUPI.AGENT.INTERVAL}",
            "history": "7d",
            "description": "MIB: CUPI-SMTP-MIB::%s\n%s\nServed by the agent itself: while "
                           "it has no value the agent is not answering." % (
                               node.name, node.description),
            "tags": [{"tag": "component", "value": "health"}],
        },
    ]


def graph(name, keys, colors, prototype=True):
    return {
        "uuid": uid("graph", name),
        "name": name,
        "graph_items": [dict({"sortorder": str(i)} if i else {}, color=color,
                             item={"host": TEMPLATE, "key": key})
                        for i, (key, color) in enumerate(zip(keys, colors))],
    }


GRAPHS = [
    ("{#CUPI.NAME}: CUPI requests and failures",
     [proto_key("cupiServerRequests"), proto_key("cupiServerFailures")], ["199C0D", "F63100"]),
    ("{#CUPI.NAME}: SMTP configuration data age",
     [proto_key("cupiServerDataAge")], ["2774A4"]),
]


def dashboard():
    widgets = []
    for i, (name, _, _) in enumerate(GRAPHS):
        widgets.append({
            "type": "GRAPH_PROTOTYPE",
            "name": name.split(": ", 1)[1],
            "x": "0" if i % 2 == 0 else "12",
            "y": str(5 * (i // 2)),
            "width": "12",
            "height": "5",
            "fields": [
                {"type": "INTEGER", "name": "columns", "value": "1"},
                {"type": "GRAPH_PROTOTYPE", "name": "graphid",
                 "value": {"host": TEMPLATE, "name": name}},
            ],
        })
    return {"uuid": uid("dashboard", "CUPI SMTP"), "name": "CUPI SMTP",
            "pages": [{"widgets": widgets}]}


def build(mib_path):
    mib = read_module(mib_path, ANCHORS)
    objs = mib.objects
    server_entry = mib.children(SERVER_TABLE)[0]
    tables = [(objs[SERVER_TABLE], server_entry)]
    for node in objs.values():
        if node.augments == server_entry.name:
            tables.append((objs[node.parent], node))

    prototypes, valuemaps = [], {"zabbix.host.available": [
        ("not available", 0), ("available", 1), ("unknown", 2)]}
    for table, entry in tables:
        poll, tag, heartbeat = TABLE_POLL.get(table.name, CONFIG_POLL)
        if tag is None:
            tag = words(table.name[:-len("Table")]).lower().replace(" ", "-")
        for col in mib.children(entry.name):
            if col.access not in ("read-only", "read-write"):
                continue
            if "write-only" in col.description:
                continue
            prototypes.append(column_prototype(col, poll, tag, heartbeat))
            if enums_of(col):
                valuemaps[valuemap_name(col)] = enums_of(col)

    notif_root = objs["cupiSmtpNotifications"].name
    notifs = [n for n in objs.values()
              if n.macro == "NOTIFICATION-TYPE" and n.parent == notif_root]
    change_notifs = [n for n in notifs if n.name.endswith("ConfigChanged")]

    # Triggers in dependency order; "built" keeps their final name/expression.
    built, host_triggers, proto_triggers = {}, [], {}
    for key, make in HOST_TRIGGERS.items():
        trig = make(mib)
        built[key] = trig
        host_triggers.append(finish_trigger(key, trig, built))
    for n in change_notifs:
        key = "trap:" + n.name
        trig = trap_trigger(n)
        built[key] = trig
        host_triggers.append(finish_trigger(key, trig, built))
    for key, make in PROTOTYPE_TRIGGERS.items():
        trig = make(mib)
        built[key] = trig
        proto_triggers.setdefault(trig["item"], []).append(finish_trigger(key, trig, built))
    for item in prototypes:
        name = item["key"].split("[", 1)[0]
        if name in proto_triggers:
            item["trigger_prototypes"] = proto_triggers[name]

    name_oid, url_oid = objs["cupiServerName"].oid, objs["cupiServerUrl"].oid
    rule = {
        "uuid": uid("discovery", SERVER_TABLE),
        "name": "CUPI servers",
        "type": "SNMP_AGENT",
        "snmp_oid": "discovery[{#CUPI.NAME},%s,{#CUPI.URL},%s]" % (name_oid, url_oid),
        "key": "cupi.server.discovery",
        "delay": "1h",
        "filter": {
            "evaltype": "AND",
            "conditions": [
                {"macro": "{#CUPI.NAME}", "value": "{$CUPI.SERVER.NAME.MATCHES}",
                 "formulaid": "A"},
                {"macro": "{#CUPI.NAME}", "value": "{$CUPI.SERVER.NAME.NOT_MATCHES}",
                 "operator": "NOT_MATCHES_REGEX", "formulaid": "B"},
            ],
        },
        "description": "One entry per Unity Connection server the agent manages "
                       "(rows of cupiServerTable, {#SNMPINDEX} = cupiServerIndex). An empty "
                       "table means the agent is not answering (it always has at least one "
                       "server): that answer is rejected, so an outage does not mark the "
                       "servers' items as lost.",
        "item_prototypes": prototypes,
        "graph_prototypes": [graph(n, k, c) for n, k, c in GRAPHS],
        "preprocessing": [{
            "type": "NOT_MATCHES_REGEX",
            "parameters": [r"^\s*\[\s*\]\s*$"],
            "error_handler": "CUSTOM_ERROR",
            "error_handler_params": "cupiServerTable is empty: cupi-snmp-agent is not answering",
        }],
    }
    traps = [trap_item(n) for n in notifs] + [fallback_item()]

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
            "{$SNMP_COMMUNITY}. Trap items need snmptrapd with the traphandle "
            "contrib/zabbix/cupi-zabbix-traps writing Zabbix's SNMPTrapperFile "
            "(StartSNMPTrapper=1); they match whether snmptrapd loads MIBs or not."
            % (mib.name, root.oid)),
        "groups": [{"name": GROUP}],
        "items": host_items(mib) + traps,
        "discovery_rules": [rule],
        "macros": [{"macro": m, "value": v, "description": d} for m, v, d in MACROS],
        "dashboards": [dashboard()],
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
        "triggers": host_triggers,
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
