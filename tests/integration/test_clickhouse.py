"""tests/integration/test_clickhouse.py - the clickhouse probe (libcurl, HTTP
interface) against a real ClickHouse on loopback (tests/servers/clickhouse.py,
Debian's 18.16): ready with metrics, expect, the value metric under
thresholds, credentials in headers (plaintext, SHA-256, readonly users,
password_file), wrong credentials, unknown database and table (fatal after
the warmup, transient in it: the schema created late), syntax errors and other
exceptions, TLS, a stopped server, a server started late during warmup, a
query longer than the attempt, and the canary password in no output.

What 18.16 cannot produce comes from tests/fixtures/httpd.py: an endpoint
that accepts and never answers, 503, and the exception reporting of newer
versions (X-ClickHouse-Exception-Code, an exception inside a 200 body)."""

import json
import os
import shutil
import sys
import tempfile
import time
import urllib.parse

from gp import FIXTURES, GRACE, GpTestCase, outcomes

from clickhouse import ClickHouse

sys.path.insert(0, FIXTURES)
from httpd import HttpdProcess  # noqa: E402

CANARY = "canary-Cl1ckH0use-Xq7"
# A password only a password_file holds: the core masks it as the content
# of a GP_OPT_FILE option.
FILE_CANARY = "canary-F1le-Zk3p"



class ClickHouseCase(GpTestCase):
    """Helpers: one probe section per call, run and read its report."""

    def section(self, name, url, options="", policy="attempts = 1\n"
                "timeout = 3s"):
        self.write("conf.d/%s.ini" % name,
                   "[%s]\nplugin = clickhouse\nurl = %s\n%s\n%s\n"
                   % (name, url, options, policy))

    def run_one(self, name, url, options="",
                policy="attempts = 1\ntimeout = 3s", extra=()):
        self.section(name, url, options, policy)
        proc, doc, took = self.run_json(*extra)
        self.assertIsNotNone(doc, proc.stderr)
        return proc, self.probe(doc, name), took

    def httpd(self, **kw):
        h = HttpdProcess(self.tmp, **kw)
        self.addCleanup(h.stop)
        return h

    def secret_file(self, name, text, mode=0o600):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path


