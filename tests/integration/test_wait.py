"""tests/integration/test_wait.py - `gpcheck wait URL... [-- CMD]` (issue
12, item 7) against real servers on loopback: PostgreSQL, Redis and
dnsmasq (tests/servers/), the HTTP fixture and a TCP listener.

Every run starts in a folder whose gpcheck.ini and conf.d/ are broken, with
GPCHECK_CONFIG and GPCHECK_ENV naming broken or unknown things: wait reads
no configuration at all. Covered: one line per target, the command after
-- exec'd on pass (and not run otherwise), a target that starts late, the
--timeout (exit 124), a fatal answer (exit 1, at once), bad URLs (exit 2
naming the URL, with a did-you-mean for schemes and query options), the
password of a URL in no output and gone from /proc/PID/cmdline, the
schemes in `plugins NAME`, and broken plugins on the search path.
"""

import os
import re
import subprocess
import sys
import time
import urllib.parse

from gp import BIN, FIXTURES, GRACE, TEST_PLUGINS, GpTestCase

from base import free_port
from dns import DnsZone
from postgres import Postgres
from redis import Redis

sys.path.insert(0, FIXTURES)
from httpd import HttpdProcess  # noqa: E402

PG_PASSWORD = "pg-Wa1t/Canary@x"  # '/' and '@' percent-encoded in URLs
REDIS_PASSWORD = "redis-Wa1t-Canary"
HTTP_PASSWORD = "http-Wa1t-Canary"
CANARIES = (PG_PASSWORD, urllib.parse.quote(PG_PASSWORD, safe=""),
            REDIS_PASSWORD, HTTP_PASSWORD)


