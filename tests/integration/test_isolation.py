"""tests/integration/test_isolation.py - a plugin that crashes, hangs,
spins, lies or leaves processes behind gets a precise status within its
timeout, the other probes are untouched, and nothing outlives gpcheck."""

import os
import signal
import subprocess
import time
import unittest

from gp import GRACE, GpTestCase, pid_alive, wait_until

# ASan would catch the test plugin's SIGSEGV itself and exit(1); the test
# wants the real signal, as in a normal build.
ASAN = {"ASAN_OPTIONS": "handle_segv=0:handle_abort=0:detect_leaks=0"}


class MisbehaveTest(GpTestCase):
    TIMEOUT = 1.0

    def run_mode(self, mode, extra=""):
        """One misbehaving probe beside two healthy ones."""
        self.write("conf.d/x.ini", """
            [bad]
            plugin = misbehave
            mode = %s
            timeout = %gs
            attempts = 1
            %s

            [good1]
            plugin = misbehave
            mode = ok

            [good2]
            plugin = misbehave
            mode = slow
            sleep = 300ms
            """ % (mode, self.TIMEOUT, extra))
        proc, doc, took = self.run_json(env=ASAN)
        self.assertIsNotNone(doc, proc.stderr)
        # The healthy probes are untouched by the neighbour's behaviour.
        good1 = self.probe(doc, "good1")
        self.assertEqual(good1["status"], "ok")
        self.assertEqual(good1["metrics"], {"value": 42})
        self.assertEqual(self.probe(doc, "good2")["status"], "ok")
        self.assertLess(took, self.TIMEOUT + GRACE)
        return proc, self.probe(doc, "bad")

    def test_giving_up_at_the_deadline_is_a_timeout(self):
        # A timer a few ms early (libcurl's, under load) still used all the
        # attempt's time: timeout. Giving up well before it is not.
        _, bad = self.run_mode("early", "sleep = 3ms")
        self.assertEqual(bad["status"], "timeout", bad)
        self.assertIn("gave up 3 ms early", bad["message"])
        _, bad = self.run_mode("early", "sleep = 300ms")
        self.assertEqual(bad["status"], "fail", bad)

    def test_segfault(self):
        proc, bad = self.run_mode("segv")
        self.assertEqual(bad["status"], "error")
        self.assertIn("killed by SIGSEGV", bad["message"])
        self.assertEqual(proc.returncode, 1)

    def test_abort(self):
        _, bad = self.run_mode("abort")
        self.assertEqual(bad["status"], "error")
        self.assertIn("killed by SIGABRT", bad["message"])

    def test_hang_ignoring_deadline(self):
        pids = os.path.join(self.tmp, "pids")
        _, bad = self.run_mode("hang", "arg = " + pids)
        self.assertEqual(bad["status"], "timeout")
        self.assertIn("timed out", bad["message"])
        self.assertGreaterEqual(bad["duration_ms"], self.TIMEOUT * 1000 - 50)
        self.assert_all_gone(pids)

    def test_spin(self):
        pids = os.path.join(self.tmp, "pids")
        _, bad = self.run_mode("spin", "arg = " + pids)
        self.assertEqual(bad["status"], "timeout")
        self.assert_all_gone(pids)

    def test_exit_without_result(self):
        _, bad = self.run_mode("exit")
        self.assertEqual(bad["status"], "error")
        self.assertIn("without a result", bad["message"])

    def test_garbage_on_result_pipe(self):
        _, bad = self.run_mode("garbage")
        self.assertEqual(bad["status"], "error")
        self.assertIn("garbage", bad["message"])

    def test_grandchild_holding_the_pipe(self):
        pids = os.path.join(self.tmp, "pids")
        _, bad = self.run_mode("grandchild", "arg = " + pids)
        # The attempt itself reported ready; its leftover was killed.
        self.assertEqual(bad["status"], "ok")
        self.assertLess(bad["duration_ms"], self.TIMEOUT * 1000)
        self.assert_all_gone(pids)

    def test_setsid_grandchild_is_swept(self):
        pids = os.path.join(self.tmp, "pids")
        _, bad = self.run_mode("escape", "arg = " + pids)
        self.assertEqual(bad["status"], "ok")
        self.assert_all_gone(pids)

    def test_unknown_outcome_is_error(self):
        _, bad = self.run_mode("unknown")
        self.assertEqual(bad["status"], "error")

    def assert_all_gone(self, pidfile):
        with open(pidfile) as f:
            pids = [int(x) for x in f.read().split()]
        self.assertTrue(pids)
        for pid in pids:
            self.assertFalse(pid_alive(pid), "pid %d survived gpcheck" % pid)


class SignalTest(GpTestCase):
    def start(self, *extra):
        args = self.base_args("run") + list(extra)
        return subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, cwd=self.tmp, env=dict(os.environ, **ASAN))

    def interrupt_during_warmup(self, sig, code):
        pids = os.path.join(self.tmp, "pids")
        closed = self.listener("closed")
        self.write("conf.d/x.ini", """
            [db]
            plugin = tcp
            host = 127.0.0.1
            port = %d
            warmup = 60s

            [stuck]
            plugin = misbehave
            mode = hang
            arg = %s
            timeout = 60s
            """ % (closed.port, pids))
        report = os.path.join(self.tmp, "report.json")
        proc = self.start("-o", "json:" + report)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        self.assertTrue(wait_until(lambda: os.path.exists(pids), 10))
        time.sleep(0.3)
        proc.send_signal(sig)
        try:
            out, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            self.fail("gpcheck did not exit after the signal")
        self.assertEqual(proc.returncode, code, err)
        with open(pids) as f:
            for pid in [int(x) for x in f.read().split()]:
                self.assertFalse(pid_alive(pid), "pid %d survived" % pid)
        # The report of what is known was written.
        import json
        with open(report) as f:
            doc = json.load(f)
        self.assertEqual(doc["exit_code"], code)
        self.assertIn("interrupted", err)
        return doc

    def test_sigterm_during_warmup(self):
        doc = self.interrupt_during_warmup(signal.SIGTERM, 143)
        statuses = {p["name"]: p["status"] for p in doc["probes"]}
        self.assertEqual(statuses["stuck"], "error")

    def test_sigint(self):
        self.interrupt_during_warmup(signal.SIGINT, 130)

    def test_no_zombies_after_many_attempts(self):
        # 40 probes x 3 quick transient attempts; gpcheck must reap them all
        # (a child of ours that it forgot would be a zombie under it).
        self.write("conf.d/x.ini", "".join("""
            [p%d]
            plugin = misbehave
            mode = transient
            delay = 10ms
            """ % i for i in range(40)))
        proc = self.start("-q", "--", "sleep", "30")
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 1)


class SubprocessGateTest(GpTestCase):
    def test_exec_leaves_no_attempt_children(self):
        self.write("conf.d/x.ini", """
            [ok]
            plugin = misbehave
            mode = grandchild
            """)
        # After exec, the command (a shell) lists its own children: none of
        # the probes' processes may be there.
        proc = self.gp("run", "-q", "--", "sh", "-c",
                       "read -r c < /proc/$$/task/$$/children; echo \"$c\"")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout.strip(), "")


if __name__ == "__main__":
    unittest.main()
