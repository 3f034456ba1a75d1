"""tests/conformance/targets/postgres.py - the postgres target: PostgreSQL
15 through its lifecycles: a cold start from an empty data folder (initdb,
then the role and database made the way an entrypoint script makes them),
a warm start, crash recovery, a restart while gpcheck waits, a database
created late, too many connections then freed, a streaming standby
promoted, the role's password set late."""

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
        self.Server = Server
        self.srv = Server(max_connections=20)
        self.cur = self.srv  # the server the tools ask: srv or a standby
        self.standby = None  # owned: stopped (and removed) by ensure_up
        self.db = "app"
        self.extra = ""  # lines added to the probe section by a lifecycle
        self.held = []
        self.late = 0

    def start(self):
        self.srv.start()
        self.provision()

    def provision(self):
        """The role and database the tools use (with its password)."""
        self.srv.create_role("app", password=self.PASSWORD)
        self.srv.create_db("app", owner="app")

    def stop(self):
        self.release()
        self.drop_standby()
        self.srv.stop()

    def dsn(self):
        return self.cur.dsn("app", self.db, self.PASSWORD)

    def check(self):
        return truth.postgres(self.dsn())

    def client(self):
        return ("PGPASSWORD=%s psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 "
                "-p %d -U app -d %s -c %s >/dev/null"
                % (self.PASSWORD, self.cur.port, self.db,
                   shlex.quote("CREATE TEMP TABLE t(x int); "
                               "INSERT INTO t VALUES (1); SELECT x FROM t")))

    def probe(self):
        return "plugin = postgres\ndsn = %s\n%s" % (self.dsn(), self.extra)

    def anchors(self):
        return {"pg_isready": "until pg_isready -q -h 127.0.0.1 -p %d -d %s; "
                              "do sleep %s; done"
                              % (self.cur.port, self.db, ANCHOR_SLEEP),
                "wait-for-it": wait_for_it("127.0.0.1", self.cur.port)}

    def drop_standby(self):
        if self.standby is not None:
            self.standby.stop()
            self.standby = None
        self.cur = self.srv

    def ensure_up(self):
        """Back to the ready primary, whatever the last trial left."""
        self.release()
        self.drop_standby()
        self.extra = ""
        self.db = "app"
        if not os.path.exists(os.path.join(self.srv.data, "PG_VERSION")):
            self.srv.wipe()  # a cold start cut short: begin again
            self.srv.initdb()
            self.srv.start()
            self.provision()
        if not self.srv.running():
            self.srv.start()
        # a password-set-late trial cut short leaves it unset
        self.srv.psql("ALTER ROLE app PASSWORD '%s'" % self.PASSWORD)

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

        def empty_folder():
            self.ensure_up()
            self.srv.wipe()

        def first_start(rng):
            # What an image's entrypoint does on an empty volume: initdb,
            # a first start on the socket alone for its own set-up (the
            # role and database), stop, then the real start on TCP.
            time.sleep(delay(rng))
            self.srv.initdb()
            self.srv.start(settings={"listen_addresses": ""})
            self.provision()
            self.srv.stop_server()
            self.srv.start(wait=False)

        def stopped():
            # a clean stop: a checkpoint, then a fast shutdown (which
            # writes a shutdown checkpoint): no WAL to replay at the start
            self.ensure_up()
            self.srv.psql("CHECKPOINT")
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

        def restart_then_create_db(rng):
            # up but not ready (no database yet), restarted while the
            # tools wait (fast shutdown: their sessions are cut), then
            # the database appears
            time.sleep(delay(rng))
            self.srv.stop_server()
            self.srv.start()
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

        def standby():
            # the tools ask a streaming standby of the primary: it accepts
            # logins (hot standby) but no write until it is promoted
            self.ensure_up()
            self.standby = self.Server(clone_of=self.srv)
            self.standby.start()
            self.cur = self.standby

        def promote(rng):
            time.sleep(delay(rng))
            self.standby.promote()

        def no_password_yet():
            # the role exists but its password is set later (provisioning
            # after the server starts): every login fails with 28P01; the
            # probe is told so (wait_for_role), or it would end at once
            self.ensure_up()
            self.srv.psql("ALTER ROLE app PASSWORD NULL")
            self.extra = "wait_for_role = true\n"

        def set_password(rng):
            time.sleep(delay(rng))
            self.srv.psql("ALTER ROLE app PASSWORD '%s'" % self.PASSWORD)
        return [
            Lifecycle(self, "cold start (initdb)", empty_folder, first_start),
            Lifecycle(self, "warm start", stopped, start_late),
            Lifecycle(self, "crash recovery", crashed, start_late),
            Lifecycle(self, "restart while waiting", no_db_yet,
                      restart_then_create_db),
            Lifecycle(self, "database created late", no_db_yet, create_db),
            Lifecycle(self, "too many connections, then freed", full, free),
            Lifecycle(self, "standby promoted", standby, promote),
            Lifecycle(self, "password set late", no_password_yet,
                      set_password)]
