"""tests/integration/test_postgres_pool.py - the postgres probe's pool
metrics against a real PostgreSQL 15 (tests/servers/postgres.py), with
sessions held open by several application names and roles, roles and a
database with CONNECTION LIMIT, a session idle in a transaction and one
waiting for its lock.

The server logs every statement (log_statement = all), so a test sees
what the probe sent: nothing more than the user's query when nobody reads
a pool metric, and the pool statement in the same message as the query
(one log line, one round trip) when a threshold or a report does.
"""

import os
import select
import signal
import subprocess
import time

from gp import GpTestCase, wait_until

from postgres import PG_BIN, Postgres, _clean_env

MAX_CONNECTIONS = 20
RESERVED = 3
APP_PW = "app-pw-2"
LIM_PW = "lim-pw-2"
SU_PW = "su-pw-2"


class PoolTest(GpTestCase):
    pg = None

    @classmethod
    def setUpClass(cls):
        cls.pg = Postgres(max_connections=MAX_CONNECTIONS,
                          superuser_reserved_connections=RESERVED,
                          settings={"log_statement": "all"})
        cls.addClassCleanup(cls.pg.stop)
        cls.pg.start()
        cls.pg.create_role("app", APP_PW)
        cls.pg.psql("GRANT pg_read_all_stats TO app")
        # The superuser logs in over TCP with SCRAM too (VACUUM's owner).
        cls.pg.psql("ALTER ROLE postgres PASSWORD '%s'" % SU_PW)
        cls.pg.create_role("lim", LIM_PW)
        cls.pg.psql("ALTER ROLE lim CONNECTION LIMIT 2")
        cls.pg.create_role("plain", "plain-pw")
        cls.pg.create_db("appdb", owner="app")
        cls.pg.create_db("limdb", owner="app")
        cls.pg.psql("ALTER DATABASE limdb CONNECTION LIMIT 1")
        cls.pg.psql("CREATE TABLE t (x int)", db="appdb")
        cls.pg.psql("ALTER TABLE t OWNER TO app", db="appdb")

    # -- sessions the tests hold -----------------------------------------

    def session(self, user, password, db, app_name, sql="SELECT 1;"):
        """A psql session as USER in DB named APP_NAME that ran SQL and
        stays connected (its stdin stays open) until the test ends."""
        env = dict(_clean_env(), PGAPPNAME=app_name, PGPASSWORD=password)
        proc = subprocess.Popen(
            [os.path.join(PG_BIN, "psql"), "-X", "-q", "-A", "-t", "-h",
             "127.0.0.1", "-p", str(self.pg.port), "-U", user, "-d", db],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, env=env, start_new_session=True,
            bufsize=0)  # unbuffered: select() sees every line
        if not getattr(self, "_draining", False):
            # Cleanups run last-in first-out: this one after every _end.
            self._draining = True
            self.addCleanup(lambda: self.assertTrue(
                wait_until(self._drained, 15, 0.1)))
        self.addCleanup(self._end, proc)
        proc.stdin.write(("%s\nSELECT 'ready';\n" % sql).encode())
        proc.stdin.flush()
        # What SQL printed comes first; at most a few lines, 10 s.
        deadline = time.monotonic() + 10
        line = b""
        for _ in range(20):
            left = deadline - time.monotonic()
            ready, _, _ = select.select([proc.stdout], [], [], max(left, 0))
            line = proc.stdout.readline() if ready else b""
            if not line or line.strip() == b"ready" or b"psql:" in line:
                break
        self.assertEqual(line.strip(), b"ready", "session %s did not start: "
                         "%r" % (app_name, line))
        return proc

    def _end(self, proc):
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        proc.stdin.close()
        proc.stdout.close()

    def _drained(self):
        return self.pg.psql(
            "SELECT count(*) FROM pg_stat_activity WHERE backend_type = "
            "'client backend' AND pid <> pg_backend_pid()") == "0"

    # -- running the probe -----------------------------------------------

    def probe_ini(self, dsn=None, **keys):
        keys.setdefault("attempts", "1")
        keys.setdefault("timeout", "5s")
        if dsn is None:
            dsn = self.pg.dsn("app", "appdb")
            keys.setdefault("password", APP_PW)
        lines = ["[db]", "plugin = postgres", "dsn = " + dsn]
        lines += ["%s = %s" % (k, v) for k, v in keys.items()]
        self.write("conf.d/db.ini", "\n".join(lines) + "\n")

    def run_probe(self, **keys):
        self.probe_ini(**keys)
        proc, doc, _ = self.run_json(env=self.env())
        self.assertIsNotNone(doc, proc.stderr)
        return proc, self.probe(doc, "db")

    def env(self):
        return {"PGPASSFILE": os.path.join(self.tmp, "no-pgpass")}

    def statements(self, marker):
        """The server's log lines of statements that contain marker."""
        with open(self.pg.log_path(), errors="replace") as f:
            text = f.read()
        # A logged statement may span lines; its first line has the marker
        # or the statement is split at the marker's newline.
        entries = text.split("\n20")
        return [e for e in entries if "statement:" in e and marker in e]

    # -- round trips -----------------------------------------------------

    def test_no_pool_statement_when_nobody_reads_it(self):
        """Text report, no threshold: the query alone, as one statement."""
        self.probe_ini(query="SELECT 'nobody-reads-1'")
        proc = self.gp("run", env=self.env())
        self.assertEqual(proc.returncode, 0, proc.stderr)
        sent = self.statements("nobody-reads-1")
        self.assertEqual(len(sent), 1, sent)
        self.assertNotIn("pg_stat_get_activity", sent[0])
        with open(self.pg.log_path(), errors="replace") as f:
            log = f.read()
        self.assertNotIn("FROM pg_catalog.pg_stat_activity", log)

    def test_threshold_reads_pool_in_the_same_message(self):
        """A threshold on pool_usage: one message with the pool statement
        (on pg_stat_get_activity(NULL), not the view) and the query."""
        self.probe_ini(query="SELECT 'threshold-reads-1'",
                       warn_if="pool_usage > 99%")
        proc = self.gp("run", "--explain", env=self.env())
        self.assertEqual(proc.returncode, 0, proc.stderr)
        sent = self.statements("threshold-reads-1")
        self.assertEqual(len(sent), 1, sent)
        self.assertIn("pg_catalog.pg_stat_get_activity(NULL)", sent[0])
        self.assertLess(sent[0].index("pg_stat_get_activity"),
                        sent[0].index("threshold-reads-1"))
        # The value reached the threshold (explain shows what it saw).
        self.assertRegex(proc.stderr, r"pool_usage > 99%.*\d")
        self.assertNotIn("not reported", proc.stderr)

    def test_query_that_cannot_run_in_a_multi_statement_message(self):
        """VACUUM refuses a multi-statement message (25001): the probe
        sends it again alone and keeps the pool metrics."""
        proc, p = self.run_probe(
            dsn=self.pg.dsn("postgres", "appdb"), query="VACUUM t",
            password=SU_PW, fail_if="pool_usage > 99%")
        self.assertEqual(p["status"], "ok", p)
        self.assertIn("pool_usage", p["metrics"])

    # -- the application's pool ------------------------------------------

    def test_application_pool_by_name_user_and_database(self):
        for _ in range(3):
            self.session("app", APP_PW, "appdb", "web")
        self.session("app", APP_PW, "appdb", "worker")
        self.session("lim", LIM_PW, "appdb", "web")
        proc, p = self.run_probe(app_name="web", app_user="app",
                                 pool_size="2", max_overflow="2")
        m = p["metrics"]
        self.assertEqual(p["status"], "ok", p)
        self.assertEqual(m["app_connections"], 3)
        self.assertAlmostEqual(m["app_pool_usage"], 75.0, places=3)
        # The probe's own session counts server-wide, not for the app.
        self.assertEqual(m["connections"], 6)

        proc, p = self.run_probe(app_name="web, worker", pool_size="4")
        self.assertEqual(p["metrics"]["app_connections"], 5)
        self.assertAlmostEqual(p["metrics"]["app_pool_usage"], 125.0,
                               places=3)

        # The incident's rule on the application's pool fails.
        proc, p = self.run_probe(app_name="web, worker", pool_size="2",
                                 max_overflow="2",
                                 fail_if="app_pool_usage >= 90%")
        self.assertEqual(p["status"], "fail", p)
        self.assertNotEqual(proc.returncode, 0)

    def test_free_slots_honour_reserved_slots_and_limits(self):
        self.session("app", APP_PW, "appdb", "web")
        self.session("lim", LIM_PW, "appdb", "batch")
        # For app (no superuser): 20 - 2 others - 3 reserved.
        proc, p = self.run_probe(warn_if="free_slots < 1")
        self.assertEqual(p["metrics"]["free_slots"],
                         MAX_CONNECTIONS - 2 - RESERVED)
        # For lim: its CONNECTION LIMIT 2, one session: 1 left.
        proc, p = self.run_probe(app_user="lim", warn_if="free_slots < 1")
        self.assertEqual(p["metrics"]["free_slots"], 1)
        # limdb's CONNECTION LIMIT 1, taken: 0 for anyone but superusers.
        self.session("app", APP_PW, "limdb", "web")
        proc, p = self.run_probe(app_database="limdb",
                                 warn_if="free_slots < 1")
        self.assertEqual(p["metrics"]["free_slots"], 0)
        self.assertEqual(p["status"], "warn", p)

    def test_expect_free_is_transient_in_warmup_then_fatal(self):
        self.session("lim", LIM_PW, "appdb", "batch")
        proc, p = self.run_probe(app_user="lim", expect_free="2",
                                 warmup="1s", warmup_interval="300ms")
        self.assertEqual(p["status"], "fail", p)
        outcomes = [h["outcome"] for h in p["history"]]
        self.assertEqual(outcomes[0], "transient", p)
        self.assertEqual(outcomes[-1], "fatal", p)
        self.assertIn('1 connection slots free for role "lim" in database '
                      '"appdb", expect_free = 2', p["message"])
        self.assertIn("the role's CONNECTION LIMIT 2, 1 in use",
                      p["message"])
        # Met: ready.
        proc, p = self.run_probe(app_user="lim", expect_free="1")
        self.assertEqual(p["status"], "ok", p)
        self.assertEqual(p["metrics"]["free_slots"], 1)

    def test_expect_free_without_the_grant_is_fatal(self):
        proc, p = self.run_probe(dsn=self.pg.dsn("plain", "appdb"),
                                 password="plain-pw", expect_free="1",
                                 warmup="5s")
        self.assertEqual(p["status"], "fail", p)
        self.assertEqual(len(p["history"]), 1, p)
        self.assertEqual(p["history"][0]["outcome"], "fatal")
        self.assertIn("pg_read_all_stats", p["message"])

    def test_own_role_sees_its_sessions_without_the_grant(self):
        """app_user = the probe's own role: its sessions are visible to it,
        so app_connections needs no pg_read_all_stats."""
        self.session("plain", "plain-pw", "appdb", "web")
        self.session("app", APP_PW, "appdb", "web")
        proc, p = self.run_probe(dsn=self.pg.dsn("plain", "appdb"),
                                 password="plain-pw", app_user="plain",
                                 pool_size="10")
        self.assertEqual(p["metrics"]["app_connections"], 1)
        self.assertAlmostEqual(p["metrics"]["app_pool_usage"], 10.0)
        # Without a role filter, others' sessions may be the app's: unknown.
        proc, p = self.run_probe(dsn=self.pg.dsn("plain", "appdb"),
                                 password="plain-pw", app_name="web",
                                 pool_size="10")
        self.assertNotIn("app_connections", p["metrics"])
        self.assertEqual(p["status"], "ok", p)

    def test_idle_in_transaction_and_waiting_on_lock(self):
        self.session("app", APP_PW, "appdb", "web",
                     "BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE;")
        waiter = subprocess.Popen(
            [os.path.join(PG_BIN, "psql"), "-X", "-q", "-h", "127.0.0.1",
             "-p", str(self.pg.port), "-U", "app", "-d", "appdb", "-c",
             "SELECT count(*) FROM t"],
            env=dict(_clean_env(), PGAPPNAME="web", PGPASSWORD=APP_PW),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)
        self.addCleanup(self._end_waiter, waiter)
        self.assertTrue(wait_until(lambda: self.pg.psql(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE wait_event_type = 'Lock'") == "1", 10, 0.1))
        proc, p = self.run_probe(app_name="web",
                                 fail_if="waiting_on_lock > 0")
        m = p["metrics"]
        self.assertEqual(m["idle_in_transaction"], 1)
        self.assertEqual(m["waiting_on_lock"], 1)
        self.assertEqual(p["status"], "fail", p)
        proc, p = self.run_probe(app_name="worker",
                                 fail_if="waiting_on_lock > 0")
        self.assertEqual(p["metrics"]["waiting_on_lock"], 0)
        self.assertEqual(p["status"], "ok", p)

    def _end_waiter(self, proc):
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    # -- configuration ---------------------------------------------------

    def test_pool_options_are_checked_at_config_time(self):
        self.probe_ini(pool_size="50")
        proc = self.gp("validate")
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertRegex(proc.stderr, r"db\.ini:\d+.*pool_size.*needs "
                                      r"app_name, app_user or app_database")
        self.probe_ini(app_name="web", fail_if="app_pool_usage >= 90%")
        proc = self.gp("validate")
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("is needed by a threshold on app_pool_usage",
                      proc.stderr)
        # 50 + 50 from the environment, as the application reads them.
        self.probe_ini(app_name="web", pool_size="${DATABASE_POOL_SIZE}",
                       max_overflow="${DATABASE_MAX_OVERFLOW}",
                       fail_if="app_pool_usage >= 90%")
        proc = self.gp("validate", env={"DATABASE_POOL_SIZE": "50",
                                        "DATABASE_MAX_OVERFLOW": "50"})
        self.assertEqual(proc.returncode, 0, proc.stderr)
