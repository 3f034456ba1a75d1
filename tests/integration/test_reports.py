"""tests/integration/test_reports.py - every report format from a real run,
checked by its own consumer's tool: JUnit by xmllint against the Jenkins
junit-10 schema, TAP by prove, Prometheus by promtool, Nagios by the plugin
guidelines' grammar, JSON Lines line by line; and the live progress view
on a real terminal (tmux), as a person would see it."""

import json
import os
import re
import shutil
import subprocess
import time
import unittest

from gp import BIN, GpTestCase, wait_until

SCHEMA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                      "schemas", "junit-10.xsd")


class ReportTest(GpTestCase):
    def setUp(self):
        super().setUp()
        up = self.listener("accept")
        down = self.listener("closed")
        self.write("conf.d/x.ini", """
            [web]
            plugin = tcp
            host = 127.0.0.1
            port = %d
            warn_if = connect_time > 1h

            [db]
            plugin = tcp
            host = 127.0.0.1
            port = %d
            attempts = 2
            delay = 10ms

            [metrics]
            plugin = misbehave
            mode = degraded

            [ready-later]
            plugin = misbehave
            mode = ok
            after = db
            """ % (up.port, down.port))
        self.out = lambda name: os.path.join(self.tmp, name)

    def run_all(self, *extra):
        return self.gp("run", "-q", "-o", "junit:" + self.out("r.xml"),
                       "-o", "tap:" + self.out("r.tap"),
                       "-o", "prometheus:" + self.out("r.prom"),
                       "-o", "nagios:" + self.out("r.nagios"),
                       "-o", "jsonl:" + self.out("r.jsonl"),
                       "-o", "json:" + self.out("r.json"), *extra)

    def test_junit_validates_against_the_schema(self):
        proc = self.run_all()
        self.assertEqual(proc.returncode, 1, proc.stderr)
        check = subprocess.run(["xmllint", "-noout", "-schema", SCHEMA,
                                self.out("r.xml")], capture_output=True,
                               text=True)
        self.assertEqual(check.returncode, 0, check.stderr)
        with open(self.out("r.xml")) as f:
            xml = f.read()
        self.assertEqual(xml.count('<testsuite name="gpcheck"'), 1)
        self.assertEqual(xml.count("<testcase "), 4)
        self.assertRegex(xml, r'<testcase name="db" classname="tcp" '
                              r'time="[\d.]+">\s*<failure type="fail"')
        self.assertRegex(xml, r'<testcase name="ready-later" '
                              r'classname="misbehave"[^>]*>\s*<skipped')
        self.assertIn('<property name="verdict" value="fail"/>', xml)
        self.assertIn('<property name="warning.metrics"', xml)
        self.assertRegex(xml, r"<system-out>attempt 1: transient")

    def test_tap_passes_prove(self):
        proc = self.run_all()
        self.assertEqual(proc.returncode, 1)
        prove = subprocess.run(["prove", "-v", "-e", "cat",
                                self.out("r.tap")], capture_output=True,
                               text=True, timeout=60)
        # db and the required probe skipped after it fail the gate: prove
        # sees exactly those failures, and no parse error
        self.assertNotIn("Parse errors", prove.stdout)
        self.assertIn("Failed tests:  2, 4", prove.stdout)
        self.assertNotEqual(prove.returncode, 0)
        with open(self.out("r.tap")) as f:
            tap = f.read()
        self.assertTrue(tap.startswith("TAP version 13\n1..4\n"))
        self.assertIn("ok 3 - metrics", tap)  # warn is not a failure
        self.assertIn("status: warn", tap)

    def test_tap_of_a_passing_run_passes_prove(self):
        proc = self.gp("run", "-q", "-p", "web", "-p", "metrics",
                       "-o", "tap:" + self.out("ok.tap"))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        prove = subprocess.run(["prove", "-e", "cat", self.out("ok.tap")],
                               capture_output=True, text=True, timeout=60)
        self.assertEqual(prove.returncode, 0, prove.stdout)
        self.assertIn("Result: PASS", prove.stdout)

    def test_prometheus_passes_promtool(self):
        self.run_all()
        with open(self.out("r.prom")) as f:
            text = f.read()
        check = subprocess.run(["promtool", "check", "metrics"], input=text,
                               capture_output=True, text=True, timeout=60)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        self.assertIn('gpcheck_probe_up{probe="web",plugin="tcp"} 1', text)
        self.assertIn('gpcheck_probe_up{probe="db",plugin="tcp"} 0', text)
        self.assertIn('gpcheck_probe_status{probe="db",plugin="tcp",'
                      'status="fail"} 1', text)
        self.assertIn('gpcheck_verdict{verdict="fail"} 1', text)
        self.assertIn('gpcheck_probe_attempts{probe="db",plugin="tcp"} 2',
                      text)
        self.assertRegex(text, r'gpcheck_probe_metric\{probe="web",'
                               r'plugin="tcp",metric="connect_time",'
                               r'unit="ms"\} [\d.e-]+')
        self.assertRegex(text, r"gpcheck_run_timestamp_seconds 1\d{9}\.\d+")
        # written atomically: no temporary file left behind
        leftovers = [n for n in os.listdir(self.tmp) if ".tmp." in n]
        self.assertEqual(leftovers, [])

    def test_nagios_line_and_exit_codes(self):
        self.run_all()
        with open(self.out("r.nagios")) as f:
            line = f.read()
        self.assertEqual(line.count("\n"), 1)
        self.assertRegex(line, r"^GPCHECK CRITICAL - fail: required probe "
                               r"'db' is fail \(.*\) \| ")
        perf = line.split(" | ", 1)[1].split()
        for item in perf:
            self.assertRegex(item, r"^'[^']+'=-?[\d.]+(e[+-]?\d+)?"
                                   r"(s|ms|%|B)?$")
        self.assertIn("'db.duration'", line)
        # --nagios: the exit status is Nagios' too
        proc = self.gp("run", "-q", "--nagios", "-p", "web")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertTrue(proc.stdout.startswith("GPCHECK OK - pass"))
        proc = self.gp("run", "-q", "--nagios", "-p", "metrics")
        self.assertEqual(proc.returncode, 1)
        self.assertTrue(proc.stdout.startswith("GPCHECK WARNING - degraded"))
        proc = self.gp("run", "-q", "--nagios")
        self.assertEqual(proc.returncode, 2)
        proc = self.gp("run", "--nagios", "--", "true")
        self.assertEqual(proc.returncode, 2)

    def test_jsonl_event_stream(self):
        self.run_all()
        with open(self.out("r.jsonl")) as f:
            events = [json.loads(line) for line in f]
        kinds = [e["event"] for e in events]
        self.assertEqual(kinds[0], "run_start")
        self.assertEqual(kinds[-1], "run_end")
        self.assertEqual(events[-1]["verdict"], "fail")
        db = [e for e in events
              if e.get("probe") == "db" and e["event"] != "log"]
        self.assertEqual([e["event"] for e in db],
                         ["probe_start", "attempt_start", "attempt_end",
                          "attempt_start", "attempt_end", "probe_end"])
        self.assertIn("next_in_ms", db[2])
        self.assertEqual(db[-1]["status"], "fail")
        times = [e["t_ms"] for e in events]
        self.assertEqual(times, sorted(times))
        waits = [e for e in events if e["event"] == "probe_wait"]
        self.assertEqual([e["probe"] for e in waits], ["ready-later"])

    def test_jsonl_to_stdout_is_live(self):
        args = self.base_args("run") + ["-q", "-o", "jsonl", "-p", "db"]
        proc = subprocess.Popen(args, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True,
                                cwd=self.tmp)
        first = proc.stdout.readline()  # arrives before the run ends
        self.assertEqual(json.loads(first)["event"], "run_start")
        proc.communicate(timeout=30)

    def test_unwritable_report_is_a_usage_error(self):
        # Found before anything is probed (exit 2), not after the run.
        blocker = self.write("blocker", "a file where a folder should be\n")
        proc = self.gp("run", "-q", "-p", "web", "-o",
                       "junit:%s/r.xml" % blocker)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("blocker/r.xml: cannot be examined: Not a directory",
                      proc.stderr)

    def test_report_folders_are_created(self):
        path = os.path.join(self.tmp, "reports", "ci", "gpcheck.xml")
        proc = self.gp("run", "-q", "-p", "web", "-o", "junit:" + path,
                       "-o", "jsonl:" + path + "l")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertTrue(os.path.exists(path))
        self.assertTrue(os.path.exists(path + "l"))


