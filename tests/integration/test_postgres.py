"""tests/integration/test_postgres.py - the postgres probe (libpq) against a
real PostgreSQL 15 on loopback (tests/servers/postgres.py).

Every outcome comes from a real server or a real fault: ready with
metrics, bad password / missing role / missing database / permission
denied (fatal at once, even in warmup), a query's error, `expect` met and
missed, too many connections, a server stopped, shutting down, started
late, restarted during warmup, a hot standby, a listener that never
answers, a blackholed connect, a query cut at the deadline (and
cancelled on the server). And a canary password that appears in no
output of any kind on any path.
"""

import json
import os
import signal
import threading
import time
import unittest

from gp import GRACE, GpTestCase, wait_until

from base import wait_tcp
from postgres import Postgres

# A password that must never be printed, in any output, on any path.
CANARY = "Canary-7f3a9c1e"

APP_PASSWORD = "app-pw-1"
MAX_CONNECTIONS = 8
RESERVED = 2


class PgTestCase(GpTestCase):
    """Helpers shared by both test classes; `pg` is the class's server."""

    pg = None

    def pg_ini(self, name="db", dsn=None, **keys):
        """A probe NAME of plugin postgres; keys are options or policy
        (attempts = 1 and timeout = 3s unless given)."""
        keys.setdefault("attempts", "1")
        keys.setdefault("timeout", "3s")
        if dsn is None:
            dsn = self.pg.dsn("app", "appdb")
            keys.setdefault("password", APP_PASSWORD)
        lines = ["[%s]" % name, "plugin = postgres", "dsn = " + dsn]
        lines += ["%s = %s" % (k, v) for k, v in keys.items()]
        self.write("conf.d/%s.ini" % name, "\n".join(lines) + "\n")

    def run_one(self, name="db", *extra, env=None):
        """Run gpcheck; returns (proc, the probe's JSON, seconds)."""
        env = dict(env or {})
        # Only the passwords the test configures: no ~/.pgpass.
        env.setdefault("PGPASSFILE", os.path.join(self.tmp, "no-pgpass"))
        proc, doc, took = self.run_json(*extra, env=env)
        self.assertIsNotNone(doc, proc.stderr)
        return proc, self.probe(doc, name), took

    def check_one(self, dsn=None, **keys):
        self.pg_ini("db", dsn, **keys)
        return self.run_one("db")

    def assert_outcome(self, probe, status, outcome, *texts):
        self.assertEqual(probe["status"], status, probe)
        self.assertEqual(probe["history"][-1]["outcome"], outcome, probe)
        for text in texts:
            self.assertIn(text, probe["message"])


