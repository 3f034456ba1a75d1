"""tests/servers/clickhouse.py - a real ClickHouse (Debian's clickhouse-server)
for tests.

    ch = ClickHouse(users={"app": "app-pw"}, sha256_users={"hashed": "pw"},
                    readonly_users={"ro": "ro-pw"})
    ch.start()                    # waits until GET /ping answers "Ok."
    ch.query("SELECT 1")          # "1\\n", as the default user
    ch.wipe()                     # stopped: an empty data folder (cold start)
    ch.stop_server()              # stop the process, keep the folder
    ch.restart()
    ch.stop()                     # kill it and remove its folder

Debian 12 ships ClickHouse 18.16. The server runs with its own copy of the
packaged /etc/clickhouse-server/config.xml, changed so that everything lives
in its temporary folder (path, tmp_path, user_files_path,
format_schema_path, the logs, users.xml) and it listens on 127.0.0.1 only:
http_port, tcp_port and interserver_http_port on free ports; every other
listener a newer config might have (https_port, tcp_port_secure, mysql_port,
postgresql_port, grpc_port, interserver_https_port, prometheus) removed, and
so are the cluster, ZooKeeper and macros sections that point at shared
files. With tls=True it also serves https_port with a self-signed
certificate made by the openssl command (self.cert is its CA file).

It runs as root (the package's binary allows it; the systemd unit's
`clickhouse` user is not needed for files that root owns).

users.xml is written from scratch: `default` without a password (or
default_password), plus plaintext, SHA-256 and readonly=1 users, all
restricted to loopback networks.

Start-up, measured on the 2-core CI VM: about 0.25-0.3 s from exec to the
first "Ok." (an empty data folder, openssl's certificate included); SIGTERM
to exit about 1 s. Every wait here is bounded in time.
"""

import hashlib
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET

from base import Server, free_port

CLICKHOUSE_SERVER = "/usr/sbin/clickhouse-server"
PACKAGED_CONFIG = "/etc/clickhouse-server/config.xml"

# Listeners a packaged config of some version may define; none but ours may
# open a port.
OTHER_LISTENERS = ("https_port", "tcp_port_secure", "mysql_port",
                   "postgresql_port", "grpc_port", "interserver_https_port",
                   "tcp_with_proxy_port", "prometheus", "graphite",
                   "listen_host")
# Sections that reach for shared files or other hosts.
SHARED_SECTIONS = ("remote_servers", "zookeeper", "macros", "include_from",
                   "openSSL")


def _set(root, path, text):
    """Set root/path's text, creating the elements on the way."""
    node = root
    for tag in path.split("/"):
        child = node.find(tag)
        if child is None:
            child = ET.SubElement(node, tag)
        node = child
    node.text = text
    return node


