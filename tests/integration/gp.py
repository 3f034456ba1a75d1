"""tests/integration/gp.py - shared helpers for gpcheck's integration tests.

Runs the built binary (GPCHECK_BIN) on temporary config folders, starts
loopback fixture servers (tests/fixtures/listen.py), and reads the JSON
report. Every wait here is bounded in count and time.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
# Real servers (PostgreSQL, Redis, dnsmasq, ...) live in tests/servers/.
sys.path.insert(0, os.path.join(HERE, "..", "servers"))

BIN = os.environ.get("GPCHECK_BIN", "")
TEST_PLUGINS = os.environ.get("GPCHECK_TEST_PLUGINS", "")
FIXTURES = os.environ.get(
    "GPCHECK_FIXTURES",
    os.path.join(HERE, "..", "fixtures"),
)

sys.path.insert(0, FIXTURES)
from fixture import FixtureProcess  # noqa: E402

# Scheduling slack allowed on top of a deadline on a loaded 2-core CI box.
GRACE = 1.5


class Listener(FixtureProcess):
    """A fixture server from listen.py, stopped by stop() or the test's cleanup."""

    def __init__(self, tmp, mode, **opts):
        port_file = os.path.join(tmp, "port-%s-%d" % (mode, id(self)))
        args = [sys.executable, os.path.join(FIXTURES, "listen.py"), mode,
                "--port-file", port_file, "--lifetime", "120"]
        for key, value in opts.items():
            args += ["--" + key.replace("_", "-"), str(value)]
        super().__init__(args, port_file, "listen.py " + mode)


class GpTestCase(unittest.TestCase):
    """A temporary folder with conf.d/, and helpers to run gpcheck in it."""

    def setUp(self):
        if not BIN or not os.access(BIN, os.X_OK):
            self.fail("GPCHECK_BIN is not set to the built gpcheck binary")
        self.tmp = tempfile.mkdtemp(prefix="gpcheck-it-")
        os.chmod(self.tmp, 0o755)
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        self.confd = os.path.join(self.tmp, "conf.d")
        os.mkdir(self.confd)
        self.main = os.path.join(self.tmp, "gpcheck.ini")

    def write(self, rel, text):
        path = os.path.join(self.tmp, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(textwrap.dedent(text).lstrip("\n"))
        return path

    def listener(self, mode, **opts):
        lst = Listener(self.tmp, mode, **opts)
        self.addCleanup(lst.stop)
        return lst

    def base_args(self, cmd):
        # Each command takes only the options it uses: probe reads no
        # configuration, plugins only the main file.
        args = [BIN, cmd]
        if cmd in ("run", "validate", "list"):
            args += ["--conf-dir", self.confd]
        if os.path.exists(self.main) and cmd != "probe":
            args += ["-c", self.main]
        if TEST_PLUGINS and cmd != "version":
            args += ["--plugin-dir", TEST_PLUGINS]
        return args

    def gp(self, cmd, *extra, timeout=60, env=None):
        """Run gpcheck CMD with the temp config; returns CompletedProcess."""
        full_env = dict(os.environ)
        full_env.pop("GPCHECK_ENV", None)
        full_env.pop("GPCHECK_CONFIG", None)
        if env:
            full_env.update(env)
        return subprocess.run(self.base_args(cmd) + list(extra),
                              capture_output=True, text=True, timeout=timeout,
                              env=full_env, stdin=subprocess.DEVNULL,
                              cwd=self.tmp)

    def run_json(self, *extra, timeout=60, env=None):
        """gpcheck run -o json:FILE; returns (CompletedProcess, report, seconds)."""
        report = os.path.join(self.tmp, "report.json")
        if os.path.exists(report):
            os.unlink(report)
        t0 = time.monotonic()
        proc = self.gp("run", "-o", "json:" + report, *extra,
                       timeout=timeout, env=env)
        took = time.monotonic() - t0
        doc = None
        if os.path.exists(report):
            with open(report) as f:
                doc = json.load(f)
        return proc, doc, took

    @staticmethod
    def probe(doc, name):
        for p in doc["probes"]:
            if p["name"] == name:
                return p
        raise KeyError(name)


def pid_alive(pid):
    """True when pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except FileNotFoundError:
        return False


def wait_until(pred, seconds, step=0.05):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()
