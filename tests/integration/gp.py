"""tests/integration/gp.py - shared helpers for gpcheck's integration tests.

Runs the built binary (GPCHECK_BIN) on temporary config folders, starts
loopback fixture servers (tests/fixtures/listen.py), keeps every DNS lookup
on loopback (see "DNS stays on loopback" below), and reads the JSON report.
Every wait here is bounded in count and time.
"""

import atexit
import ctypes
import errno
import json
import os
import random
import shutil
import socket
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


class DnsFixture(FixtureProcess):
    """tests/fixtures/dnsd.py MODE on host:port (port 0: any)."""

    def __init__(self, tmp, mode, host="127.0.0.1", port=0, log=None):
        port_file = os.path.join(tmp, "dnsd-%s-%d" % (mode, id(self)))
        argv = [sys.executable, os.path.join(FIXTURES, "dnsd.py"), mode,
                "--port-file", port_file, "--host", host, "--port",
                str(port), "--lifetime", "3600", "--parent", str(os.getpid())]
        if log:
            argv += ["--log", log]
        self.host = host
        super().__init__(argv, port_file, "dnsd.py " + mode, quiet=True)


# --------------------------------------------------------------------------
# DNS stays on loopback
#
# /etc/resolv.conf names a server off this machine, and tests send nothing
# off loopback. So a test process moves, when its first GpTestCase class is
# defined (at import, before any setUpClass starts a server), into a private
# mount namespace (unshare(2) CLONE_NEWNS, as `unshare -m`) where
#   /etc/resolv.conf   names dnsd.py on port 53 of a 127.x.y.z of its own,
#   /etc/nsswitch.conf is the system's with "hosts: files dns" (no mDNS).
# gpcheck, its probes, their helpers and the servers inherit it; nothing
# changes outside the process, nothing to undo. The cost is one dnsd.py per
# test file.
#
# This suite resolver answers NXDOMAIN and logs every query. A query there
# means something resolved a name outside /etc/hosts without the test
# saying so: the test fails and names it (the guard against regressions).
# A test that resolves such a name on purpose calls
# self.private_resolver(mode) first: dnsd.py MODE (nxdomain, silent,
# servfail, truncated, garbage) mounted over /etc/resolv.conf for that test
# only. Without root there is no namespace: no guard, and private_resolver()
# skips the test.

_libc = ctypes.CDLL(None, use_errno=True)
_CLONE_NEWNS = 0x00020000
_MS_BIND, _MS_REC, _MS_PRIVATE = 4096, 16384, 1 << 18
RESOLV_CONF = "/etc/resolv.conf"
NSSWITCH_CONF = "/etc/nsswitch.conf"


def _mount(source, target, flags):
    src = source.encode() if source else None
    if _libc.mount(src, target.encode(), None, flags, None) != 0:
        err = ctypes.get_errno()
        raise OSError(err, "mount %s on %s: %s"
                      % (source, target, os.strerror(err)))


def _umount(target):
    if _libc.umount2(target.encode(), 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, "umount %s: %s" % (target, os.strerror(err)))


class LoopbackResolver:
    """dnsd.py MODE on port 53 of a free 127.x.y.z (resolv.conf has no
    port), and a resolv.conf in tmp naming only it; stop() ends it."""

    def __init__(self, tmp, mode, log=None):
        last = None
        for _ in range(5):
            host = "127.%d.%d.%d" % (random.randint(64, 250),
                                     random.randint(1, 250),
                                     random.randint(2, 250))
            try:
                self.dns = DnsFixture(tmp, mode, host=host, port=53, log=log)
                break
            except RuntimeError as e:  # the address is taken: another one
                last = e
        else:
            raise RuntimeError("no free loopback address for dnsd.py: %s"
                               % last)
        self.host = host
        self.conf = os.path.join(tmp, "resolv-%s-%d.conf" % (mode, id(self)))
        with open(self.conf, "w") as f:
            # One try, and long: a probe's deadline must cut a silent one.
            f.write("nameserver %s\noptions timeout:30 attempts:1\n" % host)

    def stop(self):
        self.dns.stop()


class _NoNamespace(Exception):
    """The kernel gives this process no mount namespace of its own."""


