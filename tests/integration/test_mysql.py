"""tests/integration/test_mysql.py - the mysql probe (libmariadb) against
real MariaDB servers on loopback (tests/servers/mariadb.py): ready with
metrics over TCP and the socket, a query and its expected value, a bad
password, a forbidden database and a bad query (fatal at once), a database
created late (transient in warmup, then ready), too many
connections (transient, then ready), a server started late, a listener that
never answers (within the deadline), roles with a real replica (running,
stopped, delayed beyond max_lag, the wrong role), TLS required and verified
(a right and a wrong CA, a server without TLS), and the
password in no output. One primary and one replica serve the whole file."""

import os
import re
import socket
import time
import unittest


from gp import BIN, GRACE, GpTestCase, complete, outcomes

from base import wait_tcp
from certs import self_signed
from mariadb import MariaDB

PASSWORD = "app-Pw-m4riadb"
MON_PASSWORD = "mon-Pw-r3plica"




class MysqlTest(GpTestCase):

    @classmethod
    def setUpClass(cls):
        t0 = time.monotonic()
        cls.db = MariaDB(server_id=1, tls=True)
        cls.addClassCleanup(cls.db.stop)
        cls.db.start()
        cls.db.sql("CREATE DATABASE appdb; CREATE TABLE appdb.t (v INT); "
                   "INSERT INTO appdb.t VALUES (42)")
        cls.db.create_user("app", PASSWORD, "ALL ON appdb.*")
        cls.db.create_user("admin", PASSWORD, "ALL ON *.*")
        cls.db.create_user("mon", MON_PASSWORD,
                           "SLAVE MONITOR, REPLICATION CLIENT ON *.*")
        cls.db.create_user("repl", MON_PASSWORD, "REPLICATION SLAVE ON *.*")
        cls.replica = MariaDB(server_id=2, extra=["--read-only"])
        cls.addClassCleanup(cls.replica.stop)
        cls.replica.start()
        cls.replica.replica_of(cls.db, "repl", MON_PASSWORD)
        cls.setup_seconds = time.monotonic() - t0

    def mysql(self, name, options="", policy="attempts = 1\ntimeout = 2s",
              server=None):
        server = server or self.db
        self.write("conf.d/%s.ini" % name,
                   "[%s]\nplugin = mysql\nport = %d\n%s\n%s\n"
                   % (name, server.port, options, policy))

    def run_one(self, name, options="", policy="attempts = 1\ntimeout = 2s",
                server=None):
        self.mysql(name, options, policy, server)
        proc, doc, took = self.run_json()
        self.assertIsNotNone(doc, proc.stderr)
        return proc, self.probe(doc, name), took

    def test_ready_with_metrics(self):
        proc, p, _ = self.run_one(
            "db", "user = app\npassword = %s\ndatabase = appdb\n"
            "query = SELECT v FROM t\nexpect = 42\nrole = primary" % PASSWORD)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(p["status"], "ok", p["message"])
        self.assertIn("MariaDB", p["message"])
        self.assertIn(" at 127.0.0.1:%d answered" % self.db.port,
                      p["message"])
        self.assertIn("writable", p["message"])
        m = p["metrics"]
        self.assertGreater(m["connect_time"], 0)
        self.assertLess(m["connect_time"], 2000)
        self.assertGreaterEqual(m["query_time"], 0)
        self.assertGreaterEqual(m["threads_connected"], 1)
        self.assertEqual(m["max_connections"], 50)
        self.assertAlmostEqual(m["connections_usage"],
                               m["threads_connected"] * 100 / 50, places=3)
        version = self.db.sql("SELECT VERSION()").stdout.split("-")[0]
        major, minor, patch = (int(x) for x in version.split("."))
        self.assertEqual(m["server_version"],
                         major * 10000 + minor * 100 + patch)

    def test_socket_and_password_file(self):
        pw = os.path.join(self.tmp, "pw")
        with open(pw, "w") as f:
            f.write(PASSWORD + "\n")
        os.chmod(pw, 0o600)
        self.mysql("sock", "socket = %s\nuser = app\npassword_file = %s"
                   % (self.db.socket, pw))
        proc, doc, _ = self.run_json("-v")
        p = self.probe(doc, "sock")
        self.assertEqual(p["status"], "ok", p["message"])
        self.assertIn("unix:" + self.db.socket, p["message"])
        self.assertNotIn(PASSWORD, proc.stdout + proc.stderr)

    def test_credentials_and_queries_fatal_at_once_even_in_warmup(self):
        policy = "warmup = 10s\nattempts = 3\ntimeout = 3s"
        cases = {
            "bad_password": ("user = app\npassword = wrong-pw-123",
                             "(error 1045)"),
            "no_such_user": ("user = ghost\npassword = %s" % PASSWORD,
                             "(error 1045)"),
            "db_denied": ("user = app\npassword = %s\ndatabase = mysql"
                          % PASSWORD, "(error 1044)"),
            "bad_query": ("user = app\npassword = %s\ndatabase = appdb\n"
                          "query = SELECT nope FROM t" % PASSWORD,
                          "(error 1054)"),
            "no_table": ("user = app\npassword = %s\ndatabase = appdb\n"
                         "query = SELECT * FROM missing" % PASSWORD,
                         "(error 1146)"),
        }
        for name, (opts, _) in cases.items():
            self.mysql(name, opts, policy)
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
        # Fast: one round trip each, far from the 3 s timeout and the
        # 10 s warmup.
        self.assertLess(took, 3, took)
        self.assertNotIn(PASSWORD, proc.stdout + proc.stderr)

    def test_database_created_late_transient_in_warmup(self):
        # Provisioning (an entrypoint, a migration job) may create the
        # database after the server listens: 1049 is transient in the
        # warmup, as the postgres probe's 3D000, and fatal after it.
        self.db.sql("DROP DATABASE IF EXISTS latedb")
        self.addCleanup(self.db.sql, "DROP DATABASE IF EXISTS latedb")
        opts = "user = admin\npassword = %s\ndatabase = latedb" % PASSWORD
        self.mysql("latedb", opts, "warmup = 15s\ntimeout = 2s")
        report = os.path.join(self.tmp, "latedb.json")
        gp = self.start_run(report=report)
        time.sleep(1)
        self.db.sql("CREATE DATABASE latedb")
        created = time.monotonic()
        _, err = gp.communicate(timeout=30)
        self.assertEqual(gp.returncode, 0, err)
        with open(report) as f:
            import json
            p = self.probe(json.load(f), "latedb")
        self.assertEqual(p["status"], "ok", p["message"])
        self.assertEqual(p["history"][0]["outcome"], "transient")
        self.assertIn("(error 1049)", p["history"][0]["message"])
        self.assertLess(time.monotonic() - created, 1.5)
        # Without a warmup: fatal at once.
        _, p, took = self.run_one("nodb", "user = admin\npassword = %s\n"
                                  "database = nope" % PASSWORD,
                                  "attempts = 3\ntimeout = 3s")
        self.assertEqual(outcomes(p), ["fatal"])
        self.assertIn("Unknown database 'nope' (error 1049)", p["message"])
        self.assertLess(took, 3, took)

    def test_user_granted_late_with_wait_for_user(self):
        # Provisioning creates the account, then grants it: 1045, then
        # 1044, then ready. Fatal at once by default (above); with
        # wait_for_user transient in the warmup, fatal after it.
        self.db.sql("DROP USER IF EXISTS 'lateu'@'127.0.0.1'")
        self.addCleanup(self.db.sql, "DROP USER IF EXISTS 'lateu'@'127.0.0.1'")
        opts = ("user = lateu\npassword = %s\ndatabase = appdb\n"
                "wait_for_user = yes" % PASSWORD)
        self.mysql("lateu", opts, "warmup = 15s\ntimeout = 2s")
        report = os.path.join(self.tmp, "lateu.json")
        gp = self.start_run(report=report)
        time.sleep(0.7)
        self.db.sql("CREATE USER 'lateu'@'127.0.0.1' IDENTIFIED BY '%s'"
                    % PASSWORD)
        time.sleep(0.7)
        self.db.sql("GRANT ALL ON appdb.* TO 'lateu'@'127.0.0.1'")
        _, err = gp.communicate(timeout=30)
        self.assertEqual(gp.returncode, 0, err)
        with open(report) as f:
            import json
            p = self.probe(json.load(f), "lateu")
        self.assertEqual(p["status"], "ok", p["message"])
        said = " ".join(h["message"] for h in p["history"])
        self.assertIn("(error 1045)", said)
        self.assertIn("(error 1044)", said)
        self.assertEqual(set(outcomes(p)[:-1]), {"transient"})
        # After the warmup, a login that stays refused is fatal.
        _, p, took = self.run_one("nouser", "user = ghost\npassword = x\n"
                                  "wait_for_user = yes",
                                  "warmup = 1s\ntimeout = 2s")
        self.assertEqual(p["status"], "fail")
        self.assertEqual(outcomes(p)[-1], "fatal")
        self.assertIn("(error 1045)", p["message"])
        self.assertLess(took, 3, took)
        self.assertNotIn(PASSWORD, err)

    def test_expected_value_differs(self):
        _, p, _ = self.run_one(
            "value", "user = app\npassword = %s\ndatabase = appdb\n"
            "query = SELECT v FROM t\nexpect = 43" % PASSWORD)
        self.assertEqual(outcomes(p), ["fatal"])
        self.assertIn("query returned '42', expected '43'", p["message"])

    def test_too_many_connections_transient_then_ready(self):
        # Raw TCP connections count against max_connections from accept on
        # (they sit in the handshake for connect_timeout).
        # 10 is MariaDB's least max_connections; one more is kept for
        # SUPER users.
        self.db.sql("SET GLOBAL max_connections = 10; "
                    "SET GLOBAL connect_timeout = 60")
        self.addCleanup(self.db.sql, "SET GLOBAL max_connections = 50; "
                        "SET GLOBAL connect_timeout = 10")
        held = []
        self.addCleanup(lambda: [s.close() for s in held])
        for _ in range(12):
            held.append(socket.create_connection(("127.0.0.1", self.db.port),
                                                 timeout=5))
        time.sleep(0.2)
        _, p, _ = self.run_one("full", "user = app\npassword = %s" % PASSWORD,
                               "attempts = 2\ndelay = 100ms\ntimeout = 2s")
        self.assertEqual(outcomes(p), ["transient", "transient"],
                         p["message"])
        self.assertIn("Too many connections (error 1040)", p["message"])
        for s in held:
            s.close()
        held.clear()
        _, p, _ = self.run_one("full", "user = app\npassword = %s" % PASSWORD,
                               "warmup = 10s\ntimeout = 2s")
        self.assertEqual(p["status"], "ok", p["message"])

    def test_silent_listener_within_deadline(self):
        srv = socket.socket()
        self.addCleanup(srv.close)
        srv.bind(("127.0.0.1", 0))
        srv.listen(8)
        port = srv.getsockname()[1]
        self.write("conf.d/silent.ini", "[silent]\nplugin = mysql\nport = %d\n"
                   "attempts = 1\ntimeout = 700ms\n" % port)
        proc, doc, took = self.run_json()
        p = self.probe(doc, "silent")
        self.assertEqual(p["status"], "timeout")
        self.assertIn("no answer from 127.0.0.1:%d within" % port,
                      p["message"])
        self.assertLess(took, 0.7 + GRACE, took)

    def test_refused_and_started_late(self):
        self.db.stop_server()
        self.addCleanup(lambda: self.db.proc.poll() is None
                        or self.db.start())
        self.mysql("late", "user = app\npassword = %s" % PASSWORD,
                   "warmup = 20s\ntimeout = 2s")
        report = os.path.join(self.tmp, "late.json")
        gp = self.start_run(report=report)
        time.sleep(1.5)
        self.db.start(wait=False)
        self.assertTrue(wait_tcp("127.0.0.1", self.db.port, 20),
                        self.db.log_tail())
        accepted = time.monotonic()
        _, err = gp.communicate(timeout=30)
        self.assertEqual(gp.returncode, 0, err)
        with open(report) as f:
            import json
            p = self.probe(json.load(f), "late")
        self.assertEqual(p["status"], "ok", p["message"])
        self.assertEqual(p["history"][0]["outcome"], "transient")
        self.assertIn("Can't connect", p["history"][0]["message"])
        self.assertLess(time.monotonic() - accepted, 1.5)
        self.db.wait_ready()

    def test_replica_ready_and_stopped(self):
        opts = "user = mon\npassword = %s\nrole = replica\nmax_lag = 30s" \
            % MON_PASSWORD
        # test_refused_and_started_late may have restarted the primary.
        self.replica.wait_replicating()
        _, p, _ = self.run_one("replica", opts, server=self.replica)
        self.assertEqual(p["status"], "ok", p["message"])
        self.assertIn("replica 0 s behind", p["message"])
        self.assertEqual(p["metrics"]["replica_lag_seconds"], 0)
        self.replica.sql("STOP SLAVE SQL_THREAD")
        self.addCleanup(self.replica.sql, "START SLAVE SQL_THREAD")
        _, p, _ = self.run_one("replica", opts, server=self.replica)
        self.assertEqual(outcomes(p), ["transient"])
        self.assertIn("SQL thread: No", p["message"])

    def test_replica_behind_max_lag_transient(self):
        # A delayed replica (MASTER_DELAY) holds the primary's next write
        # back: Seconds_Behind_Master then grows with the event's age.
        self.replica.wait_replicating()
        self.replica.sql("STOP SLAVE; CHANGE MASTER TO MASTER_DELAY = 60; "
                         "START SLAVE")
        self.addCleanup(self.replica.wait_replicating)
        self.addCleanup(self.replica.sql, "STOP SLAVE; CHANGE MASTER TO "
                        "MASTER_DELAY = 0; START SLAVE")
        self.replica.wait_replicating()
        self.db.sql("INSERT INTO appdb.t VALUES (1)")
        opts = "user = mon\npassword = %s\nrole = replica\nmax_lag = 1s" \
            % MON_PASSWORD
        deadline = time.monotonic() + 20
        while True:
            _, p, _ = self.run_one("lagging", opts, server=self.replica)
            lag = p["metrics"].get("replica_lag_seconds", 0)
            if lag > 1 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        self.assertEqual(outcomes(p), ["transient"], p["message"])
        self.assertRegex(p["message"], r"replica is \d+ s behind, more than "
                         r"max_lag 1000 ms")
        self.assertGreater(lag, 1)

    def test_wrong_role_fatal_after_warmup(self):
        self.mysql("not_replica", "user = mon\npassword = %s\nrole = replica"
                   % MON_PASSWORD)
        self.mysql("not_primary", "user = mon\npassword = %s\nrole = primary"
                   % MON_PASSWORD, server=self.replica)
        _, doc, _ = self.run_json()
        p = self.probe(doc, "not_replica")
        self.assertEqual(outcomes(p), ["fatal"])
        self.assertIn("not a replica", p["message"])
        p = self.probe(doc, "not_primary")
        self.assertEqual(outcomes(p), ["fatal"])
        self.assertIn("read-only", p["message"])

    def test_tls_required_and_verified(self):
        base = "user = app\npassword = %s\n" % PASSWORD
        other, _ = self_signed(self.tmp, "other")
        self.mysql("required", base + "tls = required")
        self.mysql("verified", base + "host = localhost\ntls = verify\n"
                   "tls_ca = %s" % self.db.cert)
        self.mysql("verified_ip", base + "tls = verify\ntls_ca = %s"
                   % self.db.cert)
        self.mysql("wrong_ca", base + "tls = verify\ntls_ca = %s" % other)
        # The replica serves no TLS: libmariadb alone would go on in clear.
        self.mysql("no_tls", base + "tls = required", server=self.replica)
        _, doc, _ = self.run_json()
        for name in ("required", "verified", "verified_ip"):
            with self.subTest(probe=name):
                p = self.probe(doc, name)
                self.assertEqual(p["status"], "ok", p["message"])
                self.assertIn(", TLS ", p["message"])
        p = self.probe(doc, "wrong_ca")
        self.assertEqual(outcomes(p), ["fatal"], p["message"])
        self.assertIn("(error 2026)", p["message"])
        p = self.probe(doc, "no_tls")
        self.assertEqual(outcomes(p), ["fatal"], p["message"])
        self.assertIn("does not offer TLS (tls = required)", p["message"])

    def test_listed_and_completed(self):
        proc = self.gp("plugins")
        self.assertRegex(proc.stdout, r"(?m)^mysql +0\.1\.0 ")
        self.assertIn("mysql", complete(BIN, "probe", "my"))
        self.assertEqual(complete(BIN, "probe", "mysql", "max_l"), {"max_lag="})
        proc = self.gp("plugins", "mysql")
        self.assertRegex(proc.stdout, r"password +string .*\n +\(secret\)")

    def test_readme_example_validates(self):
        readme = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                              "..", "..", "plugins", "mysql", "README.md")
        with open(readme) as f:
            example = re.search(r"```ini\n(.*?)```", f.read(), re.S).group(1)
        secret = self.write("secret", "s3cret-file-pw\n")
        os.chmod(secret, 0o600)
        example = re.sub(r"/(run/secrets|etc/ssl)/[\w.-]+", secret, example)
        self.write("conf.d/example.ini", example)
        proc = self.gp("validate", env={"MYSQL_MONITOR_PASSWORD": "m0nitor-pw"})
        self.assertEqual(proc.returncode, 0, proc.stderr)

    def test_validate(self):
        self.mysql("v", "expect = 1\nmax_lag = 5s\ntls_ca = /x")
        proc = self.gp("validate")
        self.assertEqual(proc.returncode, 2, proc.stderr)
        for key, why in (("expect", "needs query"),
                         ("max_lag", "needs role = replica"),
                         ("tls_ca", "needs tls = verify")):
            self.assertIn(why, proc.stderr)
            self.assertIn("v.ini:", proc.stderr)


if __name__ == "__main__":
    unittest.main()
