"""tests/integration/test_liveview.py - the live view as a person sees it,
captured from a real pseudo-terminal (tmux) at 80 and 160 columns while
probes wait on real loopback listeners (one starting late, one refusing):
the run line and header row, attempt k/n in warmup and in retries, no
line wider than the terminal, messages cut keeping their end, the final
table, and colours only when asked (--color, FORCE_COLOR, NO_COLOR)."""

import json
import os
import re
import shutil
import subprocess
import unittest

from gp import BIN, GpTestCase, wait_until

COLOR = re.compile(r"\x1b\[[0-9;]*m")


@unittest.skipUnless(shutil.which("tmux"), "tmux is needed for a terminal")
class LiveViewTest(GpTestCase):
    def setUp(self):
        super().setUp()
        self.session = "gpcheck-live-%d" % os.getpid()
        self.addCleanup(subprocess.run, ["tmux", "kill-session", "-t",
                                         self.session], capture_output=True)
        # late enough that the database is still in its warmup while the
        # cache retries, on a loaded machine too
        self.late = self.listener("late", delay=6)
        self.closed = self.listener("closed")
        self.write("conf.d/x.ini", """
            [database]
            plugin = tcp
            host = 127.0.0.1
            port = %d
            warmup = 30s
            warmup_interval = 500ms

            [cache-with-a-longer-name]
            plugin = tcp
            host = 127.0.0.1
            port = %d
            severity = optional
            attempts = 4
            delay = 1s
            backoff = fixed
            jitter = 0
            """ % (self.late.port, self.closed.port))
        self.report = os.path.join(self.tmp, "r.json")

    def start(self, cols, env="", extra=""):
        cmd = "%s %s run --conf-dir %s --plugin-dir %s --deadline 2m " \
              "-o json:%s %s; echo EXIT=$?; sleep 60" % (
                  env, BIN, self.confd, os.environ["GPCHECK_TEST_PLUGINS"],
                  self.report, extra)
        subprocess.run(["tmux", "new-session", "-d", "-s", self.session,
                        "-x", str(cols), "-y", "30", cmd], check=True)

    def screen(self, escapes=False):
        # -J joins wrapped lines: a line wider than the pane shows as one
        args = ["tmux", "capture-pane", "-p", "-J", "-t", self.session]
        if escapes:
            args.append("-e")
        return subprocess.run(args, capture_output=True, text=True).stdout

    def assert_fits(self, screen, cols):
        for line in screen.splitlines():
            self.assertLessEqual(len(line), cols, "%r in\n%s" % (line, screen))

    def watch(self, cols):
        """The screen while both probes wait, and once the run ended."""
        self.start(cols)
        self.assertTrue(wait_until(
            lambda: re.search(r"attempt [23]/4, next in", self.screen()), 10),
            self.screen())
        waiting = self.screen()
        self.assertTrue(wait_until(lambda: "EXIT=" in self.screen(), 20),
                        self.screen())
        return waiting, self.screen()

    def check_live(self, waiting, cols):
        # on 80 columns the name column is 16 wide: the name is cut too
        name = "cache-with-a-longer-name" if cols >= 100 else \
            r"cache\.\.\.ger-name"
        self.assert_fits(waiting, cols)
        self.assertRegex(waiting, r"(?m)^elapsed [\d.]+m?s, deadline "
                                  r"1m[\d.]+s left, 0 of 2 done$")
        self.assertRegex(waiting, r"(?m)^  PROBE +TIME  STATE +LAST RESULT$")
        self.assertRegex(waiting, r"(?m)^[|/\\-] database +[\d.]+m?s  warmup, "
                                  r"[\d.]+s left, try \d+/60 ")
        self.assertRegex(waiting, r"(?m)^[|/\\-] " + name + r" +"
                                  r"[\d.]+m?s  attempt [23]/4(, next in "
                                  r"[\d.]+m?s)? ")
        # the header comes before the probes
        self.assertLess(waiting.index("  PROBE"), waiting.index("database"))

    def check_end(self, end, cols):
        self.assert_fits(end, cols)
        self.assertIn("EXIT=0", end)
        self.assertIn("verdict: degraded (1 ok, 1 fail)", end)
        # the reports keep the full text
        with open(self.report) as f:
            doc = json.load(f)
        full = "connection refused by 127.0.0.1:%d" % self.closed.port
        self.assertEqual(self.probe(doc, "cache-with-a-longer-name")
                         ["message"], full)

    def test_80_columns(self):
        waiting, end = self.watch(80)
        self.check_live(waiting, 80)
        port = "127.0.0.1:%d" % self.closed.port
        row = [l for l in waiting.splitlines() if "ger-name" in l][0]
        # cut in the middle: the end, naming the address, stays
        self.assertRegex(row, r"\.\.\.(by )?%s$" % re.escape(port))
        self.check_end(end, 80)
        # the final table: no message mid-word across the edge; on 80
        # columns each message goes, whole, on its own line below its row
        table = end.split("\nPROBE ")[1]
        self.assertRegex(table, r"\ncache-with-a-longer-name +tcp +optional "
                                r"fail +4 +[\d.]+m?s\n    connection "
                                r"refused by %s\n" % re.escape(port))

    def test_160_columns(self):
        waiting, end = self.watch(160)
        self.check_live(waiting, 160)
        full = "connection refused by 127.0.0.1:%d" % self.closed.port
        row = [l for l in waiting.splitlines()
               if "cache-with-a-longer-name" in l][0]
        self.assertTrue(row.endswith(full), row)
        self.check_end(end, 160)
        self.assertRegex(end, r"\ncache-with-a-longer-name +tcp +optional "
                              r"fail +4 +[\d.]+m?s  %s\n" % re.escape(full))

    def test_colour_on_a_terminal_and_the_verdict_line(self):
        self.start(100)
        self.assertTrue(wait_until(lambda: "EXIT=" in self.screen(), 25))
        screen = self.screen(escapes=True)
        # tmux re-encodes SGR: bold yellow may come as \e[1m\e[33m
        self.assertRegex(screen, r"verdict: (\x1b\[[0-9;]*m)*\x1b\[(1;)?33m"
                                 r"(\x1b\[[0-9;]*m)*degraded\x1b\[0?m")
        self.assertTrue(COLOR.search(screen))

    def test_never_and_no_color(self):
        base = self.session
        for i, (env, extra) in enumerate((("", "--color=never"),
                                          ("NO_COLOR=1", ""))):
            with self.subTest(env=env, extra=extra):
                self.session = "%s-%d" % (base, i)
                self.addCleanup(subprocess.run, ["tmux", "kill-session", "-t",
                                                 self.session],
                                capture_output=True)
                self.start(100, env=env, extra=extra)
                self.assertTrue(wait_until(lambda: "EXIT=" in self.screen(),
                                           25))
                screen = self.screen(escapes=True)
                self.assertIn("verdict: degraded", screen)
                self.assertEqual(re.findall(r"\x1b\[[0-9;]*3\dm", screen), [])