class _SuiteResolver:
    """The process's private namespace and its NXDOMAIN resolver."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="gpcheck-dns-")
        atexit.register(shutil.rmtree, self.dir, ignore_errors=True)
        if _libc.unshare(_CLONE_NEWNS) != 0:
            err = ctypes.get_errno()
            why = "unshare(CLONE_NEWNS): " + os.strerror(err)
            if err == errno.EPERM:  # root without CAP_SYS_ADMIN (a container)
                raise _NoNamespace(why)
            raise OSError(err, why)  # anything else: loud, not a skip
        # Private, so that no mount made here shows outside the process.
        _mount(None, "/", _MS_REC | _MS_PRIVATE)
        # Without the file glibc asks "dns" and "files" only: nothing to do.
        if os.path.exists(NSSWITCH_CONF):
            nss = os.path.join(self.dir, "nsswitch.conf")
            with open(NSSWITCH_CONF) as f:
                lines = [ln for ln in f
                         if not ln.lstrip().startswith("hosts:")]
            with open(nss, "w") as f:
                f.writelines(lines + ["hosts: files dns\n"])
            _mount(nss, NSSWITCH_CONF, _MS_BIND)
        self.log = os.path.join(self.dir, "queries.log")
        open(self.log, "w").close()
        self.seen = 0
        self.resolver = LoopbackResolver(self.dir, "nxdomain", log=self.log)
        atexit.register(self.resolver.stop)
        _mount(self.resolver.conf, RESOLV_CONF, _MS_BIND)

    def new_queries(self):
        """Queries since the last call, but for this machine's own name
        (a server may look itself up; nothing leaves loopback for it)."""
        with open(self.log) as f:
            f.seek(self.seen)
            text = f.read()
            self.seen = f.tell()
        me = socket.gethostname().lower().rstrip(".")
        return [q for q in text.splitlines()
                if q.split(" ")[0].lower().rstrip(".") != me]


_suite = None          # the _SuiteResolver, once entered
_no_namespace = None   # why there is none (not root, EPERM)


def _enter_private_namespace():
    global _suite, _no_namespace
    if _suite or _no_namespace:
        return
    if os.geteuid() != 0:
        _no_namespace = "not root: no private mount namespace"
        return
    try:
        _suite = _SuiteResolver()
    except _NoNamespace as e:
        _no_namespace = str(e)
    # Any later failure is raised: half a namespace must not pass unseen.


class GpTestCase(unittest.TestCase):
    """A temporary folder with conf.d/, and helpers to run gpcheck in it."""

    def __init_subclass__(cls, **kwargs):
        # At class definition: before any setUpClass starts a server.
        super().__init_subclass__(**kwargs)
        _enter_private_namespace()

    def setUp(self):
        if not BIN or not os.access(BIN, os.X_OK):
            self.fail("GPCHECK_BIN is not set to the built gpcheck binary")
        if _suite:
            # Queries from setUpClass count against the class's first test.
            self.addCleanup(self._assert_no_system_dns)
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

    def _assert_no_system_dns(self):
        queries = _suite.new_queries()
        if queries:
            self.fail("the system resolver was asked %s: use a name in "
                      "/etc/hosts, or call self.private_resolver() first"
                      % ", ".join(sorted(set(queries))))

    def private_resolver(self, mode="nxdomain"):
        """For the rest of this test, /etc/resolv.conf names only dnsd.py
        MODE on loopback; returns its LoopbackResolver. Skips the test
        where there is no private namespace (not root)."""
        if not _suite:
            self.skipTest("resolves a name outside /etc/hosts and %s"
                          % _no_namespace)
        res = LoopbackResolver(self.tmp, mode)
        self.addCleanup(res.stop)
        _mount(res.conf, RESOLV_CONF, _MS_BIND)
        self.addCleanup(_umount, RESOLV_CONF)
        return res

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
        if TEST_PLUGINS and cmd not in ("version", "history", "stats"):
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

    def start_run(self, *extra, report=None, env=None,
                  stdout=subprocess.DEVNULL, session=False):
        """gpcheck run [-o json:REPORT] EXTRA... in the background, with the
        temp config and the environment gp() gives (session: in a session
        and process group of its own); killed and reaped at cleanup if
        still running. Returns the Popen (stderr a text pipe)."""
        full_env = dict(os.environ)
        full_env.pop("GPCHECK_ENV", None)
        full_env.pop("GPCHECK_CONFIG", None)
        if env:
            full_env.update(env)
        args = self.base_args("run")
        if report:
            args += ["-o", "json:" + report]
        p = subprocess.Popen(args + list(extra), stdin=subprocess.DEVNULL,
                             stdout=stdout, stderr=subprocess.PIPE, text=True,
                             cwd=self.tmp, env=full_env,
                             start_new_session=session)

        def stop():
            if p.poll() is None:
                p.kill()
                p.communicate()
        self.addCleanup(stop)
        return p

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


def outcomes(probe):
    """The outcome of each attempt of a probe's JSON report, in order."""
    return [h["outcome"] for h in probe["history"]]


COMPLETION = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                          "..", "completion", "gpcheck.bash")


def complete(*words, cwd=None):
    """completion/gpcheck.bash's COMPREPLY for COMP_WORDS=words, the cursor
    on the last one, run in cwd (file names complete from there). A
    completion function that fails raises AssertionError with its stderr."""
    script = ('source "$1" || exit 9; shift; COMP_WORDS=("$@"); '
              'COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _gpcheck || exit 8; '
              'printf "%s\\n" "${COMPREPLY[@]}"')
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("GPCHECK_")}
    proc = subprocess.run(["bash", "--norc", "-c", script, "bash",
                           COMPLETION] + list(words), capture_output=True,
                          text=True, timeout=60, env=env, cwd=cwd,
                          stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise AssertionError("completion failed (%d): %s"
                             % (proc.returncode, proc.stderr))
    return {ln for ln in proc.stdout.split("\n") if ln}


def wait_until(pred, seconds, step=0.05):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()
