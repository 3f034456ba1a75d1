"""tests/conformance/targets/clickhouse.py - the clickhouse target:
ClickHouse 18.16 (Debian's clickhouse-server, tests/servers/clickhouse.py):
a cold start (an empty data folder, the schema made once the server
answers), SIGKILL and restart, a restart that loads a MergeTree table of
thousands of parts, and the application's database created late.

The representative question is the one an application of this server
asks: its table app.events exists and can be written and read. The probe's
query is `SELECT count() FROM app.events` (what a user would configure);
the truth and the gated command INSERT a row and read it back.

What 18.16 does with a table that takes time to load (measured here, see
the "loading a large table" lifecycle): it attaches every table, parts
included, BEFORE it opens its listeners ("Loading metadata." then
"Listening http://..." in its log), so the port is closed and /ping
refused for the whole load, and the first /ping, the first connect and
the first successful INSERT+SELECT fall in the same 5 ms poll: there is
no moment where /ping answers and the table is not there yet. The load
is short: 3000 one-part partitions took about 0.25 s to attach on this
2-core VM at load 6 (0.3 s from exec to ready), 5000 about 2.5 s at
load 30; the short form's 1000 parts about 0.1 s.
Newer versions load tables asynchronously (async_load_databases) and do
have that moment; the lifecycle stays as the regression trial for it.
Where 18.16 does answer /ping before the application's query works is a
server whose schema is not made yet: the cold start and the database
created late.

Detection lag after a restart is mostly the server's: its first answers
are slow (measured over 20 SIGKILL restarts at load 15: the truth's first
successful INSERT+SELECT took 41 ms p50 / 155 ms p95, gpcheck's ready
attempt 42 / 118 ms with warmup_interval = 10ms, /ping 5 / 29 ms and the
query 12 / 87 ms of it; steady state is about 1 ms each).
"""

import os
import signal
import time

import truth  # noqa: E402
from lifecycles import ANCHOR_SLEEP, delay, Lifecycle, wait_for_it  # noqa: E402

# The application's schema, in database {db}: "app", or a new one in
# each "database created late" trial. The table is made under another
# name and renamed into place: 18.16 makes a new MergeTree table visible
# before it starts it, and an INSERT in between (the truth's, every 5 ms)
# segfaults the server (BackgroundProcessingPoolTaskInfo::wake() on a NULL
# task; it ended three runs here, after 2 to 15 trials of "database
# created late"). RENAME shows it only once it is started.
DATABASE = "CREATE DATABASE IF NOT EXISTS {db}"
TABLE = ("CREATE TABLE IF NOT EXISTS {db}.events_new (t DateTime, x UInt64) "
         "ENGINE = MergeTree ORDER BY t",
         "RENAME TABLE {db}.events_new TO {db}.events")
WRITE = "INSERT INTO {db}.events VALUES (now(), 1)"
READ = "SELECT count() > 0 FROM {db}.events"
# Generous but bounded: a restart on this shared 2-core machine may take
# seconds (a SIGTERM alone takes about 1 s).
UP_WITHIN = 90


