"""Start and drive cupi-sim from integration tests.

Usage (pytest):

    from sim_helper import CupiSim

    @pytest.fixture
    def sim(tmp_path):
        s = CupiSim(tmp_path)
        s.start(servers=["cuc1", "cuc2"])      # both on free ports, HTTPS
        yield s
        s.stop()

    def test_x(sim):
        status, headers, body = sim.request("GET", "/vmrest/smtpserver/serverconfigs")
        sim.fault(method="PUT", resource="server", status=503, count=2)
        assert sim.counters()["put"]["server"] == 0

The simulator listens on 127.0.0.1 with a freshly generated CA
(``--write-ca``), so ``ca_file`` is what a client (cupictl, the agent's
cupiCaFile) must trust. The process is stopped by its PID (SIGTERM, then
SIGKILL after a grace period), never by name.

Environment: CUPI_BUILD_DIR (see snmp_helper.build_dir); the binary is
CUPI_BUILD_DIR/tools/cupi-sim.
"""

import base64
import http.client
import json as jsonlib
import os
import select
import signal
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from snmp_helper import build_dir

DEFAULT_USER = "admin"
DEFAULT_PASSWORD = "Sim-Passw0rd!"

SERVER_PATH = "/vmrest/smtpserver/serverconfigs"
CLIENT_PATH = "/vmrest/smtpclient/clientconfigs"


def sim_binary():
    return build_dir() / "tools" / "cupi-sim"


class SimError(RuntimeError):
    """cupi-sim did not start as expected; carries its stderr."""


