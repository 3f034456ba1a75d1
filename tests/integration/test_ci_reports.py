"""tests/integration/test_ci_reports.py - the reports a CI check reads when
the configuration is broken (every -o report written, exit 2), `validate
-o json`, and `-o github`: workflow-command annotations checked line by
line, and the Markdown summary appended to $GITHUB_STEP_SUMMARY. JUnit is
validated by xmllint against the Jenkins junit-10 schema, TAP by prove;
the probes run against real loopback listeners."""

import json
import os
import re
import subprocess
import time
import xml.etree.ElementTree as ET

from gp import GpTestCase

SCHEMA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                      "schemas", "junit-10.xsd")
FORMATS = ("json", "jsonl", "junit", "tap", "prometheus", "nagios", "text",
           "github")


class BrokenConfigTest(GpTestCase):
    def setUp(self):
        super().setUp()
        # two errors on known lines, in a file whose name needs escaping
        # in a workflow command's property (',' and ':')
        self.bad = self.write("conf.d/a,b:c.ini", """
            [db]
            plugin = tcp
            host = 127.0.0.1
            port = 50%
            frobnicate = 1
            """)
        self.rel = os.path.relpath(self.bad, self.tmp)
        self.want = ["%s:4: probe 'db': port: invalid integer '50%%'"
                     % self.rel,
                     "%s:5: unknown key 'frobnicate' in probe 'db'"
                     % self.rel]

    def out(self, name):
        return os.path.join(self.tmp, "out", name)

    def run_all(self, cmd="run", env=None):
        args = []
        for fmt in FORMATS:
            args += ["-o", "%s:%s" % (fmt, self.out("r." + fmt))]
        return self.gp(cmd, "--conf-dir", "conf.d", *args, env=env)

    def read(self, fmt):
        with open(self.out("r." + fmt)) as f:
            return f.read()

    def base_args(self, cmd):
        # conf.d relative to the folder gpcheck runs in, as in a CI job:
        # the annotations name files as the repository does
        args = super().base_args(cmd)
        if "--conf-dir" in args:
            i = args.index("--conf-dir")
            del args[i:i + 2]
        return args

    def test_every_report_is_written_with_the_diagnostics(self):
        t0 = time.monotonic()
        proc = self.run_all()
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertLess(time.monotonic() - t0, 10)
        for line in self.want:
            self.assertIn(line + "\n", proc.stderr)
        for fmt in FORMATS:
            self.assertTrue(os.path.exists(self.out("r." + fmt)), fmt)
        # JUnit: one testcase, "configuration", failed with each FILE:LINE
        check = subprocess.run(["xmllint", "-noout", "-schema", SCHEMA,
                                self.out("r.junit")], capture_output=True,
                               text=True)
        self.assertEqual(check.returncode, 0, check.stderr)
        root = ET.parse(self.out("r.junit")).getroot()
        cases = root.findall("./testsuite/testcase")
        self.assertEqual([c.get("name") for c in cases], ["configuration"])
        failure = cases[0].find("failure")
        self.assertEqual(failure.get("type"), "configuration")
        self.assertEqual(failure.get("message"),
                         "2 configuration errors; nothing was probed")
        self.assertEqual(failure.text.splitlines(), self.want)
        self.assertEqual(root.get("failures"), "1")
        # JSON: the diagnostics array
        doc = json.loads(self.read("json"))
        self.assertEqual(doc["verdict"], "error")
        self.assertEqual(doc["exit_code"], 2)
        self.assertIs(doc["valid"], False)
        self.assertEqual(doc["probes"], [])
        self.assertEqual(doc["diagnostics"], [
            {"file": self.rel, "line": 4, "severity": "error",
             "message": "probe 'db': port: invalid integer '50%'"},
            {"file": self.rel, "line": 5, "severity": "error",
             "message": "unknown key 'frobnicate' in probe 'db'"}])
        # JSON Lines: one line, the same array
        lines = self.read("jsonl").splitlines()
        self.assertEqual(len(lines), 1)
        ev = json.loads(lines[0])
        self.assertEqual(ev["event"], "diagnostics")
        self.assertEqual(ev["diagnostics"], doc["diagnostics"])
        # TAP: one failed test that prove parses
        prove = subprocess.run(["prove", "-e", "cat", self.out("r.tap")],
                               capture_output=True, text=True, timeout=60)
        self.assertNotIn("Parse errors", prove.stdout)
        self.assertIn("Failed test:  1\n", prove.stdout)
        tap = self.read("tap")
        for line in self.want:
            self.assertIn('    - error: "%s"\n' % line, tap)
        # Prometheus, Nagios, text
        self.assertIn("\ngpcheck_config_errors 2\n", self.read("prometheus"))
        self.assertEqual(self.read("nagios"),
                         "GPCHECK CRITICAL - 2 configuration errors: %s\n"
                         % self.want[0])
        self.assertEqual(self.read("text").splitlines(), self.want + [
            "gpcheck: 2 configuration errors; nothing was probed"])
        # GitHub: one annotation per diagnostic, escaped, then the count
        esc = self.rel.replace(",", "%2C").replace(":", "%3A")
        self.assertEqual(self.read("github").splitlines(), [
            "::error file=%s,line=4::probe 'db': port: invalid integer "
            "'50%%25'" % esc,
            "::error file=%s,line=5::unknown key 'frobnicate' in probe 'db'"
            % esc,
            "::error title=gpcheck::2 configuration errors; nothing was "
            "probed"])

    def test_github_to_stdout_and_the_step_summary(self):
        summary = os.path.join(self.tmp, "summary.md")
        with open(summary, "w") as f:
            f.write("earlier step\n")
        proc = self.gp("run", "--conf-dir", "conf.d", "-o", "github",
                       env={"GITHUB_STEP_SUMMARY": summary})
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertEqual(len(proc.stdout.splitlines()), 3, proc.stdout)
        self.assertTrue(proc.stdout.startswith("::error file="))
        with open(summary) as f:
            md = f.read().splitlines()
        self.assertEqual(md[0], "earlier step")  # appended, not replaced
        self.assertEqual(md[1], "### gpcheck: configuration errors, "
                                "nothing was probed")
        self.assertIn("| File | Line | Severity | Message |", md)
        self.assertIn("| %s | 5 | error | unknown key 'frobnicate' in "
                      "probe 'db' |" % self.rel, md)

    def test_validate_writes_the_diagnostics_document(self):
        proc = self.gp("validate", "--conf-dir", "conf.d", "-o",
                       "json:" + self.out("v.json"))
        self.assertEqual(proc.returncode, 2, proc.stderr)
        with open(self.out("v.json")) as f:
            doc = json.load(f)
        self.assertEqual([d["line"] for d in doc["diagnostics"]], [4, 5])
        # and to stdout
        proc = self.gp("validate", "--conf-dir", "conf.d", "-o", "json")
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertEqual(json.loads(proc.stdout)["diagnostics"],
                         doc["diagnostics"])

    def test_unwritable_report_is_refused_before_probing(self):
        os.unlink(self.bad)
        late = self.listener("late", delay=30)
        self.write("conf.d/x.ini", """
            [db]
            plugin = tcp
            host = 127.0.0.1
            port = %d
            warmup = 20s
            """ % late.port)
        blocker = self.write("blocker", "a file where a folder should be\n")
        t0 = time.monotonic()
        proc = self.gp("run", "--conf-dir", "conf.d", "-o",
                       "json:%s/r.json" % blocker)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertLess(time.monotonic() - t0, 5)
        self.assertIn("blocker/r.json: cannot be examined", proc.stderr)


