"""tests/conformance/lifecycles.py - real services driven through their
real lifecycles, for the conformance harness (harness.py).

A target owns one real server for the whole run (started once) and knows
how to ask it a representative question: check() for the truth poller,
client() for the command a tool runs at the moment it says "pass", probe()
for gpcheck's probe section, anchors() for the tools users would otherwise
pick. A lifecycle puts the service into a not-ready state before a trial
(before()) and, in act(), brings it to ready at a random moment, the way
it happens in staging.
"""

import os
import random
import shlex
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "servers"))

import truth  # noqa: E402
from base import free_port  # noqa: E402

# Tools poll a not-ready service this often in the anchors' loops: the
# interval of wait-on's defaults, so that the comparison is about what is
# checked, not how often.
ANCHOR_SLEEP = "0.25"


def wait_for_it(host, port):
    return "wait-for-it -q -t 0 -h %s -p %d" % (host, port)


def delay(rng):
    """When the service becomes ready, seconds after the tools started."""
    return rng.uniform(0.3, 1.5)


class Lifecycle:
    def __init__(self, target, name, before, act):
        self.target, self.name = target, name
        self._before, self._act = before, act

    def before(self):
        self._before()

    def act(self, rng):
        self._act(rng)


# -- tcp -------------------------------------------------------------------

class Tcp:
    name = "tcp"

    def __init__(self):
        self.port = free_port()
        self.sock = None
        self.lock = threading.Lock()

    def start(self):
        pass

    def stop(self):
        self.close()

    def listen(self):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(128)
        with self.lock:
            self.sock = s

    def close(self):
        with self.lock:
            if self.sock:
                self.sock.close()
            self.sock = None

    def check(self):
        return truth.tcp("127.0.0.1", self.port)

    def client(self):
        return "bash -c 'exec 3<>/dev/tcp/127.0.0.1/%d'" % self.port

    def probe(self):
        return "plugin = tcp\nhost = 127.0.0.1\nport = %d\n" % self.port

    def anchors(self):
        return {"wait-for-it": wait_for_it("127.0.0.1", self.port)}

    def lifecycles(self):
        return [Lifecycle(self, "cold start", self.close,
                          lambda rng: (time.sleep(delay(rng)),
                                       self.listen()))]


# -- http ------------------------------------------------------------------

