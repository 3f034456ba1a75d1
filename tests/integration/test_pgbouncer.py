"""tests/integration/test_pgbouncer.py - the postgres probe in front of a
real PgBouncer (Debian's pgbouncer 1.18, tests/servers/pgbouncer.py) in
front of a real PostgreSQL 15: the pool's numbers from the admin console
(`pgbouncer_dsn`), clients waiting on a pool of one, and the trap of a
pooler that answers while the database behind it is down.
"""

import os
import select
import signal
import subprocess
import time

from gp import GpTestCase, wait_until

from pgbouncer import ADMIN_PASSWORD, PgBouncer
from postgres import PG_BIN, Postgres, _clean_env

APP_PW = "app-pw-3"


class PgBouncerTest(GpTestCase):
    pg = None
    pgb = None

    @classmethod
    def setUpClass(cls):
        cls.pg = Postgres(max_connections=20)
        cls.addClassCleanup(cls.pg.stop)
        cls.pg.start()
        cls.pg.create_role("app", APP_PW)
        cls.pg.create_db("appdb", owner="app")
        cls.pgb = PgBouncer(cls.pg, {"appdb": "dbname=appdb"},
                            {"app": APP_PW}, pool_size=1)
        cls.addClassCleanup(cls.pgb.stop)
        cls.pgb.start()

    def setUp(self):
        super().setUp()
        if not self.pg.running():
            self.pg.start()

    def probe_ini(self, **keys):
        keys.setdefault("attempts", "1")
        keys.setdefault("timeout", "4s")
        keys.setdefault("password", APP_PW)
        keys.setdefault("pgbouncer_dsn", self.pgb.admin_dsn())
        lines = ["[db]", "plugin = postgres",
                 "dsn = " + self.pgb.dsn("app", "appdb")]
        lines += ["%s = %s" % (k, v) for k, v in keys.items() if v]
        self.write("conf.d/db.ini", "\n".join(lines) + "\n")

    def env(self):
        return {"PGPASSFILE": os.path.join(self.tmp, "no-pgpass")}

    def run_probe(self, **keys):
        self.probe_ini(**keys)
        proc, doc, took = self.run_json(env=self.env())
        self.assertIsNotNone(doc, proc.stderr)
        return proc, self.probe(doc, "db"), took

    def client(self, sql):
        """psql through the pooler running sql; stopped when the test
        ends. Returns once psql has started (not once sql ran)."""
        proc = subprocess.Popen(
            [os.path.join(PG_BIN, "psql"), "-X", "-q", "-h", "127.0.0.1",
             "-p", str(self.pgb.port), "-U", "app", "-d", "appdb", "-c", sql],
            env=dict(_clean_env(), PGPASSWORD=APP_PW),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)

        def end():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        self.addCleanup(end)
        return proc

    def admin_logins(self):
        with open(self.pgb.log_path(), errors="replace") as f:
            return f.read().count("db=pgbouncer")

    def wait_idle(self):
        """The pool has no client left (those of the test before)."""
        def idle():
            return all(r["cl_active"] == "0" and r["cl_waiting"] == "0"
                       for r in self.pgb.pools() if r["database"] == "appdb")
        self.assertTrue(wait_until(idle, 15, 0.1))

    # -- ready ---------------------------------------------------------

    def test_ready_through_the_pooler_with_its_numbers(self):
        self.wait_idle()
        proc, p, _ = self.run_probe()
        self.assertEqual(p["status"], "ok", p)
        m = p["metrics"]
        for key in ("cl_active", "cl_waiting", "sv_active", "sv_idle",
                    "maxwait", "pgbouncer_pool_usage"):
            self.assertIn(key, m)
        self.assertEqual(m["cl_waiting"], 0)
        # Our own session has left: its server connection is not busy.
        self.assertEqual(m["sv_active"], 0)
        self.assertEqual(m["pgbouncer_pool_usage"], 0)
        self.assertIn("0 of 1 server connections busy", p["message"])
        self.assertIn("PgBouncer pool appdb/app: 0 clients active, 0 waiting",
                      p["message"])
        self.assertNotIn(ADMIN_PASSWORD, p["message"])

    def test_admin_console_only_when_somebody_reads_it(self):
        self.wait_idle()
        self.probe_ini()
        before = self.admin_logins()
        proc = self.gp("run", env=self.env())  # text report, no threshold
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(self.admin_logins(), before)
        self.probe_ini(fail_if="cl_waiting > 5")
        proc = self.gp("run", env=self.env())
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertGreater(self.admin_logins(), before)

    def test_bad_admin_password_is_fatal(self):
        self.wait_idle()
        proc, p, _ = self.run_probe(
            pgbouncer_dsn=self.pgb.admin_dsn("wrong-admin-pw"), warmup="5s")
        self.assertEqual(p["status"], "fail", p)
        self.assertEqual(p["history"][-1]["outcome"], "fatal", p)
        self.assertEqual(len(p["history"]), 1, p)
        self.assertIn("PgBouncer's admin console", p["message"])
        self.assertIn("password authentication failed", p["message"])
        self.assertNotIn("wrong-admin-pw", p["message"])

    # -- the pool is full --------------------------------------------------

    def test_clients_waiting_on_a_saturated_pool(self):
        self.wait_idle()
        # pool_size = 1, session mode: this client holds the one server
        # connection; the second waits for it.
        self.client("SELECT pg_sleep(60)")
        self.assertTrue(self.pgb.wait_pool(
            lambda r: r["database"] == "appdb" and r["sv_active"] == "1", 15))
        self.client("SELECT 1")
        self.assertTrue(self.pgb.wait_pool(
            lambda r: r["database"] == "appdb" and r["cl_waiting"] == "1",
            15))
        proc, p, took = self.run_probe(timeout="3s")
        self.assertEqual(p["status"], "fail", p)
        self.assertEqual(p["history"][-1]["outcome"], "transient", p)
        m = p["metrics"]
        self.assertGreaterEqual(m["cl_waiting"], 1)
        self.assertEqual(m["sv_active"], 1)
        self.assertEqual(m["pgbouncer_pool_usage"], 100)
        self.assertGreater(m["maxwait"], 0)
        self.assertIn("the pool is saturated: PgBouncer pool appdb/app",
                      p["message"])
        self.assertIn("1 of 1 server connections busy", p["message"])
        self.assertLess(took, 3 + 2)

    # -- the database behind the pooler is down ----------------------------

    def test_pooler_answers_while_the_database_is_down(self):
        self.wait_idle()
        self.pg.stop_server()
        self.addCleanup(self.pg.start)
        # PgBouncer drops its server connections once it notices.
        self.assertTrue(self.pgb.wait_pool(
            lambda r: r["database"] == "appdb" and r["sv_idle"] == "0"
            and r["sv_used"] == "0", 20) or True)
        proc, p, took = self.run_probe(timeout="3s")
        self.assertEqual(p["status"], "fail", p)
        self.assertEqual(p["history"][-1]["outcome"], "transient", p)
        self.assertIn("PgBouncer answers but holds no server connection for "
                      "pool appdb/app", p["message"])
        self.assertIn("the database behind it is down", p["message"])
        self.assertEqual(p["metrics"]["sv_active"], 0)
        self.assertLess(took, 3 + 2)