class ValidateTest(GpTestCase):
    def test_valid_configuration_with_a_warning(self):
        up = self.listener("accept")
        self.write("conf.d/x.ini", """
            [web]
            plugin = tcp
            host = 127.0.0.1
            port = %d
            timeout = 5s
            """ % up.port)
        out = os.path.join(self.tmp, "v.json")
        proc = self.gp("validate", "--deadline", "1s", "-o", "json:" + out)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        with open(out) as f:
            doc = json.load(f)
        self.assertIs(doc["valid"], True)
        self.assertEqual(doc["exit_code"], 0)
        self.assertNotIn("verdict", doc)
        self.assertEqual(len(doc["diagnostics"]), 1, doc)
        d = doc["diagnostics"][0]
        self.assertEqual(d["severity"], "warning")
        self.assertEqual((d["file"], d["line"]),
                         (os.path.join(self.confd, "x.ini"), 5))
        self.assertIn("longer than the run's deadline", d["message"])

    def test_to_stdout_is_only_the_document(self):
        self.write("conf.d/x.ini", "[web]\nplugin = tcp\nhost = 127.0.0.1\n"
                   "port = 1\n")
        proc = self.gp("validate", "-o", "json")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(json.loads(proc.stdout)["valid"], True)
        self.assertIn("configuration OK: 1 probe", proc.stderr)

    def test_unwritable_path_is_an_error(self):
        self.write("conf.d/x.ini", "[web]\nplugin = tcp\nhost = 127.0.0.1\n"
                   "port = 1\n")
        blocker = self.write("blocker", "a file\n")
        proc = self.gp("validate", "-o", "junit:%s/v.xml" % blocker)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("cannot be examined", proc.stderr)
        self.assertNotIn("configuration OK", proc.stdout + proc.stderr)

    def test_unknown_format_is_an_error(self):
        self.write("conf.d/x.ini", "[web]\nplugin = tcp\nhost = 127.0.0.1\n"
                   "port = 1\n")
        proc = self.gp("validate", "-o", "jsno")
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("-o jsno: unknown format (known: text, json", proc.stderr)


