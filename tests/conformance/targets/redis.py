"""tests/conformance/targets/redis.py - the redis target: Redis: cold start, LOADING a large RDB, SIGKILL, CLIENT PAUSE."""

import os
import random
import signal
import time

import truth  # noqa: E402
from lifecycles import ANCHOR_SLEEP, delay, Lifecycle, wait_for_it  # noqa: E402


class Redis:
    name = "redis"

    def __init__(self, short):
        from redis import Redis as Server
        self.srv = Server()
        # keys in the RDB a restart loads: LOADING for ~1 s (short: less)
        self.loading_keys = 300000 if short else 1000000
        self.rng = random.Random()

    def start(self):
        self.srv.start()
        # A data set that takes a while to load: restarts answer LOADING.
        self.srv.make_loading_rdb(keys=self.loading_keys)

    def stop(self):
        self.srv.stop()

    def check(self):
        return truth.redis("127.0.0.1", self.srv.port)

    def client(self):
        cli = "redis-cli -e -h 127.0.0.1 -p %d" % self.srv.port
        return ("%s SET gpcheck:gated 1 >/dev/null && "
                "[ \"$(%s GET gpcheck:gated)\" = 1 ]" % (cli, cli))

    def probe(self):
        return "plugin = redis\nhost = 127.0.0.1\nport = %d\n" % self.srv.port

    def anchors(self):
        return {"redis-cli ping": "until [ \"$(redis-cli -h 127.0.0.1 -p %d "
                                  "ping 2>/dev/null)\" = PONG ]; do sleep %s; "
                                  "done" % (self.srv.port, ANCHOR_SLEEP),
                "wait-for-it": wait_for_it("127.0.0.1", self.srv.port)}

    def kill(self):
        if self.srv.proc and self.srv.proc.poll() is None:
            os.killpg(self.srv.proc.pid, signal.SIGKILL)
            self.srv.proc.wait(10)

    def lifecycles(self):
        def start_late(rng):
            time.sleep(delay(rng))
            self.srv.start(wait=False)

        def restart_now(rng):
            # Started at once: the trial is the LOADING phase itself.
            self.srv.start(wait=False)

        def pause():
            # CLIENT PAUSE ALL holds every client's commands, CLIENT
            # UNPAUSE included: the pause is given its random length up
            # front and ends by itself.
            self.ensure_up()
            ms = int(delay(self.rng) * 1000)
            self.srv.cli("CLIENT", "PAUSE", ms, "ALL")
        return [
            Lifecycle(self, "cold start", self.srv.stop_server, start_late),
            Lifecycle(self, "loading a large RDB", self.srv.stop_server,
                      restart_now),
            Lifecycle(self, "crash (SIGKILL) and restart", self.kill,
                      start_late),
            Lifecycle(self, "CLIENT PAUSE ALL", pause, lambda rng: None)]

    def ensure_up(self):
        if self.srv.proc is None or self.srv.proc.poll() is not None:
            self.srv.start()
        self.srv.wait_ready(30)