class SharedServerTest(ClickHouseCase):
    """Tests that only read one server: it is shared by the class."""

    @classmethod
    def setUpClass(cls):
        cls.server = ClickHouse(users={"app": CANARY},
                                sha256_users={"hashed": "hashed-pw"},
                                readonly_users={"ro": "ro-pw"}, tls=True)
        cls.addClassCleanup(cls.server.stop)
        t0 = time.monotonic()
        cls.server.start()
        cls.start_time = time.monotonic() - t0

    def test_ready_select_1_with_metrics(self):
        proc, p, _ = self.run_one("ch", self.server.url())
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(p["status"], "ok", p["message"])
        self.assertIn('"SELECT 1" returned "1"', p["message"])
        self.assertIn("127.0.0.1:%d" % self.server.port, p["message"])
        m = p["metrics"]
        self.assertEqual(m["value"], 1)
        for key in ("ping_time", "query_time"):
            self.assertGreaterEqual(m[key], 0)
            self.assertLess(m[key], 3000)

    def test_server_starts_fast(self):
        # The issue promises "about a second"; allow a loaded CI box 10.
        self.assertLess(self.start_time, 10)

    def test_expect_match(self):
        _, p, _ = self.run_one("ch", self.server.url(),
                               "query = SELECT 40 + 2\nexpect = 42")
        self.assertEqual(p["status"], "ok", p["message"])
        self.assertEqual(p["metrics"]["value"], 42)

    def test_expect_mismatch_is_transient(self):
        _, p, _ = self.run_one("ch", self.server.url(),
                               "query = SELECT 'green'\nexpect = blue",
                               policy="attempts = 2\ndelay = 100ms\n"
                                      "timeout = 3s")
        self.assertEqual(p["status"], "fail", p["message"])
        self.assertEqual(p["attempts"], 2)
        self.assertEqual(outcomes(p), ["transient", "transient"])
        self.assertIn('returned "green", expected "blue"', p["message"])
        self.assertNotIn("value", p["metrics"])  # not a number

    def test_expect_with_several_rows(self):
        _, p, _ = self.run_one(
            "ch", self.server.url(),
            "query = SELECT number FROM system.numbers LIMIT 2\nexpect = 0")
        self.assertEqual(p["status"], "fail")
        self.assertIn("more than one value", p["message"])

    def test_value_metric(self):
        _, p, _ = self.run_one("ch", self.server.url(), "query = SELECT 42")
        self.assertEqual(p["status"], "ok", p["message"])
        self.assertEqual(p["metrics"]["value"], 42)

    def test_value_from_system_metrics_under_thresholds(self):
        # The probe's own query is running while it is counted.
        query = "SELECT value FROM system.metrics WHERE metric = 'Query'"
        _, p, _ = self.run_one("ch", self.server.url(),
                               "query = %s\nwarn_if = value >= 1\n"
                               "fail_if = value > 1000" % query)
        self.assertEqual(p["status"], "warn", p["message"])
        self.assertGreaterEqual(p["metrics"]["value"], 1)
        self.assertIn("value >= 1", json.dumps(p))

    def test_user_and_password_in_headers(self):
        _, p, _ = self.run_one("ch", self.server.url(),
                               "user = app\npassword = %s" % CANARY)
        self.assertEqual(p["status"], "ok", p["message"])

    def test_sha256_user(self):
        _, p, _ = self.run_one("ch", self.server.url(),
                               "user = hashed\npassword = hashed-pw")
        self.assertEqual(p["status"], "ok", p["message"])

    def test_readonly_user_without_max_execution_time(self):
        # readonly=1 refuses any setting, max_execution_time too (code 164):
        # the probe asks again without it.
        proc, p, _ = self.run_one("ch", self.server.url(),
                                  "user = ro\npassword = ro-pw",
                                  extra=("-v",))
        self.assertEqual(p["status"], "ok", p["message"])
        self.assertIn("readonly", proc.stderr)

    def test_wrong_password_is_fatal_at_once(self):
        _, p, took = self.run_one("ch", self.server.url(),
                                  "user = app\npassword = not-it",
                                  policy="warmup = 20s\nattempts = 3\n"
                                         "timeout = 3s")
        self.assertEqual(p["status"], "fail", p["message"])
        self.assertEqual(p["attempts"], 1)
        self.assertEqual(outcomes(p), ["fatal"])
        self.assertIn("authentication failed", p["message"])
        self.assertIn("Code: 193", p["message"])
        self.assertLess(took, 10)

    def test_unknown_user_is_fatal(self):
        _, p, _ = self.run_one("ch", self.server.url(), "user = nobody",
                               policy="attempts = 3\ntimeout = 3s")
        self.assertEqual(outcomes(p), ["fatal"])
        self.assertIn("Code: 192", p["message"])

    def test_unknown_database_is_fatal(self):
        _, p, _ = self.run_one("ch", self.server.url(),
                               "database = no_such_db",
                               policy="attempts = 3\ntimeout = 3s")
        self.assertEqual(p["status"], "fail")
        self.assertEqual(outcomes(p), ["fatal"])
        self.assertIn("unknown database", p["message"])
        self.assertIn("no_such_db", p["message"])

    def test_unknown_table_is_fatal_after_the_warmup(self):
        _, p, _ = self.run_one("ch", self.server.url(),
                               "query = SELECT count() FROM system.nope",
                               policy="attempts = 3\ntimeout = 3s")
        self.assertEqual(outcomes(p), ["fatal"])
        self.assertIn("unknown table", p["message"])
        self.assertIn("Code: 60", p["message"])

    def test_schema_created_late_in_the_warmup_passes(self):
        """An init script or migration makes the database, then the table,
        while gpcheck waits: unknown database (81), then unknown table
        (60), are transient in the warmup (the conformance suite's
        "database created late" and "cold start" found both fatal). The
        database is this test's own: the shared server is otherwise only
        read."""
        db = "late_%d" % os.getpid()
        self.addCleanup(self.server.query, "DROP DATABASE IF EXISTS " + db)
        self.section("ch", self.server.url(),
                     "query = SELECT count() FROM %s.events" % db,
                     policy="warmup = 30s\nwarmup_interval = 100ms\n"
                            "timeout = 2s")
        report = os.path.join(self.tmp, "late.json")
        gp = self.start_run(report=report)
        time.sleep(1.0)
        self.server.query("CREATE DATABASE " + db)
        time.sleep(1.0)
        self.server.query("CREATE TABLE %s.events (x UInt8) "
                          "ENGINE = MergeTree ORDER BY x" % db)
        _, err = gp.communicate(timeout=40)
        self.assertEqual(gp.returncode, 0, err)
        with open(report) as f:
            p = self.probe(json.load(f), "ch")
        self.assertEqual(p["status"], "ok", p["message"])
        said = [(h["outcome"], h["message"]) for h in p["history"]]
        self.assertTrue(any(o == "transient" and "unknown database" in m
                            for o, m in said), said)
        self.assertTrue(any(o == "transient" and "unknown table" in m
                            for o, m in said), said)

    def test_database_option(self):
        _, p, _ = self.run_one("ch", self.server.url(),
                               "database = system\n"
                               "query = SELECT dummy + 7 FROM one")
        self.assertEqual(p["status"], "ok", p["message"])
        self.assertEqual(p["metrics"]["value"], 7)

    def test_syntax_error_is_fatal_with_server_text(self):
        _, p, _ = self.run_one("ch", self.server.url(), "query = SELEC 1",
                               policy="attempts = 3\ntimeout = 3s")
        self.assertEqual(outcomes(p), ["fatal"])
        self.assertIn("syntax error", p["message"])
        self.assertIn("Code: 62", p["message"])
        self.assertIn("Syntax error: failed at position 1", p["message"])

    def test_other_exception_is_fatal_with_server_text(self):
        _, p, _ = self.run_one("ch", self.server.url(),
                               "query = SELECT throwIf(1)",
                               policy="attempts = 3\ntimeout = 3s")
        self.assertEqual(outcomes(p), ["fatal"])
        self.assertIn("Code: 395", p["message"])
        self.assertIn("throwIf", p["message"])

    def test_result_mentioning_an_exception_is_data(self):
        _, p, _ = self.run_one("ch", self.server.url(),
                               "query = SELECT 'saw no DB::Exception today'\n"
                               "expect = saw no DB::Exception today")
        self.assertEqual(p["status"], "ok", p["message"])

    def test_body_over_64k_is_fatal(self):
        _, p, _ = self.run_one(
            "ch", self.server.url(),
            "query = SELECT number FROM system.numbers LIMIT 100000")
        self.assertEqual(outcomes(p), ["fatal"])
        self.assertIn("more than 64 KiB", p["message"])

    def test_query_longer_than_the_attempt_is_cut(self):
        # sleep(3) outlasts the 1.5 s attempt; max_execution_time=1 does not
        # stop 18.16 inside sleep(), curl's timeout does.
        _, p, took = self.run_one("ch", self.server.url(),
                                  "query = SELECT sleep(3)",
                                  policy="attempts = 1\ntimeout = 1500ms")
        self.assertEqual(p["status"], "timeout", p["message"])
        self.assertIn("the query", p["message"])
        self.assertLess(took, 1.5 + GRACE + 1)

    def test_tls_with_ca_file(self):
        _, p, _ = self.run_one("ch", self.server.url(https=True),
                               "ca_file = %s" % self.server.cert)
        self.assertEqual(p["status"], "ok", p["message"])

    def test_tls_without_ca_file_is_fatal(self):
        _, p, _ = self.run_one("ch", self.server.url(https=True),
                               policy="attempts = 3\ntimeout = 3s")
        self.assertEqual(outcomes(p), ["fatal"])
        self.assertIn("TLS verification", p["message"])

    def test_tls_insecure(self):
        _, p, _ = self.run_one("ch", self.server.url(https=True),
                               "insecure = true")
        self.assertEqual(p["status"], "ok", p["message"])

    def test_password_file(self):
        path = self.secret_file("pw", CANARY + "\n")
        _, p, _ = self.run_one("ch", self.server.url(),
                               "user = app\npassword_file = %s" % path)
        self.assertEqual(p["status"], "ok", p["message"])

    def test_password_file_readable_by_others_is_refused(self):
        # GP_OPT_FILE: gpcheck refuses it with the config, nothing probed.
        path = self.secret_file("pw", CANARY + "\n", mode=0o644)
        self.section("ch", self.server.url(),
                     "user = app\npassword_file = %s" % path)
        proc = self.gp("validate")
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("conf.d/ch.ini:", proc.stderr)
        self.assertIn("group or others", proc.stderr)
        self.assertNotIn(CANARY, proc.stderr)

    def test_password_and_password_file_together_are_refused(self):
        path = self.secret_file("pw", CANARY)
        _, p, _ = self.run_one("ch", self.server.url(),
                               "user = app\npassword = x\n"
                               "password_file = %s" % path)
        self.assertEqual(outcomes(p), ["fatal"])
        self.assertIn("not both", p["message"])

    def test_credentials_in_url_are_refused_and_masked(self):
        # ABI 1.2 validate(): refused at config time, at the url's line.
        url = "http://app:%s@127.0.0.1:%d" % (FILE_CANARY, self.server.port)
        self.write("conf.d/ch.ini", "[ch]\nplugin = clickhouse\nurl = %s\n"
                   % url)
        for cmd in ("validate", "run", "list"):
            proc = self.gp(cmd)
            self.assertEqual(proc.returncode, 2, proc.stderr)
            self.assertIn("conf.d/ch.ini:3: probe 'ch': url:", proc.stderr)
            self.assertIn("app:***@", proc.stderr)
            self.assertNotIn(FILE_CANARY, proc.stdout + proc.stderr)

    def test_url_scheme_checked_by_validate(self):
        self.write("conf.d/ch.ini", "[ch]\nplugin = clickhouse\n"
                   "url = htp://127.0.0.1:8123\n")
        proc = self.gp("validate")
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("conf.d/ch.ini:3: probe 'ch': url:", proc.stderr)

    def test_canary_password_in_no_output(self):
        ok_file = self.secret_file("pw-ok", CANARY + "\n")
        bad_file = self.secret_file("pw-bad", FILE_CANARY + "\n")
        self.write("conf.d/a.ini", """
            [ch-inline]
            plugin = clickhouse
            url = %s
            user = app
            password = %s
            attempts = 1

            [ch-file]
            plugin = clickhouse
            url = %s
            user = app
            password_file = %s
            attempts = 1

            [ch-file-wrong]
            plugin = clickhouse
            url = %s
            user = app
            password_file = %s
            attempts = 1
            severity = optional
            """ % (self.server.url(), CANARY, self.server.url(), ok_file,
                   self.server.url(), bad_file))
        report = os.path.join(self.tmp, "r.json")
        runs = [self.gp("run", "-v", "-o", "text", "-o", "json:" + report),
                self.gp("run", "-o", "json"),
                self.gp("run", "--explain"),
                self.gp("list"),
                self.gp("list", "-v")]
        with open(report) as f:
            doc = json.load(f)
        statuses = {p["name"]: p["status"] for p in doc["probes"]}
        self.assertEqual(statuses, {"ch-inline": "ok", "ch-file": "ok",
                                    "ch-file-wrong": "fail"})
        self.assertIn("Wrong password",
                      self.probe(doc, "ch-file-wrong")["message"])
        text = json.dumps(doc) + "".join(r.stdout + r.stderr for r in runs)
        self.assertNotIn(CANARY, text)
        self.assertNotIn(FILE_CANARY, text)


