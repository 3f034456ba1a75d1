"""tests/integration/test_golden_path.py - the golden path against real
servers: the shipped configuration with all five seed probes (dns, vpc,
postgres, redis, clickhouse) and the incident's three thresholds (the
connector's utilisation < 80 % through a prometheus probe of a real
Prometheus, pool usage, warmups ready within 30 s), and the dns/postgres/redis/tcp gate of the
probes issue with Redis stopped and started late."""

import os
import time
import unittest

from gp import GpTestCase, wait_until
from golden import GoldenPath

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


class GoldenPathTest(GpTestCase):
    @classmethod
    def setUpClass(cls):
        cls.golden = GoldenPath().start()

    @classmethod
    def tearDownClass(cls):
        cls.golden.stop()

    def setUp(self):
        super().setUp()
        if self.golden.redis.ping() != "PONG":
            self.golden.redis.start()

    def shipped(self, *extra, timeout=120):
        """gpcheck run on the repository's gpcheck.ini and conf.d/."""
        import json
        import subprocess
        from gp import BIN
        report = os.path.join(self.tmp, "golden.json")
        env = dict(os.environ, **self.golden.env())
        env.pop("GPCHECK_ENV", None)
        t0 = time.monotonic()
        proc = subprocess.run(
            [BIN, "run", "-c", os.path.join(ROOT, "gpcheck.ini"), "-o",
             "json:" + report] + list(extra), capture_output=True, text=True,
            timeout=timeout, env=env, stdin=subprocess.DEVNULL)
        with open(report) as f:
            return proc, json.load(f), time.monotonic() - t0

    def test_shipped_golden_path_passes(self):
        proc, doc, took = self.shipped()
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(doc["verdict"], "pass")
        self.assertEqual(sorted(p["name"] for p in doc["probes"]),
                         ["cache", "cache-replica", "clickhouse", "database",
                          "dns", "vpc", "vpc-capacity"])
        self.assertEqual(doc["groups"][0]["name"], "cache")
        self.assertEqual(doc["groups"][0]["status"], "ok")
        vpc = GpTestCase.probe(doc, "vpc")
        self.assertEqual(vpc["metrics"]["min_instances"], 10)
        self.assertEqual(vpc["metrics"]["reachable"], 100)
        cap = GpTestCase.probe(doc, "vpc-capacity")
        self.assertEqual(cap["status"], "ok", cap["message"])
        self.assertEqual(cap["metrics"]["vpc_utilisation"], 42)
        # the warmup rule was evaluated, and held
        for name in ("vpc", "database"):
            ready = [t for t in GpTestCase.probe(doc, name)["thresholds"]
                     if t["metric"] == "ready_after"]
            self.assertEqual(len(ready), 1, name)
            self.assertFalse(ready[0]["fired"], name)
        self.assertLess(took, 30)

    def test_shipped_connector_utilisation_breach(self):
        self.golden.set_instances(85)
        self.addCleanup(self.golden.set_instances, 42)
        proc, doc, _ = self.shipped()
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertEqual(doc["verdict"], "fail")
        cap = GpTestCase.probe(doc, "vpc-capacity")
        self.assertEqual(cap["status"], "fail")
        self.assertTrue(cap["message"].startswith(
            "fail_if vpc_utilisation >= 80%: vpc_utilisation is 85%"),
            cap["message"])
        self.assertIn("required probe 'vpc-capacity' is fail", doc["rule"])

    def test_shipped_golden_path_with_redis_down(self):
        self.golden.redis.stop_server()
        proc, doc, _ = self.shipped("--deadline", "4s")
        self.assertNotEqual(proc.returncode, 0)
        self.assertEqual(doc["verdict"], "fail")
        # the connector's reachability check names the refused endpoint
        vpc = GpTestCase.probe(doc, "vpc")
        self.assertIn("127.0.0.1:%d refused" % self.golden.redis.port,
                      vpc["message"])
        self.assertEqual(GpTestCase.probe(doc, "clickhouse")["status"], "ok")

    def three_plus_tcp(self):
        """The probes issue's gate: dns, postgres, redis and tcp."""
        g = self.golden
        e = g.env()
        self.write("conf.d/golden.ini", """
            [dns]
            plugin = dns
            name = %s
            server = %s

            [database]
            plugin = postgres
            dsn = host=127.0.0.1 port=%s dbname=app user=app
            password = %s

            [cache]
            plugin = redis
            port = %s
            password = %s
            warmup = 10s
            warmup_interval = 100ms

            [web]
            plugin = tcp
            host = 127.0.0.1
            port = %s
            """ % (e["DNS_NAMES"], e["DNS_SERVER"], e["DB_PORT"],
                   e["DB_PASSWORD"], e["REDIS_PORT"], e["REDIS_PASSWORD"],
                   g.clickhouse.port))

    def test_three_plus_tcp_pass(self):
        self.three_plus_tcp()
        proc, doc, _ = self.run_json()
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual([p["status"] for p in doc["probes"]], ["ok"] * 4)

    def test_redis_stopped_fails_with_its_reason(self):
        self.three_plus_tcp()
        self.golden.redis.stop_server()
        proc, doc, _ = self.run_json("--deadline", "3s")
        self.assertNotEqual(proc.returncode, 0)
        cache = GpTestCase.probe(doc, "cache")
        self.assertIn(cache["status"], ("fail", "timeout"))
        self.assertTrue(any("connection refused" in h["message"]
                            for h in cache["history"]), cache)
        for name in ("dns", "database", "web"):
            self.assertEqual(GpTestCase.probe(doc, name)["status"], "ok")

    def test_redis_started_late_passes_soon_after(self):
        self.three_plus_tcp()
        self.golden.redis.stop_server()
        report = os.path.join(self.tmp, "late.json")
        proc = self.start_run("-q", report=report)
        time.sleep(2)
        self.golden.redis.start(wait=False)
        self.assertTrue(wait_until(
            lambda: self.golden.redis.ping() == "PONG", 20))
        accepted = time.monotonic()
        _, err = proc.communicate(timeout=60)
        finished = time.monotonic()
        self.assertEqual(proc.returncode, 0, err)
        # gpcheck saw it within its warmup cadence (generous on a busy CI)
        self.assertLess(finished - accepted, 1.5)


if __name__ == "__main__":
    unittest.main()
