"""tests/integration/test_libs.py - the supervisor stays small: the built
gpcheck links neither libcurl, SQLite nor libmicrohttpd (core/dl.h loads
each when a feature asks for it), a plain run maps none of them, each
feature refuses clearly (exit 2, the library and the feature named) when
its library is missing or wrong, and OpenSSL's global set-up is done once
before the attempts fork, not in each attempt (loader_warm).

A missing library is made with GPCHECK_TEST_DL_DIR (core/dl.h: the three
are then loaded from that folder instead of by SONAME): an empty folder,
or one where the SONAME is a link to another library. The set-up count is
read with strace -f (which files each process opens), against a real
PostgreSQL and a real HTTP server on loopback.
"""

import os
import re
import shutil
import subprocess
import sys
import unittest

from gp import BIN, FIXTURES, GpTestCase, wait_until

sys.path.insert(0, FIXTURES)
from httpd import HttpdProcess  # noqa: E402
from postgres import Postgres  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.normpath(os.path.join(HERE, "..", ".."))
PG_PASSWORD = "warm-Pg7-q2"


def sonames():
    """The SONAMEs core/dl.h pins, by library: {"CURL": "libcurl.so.4"}."""
    with open(os.path.join(SRC, "core", "dl.h")) as f:
        found = dict(re.findall(r'#define DL_([A-Z]+)_SONAME "([^"]+)"',
                                f.read()))
    assert set(found) == {"CURL", "SQLITE", "MHD"}, found
    return found


LIBS = sonames()


def needed(path):
    out = subprocess.run(["readelf", "-d", path], capture_output=True,
                         text=True, timeout=30, check=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^]]+)\]", out)


class LinkedTest(GpTestCase):
    """What the executable links and maps."""

    def test_executable_needs_none_of_the_three(self):
        if not shutil.which("readelf"):
            self.skipTest("readelf (binutils) is not installed")
        have = needed(BIN)
        self.assertIn("libjansson.so.4", have)  # the parse works
        for soname in LIBS.values():
            self.assertNotIn(soname, have)
        self.assertEqual([n for n in have if re.match(
            r"lib(curl|sqlite3|microhttpd)", n)], [], have)

    def test_pinned_sonames_are_the_built_against_ones(self):
        # debian/dl-needs links the three from the same headers' -dev
        # packages: its DT_NEEDED are their real SONAMEs
        if not shutil.which("readelf"):
            self.skipTest("readelf (binutils) is not installed")
        probe = os.path.join(os.path.dirname(BIN), "debian", "dl-needs")
        if not os.path.exists(probe):
            self.skipTest("no %s beside GPCHECK_BIN" % probe)
        have = needed(probe)
        for soname in LIBS.values():
            self.assertIn(soname, have)

    def maps_while_running(self, *extra):
        """The supervisor's /proc/PID/maps while an attempt runs (a tcp
        probe in warmup against a port that refuses, and an exec probe
        whose attempt lasts 5 s)."""
        closed = self.listener("closed")
        self.write("conf.d/web.ini", """
            [web]
            plugin = tcp
            host = 127.0.0.1
            port = %d
            warmup = 10s
            """ % closed.port)
        self.write("conf.d/slow.ini", """
            [slow]
            plugin = exec
            command = sleep, 5
            timeout = 8s
            """)
        args = self.base_args("run") + ["-q"] + list(extra)
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, cwd=self.tmp)
        # SIGTERM: gpcheck kills and reaps its attempts (sleep 5) first
        self.addCleanup(proc.wait, 10)
        self.addCleanup(proc.terminate)
        maps = [""]

        def sleeping(pid, depth=3):
            """Is `sleep 5` a descendant of pid (the exec attempt runs,
            so the run has started; a plugin's validate() child, forked
            before, is not one)?"""
            try:
                with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
                    kids = [int(k) for k in f.read().split()]
            except OSError:
                return False
            for k in kids:
                try:
                    with open("/proc/%d/comm" % k) as f:
                        if f.read().strip() == "sleep":
                            return True
                except OSError:
                    continue
                if depth > 1 and sleeping(k, depth - 1):
                    return True
            return False

        def read():
            if proc.poll() is not None:
                return True  # gone: the assertions below say what
            if not sleeping(proc.pid):
                return False
            try:
                with open("/proc/%d/maps" % proc.pid) as f:
                    maps[0] = f.read()
            except OSError:
                pass
            return True

        self.assertTrue(wait_until(read, 10), "no attempt started")
        self.assertIn("/tcp.so", maps[0])
        return maps[0]

    def test_plain_run_maps_none_of_them(self):
        maps = self.maps_while_running()
        for soname in LIBS.values():
            self.assertNotIn("/" + soname.split(".so")[0] + ".so", maps)
        # and with a history, SQLite (the check above can see a library)
        maps = self.maps_while_running(
            "--history", os.path.join(self.tmp, "h.db"))
        self.assertIn("/libsqlite3.so", maps)
        self.assertNotIn("/libcurl.so", maps)


