"""tests/integration/test_redis.py - the redis probe (hiredis) against real
Redis 7 servers on loopback (tests/servers/redis.py): ready with metrics,
credentials and databases, LOADING from a large RDB, BUSY, MASTERDOWN, too
many clients, a stopped server, a server started late, roles with a real
replica, a listener that never answers, and the password in no output."""

import json
import os
import socket
import subprocess
import threading
import time
import unittest

from gp import GRACE, GpTestCase

from base import free_port, wait_tcp
from redis import Redis

CANARY = "canary-R3dis-Zq8x"


def history_outcomes(p):
    return [h["outcome"] for h in p["history"]]


class RedisCase(GpTestCase):
    """Helpers: one probe section per call, run and read its report."""

    def redis(self, name, server, options="", policy="attempts = 1\n"
              "timeout = 2s"):
        self.write("conf.d/%s.ini" % name,
                   "[%s]\nplugin = redis\nport = %d\n%s\n%s\n"
                   % (name, server.port if server else 1, options, policy))

    def run_one(self, name, server, options="",
                policy="attempts = 1\ntimeout = 2s", env=None):
        self.redis(name, server, options, policy)
        proc, doc, took = self.run_json(env=env)
        self.assertIsNotNone(doc, proc.stderr)
        return proc, self.probe(doc, name), took

    def start_redis(self, **kw):
        wait = kw.pop("wait", True)
        r = Redis(**kw)
        self.addCleanup(r.stop)
        return r.start(wait=wait)


