"""tests/integration/test_serve.py - `gpcheck serve` against real PostgreSQL
and Redis on loopback (tests/servers/), asked by real clients (curl and
Python's http.client): cold start, verdict transitions as Redis stops and
starts, stale results, fresh checks shared by concurrent clients, long-polls,
reload of a valid and a broken configuration, the bearer token, connection
limits and a slowloris client, SIGTERM with clients connected, and no secret
in any response or log line.

One Redis and one PostgreSQL for the whole file; each test starts its own
`gpcheck serve` on port 0 (it logs the port it got). Every wait is bounded.
"""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

from gp import BIN, GRACE, GpTestCase, wait_until

from postgres import Postgres
from redis import Redis

PASSWORD = "serve-S3cret-Kq7w"
PG_PASSWORD = "pg-S3cret-Zp4v"
TOKEN = "tok-0123456789abcdef-Xy"


class Serve:
    """A running `gpcheck serve`; stop() sends SIGTERM and waits."""

    def __init__(self, case, *args, env=None):
        self.case = case
        self.log_path = os.path.join(case.tmp, "serve-%d.log" % id(self))
        self.log_file = open(self.log_path, "w")
        full_env = dict(os.environ)
        full_env.pop("GPCHECK_CONFIG", None)
        full_env.pop("GPCHECK_ENV", None)
        full_env["PGPASSFILE"] = os.path.join(case.tmp, "no-pgpass")
        # serve keeps a history by default, in the per-user state folder:
        # the test's own, never the real one
        full_env["XDG_STATE_HOME"] = os.path.join(case.tmp, "state")
        full_env.update(env or {})
        argv = [BIN, "serve", "--conf-dir", case.confd]
        if os.path.exists(case.main):
            argv += ["-c", case.main]
        self.n_listen = sum(a == "--listen" for a in args) or 1
        if not any(a == "--listen" for a in args):
            argv += ["--listen", "127.0.0.1:0"]
        self.proc = subprocess.Popen(argv + list(args), stdout=self.log_file,
                                     stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=case.tmp,
                                     env=full_env)
        case.addCleanup(self.kill)
        self.ports = []
        ok = wait_until(self._listening, 10)
        case.assertTrue(ok, "serve did not listen: " + self.log())
        self.port = self.ports[0]

    def _listening(self):
        self.ports = [int(p) for p in
                      re.findall(r'listening.*?port"?[=:]"?(\d+)',
                                 self.log())]
        return len(self.ports) >= self.n_listen or \
            self.proc.poll() is not None

    def log(self):
        with open(self.log_path) as f:
            return f.read()

    def request(self, path, method="GET", headers=None, timeout=30,
                port=None, host="127.0.0.1"):
        """(status, headers dict, body text) with http.client."""
        c = http.client.HTTPConnection(host, port or self.port,
                                       timeout=timeout)
        try:
            c.request(method, path, headers=headers or {})
            r = c.getresponse()
            return r.status, dict(r.getheaders()), r.read().decode()
        finally:
            c.close()

    def json(self, path, **kw):
        code, _, body = self.request(path, **kw)
        return code, json.loads(body)

    def curl(self, *args):
        """curl's status code and body."""
        p = subprocess.run(["curl", "-sS", "--max-time", "30", "-w",
                            "\n%{http_code}"] + list(args),
                           capture_output=True, text=True, timeout=40)
        body, _, code = p.stdout.rpartition("\n")
        return int(code or 0), body

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def wait_code(self, path, code, seconds):
        """Seconds until path answered `code`, or None."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < seconds:
            try:
                if self.request(path, timeout=5)[0] == code:
                    return time.monotonic() - t0
            except OSError:
                pass
            time.sleep(0.05)
        return None

    def stop(self, sig=signal.SIGTERM, seconds=15):
        self.proc.send_signal(sig)
        rc = self.proc.wait(seconds)
        self.log_file.close()
        return rc

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        if not self.log_file.closed:
            self.log_file.close()
        # In a sanitizer build, what it found is in the log.
        self.case.assertNotIn("Sanitizer", self.log())


class ServeTest(GpTestCase):
    @classmethod
    def setUpClass(cls):
        cls.redis = Redis(password=PASSWORD)
        cls.addClassCleanup(cls.redis.stop)
        cls.redis.start()
        cls.pg = Postgres(settings={"log_connections": "on"})
        cls.addClassCleanup(cls.pg.stop)
        cls.pg.start()
        cls.pg.create_role("app", PG_PASSWORD)
        cls.pg.create_db("appdb", owner="app")

    def cache(self, name="cache", policy="interval = 1s\ntimeout = 1s\n"
              "attempts = 1", password=PASSWORD):
        self.write("conf.d/%s.ini" % name,
                   "[%s]\nplugin = redis\nport = %d\npassword = %s\n%s\n"
                   % (name, self.redis.port, password, policy))

    def db(self, name="db", policy="interval = 1s\ntimeout = 2s\n"
           "attempts = 1"):
        self.write("conf.d/%s.ini" % name,
                   "[%s]\nplugin = postgres\ndsn = %s\npassword = %s\n%s\n"
                   % (name, self.pg.dsn("app", "appdb"), PG_PASSWORD, policy))

    def slow(self, name="slow", seconds=1, policy="interval = 30s\n"
             "timeout = 10s\nattempts = 1"):
        self.write("conf.d/%s.ini" % name,
                   "[%s]\nplugin = exec\ncommand = sleep, %s\n%s\n"
                   % (name, seconds, policy))

    # -- cold start, formats, endpoints -----------------------------------

    def test_cold_start_pending_then_pass_in_every_format(self):
        self.cache()
        self.slow(seconds=2)
        srv = Serve(self)
        code, doc = srv.json("/v1/verdict")
        self.assertEqual(code, 503)
        self.assertEqual(doc["verdict"], "pending")
        self.assertEqual(doc["serve"]["status"], "pending")
        self.assertIsNotNone(srv.wait_code("/readyz", 200, 10), srv.log())
        code, doc = srv.json("/v1/verdict")
        self.assertEqual((code, doc["verdict"]), (200, "pass"))
        self.assertEqual({p["name"]: p["status"] for p in doc["probes"]},
                         {"cache": "ok", "slow": "ok"})
        # curl, ?format= and Accept pick the other renderers.
        code, text = srv.curl(srv.url("/v1/verdict?format=text"))
        self.assertEqual(code, 200)
        self.assertIn("verdict: pass", text)
        code, _, xml = srv.request("/v1/verdict",
                                   headers={"Accept": "application/xml"})
        self.assertIn("<testsuite", xml)
        code, prom = srv.curl(srv.url("/metrics"))
        self.assertEqual(code, 200)
        self.assertIn('gpcheck_verdict{verdict="pass"} 1', prom)
        self.assertIn('gpcheck_serve_result_age_seconds{probe="cache"}',
                      prom)
        self.assertIn("gpcheck_config_reload_success 1", prom)
        self.assertRegex(prom, r'gpcheck_serve_requests_total\{route='
                         r'"/v1/verdict",code="200"\} [1-9]')
        self.assertEqual(srv.request("/v1/verdict?format=yaml")[0], 400)
        self.assertEqual(srv.request("/nope")[0], 404)
        self.assertEqual(srv.request("/v1/verdict", method="DELETE")[0], 405)
        self.assertEqual(srv.curl(srv.url("/healthz")), (200, "ok\n"))
        code, p = srv.json("/v1/probes/cache")
        self.assertEqual(code, 200)
        self.assertEqual(p["latest"]["status"], "ok")
        self.assertGreaterEqual(len(p["recent"]), 1)
        self.assertEqual(srv.request("/v1/probes/nope")[0], 404)
        self.assertIn("client-error", srv.log())
        self.assertEqual(srv.stop(), 0)

    def test_history_on_by_default_one_run_per_round(self):
        # Issue 15: the history is on for serve (the per-user file): one
        # run each time every probe has a new result, readable by
        # `gpcheck history`; --no-history keeps none.
        self.cache(policy="interval = 300ms\ntimeout = 1s\n")
        self.db(policy="interval = 300ms\ntimeout = 2s\n")
        srv = Serve(self)
        self.assertIsNotNone(srv.wait_code("/readyz", 200, 10), srv.log())
        path = os.path.join(self.tmp, "state", "gpcheck", "history.db")
        runs = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(runs) < 3:
            time.sleep(0.3)
            out = subprocess.run([BIN, "history", "--history", path, "-o",
                                  "json", "-n", "50"], capture_output=True,
                                 text=True, timeout=30)
            if out.returncode == 0:
                runs = json.loads(out.stdout)
        self.assertEqual(srv.stop(), 0)
        self.assertGreaterEqual(len(runs), 3, runs)
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        for r in runs:
            self.assertEqual(r["verdict"], "pass", r)
            self.assertEqual(sorted(p["name"] for p in r["probes"]),
                             ["cache", "db"])
        self.assertNotIn(PG_PASSWORD, open(path, "rb").read().decode(
            "latin-1"))
        # 300 ms rounds over at most a few seconds: rounds, not results
        self.assertLess(len(runs), 40)

        other = os.path.join(self.tmp, "state2")
        srv = Serve(self, "--no-history", env={"XDG_STATE_HOME": other})
        self.assertIsNotNone(srv.wait_code("/readyz", 200, 10), srv.log())
        time.sleep(1)
        self.assertEqual(srv.stop(), 0)
        self.assertFalse(os.path.exists(other), os.listdir(self.tmp))

    def test_ipv6_and_two_listeners(self):
        self.cache()
        srv = Serve(self, "--listen", "127.0.0.1:0", "--listen", "[::1]:0")
        self.assertEqual(len(srv.ports), 2, srv.log())
        self.assertIsNotNone(srv.wait_code("/readyz", 200, 10))
        code, body = srv.curl("-g", "http://[::1]:%d/v1/verdict" %
                              srv.ports[1])
        self.assertEqual(code, 200, body)
        self.assertEqual(json.loads(body)["verdict"], "pass")

    # -- transitions and staleness ----------------------------------------

    def test_redis_stop_and_start_turns_the_verdict(self):
        self.cache()
        self.db()
        srv = Serve(self)
        self.assertIsNotNone(srv.wait_code("/readyz", 200, 15), srv.log())
        self.redis.stop_server()
        try:
            took = srv.wait_code("/readyz", 503, 10)
            # One interval (1s, jitter 10%) plus one deadline (1s).
            self.assertIsNotNone(took, srv.log())
            self.assertLess(took, 1.1 + 1.0 + GRACE)
            code, doc = srv.json("/v1/verdict")
            self.assertEqual(doc["verdict"], "fail")
            st = {p["name"]: p["status"] for p in doc["probes"]}
            self.assertEqual(st, {"cache": "fail", "db": "ok"})
        finally:
            self.redis.start()
        took = srv.wait_code("/readyz", 200, 10)
        self.assertIsNotNone(took, srv.log())
        self.assertLess(took, 1.1 + 1.0 + GRACE)
        log = srv.log()
        self.assertIn("probe probe=cache from=ok to=fail", log)
        self.assertIn("probe probe=cache from=fail to=ok", log)
        self.assertIn("verdict from=fail to=pass", log)

    def test_stale_result_counts_as_timeout(self):
        # slow's probing takes 3 s, longer than its max_age of 1 s: its
        # result goes stale while the next probing runs. cache, probed on
        # its own schedule meanwhile, stays fresh.
        self.cache(policy="interval = 500ms\ntimeout = 1s\nattempts = 1")
        self.slow(seconds=3, policy="interval = 500ms\nmax_age = 1s\n"
                  "timeout = 10s\nattempts = 1")
        srv = Serve(self)

        def stale():
            code, doc = srv.json("/v1/verdict")
            st = {p["name"]: p for p in doc["probes"]}
            return code == 503 and st["slow"]["status"] == "timeout" and \
                st["slow"]["message"].startswith("stale: ") and \
                st["cache"]["status"] == "ok" and \
                doc["serve"]["stale"] == ["slow"]
        self.assertTrue(wait_until(stale, 15), srv.log())
        code, p = srv.json("/v1/probes/slow")
        self.assertTrue(p["stale"])
        self.assertIn('gpcheck_serve_probe_stale{probe="slow"} 1',
                      srv.request("/metrics")[2])
        # cache kept its own interval while slow's probings ran.
        code, p = srv.json("/v1/probes/cache")
        self.assertGreaterEqual(p["probings"], 4, p)

    # -- single-flight and long-poll --------------------------------------

    def redis_connections(self):
        out = self.redis.cli("INFO", "stats").stdout
        return int(re.search(r"total_connections_received:(\d+)",
                             out).group(1))

    def test_fresh_checks_share_one_probing(self):
        self.cache(policy="interval = 1h\ntimeout = 2s\nattempts = 1")
        srv = Serve(self, "--min-spacing", "60s")
        self.assertIsNotNone(srv.wait_code("/readyz", 200, 10))
        before = srv.json("/v1/probes/cache")[1]["probings"]
        conns = self.redis_connections()
        results = []

        def ask(i):
            path = "/v1/probes/cache/check" if i % 2 else \
                "/v1/probes/cache?fresh=1"
            code, _, body = srv.request(path, method="POST" if i % 2
                                        else "GET")
            results.append((code, json.loads(body)["probings"]))
        threads = [threading.Thread(target=ask, args=(i,)) for i in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertEqual(len(results), 20)
        self.assertTrue(all(c == 200 for c, _ in results), results)
        after = srv.json("/v1/probes/cache")[1]["probings"]
        self.assertEqual(after, before + 1, results)
        # The target saw one probe's connection, not twenty (redis-cli
        # INFO itself is one more).
        self.assertEqual(self.redis_connections() - conns, 1 + 1)
        # Inside the spacing a new fresh check probes nothing.
        srv.request("/v1/probes/cache/check", method="POST")
        self.assertEqual(srv.json("/v1/probes/cache")[1]["probings"], after)
        self.assertEqual(srv.request("/v1/probes/cache/check")[0], 405)

    def test_wait_long_polls_until_pass(self):
        self.db()
        self.slow(seconds=2)
        srv = Serve(self)
        t0 = time.monotonic()
        code, body = srv.curl(srv.url("/v1/wait?timeout=20s"))
        took = time.monotonic() - t0
        self.assertEqual(code, 200, body)
        self.assertEqual(json.loads(body)["verdict"], "pass")
        self.assertGreater(took, 1.0)  # it waited for slow's first result
        self.assertLess(took, 2 + 2 + GRACE)
        # A verdict that stays fail answers 503 when the timeout passes.
        self.write("conf.d/db.ini", "[db]\nplugin = tcp\nhost = 127.0.0.1\n"
                   "port = 1\ninterval = 1s\nattempts = 1\n")
        os.unlink(os.path.join(self.confd, "slow.ini"))
        srv.proc.send_signal(signal.SIGHUP)
        self.assertIsNotNone(srv.wait_code("/readyz", 503, 10), srv.log())
        t0 = time.monotonic()
        code, _ = srv.curl(srv.url("/v1/wait?timeout=1s"))
        self.assertEqual(code, 503)
        self.assertGreater(time.monotonic() - t0, 0.9)
        self.assertEqual(srv.request("/v1/wait?timeout=forever")[0], 400)

    # -- reload -----------------------------------------------------------

    def test_reload_valid_then_broken_keeps_the_old(self):
        self.cache()
        srv = Serve(self, "--enable-reload")
        self.assertIsNotNone(srv.wait_code("/readyz", 200, 10))
        self.db()
        srv.proc.send_signal(signal.SIGHUP)
        self.assertTrue(wait_until(lambda: "reloaded trigger=SIGHUP" in
                                   srv.log(), 10), srv.log())

        def has_db():
            names = [p["name"] for p in srv.json("/v1/verdict")[1]["probes"]]
            return names == ["cache", "db"]
        self.assertTrue(wait_until(has_db, 10), srv.log())
        # Broken: an unknown key. The old configuration stays, and says why.
        bad = self.write("conf.d/db.ini", "[db]\nplugin = postgres\n"
                         "dsn = host=127.0.0.1\nintervall = 1s\n")
        srv.proc.send_signal(signal.SIGHUP)
        self.assertTrue(wait_until(lambda: "reload-failed" in srv.log(), 10))
        line = [ln for ln in srv.log().splitlines()
                if "reload-failed" in ln][0]
        self.assertIn("%s:4" % bad, line)
        self.assertIn("intervall", line)
        self.assertIn("gpcheck_config_reload_success 0",
                      srv.request("/metrics")[2])
        code, doc = srv.json("/v1/verdict")
        self.assertEqual(code, 200)
        self.assertEqual([p["name"] for p in doc["probes"]], ["cache", "db"])
        # POST /-/reload says so too; a fixed file swaps in.
        self.assertEqual(srv.request("/-/reload", method="POST")[0], 400)
        self.write("conf.d/db.ini", "")
        os.unlink(bad)
        code, _, body = srv.request("/-/reload", method="POST")
        self.assertEqual(code, 200, srv.log())
        self.assertIn("gpcheck_config_reload_success 1",
                      srv.request("/metrics")[2])
        self.assertTrue(wait_until(
            lambda: [p["name"] for p in srv.json("/v1/verdict")[1]["probes"]]
            == ["cache"], 10))

    def test_reload_over_http_needs_the_flag(self):
        self.cache()
        srv = Serve(self)
        self.assertEqual(srv.request("/-/reload", method="POST")[0], 404)

    # -- safety -----------------------------------------------------------

    def test_bearer_token(self):
        self.cache()
        tok = self.write("token", TOKEN + "\n")
        srv = Serve(self, "--token-file", tok)
        self.assertEqual(srv.request("/v1/verdict")[0], 401)
        bad = {"Authorization": "Bearer " + TOKEN[:-1] + "z"}
        self.assertEqual(srv.request("/v1/verdict", headers=bad)[0], 401)
        self.assertEqual(srv.request("/metrics")[0], 401)
        good = {"Authorization": "Bearer " + TOKEN}
        self.assertIsNotNone(wait_until(
            lambda: srv.request("/v1/verdict", headers=good)[0] == 200, 10))
        code, _ = srv.curl("-H", "Authorization: Bearer " + TOKEN,
                           srv.url("/readyz"))
        self.assertEqual(code, 200)
        self.assertEqual(srv.request("/healthz")[0], 200)  # liveness
        self.assertNotIn(TOKEN, srv.log())

    def test_non_loopback_needs_a_token_or_insecure_listen(self):
        self.cache()
        p = subprocess.run([BIN, "serve", "--conf-dir", self.confd,
                            "--listen", "0.0.0.0:0"], capture_output=True,
                           text=True, timeout=20)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("--listen 0.0.0.0:0: not a loopback address", p.stderr)
        p = subprocess.run([BIN, "serve", "--conf-dir", self.confd,
                            "--listen", "localhost"], capture_output=True,
                           text=True, timeout=20)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("--listen localhost: expected ADDR:PORT", p.stderr)

    def test_slowloris_cut_and_limits(self):
        self.cache()
        srv = Serve(self, "--connection-timeout", "1s", "--max-per-ip", "3")
        self.assertIsNotNone(srv.wait_code("/readyz", 200, 10))
        # A client that sends half a request and then nothing is cut.
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        s.sendall(b"GET /v1/verdict HTTP/1.1\r\nHost: x\r\n")
        t0 = time.monotonic()
        self.assertEqual(s.recv(100), b"")
        self.assertLess(time.monotonic() - t0, 1 + 1 + GRACE)
        s.close()
        # Connections past --max-per-ip are refused (closed at once), and
        # the server still answers once they are gone.
        held = [socket.create_connection(("127.0.0.1", srv.port), timeout=5)
                for _ in range(3)]
        extra = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        extra.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
        try:
            got = extra.recv(100)
        except ConnectionResetError:
            got = b""
        self.assertEqual(got, b"")
        for h in held + [extra]:
            h.close()
        self.assertIsNotNone(srv.wait_code("/healthz", 200, 5))
        # A header larger than the connection's memory is refused.
        big = {"X-Big": "a" * 64 * 1024}
        try:
            code = srv.request("/v1/verdict", headers=big)[0]
        except (ConnectionError, http.client.HTTPException):
            code = 0
        self.assertIn(code, (0, 431))
        self.assertEqual(srv.request("/healthz")[0], 200)
        # No endpoint takes a body: a large one is refused, not read.
        c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
        try:
            c.request("POST", "/v1/probes/cache/check", body=b"x" * 10**6)
            code = c.getresponse().status
        except (ConnectionError, http.client.HTTPException):
            code = 0
        finally:
            c.close()
        self.assertIn(code, (0, 413))
        self.assertEqual(srv.request("/healthz")[0], 200)
        self.assertIn("no endpoint takes a request body", srv.log())

    def test_long_polls_are_capped(self):
        self.write("conf.d/down.ini", "[down]\nplugin = tcp\nhost = "
                   "127.0.0.1\nport = 1\ninterval = 1s\nattempts = 1\n")
        srv = Serve(self, "--max-waits", "2")
        codes = []
        ts = [threading.Thread(target=lambda: codes.append(
            srv.request("/v1/wait?timeout=2s")[0])) for _ in range(2)]
        for t in ts:
            t.start()
        self.assertTrue(wait_until(lambda: "gpcheck_serve_waits 2" in
                                   srv.request("/metrics")[2], 10))
        self.assertEqual(srv.request("/v1/wait?timeout=2s")[0], 429)
        for t in ts:
            t.join(10)
        self.assertEqual(codes, [503, 503])

    def test_long_polls_per_client_address_are_capped(self):
        self.write("conf.d/down.ini", "[down]\nplugin = tcp\nhost = "
                   "127.0.0.1\nport = 1\ninterval = 1s\nattempts = 1\n")
        srv = Serve(self, "--max-waits-per-ip", "1", "--listen",
                    "127.0.0.1:0", "--listen", "[::1]:0")
        codes = []
        t = threading.Thread(target=lambda: codes.append(
            srv.request("/v1/wait?timeout=2s")[0]))
        t.start()
        self.assertTrue(wait_until(lambda: "gpcheck_serve_waits 1" in
                                   srv.request("/metrics")[2], 10))
        self.assertEqual(srv.request("/v1/wait?timeout=1s")[0], 429)
        # Another address (::1) still gets its long-poll.
        self.assertEqual(srv.request("/v1/wait?timeout=1s", host="::1",
                                     port=srv.ports[1])[0], 503)
        t.join(10)
        self.assertEqual(codes, [503])
        self.assertEqual(srv.request("/v1/wait?timeout=0s")[0], 503)

    def test_sigterm_with_clients_connected(self):
        self.write("conf.d/down.ini", "[down]\nplugin = tcp\nhost = "
                   "127.0.0.1\nport = 1\ninterval = 500ms\nattempts = 1\n")
        marker = "gpcheck-serve-sigterm-%d" % os.getpid()
        self.write("conf.d/hang.ini", "[hang]\nplugin = exec\ncommand = "
                   "python3, -c, import time; time.sleep(60), %s\n"
                   "interval = 1s\ntimeout = 60s\nattempts = 1\n" % marker)
        srv = Serve(self, "--grace", "2s")
        self.assertTrue(wait_until(lambda: self.pids_of(marker), 10))
        answers = []

        def poll():
            try:
                answers.append(srv.request("/v1/wait?timeout=30s")[0])
            except OSError as e:
                answers.append(repr(e))
        clients = [threading.Thread(target=poll) for _ in range(5)]
        for t in clients:
            t.start()
        self.assertTrue(wait_until(
            lambda: "gpcheck_serve_waits 5" in srv.request("/metrics")[2],
            10))
        t0 = time.monotonic()
        self.assertEqual(srv.stop(), 0)
        self.assertLess(time.monotonic() - t0, 2 + GRACE)
        for t in clients:
            t.join(10)
        self.assertEqual(answers, [503] * 5)
        self.assertEqual(self.pids_of(marker), [])
        self.assertIn("stopping signal=SIGTERM", srv.log())
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", srv.port), timeout=2)

    @staticmethod
    def pids_of(marker):
        pids = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/cmdline" % d, "rb") as f:
                    if marker.encode() in f.read():
                        pids.append(int(d))
            except OSError:
                pass
        return pids

    def test_no_secret_in_any_response_or_log(self):
        self.cache()
        self.cache("wrongpw", password=PASSWORD + "-wrong")
        self.db()
        srv = Serve(self, "--log-format", "json")
        self.assertTrue(wait_until(lambda: srv.request("/v1/probes/wrongpw")
                                   [0] == 200 and
                                   srv.json("/v1/probes/wrongpw")[1]
                                   ["probings"] >= 1, 10))
        texts = [srv.request("/v1/verdict?format=" + f)[2]
                 for f in ("json", "text", "prometheus", "junit")]
        texts += [srv.request(p)[2] for p in
                  ("/metrics", "/v1/probes/cache", "/v1/probes/wrongpw",
                   "/v1/probes/db", "/v1/wait?timeout=0s", "/nope?x=%s"
                   % PASSWORD)]
        srv.stop()
        texts.append(srv.log())
        for t in texts:
            self.assertNotIn(PASSWORD, t)
            self.assertNotIn(PG_PASSWORD, t)
        # The log is JSON, one object per line.
        for ln in srv.log().splitlines():
            self.assertIn("event", json.loads(ln))

    def test_one_probe_worth_of_connections_for_many_clients(self):
        self.db(policy="interval = 1s\ntimeout = 2s\nattempts = 1\n"
                "jitter = 0%")
        srv = Serve(self)
        self.assertIsNotNone(srv.wait_code("/readyz", 200, 10))

        def connections():
            with open(self.pg.log_path()) as f:
                return len(re.findall(r"connection authorized: user=app",
                                      f.read()))
        stop = time.monotonic() + 3
        c0 = connections()
        asked = [0]

        def hammer():
            while time.monotonic() < stop:
                srv.request("/v1/verdict")
                asked[0] += 1
        ts = [threading.Thread(target=hammer) for _ in range(8)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(10)
        seen = connections() - c0
        self.assertGreater(asked[0], 100)
        # 3 s at interval 1s: about 3 probings, whatever the clients do.
        self.assertLessEqual(seen, 4, (seen, asked[0]))
        self.assertGreaterEqual(seen, 2)

    # -- run --gate: the client side --------------------------------------

    def test_run_gate_reports_and_execs_like_a_local_run(self):
        self.cache()
        srv = Serve(self)
        out = os.path.join(self.tmp, "gate.json")
        p = self.gp("run", "--gate", "http://u:%s@127.0.0.1:%d/"
                    % (PASSWORD, srv.port), "--deadline", "10s", "-o",
                    "json:" + out, "-o", "junit", "--", "sh", "-c",
                    "echo ran $GPCHECK_VERDICT")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("ran pass", p.stdout)
        self.assertIn("<testsuite", p.stdout)
        self.assertIn("verdict: pass", p.stderr)  # the text report
        with open(out) as f:
            self.assertEqual(json.load(f)["verdict"], "pass")
        self.assertNotIn(PASSWORD, p.stderr + p.stdout)
        # A failing verdict: exit 1, and the command does not run.
        self.redis.stop_server()
        try:
            self.assertIsNotNone(srv.wait_code("/readyz", 503, 10))
            p = self.gp("run", "--gate", "http://127.0.0.1:%d" % srv.port,
                        "--deadline", "1s", "--", "sh", "-c", "echo ran")
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertNotIn("ran", p.stdout)
            self.assertIn("says: fail", p.stderr)
        finally:
            self.redis.start()

    def test_run_gate_waits_within_the_deadline(self):
        self.slow(seconds=2)
        srv = Serve(self)
        p = self.gp("run", "--gate", "http://127.0.0.1:%d" % srv.port,
                    "--deadline", "500ms")
        self.assertEqual(p.returncode, 124, p.stderr)  # still pending
        self.assertIn("says: pending", p.stderr)
        p = self.gp("run", "--gate", "http://127.0.0.1:%d" % srv.port,
                    "--deadline", "15s")
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_run_gate_unreachable(self):
        self.cache()
        port = socket.socket()
        port.bind(("127.0.0.1", 0))
        dead = "http://127.0.0.1:%d" % port.getsockname()[1]
        port.close()
        p = self.gp("run", "--gate", dead, "--deadline", "2s", "--",
                    "sh", "-c", "echo ran")
        self.assertEqual(p.returncode, 1)
        self.assertIn("cannot be reached", p.stderr)
        self.assertNotIn("ran", p.stdout)
        p = self.gp("run", "--gate", dead, "--gate-fallback", "local",
                    "--deadline", "10s", "--", "sh", "-c", "echo ran")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("probing here", p.stderr)
        self.assertIn("ran", p.stdout)
        p = self.gp("run", "--gate", "not a url")
        self.assertEqual(p.returncode, 2)

    def test_run_gate_token(self):
        self.cache()
        tok = self.write("token", TOKEN + "\n")
        srv = Serve(self, "--token-file", tok)
        url = "http://127.0.0.1:%d" % srv.port
        p = self.gp("run", "--gate", url, "--deadline", "5s")
        self.assertEqual(p.returncode, 1)
        self.assertIn("refused the request (401)", p.stderr)
        p = self.gp("run", "--gate", url, "--gate-token-file", tok,
                    "--deadline", "10s")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn(TOKEN, p.stderr + p.stdout)

    # -- examples/ for serve: each file checked by the tool that reads it,
    # and the CI job's gate command run as written against a real serve.

    EX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                      "examples")

    def test_prometheus_scrape_config_and_rules(self):
        tok = self.write("gpcheck.token", TOKEN)
        with open(os.path.join(self.EX, "prometheus-serve.yml")) as f:
            conf = f.read().replace("/etc/prometheus/gpcheck.token", tok)
        self.write("prometheus.yml", conf)
        with open(os.path.join(self.EX, "gpcheck-rules.yml")) as f:
            self.write("gpcheck-rules.yml", f.read())
        p = subprocess.run(["promtool", "check", "config",
                            os.path.join(self.tmp, "prometheus.yml")],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        # The rules' metrics are the ones serve exports.
        self.cache()
        srv = Serve(self)
        self.assertIsNotNone(srv.wait_code("/readyz", 200, 10))
        metrics = srv.request("/metrics")[2]
        for name in ("gpcheck_verdict", "gpcheck_config_reload_success",
                     "gpcheck_serve_probe_stale"):
            self.assertIn(name, metrics)
        p = subprocess.run(["promtool", "check", "metrics"], input=metrics,
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_systemd_unit_verifies(self):
        if not shutil.which("systemd-analyze"):
            self.skipTest("no systemd-analyze")
        with open(os.path.join(self.EX, "gpcheck-serve.service")) as f:
            unit = f.read().replace("/usr/bin/gpcheck", BIN)
        path = self.write("gpcheck-serve.service", unit)
        p = subprocess.run(["systemd-analyze", "verify", "--man=no", path],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("DynamicUser=yes", unit)
        self.assertIn("ProtectSystem=strict", unit)

    def test_k8s_probes_point_at_readyz_and_healthz(self):
        import yaml
        with open(os.path.join(self.EX, "k8s-serve.yaml")) as f:
            dep, svc = list(yaml.safe_load_all(f))
        (c,) = dep["spec"]["template"]["spec"]["containers"]
        self.assertEqual(c["readinessProbe"]["httpGet"]["path"], "/readyz")
        self.assertEqual(c["livenessProbe"]["httpGet"]["path"], "/healthz")
        self.assertEqual(c["args"][0], "serve")
        self.assertEqual(svc["kind"], "Service")
        # Its arguments are accepted (validated without serving).
        args = [a for a in c["args"][1:]]
        self.assertIn("--token-file", args)

    def test_ci_job_gate_command_as_written(self):
        import yaml
        with open(os.path.join(self.EX, "gitlab-ci-gate.yml")) as f:
            job = yaml.safe_load(f)["e2e"]
        cmd = job["script"][1]
        self.cache()
        srv = Serve(self)
        bindir = os.path.join(self.tmp, "bin")
        os.mkdir(bindir)
        os.symlink(BIN, os.path.join(bindir, "gpcheck"))
        env = dict(os.environ, GPCHECK_GATE="http://127.0.0.1:%d" % srv.port,
                   CI_PROJECT_DIR=self.tmp, GPCHECK_GATE_TOKEN="t" * 20,
                   PATH=bindir + ":" + os.environ["PATH"])
        shell = cmd.replace("make e2e", "sh -c 'echo ran $GPCHECK_VERDICT'")
        p = subprocess.run(["sh", "-c", job["script"][0] + "\n" + shell],
                           capture_output=True, text=True, timeout=120,
                           env=env, cwd=self.tmp)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("ran pass", p.stdout)
        self.assertTrue(os.path.exists(os.path.join(self.tmp, "reports",
                                                    "gpcheck.xml")))

    # -- TLS ----------------------------------------------------------------

    def make_cert(self, name):
        crt = os.path.join(self.tmp, name + ".crt")
        key = os.path.join(self.tmp, name + ".key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                        "-nodes", "-keyout", key, "-out", crt, "-days", "2",
                        "-subj", "/CN=" + name, "-addext",
                        "subjectAltName=IP:127.0.0.1"], check=True,
                       capture_output=True, timeout=60)
        return crt, key

    def peer_cn(self, port, cafile):
        import ssl
        ctx = ssl.create_default_context(cafile=cafile)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            with ctx.wrap_socket(s, server_hostname="127.0.0.1") as t:
                subject = dict(x[0] for x in t.getpeercert()["subject"])
                return subject["commonName"]

    def test_tls_and_certificate_reload(self):
        self.write("conf.d/down.ini", "[down]\nplugin = tcp\nhost = "
                   "127.0.0.1\nport = 1\ninterval = 1s\nattempts = 1\n")
        a_crt, a_key = self.make_cert("gate-a")
        b_crt, b_key = self.make_cert("gate-b")
        crt, key = (os.path.join(self.tmp, "cur" + x) for x in (".crt",
                                                                 ".key"))
        shutil.copy(a_crt, crt)
        shutil.copy(a_key, key)
        srv = Serve(self, "--tls-cert", crt, "--tls-key", key)
        self.assertEqual(self.peer_cn(srv.port, a_crt), "gate-a")
        code, body = srv.curl("--cacert", a_crt, "https://127.0.0.1:%d"
                              "/healthz" % srv.port)
        self.assertEqual((code, body), (200, "ok\n"))
        # A long-poll held across the reload is answered by the old daemon.
        held = []
        t = threading.Thread(target=lambda: held.append(srv.curl(
            "--cacert", a_crt, "https://127.0.0.1:%d/v1/wait?timeout=3s"
            % srv.port)[0]))
        t.start()
        self.assertTrue(wait_until(lambda: "gpcheck_serve_waits 1" in
                                   srv.curl("--cacert", a_crt,
                                            "https://127.0.0.1:%d/metrics"
                                            % srv.port)[1], 10))
        shutil.copy(b_crt, crt)
        shutil.copy(b_key, key)
        srv.proc.send_signal(signal.SIGHUP)
        self.assertTrue(wait_until(lambda: "tls-reloaded" in srv.log(), 10),
                        srv.log())
        self.assertEqual(self.peer_cn(srv.port, b_crt), "gate-b")
        t.join(15)
        self.assertEqual(held, [503])
        # A broken key: the reload fails, the last certificate stays.
        with open(key, "w") as f:
            f.write("not a key\n")
        srv.proc.send_signal(signal.SIGHUP)
        self.assertTrue(wait_until(lambda: "reload-failed" in srv.log(), 10))
        self.assertEqual(self.peer_cn(srv.port, b_crt), "gate-b")
        self.assertEqual(srv.stop(), 0)

    def test_tls_needs_both_files(self):
        p = subprocess.run([BIN, "serve", "--conf-dir", self.confd,
                            "--tls-cert", "x.crt"], capture_output=True,
                           text=True, timeout=20)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--tls-cert and --tls-key go together", p.stderr)
