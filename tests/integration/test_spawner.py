"""tests/integration/test_spawner.py - attempts fork from the spawner, a
small process gpcheck forks before it reads the configuration
(core/spawner.h): it is the attempts' parent, its image does not grow with
the number of probes, and a spawner that dies or stops costs no probe its
result and leaves nothing running."""

import json
import os
import signal
import subprocess
import time
import unittest

from gp import BIN, GpTestCase, pid_alive, wait_until

# core/spawner.h: SPAWNER_MIN_PROBES. Smaller runs fork from gpcheck.
MIN_PROBES = 256


def quick(n):
    """n quick probes, to make a run big enough for the spawner."""
    return "".join("[q%d]\nplugin = misbehave\nmode = ok\n\n" % i
                   for i in range(n))


def ppid(pid):
    with open("/proc/%d/stat" % pid) as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def rss_anon_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    raise AssertionError("no RssAnon for %d" % pid)


class SpawnerTest(GpTestCase):
    def setUp(self):
        super().setUp()
        self.pids = os.path.join(self.tmp, "pids")
        self.report = os.path.join(self.tmp, "report.json")

    def start(self, *extra):
        return self.start_run(*extra, report=self.report,
                              stdout=subprocess.PIPE)

    def recorded(self):
        try:
            with open(self.pids) as f:
                return [int(x) for x in f.read().split()]
        except FileNotFoundError:
            return []

    def finish(self, p, seconds=20):
        out, err = p.communicate(timeout=seconds)
        with open(self.report) as f:
            return p.returncode, json.load(f), err

    def slow_probes(self, n, sleep="1500ms", extra=""):
        """One slow probe that records its pid, then n - 1 quick ones."""
        text = ["[slow]\nplugin = misbehave\nmode = slow\nsleep = %s\n"
                "arg = %s\ntimeout = 5s\n%s\n" % (sleep, self.pids, extra)]
        self.write("conf.d/p.ini", "\n".join(text) + "\n" + quick(n - 1))

    def images(self, n):
        """(supervisor's, spawner's) RssAnon in KiB while the slow probe
        of a run of n probes sleeps, and the run's exit code."""
        self.slow_probes(n)
        p = self.start()
        self.assertTrue(wait_until(lambda: self.recorded(), 15),
                        "the slow attempt never started")
        attempt = self.recorded()[0]
        spawner = ppid(attempt)
        # The attempt is the spawner's child, the spawner gpcheck's.
        self.assertNotEqual(spawner, p.pid)
        self.assertEqual(ppid(spawner), p.pid)
        with open("/proc/%d/cmdline" % spawner, "rb") as f:
            self.assertEqual(f.read().split(b"\0")[0], BIN.encode())
        sizes = rss_anon_kib(p.pid), rss_anon_kib(spawner)
        rc, doc, err = self.finish(p)
        self.assertEqual(rc, 0, err)
        self.assertEqual(doc["verdict"], "pass")
        self.assertEqual(len(doc["probes"]), n)
        self.assertFalse(pid_alive(spawner), "the spawner outlived gpcheck")
        os.unlink(self.pids)
        return sizes

    def test_attempts_fork_from_a_spawner_that_does_not_grow(self):
        sup1, sp1 = self.images(MIN_PROBES)
        sup3k, sp3k = self.images(3000)
        # The supervisor holds 3,000 definitions and their bookkeeping...
        self.assertGreater(sup3k - sup1, 2048, (sup1, sup3k))
        # ...the process every attempt is forked from does not (its own
        # size is the build's: 1.4 MB in a Release build, 8 MB with ASan).
        self.assertLess(sp3k - sp1, 512, (sp1, sp3k))

    def test_a_small_run_forks_from_gpcheck(self):
        self.write("conf.d/p.ini", """
            [slow]
            plugin = misbehave
            mode = slow
            sleep = 1s
            arg = %s
            """ % self.pids + quick(MIN_PROBES - 2))
        p = self.start()
        self.assertTrue(wait_until(lambda: self.recorded(), 15))
        self.assertEqual(ppid(self.recorded()[0]), p.pid)
        rc, _, err = self.finish(p)
        self.assertEqual(rc, 0, err)

    def test_a_killed_spawner_costs_no_probe_its_result(self):
        text = ["[p%d]\nplugin = misbehave\nmode = slow\nsleep = 300ms\n"
                "arg = %s\nattempts = 1\n" % (i, self.pids)
                for i in range(12)]
        self.write("conf.d/p.ini", "\n".join(text) + quick(MIN_PROBES))
        p = self.start("-j", "4")
        self.assertTrue(wait_until(lambda: len(self.recorded()) >= 4, 15))
        spawner = ppid(self.recorded()[0])
        self.assertNotEqual(spawner, p.pid)
        os.kill(spawner, signal.SIGKILL)
        rc, doc, err = self.finish(p)
        # The attempts in flight died with it: not the probes' doing, so
        # they started again (from gpcheck itself), as did the rest.
        self.assertEqual(rc, 0, err)
        self.assertEqual([pr["status"] for pr in doc["probes"]],
                         ["ok"] * (12 + MIN_PROBES))
        self.assertGreater(len(self.recorded()), 12,
                           "no attempt was cut by the spawner's death")
        for pid in self.recorded():
            self.assertFalse(pid_alive(pid), "attempt %d outlived gpcheck"
                             % pid)

    def test_a_stopped_spawner_is_given_up_within_a_deadline(self):
        self.write("conf.d/p.ini", """
            [slow]
            plugin = misbehave
            mode = slow
            sleep = 300ms
            arg = %s
            timeout = 1s
            attempts = 1

            [after_slow]
            plugin = misbehave
            mode = ok
            after = slow
            timeout = 1s
            attempts = 1

            """ % self.pids + quick(MIN_PROBES))
        p = self.start()
        t0 = time.monotonic()
        self.assertTrue(wait_until(lambda: self.recorded(), 15))
        spawner = ppid(self.recorded()[0])
        self.assertNotEqual(spawner, p.pid)
        os.kill(spawner, signal.SIGSTOP)
        self.addCleanup(lambda: pid_alive(spawner) and
                        os.kill(spawner, signal.SIGKILL))
        rc, doc, err = self.finish(p)
        took = time.monotonic() - t0
        # The slow attempt wrote its result and exited under a stopped
        # parent: once its kill went unanswered a grace past its deadline,
        # the spawner was given up (SIGKILL), the zombie came back to
        # gpcheck with its result, and the next probe forked from gpcheck.
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.probe(doc, "slow")["status"], "ok")
        self.assertEqual(self.probe(doc, "after_slow")["status"], "ok")
        self.assertLess(took, 5.0)
        self.assertTrue(wait_until(lambda: not pid_alive(spawner), 5))

    def test_more_plugin_loads_than_a_socket_queues(self):
        # The supervisor tells the spawner to load each plugin as it loads
        # it, and reads the answers only when an attempt needs one; a Unix
        # socket queues 10 datagrams (net.unix.max_dgram_qlen), so the
        # spawner queues what does not fit instead of blocking on it.
        self.write("gpcheck.ini", """
            [defaults]
            attempts = 1
            timeout = 1s
            """)
        self.write("conf.d/all.ini", """
            [a_tcp]
            plugin = tcp
            host = 127.0.0.1
            port = 1
            [a_http]
            plugin = http
            url = http://127.0.0.1:1/
            [a_redis]
            plugin = redis
            host = 127.0.0.1
            port = 1
            [a_postgres]
            plugin = postgres
            dsn = host=127.0.0.1 port=1 user=x dbname=x
            [a_clickhouse]
            plugin = clickhouse
            url = http://127.0.0.1:1/
            [a_exec]
            plugin = exec
            command = /bin/true
            [a_grpc]
            plugin = grpc
            target = 127.0.0.1:1
            [a_mysql]
            plugin = mysql
            host = 127.0.0.1
            port = 1
            [a_prometheus]
            plugin = prometheus
            url = http://127.0.0.1:1/
            query.up = up
            [a_tls]
            plugin = tls
            host = 127.0.0.1
            port = 1
            [a_amqp]
            plugin = amqp
            host = 127.0.0.1
            port = 1
            [a_misbehave]
            plugin = misbehave
            mode = slow
            sleep = 1s
            timeout = 5s
            arg = %s

            """ % self.pids + quick(MIN_PROBES))
        p = self.start()
        # The 12th plugin's attempt comes from the spawner: it answered
        # all 12 loads and was not given up.
        self.assertTrue(wait_until(lambda: self.recorded(), 15))
        self.assertNotEqual(ppid(self.recorded()[0]), p.pid)
        rc, doc, err = self.finish(p, seconds=30)
        status = {pr["name"]: pr["status"] for pr in doc["probes"]}
        self.assertEqual(len(status), 12 + MIN_PROBES, err)
        self.assertEqual(status["a_exec"], "ok", err)
        self.assertEqual(status["a_misbehave"], "ok", err)
        self.assertEqual(status["a_tcp"], "fail", err)
        self.assertEqual(rc, 1, err)


if __name__ == "__main__":
    unittest.main()
