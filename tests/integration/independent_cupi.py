#!/usr/bin/python3
"""An independent CUPI implementation of the two SMTP resources, written from
Cisco's CUPI SMTP configuration reference ("the CUPI reference") and
shared/spec/cupi-api-facts.md alone: no code, field table or codec of
libcupi / cupi-sim is used, so a bug that is symmetric in libcupi's encoder
and decoder shows up against it.

As a program (a subprocess started and stopped by its PID):

    independent_cupi.py --dir DIR --user USER --password-file FILE

creates DIR/cert.pem + DIR/key.pem with the openssl command line (self-signed,
CN=localhost, SAN IP:127.0.0.1 and DNS:localhost; clients use cert.pem as
their CA), listens on 127.0.0.1 with two free ports, writes DIR/ports.json
{"https": P, "control": C} when ready and serves until SIGTERM/SIGINT.

The CUPI side (HTTPS, HTTP/1.1 keep-alive):
  GET  /vmrest/smtpserver/serverconfigs, /vmrest/smtpclient/clientconfigs
       XML in the CUPI reference's layout (root SmtpServerConfiguration /
       SmtpClientConfiguration, the CUPI reference's element order, two-space indent,
       the blank lines the CUPI reference shows, smtpPassword always empty), or JSON
       when Accept asks for application/json: every value a string as in the
       seed (json mode "strings"), or native numbers/booleans with [] for an
       empty string (json mode "native", what CUPI may also do).
  PUT  the same paths: Content-Type application/xml or application/json
       (415 without / other), XML parsed with xml.etree.ElementTree (a DTD
       is refused), the root element must be the resource's; partial update,
       field names matched case-insensitively, unknown fields ignored;
       validation per the CUPI reference (400 + ErrorDetails); 200 for the server
       configuration, 204 for the client configuration.
  Basic authentication on every request (401, text/plain "Not Authorized").
  Cookie mode: no cookie at all (default) or a JSESSIONID (Path=/vmrest/) set
  when a request comes without a known session.

The control side (plain HTTP on 127.0.0.1, not CUPI; its requests are not
recorded):
  GET  /requests   every CUPI request so far: method, path, headers (the
                   Authorization header is reduced to "Basic <valid>",
                   "Basic <invalid>" or its scheme: no secret leaves this
                   process), body (text), status answered, auth ("valid",
                   "invalid", "missing"), cookie_session ("valid", "unknown",
                   None), conn (the client's address:port: one per TCP
                   connection).
  POST /clear      forget the recorded requests
  GET  /state      {"server": {...}, "client": {...}} (canonical names, strings)
  PUT  /state      {"server": {...}, "client": {...}} partial, applied as is
                   (an external change made on the server itself)
  PUT  /mode       {"json": "strings"|"native", "cookie": bool,
                    "xml_declaration": bool (an <?xml ...?> line first),
                    "name_case": null|"upper"|"lower" (field names in GET
                    answers in that case), "extra_fields": bool (unknown
                    fields, nested ones too, in GET answers),
                    "chunked": bool (bodies sent with chunked transfer
                    encoding, in 100-byte chunks), "charset": bool
                    (";charset=UTF-8" after the media types),
                    "reject_put": null | {"status": 400, "message": "..."},
                    hostile answers, for the tests of what the client refuses and
                    what it must never repeat:
                    "raw_values": {field: base64 of raw bytes}: in GET answers
                    the field's value is exactly these bytes (XML: the element's
                    text; JSON: the whole value token, quotes included), so
                    out-of-range numbers, control characters, "\u0000" escapes
                    and invalid UTF-8 can be served,
                    "echo": null | {"status": 400, "format": "xml"|"json"|"text"}:
                    every CUPI request is answered with that status and a body
                    (ErrorDetails code and message, or plain text) echoing every
                    request header (Authorization included), the decoded
                    credential and the password,
                    "echo_value": null | field: GET answers carry that echo as
                    the field's value,
                    "echo_in_body": bool: GET answers carry the echo in unknown
                    fields}

IndependentCupi (below) starts and drives that process from pytest.
"""

import argparse
import base64
import json
import os
import re
import secrets
import signal
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

SERVER_PATH = "/vmrest/smtpserver/serverconfigs"
CLIENT_PATH = "/vmrest/smtpclient/clientconfigs"

