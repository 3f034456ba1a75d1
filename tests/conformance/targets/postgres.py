"""tests/conformance/targets/postgres.py - the postgres target: PostgreSQL: cold start, crash recovery, a database created late, too many connections."""

import os
import shlex
import signal
import time

import truth  # noqa: E402
from lifecycles import ANCHOR_SLEEP, delay, Lifecycle, wait_for_it  # noqa: E402


class Postgres:
    name = "postgres"
    PASSWORD = "conformance-pw-7d1c"

    def __init__(self, short):
        from postgres import Postgres as Server
        self.srv = Server(max_connections=20)
        self.db = "app"
        self.held = []
        self.late = 0

    def start(self):
        self.srv.start()
        self.srv.create_role("app", password=self.PASSWORD)
        self.srv.create_db("app", owner="app")

    def stop(self):
        self.release()
        self.srv.stop()

    def dsn(self):
        return self.srv.dsn("app", self.db, self.PASSWORD)

    def check(self):
        return truth.postgres(self.dsn())

    def client(self):
        return ("PGPASSWORD=%s psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 "
                "-p %d -U app -d %s -c %s >/dev/null"
                % (self.PASSWORD, self.srv.port, self.db,
                   shlex.quote("CREATE TEMP TABLE t(x int); "
                               "INSERT INTO t VALUES (1); SELECT x FROM t")))

    def probe(self):
        return "plugin = postgres\ndsn = %s\n" % self.dsn()

    def anchors(self):
        return {"pg_isready": "until pg_isready -q -h 127.0.0.1 -p %d -d %s; "
                              "do sleep %s; done"
                              % (self.srv.port, self.db, ANCHOR_SLEEP),
                "wait-for-it": wait_for_it("127.0.0.1", self.srv.port)}

    def ensure_up(self):
        if not self.srv.running():
            self.srv.start()
        self.release()
        self.db = "app"

    def release(self):
        for p in self.held:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
            p.wait(10)
            p.stdout.close()
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
            self.srv.crash()

        def no_db_yet():
            self.ensure_up()
            self.late += 1
            self.db = "late%d" % self.late

        def create_db(rng):
            time.sleep(delay(rng))
            self.srv.create_db(self.db, owner="app")

        def full():
            self.ensure_up()
            # Every slot taken, the superuser's reserved ones too.
            for _ in range(self.srv.max_connections):
                p = self.srv.hold(seconds=60)
                if p is None:
                    break
                self.held.append(p)

        def free(rng):
            time.sleep(delay(rng))
            self.release()
        return [
            Lifecycle(self, "cold start", stopped, start_late),
            Lifecycle(self, "crash recovery", crashed, start_late),
            Lifecycle(self, "database created late", no_db_yet, create_db),
            Lifecycle(self, "too many connections, then freed", full, free)]
