"""tests/integration/test_install.py - scripts/install.sh and the GitHub
Action (action.yml), run for real on this Debian machine.

The install script builds this source tree and installs it into temporary
prefixes: first one prefix, then another with the same kept build folder
(configured again for the new prefix; test_relocate.py installs one tree
into prefixes it was not configured for). Each installed gpcheck runs from its prefix in an empty folder
with no GPCHECK_* variables: `version`, `plugins` (every shipped plugin,
found under its own prefix), and a tcp probe of a loopback listener, ok
when it accepts and failing when nothing listens. A rerun installs nothing
new; bad options exit 2 naming the option.

action.yml is parsed (python3-yaml): every input is used and every input
used is declared. Then its steps run as the runner runs a composite
action: each `${{ ... }}` substituted, `run:` executed by `bash --noprofile
--norc -eo pipefail` with the step's env and working directory, and
GITHUB_OUTPUT / GITHUB_PATH files read back. It installs into a temporary
prefix (install-deps: false: the system is not touched) and gates a
workspace's probes, which must end as the `verdict` output says.

The build dependencies must be installed (tests/bootstrap.sh does); the
script is run with --no-deps, so apt-get never runs here.
"""

import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest
import xml.etree.ElementTree as ET

from ghaction import Runner
from gp import Listener

try:
    import yaml
except ImportError:  # reported by the tests that need it
    yaml = None

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.normpath(os.path.join(HERE, "..", ".."))
INSTALL = os.path.join(SRC, "scripts", "install.sh")
SHIPPED = {"amqp", "clickhouse", "dns", "exec", "grpc", "http", "mysql",
           "postgres", "prometheus", "redis", "tcp", "tls", "vpc"}
# One full build, then one for the second prefix: minutes on a loaded box.
BUILD_TIMEOUT = 900

T = {}  # the module's fixture: folders, prefixes, timings


def project_version():
    with open(os.path.join(SRC, "CMakeLists.txt")) as f:
        return re.search(r"project\(\s*gpcheck\s+VERSION\s+([0-9.]+)",
                         f.read()).group(1)


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GPCHECK_", "GITHUB_", "RUNNER_"))}
    env.update(extra)
    return env


def run(argv, timeout=60, **kw):
    kw.setdefault("env", clean_env())
    return subprocess.run(argv, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, **kw)


def install(prefix, *extra):
    t0 = time.monotonic()
    proc = run([INSTALL, "--no-deps", "--prefix", prefix, "--build-dir",
                T["build"], "-j", "2"] + list(extra), timeout=BUILD_TIMEOUT)
    return proc, time.monotonic() - t0


def setUpModule():
    T["tmp"] = tempfile.mkdtemp(prefix="gpcheck-install-")
    os.chmod(T["tmp"], 0o755)
    unittest.addModuleCleanup(shutil.rmtree, T["tmp"], ignore_errors=True)
    # The Action's runner.temp: its build folder is the one the script
    # tests use, so the Action finds everything built.
    T["runner_temp"] = os.path.join(T["tmp"], "runner")
    os.mkdir(T["runner_temp"])
    T["build"] = os.path.join(T["runner_temp"], "gpcheck-build")
    T["prefix2"] = os.path.join(T["tmp"], "opt", "gpcheck-first")
    # A space, and an underscore (scdoc markup): the man pages name the
    # prefix's folders (a temporary folder with an "_" in its random part
    # once broke their rendering: "Cannot nest inline formatting").
    T["prefix"] = os.path.join(T["tmp"], "prefix with space_and_underscore")
    # The first prefix, then the second with the same build folder.
    T["first"] = install(T["prefix2"])
    T["second"] = install(T["prefix"])