# ---------------------------------------------------------------------------
# The two resources, from the CUPI reference: (payload name, kind, constraint)
#   kind "int": constraint (min, max) or a tuple of allowed values (enum)
#   kind "bool", "str"
# ---------------------------------------------------------------------------

INT32_MAX = 2147483647

SERVER_FIELDS = [
    ("Port", "int", {25, 587}),
    ("domainName", "str", None),
    ("maxNumberConnections", "int", (0, 50)),
    ("smtpClientThreads", "int", (0, 10)),
    ("maxMessageSizeKb", "int", (0, 50000)),
    ("maxNumberMessagesSession", "int", (0, 100)),
    ("maxNumberRecipients", "int", (0, 50000)),
    ("retryDeliveryTimeoutMin", "int", (0, INT32_MAX)),  # no range documented
    ("allowConnectionsFromUntrustedIpAddresses", "bool", None),
    ("requireAuthenticationFromUntrustedIpAddresses", "bool", None),
    ("requireTlsFromUntrustedIpAddresses", "int", {0, 1, 2}),
]

CLIENT_FIELDS = [
    ("smtpSmartHost", "str", None),
    ("isClientSecure", "bool", None),
    ("smtpPort", "int", {25, 587}),
    ("isAuthEnabled", "bool", None),
    ("smtpUsername", "str", None),
    ("smtpPassword", "str", None),  # write-only
]

WRITE_ONLY = {"smtpPassword"}

# The CUPI reference's example values (GET responses).
SEED_SERVER = {
    "Port": "587",
    "domainName": "ucbu-aricent-vm234.cisco.com",
    "maxNumberConnections": "20",
    "smtpClientThreads": "2",
    "maxMessageSizeKb": "10000",
    "maxNumberMessagesSession": "10",
    "maxNumberRecipients": "15000",
    "retryDeliveryTimeoutMin": "240",
    "allowConnectionsFromUntrustedIpAddresses": "true",
    "requireAuthenticationFromUntrustedIpAddresses": "true",
    "requireTlsFromUntrustedIpAddresses": "1",
}
SEED_CLIENT = {
    "smtpSmartHost": "outbound.cisco.com",
    "isClientSecure": "true",
    "smtpPort": "25",
    "isAuthEnabled": "true",
    "smtpUsername": "Admin",
    "smtpPassword": "",
}

RESOURCES = {
    SERVER_PATH: {"key": "server", "path": SERVER_PATH, "root": "SmtpServerConfiguration", "fields": SERVER_FIELDS,
                  "put_status": 200,
                  # the CUPI reference's XML shows a blank line after these two elements
                  "blank_after": {"allowConnectionsFromUntrustedIpAddresses",
                                  "requireAuthenticationFromUntrustedIpAddresses"}},
    CLIENT_PATH: {"key": "client", "path": CLIENT_PATH, "root": "SmtpClientConfiguration", "fields": CLIENT_FIELDS,
                  "put_status": 204, "blank_after": set()},
}


class BadRequest(Exception):
    pass