class ServerLifecycleTest(ClickHouseCase):
    """Tests that stop or start a server: each has its own."""

    def new_server(self):
        ch = ClickHouse()
        self.addCleanup(ch.stop)
        return ch

    def test_stopped_server_is_transient_refused(self):
        ch = self.new_server().start()
        ch.stop_server()
        _, p, _ = self.run_one("ch", ch.url(),
                               policy="attempts = 2\ndelay = 100ms\n"
                                      "timeout = 2s")
        self.assertEqual(p["status"], "fail", p["message"])
        self.assertEqual(outcomes(p), ["transient", "transient"])
        self.assertIn("connection refused", p["message"])

    def test_started_late_during_warmup_passes(self):
        ch = self.new_server()  # ports chosen, nothing listening yet
        self.section("ch", ch.url(), policy="warmup = 30s\n"
                     "warmup_interval = 200ms\ntimeout = 2s")
        report = os.path.join(self.tmp, "late.json")
        gp = self.start_run(report=report)
        time.sleep(1.0)
        ch.start(wait=False)
        _, err = gp.communicate(timeout=40)
        self.assertEqual(gp.returncode, 0, err)
        with open(report) as f:
            p = self.probe(json.load(f), "ch")
        self.assertEqual(p["status"], "ok", p["message"])
        self.assertGreater(p["attempts"], 1)
        self.assertEqual(p["history"][0]["outcome"], "transient")
        self.assertIn("connection refused", p["history"][0]["message"])