class InstallScriptTest(unittest.TestCase):

    def setUp(self):
        for what in ("first", "second"):
            proc, took = T[what]
            self.assertEqual(proc.returncode, 0, "install.sh (%s prefix) "
                             "failed:\n%s\n%s" % (what, proc.stdout,
                                                  proc.stderr[-6000:]))
        self.cwd = tempfile.mkdtemp(prefix="cwd-", dir=T["tmp"])

    def gp(self, prefix, *args, timeout=60):
        return run([os.path.join(prefix, "bin", "gpcheck")] + list(args),
                   timeout=timeout, cwd=self.cwd)

    def test_timings(self):
        print("\ntest_install: install.sh from scratch %.1fs, again for "
              "another prefix %.1fs" % (T["first"][1], T["second"][1]))

    def test_version(self):
        for prefix in (T["prefix"], T["prefix2"]):
            proc = self.gp(prefix, "version")
            self.assertEqual(proc.returncode, 0, proc.stderr)
            self.assertRegex(proc.stdout,
                             r"^gpcheck %s " % re.escape(project_version()))

    def test_plugins_are_found_under_each_prefix(self):
        for prefix in (T["prefix"], T["prefix2"]):
            with self.subTest(prefix=prefix):
                proc = self.gp(prefix, "plugins")
                self.assertEqual(proc.returncode, 0, proc.stderr)
                names = set(re.findall(r"(?m)^(\S+)\s", proc.stdout))
                self.assertEqual(names, SHIPPED, proc.stdout)
                for name in sorted(names):
                    proc = self.gp(prefix, "plugins", name)
                    self.assertEqual(proc.returncode, 0, proc.stderr)
                    m = re.search(r"(?m)^file: (.+\.so) \(ABI", proc.stdout)
                    self.assertTrue(m, proc.stdout)
                    self.assertTrue(m.group(1).startswith(prefix + "/"),
                                    "%s from %s, not from %s" % (
                                        name, m.group(1), prefix))

    def test_tcp_probe(self):
        up = Listener(self.cwd, "accept")
        self.addCleanup(up.stop)
        down = Listener(self.cwd, "closed")
        self.addCleanup(down.stop)
        for prefix in (T["prefix"], T["prefix2"]):
            with self.subTest(prefix=prefix):
                proc = self.gp(prefix, "probe", "tcp", "host=127.0.0.1",
                               "port=%d" % up.port, "timeout=2s")
                self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
                self.assertIn("connected to 127.0.0.1:%d" % up.port,
                              proc.stdout)
                proc = self.gp(prefix, "probe", "tcp", "host=127.0.0.1",
                               "port=%d" % down.port, "timeout=2s")
                self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
                self.assertIn("refused", proc.stdout + proc.stderr)

    def test_installed_configuration_validates(self):
        etc = os.path.join(T["prefix"], "etc", "gpcheck")
        proc = self.gp(T["prefix"], "validate", "-c",
                       os.path.join(etc, "gpcheck.ini"))
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertTrue(os.path.isdir(os.path.join(etc, "conf.d")))

    def test_rerun_installs_nothing_new(self):
        proc, _ = install(T["prefix"])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        with open(os.path.join(T["build"], "install.log")) as f:
            log = f.read()
        self.assertRegex(log, r"Up-to-date: .*/bin/gpcheck")
        self.assertNotRegex(log, r"Installing: .*/bin/gpcheck")

    def test_bad_options(self):
        for args, word in ((["--prefix", "relative/dir"], "--prefix"),
                           (["--jobs", "many"], "--jobs"),
                           (["--frobnicate"], "--frobnicate"),
                           (["--prefix"], "--prefix")):
            with self.subTest(args=args):
                proc = run([INSTALL] + args)
                self.assertEqual(proc.returncode, 2, proc.stderr)
                self.assertIn(word, proc.stderr)
                self.assertFalse(os.path.exists(os.path.join(self.cwd, "relative")))


# -- the GitHub Action ----------------------------------------------------

def need_yaml(test):
    if yaml is None:
        test.fail("python3-yaml is not installed (Debian package python3-yaml)")


def load_action():
    with open(os.path.join(SRC, "action.yml")) as f:
        return yaml.safe_load(f)