def _xml_text(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cased(name, case):
    return name.upper() if case == "upper" else name.lower() if case == "lower" else name


RAW_MARK = "@@RAW-%s@@"


def with_raw_values(body, raw_values, as_json):
    """Puts raw bytes in place of the marked values of body."""
    for name, raw in raw_values.items():
        mark = (RAW_MARK % name).encode()
        body = body.replace(b'"%s"' % mark if as_json else mark, raw)
    return body


def echo_text(handler, cupi):
    """Every request header as received, the decoded Basic credential and the
    password: what a careless server might put in an error."""
    heads = "; ".join("%s: %s" % (k, v) for k, v in handler.headers.items())
    cred = "%s:%s" % (cupi.user, cupi.password)
    return "request headers: %s; credential %s (%s); password=%s" % (
        heads, cred, base64.b64encode(cred.encode()).decode(), cupi.password)


def render_xml(res, values, declaration=False, case=None, extra=False):
    """The CUPI reference's layout: root, two-space indented children, blank lines where
    the CUPI reference has them, empty elements as <x></x>. case "upper"/"lower": the
    field names in that case; extra: unknown elements (one nested) around."""
    out = []
    if declaration:
        out.append('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>')
    out.append("<%s>" % res["root"])
    if extra:
        out.append("  <URI>%s</URI>" % res["path"])
        out.append("  <ObjectExtra><Port>1</Port><domainName>x.invalid</domainName>"
                   "</ObjectExtra>")
    for name, _, _ in res["fields"]:
        v = "" if name in WRITE_ONLY else values[name]
        tag = _cased(name, case)
        out.append("  <%s>%s</%s>" % (tag, _xml_text(v), tag))
        if name in res["blank_after"]:
            out.append("")
    if extra:
        out.append("  <FutureField>7</FutureField>")
    out.append("</%s>" % res["root"])
    return ("\n".join(out) + "\n").encode("utf-8")


def render_json(res, values, native=False, case=None, extra=False):
    obj = {}
    if extra:
        obj["URI"] = res["path"]
        obj["ObjectExtra"] = {"Port": "1", "domainName": "x.invalid"}
        obj["FutureList"] = [{"Port": "1"}, "2"]
    for name, kind, _ in res["fields"]:
        v = "" if name in WRITE_ONLY else values[name]
        if native and v != RAW_MARK % name:
            if kind == "int":
                v = int(v)
            elif kind == "bool":
                v = (v == "true")
            elif v == "":
                v = []
        obj[_cased(name, case)] = v
    if extra:
        obj["FutureField"] = "7"
    return (json.dumps(obj, indent=2) + "\n").encode("utf-8")


def error_body(code, message, as_json):
    if as_json:
        return json.dumps({"errors": {"code": code, "message": message}}).encode(), \
            "application/json"
    return ("<ErrorDetails><errors><code>%s</code><message>%s</message></errors></ErrorDetails>"
            % (_xml_text(code), _xml_text(message))).encode(), "application/xml"


def parse_put(res, body, ctype):
    """{canonical name: raw value (str, or JSON native)} of the known fields
    in a PUT body; unknown fields ignored; names matched case-insensitively."""
    names = {n.lower(): n for n, _, _ in res["fields"]}
    found = {}
    if ctype == "application/xml":
        if re.search(rb"<!DOCTYPE|<!ENTITY", body, re.I):
            raise BadRequest("DTDs are not allowed")
        try:
            root = ET.fromstring(body)
        except ET.ParseError as e:
            raise BadRequest("malformed XML: %s" % e)
        if root.tag != res["root"]:
            raise BadRequest("unexpected root element %s, expected %s" % (root.tag, res["root"]))
        for child in root:
            n = names.get(child.tag.lower())
            if n is not None:
                if len(child):
                    raise BadRequest("%s must be a simple value" % n)
                found[n] = child.text or ""
    else:
        try:
            obj = json.loads(body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            raise BadRequest("malformed JSON: %s" % e)
        if not isinstance(obj, dict):
            raise BadRequest("a JSON object is expected")
        for k, v in obj.items():
            n = names.get(str(k).lower())
            if n is not None:
                found[n] = v
    return found


def validate(res, raw):
    """Canonical string values of raw; raises BadRequest with CUPI-like
    messages."""
    kinds = {n: (k, c) for n, k, c in res["fields"]}
    out = {}
    for name, v in raw.items():
        kind, cons = kinds[name]
        if kind == "int":
            if isinstance(v, bool) or not isinstance(v, (int, str)):
                raise BadRequest("Invalid value for %s" % name)
            s = str(v).strip()
            if not re.fullmatch(r"-?[0-9]+", s):
                raise BadRequest("Invalid value for %s: not an integer" % name)
            i = int(s)
            if isinstance(cons, set):
                if i not in cons:
                    raise BadRequest("Invalid value for %s: possible values are %s"
                                     % (name, ", ".join(str(x) for x in sorted(cons))))
            elif not cons[0] <= i <= cons[1]:
                raise BadRequest("Invalid value for %s: must be between %d and %d"
                                 % (name, cons[0], cons[1]))
            out[name] = str(i)
        elif kind == "bool":
            if isinstance(v, bool):
                out[name] = "true" if v else "false"
            elif isinstance(v, str) and v.strip().lower() in ("true", "false"):
                out[name] = v.strip().lower()
            else:
                raise BadRequest("Invalid value for %s: possible values are true, false" % name)
        else:
            if v == []:  # an empty value in CUPI's JSON
                v = ""
            if not isinstance(v, str):
                raise BadRequest("Invalid value for %s: a string is expected" % name)
            if len(v.encode("utf-8")) > 255:
                raise BadRequest("Invalid value for %s: too long" % name)
            out[name] = v
    return out


# ---------------------------------------------------------------------------
# The server process
# ---------------------------------------------------------------------------


class Cupi:
    def __init__(self, user, password):
        self.user = user
        self.password = password
        self.lock = threading.Lock()
        self.state = {"server": dict(SEED_SERVER), "client": dict(SEED_CLIENT)}
        self.mode = {"json": "strings", "cookie": False, "xml_declaration": False,
                     "name_case": None, "extra_fields": False, "reject_put": None,
                     "chunked": False, "charset": False, "raw_values": {}, "echo": None,
                     "echo_value": None, "echo_in_body": False}
        self.requests = []
        self.sessions = set()

    def check_auth(self, header):
        if not header:
            return "missing"
        scheme, _, cred = header.partition(" ")
        if scheme.lower() != "basic":
            return "invalid"
        try:
            user, sep, pw = base64.b64decode(cred.strip(), validate=True).decode(
                "utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return "invalid"
        ok = sep and secrets.compare_digest(user.encode(), self.user.encode()) and \
            secrets.compare_digest(pw.encode(), self.password.encode())
        return "valid" if ok else "invalid"


def _session_of(cookie_header):
    if not cookie_header:
        return None
    for part in cookie_header.split(";"):
        k, _, v = part.strip().partition("=")
        if k == "JSESSIONID":
            return v
    return None


def make_cupi_handler(cupi):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "independent-cupi"
        sys_version = ""

        def log_message(self, fmt, *args):  # no access log (keeps it quiet)
            pass

        def _read_body(self):
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                data = b""
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return data
                    data += self.rfile.read(size)
                    self.rfile.readline()
                    if len(data) > 1 << 20:
                        raise BadRequest("body too large")
            n = int(self.headers.get("Content-Length") or 0)
            if n > 1 << 20:
                raise BadRequest("body too large")
            return self.rfile.read(n) if n else b""

        def _record(self, body, auth):
            headers = []
            for k, v in self.headers.items():
                if k.lower() == "authorization":
                    scheme = v.split(" ", 1)[0]
                    v = "%s <%s>" % (scheme, auth) if scheme.lower() == "basic" else scheme
                headers.append([k, v])
            sess = _session_of(self.headers.get("Cookie"))
            rec = {"method": self.command, "path": self.path, "headers": headers,
                   "body": body.decode("utf-8", "replace"), "auth": auth,
                   "cookie_session": None if sess is None else
                   ("valid" if sess in cupi.sessions else "unknown"),
                   "time": time.time(), "status": None,
                   "conn": "%s:%d" % self.client_address[:2]}
            with cupi.lock:
                cupi.requests.append(rec)
            return rec

        def _send(self, rec, status, body=b"", ctype=None, extra=()):
            rec["status"] = status
            with cupi.lock:
                mode = dict(cupi.mode)
            self.send_response(status)
            if ctype:
                if mode["charset"] and ctype.startswith("application/"):
                    ctype += ";charset=UTF-8"
                self.send_header("Content-Type", ctype)
            for k, v in extra:
                self.send_header(k, v)
            if cupi.mode["cookie"] and rec["cookie_session"] != "valid":
                sid = secrets.token_hex(16).upper()
                with cupi.lock:
                    cupi.sessions.add(sid)
                self.send_header("Set-Cookie", "JSESSIONID=%s; Path=/vmrest/; Secure; HttpOnly"
                                 % sid)
            chunked = mode["chunked"] and status != 204 and body
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            elif status != 204:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if chunked:
                for i in range(0, len(body), 100):  # several chunks
                    part = body[i:i + 100]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                self.wfile.write(b"0\r\n\r\n")
            elif body and status != 204:
                self.wfile.write(body)
            self.wfile.flush()

        def _handle(self):
            try:
                body = self._read_body()
            except (BadRequest, ValueError):
                self.close_connection = True
                rec = self._record(b"", "missing")
                self._send(rec, 400, b"bad request", "text/plain")
                return
            auth = cupi.check_auth(self.headers.get("Authorization"))
            rec = self._record(body, auth)
            accept = (self.headers.get("Accept") or "").lower()
            as_json = "application/json" in accept
            with cupi.lock:
                echo = cupi.mode["echo"]
            if echo:
                text = echo_text(self, cupi)
                if echo.get("format") == "text":
                    b, ct = text.encode("utf-8"), "text/plain"
                else:
                    b, ct = error_body(text, text, echo.get("format") == "json")
                self._send(rec, int(echo.get("status", 400)), b, ct)
                return
            if auth != "valid":
                self._send(rec, 401, b"Not Authorized", "text/plain",
                           [("WWW-Authenticate", 'Basic realm="Cisco Unity Connection"')])
                return
            path = self.path.split("?", 1)[0]
            res = RESOURCES.get(path)
            if res is None:
                b, ct = error_body("NOT_FOUND", "No resource at %s" % path, as_json)
                self._send(rec, 404, b, ct)
                return
            if self.command == "GET":
                with cupi.lock:
                    values = dict(cupi.state[res["key"]])
                    mode = dict(cupi.mode)
                names = {n for n, _, _ in res["fields"]}
                raw = {n: base64.b64decode(v) for n, v in (mode["raw_values"] or {}).items()
                       if n in names}
                for n in raw:
                    values[n] = RAW_MARK % n
                if mode["echo_value"] in names:
                    values[mode["echo_value"]] = echo_text(self, cupi)
                if as_json:
                    body = render_json(res, values, mode["json"] == "native",
                                       mode["name_case"], mode["extra_fields"])
                    if mode["echo_in_body"]:
                        obj = json.loads(body)
                        obj["EchoedRequest"] = {"message": echo_text(self, cupi)}
                        body = (json.dumps(obj, indent=2) + "\n").encode("utf-8")
                    self._send(rec, 200, with_raw_values(body, raw, True), "application/json")
                else:
                    body = render_xml(res, values, mode["xml_declaration"],
                                      mode["name_case"], mode["extra_fields"])
                    if mode["echo_in_body"]:
                        body = body.replace(b"</%s>" % res["root"].encode(),
                                            b"  <EchoedRequest>%s</EchoedRequest>\n</%s>" % (
                                                _xml_text(echo_text(self, cupi)).encode(),
                                                res["root"].encode()))
                    self._send(rec, 200, with_raw_values(body, raw, False), "application/xml")
                return
            if self.command != "PUT":
                b, ct = error_body("METHOD_NOT_ALLOWED", "%s not allowed" % self.command,
                                   as_json)
                self._send(rec, 405, b, ct, [("Allow", "GET, PUT")])
                return
            ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if ctype not in ("application/xml", "application/json"):
                b, ct = error_body("UNSUPPORTED_MEDIA_TYPE",
                                   "Content-Type application/xml or application/json needed",
                                   as_json)
                self._send(rec, 415, b, ct)
                return
            try:
                with cupi.lock:
                    reject = cupi.mode["reject_put"]
                if reject:
                    b, ct = error_body(reject.get("code", "INVALID_PARAMETER"),
                                       reject["message"], as_json)
                    self._send(rec, int(reject.get("status", 400)), b, ct)
                    return
                changes = validate(res, parse_put(res, body, ctype))
            except BadRequest as e:
                b, ct = error_body("INVALID_PARAMETER", str(e), as_json)
                self._send(rec, 400, b, ct)
                return
            with cupi.lock:
                cupi.state[res["key"]].update(changes)
            self._send(rec, res["put_status"])

        def do_GET(self):
            self._handle()

        def do_PUT(self):
            self._handle()

        def do_POST(self):
            self._handle()

        def do_DELETE(self):
            self._handle()

    return Handler


def make_control_handler(cupi):
    class Control(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            pass

        def _reply(self, status, obj=None):
            body = json.dumps(obj if obj is not None else {}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _json(self):
            n = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(n) or b"{}")

        def do_GET(self):
            with cupi.lock:
                if self.path == "/requests":
                    return self._reply(200, list(cupi.requests))
                if self.path == "/state":
                    return self._reply(200, json.loads(json.dumps(cupi.state)))
                if self.path == "/mode":
                    return self._reply(200, dict(cupi.mode))
            self._reply(404)

        def do_POST(self):
            if self.path == "/clear":
                with cupi.lock:
                    cupi.requests.clear()
                return self._reply(200)
            self._reply(404)

        def do_PUT(self):
            try:
                obj = self._json()
            except ValueError:
                return self._reply(400)
            with cupi.lock:
                if self.path == "/state":
                    for key in ("server", "client"):
                        for k, v in (obj.get(key) or {}).items():
                            if k not in cupi.state[key]:
                                return self._reply(400, {"unknown": k})
                            cupi.state[key][k] = str(v)
                    return self._reply(200, cupi.state)
                if self.path == "/mode":
                    for k, v in obj.items():
                        if k not in cupi.mode:
                            return self._reply(400, {"unknown": k})
                        cupi.mode[k] = v
                    return self._reply(200, cupi.mode)
            self._reply(404)

    return Control


def make_cert(d):
    cert, key = d / "cert.pem", d / "key.pem"
    if not cert.exists():
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key),
                        "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                       check=True, capture_output=True, timeout=30)
        os.chmod(key, 0o600)
    return cert, key


class TLSServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, addr, handler, ctx):
        super().__init__(addr, handler)
        self.ctx = ctx

    def get_request(self):
        sock, addr = self.socket.accept()
        # the handshake happens in the handler's thread, on first read
        return self.ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    def handle_error(self, request, client_address):
        pass  # TLS failures and reset connections are the client's business


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--user", default="admin")
    ap.add_argument("--password-file", required=True)
    a = ap.parse_args(argv)
    d = Path(a.dir)
    d.mkdir(parents=True, exist_ok=True)
    password = Path(a.password_file).read_text().splitlines()[0]
    cert, key = make_cert(d)
    cupi = Cupi(a.user, password)

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(cert), str(key))
    https = TLSServer(("127.0.0.1", 0), make_cupi_handler(cupi), ctx)
    control = ThreadingHTTPServer(("127.0.0.1", 0), make_control_handler(cupi))
    control.daemon_threads = True

    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in (https, control)]
    for t in threads:
        t.start()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    tmp = d / "ports.json.tmp"
    tmp.write_text(json.dumps({"https": https.server_address[1],
                               "control": control.server_address[1], "pid": os.getpid()}))
    os.replace(tmp, d / "ports.json")
    while not stop.wait(0.2):
        pass
    https.shutdown()
    control.shutdown()
    return 0