class ClickHouse(Server):
    name = "clickhouse"

    def __init__(self, users=None, sha256_users=None, readonly_users=None,
                 default_password=None, tls=False):
        """users / sha256_users / readonly_users: {name: password}."""
        super().__init__()
        self.tls = tls
        self.pick_ports()
        self.started = False
        self.users = dict(users or {})
        self.sha256_users = dict(sha256_users or {})
        self.readonly_users = dict(readonly_users or {})
        self.default_password = default_password
        self.cert = os.path.join(self.dir, "cert.pem") if tls else None
        self.key = os.path.join(self.dir, "key.pem") if tls else None
        self.data = os.path.join(self.dir, "data")
        self.logs = os.path.join(self.dir, "logs")

    def pick_ports(self):
        self.port = free_port()           # http_port: what the probe uses
        self.tcp_port = free_port()
        self.interserver_port = free_port()
        self.https_port = free_port() if self.tls else None

    def url(self, https=False):
        if https:
            return "https://127.0.0.1:%d" % self.https_port
        return "http://127.0.0.1:%d" % self.port

    # -- configuration -----------------------------------------------------

    def config_path(self):
        return os.path.join(self.dir, "config.xml")

    def users_path(self):
        return os.path.join(self.dir, "users.xml")

    def write_config(self):
        tree = ET.parse(PACKAGED_CONFIG)
        root = tree.getroot()
        for tag in OTHER_LISTENERS + SHARED_SECTIONS:
            for node in root.findall(tag):
                root.remove(node)
        for node in root.iter():
            node.attrib.pop("incl", None)  # substitutions from /etc/metrika.xml

        _set(root, "listen_host", "127.0.0.1")
        _set(root, "http_port", str(self.port))
        _set(root, "tcp_port", str(self.tcp_port))
        _set(root, "interserver_http_port", str(self.interserver_port))
        _set(root, "interserver_http_host", "127.0.0.1")
        _set(root, "path", self.data + "/")
        _set(root, "tmp_path", self.data + "/tmp/")
        _set(root, "user_files_path", self.data + "/user_files/")
        _set(root, "format_schema_path", self.data + "/format_schemas/")
        _set(root, "users_config", self.users_path())
        _set(root, "logger/level", "information")
        _set(root, "logger/log", os.path.join(self.logs, "clickhouse.log"))
        _set(root, "logger/errorlog", os.path.join(self.logs, "clickhouse.err.log"))
        # Small caches: a test server has nothing to cache, and the packaged
        # 8 GB / 5 GB reservations are only limits, but be modest.
        _set(root, "uncompressed_cache_size", str(64 << 20))
        _set(root, "mark_cache_size", str(64 << 20))
        if self.tls:
            self.make_cert()
            _set(root, "https_port", str(self.https_port))
            _set(root, "openSSL/server/certificateFile", self.cert)
            _set(root, "openSSL/server/privateKeyFile", self.key)
            _set(root, "openSSL/server/verificationMode", "none")
            _set(root, "openSSL/server/loadDefaultCAFile", "false")
        os.makedirs(self.logs, exist_ok=True)
        tree.write(self.config_path())
        self.write_users()

    def make_cert(self):
        if os.path.exists(self.cert):
            return
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
             "-keyout", self.key, "-out", self.cert, "-days", "2",
             "-subj", "/CN=localhost",
             "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
            check=True, stdin=subprocess.DEVNULL, capture_output=True,
            timeout=60)
        os.chmod(self.key, 0o600)

    def write_users(self):
        root = ET.Element("yandex")
        profiles = ET.SubElement(root, "profiles")
        ET.SubElement(ET.SubElement(profiles, "default"),
                      "max_memory_usage").text = str(1 << 30)
        ET.SubElement(ET.SubElement(profiles, "readonly"), "readonly").text = "1"
        users = ET.SubElement(root, "users")

        def add(name, profile, password=None, sha256=None):
            u = ET.SubElement(users, name)
            if sha256 is not None:
                ET.SubElement(u, "password_sha256_hex").text = \
                    hashlib.sha256(sha256.encode()).hexdigest()
            else:
                ET.SubElement(u, "password").text = password or ""
            nets = ET.SubElement(u, "networks")
            ET.SubElement(nets, "ip").text = "127.0.0.1"
            ET.SubElement(nets, "ip").text = "::1"
            ET.SubElement(u, "profile").text = profile
            ET.SubElement(u, "quota").text = "default"

        add("default", "default", password=self.default_password)
        for name, pw in self.users.items():
            add(name, "default", password=pw)
        for name, pw in self.sha256_users.items():
            add(name, "default", sha256=pw)
        for name, pw in self.readonly_users.items():
            add(name, "readonly", password=pw)
        interval = ET.SubElement(ET.SubElement(ET.SubElement(root, "quotas"),
                                               "default"), "interval")
        ET.SubElement(interval, "duration").text = "3600"
        for key in ("queries", "errors", "result_rows", "read_rows",
                    "execution_time"):
            ET.SubElement(interval, key).text = "0"
        ET.ElementTree(root).write(self.users_path())
        os.chmod(self.users_path(), 0o600)

    # -- process -----------------------------------------------------------

    def start(self, wait=True, seconds=30, tries=3):
        """Start the server; with wait, until /ping answers "Ok.".

        free_port() only says a port was free a moment ago; on a busy
        machine another socket may take one of our four before the server
        binds it. A first start that fails with "Address already in use"
        picks new ports and tries again (a restart keeps its ports)."""
        for attempt in range(tries):
            self.write_config()
            self.spawn([CLICKHOUSE_SERVER,
                        "--config-file=" + self.config_path()])
            if not wait:
                break
            try:
                self.wait_ready(seconds)
                break
            except RuntimeError:
                clash = "Address already in use" in self.log_tail()
                if self.started or not clash or attempt + 1 == tries:
                    raise
                self.kill_process()
                self.pick_ports()
                with open(self.log_path(), "ab") as log:
                    log.write(b"clickhouse.py: port clash, new ports\n")
        self.started = True
        return self

    def ping(self):
        """GET /ping's body, or None when it does not answer."""
        try:
            with urllib.request.urlopen(self.url() + "/ping", timeout=1) as r:
                return r.read().decode(errors="replace")
        except (OSError, urllib.error.URLError):
            return None

    def wait_ready(self, seconds=30):
        """Until GET /ping answers "Ok.", bounded in time."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            if (self.ping() or "").strip() == "Ok.":
                return
            time.sleep(0.02)
        raise RuntimeError("clickhouse did not answer /ping within %ss:\n%s"
                           % (seconds, self.log_tail()))

    def stop_server(self):
        """Stop the process, keep the folder: start() brings it back."""
        self.kill_process()

    def wipe(self):
        """Stop the process and empty its data folder: the next start() is
        a first start (the config and users.xml are written again)."""
        self.kill_process()
        shutil.rmtree(self.data, ignore_errors=True)

    def restart(self, wait=True):
        self.stop_server()
        return self.start(wait=wait)

    def log_tail(self, lines=20):
        text = super().log_tail(lines)
        try:
            with open(os.path.join(self.logs, "clickhouse.err.log"),
                      errors="replace") as f:
                text += "".join(f.readlines()[-lines:])
        except OSError:
            pass
        return text

    # -- client ------------------------------------------------------------

    def query(self, sql, user=None, password=None, timeout=30):
        """Run sql over HTTP (as `default` unless told); returns the body.
        Raises RuntimeError with the server's text on an error status."""
        req = urllib.request.Request(self.url() + "/", data=sql.encode(),
                                     method="POST")
        if user:
            req.add_header("X-ClickHouse-User", user)
        if password:
            req.add_header("X-ClickHouse-Key", password)
        elif user is None and self.default_password:
            req.add_header("X-ClickHouse-Key", self.default_password)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.read().decode()
        except urllib.error.HTTPError as e:
            raise RuntimeError("clickhouse %r: HTTP %d: %s"
                               % (sql, e.code, e.read().decode(errors="replace")))