class WaitTest(GpTestCase):

    @classmethod
    def setUpClass(cls):
        cls.pg = Postgres()
        cls.addClassCleanup(cls.pg.stop)
        cls.pg.start()
        cls.pg.create_role("app", PG_PASSWORD)
        cls.pg.create_db("appdb", owner="app")
        cls.redis = Redis(password=REDIS_PASSWORD)
        cls.addClassCleanup(cls.redis.stop)
        cls.redis.start()
        cls.dns = DnsZone().start()
        cls.addClassCleanup(cls.dns.stop)

    def setUp(self):
        super().setUp()
        # The current folder's configuration is broken three ways.
        self.write("gpcheck.ini", "[gpcheck\nthis is not ini\n")
        self.write("conf.d/10-bad.ini", "[x]\nplugin = nosuch\n= nokey\n")
        self.write("broken.ini", "[[[\n")
        self.env = {"GPCHECK_CONFIG": os.path.join(self.tmp, "broken.ini"),
                    "GPCHECK_ENV": "nosuchenv"}

    def pg_url(self, password=PG_PASSWORD):
        return "postgres://app:%s@127.0.0.1:%d/appdb" % (
            urllib.parse.quote(password, safe=""), self.pg.port)

    def redis_url(self, port=None):
        return "redis://:%s@127.0.0.1:%d/0" % (REDIS_PASSWORD,
                                               port or self.redis.port)

    def wait(self, *args, timeout=60, popen=False):
        argv = [BIN, "wait"] + list(args)
        env = dict(os.environ)
        env.update(self.env)
        kw = dict(cwd=self.tmp, env=env, stdin=subprocess.DEVNULL,
                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if popen:
            return subprocess.Popen(argv, **kw)
        t0 = time.monotonic()
        proc = subprocess.run(argv, timeout=timeout, **kw)
        return proc, time.monotonic() - t0

    def assert_no_secret(self, *texts):
        for text in texts:
            for canary in CANARIES:
                self.assertNotIn(canary, text)

    def test_every_scheme_ready_then_the_command(self):
        tcp = self.listener("accept")
        web = HttpdProcess(self.tmp)
        self.addCleanup(web.stop)
        urls = [
            "tcp://127.0.0.1:%d" % tcp.port,
            self.pg_url(),
            self.redis_url(),
            "http://127.0.0.1:%d/status/204" % web.port,
            "dns://%s/web.test?type=A&expect=10.0.0.5" % self.dns.server,
        ]
        proc, took = self.wait(*urls, "--timeout", "20s", "--",
                               "sh", "-c", "echo ran: $GPCHECK_VERDICT")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout, "ran: pass\n")
        lines = proc.stderr.splitlines()
        self.assertEqual(len(lines), len(urls), proc.stderr)
        for line in lines:
            self.assertTrue(line.startswith("ok "), line)
        text = proc.stderr
        self.assertIn("tcp://127.0.0.1:%d  connected" % tcp.port, text)
        self.assertIn("postgres://app:***@127.0.0.1:%d/appdb" % self.pg.port,
                      text)
        self.assertIn("redis://:***@127.0.0.1:%d/0  PONG" % self.redis.port,
                      text)
        self.assertIn("/status/204  ", text)
        self.assertRegex(text, r"dns://127\.0\.0\.1:\d+/web\.test\?type=A"
                         r"&expect=10\.0\.0\.5  .*10\.0\.0\.5")
        self.assert_no_secret(proc.stdout, proc.stderr)

    def test_late_target_and_its_password_out_of_proc(self):
        port = free_port()
        late = Redis(password=REDIS_PASSWORD)
        late.port = port
        self.addCleanup(late.stop)
        gp = self.wait(self.redis_url(port), "--timeout", "30s",
                       "--interval", "200ms", popen=True)
        self.addCleanup(gp.kill)
        time.sleep(1.0)
        with open("/proc/%d/cmdline" % gp.pid, "rb") as f:
            cmdline = f.read().decode(errors="replace")
        self.assertIn("redis://", cmdline)
        self.assert_no_secret(cmdline)
        t_start = time.monotonic()
        late.start()
        out, err = gp.communicate(timeout=30)
        self.assertEqual(gp.returncode, 0, err)
        self.assertEqual(len(err.splitlines()), 1, err)
        m = re.match(r"ok +redis://:\*\*\*@127\.0\.0\.1:%d/0  PONG.* \((\d+) "
                     r"attempts, " % port, err)
        self.assertTrue(m and int(m.group(1)) > 2, err)
        self.assertLess(time.monotonic() - t_start, 10)
        self.assert_no_secret(out, err)

    def test_http_user_info_and_ipv6(self):
        # The user info becomes Basic authentication, not part of the URL
        # (http refuses credentials in its url option).
        web = HttpdProcess(self.tmp, auth_user="prober",
                           auth_password=HTTP_PASSWORD)
        self.addCleanup(web.stop)
        v6 = self.listener("accept", host="::1")
        proc, _ = self.wait("http://prober:%s@127.0.0.1:%d/auth"
                            % (HTTP_PASSWORD, web.port),
                            "tcp://[::1]:%d" % v6.port, "--timeout", "20s")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertRegex(proc.stderr, r"(?m)^ok +http://prober:\*\*\*@"
                         r"127\.0\.0\.1:%d/auth  " % web.port)
        self.assertRegex(proc.stderr, r"(?m)^ok +tcp://\[::1\]:%d  " % v6.port)
        self.assert_no_secret(proc.stdout, proc.stderr)
        # A wrong password: 401 is fatal, the password still unprinted.
        proc, _ = self.wait("http://prober:wrong-Wa1t-pw@127.0.0.1:%d/auth"
                            % web.port, "--timeout", "20s")
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn("401", proc.stderr)
        self.assertNotIn("wrong-Wa1t-pw", proc.stderr)

    def test_timeout_is_124_and_the_command_does_not_run(self):
        closed = self.listener("closed")
        marker = os.path.join(self.tmp, "ran")
        proc, took = self.wait("tcp://127.0.0.1:%d" % closed.port,
                               "--timeout", "1s", "--interval", "100ms",
                               "--", "touch", marker)
        self.assertEqual(proc.returncode, 124, proc.stderr)
        self.assertRegex(proc.stderr, r"^timeout +tcp://127\.0\.0\.1:%d  run "
                         r"deadline \(1s\) passed; last: " % closed.port)
        self.assertEqual(len(proc.stderr.splitlines()), 1)
        self.assertFalse(os.path.exists(marker))
        self.assertLess(took, 1 + GRACE)
        # After a warmup of 0, --attempts then fail (1).
        proc, took = self.wait("tcp://127.0.0.1:%d" % closed.port,
                               "--timeout", "10s", "--warmup", "0",
                               "--interval", "100ms", "--attempts", "3")
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertRegex(proc.stderr, r"^fail .*\(3 attempts, ")

    def test_wrong_password_fails_at_once(self):
        proc, took = self.wait(self.pg_url("wrong-Wa1t-pw"),
                               "tcp://127.0.0.1:%d" % self.pg.port,
                               "--timeout", "20s")
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertRegex(proc.stderr, r"(?m)^fail +postgres://app:\*\*\*@")
        self.assertRegex(proc.stderr, r"(?m)^ok +tcp://")
        self.assertNotIn("wrong-Wa1t-pw", proc.stderr)
        self.assertLess(took, 10)

    def test_bad_urls_exit_2_naming_the_url(self):
        marker = os.path.join(self.tmp, "ran")
        cases = [
            ("postgress://app@127.0.0.1/appdb",
             "URL 1 (postgress://app@127.0.0.1/appdb): unknown scheme "
             "'postgress' (did you mean 'postgres'?); schemes: dns, http, "
             "https, postgres, postgresql, redis, tcp"),
            ("tcp://127.0.0.1", "URL 1 (tcp://127.0.0.1): tcp needs port"),
            ("db:5432", "URL 1 (db:5432): not a URL"),
            ("tcp://127.0.0.1:99999", "URL 1 (tcp://127.0.0.1:99999): not a "
             "URL"),
            ("tcp://127.0.0.1:5432/x", "tcp takes no path in a URL ('/x')"),
            ("tcp://u:Secret-Bad-Url@127.0.0.1:1",
             "URL 1 (tcp://u:***@127.0.0.1:1): tcp takes no user name"),
            ("redis://:Secret-Bad-Url@127.0.0.1/zero",
             "URL 1 (redis://:***@127.0.0.1/zero): db: invalid integer"),
            ("dns://127.0.0.1:53/a.test?typ=A",
             "query parameter: dns has no option 'typ' (did you mean "
             "'type'?)"),
            ("dns://127.0.0.1:53/a.test?type=QQ", "type: "),
        ]
        for url, want in cases:
            with self.subTest(url=url):
                proc, took = self.wait(url, "--", "touch", marker)
                self.assertEqual(proc.returncode, 2, proc.stderr)
                self.assertIn(want, proc.stderr)
                self.assertNotIn("Secret-Bad-Url", proc.stderr)
                self.assertFalse(os.path.exists(marker))
        # The second URL is named as the second.
        proc, _ = self.wait("tcp://127.0.0.1:1", "rediss://127.0.0.1")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("URL 2 (rediss://127.0.0.1): unknown scheme 'rediss'",
                      proc.stderr)
        self.assertNotIn("URL 1", proc.stderr)
        for args, want in ((["--timeout", "soon", "tcp://h:1"], "--timeout"),
                           (["--attempts", "0", "tcp://h:1"], "--attempts"),
                           ([], "wait needs a URL"),
                           (["tcp://h:1", "--"], "-- needs a command"),
                           (["--jobs", "2", "tcp://h:1"],
                            "--jobs does not apply to 'wait'")):
            with self.subTest(args=args):
                proc, _ = self.wait(*args)
                self.assertEqual(proc.returncode, 2, proc.stderr)
                self.assertIn(want, proc.stderr)

    def test_plugins_show_their_schemes(self):
        for name, want in (("postgres", "postgres:// postgresql://  URL -> "
                            "dsn"),
                           ("tcp", "tcp://  host -> host, port -> port"),
                           ("dns", "?KEY=VALUE -> option KEY")):
            proc = subprocess.run([BIN, "plugins", name], capture_output=True,
                                  text=True, timeout=30)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            self.assertIn("URLS (gpcheck wait)", proc.stdout)
            self.assertIn(re.sub(r" +", " ", want),
                          re.sub(r" +", " ", proc.stdout))

    def test_broken_plugins_on_the_path_serve_nothing(self):
        # tests/plugins holds plugins the loader refuses (bad ABI, leaks,
        # no entry) and an ABI 1.1 one: the others' schemes still work.
        tcp = self.listener("accept")
        proc, _ = self.wait("--plugin-dir", TEST_PLUGINS,
                            "tcp://127.0.0.1:%d" % tcp.port)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertRegex(proc.stderr, r"^ok +tcp://")