class Http:
    """A service whose health endpoint first fails, then works: 503 while
    it starts, or 200 with a body that says it is still starting."""

    name = "http"

    def __init__(self):
        self.state = ("503", "")
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                status, body = outer.state
                data = body.encode()
                self.send_response(int(status))
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d/healthz" % self.port

    def start(self):
        threading.Thread(target=self.server.serve_forever,
                         daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def check(self):
        return truth.http_body("127.0.0.1", self.port, "/healthz", "ready")

    def client(self):
        return "[ \"$(curl -fsS --max-time 2 %s)\" = ready ]" % self.url

    def probe(self):
        return ("plugin = http\nurl = %s\nexpect_status = 200\n"
                "expect_body = ready\n" % self.url)

    def anchors(self):
        return {"curl -f": "until curl -fsS -o /dev/null --max-time 2 %s; "
                           "do sleep %s; done" % (self.url, ANCHOR_SLEEP),
                "wait-for-it": wait_for_it("127.0.0.1", self.port)}

    def set(self, status, body):
        self.state = (status, body)

    def lifecycles(self):
        def ready(rng):
            time.sleep(delay(rng))
            self.set("200", "ready")
        return [
            Lifecycle(self, "503 then 200",
                      lambda: self.set("503", "starting"), ready),
            Lifecycle(self, "'starting' then 'ready'",
                      lambda: self.set("200", "starting"), ready)]


# -- redis -----------------------------------------------------------------

class Redis:
    name = "redis"

    def __init__(self, loading_keys):
        from redis import Redis as Server
        self.srv = Server()
        self.loading_keys = loading_keys
        self.rng = random.Random()

    def start(self):
        self.srv.start()
        # A data set that takes a while to load: restarts answer LOADING.
        self.srv.make_loading_rdb(keys=self.loading_keys)

    def stop(self):
        self.srv.stop()

    def check(self):
        return truth.redis("127.0.0.1", self.srv.port)

    def client(self):
        cli = "redis-cli -e -h 127.0.0.1 -p %d" % self.srv.port
        return ("%s SET gpcheck:gated 1 >/dev/null && "
                "[ \"$(%s GET gpcheck:gated)\" = 1 ]" % (cli, cli))

    def probe(self):
        return "plugin = redis\nhost = 127.0.0.1\nport = %d\n" % self.srv.port

    def anchors(self):
        return {"redis-cli ping": "until [ \"$(redis-cli -h 127.0.0.1 -p %d "
                                  "ping 2>/dev/null)\" = PONG ]; do sleep %s; "
                                  "done" % (self.srv.port, ANCHOR_SLEEP),
                "wait-for-it": wait_for_it("127.0.0.1", self.srv.port)}

    def kill(self):
        if self.srv.proc and self.srv.proc.poll() is None:
            os.killpg(self.srv.proc.pid, signal.SIGKILL)
            self.srv.proc.wait(10)

    def lifecycles(self):
        def start_late(rng):
            time.sleep(delay(rng))
            self.srv.start(wait=False)

        def restart_now(rng):
            # Started at once: the trial is the LOADING phase itself.
            self.srv.start(wait=False)

        def pause():
            # CLIENT PAUSE ALL holds every client's commands, CLIENT
            # UNPAUSE included: the pause is given its random length up
            # front and ends by itself.
            self.ensure_up()
            ms = int(delay(self.rng) * 1000)
            self.srv.cli("CLIENT", "PAUSE", ms, "ALL")
        return [
            Lifecycle(self, "cold start", self.srv.stop_server, start_late),
            Lifecycle(self, "loading a large RDB", self.srv.stop_server,
                      restart_now),
            Lifecycle(self, "crash (SIGKILL) and restart", self.kill,
                      start_late),
            Lifecycle(self, "CLIENT PAUSE ALL", pause, lambda rng: None)]

    def ensure_up(self):
        if self.srv.proc is None or self.srv.proc.poll() is not None:
            self.srv.start()
        self.srv.wait_ready(30)


# -- dns -------------------------------------------------------------------

class Dns:
    """dnsmasq, where a record is added while the tools wait (a zone being
    provisioned): each trial asks for a new name."""

    name = "dns"
    ADDRESS = "10.20.30.40"

    def __init__(self):
        from dns import Dnsmasq
        self.srv = Dnsmasq()
        self.n = 0
        self.qname = "late0.conformance.test"

    def start(self):
        self.srv.start()

    def stop(self):
        self.srv.stop()

    def dig(self):
        return ("dig +short +time=1 +tries=1 -p %d @127.0.0.1 %s A"
                % (self.srv.port, self.qname))

    def check(self):
        return truth.dns(self.srv.port, self.qname, self.ADDRESS)

    def client(self):
        return "[ \"$(%s)\" = %s ]" % (self.dig(), self.ADDRESS)

    def probe(self):
        return ("plugin = dns\nname = %s\ntype = A\nserver = 127.0.0.1:%d\n"
                "expect = %s\n" % (self.qname, self.srv.port, self.ADDRESS))

    def anchors(self):
        return {"dig loop": "until [ -n \"$(%s 2>/dev/null)\" ]; do sleep %s; "
                            "done" % (self.dig(), ANCHOR_SLEEP),
                "wait-for-it": wait_for_it("127.0.0.1", self.srv.port)}

    def lifecycles(self):
        def new_name():
            self.n += 1
            self.qname = "late%d.conformance.test" % self.n

        def add(rng):
            time.sleep(delay(rng))
            self.srv.add_host(self.qname, self.ADDRESS)
        return [Lifecycle(self, "record added late", new_name, add)]


# -- postgres ----------------------------------------------------------------

class Postgres:
    name = "postgres"
    PASSWORD = "conformance-pw-7d1c"

    def __init__(self):
        from postgres import Postgres as Server
        self.srv = Server(max_connections=20)
        self.db = "app"
        self.held = []
        self.late = 0

    def start(self):
        self.srv.start()
        self.srv.create_role("app", password=self.PASSWORD)
        self.srv.create_db("app", owner="app")

    def stop(self):
        self.release()
        self.srv.stop()

    def dsn(self):
        return self.srv.dsn("app", self.db, self.PASSWORD)

    def check(self):
        return truth.postgres(self.dsn())

    def client(self):
        return ("PGPASSWORD=%s psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 "
                "-p %d -U app -d %s -c %s >/dev/null"
                % (self.PASSWORD, self.srv.port, self.db,
                   shlex.quote("CREATE TEMP TABLE t(x int); "
                               "INSERT INTO t VALUES (1); SELECT x FROM t")))

    def probe(self):
        return "plugin = postgres\ndsn = %s\n" % self.dsn()

    def anchors(self):
        return {"pg_isready": "until pg_isready -q -h 127.0.0.1 -p %d -d %s; "
                              "do sleep %s; done"
                              % (self.srv.port, self.db, ANCHOR_SLEEP),
                "wait-for-it": wait_for_it("127.0.0.1", self.srv.port)}

    def ensure_up(self):
        if not self.srv.running():
            self.srv.start()
        self.release()
        self.db = "app"

    def release(self):
        for p in self.held:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
            p.wait(10)
            p.stdout.close()
        self.held = []

    def lifecycles(self):
        def start_late(rng):
            time.sleep(delay(rng))
            self.srv.start(wait=False)

        def stopped():
            self.ensure_up()
            self.srv.stop_server()

        def crashed():
            self.ensure_up()
            self.srv.crash()

        def no_db_yet():
            self.ensure_up()
            self.late += 1
            self.db = "late%d" % self.late

        def create_db(rng):
            time.sleep(delay(rng))
            self.srv.create_db(self.db, owner="app")

        def full():
            self.ensure_up()
            # Every slot taken, the superuser's reserved ones too.
            for _ in range(self.srv.max_connections):
                p = self.srv.hold(seconds=60)
                if p is None:
                    break
                self.held.append(p)

        def free(rng):
            time.sleep(delay(rng))
            self.release()
        return [
            Lifecycle(self, "cold start", stopped, start_late),
            Lifecycle(self, "crash recovery", crashed, start_late),
            Lifecycle(self, "database created late", no_db_yet, create_db),
            Lifecycle(self, "too many connections, then freed", full, free)]


def targets(names, loading_keys):
    """One maker per name: a target picks its ports when made, so the run
    makes each just before it starts it (a port picked minutes earlier may
    have been taken since)."""
    make = {"tcp": Tcp, "http": Http, "dns": Dns,
            "redis": lambda: Redis(loading_keys), "postgres": Postgres}
    return [make[n] for n in names]


__all__ = ["targets", "random"]
