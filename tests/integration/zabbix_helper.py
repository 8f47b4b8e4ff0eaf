"""A real Zabbix server for integration tests, from Debian's packages:
PostgreSQL (postgresql-15), zabbix_server (zabbix-server-pgsql) and the
JSON-RPC API (zabbix-frontend-php under php-fpm and nginx).

    zbx = ZabbixStack(cache_dir).start()
    api = zbx.api                      # logged in as Admin
    api.call("host.get", {...})
    zbx.traps_file                     # the server's SNMPTrapperFile
    zbx.stop()

Everything is the test's own: one base directory under /tmp (PostgreSQL
refuses to run as root, so its data directory belongs to the postgres user
and the base directory must be traversable by it), free ports on
127.0.0.1, every process stopped by its PID. zabbix_server runs as root
(AllowRoot), php-fpm and nginx as root too (-R; `user root`): nothing here
listens beyond loopback.

Loading Zabbix's schema takes a while, so a PostgreSQL data directory with
the schema, images and data loaded is kept in cache_dir, keyed by the
versions of zabbix_server and PostgreSQL; later runs copy it (a lock makes
concurrent first runs build it once).

When a piece cannot start, ZabbixError says which and carries its log: the
tests fail with it, they never skip.
"""

import fcntl
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ZABBIX_SERVER = Path("/usr/sbin/zabbix_server")
SCHEMA_DIR = Path("/usr/share/zabbix-server-pgsql")
FRONTEND = Path("/usr/share/zabbix")
PHP_FPM = Path("/usr/sbin/php-fpm8.2")
NGINX = Path("/usr/sbin/nginx")
FASTCGI_PARAMS = Path("/etc/nginx/fastcgi_params")
PG_USER = "postgres"
SCHEMA_FILES = ("schema.sql.gz", "images.sql.gz", "data.sql.gz")
# Where Debian's frontend looks for its configuration (a constant in this
# class): the test's private copy of the frontend reads its own instead.
CONFIG_CLASS = "include/classes/core/CConfigFile.php"
API_USER, API_PASSWORD = "Admin", "zabbix"
# Part of the cache's key: changes when Postgres.init makes another kind of
# data directory.
CACHE_FORMAT = "walseg1"


class ZabbixError(AssertionError):
    """A piece of the Zabbix stack did not start or answer; says why."""


def free_tcp_port(low=None, high=None):
    """A TCP port on 127.0.0.1 free a moment ago; within [low, high] when
    given (zabbix_server's ListenPort must be 1024..32767)."""
    import random
    for _ in range(200):
        port = random.randint(low, high) if low else 0
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise ZabbixError("no free TCP port in %s..%s" % (low, high))


def pg_bin():
    """The newest installed PostgreSQL server's bin directory."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"),
                   key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    if not found:
        raise ZabbixError("PostgreSQL server not installed (/usr/lib/postgresql/*/bin/postgres): "
                          "scripts/deps.sh installs postgresql")
    return found[-1].parent


def zabbix_version():
    p = subprocess.run([str(ZABBIX_SERVER), "-V"], capture_output=True, text=True, timeout=30)
    m = re.search(r"\(Zabbix\) (\S+)", p.stdout)
    if not m:
        raise ZabbixError("zabbix_server -V: %s%s" % (p.stdout, p.stderr))
    return m.group(1)


def check_installed():
    """Raises ZabbixError naming what is missing."""
    missing = [str(p) for p in (ZABBIX_SERVER, FRONTEND / "api_jsonrpc.php", PHP_FPM, NGINX,
                                FASTCGI_PARAMS) if not p.exists()]
    missing += [str(SCHEMA_DIR / f) for f in SCHEMA_FILES if not (SCHEMA_DIR / f).exists()]
    if missing:
        raise ZabbixError("not installed: %s (scripts/deps.sh installs zabbix-server-pgsql, "
                          "zabbix-frontend-php, php-fpm, php-pgsql, nginx, postgresql)"
                          % ", ".join(missing))
    pg_bin()
    try:
        pwd.getpwnam(PG_USER)
    except KeyError:
        raise ZabbixError("no '%s' user (the postgresql package creates it)" % PG_USER)


def _run(cmd, timeout=300, **kw):
    kw.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True,
                          timeout=timeout, **kw)


def _as_postgres(cmd):
    """cmd run as the postgres user (setpriv execs: the PID is cmd's own)."""
    if os.geteuid() != 0:
        return [str(c) for c in cmd]
    return ["setpriv", "--reuid=" + PG_USER, "--regid=" + PG_USER, "--init-groups", "--"] + \
        [str(c) for c in cmd]


def _chown_tree(path, user):
    if os.geteuid() != 0:
        return
    pw = pwd.getpwnam(user)
    for root, dirs, files in os.walk(path):
        os.lchown(root, pw.pw_uid, pw.pw_gid)
        for f in dirs + files:
            os.lchown(os.path.join(root, f), pw.pw_uid, pw.pw_gid)


def _tail(path, lines=60):
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no %s)" % path


