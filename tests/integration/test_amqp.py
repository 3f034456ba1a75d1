"""tests/integration/test_amqp.py - the amqp probe (librabbitmq) against a
real RabbitMQ 3.10 node on loopback (tests/servers/rabbitmq.py), started
once for the file: the probe waits for the broker from before it starts
(refused: transient, then ready), ready with the queue's counts, a bad
password (fatal at once, in warmup too), a missing vhost, a vhost
without permissions and a missing queue (transient in warmup: provisioned
during it, ready; fatal after), a publish blocked by a memory alarm
(publish = yes: transient), the login not stalled by delayed ACKs,
another owner's exclusive queue (405, transient), refused, a listener that never answers (within the deadline), TLS required and verified (a right and a wrong CA)
and asked of a plain listener, the url form, and the password in no
output."""

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import unittest


from gp import BIN, GRACE, GpTestCase, TEST_PLUGINS, complete, outcomes

from base import free_port
from certs import self_signed
from rabbitmq import RabbitMQ, amqp_answers

PASSWORD = "app-Pw-r4bbit"




class AmqpTest(GpTestCase):

    @classmethod
    def setUpClass(cls):
        cls.mq = RabbitMQ(users={"app": PASSWORD, "other": "other-Pw-1234"},
                          vhosts={"/": ["app"], "apps": ["app"],
                                  "closed": ["other"]},
                          queues={"apps": ["jobs"]}, tls=True)
        cls.addClassCleanup(cls.mq.stop)
        # The broker's own start is the "not started yet" test: gpcheck
        # runs from before the node exists until it answers.
        tmp = tempfile.mkdtemp(prefix="gpcheck-amqp-late-")
        cls.addClassCleanup(shutil.rmtree, tmp, ignore_errors=True)
        os.mkdir(os.path.join(tmp, "conf.d"))
        with open(os.path.join(tmp, "conf.d", "late.ini"), "w") as f:
            f.write("[late]\nplugin = amqp\nport = %d\nuser = app\n"
                    "password = %s\nvhost = apps\nqueue = jobs\n"
                    "warmup = 90s\ntimeout = 2s\n" % (cls.mq.port, PASSWORD))
        report = os.path.join(tmp, "late.json")
        argv = [BIN, "run", "--conf-dir", os.path.join(tmp, "conf.d"),
                "-o", "json:" + report]
        if TEST_PLUGINS:
            argv += ["--plugin-dir", TEST_PLUGINS]
        t0 = time.monotonic()
        gp = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True, cwd=tmp)
        try:
            time.sleep(1)
            cls.mq.start(wait=False)
            cls.mq.wait_ready(90)
            cls.answered = time.monotonic() - t0
            _, cls.late_err = gp.communicate(timeout=60)
        finally:
            if gp.poll() is None:
                gp.kill()
                gp.wait()
        cls.late_done = time.monotonic() - t0
        cls.late_rc = gp.returncode
        with open(report) as f:
            cls.late = json.load(f)
        cls.mq.publish("apps", "jobs", "hello", 3)
        cls.mq.lock_queue("apps", "locked")

    def amqp(self, name, options="", policy="attempts = 1\ntimeout = 2s",
             port=None):
        self.write("conf.d/%s.ini" % name,
                   "[%s]\nplugin = amqp\nport = %d\n%s\n%s\n"
                   % (name, port or self.mq.port, options, policy))

    def run_one(self, name, options="", policy="attempts = 1\ntimeout = 2s",
                port=None):
        self.amqp(name, options, policy, port)
        proc, doc, took = self.run_json()
        self.assertIsNotNone(doc, proc.stderr)
        return proc, self.probe(doc, name), took

    def test_not_started_yet_transient_then_ready(self):
        self.assertEqual(self.late_rc, 0, self.late_err)
        p = self.probe(self.late, "late")
        self.assertEqual(p["status"], "ok", p["message"])
        self.assertEqual(p["history"][0]["outcome"], "transient")
        self.assertIn("connection refused by 127.0.0.1:%d" % self.mq.port,
                      p["history"][0]["message"])
        self.assertEqual(p["history"][-1]["outcome"], "ready")
        # Ready within a retry or two of the broker answering (every
        # 250 ms in warmup), however long the node took to boot.
        timing = "broker answered at %.2f s, gpcheck done at %.2f s" % (
            self.answered, self.late_done)
        self.assertLess(self.late_done - self.answered, 2.0, timing)

    def test_ready_with_queue_counts(self):
        proc, p, _ = self.run_one(
            "mq", "user = app\npassword = %s\nvhost = apps\nqueue = jobs"
            % PASSWORD)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(p["status"], "ok", p["message"])
        self.assertIn("RabbitMQ 3.", p["message"])
        self.assertIn("queue 'jobs': 3 messages, 0 consumers", p["message"])
        m = p["metrics"]
        self.assertEqual(m["queue_messages"], 3)
        self.assertEqual(m["queue_consumers"], 0)
        self.assertGreater(m["connect_time"], 0)
        self.assertLess(m["connect_time"], 2000)

    def test_refusals_fatal_at_once_even_in_warmup(self):
        policy = "warmup = 10s\nattempts = 3\ntimeout = 3s"
        cases = {
            "bad_password": ("user = app\npassword = wrong-pw-123",
                             "403 ACCESS_REFUSED"),
            "no_such_user": ("user = ghost\npassword = %s" % PASSWORD,
                             "403 ACCESS_REFUSED"),
        }
        for name, (opts, _) in cases.items():
            self.amqp(name, opts, policy)
        proc, doc, took = self.run_json("-v")
        self.assertEqual(proc.returncode, 1)
        for name, (_, text) in cases.items():
            with self.subTest(probe=name):
                p = self.probe(doc, name)
                self.assertEqual(p["status"], "fail")
                self.assertEqual(outcomes(p), ["fatal"])
                self.assertIn(text, p["message"])
                # Refused on the server's word, not at the 3 s deadline.
                self.assertLess(p["history"][0]["duration_ms"], 1000)
        self.assertLess(took, 3, took)
        self.assertNotIn(PASSWORD, proc.stdout + proc.stderr)

    def test_not_provisioned_fatal_after_warmup(self):
        cases = {
            "no_vhost": ("user = app\npassword = %s\nvhost = nope" % PASSWORD,
                         "530 NOT_ALLOWED - vhost nope not found"),
            "vhost_denied": ("user = app\npassword = %s\nvhost = closed"
                             % PASSWORD, "530 NOT_ALLOWED - access to vhost"),
            "no_queue": ("user = app\npassword = %s\nvhost = apps\n"
                         "queue = missing" % PASSWORD,
                         "404 NOT_FOUND - no queue 'missing'"),
        }
        for name, (opts, _) in cases.items():
            self.amqp(name, opts, "attempts = 3\ntimeout = 3s")
        proc, doc, took = self.run_json()
        self.assertEqual(proc.returncode, 1)
        for name, (_, text) in cases.items():
            with self.subTest(probe=name):
                p = self.probe(doc, name)
                self.assertEqual(outcomes(p), ["fatal"])
                self.assertIn(text, p["message"])
        self.assertLess(took, 3, took)

    def test_provisioned_during_warmup_ready(self):
        # What provisioning does after the broker started, in its order:
        # a vhost, its permissions, the queues. In the warmup each step
        # not done yet is transient (530 not found, 530 refused, 404).
        self.mq.ctl("eval", "ok = rabbit_vhost:add(<<\"prov2\">>, "
                            "<<\"test\">>), ok.")
        probes = {
            "pv_vhost": ("vhost = prov", "530 NOT_ALLOWED - vhost prov not "
                                         "found"),
            "pv_perm": ("vhost = prov2", "530 NOT_ALLOWED - access to vhost "
                                         "'prov2' refused for user 'app'"),
            "pv_queue": ("vhost = apps\nqueue = provq",
                         "404 NOT_FOUND - no queue 'provq'"),
        }
        for name, (opts, _) in probes.items():
            self.amqp(name, "user = app\npassword = %s\n%s" % (PASSWORD, opts),
                      "warmup = 30s\ntimeout = 2s")
        report = os.path.join(self.tmp, "prov.json")
        gp = self.start_run(report=report)
        time.sleep(0.5)
        perm = ("ok = rabbit_auth_backend_internal:set_permissions(<<\"app\">>,"
                " <<\"%s\">>, <<\".*\">>, <<\".*\">>, <<\".*\">>, "
                "<<\"test\">>)")
        self.mq.ctl("eval", (
            "ok = rabbit_vhost:add(<<\"prov\">>, <<\"test\">>), %s, %s, "
            "{new, _} = rabbit_amqqueue:declare(rabbit_misc:r(<<\"apps\">>, "
            "queue, <<\"provq\">>), true, false, [], none, <<\"test\">>), "
            "ok.") % (perm % "prov", perm % "prov2"))
        _, err = gp.communicate(timeout=40)
        self.assertEqual(gp.returncode, 0, err)
        with open(report) as f:
            doc = json.load(f)
        for name, (_, text) in probes.items():
            with self.subTest(probe=name):
                p = self.probe(doc, name)
                self.assertEqual(p["status"], "ok", p["message"])
                self.assertEqual(p["history"][0]["outcome"], "transient")
                self.assertIn(text, p["history"][0]["message"])

    def test_handshake_not_stalled_by_delayed_ack(self):
        # Without TCP_NODELAY on the SDK's socket, tune-ok and
        # connection.open (two small writes in a row) waited for the
        # broker's delayed ACK: 40 ms or more on every login.
        times = []
        for _ in range(5):
            _, p, _ = self.run_one("fast", "user = app\npassword = %s"
                                   % PASSWORD)
            self.assertEqual(p["status"], "ok", p["message"])
            times.append(p["metrics"]["connect_time"])
        self.assertLess(min(times), 35, times)

    def test_publish_blocked_by_alarm_transient(self):
        # A memory alarm: logins and passive declares still work, but the
        # first publish blocks the connection. publish = yes sees it
        # (connection.blocked); without it the probe cannot.
        self.mq.ctl("eval", (
            "ok = rabbit_auth_backend_internal:set_permissions(<<\"other\">>,"
            " <<\"apps\">>, <<\"\">>, <<\"\">>, <<\".*\">>, <<\"test\">>),"
            " rabbit_alarm:set_alarm({{resource_limit, memory, node()}, []}),"
            " ok."))
        clear = ("rabbit_alarm:clear_alarm({resource_limit, memory, "
                 "node()}), ok.")
        self.addCleanup(self.mq.ctl, "eval", clear)
        opts = "user = app\npassword = %s\nvhost = apps\nqueue = jobs" \
            % PASSWORD
        self.amqp("blocked", opts + "\npublish = yes",
                  "attempts = 1\ntimeout = 2s")
        self.amqp("unaware", opts)
        proc, doc, took = self.run_json()
        p = self.probe(doc, "blocked")
        self.assertEqual(outcomes(p), ["transient"], p["message"])
        self.assertIn("127.0.0.1:%d blocks publishers: low on memory"
                      % self.mq.port, p["message"])
        self.assertLess(took, 1.5, took)  # the notice, not the timeout
        self.assertEqual(self.probe(doc, "unaware")["status"], "ok")
        # The broker reads nothing from a blocked connection: without a
        # heartbeat it would keep each attempt's connection until the
        # alarm clears. With one, its sender meets the reset socket.
        self.amqp("blocked", opts + "\npublish = yes",
                  "attempts = 10\ndelay = 10ms\ntimeout = 2s")
        self.run_json()
        deadline = time.monotonic() + 8
        while True:
            states = self.mq.ctl("list_connections", "-q", "state").stdout
            left = states.split().count("blocked")
            if left == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        self.assertEqual(left, 0, states)
        self.mq.ctl("eval", clear)
        _, p, _ = self.run_one("blocked", opts + "\npublish = yes")
        self.assertEqual(p["status"], "ok", p["message"])
        # publish needs write permission on amq.default: fatal without.
        _, p, _ = self.run_one("readonly", "user = other\npassword = "
                               "other-Pw-1234\nvhost = apps\npublish = yes")
        self.assertEqual(outcomes(p), ["fatal"], p["message"])
        self.assertIn("403 ACCESS_REFUSED", p["message"])

    def test_resource_locked_transient(self):
        _, p, _ = self.run_one(
            "locked", "user = app\npassword = %s\nvhost = apps\n"
            "queue = locked" % PASSWORD,
            "attempts = 2\ndelay = 100ms\ntimeout = 2s")
        self.assertEqual(outcomes(p), ["transient", "transient"],
                         p["message"])
        self.assertIn("405 RESOURCE_LOCKED", p["message"])

    def test_url(self):
        self.write("conf.d/url.ini",
                   "[url]\nplugin = amqp\nurl = amqp://app:%s@127.0.0.1:%d/apps\n"
                   "queue = jobs\nattempts = 1\ntimeout = 2s\n"
                   "[url_tls]\nplugin = amqp\n"
                   "url = amqps://app:%s@localhost:%d/%%2f\ntls = verify\n"
                   "tls_ca = %s\nattempts = 1\ntimeout = 2s\n"
                   % (PASSWORD, self.mq.port, PASSWORD, self.mq.tls_port,
                      self.mq.cert))
        proc, doc, _ = self.run_json("-v")
        p = self.probe(doc, "url")
        self.assertEqual(p["status"], "ok", p["message"])
        self.assertIn("vhost 'apps' open as 'app'", p["message"])
        self.assertEqual(p["metrics"]["queue_messages"], 3)
        p = self.probe(doc, "url_tls")
        self.assertEqual(p["status"], "ok", p["message"])
        self.assertIn("vhost '/' open", p["message"])
        explain = self.gp("validate", "--explain")
        self.assertIn("amqp://app:***@127.0.0.1", explain.stdout
                      + explain.stderr)
        for out in (proc.stdout + proc.stderr, explain.stdout,
                    explain.stderr):
            self.assertNotIn(PASSWORD, out)

    def test_password_file(self):
        pw = os.path.join(self.tmp, "pw")
        with open(pw, "w") as f:
            f.write(PASSWORD + "\n")
        os.chmod(pw, 0o600)
        proc, p, _ = self.run_one("file", "user = app\npassword_file = %s"
                                  % pw)
        self.assertEqual(p["status"], "ok", p["message"])
        self.assertNotIn(PASSWORD, proc.stdout + proc.stderr)

    def test_refused_transient(self):
        _, p, _ = self.run_one("gone", "user = app", port=free_port())
        self.assertEqual(outcomes(p), ["transient"])
        self.assertIn("connection refused", p["message"])

    def test_silent_listener_within_deadline(self):
        srv = socket.socket()
        self.addCleanup(srv.close)
        srv.bind(("127.0.0.1", 0))
        srv.listen(8)
        port = srv.getsockname()[1]
        proc, p, took = self.run_one("silent", "", "attempts = 1\n"
                                     "timeout = 700ms", port=port)
        self.assertEqual(p["status"], "timeout")
        self.assertIn("no answer from 127.0.0.1:%d within" % port,
                      p["message"])
        self.assertLess(took, 0.7 + GRACE, took)

    def test_tls_required_and_verified(self):
        base = "user = app\npassword = %s\n" % PASSWORD
        other, _ = self_signed(self.tmp, "other")
        self.amqp("required", base + "tls = required", port=self.mq.tls_port)
        self.amqp("verified", base + "host = localhost\ntls = verify\n"
                  "tls_ca = %s" % self.mq.cert, port=self.mq.tls_port)
        self.amqp("wrong_ca", base + "host = localhost\ntls = verify\n"
                  "tls_ca = %s" % other, port=self.mq.tls_port)
        _, doc, _ = self.run_json()
        for name in ("required", "verified"):
            with self.subTest(probe=name):
                p = self.probe(doc, name)
                self.assertEqual(p["status"], "ok", p["message"])
        p = self.probe(doc, "wrong_ca")
        self.assertEqual(outcomes(p), ["fatal"], p["message"])
        self.assertIn("TLS connect to", p["message"])

    def test_tls_of_a_plain_listener_fatal(self):
        _, p, _ = self.run_one("tls", "user = app\npassword = %s\n"
                               "tls = required" % PASSWORD)
        self.assertEqual(outcomes(p), ["fatal"], p["message"])
        self.assertIn("TLS connect to 127.0.0.1:%d failed" % self.mq.port,
                      p["message"])
        # The broker still answers plain AMQP: nothing was broken.
        self.assertTrue(amqp_answers("127.0.0.1", self.mq.port))

    def test_listed_and_completed(self):
        proc = self.gp("plugins")
        self.assertRegex(proc.stdout, r"(?m)^amqp +0\.1\.0 ")
        self.assertIn("amqp", complete(BIN, "probe", "am"))
        self.assertEqual(complete(BIN, "probe", "amqp", "que"), {"queue="})
        proc = self.gp("plugins", "amqp")
        self.assertRegex(proc.stdout, r"password +string .*\n +\(secret\)")

    def test_readme_example_validates(self):
        readme = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                              "..", "..", "plugins", "amqp", "README.md")
        with open(readme) as f:
            example = re.search(r"```ini\n(.*?)```", f.read(), re.S).group(1)
        secret = self.write("secret", "s3cret-file-pw\n")
        os.chmod(secret, 0o600)
        example = re.sub(r"/(run/secrets|etc/ssl)/[\w.-]+", secret, example)
        self.write("conf.d/example.ini", example)
        proc = self.gp("validate", env={"AMQP_PASSWORD": "g4te-pw-1", "AMQP_URL": "amqp://gate:g4te-pw-1@mq.internal/jobs"})
        self.assertEqual(proc.returncode, 0, proc.stderr)

    def test_validate(self):
        self.amqp("v", "host = amqp://x/\ntls_ca = /x\nvhost =")
        # librabbitmq 0.11 checks a certificate against names only: an
        # address with tls = verify would fail every attempt.
        self.amqp("ip", "host = 127.0.0.1\ntls = verify")
        self.write("conf.d/u.ini", "[u]\nplugin = amqp\n"
                   "url = amqp://app:pw-in-url-1@h/v\nuser = x\n"
                   "password = other-pw-1\n"
                   "[u2]\nplugin = amqp\nurl = amqp://h/v\ntls = required\n")
        proc = self.gp("validate")
        self.assertEqual(proc.returncode, 2, proc.stderr)
        for why in ("a URL, not a host name", "needs tls = verify",
                    "is empty", "librabbitmq checks names, not IP",
                    "user: is part of url", "url: holds a password",
                    "tls needs an amqps:// url"):
            self.assertIn(why, proc.stderr)
        self.assertIn("v.ini:", proc.stderr)
        self.assertIn("ip.ini:", proc.stderr)
        self.assertNotIn("pw-in-url-1", proc.stdout + proc.stderr)

if __name__ == "__main__":
    unittest.main()
