"""tests/integration/test_core_metrics.py - thresholds on what the core
measures (ready_after, attempts, duration; GP_CORE_METRICS in plugin.h) in
warn_if / fail_if of any probe, against a real Redis 7 started two seconds
after gpcheck (tests/servers/redis.py): the incident's "infrastructure
response time < 30 s for warmup procedures" as `warn_if = ready_after >
30s`, and the same rule breached by a tighter bound."""

import json
import os
import time

from gp import GpTestCase

from base import wait_tcp
from redis import Redis


class CoreMetricsLateServerTest(GpTestCase):
    """One gpcheck run, one Redis started late, several probes of it."""

    def test_ready_after_attempts_duration_on_a_late_server(self):
        r = Redis()
        self.addCleanup(r.stop)
        policy = "warmup = 10s\ntimeout = 2s\n"
        rules = {
            # the incident's rule: ready 2 s late is well inside 30 s
            "within30s": "warn_if = ready_after > 30s\nattempts = 1",
            # the same rule, tighter than the server's two seconds
            "within1s": "warn_if = ready_after > 1s\nattempts = 1",
            # several warmup attempts were refused before the ready one
            "attempts": "fail_if = attempts > 2\nattempts = 1",
            # one attempt against a ready Redis takes far less than 2 s
            "duration": "fail_if = duration > 2s\nattempts = 1",
            # retry_on_threshold cannot heal ready_after: no retries spent
            "noretry": "warn_if = ready_after > 1s\nretry_on_threshold = true"
                       "\nattempts = 3\ndelay = 1s",
            # no condition on the core's metrics: none in its report
            "plain": "attempts = 1",
        }
        for name, rule in rules.items():
            self.write("conf.d/%s.ini" % name,
                       "[%s]\nplugin = redis\nport = %d\n%s%s\n"
                       % (name, r.port, policy, rule))
        proc = self.gp("validate")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        report = os.path.join(self.tmp, "late.json")
        gp = self.start_run(report=report)
        time.sleep(2)
        r.start(wait=False)
        self.assertTrue(wait_tcp(r.host, r.port, 10), r.log_tail())
        _, err = gp.communicate(timeout=30)
        self.assertEqual(gp.returncode, 1, err)  # `attempts` fails the gate
        with open(report) as f:
            doc = json.load(f)

        ok = self.probe(doc, "within30s")
        self.assertEqual(ok["status"], "ok", ok["message"])
        [th] = ok["thresholds"]
        self.assertEqual(th["metric"], "ready_after")
        self.assertFalse(th["fired"])
        # measured from the probe's start: about the two seconds Redis
        # was late (and never less)
        self.assertGreaterEqual(th["value"], 1900)
        self.assertLess(th["value"], 10000)
        # shown like the plugin's metrics, in its unit
        self.assertEqual(ok["metrics"]["ready_after"], th["value"])
        self.assertIn("used_memory", ok["metrics"])
        self.assertNotIn("ready_after", self.probe(doc, "plain")["metrics"])

        warn = self.probe(doc, "within1s")
        self.assertEqual(warn["status"], "warn", warn["message"])
        self.assertRegex(warn["message"],
                         r"^warn_if ready_after > 1s: ready_after is "
                         r"[0-9.]+s; PONG")
        self.assertTrue(warn["thresholds"][0]["fired"])

        att = self.probe(doc, "attempts")
        self.assertEqual(att["status"], "fail", att["message"])
        self.assertGreater(att["attempts"], 2)
        self.assertEqual(att["thresholds"][0]["value"], att["attempts"])
        self.assertIn("fail_if attempts > 2: attempts is", att["message"])

        noretry = self.probe(doc, "noretry")
        self.assertEqual(noretry["status"], "warn", noretry["message"])
        ready = [h for h in noretry["history"] if h["outcome"] == "ready"]
        self.assertEqual(len(ready), 1, noretry["history"])

        dur = self.probe(doc, "duration")
        self.assertEqual(dur["status"], "ok", dur["message"])
        last = dur["history"][-1]
        self.assertAlmostEqual(dur["thresholds"][0]["value"],
                               last["duration_ms"], delta=1.0)

    def test_units_must_fit_and_names_are_checked(self):
        self.write("conf.d/p.ini", """
            [p]
            plugin = tcp
            host = 127.0.0.1
            port = 1
            warn_if = ready_after > 30%
            fail_if = ready_afte > 1s
            """)
        proc = self.gp("validate")
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("p.ini:5: probe 'p': warn_if: '30%' does not fit "
                      "metric 'ready_after' (ms)", proc.stderr)
        self.assertIn("p.ini:6: probe 'p': fail_if: unknown metric "
                      "'ready_afte' (did you mean 'ready_after'?)",
                      proc.stderr)

    def test_plugins_lists_the_core_metrics(self):
        proc = self.gp("plugins", "tcp")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("MEASURED BY THE CORE (every probe)", proc.stdout)
        self.assertRegex(proc.stdout, r"\n  ready_after +ms +time from")


if __name__ == "__main__":
    import unittest
    unittest.main()