@unittest.skipUnless(shutil.which("tmux"), "tmux is needed for a terminal")
class ProgressTest(GpTestCase):
    """The live view on a real terminal, captured as a person sees it."""

    def setUp(self):
        super().setUp()
        self.session = "gpcheck-test-%d" % os.getpid()
        self.addCleanup(subprocess.run, ["tmux", "kill-session", "-t",
                                         self.session],
                        capture_output=True)

    def screen(self, escapes=False):
        args = ["tmux", "capture-pane", "-p", "-t", self.session]
        if escapes:
            args.append("-e")
        return subprocess.run(args, capture_output=True, text=True).stdout

    def start(self, env=""):
        late = self.listener("late", delay=2.5)
        up = self.listener("accept")
        self.write("conf.d/x.ini", """
            [database]
            plugin = tcp
            host = 127.0.0.1
            port = %d
            warmup = 30s

            [api]
            plugin = tcp
            host = 127.0.0.1
            port = %d
            after = database
            """ % (late.port, up.port))
        cmd = "%s %s run --conf-dir %s; echo EXIT=$?; sleep 60" % (
            env, BIN, self.confd)
        subprocess.run(["tmux", "new-session", "-d", "-s", self.session,
                        "-x", "100", "-y", "24", cmd], check=True)

    def test_warmup_is_visible_then_summary_stays(self):
        self.start()
        self.assertTrue(wait_until(lambda: "warmup," in self.screen(), 5))
        screen = self.screen()
        self.assertRegex(screen, r"database +[\d.]+m?s +warmup, \d+s left")
        self.assertIn("connection refused by 127.0.0.1", screen)
        self.assertRegex(screen, r"api +0ms +waiting on database")
        self.assertRegex(screen, r"(?m)^[|/\\-] database")  # the spinner
        self.assertTrue(wait_until(lambda: "EXIT=" in self.screen(), 15))
        screen = self.screen()
        self.assertIn("EXIT=0", screen)
        self.assertIn("verdict: pass (2 ok)", screen)
        self.assertRegex(screen, r"(?m)^  database +[\d.]+s +ok")
        # redrawn in place: each probe appears once in the live region
        region = screen.split("\nPROBE ")[0]  # above the final table
        self.assertEqual(region.count("database"), 1)
        self.assertIn("\x1b[", self.screen(escapes=True))  # coloured

    def test_no_color(self):
        self.start(env="NO_COLOR=1")
        self.assertTrue(wait_until(lambda: "EXIT=" in self.screen(), 15))
        colored = re.findall(r"\x1b\[3\dm", self.screen(escapes=True))
        self.assertEqual(colored, [])

    def test_plain_lines_when_not_a_terminal(self):
        late = self.listener("late", delay=0.5)
        self.write("conf.d/x.ini", """
            [database]
            plugin = tcp
            host = 127.0.0.1
            port = %d
            warmup = 10s
            """ % late.port)
        proc = self.gp("run")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertNotIn("\x1b[", proc.stderr)
        self.assertRegex(proc.stderr, r"\[ +[\d.]+s\] database +warmup, "
                                      r"[\d.]+s left: transient")
        self.assertRegex(proc.stderr, r"\[ +[\d.]+s\] database +ok ")


if __name__ == "__main__":
    unittest.main()