class _Proc:
    """A child process stopped by its PID: sig, then SIGKILL after grace."""

    def __init__(self, name, args, log, env=None, cwd=None):
        self.name = name
        self.log = Path(log)
        self._out = open(self.log, "ab")
        self.proc = subprocess.Popen([str(a) for a in args], stdout=self._out,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env=env, cwd=cwd)

    @property
    def pid(self):
        return self.proc.pid

    def running(self):
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, grace=20):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._out.close()
        return self.proc.returncode


def _wait(fn, timeout, what, proc=None, log=None):
    def logs():
        paths = [p for p in (log, proc.log if proc else None) if p]
        return "\n".join("%s:\n%s" % (p, _tail(p)) for p in dict.fromkeys(paths))

    deadline = time.monotonic() + timeout
    while True:
        try:
            if fn():
                return
        except (OSError, urllib.error.URLError, ZabbixError):
            pass
        if proc is not None and not proc.running():
            raise ZabbixError("%s exited (status %s) before %s:\n%s" % (
                proc.name, proc.proc.returncode, what, logs()))
        if time.monotonic() > deadline:
            raise ZabbixError("timed out after %d s waiting for %s:\n%s" % (
                timeout, what, logs()))
        time.sleep(0.2)


class Postgres:
    """A PostgreSQL instance on 127.0.0.1:port with its data in base/pgdata,
    run as the postgres user; trust authentication, no durability (test data)."""

    def __init__(self, base):
        self.base = Path(base)
        self.data = self.base / "pgdata"
        self.sock = self.base / "pgsock"
        self.log = self.base / "postgres.log"
        self.bin = pg_bin()
        self.port = None
        self.proc = None

    def init(self):
        self.data.mkdir(mode=0o700)
        _chown_tree(self.data, PG_USER)
        p = _run(_as_postgres([self.bin / "initdb", "-D", self.data, "-U", "postgres",
                               "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8",
                               # small WAL segments: a small cached copy
                               "--wal-segsize=1"]))
        if p.returncode != 0:
            raise ZabbixError("initdb failed:\n%s%s" % (p.stdout, p.stderr))

    def start(self):
        self.sock.mkdir(exist_ok=True)
        _chown_tree(self.sock, PG_USER)
        for _ in range(3):
            self.port = free_tcp_port()
            self.proc = _Proc("postgres", _as_postgres([
                self.bin / "postgres", "-D", self.data, "-p", self.port, "-k", self.sock,
                "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                "-c", "max_connections=60", "-c", "shared_buffers=32MB",
                "-c", "wal_level=minimal", "-c", "max_wal_senders=0"]), self.log)
            try:
                _wait(self.ready, 60, "PostgreSQL on 127.0.0.1:%d" % self.port, self.proc)
                return self
            except ZabbixError:
                if self.proc.running() or "in use" not in _tail(self.log):
                    self.stop()
                    raise
        raise ZabbixError("PostgreSQL found no free port:\n" + _tail(self.log))

    def ready(self):
        p = _run([self.bin / "pg_isready", "-h", "127.0.0.1", "-p", self.port], timeout=10)
        return p.returncode == 0

    def psql(self, *args, user="postgres", db="postgres", input=None):
        p = _run([self.bin / "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                  "-p", self.port, "-U", user, "-d", db] + list(args), input=input,
                 stdin=None if input is not None else subprocess.DEVNULL)
        if p.returncode != 0:
            raise ZabbixError("psql %s failed:\n%s" % (" ".join(map(str, args)), p.stderr[-3000:]))
        return p.stdout

    def stop(self):
        if self.proc is not None:
            self.proc.stop(sig=signal.SIGINT, grace=30)  # fast shutdown, clean data dir
            self.proc = None


def load_zabbix_schema(pg):
    import gzip
    pg.psql("-c", "CREATE ROLE zabbix LOGIN", "-c", "CREATE DATABASE zabbix OWNER zabbix "
            "ENCODING 'UTF8' TEMPLATE template0")
    for name in SCHEMA_FILES:
        with gzip.open(SCHEMA_DIR / name, "rt") as f:
            pg.psql(user="zabbix", db="zabbix", input=f.read())


def cached_database(cache_dir, base):
    """base/pgdata: a copy of the cached data directory holding Zabbix's
    schema, built on the first run (under a lock). Returns (Postgres,
    seconds spent building the cache or 0)."""
    key = "zabbix-%s-pg%s-%s" % (zabbix_version(), pg_bin().parent.name, CACHE_FORMAT)
    cache = Path(cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    cached = cache / key / "pgdata"
    built = 0.0
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not cached.is_dir():
            t0 = time.monotonic()
            pg = Postgres(base)
            pg.init()
            pg.start()
            try:
                load_zabbix_schema(pg)
            finally:
                pg.stop()
            tmp = cache / (key + ".tmp%d" % os.getpid())
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir()
            shutil.copytree(pg.data, tmp / "pgdata", symlinks=True)
            os.rename(tmp, cache / key)
            shutil.rmtree(pg.data)
            built = time.monotonic() - t0
    pg = Postgres(base)
    shutil.copytree(cached, pg.data, symlinks=True)
    _chown_tree(pg.data, PG_USER)
    os.chmod(pg.data, 0o700)
    try:
        (pg.data / "postmaster.pid").unlink()
    except FileNotFoundError:
        pass
    return pg, built


class Api:
    """Zabbix's JSON-RPC API (api_jsonrpc.php)."""

    def __init__(self, url):
        self.url = url
        self.auth = None
        self._id = 0

    def call(self, method, params=None, auth=True):
        self._id += 1
        body = {"jsonrpc": "2.0", "method": method, "params": params if params is not None else {},
                "id": self._id}
        if auth and self.auth:
            body["auth"] = self.auth
        req = urllib.request.Request(self.url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json-rpc"})
        with urllib.request.urlopen(req, timeout=120) as resp:
            doc = json.loads(resp.read())
        if "error" in doc:
            raise ZabbixError("API %s: %s" % (method, doc["error"]))
        return doc["result"]

    def login(self, user=API_USER, password=API_PASSWORD):
        self.auth = self.call("user.login", {"username": user, "password": password}, auth=False)
        return self


class ZabbixStack:
    """PostgreSQL + zabbix_server + php-fpm + nginx, all on 127.0.0.1."""

    def __init__(self, cache_dir, server_conf=None):
        check_installed()
        self.cache_dir = Path(cache_dir)
        # Short (unix socket paths) and traversable by the postgres user.
        self.base = Path(tempfile.mkdtemp(prefix="cupi-zbx-"))
        os.chmod(self.base, 0o711)
        self.server_conf_extra = dict(server_conf or {})
        self.traps_file = self.base / "zabbix_traps.log"
        self.pg = None
        self.server = None
        self.fpm = None
        self.nginx = None
        self.api = None
        self.server_port = None
        self.web_port = None
        self.cache_build_s = 0.0

    # -- pieces --------------------------------------------------------------

    def _server_conf(self):
        conf = {
            "ListenIP": "127.0.0.1", "ListenPort": self.server_port,
            "LogType": "file", "LogFile": self.base / "zabbix_server.log", "LogFileSize": 0,
            "DebugLevel": 3,
            "PidFile": self.base / "zabbix_server.pid", "SocketDir": self.base,
            "DBHost": "127.0.0.1", "DBPort": self.pg.port, "DBName": "zabbix",
            "DBUser": "zabbix",
            "SNMPTrapperFile": self.traps_file, "StartSNMPTrapper": 1,
            "AllowRoot": 1,
            # Small: one test host.
            "StartPollers": 2, "StartPollersUnreachable": 1, "StartPingers": 0,
            "StartTrappers": 1, "StartDiscoverers": 0, "StartHTTPPollers": 0,
            "StartTimers": 1, "StartEscalators": 1, "StartAlerters": 1,
            "StartLLDProcessors": 1, "StartPreprocessors": 2, "StartDBSyncers": 1,
            "StartHistoryPollers": 1, "StartReportWriters": 0,
            "CacheSize": "16M", "HistoryCacheSize": "8M", "HistoryIndexCacheSize": "4M",
            "TrendCacheSize": "4M", "ValueCacheSize": "8M",
            # API changes reach the server's configuration cache in seconds.
            "CacheUpdateFrequency": 2, "HousekeepingFrequency": 0,
            "Timeout": 3, "UnreachablePeriod": 5, "UnreachableDelay": 2, "UnavailableDelay": 5,
        }
        conf.update(self.server_conf_extra)
        return "".join("%s=%s\n" % kv for kv in conf.items())

    def _start_server(self):
        self.server_port = free_tcp_port(20000, 32767)
        conf = self.base / "zabbix_server.conf"
        conf.write_text(self._server_conf())
        self.server = _Proc("zabbix_server", [ZABBIX_SERVER, "-f", "-c", conf],
                            self.base / "zabbix_server.out")
        log = self.base / "zabbix_server.log"
        _wait(lambda: "started [snmp trapper #1]" in log.read_text(errors="replace"),
              90, "zabbix_server to start", self.server, log)

    def _write_frontend(self):
        web = self.base / "web"
        shutil.copytree(FRONTEND, web, symlinks=True)
        cls = web / CONFIG_CLASS
        text = cls.read_text()
        text2 = re.sub(r"const CONFIG_FILE_PATH = '[^']*';",
                       "const CONFIG_FILE_PATH = '%s';" % (web / "conf" / "zabbix.conf.php"), text)
        if text2 == text:
            raise ZabbixError("%s: no CONFIG_FILE_PATH to point at the test's configuration"
                              % (FRONTEND / CONFIG_CLASS))
        cls.unlink()
        cls.write_text(text2)
        (web / "conf" / "zabbix.conf.php").write_text(
            "<?php\n"
            "$DB['TYPE'] = 'POSTGRESQL';\n$DB['SERVER'] = '127.0.0.1';\n"
            "$DB['PORT'] = '%d';\n$DB['DATABASE'] = 'zabbix';\n$DB['USER'] = 'zabbix';\n"
            "$DB['PASSWORD'] = '';\n$DB['SCHEMA'] = '';\n$DB['ENCRYPTION'] = false;\n"
            "$DB['KEY_FILE'] = '';\n$DB['CERT_FILE'] = '';\n$DB['CA_FILE'] = '';\n"
            "$DB['VERIFY_HOST'] = false;\n$DB['CIPHER_LIST'] = '';\n$DB['VAULT_URL'] = '';\n"
            "$DB['VAULT_DB_PATH'] = '';\n$DB['VAULT_TOKEN'] = '';\n"
            "$DB['DOUBLE_IEEE754'] = true;\n"
            "$ZBX_SERVER = '127.0.0.1';\n$ZBX_SERVER_PORT = '%d';\n"
            "$ZBX_SERVER_NAME = 'cupi-test';\n$IMAGE_FORMAT_DEFAULT = IMAGE_FORMAT_PNG;\n"
            % (self.pg.port, self.server_port))
        return web

    def _start_web(self):
        web = self._write_frontend()
        sock = self.base / "php-fpm.sock"
        fpm_conf = self.base / "php-fpm.conf"
        fpm_conf.write_text(
            "[global]\npid = %(b)s/php-fpm.pid\nerror_log = %(b)s/php-fpm.log\n"
            "daemonize = no\n\n[zabbix]\nuser = root\ngroup = root\nlisten = %(s)s\n"
            "pm = static\npm.max_children = 2\ncatch_workers_output = yes\n"
            "php_admin_value[memory_limit] = 512M\n"
            "php_admin_value[max_execution_time] = 300\n"
            "php_admin_value[post_max_size] = 16M\n"
            "php_admin_value[date.timezone] = UTC\n"
            "php_admin_value[error_log] = %(b)s/php-errors.log\n"
            "php_admin_flag[log_errors] = on\n" % {"b": self.base, "s": sock})
        self.fpm = _Proc("php-fpm", [PHP_FPM, "-F", "-R", "-y", fpm_conf,
                                     "-p", self.base], self.base / "php-fpm.out")
        _wait(sock.exists, 30, "php-fpm's socket", self.fpm, self.base / "php-fpm.log")
        tmp = self.base / "nginx-tmp"
        tmp.mkdir()
        for _ in range(3):
            self.web_port = free_tcp_port()
            conf = self.base / "nginx.conf"
            conf.write_text(
                "daemon off;\nmaster_process on;\nworker_processes 1;\nuser root root;\n"
                "pid %(b)s/nginx.pid;\nerror_log %(b)s/nginx-error.log;\n"
                "events { worker_connections 64; }\n"
                "http {\n  access_log off;\n  client_max_body_size 16m;\n"
                "  client_body_temp_path %(t)s/body;\n  fastcgi_temp_path %(t)s/fastcgi;\n"
                "  proxy_temp_path %(t)s/proxy;\n  uwsgi_temp_path %(t)s/uwsgi;\n"
                "  scgi_temp_path %(t)s/scgi;\n"
                "  server {\n    listen 127.0.0.1:%(p)d;\n    root %(w)s;\n"
                "    location ~ \\.php$ {\n      include %(fp)s;\n"
                "      fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;\n"
                "      fastcgi_read_timeout 300;\n      fastcgi_pass unix:%(s)s;\n    }\n"
                "  }\n}\n" % {"b": self.base, "t": tmp, "p": self.web_port, "w": web,
                              "fp": FASTCGI_PARAMS, "s": sock})
            self.nginx = _Proc("nginx", [NGINX, "-p", self.base, "-c", conf, "-e",
                                         self.base / "nginx-error.log"], self.base / "nginx.out")
            try:
                _wait(self._web_ready, 30, "nginx on 127.0.0.1:%d" % self.web_port, self.nginx,
                      self.base / "nginx-error.log")
                break
            except ZabbixError:
                if self.nginx.running() or "in use" not in _tail(self.base / "nginx-error.log"):
                    raise
        self.api = Api("http://127.0.0.1:%d/api_jsonrpc.php" % self.web_port)
        try:
            self.api.call("apiinfo.version", auth=False)  # answers without a login
        except (urllib.error.URLError, ValueError, ZabbixError) as e:
            raise ZabbixError("the API does not answer (%s):\n%s\n%s" % (
                e, _tail(self.base / "php-errors.log"), _tail(self.base / "nginx-error.log")))
        self.api.login()

    def _web_ready(self):
        with socket.create_connection(("127.0.0.1", self.web_port), timeout=2):
            return True

    # -- whole stack ---------------------------------------------------------

    def start(self):
        try:
            self.pg, self.cache_build_s = cached_database(self.cache_dir, self.base)
            self.pg.start()
            self._start_server()
            self._start_web()
        except BaseException:
            self.stop()
            raise
        return self

    def server_log(self):
        return _tail(self.base / "zabbix_server.log", 400)

    def stop(self, keep=False):
        for name in ("nginx", "fpm", "server"):
            p = getattr(self, name)
            if p is not None:
                p.stop()
                setattr(self, name, None)
        if self.pg is not None:
            self.pg.stop()
        if not keep:
            shutil.rmtree(self.base, ignore_errors=True)