class SharedServerTest(RedisCase):
    """Tests that only read one server: it is shared by the class."""

    PASSWORD = "main-pw"

    @classmethod
    def setUpClass(cls):
        cls.server = Redis(
            password=cls.PASSWORD,
            users={"app": "app-pw",
                   "noping": ("np-pw", "~* &* +@all -ping"),
                   "noinfo": ("ni-pw", "-@all +ping")},
            maxmemory="100mb", maxclients=64, unix_socket=True)
        cls.addClassCleanup(cls.server.stop)
        cls.server.start()

    def test_ready_with_metrics(self):
        proc, p, _ = self.run_one("cache", self.server,
                                  "password = %s\nrole = master"
                                  % self.PASSWORD)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(p["status"], "ok", p["message"])
        self.assertIn("PONG from 127.0.0.1:%d" % self.server.port,
                      p["message"])
        self.assertIn("master", p["message"])
        m = p["metrics"]
        self.assertGreaterEqual(m["ping_time"], 0)
        self.assertLess(m["ping_time"], 2000)
        self.assertGreaterEqual(m["connected_clients"], 1)
        self.assertEqual(m["maxclients"], 64)
        self.assertAlmostEqual(m["clients_usage"],
                               m["connected_clients"] * 100 / 64, places=3)
        self.assertGreater(m["used_memory"], 0)
        self.assertEqual(m["maxmemory"], 100 * 1024 * 1024)
        self.assertAlmostEqual(m["memory_usage"],
                               m["used_memory"] * 100 / m["maxmemory"],
                               places=3)

    def test_acl_user_and_unix_socket(self):
        self.redis("acl", self.server, "username = app\npassword = app-pw")
        self.redis("sock", self.server, "socket = %s\npassword = %s"
                   % (self.server.socket, self.PASSWORD))
        proc, doc, _ = self.run_json()
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(self.probe(doc, "acl")["status"], "ok")
        sock = self.probe(doc, "sock")
        self.assertEqual(sock["status"], "ok", sock["message"])
        self.assertIn("unix:" + self.server.socket, sock["message"])

    def test_credentials_fatal_at_once_even_in_warmup(self):
        policy = "warmup = 10s\nattempts = 3\ntimeout = 2s"
        cases = {
            "noauth": ("", "NOAUTH"),
            "wrongpass": ("password = nope", "WRONGPASS"),
            "acl_wrongpass": ("username = app\npassword = nope", "WRONGPASS"),
            "no_such_user": ("username = ghost\npassword = app-pw",
                             "WRONGPASS"),
            "noperm": ("username = noping\npassword = np-pw", "NOPERM"),
            "bad_db": ("password = %s\ndb = 4000" % self.PASSWORD,
                       "DB index is out of range"),
        }
        for name, (opts, _) in cases.items():
            self.redis(name, self.server, opts, policy)
        proc, doc, took = self.run_json()
        self.assertEqual(proc.returncode, 1)
        for name, (_, text) in cases.items():
            with self.subTest(probe=name):
                p = self.probe(doc, name)
                self.assertEqual(p["status"], "fail")
                self.assertEqual(p["attempts"], 1)
                self.assertEqual(history_outcomes(p), ["fatal"])
                self.assertIn(text, p["message"])
        # Not the 10 s warmup: fatal ends the probe at once.
        self.assertLess(took, GRACE + 1.5)

    def test_other_db_and_role_expectations(self):
        self.redis("db3", self.server, "password = %s\ndb = 3"
                   % self.PASSWORD)
        self.redis("want_replica", self.server,
                   "password = %s\nrole = replica" % self.PASSWORD,
                   "warmup = 600ms\nwarmup_interval = 100ms\nattempts = 2\n"
                   "timeout = 1s")
        proc, doc, _ = self.run_json()
        self.assertEqual(self.probe(doc, "db3")["status"], "ok")
        p = self.probe(doc, "want_replica")
        self.assertEqual(p["status"], "fail")
        self.assertIn("is master, expected replica", p["message"])
        # Transient while in warmup (a failover may be under way), fatal
        # after it: a single attempt past the warmup.
        warm = [h for h in p["history"] if h["phase"] == "warmup"]
        after = [h for h in p["history"] if h["phase"] == "retry"]
        self.assertGreaterEqual(len(warm), 2)
        self.assertTrue(all(h["outcome"] == "transient" for h in warm))
        self.assertEqual([h["outcome"] for h in after], ["fatal"])

    def test_info_not_permitted(self):
        # PING is allowed, INFO is not: ready without metrics, unless a
        # role is expected (which then cannot be checked).
        self.redis("noinfo", self.server, "username = noinfo\n"
                   "password = ni-pw")
        self.redis("noinfo_role", self.server, "username = noinfo\n"
                   "password = ni-pw\nrole = master")
        proc, doc, _ = self.run_json()
        p = self.probe(doc, "noinfo")
        self.assertEqual(p["status"], "ok", p["message"])
        self.assertEqual(set(p["metrics"]), {"ping_time"})
        p = self.probe(doc, "noinfo_role")
        self.assertEqual(p["status"], "fail")
        self.assertIn("NOPERM", p["message"])

    def test_listener_that_never_answers_cut_at_timeout(self):
        hang = self.listener("hang")
        self.write("conf.d/hang.ini", """
            [hang]
            plugin = redis
            port = %d
            password = %s
            timeout = 1s
            attempts = 1
            """ % (hang.port, self.PASSWORD))
        proc, doc, took = self.run_json()
        p = self.probe(doc, "hang")
        self.assertEqual(p["status"], "timeout")
        self.assertIn("no reply to AUTH", p["message"])
        self.assertGreaterEqual(p["duration_ms"], 900)
        self.assertLess(took, 1 + GRACE)

    def test_not_redis_is_fatal_closed_is_transient(self):
        ssh = self.listener("banner", banner="SSH-2.0-OpenSSH_9.2\\r\\n")
        closer = self.listener("accept")
        self.redis("ssh", ssh, "", "warmup = 10s\ntimeout = 2s")
        self.redis("closer", closer, "", "attempts = 2\ndelay = 50ms\n"
                   "timeout = 2s")
        proc, doc, took = self.run_json()
        p = self.probe(doc, "ssh")
        self.assertEqual(history_outcomes(p), ["fatal"])
        self.assertIn("does not speak Redis", p["message"])
        p = self.probe(doc, "closer")
        self.assertEqual(history_outcomes(p), ["transient", "transient"])
        self.assertIn("closed the connection", p["message"])
        self.assertLess(took, GRACE + 1.5)

    def test_password_file(self):
        good = self.write("secrets/good", self.PASSWORD + "\n")
        os.chmod(good, 0o600)
        loose = self.write("secrets/loose", self.PASSWORD + "\n")
        os.chmod(loose, 0o644)
        self.redis("file", self.server, "password_file = %s" % good)
        self.redis("both", self.server, "password = x\npassword_file = %s"
                   % good)
        proc, doc, took = self.run_json()
        self.assertEqual(self.probe(doc, "file")["status"], "ok")
        self.assertIn("not both", self.probe(doc, "both")["message"])
        self.assertLess(took, GRACE + 1.5)
        # password_file is a GP_OPT_FILE: gpcheck refuses these with the
        # config (FILE:LINE), before anything is probed.
        for path, why in ((loose, "group or others"),
                          (self.tmp, "not a regular file"),
                          (self.tmp + "/nope", "No such file")):
            self.redis("both", self.server, "password_file = %s" % path)
            proc = self.gp("validate")
            self.assertEqual(proc.returncode, 2, proc.stderr)
            self.assertIn("conf.d/both.ini:", proc.stderr)
            self.assertIn(why, proc.stderr)


