"""tests/integration/test_supervise.py - `run --supervise -- CMD` against
a plain `run -- CMD` (exec): the same exit statuses as a shell reports
them, the same GPCHECK_VERDICT, signals sent to gpcheck reaching CMD, and
the command's outcome in the history."""

import os
import signal
import sqlite3
import subprocess
import time
import unittest

from gp import GpTestCase, pid_alive, wait_until


def shell_status(rc):
    """Popen's returncode as a shell's $? reads it (killed by N: 128+N)."""
    return 128 - rc if rc < 0 else rc


# name, shell command (READY: a file it creates once running), the signal
# the test sends to gpcheck's pid after READY (or None), the status a shell
# reports for both modes.
CASES = [
    ("exit 0", "exit 0", None, 0),
    ("exit 1", "exit 1", None, 1),
    ("exit 77", "exit 77", None, 77),
    ("killed by SIGTERM", "kill -TERM $$", None, 143),
    ("SIGINT forwarded", "touch READY; exec sleep 30", signal.SIGINT, 130),
    ("SIGTERM forwarded", "touch READY; exec sleep 30", signal.SIGTERM, 143),
    ("SIGHUP forwarded", "touch READY; exec sleep 30", signal.SIGHUP, 129),
    ("SIGINT trapped", "trap 'exit 42' INT; touch READY; "
     "while :; do sleep 0.1; done", signal.SIGINT, 42),
]


class SuperviseTest(GpTestCase):
    def setUp(self):
        super().setUp()
        self.write("conf.d/ok.ini", """
            [ok]
            plugin = exec
            command = true
            """)
        self.db = os.path.join(self.tmp, "h.db")

    def start(self, supervise, script):
        args = self.base_args("run") + ["-q", "--history", self.db]
        if supervise:
            args.append("--supervise")
        args += ["--", "sh", "-c",
                 'echo "$GPCHECK_VERDICT" > VERDICT; ' + script]
        env = dict(os.environ)
        env.pop("GPCHECK_ENV", None)
        return subprocess.Popen(args, cwd=self.tmp, env=env,
                                stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def outcome(self, supervise, script, sig):
        ready = os.path.join(self.tmp, "READY")
        for name in ("READY", "VERDICT"):
            if os.path.exists(os.path.join(self.tmp, name)):
                os.unlink(os.path.join(self.tmp, name))
        proc = self.start(supervise, script)
        try:
            if sig is not None:
                self.assertTrue(wait_until(lambda: os.path.exists(ready), 30),
                                "the command never started")
                time.sleep(0.2)  # into `sleep` / the trap loop
                os.kill(proc.pid, sig)
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        with open(os.path.join(self.tmp, "VERDICT")) as f:
            verdict = f.read().strip()
        return shell_status(proc.returncode), verdict, err

    def test_statuses_match_a_plain_exec(self):
        for name, script, sig, want in CASES:
            with self.subTest(name):
                exe = self.outcome(False, script, sig)
                sup = self.outcome(True, script, sig)
                self.assertEqual(exe[0], want, "exec: " + exe[2])
                self.assertEqual(sup[0], want, "supervise: " + sup[2])
                self.assertEqual(exe[1], "pass")
                self.assertEqual(sup[1], exe[1])
        # Every supervised run's command outcome is in the history; the
        # exec'd ones have none (gpcheck was gone when they ended).
        con = sqlite3.connect(self.db)
        rows = con.execute("SELECT cmd_exit, cmd_signal, cmd_duration_ms"
                           " FROM runs ORDER BY id").fetchall()
        con.close()
        self.assertEqual(len(rows), 2 * len(CASES))
        for (name, script, sig, want), exe, sup in zip(CASES, rows[0::2],
                                                       rows[1::2]):
            self.assertEqual(exe, (None, None, None), name)
            self.assertEqual(sup[0], want, name)
            killed = {"killed by SIGTERM": 15, "SIGINT forwarded": 2,
                      "SIGTERM forwarded": 15, "SIGHUP forwarded": 1}
            self.assertEqual(sup[1], killed.get(name), name)
            self.assertGreater(sup[2], 0, name)
        self.assertGreaterEqual(rows[9][2], 200)  # waited for the signal

    def test_the_whole_process_group_gets_the_signal(self):
        # A test runner's own children (here a background sleep) get the
        # forwarded signal too, as from a shell's Ctrl-C.
        script = "sleep 30 & echo $! > BG; touch READY; wait"
        proc = self.start(True, script)
        try:
            self.assertTrue(wait_until(
                lambda: os.path.exists(os.path.join(self.tmp, "READY")), 30))
            with open(os.path.join(self.tmp, "BG")) as f:
                bg = int(f.read())
            os.kill(proc.pid, signal.SIGTERM)
            proc.communicate(timeout=60)
            self.assertEqual(proc.returncode, 143)
            self.assertTrue(wait_until(lambda: not pid_alive(bg), 10),
                            "the background child kept running")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    def test_a_command_that_cannot_run(self):
        proc = self.gp("run", "-q", "--supervise", "--",
                       os.path.join(self.tmp, "missing"))
        self.assertEqual(proc.returncode, 127)
        self.assertIn("cannot run", proc.stderr)

    def test_usage(self):
        proc = self.gp("run", "--supervise")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("--supervise needs a command after --", proc.stderr)
        proc = self.gp("run", "--recheck", "--", "true")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("--recheck works with --supervise", proc.stderr)


if __name__ == "__main__":
    unittest.main()
