"""A reader for the SMIv2 text of one MIB module, just enough for the
generators under contrib/: it knows OBJECT-TYPE, NOTIFICATION-TYPE,
MODULE-IDENTITY, OBJECT IDENTIFIER assignments and the group and compliance
macros (skipped), and resolves OIDs inside the module from one imported
anchor given by the caller.

It reads the MIB text itself rather than asking net-snmp or libsmi, so that
generating needs no IETF base MIBs; the tests check the result against
net-snmp's own parser.

    mib = read_module(Path("mib/CUPI-SMTP-MIB.txt"),
                      anchors={"netSnmpPlaypen": "1.3.6.1.4.1.8072.9999.9999"})
    mib.objects["cupiServerStatus"].oid          -> "1.3.6...25.1.1.1.4"
    mib.objects["cupiServerStatus"].enums        -> [("unknown", 1), ...]
"""

import re
from dataclasses import dataclass, field

_TOKEN = re.compile(r'"[^"]*"|::=|\.\.|[A-Za-z][A-Za-z0-9-]*|-?\d+|[{}(),;|]')
_MACROS = ("OBJECT-TYPE", "NOTIFICATION-TYPE", "MODULE-IDENTITY", "OBJECT-IDENTITY",
           "OBJECT-GROUP", "NOTIFICATION-GROUP", "MODULE-COMPLIANCE", "AGENT-CAPABILITIES")
# Clauses of OBJECT-TYPE that end SYNTAX.
_AFTER_SYNTAX = ("UNITS", "MAX-ACCESS", "ACCESS", "STATUS")


@dataclass
class Node:
    name: str
    macro: str                      # OBJECT-TYPE, NOTIFICATION-TYPE, ..., or "OBJECT IDENTIFIER"
    parent: str = ""
    arc: int = 0
    oid: str = ""
    syntax: str = ""                # the base type or TC name: INTEGER, DisplayString, ...
    enums: list = field(default_factory=list)   # [(label, number)]
    units: str = ""
    access: str = ""
    description: str = ""
    index: list = field(default_factory=list)
    augments: str = ""
    objects: list = field(default_factory=list)  # NOTIFICATION-TYPE OBJECTS
    last_updated: str = ""


@dataclass
class Module:
    name: str
    objects: dict                    # name -> Node, in the order of the text

    def children(self, parent):
        return sorted((n for n in self.objects.values() if n.parent == parent),
                      key=lambda n: n.arc)


def _strip_comments(text):
    """Removes ASN.1 comments ("--" to the end of the line or to the next
    "--"), leaving quoted strings alone."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            j = text.index('"', i + 1)
            out.append(text[i:j + 1])
            i = j + 1
        elif text.startswith("--", i):
            j = i + 2
            while j < n and text[j] != "\n" and not text.startswith("--", j):
                j += 1
            i = j + 2 if text.startswith("--", j) else j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _unquote(tok):
    """The text of a quoted DESCRIPTION, with the MIB's line layout undone."""
    body = tok[1:-1]
    paras = re.split(r"\n\s*\n", body)
    return "\n\n".join(" ".join(p.split()) for p in paras).strip()


def _braced(toks, i):
    """(tokens between the "{" at toks[i] and its match, index after it)."""
    assert toks[i] == "{", toks[i:i + 3]
    depth, j = 0, i
    while True:
        if toks[j] == "{":
            depth += 1
        elif toks[j] == "}":
            depth -= 1
            if depth == 0:
                return toks[i + 1:j], j + 1
        j += 1


def _parse_clauses(node, body):
    i = 0
    while i < len(body):
        t = body[i]
        if t == "SYNTAX":
            j = i + 1
            while j < len(body) and body[j] not in _AFTER_SYNTAX:
                j += 1
            syn = body[i + 1:j]
            node.syntax = "SEQUENCE OF" if syn[:2] == ["SEQUENCE", "OF"] else syn[0]
            if len(syn) > 1 and syn[1] == "{":
                inner, _ = _braced(syn, 1)
                node.enums = [(inner[k], int(inner[k + 2])) for k in range(len(inner))
                              if k + 3 < len(inner) and inner[k + 1] == "(" and inner[k + 3] == ")"]
            i = j
        elif t == "UNITS":
            node.units = body[i + 1][1:-1]
            i += 2
        elif t in ("MAX-ACCESS", "ACCESS"):
            node.access = body[i + 1]
            i += 2
        elif t == "DESCRIPTION":
            node.description = _unquote(body[i + 1])
            i += 2
        elif t == "LAST-UPDATED":
            node.last_updated = body[i + 1][1:-1]
            i += 2
        elif t in ("INDEX", "AUGMENTS", "OBJECTS") and i + 1 < len(body) and body[i + 1] == "{":
            inner, i = _braced(body, i + 1)
            names = [x for x in inner if x not in (",", "IMPLIED")]
            if t == "INDEX":
                node.index = names
            elif t == "AUGMENTS":
                node.augments = names[0]
            else:
                node.objects = names
        elif t == "{":
            _, i = _braced(body, i)
        else:
            i += 1


def read_module(path, anchors):
    """Reads the module in path. anchors: {imported name: dotted OID} for the
    parents the module's root hangs from."""
    toks = _TOKEN.findall(_strip_comments(path.read_text()))
    assert toks[1:3] == ["DEFINITIONS", "::="], "not a MIB module: %s" % path
    module = Module(toks[0], {})
    i = toks.index("BEGIN") + 1
    if "IMPORTS" in toks[i:i + 1]:
        i = toks.index(";", i) + 1
    while i < len(toks) and toks[i] != "END":
        name = toks[i]
        if i + 1 < len(toks) and toks[i + 1] in _MACROS:
            macro = toks[i + 1]
            j = toks.index("::=", i)
            node = Node(name, macro)
            _parse_clauses(node, toks[i + 2:j])
        elif toks[i + 1:i + 4] == ["OBJECT", "IDENTIFIER", "::="]:
            node = Node(name, "OBJECT IDENTIFIER")
            j = i + 3
        else:
            # A type assignment (SEQUENCE, TEXTUAL-CONVENTION): not a node.
            j = toks.index("::=", i + 1)
            if toks[j + 1] != "SEQUENCE":
                raise ValueError("%s: unsupported assignment %s" % (name, toks[j + 1]))
            _, i = _braced(toks, j + 2)
            continue
        value, i = _braced(toks, j + 1)
        assert len(value) == 2, "%s: only { parent arc } values are supported" % name
        node.parent, node.arc = value[0], int(value[1])
        module.objects[name] = node

    def resolve(n):
        if n.oid:
            return n.oid
        if n.parent in anchors:
            base = anchors[n.parent]
        else:
            assert n.parent in module.objects, "%s: unknown parent %s" % (n.name, n.parent)
            base = resolve(module.objects[n.parent])
        n.oid = "%s.%d" % (base, n.arc)
        return n.oid

    for n in module.objects.values():
        resolve(n)
    return module
