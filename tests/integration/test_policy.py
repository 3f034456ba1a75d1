"""tests/integration/test_policy.py - warmup, retries, `after`, deadlines:
the policy semantics against real loopback listeners."""

import json
import os
import time
import unittest

from gp import GRACE, GpTestCase


class PolicyTest(GpTestCase):
    def test_warmup_ends_when_listener_appears(self):
        # The port refuses connections for 1 s, then listens.
        late = self.listener("late", delay=1.0)
        self.write("conf.d/db.ini", """
            [db]
            plugin = tcp
            host = 127.0.0.1
            port = %d
            warmup = 20s
            warmup_interval = 100ms
            attempts = 1
            """ % late.port)
        proc, doc, took = self.run_json()
        self.assertEqual(proc.returncode, 0, proc.stderr)
        db = self.probe(doc, "db")
        self.assertEqual(db["status"], "ok")
        warm = [h for h in db["history"] if h["phase"] == "warmup"]
        self.assertGreaterEqual(len(warm), 3)  # refused while not listening
        self.assertEqual(warm[0]["outcome"], "transient")
        self.assertEqual(db["history"][-1]["outcome"], "ready")
        # It returned when the listener appeared, not after 20 s of warmup.
        self.assertLess(took, 1.0 + GRACE + 1.0)
        self.assertIn("warmup", proc.stderr)

    def test_blackholed_connect_cut_at_timeout(self):
        hole = self.listener("blackhole")
        self.write("conf.d/vpc.ini", """
            [vpc]
            plugin = tcp
            host = 127.0.0.1
            port = %d
            timeout = 1s
            attempts = 1
            """ % hole.port)
        proc, doc, took = self.run_json()
        self.assertEqual(proc.returncode, 1, proc.stderr)
        vpc = self.probe(doc, "vpc")
        self.assertEqual(vpc["status"], "timeout")
        self.assertIn("timed out", vpc["message"])
        self.assertGreaterEqual(vpc["duration_ms"], 900)
        self.assertLess(took, 1.0 + GRACE)

    def test_retries_with_backoff(self):
        closed = self.listener("closed")
        self.write("conf.d/db.ini", """
            [db]
            plugin = tcp
            host = 127.0.0.1
            port = %d
            attempts = 3
            delay = 200ms
            jitter = 0%%
            """ % closed.port)
        proc, doc, took = self.run_json()
        self.assertEqual(proc.returncode, 1)
        db = self.probe(doc, "db")
        self.assertEqual(db["attempts"], 3)
        self.assertEqual([h["attempt"] for h in db["history"]], [1, 2, 3])
        # delays 200 ms then 400 ms (exponential, no jitter)
        self.assertGreaterEqual(db["duration_ms"], 600)
        self.assertLess(took, 0.6 + GRACE)
        self.assertIn("attempt 1/3", proc.stderr)

    def test_fatal_ends_warmup_at_once(self):
        self.write("conf.d/db.ini", """
            [db]
            plugin = misbehave
            mode = fatal
            warmup = 30s
            """)
        proc, doc, took = self.run_json()
        self.assertEqual(proc.returncode, 1)
        db = self.probe(doc, "db")
        self.assertEqual(db["status"], "fail")
        self.assertEqual(db["attempts"], 1)
        self.assertEqual(db["history"][0]["phase"], "warmup")
        self.assertLess(took, 5)

    def test_unresolvable_host(self):
        # Fatal when a resolver answers "no such name" (here dnsd.py on
        # loopback); a machine without any DNS server gets EAI_AGAIN
        # instead, which is transient by design.
        self.private_resolver("nxdomain")
        self.write("conf.d/db.ini", """
            [db]
            plugin = tcp
            host = nonexistent.invalid
            port = 5432
            timeout = 3s
            attempts = 2
            delay = 100ms
            """)
        proc, doc, _ = self.run_json(timeout=30)
        self.assertEqual(proc.returncode, 1)
        db = self.probe(doc, "db")
        self.assertEqual(db["status"], "fail")
        if db["history"][0]["outcome"] == "fatal":
            self.assertEqual(db["attempts"], 1)
        self.assertIn("nonexistent.invalid", db["message"])

    def test_success_threshold(self):
        a = self.listener("accept")
        self.write("conf.d/web.ini", """
            [web]
            plugin = tcp
            host = 127.0.0.1
            port = %d
            success_threshold = 3
            attempts = 5
            delay = 50ms
            """ % a.port)
        proc, doc, _ = self.run_json()
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(self.probe(doc, "web")["attempts"], 3)

    def test_after_and_skip(self):
        a = self.listener("accept")
        closed = self.listener("closed")
        self.write("conf.d/x.ini", """
            [db]
            plugin = tcp
            host = 127.0.0.1
            port = %d
            attempts = 1

            [migrations]
            plugin = tcp
            host = 127.0.0.1
            port = %d
            after = db

            [vpc]
            plugin = tcp
            host = 127.0.0.1
            port = %d
            attempts = 1

            [api]
            plugin = tcp
            host = 127.0.0.1
            port = %d
            after = vpc, db
            """ % (closed.port, a.port, a.port, a.port))
        proc, doc, _ = self.run_json()
        self.assertEqual(proc.returncode, 1)
        self.assertEqual(self.probe(doc, "db")["status"], "fail")
        mig = self.probe(doc, "migrations")
        self.assertEqual(mig["status"], "skipped")
        self.assertEqual(mig["attempts"], 0)
        self.assertIn("'db'", mig["message"])
        self.assertEqual(self.probe(doc, "vpc")["status"], "ok")
        self.assertEqual(self.probe(doc, "api")["status"], "skipped")

    def test_after_waits_for_ready(self):
        late = self.listener("late", delay=0.5)
        a = self.listener("accept")
        self.write("conf.d/x.ini", """
            [db]
            plugin = tcp
            host = 127.0.0.1
            port = %d
            warmup = 10s
            warmup_interval = 100ms

            [app]
            plugin = tcp
            host = 127.0.0.1
            port = %d
            after = db
            """ % (late.port, a.port))
        proc, doc, _ = self.run_json()
        self.assertEqual(proc.returncode, 0, proc.stderr)
        db, app = self.probe(doc, "db"), self.probe(doc, "app")
        self.assertEqual(app["status"], "ok")
        self.assertIn("waiting", proc.stderr)

    def test_run_deadline(self):
        closed = self.listener("closed")
        a = self.listener("accept")
        self.write("conf.d/x.ini", """
            [db]
            plugin = tcp
            host = 127.0.0.1
            port = %d
            warmup = 60s

            [web]
            plugin = tcp
            host = 127.0.0.1
            port = %d

            [app]
            plugin = tcp
            host = 127.0.0.1
            port = %d
            after = db
            """ % (closed.port, a.port, a.port))
        proc, doc, took = self.run_json("--deadline", "1s")
        self.assertEqual(proc.returncode, 124, proc.stderr)
        self.assertEqual(self.probe(doc, "db")["status"], "timeout")
        self.assertIn("deadline", self.probe(doc, "db")["message"])
        self.assertEqual(self.probe(doc, "app")["status"], "timeout")
        self.assertEqual(self.probe(doc, "web")["status"], "ok")
        self.assertLess(took, 1.0 + GRACE)

    def test_no_attempt_starts_without_time(self):
        # An attempt that needs more time than the run has left gives up
        # just before its deadline; the ones after it would be started in
        # the run's last moments with no time at all, and the deadline
        # report would quote their "had 0 ms" instead of why the probe was
        # not ready. None starts with less than 5 ms.
        self.write("conf.d/x.ini", """
            [db]
            plugin = misbehave
            mode = slow
            sleep = 5s
            warmup = 60s
            timeout = 10s
            """)
        proc, doc, took = self.run_json("--deadline", "1s")
        self.assertEqual(proc.returncode, 124, proc.stderr)
        db = self.probe(doc, "db")
        self.assertEqual(db["status"], "timeout")
        self.assertIn("slow: needed 5000 ms", db["message"])
        had = [int(h["message"].split("had ")[1].split(" ms")[0])
               for h in db["history"] if "had " in h["message"]]
        self.assertTrue(had, db["history"])
        # 5 ms at the start, less what the fork took (old: 0 or 1 ms)
        self.assertGreaterEqual(min(had), 2, db["history"])
        self.assertLess(took, 1.0 + GRACE)

    def test_deadline_in_config_cuts_attempt(self):
        hole = self.listener("blackhole")
        self.write("gpcheck.ini", """
            [gpcheck]
            deadline = 1s
            """)
        self.write("conf.d/x.ini", """
            [vpc]
            plugin = tcp
            host = 127.0.0.1
            port = %d
            timeout = 30s
            """ % hole.port)
        proc, doc, took = self.run_json()
        self.assertEqual(proc.returncode, 124, proc.stderr)
        self.assertLess(took, 1.0 + GRACE)

    def test_deadline_cutting_only_optional_keeps_verdict(self):
        a = self.listener("accept")
        closed = self.listener("closed")
        self.write("conf.d/x.ini", """
            [web]
            plugin = tcp
            host = 127.0.0.1
            port = %d

            [extra]
            plugin = tcp
            host = 127.0.0.1
            port = %d
            severity = optional
            warmup = 60s
            """ % (a.port, closed.port))
        proc, doc, _ = self.run_json("--deadline", "1s")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(doc["verdict"], "degraded")

    def test_jobs_bound_parallelism(self):
        # 6 probes of 500 ms each: with -j 6 about 0.5 s, with -j 1 about 3 s.
        self.write("conf.d/x.ini", "".join("""
            [slow%d]
            plugin = misbehave
            mode = slow
            sleep = 500ms
            """ % i for i in range(6)))
        proc, doc, took_par = self.run_json("-j", "6")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        proc, doc, took_ser = self.run_json("-j", "1")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertGreaterEqual(took_ser, 3.0)
        self.assertLess(took_par, 2.0)

    def test_start_order_is_due_time_then_definition_order(self):
        # -j 1: one attempt at a time, so the order attempts start in is
        # the runner's choice alone. Every probe is due at the start: they
        # go in definition order (not by name); z's retries, due later,
        # come after all of them, whatever the load makes each attempt take.
        names = ["z", "y", "x", "a", "b"]
        self.write("conf.d/x.ini", "".join("""
            [%s]
            plugin = misbehave
            mode = %s
            attempts = 3
            delay = 200ms
            backoff = fixed
            jitter = 0%%
            """ % (n, "transient" if n == "z" else "ok") for n in names))
        events = os.path.join(self.tmp, "events.jsonl")
        proc = self.gp("run", "-j", "1", "-o", "jsonl:" + events)
        self.assertEqual(proc.returncode, 1, proc.stderr)  # z never ready
        with open(events) as f:
            started = [e["probe"] for e in map(json.loads, f)
                       if e["event"] == "attempt_start"]
        self.assertEqual(started, names + ["z", "z"])


if __name__ == "__main__":
    unittest.main()