class MissingLibraryTest(GpTestCase):
    """Each feature with its library missing: exit 2, before any work."""

    def setUp(self):
        super().setUp()
        self.nolibs = os.path.join(self.tmp, "nolibs")
        os.mkdir(self.nolibs)
        self.port = self.listener("accept").port
        self.write("conf.d/web.ini", """
            [web]
            plugin = tcp
            host = 127.0.0.1
            port = %d
            """ % self.port)

    def without(self, cmd, *args, libs=None):
        return self.gp(cmd, *args, timeout=30, env={
            "GPCHECK_TEST_DL_DIR": libs or self.nolibs,
            "XDG_STATE_HOME": os.path.join(self.tmp, "state")})

    def assert_refused(self, proc, soname, feature):
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("%s/%s: cannot open shared object file" % (
            self.nolibs, soname), proc.stderr)
        self.assertIn("(needed by %s)" % feature, proc.stderr)
        self.assertNotIn("Segmentation", proc.stderr)

    def test_plain_run_needs_none(self):
        proc = self.without("run", "-q")
        self.assertEqual(proc.returncode, 0, proc.stderr)

    def test_history(self):
        db = os.path.join(self.tmp, "h", "history.db")
        proc = self.without("run", "--history", db)
        self.assert_refused(proc, LIBS["SQLITE"], "--history")
        self.assertNotIn("web", proc.stdout)  # nothing was probed
        self.assertFalse(os.path.exists(os.path.dirname(db)))
        # from the main file, and the history verbs
        self.write("gpcheck.ini", "[gpcheck]\nhistory = %s\n" % db)
        self.assert_refused(self.without("run", "-q"), LIBS["SQLITE"],
                            "[gpcheck] history")
        self.assert_refused(self.without("history"), LIBS["SQLITE"],
                            "the run history")
        self.assert_refused(self.without("stats"), LIBS["SQLITE"],
                            "the run history")

    def test_history_with_warmup_auto_said_once(self):
        # warmup = auto reads the history before the run: one error only
        self.write("conf.d/web.ini", """
            [web]
            plugin = tcp
            host = 127.0.0.1
            port = %d
            warmup = auto
            """ % self.port)
        proc = self.without("run", "--history",
                            os.path.join(self.tmp, "h.db"))
        self.assert_refused(proc, LIBS["SQLITE"], "--history")
        self.assertEqual(proc.stderr.count("cannot open shared object"), 1,
                         proc.stderr)

    def test_serve(self):
        proc = self.without("serve", "--listen", "127.0.0.1:0",
                            "--no-history")
        self.assert_refused(proc, LIBS["MHD"], "gpcheck serve")

    def test_serve_default_history_goes_without(self):
        # serve's own history, not asked for: a warning, as without a home
        proc = self.without("serve", "--listen", "127.0.0.1:0")
        self.assertIn("warning: no run history: %s/%s" % (
            self.nolibs, LIBS["SQLITE"]), proc.stderr)
        self.assert_refused(proc, LIBS["MHD"], "gpcheck serve")

    def test_gate(self):
        proc = self.without("run", "--gate", "http://127.0.0.1:%d" % self.port)
        self.assert_refused(proc, LIBS["CURL"], "--gate")
        # not "unreachable": --gate-fallback local does not probe instead
        proc = self.without("run", "--gate", "http://127.0.0.1:%d" % self.port,
                            "--gate-fallback", "local")
        self.assert_refused(proc, LIBS["CURL"], "--gate")
        self.assertNotIn("probing here", proc.stderr)

    def test_wait(self):
        proc = self.without("wait", "tcp://127.0.0.1:%d" % self.port)
        self.assert_refused(proc, LIBS["CURL"], "gpcheck wait")

    def test_pushgateway(self):
        proc = self.without("run", "-o", "pushgateway:http://127.0.0.1:%d"
                            % self.port)
        self.assert_refused(proc, LIBS["CURL"], "-o pushgateway")

    def test_wrong_library(self):
        # libcurl.so.4 that is jansson: it loads, and lacks every function
        wrong = os.path.join(self.tmp, "wrong")
        os.mkdir(wrong)
        jansson = [ln.split("=>")[1].split()[0] for ln in subprocess.run(
            ["ldd", BIN], capture_output=True, text=True, timeout=30,
            check=True).stdout.splitlines() if "libjansson" in ln][0]
        os.symlink(jansson, os.path.join(wrong, LIBS["CURL"]))
        proc = self.without("wait", "tcp://127.0.0.1:%d" % self.port,
                            libs=wrong)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertRegex(proc.stderr, r"%s has no curl_\w+\(\): not the "
                         r"library gpcheck was built for \(needed by "
                         r"gpcheck wait\)" % re.escape(
                             os.path.join(wrong, LIBS["CURL"])))

    def test_found_in_the_folder_works(self):
        # the knob itself: the real libraries linked into the folder
        libs = os.path.join(self.tmp, "libs")
        os.mkdir(libs)
        for soname in LIBS.values():
            for d in ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
                      "/usr/lib64", "/usr/lib"):
                if os.path.exists(os.path.join(d, soname)):
                    os.symlink(os.path.join(d, soname),
                               os.path.join(libs, soname))
                    break
            else:
                self.skipTest("%s not found in the usual folders" % soname)
        db = os.path.join(self.tmp, "h.db")
        proc = self.without("run", "-q", "--history", db, libs=libs)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        proc = self.without("history", "--history", db, libs=libs)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("web", proc.stdout)