class FixtureTest(ClickHouseCase):
    """What 18.16 does not do, from the HTTP fixture."""

    @classmethod
    def setUpClass(cls):
        cls.fixture_dir = tempfile.mkdtemp(prefix="gpcheck-ch-fixture-")
        cls.addClassCleanup(shutil.rmtree, cls.fixture_dir, True)
        cls.web = HttpdProcess(cls.fixture_dir)
        cls.addClassCleanup(cls.web.stop)

    def test_endpoint_that_never_answers_is_cut_at_the_timeout(self):
        _, p, took = self.run_one("ch", self.web.url("/hang"),
                                  policy="attempts = 1\ntimeout = 1s")
        self.assertEqual(p["status"], "timeout", p["message"])
        self.assertIn("GET /ping", p["message"])
        self.assertLess(took, 1 + GRACE + 1)

    def test_503_is_transient(self):
        _, p, _ = self.run_one("ch", self.web.url("/status/503"),
                               policy="attempts = 2\ndelay = 100ms\n"
                                      "timeout = 2s")
        self.assertEqual(outcomes(p), ["transient", "transient"])
        self.assertIn("HTTP 503", p["message"])

    def test_ping_not_ok_is_fatal(self):
        _, p, _ = self.run_one("ch", self.web.url("/body?text=hello"))
        self.assertEqual(outcomes(p), ["fatal"])
        self.assertIn("not a ClickHouse HTTP interface", p["message"])

    def test_exception_in_a_200_body_is_fatal_with_server_text(self):
        # Newer servers stream the first rows with 200 and append the
        # exception when it comes later.
        text = "1\nCode: 1001. DB::Exception: the table broke (STAND_IN)\n"
        url = self.web.url("/clickhouse/?" + urllib.parse.urlencode(
            {"text": text}))
        _, p, _ = self.run_one("ch", url)
        self.assertEqual(outcomes(p), ["fatal"])
        self.assertIn("Code: 1001. DB::Exception: the table broke (STAND_IN)",
                      p["message"])
        self.assertNotIn("value", p["metrics"])

    def test_exception_code_header_auth_is_fatal(self):
        url = self.web.url("/clickhouse/?" + urllib.parse.urlencode(
            {"status": "403", "header": "X-ClickHouse-Exception-Code: 516",
             "text": "Code: 516. DB::Exception: app: Authentication failed"}))
        _, p, _ = self.run_one("ch", url, policy="warmup = 10s\n"
                               "attempts = 3\ntimeout = 2s")
        self.assertEqual(outcomes(p), ["fatal"])
        self.assertIn("authentication failed", p["message"])

    def test_transient_exception_code(self):
        url = self.web.url("/clickhouse/?" + urllib.parse.urlencode(
            {"status": "500", "header": "X-ClickHouse-Exception-Code: 202",
             "text": "Code: 202. DB::Exception: Too many simultaneous "
                     "queries. Maximum: 100"}))
        _, p, _ = self.run_one("ch", url, policy="attempts = 2\n"
                               "delay = 100ms\ntimeout = 2s")
        self.assertEqual(outcomes(p), ["transient", "transient"])
        self.assertIn("Too many simultaneous", p["message"])