class PostgresTest(PgTestCase):
    """Tests sharing one server they do not disturb (connections they hold
    are released before they end)."""

    @classmethod
    def setUpClass(cls):
        cls.pg = Postgres(max_connections=MAX_CONNECTIONS,
                          superuser_reserved_connections=RESERVED)
        cls.addClassCleanup(cls.pg.stop)
        cls.pg.start()
        cls.pg.create_role("app", APP_PASSWORD)
        cls.pg.psql("GRANT pg_read_all_stats TO app")
        cls.pg.create_role("plain", "plain-pw")
        cls.pg.create_role("canary", CANARY)
        cls.pg.create_db("appdb", owner="app")
        cls.pg.create_db("locked", owner="app")
        cls.pg.psql("REVOKE CONNECT ON DATABASE locked FROM PUBLIC")

    def client_backends(self):
        return int(self.pg.psql(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE backend_type = 'client backend' "
            "AND pid <> pg_backend_pid()"))

    def hold(self, n):
        """n more superuser sessions sleeping in the server; all of them
        are released (and their backends waited for) when the test ends."""
        if getattr(self, "_held", None) is None:
            self._held = []
            self.addCleanup(self._release)
        for _ in range(n):
            # A slot may still be held by a backend on its way out: retry.
            for _ in range(20):
                s = self.pg.hold()
                if s:
                    self._held.append(s)
                    break
                time.sleep(0.1)
            else:
                self.fail("could not open a holding session")

    def _release(self):
        for s in self._held:
            if s.poll() is None:
                os.killpg(s.pid, signal.SIGKILL)
            s.wait(10)
            s.stdout.close()
        # The backends notice their client is gone within
        # client_connection_check_interval.
        self.assertTrue(wait_until(self._drained, 15, 0.1))

    def _drained(self):
        try:
            return self.client_backends() == 0
        except RuntimeError:
            return False  # no slot for psql yet

    # -- ready ---------------------------------------------------------

    def test_ready_with_metrics(self):
        proc, p, took = self.check_one()
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assert_outcome(p, "ok", "ready", "connected to",
                            "PostgreSQL 15.")
        self.assertEqual(p["attempts"], 1)
        m = p["metrics"]
        for key in ("connect_time", "query_time", "connections",
                    "max_connections", "pool_usage", "server_version"):
            self.assertIn(key, m)
        self.assertGreater(m["connect_time"], 0)
        self.assertGreaterEqual(m["server_version"], 150000)
        self.assertLess(m["server_version"], 160000)
        self.assertEqual(m["max_connections"], MAX_CONNECTIONS)
        # The probe's own session counts.
        self.assertGreaterEqual(m["connections"], 1)
        self.assertGreater(m["pool_usage"], 0)
        self.assertLessEqual(m["pool_usage"], 100)
        self.assertAlmostEqual(
            m["pool_usage"],
            100.0 * m["connections"] / (MAX_CONNECTIONS - RESERVED), places=3)
        # The dsn is shown re-rendered, the password option nowhere.
        self.assertIn("user=app dbname=appdb host=127.0.0.1", p["message"])

    def test_pool_usage_counts_held_connections(self):
        self.assertTrue(wait_until(self._drained, 10, 0.1))
        self.hold(3)
        proc, p, _ = self.check_one()
        self.assertEqual(p["status"], "ok", p)
        self.assertEqual(p["metrics"]["connections"], 4)
        self.assertAlmostEqual(p["metrics"]["pool_usage"],
                               100.0 * 4 / (MAX_CONNECTIONS - RESERVED),
                               places=3)

    def test_role_without_stats_privilege_skips_pool_metrics(self):
        proc, p, _ = self.check_one(self.pg.dsn("plain", "appdb"),
                                    password="plain-pw")
        self.assertEqual(p["status"], "ok", p)
        self.assertEqual(p["metrics"]["max_connections"], MAX_CONNECTIONS)
        self.assertNotIn("connections", p["metrics"])
        self.assertNotIn("pool_usage", p["metrics"])

    def test_unix_socket(self):
        dsn = "host=%s port=%d dbname=appdb user=postgres" % (self.pg.dir,
                                                              self.pg.port)
        proc, p, _ = self.check_one(dsn)
        self.assert_outcome(p, "ok", "ready", "host=" + self.pg.dir)

    def test_host_name_resolved_within_deadline(self):
        dsn = "postgresql://app@localhost:%d/appdb" % self.pg.port
        self.pg_ini("db", dsn, password=APP_PASSWORD)
        proc, p, _ = self.run_one("db", "-v")
        self.assert_outcome(p, "ok", "ready", "host=localhost")
        self.assertIn("resolved localhost to", proc.stderr)

    def test_several_hosts_tried_in_turn(self):
        dsn = "host=127.0.0.1,localhost port=1,%d dbname=appdb user=app" \
            % self.pg.port
        proc, p, _ = self.check_one(dsn, password=APP_PASSWORD)
        self.assert_outcome(p, "ok", "ready", "host=127.0.0.1,localhost")
        # A reason that will not pass wins over a refused first host.
        proc, p, _ = self.check_one(dsn, password="wrong-pw", warmup="15s")
        self.assert_outcome(p, "fail", "fatal", "28P01")
        self.assertEqual(p["attempts"], 1)

    def test_dsn_without_secret_still_shown(self):
        # dsn is a connection string, not one opaque secret: shown as
        # libpq reads it, in messages and in `list`.
        dsn = "user=app dbname=appdb host=127.0.0.1 port=%d" % self.pg.port
        proc, p, _ = self.check_one(dsn, password=APP_PASSWORD)
        self.assert_outcome(p, "ok", "ready",
                            "user=app dbname=appdb host=127.0.0.1")
        self.assertIn("dsn = " + dsn, self.gp("list").stdout)

    def test_unresolvable_name_is_bounded(self):
        # NXDOMAIN (dnsd.py on loopback is the system resolver) gives fatal;
        # a resolver that cannot be reached gives transient or a timeout
        # (test_faults_net.ResolverTest). Either way: not ready, in time.
        self.private_resolver("nxdomain")
        proc, p, took = self.check_one(
            "host=no-such-host.invalid port=5432 dbname=x user=app",
            timeout="2s")
        self.assertIn(p["status"], ("fail", "timeout"), p)
        self.assertIn("no-such-host.invalid", p["message"])
        self.assertLess(took, 2 + GRACE)

    # -- fatal at once -------------------------------------------------

    def assert_fatal_at_once(self, dsn, password, *texts):
        proc, p, took = self.check_one(dsn, password=password, warmup="15s",
                                       timeout="5s", attempts="3")
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assert_outcome(p, "fail", "fatal", *texts)
        self.assertEqual(p["attempts"], 1)
        self.assertLess(took, 3)
        return p

    def test_wrong_password_fatal_at_once(self):
        self.assert_fatal_at_once(self.pg.dsn("app", "appdb"), "wrong",
                                  "password authentication failed",
                                  "28P01")

    def test_missing_role_fatal(self):
        # Over TCP, SCRAM hides whether the role exists (28P01 as above);
        # the trusted socket says it plainly.
        dsn = "host=%s port=%d dbname=appdb user=ghost" % (self.pg.dir,
                                                           self.pg.port)
        self.assert_fatal_at_once(dsn, "ghost-pw",
                                  'role "ghost" does not exist', "28000")

    def test_missing_database_fatal_after_warmup(self):
        proc, p, took = self.check_one(self.pg.dsn("app", "nodb"),
                                       password=APP_PASSWORD, timeout="5s",
                                       attempts="3")
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assert_outcome(p, "fail", "fatal",
                            'database "nodb" does not exist', "3D000")
        self.assertEqual(p["attempts"], 1)
        self.assertLess(took, 3)

    def test_database_created_late_waited_for_in_warmup(self):
        # Provisioning creates the database while the probe warms up (the
        # conformance suite's "database created late"): transient there,
        # ready once it exists; the old probe gave up at the first attempt.
        self.pg_ini("db", self.pg.dsn("app", "latedb"),
                    password=APP_PASSWORD, warmup="20s")
        timer = threading.Timer(0.8, self.pg.create_db, ("latedb", "app"))
        timer.start()
        self.addCleanup(lambda: self.pg.psql("DROP DATABASE IF EXISTS latedb"))
        self.addCleanup(timer.join)
        proc, p, took = self.run_one("db")
        self.assert_outcome(p, "ok", "ready")
        warm = [h for h in p["history"] if h["phase"] == "warmup"]
        self.assertIn("3D000", warm[0]["message"])
        self.assertEqual(warm[0]["outcome"], "transient")
        self.assertLess(took, 0.8 + 5)

    def test_password_set_late_waited_for_with_wait_for_role(self):
        # Provisioning sets the role's password after the server is up
        # (the conformance suite's "password set late"): with
        # wait_for_role the refused logins (28P01) are transient in the
        # warmup and the probe passes once the password is there.
        self.pg.create_role("late", password=None)
        self.addCleanup(lambda: self.pg.psql("DROP ROLE IF EXISTS late"))
        self.pg_ini("db", self.pg.dsn("late", "appdb"), password="late-pw",
                    warmup="20s", warmup_interval="100ms",
                    wait_for_role="true")
        timer = threading.Timer(
            0.8, self.pg.psql, ("ALTER ROLE late PASSWORD 'late-pw'",))
        timer.start()
        self.addCleanup(timer.join)
        proc, p, took = self.run_one("db")
        self.assert_outcome(p, "ok", "ready")
        warm = [h for h in p["history"] if h["phase"] == "warmup"]
        self.assertIn("28P01", warm[0]["message"])
        self.assertEqual(warm[0]["outcome"], "transient")
        self.assertLess(took, 0.8 + 5)

    def test_wait_for_role_fatal_after_warmup(self):
        # wait_for_role only moves the verdict to the warmup's end: a
        # password that stays wrong is fatal then, not waited for forever.
        proc, p, took = self.check_one(self.pg.dsn("app", "appdb"),
                                       password="wrong", warmup="1s",
                                       warmup_interval="200ms",
                                       wait_for_role="true", timeout="2s",
                                       attempts="3")
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assert_outcome(p, "fail", "fatal", "28P01")
        warm = [h for h in p["history"] if h["phase"] == "warmup"]
        self.assertGreater(len(warm), 1)
        self.assertTrue(all(h["outcome"] == "transient" for h in warm))
        self.assertLess(took, 1 + 3)

    def test_permission_denied_fatal(self):
        self.assert_fatal_at_once(self.pg.dsn("plain", "locked"), "plain-pw",
                                  'permission denied for database "locked"',
                                  "42501", "CONNECT privilege")

    def test_no_password_given_fatal(self):
        proc, p, _ = self.check_one(self.pg.dsn("app", "appdb"),
                                    warmup="15s")
        self.assert_outcome(p, "fail", "fatal", "asks for a password")
        self.assertEqual(p["attempts"], 1)

    # -- the query -----------------------------------------------------

    def test_query_error_fatal_with_server_text(self):
        proc, p, _ = self.check_one(query="SELECT * FROM no_such_table")
        self.assert_outcome(p, "fail", "fatal",
                            'relation "no_such_table" does not exist',
                            "42P01")

    def test_expect_met(self):
        proc, p, _ = self.check_one(query="SELECT current_database()",
                                    expect="appdb")
        self.assert_outcome(p, "ok", "ready")

    def test_expect_missed_transient_in_warmup_then_fatal(self):
        proc, p, took = self.check_one(
            query="SELECT 'pending'::text, 2", expect="done",
            warmup="1s", warmup_interval="250ms")
        self.assert_outcome(p, "fail", "fatal",
                            'returned "pending", expected "done"')
        warm = [h for h in p["history"] if h["phase"] == "warmup"]
        self.assertGreaterEqual(len(warm), 2)
        self.assertTrue(all(h["outcome"] == "transient" for h in warm))
        self.assertLess(took, 1 + 3 + GRACE)

    def test_expect_no_rows(self):
        proc, p, _ = self.check_one(query="SELECT 1 WHERE false",
                                    expect="1")
        self.assert_outcome(p, "fail", "fatal", "no rows")

    def test_query_cut_at_deadline_and_cancelled(self):
        proc, p, took = self.check_one(query="SELECT pg_sleep(30)",
                                       timeout="1s")
        self.assert_outcome(p, "timeout", "timeout", "did not finish")
        self.assertGreater(took, 0.9)
        self.assertLess(took, 1 + GRACE)
        # The cancel request reached the server: the sleep is gone.
        self.assertTrue(wait_until(lambda: self.pg.psql(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE query = 'SELECT pg_sleep(30)'") == "0", 5))

    # -- too many connections --------------------------------------------

    def test_too_many_connections_transient(self):
        # Every non-reserved slot taken: a normal role is refused.
        self.hold(MAX_CONNECTIONS - RESERVED)
        proc, p, _ = self.check_one()
        self.assert_outcome(p, "fail", "transient",
                            "remaining connection slots are reserved",
                            "53300")
        # Every slot taken: "sorry, too many clients already".
        self.hold(RESERVED)
        proc, p, _ = self.check_one()
        self.assert_outcome(p, "fail", "transient",
                            "too many clients already", "53300")

    # -- faults without a server ---------------------------------------

    # (The password is not "x" here: with dbname=x the masker would have
    # to withhold the message, see test_secrets.py.)
    def test_listener_that_never_answers_cut_at_timeout(self):
        hang = self.listener("hang")
        dsn = "host=127.0.0.1 port=%d dbname=x user=app" % hang.port
        proc, p, took = self.check_one(dsn, password="unused-pw", timeout="1s")
        self.assert_outcome(p, "timeout", "timeout", "no answer from",
                            "within")
        self.assertGreater(took, 0.9)
        self.assertLess(took, 1 + GRACE)

    def test_blackholed_connect_cut_at_timeout(self):
        hole = self.listener("blackhole")
        dsn = "host=127.0.0.1 port=%d dbname=x user=app" % hole.port
        proc, p, took = self.check_one(dsn, password="unused-pw", timeout="1s")
        self.assert_outcome(p, "timeout", "timeout",
                            "waiting for the TCP connection")
        self.assertLess(took, 1 + GRACE)

    # -- options -----------------------------------------------------------

    def password_file(self, content, mode):
        path = os.path.join(self.tmp, "pw-%o" % mode)
        with open(path, "w") as f:
            f.write(content)
        os.chmod(path, mode)
        return path

    def test_password_file(self):
        path = self.password_file(APP_PASSWORD + "\n", 0o600)
        proc, p, _ = self.check_one(self.pg.dsn("app", "appdb"),
                                    password_file=path)
        self.assert_outcome(p, "ok", "ready")

    def test_password_file_readable_by_others_refused(self):
        # GP_OPT_FILE: gpcheck refuses it with the config, nothing probed.
        path = self.password_file(APP_PASSWORD + "\n", 0o644)
        self.pg_ini("db", self.pg.dsn("app", "appdb"), password_file=path)
        for cmd in ("run", "validate"):
            proc = self.gp(cmd)
            self.assertEqual(proc.returncode, 2, proc.stderr)
            self.assertIn("conf.d/db.ini:4: probe 'db': password_file:",
                          proc.stderr)
            self.assertIn("chmod 600", proc.stderr)
        self.pg_ini("db", self.pg.dsn("app", "appdb"), password_file=self.tmp)
        proc = self.gp("validate")
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("not a regular file", proc.stderr)

    def test_password_file_checked_again_by_each_attempt(self):
        # Private when gpcheck read the config, readable by others by the
        # time of a later attempt: that attempt refuses it (fatal).
        closed = self.listener("closed")
        path = self.password_file(APP_PASSWORD, 0o600)
        self.pg_ini("db", "host=127.0.0.1 port=%d dbname=x user=app"
                    % closed.port, password_file=path, warmup="15s",
                    warmup_interval="100ms")
        box = {}
        th = threading.Thread(target=lambda: box.update(
            r=self.run_one("db")), daemon=True)
        th.start()
        time.sleep(0.5)
        os.chmod(path, 0o640)
        th.join(30)
        self.assertFalse(th.is_alive())
        proc, p, took = box["r"]
        self.assert_outcome(p, "fail", "fatal", path, "chmod 600")
        self.assertIn("refused", p["history"][0]["message"])
        self.assertLess(took, 10)

    def test_password_and_password_file_conflict(self):
        path = self.password_file(APP_PASSWORD, 0o600)
        proc, p, _ = self.check_one(self.pg.dsn("app", "appdb"),
                                    password=APP_PASSWORD, password_file=path)
        self.assert_outcome(p, "fail", "fatal", "not both")

    def test_bad_dsn_is_fatal(self):
        proc, p, _ = self.check_one("host=127.0.0.1 sslmode=sometimes",
                                    password="x")
        self.assert_outcome(p, "fail", "fatal", "sslmode")

    def test_dsn_syntax_is_a_config_error(self):
        # ABI 1.2 validate(): libpq's parser at config time, the mistyped
        # key shown (it is a key, not a value), for every command that
        # reads the config.
        self.pg_ini("db", "hots=127.0.0.1 port=5432", password="x")
        for cmd in ("validate", "run", "list"):
            proc = self.gp(cmd)
            self.assertEqual(proc.returncode, 2, proc.stderr)
            self.assertIn("conf.d/db.ini:3: probe 'db': dsn: invalid "
                          "connection option \"hots\"", proc.stderr)
        proc = self.gp("run", "--explain")
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn('"hots"', proc.stderr)

    def test_dsn_parse_errors_never_show_a_secret(self):
        port = self.pg.port
        self.pg_ini("parse_error", "host=127.0.0.1 password=%s junk" % CANARY)
        self.pg_ini("bad_percent", "postgresql://app:%s%%zz@127.0.0.1:%d/x"
                    % (CANARY, port))
        proc = self.gp("validate", "-v")
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("conf.d/parse_error.ini:3: probe 'parse_error': dsn: "
                      "missing", proc.stderr)
        self.assertIn("conf.d/bad_percent.ini:3: probe 'bad_percent': dsn:",
                      proc.stderr)
        for cmd in ("validate", "run", "list"):
            proc = self.gp(cmd, "-v")
            self.assert_no_canary([proc.stdout, proc.stderr])

    def test_schema(self):
        proc = self.gp("plugins", "postgres")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        for key in ("dsn", "password", "password_file", "query", "expect",
                    "allow_recovery", "pool_usage", "server_version"):
            self.assertIn(key, proc.stdout)

    # -- secrets -----------------------------------------------------------

    def outputs_of(self, *extra, env=None):
        """Every output of run (text with -v, JSON), list and validate."""
        env = dict(env or {})
        env.setdefault("PGPASSFILE", os.path.join(self.tmp, "no-pgpass"))
        # Few attempts in flight: the server has 6 slots for these roles.
        proc, doc, _ = self.run_json("-v", "-j", "3", *extra, env=env)
        self.assertIsNotNone(doc, proc.stderr)
        out = [proc.stdout, proc.stderr, json.dumps(doc)]
        for cmd in ("list", "validate -v"):
            p = self.gp(*cmd.split(), env=env)
            self.assertEqual(p.returncode, 0, p.stderr)
            out += [p.stdout, p.stderr]
        p = self.gp("run", "-j", "3", "-o", "json", env=env)
        out += [p.stdout, p.stderr]
        return doc, out

    def assert_no_canary(self, outputs):
        for text in outputs:
            self.assertNotIn(CANARY, text)
            # Not even a good part of it.
            self.assertNotIn(CANARY[:10], text)

    def test_canary_never_printed(self):
        hang = self.listener("hang")
        port = self.pg.port
        pw_file = self.password_file(CANARY + "\n", 0o600)
        cases = {
            # name: (dsn, extra keys, expected status)
            "ok_option": (self.pg.dsn("canary", "appdb"),
                          {"password": CANARY}, "ok"),
            "ok_uri": ("postgresql://canary:%s@127.0.0.1:%d/appdb"
                       % (CANARY, port), {}, "ok"),
            "ok_keyword": (self.pg.dsn("canary", "appdb", CANARY), {}, "ok"),
            "ok_file": (self.pg.dsn("canary", "appdb"),
                        {"password_file": pw_file}, "ok"),
            "bad_option": (self.pg.dsn("app", "appdb"),
                           {"password": CANARY}, "fail"),
            "bad_uri": ("postgresql://app:%s@127.0.0.1:%d/appdb"
                        % (CANARY, port), {}, "fail"),
            "bad_file": (self.pg.dsn("app", "appdb"),
                         {"password_file": pw_file}, "fail"),
            "query_error": ("postgresql://canary:%s@127.0.0.1:%d/appdb"
                            % (CANARY, port),
                            {"query": "SELECT nope"}, "fail"),
            "query_error_option": (self.pg.dsn("canary", "appdb"),
                                   {"password": CANARY,
                                    "query": "SELECT 1/0"}, "fail"),
            "hang_uri": ("postgresql://app:%s@127.0.0.1:%d/x"
                         % (CANARY, hang.port), {"timeout": "500ms"},
                         "timeout"),
        }
        for name, (dsn, keys, _) in cases.items():
            keys.setdefault("severity", "optional")
            self.pg_ini(name, dsn, **keys)
        doc, outputs = self.outputs_of()
        for name, (_, _, status) in cases.items():
            p = self.probe(doc, name)
            self.assertEqual(p["status"], status, p)
            if "uri" in name or "keyword" in name:
                self.assertIn("password=***", p["message"])
        p = self.gp("probe", "postgres", "dsn=" + self.pg.dsn("app", "appdb"),
                    "password=" + CANARY, "-v",
                    env={"PGPASSFILE": os.path.join(self.tmp, "no-pgpass")})
        self.assertEqual(p.returncode, 1)
        outputs += [p.stdout, p.stderr]
        self.assert_no_canary(outputs)


class PostgresLifecycleTest(PgTestCase):
    """Tests that stop, restart and reconfigure their server; each starts
    with it running."""

    @classmethod
    def setUpClass(cls):
        cls.pg = Postgres()
        cls.addClassCleanup(cls.pg.stop)
        cls.pg.start()
        cls.pg.create_role("app", APP_PASSWORD)
        cls.pg.create_db("appdb", owner="app")

    def setUp(self):
        super().setUp()
        self.pg.stop_server()
        self.pg.start()

    def in_background(self, *extra):
        """Run gpcheck in a thread; join() returns (proc, probe, seconds,
        monotonic end time)."""
        box = {}

        def run():
            t0 = time.monotonic()
            try:
                proc, doc, took = self.run_json(
                    *extra, env={"PGPASSFILE": "/nonexistent"}, timeout=60)
                box["result"] = (proc, doc, took, time.monotonic())
            except Exception as e:  # reported by join()
                box["error"] = e
            box.setdefault("t0", t0)

        th = threading.Thread(target=run, daemon=True)
        th.start()

        def join():
            th.join(90)
            self.assertFalse(th.is_alive(), "gpcheck did not finish")
            if "error" in box:
                raise box["error"]
            proc, doc, took, end = box["result"]
            self.assertIsNotNone(doc, proc.stderr)
            return proc, self.probe(doc, "db"), took, end

        return join

    def test_stopped_server_is_transient_refused(self):
        self.pg.stop_server()
        proc, p, took = self.check_one(timeout="2s")
        self.assert_outcome(p, "fail", "transient", "Connection refused")
        self.assertLess(took, 2)

    def test_started_late_passes_soon_after_accepting(self):
        self.pg.stop_server()
        self.pg_ini(warmup="15s", timeout="2s")
        join = self.in_background()
        time.sleep(2)
        self.pg.start(wait=False)
        self.assertTrue(wait_tcp("127.0.0.1", self.pg.port, 30),
                        self.pg.log_tail())
        accepting = time.monotonic()
        proc, p, took, end = join()
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assert_outcome(p, "ok", "ready")
        self.assertGreater(took, 1.5)
        self.assertLess(end - accepting, 1 + GRACE)
        early = p["history"][0]
        self.assertEqual(early["outcome"], "transient")
        self.assertIn("refused", early["message"])

    def test_restarted_during_warmup_passes(self):
        # The first attempt is inside its query when the server goes down
        # (fast shutdown: "terminating connection due to administrator
        # command"), the next ones find it stopped, then it is back.
        self.pg_ini(warmup="15s", timeout="5s", query="SELECT pg_sleep(1)")
        join = self.in_background()
        self.assertTrue(wait_until(lambda: self.pg.psql(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE application_name = 'gpcheck' AND state = 'active'")
            == "1", 10))
        self.pg.stop_server()
        time.sleep(0.5)
        self.pg.start()
        proc, p, took, end = join()
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assert_outcome(p, "ok", "ready")
        warm = [h for h in p["history"] if h["outcome"] == "transient"]
        self.assertTrue(warm, p["history"])
        self.assertTrue(any("57P01" in h["message"]
                            or "connection lost" in h["message"]
                            for h in warm), p["history"])
        self.assertLess(took, 15)

    def test_restart_after_crash_passes(self):
        # Immediate shutdown: the next start replays WAL first ("the
        # database system is starting up" / "in recovery mode" when caught).
        self.pg.crash()
        self.pg_ini(warmup="15s", timeout="2s")
        join = self.in_background()
        time.sleep(0.5)
        self.pg.start()
        proc, p, took, end = join()
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assert_outcome(p, "ok", "ready")
        self.assertTrue(all(h["outcome"] == "transient"
                            for h in p["history"][:-1]), p["history"])
        self.assertGreater(len(p["history"]), 1)

    def test_shutting_down_is_transient(self):
        # A smart shutdown waits for its clients and refuses new ones.
        holder = self.pg.hold()
        self.assertIsNotNone(holder)

        def release():
            if holder.poll() is None:
                os.killpg(holder.pid, signal.SIGKILL)
            holder.wait(10)
            holder.stdout.close()

        self.addCleanup(release)
        os.kill(self.pg.proc.pid, signal.SIGTERM)
        self.assertTrue(wait_until(
            lambda: "smart shutdown request" in self.pg.log_tail(50), 10))
        proc, p, _ = self.check_one()
        self.assert_outcome(p, "fail", "transient",
                            "the database system is shutting down", "57P03")

    def test_hot_standby_needs_allow_recovery(self):
        self.pg.stop_server()
        signal_file = os.path.join(self.pg.data, "standby.signal")
        with open(signal_file, "w"):
            pass
        os.chown(signal_file, os.stat(self.pg.data).st_uid,
                 os.stat(self.pg.data).st_gid)
        self.addCleanup(lambda: os.path.exists(signal_file) and
                        os.unlink(signal_file))
        self.pg.start()
        self.assertEqual(self.pg.psql("SELECT pg_is_in_recovery()"), "t")
        proc, p, _ = self.check_one()
        self.assert_outcome(p, "fail", "transient", "in recovery",
                            "allow_recovery")
        proc, p, _ = self.check_one(allow_recovery="true")
        self.assert_outcome(p, "ok", "ready")


if __name__ == "__main__":
    unittest.main()