@unittest.skipUnless(shutil.which("strace"), "strace is not installed")
class WarmTest(GpTestCase):
    """OpenSSL's configuration is read once per run, not once per attempt
    (strace -f: every openat of openssl.cnf, by any process, for 2 and 6
    attempts)."""

    @classmethod
    def setUpClass(cls):
        cls.pg = Postgres(max_connections=10)
        cls.addClassCleanup(cls.pg.stop)
        cls.pg.start()
        cls.pg.create_role("app", PG_PASSWORD)
        cls.pg.create_db("appdb", owner="app")
        cls.web_dir = os.path.join(cls.pg.dir, "web")
        os.mkdir(cls.web_dir)
        cls.web = HttpdProcess(cls.web_dir)
        cls.addClassCleanup(cls.web.stop)
        cls.https = HttpdProcess(cls.web_dir, tls=True)
        cls.addClassCleanup(cls.https.stop)

    def config_reads(self, sections):
        for name, body in sections.items():
            self.write("conf.d/%s.ini" % name, "[%s]\n%s\nattempts = 1\n"
                       "timeout = 5s\n" % (name, body))
        log = os.path.join(self.tmp, "strace.log")
        env = dict(os.environ, PGPASSFILE=os.path.join(self.tmp, "no-pgpass"))
        # LeakSanitizer cannot run under ptrace (an ASan build exits 1)
        env["ASAN_OPTIONS"] = ":".join(
            filter(None, [env.get("ASAN_OPTIONS"), "detect_leaks=0"]))
        proc = subprocess.run(
            ["strace", "-f", "-qq", "-e", "trace=openat", "-o", log]
            + self.base_args("run") + ["-q"],
            capture_output=True, text=True, timeout=60, cwd=self.tmp,
            stdin=subprocess.DEVNULL, env=env)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        with open(log) as f:
            return [ln for ln in f if "openssl.cnf" in ln]

    def postgres(self, n):
        return {"db%d" % i: "plugin = postgres\ndsn = %s\npassword = %s"
                % (self.pg.dsn("app", "appdb"), PG_PASSWORD)
                for i in range(n)}

    def http(self, n):
        return {"web%d" % i: "plugin = http\nurl = %s" % self.web.url()
                for i in range(n)}

    def tls(self, n):
        return {"tls%d" % i: "plugin = tls\nhost = 127.0.0.1\nport = %d\n"
                "ca_file = %s" % (self.https.port,
                                  self.https.path("cert.pem"))
                for i in range(n)}

    def assert_once_per_run(self, make):
        """make(n): n probes' sections. The reads do not grow with the
        attempts: once in each process that forks attempts (the
        supervisor, a spawner), never once per attempt."""
        few = self.config_reads(make(2))
        for f in os.listdir(self.confd):
            os.unlink(os.path.join(self.confd, f))
        many = self.config_reads(make(6))
        self.assertGreaterEqual(len(few), 1, "never set up at all")
        self.assertEqual(len(few), len(many), many)
        self.assertLess(len(many), 6, many)

    def test_postgres_attempts_share_one_setup(self):
        # libpq's SCRAM needs libcrypto (the plugin warms it when loaded,
        # 5f8a634; loader_warm's OPENSSL_init_ssl adds libssl's part)
        self.assert_once_per_run(self.postgres)

    def test_tls_attempts_share_one_setup(self):
        # the tls plugin links libssl itself (no libcurl): OPENSSL_init_ssl
        self.assert_once_per_run(self.tls)

    def test_http_attempts_share_one_setup(self):
        self.assert_once_per_run(self.http)

    def test_both(self):
        def both(n):
            sections = self.postgres(n // 2)
            sections.update(self.http(n - n // 2))
            return sections
        self.assert_once_per_run(both)

    def test_tcp_only_sets_up_nothing(self):
        port = self.listener("accept").port
        reads = self.config_reads({"t%d" % i: "plugin = tcp\nhost = "
                                   "127.0.0.1\nport = %d" % port
                                   for i in range(3)})
        self.assertEqual(reads, [])


if __name__ == "__main__":
    unittest.main()