class GithubRunTest(GpTestCase):
    """Annotations for the probes of a real run, and its summary table."""

    def setUp(self):
        super().setUp()
        self.up = self.listener("accept")
        self.down = self.listener("closed")
        self.write("conf.d/x.ini", """
            [web]
            plugin = tcp
            host = 127.0.0.1
            port = %d
            warn_if = connect_time >= 0ms

            [db]
            plugin = tcp
            host = 127.0.0.1
            port = %d
            attempts = 1

            [cache]
            plugin = tcp
            host = 127.0.0.1
            port = %d
            attempts = 1
            severity = optional

            [ok]
            plugin = tcp
            host = 127.0.0.1
            port = %d
            """ % (self.up.port, self.down.port, self.down.port, self.up.port))

    def test_annotations_line_by_line(self):
        summary = os.path.join(self.tmp, "gh", "summary.md")
        os.mkdir(os.path.dirname(summary))
        out = os.path.join(self.tmp, "gh.txt")
        proc = self.gp("run", "-q", "-o", "github:" + out,
                       env={"GITHUB_STEP_SUMMARY": summary})
        self.assertEqual(proc.returncode, 1, proc.stderr)
        with open(out) as f:
            lines = f.read().splitlines()
        refused = "connection refused by 127.0.0.1:%d" % self.down.port
        self.assertEqual(len(lines), 4, lines)
        self.assertRegex(lines[0], r"^::warning title=probe web::warn: ")
        self.assertEqual(lines[1], "::error title=probe db::fail: " + refused)
        self.assertEqual(lines[2],
                         "::warning title=probe cache::fail: " + refused)
        self.assertEqual(lines[3],
                         "::notice title=gpcheck::verdict fail (1 ok, 1 warn, "
                         "2 fail); fail: required probe 'db' is fail")
        with open(summary) as f:
            md = f.read().splitlines()
        self.assertRegex(md[0], r"^### gpcheck: verdict fail \(1 ok, 1 warn, "
                                r"2 fail\) in [\d.]+m?s$")
        self.assertIn("| Probe | Plugin | Status | Attempts | Time | "
                      "Message |", md)
        rows = [l for l in md if l.startswith("| db |")]
        self.assertEqual(len(rows), 1)
        self.assertRegex(rows[0], r"^\| db \| tcp \| fail \| 1 \| [\d.]+m?s "
                                  r"\| %s \|$" % re.escape(refused))

    def test_summary_follows_the_report_file_rules(self):
        # a symlink somebody else owns is refused, before anything runs
        target = os.path.join(self.tmp, "victim")
        with open(target, "w") as f:
            f.write("keep\n")
        link = os.path.join(self.tmp, "summary.md")
        os.symlink(target, link)
        os.lchown(link, 65534, 65534)
        proc = self.gp("run", "-q", "-o", "github",
                       env={"GITHUB_STEP_SUMMARY": link})
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("refusing to follow a symlink owned by uid 65534",
                      proc.stderr)
        self.assertIn("(from $GITHUB_STEP_SUMMARY)", proc.stderr)
        self.assertEqual(proc.stdout, "")  # nothing probed, no annotation
        with open(target) as f:
            self.assertEqual(f.read(), "keep\n")

    def test_no_summary_without_the_variable(self):
        proc = self.gp("run", "-q", "-o", "github",
                       env={"GITHUB_STEP_SUMMARY": ""})
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn("::error title=probe db::", proc.stdout)


if __name__ == "__main__":
    import unittest
    unittest.main()