class CupiSim:
    """One cupi-sim process with one or more virtual servers.

    Attributes after start():
      ports     {name: port}, in the order given
      urls      {name: "https://127.0.0.1:PORT"}
      url       the first server's URL
      ca_file   Path of the CA certificate (None with http=True)
      pid       the process id
      log_file  Path of the simulator's stderr
    """

    def __init__(self, tmpdir, binary=None, user=DEFAULT_USER, password=DEFAULT_PASSWORD,
                 verbose=True):
        self.dir = Path(tmpdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.binary = Path(binary) if binary else sim_binary()
        self.user = user
        self.password = password
        self.verbose = verbose
        self.proc = None
        self.ports = {}
        self.urls = {}
        self.url = None
        self.ca_file = None
        self.http = False
        self.log_file = None
        self._log = None
        self._starts = 0

    # -- lifecycle ---------------------------------------------------------

    def start(self, servers=("sim1",), http=False, state=None, extra_args=(), timeout=15,
              password_via_env=False, cert=None, key=None, ca=None):
        """Starts cupi-sim. servers: names (each on a free port), or "PORT:NAME"
        strings, or (port, name) tuples. state: path of a --state file.
        cert, key: a certificate chain and its key (--cert/--key) instead of a
        generated CA, so a restart keeps the certificate; ca: the CA that
        signed it (becomes ca_file)."""
        if self.proc is not None:
            raise SimError("already running")
        self._starts += 1
        self.http = http
        args = [str(self.binary)]
        if http:
            args.append("--http")
        for spec in servers:
            if isinstance(spec, tuple):
                spec = "%d:%s" % spec
            elif ":" not in str(spec):
                spec = "0:%s" % spec
            args += ["--server", str(spec)]
        args += ["--user", self.user]
        env = dict(os.environ)
        if password_via_env:
            env["CUPI_SIM_PASSWORD"] = self.password
        else:
            pw_file = self.dir / "sim-password"
            fd = os.open(pw_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(self.password + "\n")
            args += ["--password-file", str(pw_file)]
        self.ca_file = None
        if cert is not None:
            self.ca_file = Path(ca) if ca else None
            args += ["--cert", str(cert), "--key", str(key)]
        elif not http:
            self.ca_file = self.dir / "sim-ca.pem"
            args += ["--write-ca", str(self.ca_file)]
        if state is not None:
            args += ["--state", str(state)]
        if self.verbose:
            args.append("-v")
        args += list(extra_args)

        self.log_file = self.dir / ("sim-%d.log" % self._starts)
        self._log = open(self.log_file, "wb")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self._log,
                                     stdin=subprocess.DEVNULL, env=env)
        try:
            self._read_banner(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _read_banner(self, timeout):
        deadline = time.monotonic() + timeout
        buf = b""
        self.ports, self.urls = {}, {}
        fd = self.proc.stdout.fileno()
        while True:
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                text = line.decode("utf-8", "replace").strip()
                if text == "cupi-sim: ready":
                    self.url = next(iter(self.urls.values()))
                    return
                # "cupi-sim: NAME listening on https://127.0.0.1:PORT"
                parts = text.split()
                if len(parts) == 5 and parts[0] == "cupi-sim:" and parts[2:4] == ["listening", "on"]:
                    name, url = parts[1], parts[4]
                    self.urls[name] = url
                    self.ports[name] = int(url.rsplit(":", 1)[1])
            left = deadline - time.monotonic()
            if left <= 0:
                raise SimError("cupi-sim not ready within timeout\n" + self.log_text())
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 4096)
            if not chunk:
                code = self.proc.wait(timeout=5)
                raise SimError("cupi-sim exited with %s before ready\n%s" % (code, self.log_text()))
            buf += chunk

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def stop(self, timeout=10):
        """SIGTERM by PID, SIGKILL if it does not exit in time. Returns the exit
        status (None if it was not running)."""
        if self.proc is None:
            return None
        proc, self.proc = self.proc, None
        code = proc.poll()
        if code is None:
            proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait()
        if proc.stdout:
            proc.stdout.close()
        if self._log:
            self._log.close()
            self._log = None
        return code

    def restart(self, **start_kwargs):
        self.stop()
        return self.start(**start_kwargs)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def log_text(self):
        try:
            return self.log_file.read_text(errors="replace")
        except (OSError, AttributeError):
            return ""

    # -- HTTP ----------------------------------------------------------------

    def url_of(self, server=None):
        return self.urls[server] if server else self.url

    def port_of(self, server=None):
        return self.ports[server] if server else self.ports[next(iter(self.ports))]

    def ssl_context(self, cafile=None):
        """A verifying client context trusting cafile (default: this sim's CA)."""
        ctx = ssl.create_default_context(cafile=str(cafile or self.ca_file))
        return ctx

    def connection(self, server=None, host="127.0.0.1", cafile=None, timeout=10):
        port = self.port_of(server)
        if self.http:
            return http.client.HTTPConnection(host, port, timeout=timeout)
        return http.client.HTTPSConnection(host, port, timeout=timeout,
                                           context=self.ssl_context(cafile))

    def auth_header(self, user=None, password=None):
        token = "%s:%s" % (user or self.user, self.password if password is None else password)
        return "Basic " + base64.b64encode(token.encode()).decode()

    def request(self, method, path, body=None, headers=None, server=None, auth=True,
                accept=None, content_type=None, timeout=10, conn=None):
        """One HTTP request; returns (status, headers as dict with lower-case
        names, body bytes). auth: True (the sim's account), False (none) or a
        (user, password) tuple. conn: reuse an http.client connection."""
        hdrs = dict(headers or {})
        if auth is True:
            hdrs["Authorization"] = self.auth_header()
        elif isinstance(auth, tuple):
            hdrs["Authorization"] = self.auth_header(*auth)
        if accept:
            hdrs["Accept"] = accept
        if content_type:
            hdrs["Content-Type"] = content_type
        if isinstance(body, str):
            body = body.encode()
        own = conn is None
        if own:
            conn = self.connection(server, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
        finally:
            if own:
                conn.close()

    def get(self, resource="server", fmt="xml", server=None, **kw):
        path = SERVER_PATH if resource == "server" else CLIENT_PATH
        accept = "application/json" if fmt == "json" else "application/xml"
        return self.request("GET", path, accept=accept, server=server, **kw)

    def put(self, resource, body, fmt="xml", server=None, **kw):
        """PUT body (str/bytes, or a dict encoded in fmt with the resource's root)."""
        path = SERVER_PATH if resource == "server" else CLIENT_PATH
        mime = "application/json" if fmt == "json" else "application/xml"
        if isinstance(body, dict):
            if fmt == "json":
                body = jsonlib.dumps({k: str(v) for k, v in body.items()})
            else:
                root = "SmtpServerConfiguration" if resource == "server" else "SmtpClientConfiguration"
                body = "<%s>%s</%s>" % (root, "".join("<%s>%s</%s>" % (k, v, k) for k, v in body.items()), root)
        kw.setdefault("content_type", mime)
        kw.setdefault("accept", mime)
        return self.request("PUT", path, body=body, server=server, **kw)

    # -- control interface (/_sim/) -----------------------------------------

    def control(self, method, path, json=None, server=None, timeout=10):
        """Calls the control interface; returns (status, decoded JSON or None)."""
        if not path.startswith("/"):
            path = "/_sim/" + path
        data = None
        headers = {}
        if json is not None:
            data = jsonlib.dumps(json).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(self.url_of(server) + path, data=data, method=method,
                                     headers=headers)
        ctx = None if self.http else self.ssl_context()
        try:
            with urllib.request.urlopen(req, timeout=timeout, context=ctx) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        return status, (jsonlib.loads(raw) if raw else None)

    def _ok(self, method, path, json=None, server=None):
        status, doc = self.control(method, path, json, server)
        if status != 200:
            raise SimError("%s %s -> %s %s" % (method, path, status, doc))
        return doc

    def state(self, server=None):
        """{"server": {...}, "client": {...}} with the real password."""
        return self._ok("GET", "/_sim/state", server=server)

    def set_state(self, changes, server=None):
        """Changes state directly (like CUC's web UI): no validation, no PUT."""
        return self._ok("POST", "/_sim/state", changes, server)

    def fault(self, server=None, **rule):
        """Adds a fault rule: latency_ms, method, resource, status, count,
        malformed, drop."""
        return self._ok("POST", "/_sim/fault", rule, server)

    def clear_faults(self, server=None):
        return self._ok("DELETE", "/_sim/fault", server=server)

    def counters(self, server=None):
        return self._ok("GET", "/_sim/counters", server=server)

    def reset_counters(self, server=None):
        return self._ok("POST", "/_sim/counters/reset", server=server)