class ColourWithoutTerminalTest(GpTestCase):
    """Piped stderr: colour only when asked for."""

    def setUp(self):
        super().setUp()
        up = self.listener("accept")
        self.write("conf.d/x.ini", "[web]\nplugin = tcp\nhost = 127.0.0.1\n"
                   "port = %d\n" % up.port)

    def test_only_when_asked(self):
        cases = [((), {}, False),
                 (("--color=always",), {}, True),
                 ((), {"FORCE_COLOR": "1"}, True),
                 ((), {"FORCE_COLOR": "0"}, False),
                 (("--color=never",), {"FORCE_COLOR": "1"}, False),
                 ((), {"FORCE_COLOR": "1", "NO_COLOR": "1"}, True),
                 (("--color=always",), {"NO_COLOR": "1"}, True),
                 (("--color=auto",), {}, False)]
        for args, env, want in cases:
            with self.subTest(args=args, env=env):
                full = {"NO_COLOR": "", "FORCE_COLOR": ""}
                full.update(env)
                proc = self.gp("run", *args, env=full)
                self.assertEqual(proc.returncode, 0, proc.stderr)
                if want:
                    self.assertIn("verdict: \x1b[1;32mpass\x1b[0m",
                                  proc.stderr)
                    self.assertIn("\x1b[32mok", proc.stderr)
                else:
                    self.assertNotIn("\x1b[", proc.stderr)
                    self.assertIn("verdict: pass", proc.stderr)

    def test_bad_value_is_an_option_error(self):
        proc = self.gp("run", "--color=sometimes")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("--color sometimes: expected auto, always or never",
                      proc.stderr)


if __name__ == "__main__":
    unittest.main()
