"""tests/conformance/targets/redis.py - the redis target: Redis: cold and
warm start, LOADING a large RDB, a restart during LOADING, SIGKILL, CLIENT
PAUSE, a replica syncing from its primary, a replica promoted."""

import os
import random
import signal
import time

import truth  # noqa: E402
from lifecycles import ANCHOR_SLEEP, delay, Lifecycle, wait_for_it  # noqa: E402

# The key the replica lifecycles read: written on the replica's primary,
# served by the replica once it has synced.
SYNCED_KEY, SYNCED_VALUE = "gpcheck:synced", "yes"


class Redis:
    """Three real Redis servers: `srv`, the primary most lifecycles stop,
    load and pause; `upstream`, a primary with a data set; `replica`, its
    replica with replica-serve-stale-data no (MASTERDOWN while its link
    is down, then LOADING while it loads the primary's RDB) and
    replica-read-only yes. `mode` says which one a trial asks and how:
    "primary" (srv, a write and a read), "replica" (the replica, a read:
    replicas are read-only), "promote" (the replica, expected to become a
    primary: a write and a read, and the probe says role = master)."""

    name = "redis"

    def __init__(self, short):
        from redis import Redis as Server
        self.srv = Server()
        # Redis 7 waits repl-diskless-sync-delay (5 s) for more replicas
        # before a full sync: MASTERDOWN all along. 1 s keeps that state
        # and a trial short.
        self.upstream = Server(extra=["repl-diskless-sync-delay 1"])
        self.replica = Server(extra=["replica-serve-stale-data no",
                                     "replica-read-only yes"])
        self.replica.replica_of(self.upstream)
        # keys in the RDB a restart loads: LOADING for ~1 s (short: less)
        self.loading_keys = 300000 if short else 1000000
        # keys the replica gets in a full sync: LOADING for a moment
        self.sync_keys = 50000 if short else 200000
        self.rng = random.Random()
        self.mode = "primary"
        self.rdb_aside = False

    def start(self):
        self.srv.start()
        # A data set that takes a while to load: restarts answer LOADING.
        self.srv.make_loading_rdb(keys=self.loading_keys)
        self.upstream.start()
        self.upstream.cli("SET", SYNCED_KEY, SYNCED_VALUE)
        self.upstream.make_loading_rdb(keys=self.sync_keys)
        self.replica.start()
        self.replica.wait_replica_link(60)

    def stop(self):
        for s in (self.replica, self.upstream, self.srv):
            s.stop()

    def asked(self):
        return self.srv if self.mode == "primary" else self.replica

    def check(self):
        port = self.asked().port
        if self.mode == "replica":
            return truth.redis_get("127.0.0.1", port, SYNCED_KEY,
                                   SYNCED_VALUE)
        return truth.redis("127.0.0.1", port)

    def client(self):
        cli = "redis-cli -e -h 127.0.0.1 -p %d" % self.asked().port
        if self.mode == "replica":
            return "[ \"$(%s GET %s)\" = %s ]" % (cli, SYNCED_KEY,
                                                  SYNCED_VALUE)
        return ("%s SET gpcheck:gated 1 >/dev/null && "
                "[ \"$(%s GET gpcheck:gated)\" = 1 ]" % (cli, cli))

    def probe(self):
        role = {"primary": "", "replica": "role = replica\n",
                "promote": "role = master\n"}[self.mode]
        return "plugin = redis\nhost = 127.0.0.1\nport = %d\n%s" % (
            self.asked().port, role)

    def anchors(self):
        port = self.asked().port
        return {"redis-cli ping": "until [ \"$(redis-cli -h 127.0.0.1 -p %d "
                                  "ping 2>/dev/null)\" = PONG ]; do sleep %s; "
                                  "done" % (port, ANCHOR_SLEEP),
                "wait-for-it": wait_for_it("127.0.0.1", port)}

    @staticmethod
    def kill(server):
        if server.proc and server.proc.poll() is None:
            os.killpg(server.proc.pid, signal.SIGKILL)
            server.proc.wait(10)

    @staticmethod
    def up(server):
        if server.proc is None or server.proc.poll() is not None:
            server.start(wait=False)
        server.wait_ready(60)

    def rdb(self, keep):
        """Put srv's RDB aside (a cold start: an empty data folder) or
        back (a warm start loads it). save "" and SIGTERM: Redis writes
        no RDB of its own meanwhile."""
        path = os.path.join(self.srv.dir, "dump.rdb")
        if keep and self.rdb_aside:
            os.replace(path + ".aside", path)
        elif not keep and not self.rdb_aside:
            os.replace(path, path + ".aside")
        self.rdb_aside = not keep

    def primary(self, keep_rdb=True):
        """Before a trial on srv: srv stopped, its RDB as asked."""
        self.mode = "primary"
        self.srv.stop_server()
        self.rdb(keep_rdb)

    def lifecycles(self):
        def start_late(rng):
            time.sleep(delay(rng))
            self.srv.start(wait=False)

        def restart_now(rng):
            # Started at once: the trial is the LOADING phase itself.
            self.srv.start(wait=False)

        def loading():
            # gpcheck starts while Redis loads its RDB...
            self.primary()
            self.srv.start(wait=False)
            self.srv.wait_loading(30)

        def restart_loading(rng):
            # ... and, in its warmup, Redis is restarted (a deploy, an
            # orchestrator's liveness kill): refused, then LOADING again.
            time.sleep(rng.uniform(0.1, 0.5))
            self.srv.stop_server()
            self.srv.start(wait=False)

        def crashed():
            self.mode = "primary"
            self.rdb(True)
            self.up(self.srv)
            self.kill(self.srv)

        def pause():
            # CLIENT PAUSE ALL holds every client's commands, CLIENT
            # UNPAUSE included: the pause is given its random length up
            # front and ends by itself.
            self.mode = "primary"
            self.rdb(True)
            self.up(self.srv)
            ms = int(delay(self.rng) * 1000)
            self.srv.cli("CLIENT", "PAUSE", ms, "ALL")

        def primary_down():
            # The replica, restarted, loads its own copy and then answers
            # MASTERDOWN: its primary is down (a node replaced, a zone
            # coming back). When the primary is up, the replica syncs in
            # full (the primary restarted from an older RDB, another
            # replication id): LOADING, then it serves.
            self.mode = "replica"
            self.up(self.upstream)
            self.up(self.replica)
            self.kill(self.upstream)
            self.replica.stop_server()
            self.replica.start(wait=False)

        def primary_up(rng):
            time.sleep(delay(rng))
            self.upstream.start(wait=False)

        def replica_synced():
            # A replica, in sync, read-only, that the tools expect to be
            # a primary (role = master): a failover is under way.
            self.mode = "promote"
            self.up(self.upstream)
            self.up(self.replica)
            self.replica.cli("REPLICAOF", "127.0.0.1", self.upstream.port)
            self.replica.wait_replica_link(60)

        def promote(rng):
            time.sleep(delay(rng))
            self.replica.cli("REPLICAOF", "NO", "ONE")

        return [
            Lifecycle(self, "cold start", lambda: self.primary(False),
                      start_late),
            Lifecycle(self, "warm start (RDB)", self.primary, start_late),
            Lifecycle(self, "loading a large RDB", self.primary,
                      restart_now),
            Lifecycle(self, "restart during LOADING", loading,
                      restart_loading),
            Lifecycle(self, "crash (SIGKILL) and restart", crashed,
                      start_late),
            Lifecycle(self, "CLIENT PAUSE ALL", pause, lambda rng: None),
            Lifecycle(self, "replica: primary down, then full sync",
                      primary_down, primary_up),
            Lifecycle(self, "replica promoted (role = master)",
                      replica_synced, promote)]