# ---------------------------------------------------------------------------
# Test-side driver
# ---------------------------------------------------------------------------


class IndependentCupi:
    """Starts independent_cupi.py as a subprocess in tmpdir and drives it.

    Attributes after start(): port, url ("https://127.0.0.1:PORT"), ca_file,
    pid, user, password (never print it)."""

    def __init__(self, tmpdir, user="cupiadmin", password="Indep-Pw 42#x"):
        self.dir = Path(tmpdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.user = user
        self.password = password
        self.proc = None
        self.port = self.control_port = None
        self.ca_file = self.dir / "cert.pem"
        self.password_file = self.dir / "account.pw"
        self.log_file = self.dir / "independent_cupi.log"

    @property
    def url(self):
        return "https://127.0.0.1:%d" % self.port

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def start(self, timeout=20):
        fd = os.open(self.password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self.password + "\n")
        ports = self.dir / "ports.json"
        try:
            ports.unlink()
        except FileNotFoundError:
            pass
        self._log = open(self.log_file, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--dir", str(self.dir), "--user",
             self.user, "--password-file", str(self.password_file)],
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            cwd=str(self.dir))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("independent_cupi exited %s:\n%s"
                                   % (self.proc.returncode, self.log_text()))
            if ports.exists():
                p = json.loads(ports.read_text())
                self.port, self.control_port = p["https"], p["control"]
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("independent_cupi did not start:\n" + self.log_text())

    def stop(self, grace=10):
        if self.proc is None:
            return None
        code = self.proc.poll()
        if code is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                code = self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                code = self.proc.wait(timeout=10)
        self._log.close()
        return code

    def log_text(self):
        try:
            return self.log_file.read_text(errors="replace")
        except OSError:
            return ""

    def _control(self, method, path, obj=None):
        data = None if obj is None else json.dumps(obj).encode()
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.control_port, path),
                                     data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
                req, timeout=10) as r:
            return json.loads(r.read() or b"null")

    def requests(self, method=None, path=None):
        """Recorded CUPI requests (oldest first), optionally filtered."""
        return [r for r in self._control("GET", "/requests")
                if (method is None or r["method"] == method) and
                (path is None or r["path"] == path)]

    def clear(self):
        self._control("POST", "/clear")

    def state(self):
        return self._control("GET", "/state")

    def set_state(self, server=None, client=None):
        """An external change, made on the server itself."""
        return self._control("PUT", "/state", {"server": server or {}, "client": client or {}})

    def set_mode(self, **mode):
        return self._control("PUT", "/mode", mode)


def header(rec, name):
    """The value of a recorded request's header (None when absent)."""
    for k, v in rec["headers"]:
        if k.lower() == name.lower():
            return v
    return None


if __name__ == "__main__":
    sys.exit(main())