class ClickHouse:
    name = "clickhouse"

    def __init__(self, short):
        from clickhouse import ClickHouse as Server
        self.srv = Server()
        # Parts of history.parts, one per partition so that no merge makes
        # them fewer; a restart attaches them all (short: a smaller load).
        self.history_parts = 1000 if short else 3000
        self.history = False
        self.db = "app"
        self.late = 0

    def start(self):
        self.srv.start(seconds=UP_WITHIN)
        self.provision()

    def stop(self):
        self.srv.stop()

    # -- the service's state -------------------------------------------------

    def sql(self, query, timeout=30):
        """srv.query(), and when it fails, whether the server still runs
        and the end of its logs (a run that stops on it says why)."""
        try:
            return self.srv.query(query, timeout=timeout)
        except Exception as e:
            rc = self.srv.proc.poll() if self.srv.proc else None
            raise RuntimeError("%r: %s (server %s)\n%s" % (
                query, e, "running" if rc is None else "exited %s" % rc,
                self.srv.log_tail(40))) from e

    def provision(self):
        self.sql(DATABASE.format(db=self.db))
        self.make_table()

    def make_table(self):
        if self.sql("EXISTS TABLE %s.events" % self.db).strip() == "1":
            return
        for query in TABLE:
            self.sql(query.format(db=self.db))

    def ensure_up(self):
        if self.srv.proc is None or self.srv.proc.poll() is not None:
            self.srv.start(seconds=UP_WITHIN)
        self.srv.wait_ready(UP_WITHIN)
        self.db = "app"
        self.provision()

    def make_history(self):
        """A MergeTree table of history_parts parts, made once (a cold start
        wipes it)."""
        if self.history:
            return
        self.sql("CREATE DATABASE IF NOT EXISTS history")
        self.sql("CREATE TABLE IF NOT EXISTS history.parts (x UInt64) "
                       "ENGINE = MergeTree PARTITION BY x ORDER BY x")
        per = 500
        for first in range(0, self.history_parts, per):
            self.sql("INSERT INTO history.parts SELECT number FROM "
                     "numbers(%d, %d)" % (first, per), timeout=120)
        self.history = True

    def kill(self):
        if self.srv.proc and self.srv.proc.poll() is None:
            os.killpg(self.srv.proc.pid, signal.SIGKILL)
            self.srv.proc.wait(10)

    def wait_ping(self):
        """Until /ping answers (bounded), as an init script waits."""
        deadline = time.monotonic() + UP_WITHIN
        while time.monotonic() < deadline:
            if (self.srv.ping() or "").strip() == "Ok.":
                return
            time.sleep(0.01)
        raise RuntimeError("clickhouse did not come up:\n" +
                           self.srv.log_tail())

    # -- what the tools ask --------------------------------------------------

    def check(self):
        return truth.clickhouse("127.0.0.1", self.srv.port,
                                WRITE.format(db=self.db),
                                READ.format(db=self.db), "1")

    def client(self):
        curl = ("curl -sSf --max-time 5 http://127.0.0.1:%d/ --data-binary"
                % self.srv.port)
        return "%s '%s' && [ \"$(%s '%s')\" = 1 ]" % (
            curl, WRITE.format(db=self.db), curl, READ.format(db=self.db))

    def probe(self):
        return ("plugin = clickhouse\nurl = %s\n"
                "query = SELECT count() FROM %s.events\n"
                % (self.srv.url(), self.db))

    def anchors(self):
        return {"curl -f ping": "until curl -sf -o /dev/null "
                                 "http://127.0.0.1:%d/ping; do sleep %s; done"
                                 % (self.srv.port, ANCHOR_SLEEP),
                "wait-for-it": wait_for_it("127.0.0.1", self.srv.port)}

    # -- the lifecycles ------------------------------------------------------

    def lifecycles(self):
        def wiped():
            self.srv.wipe()
            self.history = False

        def first_start(rng):
            # The server starts with an empty data folder and the schema is
            # made once it answers, as an init script does.
            time.sleep(delay(rng))
            self.srv.start(wait=False)
            self.wait_ping()
            self.provision()

        def start_late(rng):
            time.sleep(delay(rng))
            self.srv.start(wait=False)

        def crashed():
            self.ensure_up()
            self.kill()

        def history_stopped():
            self.ensure_up()
            self.make_history()
            self.srv.stop_server()

        def restart_now(rng):
            # Started at once: the trial is the load itself.
            self.srv.start(wait=False)

        def no_database():
            # A database that does not exist yet: the probe section, the
            # truth and the gated command are made after this.
            self.ensure_up()
            self.late += 1
            self.db = "late%d" % self.late

        def create_late(rng):
            time.sleep(delay(rng))
            self.sql(DATABASE.format(db=self.db))
            # A migration makes the table a moment after the database.
            time.sleep(rng.uniform(0.0, 0.2))
            self.make_table()
        return [
            Lifecycle(self, "cold start", wiped, first_start),
            Lifecycle(self, "crash (SIGKILL) and restart", crashed,
                      start_late),
            Lifecycle(self, "loading a large table", history_stopped,
                      restart_now),
            Lifecycle(self, "database created late", no_database,
                      create_late)]