class ActionTest(unittest.TestCase):

    def setUp(self):
        need_yaml(self)
        self.action = load_action()
        self.ws = tempfile.mkdtemp(prefix="workspace-", dir=T["tmp"])
        os.chmod(self.ws, 0o755)

    def test_inputs_are_declared_and_used(self):
        declared = set(self.action["inputs"])
        text = yaml.safe_dump(self.action["runs"])
        used = set(re.findall(r"\binputs\.([\w-]+)", text))
        self.assertEqual(used, declared)
        for name, spec in self.action["inputs"].items():
            self.assertTrue(spec.get("description"), name)
        # No input is pasted into a script: they go through env.
        for step in self.action["runs"]["steps"]:
            self.assertNotRegex(step["run"], r"\$\{\{", step["name"])
        ids = {s.get("id") for s in self.action["runs"]["steps"]}
        for name, spec in self.action["outputs"].items():
            m = re.fullmatch(r"\$\{\{\s*steps\.([\w-]+)\.outputs\.[\w-]+\s*\}\}",
                             spec["value"])
            self.assertTrue(m and m.group(1) in ids, name)

    def workspace(self, port, staging_port):
        """A repository's gpcheck files: a main file, two probes (one tagged
        slow), a staging overlay that moves `web` to staging_port, and an
        env file with the port."""
        files = {
            "ci/gpcheck.ini": "[defaults]\nattempts = 1\ntimeout = 2s\n",
            "ci/conf.d/10-web.ini": "[web]\nplugin = tcp\nhost = 127.0.0.1\n"
                                    "port = ${WEB_PORT}\n",
            "ci/conf.d/20-slow.ini": "[slow]\nplugin = tcp\n"
                                     "host = 127.0.0.1\nport = 1\n"
                                     "tags = slow\n",
            "ci/conf.d/staging/10-web.ini": "[web]\nport = %d\n"
                                            % staging_port,
            "ci/ports.env": "WEB_PORT=%d\n" % port,
        }
        for rel, text in files.items():
            path = os.path.join(self.ws, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text)

    def gate(self, **inputs):
        base = {"prefix": T["prefix"], "install-deps": "false",
                "working-directory": "ci", "config": "gpcheck.ini",
                "env-files": "\n  ports.env \n",
                "outputs": "junit:reports/gpcheck.xml\n  text:reports/gpcheck.txt\n",
                "args": "--skip-tag slow  --deadline 30s",
                "version": project_version()}
        base.update(inputs)
        runner = Runner(self.action, base, self.ws, T["runner_temp"],
                        env=clean_env(), timeout=BUILD_TIMEOUT)
        return runner, runner.run()

    def test_gate_passes_and_says_so(self):
        up = Listener(self.ws, "accept")
        self.addCleanup(up.stop)
        self.workspace(up.port, up.port)
        runner, rc = self.gate(env="staging")
        self.assertEqual(rc, 0, runner.log())
        out = runner.action_outputs()
        self.assertEqual(out["verdict"], "pass", runner.log())
        self.assertEqual(out["exit-code"], "0")
        self.assertEqual(out["gpcheck"],
                         os.path.join(T["prefix"], "bin", "gpcheck"))
        self.assertEqual(runner.path, [os.path.join(T["prefix"], "bin")])
        # The outputs input: both reports, the env input, the tagged probe
        # skipped.
        junit = os.path.join(self.ws, "ci", "reports", "gpcheck.xml")
        suite = ET.parse(junit).getroot()
        if suite.tag == "testsuites":
            suite = suite.find("testsuite")
        self.assertEqual({tc.get("name") for tc in suite.iter("testcase")},
                         {"web"})
        with open(os.path.join(self.ws, "ci", "reports", "gpcheck.txt")) as f:
            text = f.read()
        self.assertIn("verdict: pass", text)
        self.assertIn("env 'staging'", text)
        # The install step found everything built (the module's install).
        self.assertIn("installed gpcheck", runner.logs[0][1].stderr)

    def test_gate_fails_with_the_verdict(self):
        up = Listener(self.ws, "accept")
        self.addCleanup(up.stop)
        down = Listener(self.ws, "closed")
        self.addCleanup(down.stop)
        # The env file's port is fine, the staging overlay's is not.
        self.workspace(up.port, down.port)
        runner, rc = self.gate(env="staging")
        self.assertEqual(rc, 1, runner.log())
        out = runner.action_outputs()
        self.assertEqual(out["verdict"], "fail", runner.log())
        self.assertEqual(out["exit-code"], "1")
        # Without the overlay the same workspace passes.
        runner, rc = self.gate(env="")
        self.assertEqual(rc, 0, runner.log())
        self.assertEqual(runner.action_outputs()["verdict"], "pass")

    def test_configuration_error_is_verdict_error(self):
        self.workspace(1, 1)
        runner, rc = self.gate(args="--no-such-option")
        self.assertEqual(rc, 2, runner.log())
        self.assertEqual(runner.action_outputs()["verdict"], "error")
        self.assertIn("--no-such-option", runner.logs[1][1].stderr)

    def test_version_input_is_checked(self):
        self.workspace(1, 1)
        runner, rc = self.gate(version="9.9.9")
        self.assertEqual(rc, 2, runner.log())
        self.assertEqual(len(runner.logs), 1, "the gate must not run")
        self.assertIn("not 9.9.9", runner.logs[0][1].stdout)

    def test_install_deps_must_be_a_boolean(self):
        runner, rc = self.gate(**{"install-deps": "maybe"})
        self.assertEqual(rc, 2, runner.log())
        self.assertIn("install-deps", runner.logs[0][1].stdout)


if __name__ == "__main__":
    unittest.main()
