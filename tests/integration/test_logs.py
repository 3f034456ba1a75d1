"""tests/integration/test_logs.py - what a CI log shows while gpcheck waits
(stderr not a terminal): the heartbeat line per waiting probe, its count
and content, and the order of the warmup damping line; against real
loopback targets that refuse (listen.py closed) or start late (late)."""

import os
import re
import time
import urllib.parse

from gp import GpTestCase
from httpd import HttpdProcess

STAMP = r"\[ *([\d.]+)s\] "


def lines_of(text, probe, what):
    """(seconds, line) for each plain line of probe containing what."""
    out = []
    for line in text.splitlines():
        m = re.match(STAMP + re.escape(probe) + " ", line)
        if m and what in line:
            out.append((float(m.group(1)), line))
    return out


class HeartbeatTest(GpTestCase):
    def late_db(self, delay, **policy):
        late = self.listener("late", delay=delay)
        keys = "".join("%s = %s\n" % kv for kv in policy.items())
        self.write("conf.d/x.ini", "[database]\nplugin = tcp\n"
                   "host = 127.0.0.1\nport = %d\n%s" % (late.port, keys))
        return late

    def test_one_line_per_interval_in_a_long_warmup(self):
        # the delay counts from the listener's start, a little before
        # gpcheck's: margin for a loaded machine
        late = self.late_db(5.5, warmup="30s", warmup_interval="200ms")
        t0 = time.monotonic()
        proc = self.gp("run", "--heartbeat", "1s", timeout=30)
        took = time.monotonic() - t0
        self.assertEqual(proc.returncode, 0, proc.stderr)
        beats = lines_of(proc.stderr, "database", "still waiting:")
        # one a second while refused (5 s or so), give or take the load
        self.assertGreaterEqual(len(beats), 3, proc.stderr)
        self.assertLessEqual(len(beats), int(took) + 1, proc.stderr)
        want = (r"still waiting: warmup, [\d.]+m?s left, attempt \d+: "
                r"transient: connection refused by 127\.0\.0\.1:%d$"
                % late.port)
        for _, line in beats:
            self.assertRegex(line, want)
        # spaced by the heartbeat, not bunched
        stamps = [s for s, _ in beats]
        for a, b in zip(stamps, stamps[1:]):
            self.assertGreaterEqual(b - a, 0.9, proc.stderr)
        # the attempt number grows, the time left shrinks
        nums = [int(re.search(r"attempt (\d+)", l).group(1)) for _, l in beats]
        self.assertEqual(nums, sorted(nums))
        self.assertLess(nums[0], nums[-1])
        # and the probe's end comes after the last one
        end = lines_of(proc.stderr, "database", "ok ")
        self.assertEqual(len(end), 1, proc.stderr)
        self.assertGreaterEqual(end[0][0], stamps[-1])

    def test_default_is_every_ten_seconds(self):
        self.late_db(13, warmup="40s", warmup_interval="500ms")
        proc = self.gp("run", timeout=40)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        beats = lines_of(proc.stderr, "database", "still waiting:")
        self.assertEqual(len(beats), 1, proc.stderr)
        self.assertGreaterEqual(beats[0][0], 9.9)
        self.assertLess(beats[0][0], 13)

    def test_zero_turns_it_off(self):
        self.late_db(2.5, warmup="30s", warmup_interval="200ms")
        proc = self.gp("run", "--heartbeat", "0", timeout=30)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertNotIn("still waiting", proc.stderr)
        self.assertEqual(len(lines_of(proc.stderr, "database", "ok ")), 1)

    def test_in_retries_attempt_k_of_n_and_deadline_left(self):
        closed = self.listener("closed")
        self.write("conf.d/x.ini", """
            [database]
            plugin = tcp
            host = 127.0.0.1
            port = %d
            attempts = 3
            delay = 2500ms
            backoff = fixed
            jitter = 0
            """ % closed.port)
        proc = self.gp("run", "--heartbeat", "1s", "--deadline", "30s",
                       timeout=30)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        beats = lines_of(proc.stderr, "database", "still waiting:")
        # two gaps of 2.5 s: one or two lines in each
        self.assertGreaterEqual(len(beats), 2, proc.stderr)
        self.assertLessEqual(len(beats), 5, proc.stderr)
        for _, line in beats:
            self.assertRegex(line, r"still waiting: retry, 2\dm?s left, "
                             r"attempt [123]/3: transient: connection "
                             r"refused by 127\.0\.0\.1:%d$" % closed.port)

    def test_bad_duration_is_an_option_error(self):
        proc = self.gp("run", "--heartbeat", "10x")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("--heartbeat: unknown unit 'x'", proc.stderr)
        self.assertIn("units: ms, s, m, h", proc.stderr)
        self.assertIn("Try 'gpcheck run --help'", proc.stderr)

    def test_last_error_is_masked(self):
        web = HttpdProcess(self.tmp)
        self.addCleanup(web.stop)
        secret = "hb-Secret-7f3a9c"
        # 503 is not ready yet; the token in the URL is a secret the
        # message quotes
        url = web.url("/status/503?" + urllib.parse.urlencode(
            {"token": secret}))
        self.write("conf.d/x.ini", """
            [api]
            plugin = http
            url = %s
            warmup = 2500ms
            warmup_interval = 200ms
            attempts = 1
            """ % url)
        proc = self.gp("run", "--heartbeat", "1s", timeout=30)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        beats = lines_of(proc.stderr, "api", "still waiting:")
        self.assertGreaterEqual(len(beats), 1, proc.stderr)
        self.assertIn("***", beats[0][1])
        self.assertNotIn(secret, proc.stderr + proc.stdout)


class WarmupDampingTest(GpTestCase):
    def test_repeats_line_comes_when_the_warmup_ends(self):
        # Refused throughout: the warmup's repeats are counted, then the
        # counted attempts follow. The count belongs before them.
        closed = self.listener("closed")
        self.write("conf.d/x.ini", """
            [database]
            plugin = tcp
            host = 127.0.0.1
            port = %d
            warmup = 1500ms
            warmup_interval = 200ms
            attempts = 3
            delay = 300ms
            jitter = 0
            """ % closed.port)
        proc = self.gp("run", "--heartbeat", "0", timeout=30)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        lines = [l for l in proc.stderr.splitlines()
                 if re.match(STAMP + "database ", l)]
        rep = [i for i, l in enumerate(lines)
               if re.search(r"\(\d+ more warmup results? like the last\)", l)]
        att = [i for i, l in enumerate(lines) if "attempt 1/3" in l]
        self.assertEqual(len(rep), 1, proc.stderr)
        self.assertEqual(len(att), 1, proc.stderr)
        self.assertLess(rep[0], att[0], proc.stderr)
        n = int(re.search(r"\((\d+) more", lines[rep[0]]).group(1))
        self.assertGreaterEqual(n, 3)  # 1.5 s every 200 ms, minus the first
        self.assertLessEqual(n, 8)

    def test_ready_inside_the_warmup_says_it_at_the_end(self):
        late = self.listener("late", delay=3)
        self.write("conf.d/x.ini", """
            [database]
            plugin = tcp
            host = 127.0.0.1
            port = %d
            warmup = 20s
            warmup_interval = 200ms
            """ % late.port)
        proc = self.gp("run", "--heartbeat", "0", timeout=30)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        lines = [l for l in proc.stderr.splitlines()
                 if re.match(STAMP + "database ", l)]
        self.assertRegex(lines[-2], r"\(\d+ more warmup results like the "
                                    r"last\)$")
        self.assertRegex(lines[-1], r"database ok ")


if __name__ == "__main__":
    import unittest
    unittest.main()