class FaultTest(RedisCase):
    """Each test has a server of its own, in the state the test needs."""

    def test_loading_is_transient_then_ready(self):
        r = self.start_redis()
        r.make_loading_rdb()
        r.stop_server()
        r.start(wait=False)
        # Until the RDB is loaded, Redis accepts and answers -LOADING.
        self.assertTrue(r.wait_loading(20), r.log_tail())
        proc, p, took = self.run_one("loading", r, "",
                                     "warmup = 60s\nwarmup_interval = 100ms\n"
                                     "attempts = 1\ntimeout = 2s")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(p["status"], "ok", p["message"])
        warm = [h for h in p["history"] if h["outcome"] == "transient"]
        self.assertGreaterEqual(len(warm), 2)
        self.assertIn("LOADING", warm[0]["message"])
        self.assertEqual(p["history"][-1]["outcome"], "ready")
        self.assertEqual(p["history"][-1]["phase"], "warmup")
        self.assertLess(took, 30)

    def test_stopped_server_is_transient_refused(self):
        r = self.start_redis()
        r.stop_server()
        proc, p, _ = self.run_one("down", r, "", "attempts = 2\n"
                                  "delay = 100ms\ntimeout = 2s")
        self.assertEqual(proc.returncode, 1)
        self.assertEqual(p["status"], "fail")
        self.assertEqual(history_outcomes(p), ["transient", "transient"])
        self.assertIn("connection refused by 127.0.0.1:%d" % r.port,
                      p["message"])

    def test_started_two_seconds_late(self):
        r = Redis()
        self.addCleanup(r.stop)
        self.redis("late", r, "", "warmup = 10s\nattempts = 1\ntimeout = 2s")
        report = os.path.join(self.tmp, "late.json")
        t0 = time.monotonic()
        gp = self.start_run(report=report)
        time.sleep(2)
        r.start(wait=False)
        self.assertTrue(wait_tcp(r.host, r.port, 10), r.log_tail())
        accepted = time.monotonic()
        _, err = gp.communicate(timeout=30)
        done = time.monotonic()
        self.assertEqual(gp.returncode, 0, err)
        with open(report) as f:
            p = self.probe(json.load(f), "late")
        self.assertEqual(p["status"], "ok", p["message"])
        # Refused while Redis was not there, then ready at once: gpcheck
        # retries every 250 ms during warmup (the issue asks for < 300 ms;
        # the bound here is generous for a loaded CI machine).
        self.assertGreaterEqual(len(p["history"]), 4)
        self.assertIn("connection refused", p["history"][0]["message"])
        self.assertEqual(p["history"][-1]["outcome"], "ready")
        timing = "accepted at %.2f s, gpcheck done at %.2f s" % (
            accepted - t0, done - t0)
        self.assertLess(done - accepted, 1.5, timing)
        self.assertLess(done - t0 - 2, 1.5, timing)

    def test_busy_script_is_transient(self):
        r = self.start_redis(extra=["busy-reply-threshold 100"])
        script = subprocess.Popen(
            ["redis-cli", "-p", str(r.port), "EVAL", "while true do end", "0"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        self.addCleanup(script.wait, 10)
        self.addCleanup(r.cli, "SCRIPT", "KILL", check=False, timeout=10)
        deadline = time.monotonic() + 10
        while not (r.ping() or "").startswith("BUSY"):
            self.assertLess(time.monotonic(), deadline, "never BUSY")
            time.sleep(0.05)
        timer = threading.Timer(0.8, r.cli, ("SCRIPT", "KILL"),
                                {"check": False, "timeout": 10})
        timer.start()
        self.addCleanup(timer.cancel)
        proc, p, _ = self.run_one("busy", r, "", "warmup = 20s\n"
                                  "warmup_interval = 100ms\nattempts = 1\n"
                                  "timeout = 2s")
        self.assertEqual(p["status"], "ok", p["message"])
        self.assertEqual(p["history"][0]["outcome"], "transient")
        self.assertIn("BUSY", p["history"][0]["message"])

    def test_replica_without_master_is_masterdown(self):
        r = self.start_redis(wait=False, extra=[
            "replicaof 127.0.0.1 %d" % free_port(),
            "replica-serve-stale-data no"])
        self.assertTrue(wait_tcp(r.host, r.port, 10), r.log_tail())
        proc, p, _ = self.run_one("replica", r, "", "attempts = 2\n"
                                  "delay = 100ms\ntimeout = 2s")
        self.assertEqual(p["status"], "fail")
        self.assertEqual(history_outcomes(p), ["transient", "transient"])
        self.assertIn("MASTERDOWN", p["message"])

    def test_too_many_clients_is_transient(self):
        r = self.start_redis(maxclients=1)
        hog = socket.create_connection((r.host, r.port), timeout=5)
        self.addCleanup(hog.close)
        hog.sendall(b"PING\r\n")
        self.assertEqual(hog.recv(64), b"+PONG\r\n")
        proc, p, _ = self.run_one("full", r, "", "attempts = 2\n"
                                  "delay = 100ms\ntimeout = 2s")
        self.assertEqual(p["status"], "fail")
        self.assertEqual(history_outcomes(p), ["transient", "transient"])
        self.assertIn("max number of clients reached", p["message"])


class ReplicationTest(RedisCase):
    @classmethod
    def setUpClass(cls):
        cls.master = Redis()
        cls.addClassCleanup(cls.master.stop)
        cls.master.start()
        cls.replica = Redis()
        cls.addClassCleanup(cls.replica.stop)
        cls.replica.replica_of(cls.master)
        cls.replica.start()
        cls.replica.wait_replica_link()

    def test_roles(self):
        self.redis("master", self.master, "role = master")
        self.redis("replica", self.replica, "role = replica")
        self.redis("replica_as_master", self.replica, "role = master")
        self.redis("master_as_replica", self.master, "role = replica")
        proc, doc, _ = self.run_json()
        p = self.probe(doc, "master")
        self.assertEqual(p["status"], "ok", p["message"])
        p = self.probe(doc, "replica")
        self.assertEqual(p["status"], "ok", p["message"])
        self.assertIn("replica of 127.0.0.1:%d, link up" % self.master.port,
                      p["message"])
        for name, text in (("replica_as_master", "expected master"),
                           ("master_as_replica", "expected replica")):
            with self.subTest(probe=name):
                p = self.probe(doc, name)
                self.assertEqual(p["status"], "fail")
                self.assertEqual(history_outcomes(p), ["fatal"])
                self.assertIn(text, p["message"])

    def test_no_memory_usage_without_maxmemory(self):
        proc, p, _ = self.run_one("m", self.master)
        self.assertEqual(p["status"], "ok", p["message"])
        self.assertEqual(p["metrics"]["maxmemory"], 0)
        self.assertNotIn("memory_usage", p["metrics"])
        self.assertIn("used_memory", p["metrics"])


class SecretTest(RedisCase):
    """The password is in no output of any kind, success or failure, given
    inline or in a file (the core masks both: password_file is a
    GP_OPT_FILE)."""

    def test_canary_in_no_output(self):
        r = self.start_redis(password=CANARY)
        pw_file = self.write("secrets/pw", CANARY + "\n")
        os.chmod(pw_file, 0o600)
        closed = free_port()
        probes = {
            "inline_ok": (r.port, "password = ${PW}"),
            "file_ok": (r.port, "password_file = %s" % pw_file),
            "inline_bad": (r.port, "username = ghost\npassword = ${PW}"),
            "file_bad": (r.port, "username = ghost\npassword_file = %s"
                         % pw_file),
            "inline_down": (closed, "password = ${PW}"),
            "file_down": (closed, "password_file = %s" % pw_file),
        }
        for name, (port, opts) in probes.items():
            self.write("conf.d/%s.ini" % name,
                       "[%s]\nplugin = redis\nport = %d\n%s\nattempts = 1\n"
                       "timeout = 2s\n" % (name, port, opts))
        env = {"PW": CANARY}
        outputs = []
        proc, doc, _ = self.run_json("-v", env=env)
        outputs += [proc.stdout, proc.stderr, json.dumps(doc)]
        for name, status in (("inline_ok", "ok"), ("file_ok", "ok"),
                             ("inline_bad", "fail"), ("file_bad", "fail"),
                             ("inline_down", "fail"), ("file_down", "fail")):
            self.assertEqual(self.probe(doc, name)["status"], status, name)
        for cmd in ("list", "validate -v"):
            p = self.gp(*cmd.split(), env=env)
            self.assertEqual(p.returncode, 0, p.stderr)
            outputs += [p.stdout, p.stderr]
        p = self.gp("run", "-o", "text", "-o", "json", env=env)
        outputs += [p.stdout, p.stderr]
        for extra in (["password=" + CANARY], ["password_file=" + pw_file],
                      ["username=ghost", "password=" + CANARY],
                      ["username=ghost", "password_file=" + pw_file]):
            p = self.gp("probe", "-v", "redis", "port=%d" % r.port, *extra)
            outputs += [p.stdout, p.stderr]
        for out in outputs:
            self.assertNotIn(CANARY, out)


if __name__ == "__main__":
    unittest.main()
