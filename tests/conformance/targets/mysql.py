"""tests/conformance/targets/mysql.py - the mysql target: MariaDB: cold
start, crash (SIGKILL) and recovery, a database created late, a user
granted late (expect="fail": 1044 is documented fatal at once; with
wait_for_user = yes, transient in the warmup), too many
connections then freed."""

import ctypes
import os
import shlex
import signal
import time

import truth  # noqa: E402
from lifecycles import ANCHOR_SLEEP, delay, Lifecycle, wait_for_it  # noqa: E402

# A small limit, so that filling it is cheap.
MAX_CONNECTIONS = 10


class Mysql:
    name = "mysql"
    PASSWORD = "conformance-pw-3a9e"

    def __init__(self, short):
        from mariadb import MariaDB
        self.srv = MariaDB(max_connections=MAX_CONNECTIONS)
        self.db, self.user = "app", "app"
        self.extra = ""  # probe options a lifecycle adds
        self.held = []  # libmariadb handles filling the connection limit
        self.late = 0

    def start(self):
        self.srv.start()
        # `late%`: the databases created late are the app's too, so that
        # their absence is 1049 unknown database (without a grant on it,
        # MariaDB says 1044 access denied instead, not to tell what exists).
        self.srv.sql("CREATE DATABASE app")
        self.srv.create_user("app", self.PASSWORD, grants="ALL ON app.*")
        self.srv.sql("GRANT ALL ON `late%`.* TO 'app'@'127.0.0.1'")
        # A user that exists, password and all, with no grant yet.
        self.srv.create_user("lateuser", self.PASSWORD, grants="USAGE ON *.*")

    def stop(self):
        self.release()
        self.srv.stop()

    def check(self):
        return truth.mysql("127.0.0.1", self.srv.port, self.user,
                           self.PASSWORD, self.db)

    def client(self):
        return ("MYSQL_PWD=%s mariadb --no-defaults -h 127.0.0.1 -P %d -u %s "
                "-D %s --batch -e %s >/dev/null"
                % (self.PASSWORD, self.srv.port, self.user, self.db,
                   shlex.quote("CREATE TEMPORARY TABLE t (x INT); "
                               "INSERT INTO t VALUES (1); SELECT x FROM t")))

    def probe(self):
        return ("plugin = mysql\nhost = 127.0.0.1\nport = %d\nuser = %s\n"
                "password = %s\ndatabase = %s\n%s"
                % (self.srv.port, self.user, self.PASSWORD, self.db,
                   self.extra))

    def anchors(self):
        # mysqladmin ping, the usual container health check, says "mysqld
        # is alive" (exit 0) even when the login is refused.
        return {"mysqladmin ping":
                "until MYSQL_PWD=%s mysqladmin --no-defaults -h 127.0.0.1 "
                "-P %d -u %s ping >/dev/null 2>&1; do sleep %s; done"
                % (self.PASSWORD, self.srv.port, self.user, ANCHOR_SLEEP),
                "wait-for-it": wait_for_it("127.0.0.1", self.srv.port)}

    def running(self):
        return self.srv.proc is not None and self.srv.proc.poll() is None

    def ensure_up(self):
        self.release()
        if not self.running():
            self.srv.start()
        self.srv.wait_ready(30)
        self.db, self.user, self.extra = "app", "app", ""

    def hold(self):
        """Take every connection the app user may have (max_connections;
        the one more MariaDB keeps is for SUPER)."""
        my = truth._my
        for _ in range(MAX_CONNECTIONS + 2):
            m = my.mysql_init(None)
            if not my.mysql_real_connect(m, b"127.0.0.1", b"app",
                                         self.PASSWORD.encode(), b"app",
                                         self.srv.port, None, 0):
                my.mysql_close(m)
                break
            self.held.append(m)
        if len(self.held) < MAX_CONNECTIONS:
            raise RuntimeError("held only %d connections" % len(self.held))

    def release(self):
        for m in self.held:
            truth._my.mysql_close(ctypes.c_void_p(m))
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
            # Work in flight, so that InnoDB has something to recover.
            self.srv.sql("CREATE TABLE IF NOT EXISTS app.w (x INT); "
                         "INSERT INTO app.w VALUES (1),(2),(3)")
            os.killpg(self.srv.proc.pid, signal.SIGKILL)
            self.srv.proc.wait(10)

        def no_db_yet():
            self.ensure_up()
            if self.late:
                self.srv.sql("DROP DATABASE IF EXISTS late%d" % self.late)
            self.late += 1
            self.db = "late%d" % self.late

        def create_db(rng):
            time.sleep(delay(rng))
            self.srv.sql("CREATE DATABASE %s" % self.db)

        def no_grant_yet():
            self.ensure_up()
            self.srv.sql("REVOKE ALL PRIVILEGES, GRANT OPTION "
                         "FROM 'lateuser'@'127.0.0.1'")
            self.user = "lateuser"

        def no_grant_yet_waited():
            no_grant_yet()
            # the user says provisioning grants it late: 1044 transient
            self.extra = "wait_for_user = yes\n"

        def grant(rng):
            time.sleep(delay(rng))
            self.srv.sql("GRANT ALL ON app.* TO 'lateuser'@'127.0.0.1'")

        def full():
            self.ensure_up()
            self.hold()

        def free(rng):
            time.sleep(delay(rng))
            self.release()
        return [
            Lifecycle(self, "cold start", stopped, start_late),
            Lifecycle(self, "crash (SIGKILL) and recovery", crashed,
                      start_late),
            Lifecycle(self, "database created late", no_db_yet, create_db),
            Lifecycle(self, "user granted late", no_grant_yet, grant,
                      expect="fail"),
            Lifecycle(self, "user granted late, wait_for_user",
                      no_grant_yet_waited, grant),
            Lifecycle(self, "too many connections, then freed", full, free)]
