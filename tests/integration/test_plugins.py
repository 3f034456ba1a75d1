"""tests/integration/test_plugins.py - loading plugins: the ABI handshake,
the file-safety checks, the search path, and the tcp probe's options."""

import json
import os
import re
import shutil
import stat
import socket
import subprocess
import threading
import time
import unittest

from gp import BIN, TEST_PLUGINS, GpTestCase


def core_abi():
    """(major, minor) of the built gpcheck, from `gpcheck version`."""
    out = subprocess.run([BIN, "version"], capture_output=True, text=True,
                         check=True).stdout
    major, minor = re.search(r"plugin ABI (\d+)\.(\d+)", out).groups()
    return int(major), int(minor)


class LoaderTest(GpTestCase):
    def probe_with(self, plugin):
        self.write("conf.d/x.ini", """
            [x]
            plugin = %s
            """ % plugin)
        return self.gp("validate")

    def test_different_major_refused_naming_both_versions(self):
        major, minor = core_abi()
        proc = self.probe_with("badmajor")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("badmajor.so", proc.stderr)
        self.assertIn("plugin ABI %d.%d" % (major + 1, minor), proc.stderr)
        self.assertIn("(ABI %d.%d" % (major, minor), proc.stderr)
        self.assertIn("conf.d/x.ini:2:", proc.stderr)

    def test_newer_minor_refused(self):
        major, minor = core_abi()
        proc = self.probe_with("newminor")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("plugin ABI %d.%d" % (major, minor + 1), proc.stderr)

    def test_older_minor_loads_and_runs(self):
        # oldminor declares ABI 1.0.
        self.probe_with("oldminor")
        proc, doc, _ = self.run_json()
        self.assertEqual(proc.returncode, 0, proc.stderr)
        major, _ = core_abi()
        self.assertEqual(GpTestCase.probe(doc, "x")["message"],
                         "an ABI %d.0 plugin ran" % major)

    def test_plugin_built_against_the_1_1_header_loads_and_runs(self):
        # tests/plugins/abi11: compiled with the ABI 1.1 plugin.h, so its
        # descriptor ends before validate and its gp_api before invalid.
        secret = os.path.join(self.tmp, "token")
        with open(secret, "w") as f:
            f.write("t0ken-abi11\n")
        os.chmod(secret, 0o600)
        self.write("conf.d/x.ini", """
            [x]
            plugin = abi11
            count = 5
            token_file = %s
            warn_if = items > 4
            """ % secret)
        proc = self.gp("validate")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        proc = self.gp("plugins", "abi11")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("1.1", proc.stdout)
        proc, doc, _ = self.run_json("-v")
        p = GpTestCase.probe(doc, "x")
        self.assertEqual(p["history"][-1]["outcome"], "ready", p)
        self.assertEqual(p["metrics"], {"items": 5})
        self.assertEqual(p["status"], "warn", p)
        self.assertIn("hello from an ABI 1.1 plugin (x, attempt 1)",
                      p["message"])

    def test_extra_exports_refused(self):
        proc = self.probe_with("leaky")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("leaky.so: exports more than gpcheck_plugin "
                      "(badabi_leaked_helper", proc.stderr)
        self.assertIn("-fvisibility=hidden", proc.stderr)

    def test_missing_entry_symbol(self):
        proc = self.probe_with("noentry")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("noentry.so", proc.stderr)
        self.assertIn("gpcheck_plugin", proc.stderr)

    def test_unknown_plugin_names_search_path(self):
        proc = self.probe_with("nosuchplugin")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("unknown plugin 'nosuchplugin'", proc.stderr)
        self.assertIn(TEST_PLUGINS, proc.stderr)

    def test_plugin_name_must_be_bare(self):
        for bad in ("../tcp", "/usr/lib/x", "Tcp", "a/b"):
            proc = self.probe_with(bad)
            self.assertEqual(proc.returncode, 2, bad)
            self.assertIn("conf.d/x.ini:2:", proc.stderr)

    def unsafe_dir(self, mode_dir, mode_file):
        d = os.path.join(self.tmp, "unsafe")
        os.mkdir(d)
        shutil.copy(os.path.join(os.path.dirname(BIN), "plugins", "tcp.so"), d)
        os.chmod(os.path.join(d, "tcp.so"), mode_file)
        os.chmod(d, mode_dir)
        self.write("conf.d/x.ini", """
            [x]
            plugin = tcp
            host = 127.0.0.1
            port = 1
            """)
        return subprocess.run([BIN, "validate", "--conf-dir", self.confd,
                               "--plugin-dir", d], capture_output=True,
                              text=True, timeout=30)

    def test_group_writable_plugin_refused(self):
        proc = self.unsafe_dir(0o755, 0o775)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("refusing to load", proc.stderr)
        self.assertIn("group- or world-writable", proc.stderr)

    def test_world_writable_directory_refused(self):
        proc = self.unsafe_dir(0o777, 0o755)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("its directory", proc.stderr)

    def test_safe_copy_loads_first_on_search_path(self):
        proc = self.unsafe_dir(0o755, 0o755)
        self.assertEqual(proc.returncode, 0, proc.stderr)

    def test_plugin_path_env(self):
        self.write("conf.d/x.ini", """
            [x]
            plugin = misbehave
            mode = ok
            """)
        proc = subprocess.run([BIN, "validate", "--conf-dir", self.confd],
                              capture_output=True, text=True, timeout=30,
                              env=dict(os.environ,
                                       GPCHECK_PLUGIN_PATH="/nonexistent:" + TEST_PLUGINS))
        self.assertEqual(proc.returncode, 0, proc.stderr)

    def test_plugin_path_in_config(self):
        self.write("gpcheck.ini", """
            [gpcheck]
            plugin_path = %s
            """ % TEST_PLUGINS)
        self.write("conf.d/x.ini", """
            [x]
            plugin = misbehave
            mode = ok
            """)
        proc = subprocess.run([BIN, "validate", "-c", self.main],
                              capture_output=True, text=True, timeout=30)
        self.assertEqual(proc.returncode, 0, proc.stderr)

    def test_exports_only_the_entry_symbol(self):
        so = os.path.join(os.path.dirname(BIN), "plugins", "tcp.so")
        out = subprocess.run(["nm", "-D", "--defined-only", so],
                             capture_output=True, text=True, check=True).stdout
        syms = [l.split()[-1] for l in out.splitlines() if " A " not in l]
        self.assertEqual(syms, ["gpcheck_plugin@@GPCHECK_ABI_1"])

    def test_probe_by_path(self):
        lst = self.listener("accept")
        so = os.path.join(os.path.dirname(BIN), "plugins", "tcp.so")
        proc = self.gp("probe", so, "host=127.0.0.1", "port=%d" % lst.port)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("status:   ok", proc.stdout)


class SecretFileTest(GpTestCase):
    CANARY = "file-canary-7Hq2"

    def secret(self, mode):
        path = os.path.join(self.tmp, "token")
        with open(path, "w") as f:
            f.write(self.CANARY + "\n")
        os.chmod(path, mode)
        self.write("conf.d/s.ini", """
            [leaky]
            plugin = misbehave
            mode = leak
            token_file = %s
            attempts = 1
            """ % path)

    def test_group_readable_file_refused_at_config_time(self):
        self.secret(0o640)
        proc = self.gp("validate")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("conf.d/s.ini:4: probe 'leaky': token_file:", proc.stderr)
        self.assertIn("readable or writable by group or others", proc.stderr)
        self.assertNotIn(self.CANARY, proc.stderr)

    def test_private_file_content_is_masked(self):
        self.secret(0o600)
        proc, doc, _ = self.run_json("-v")
        self.assertEqual(proc.returncode, 1)
        self.assertEqual(GpTestCase.probe(doc, "leaky")["message"],
                         "token *** rejected")
        self.assertNotIn(self.CANARY, proc.stderr + proc.stdout +
                         json.dumps(doc))


class TcpTest(GpTestCase):
    def tcp(self, port, extra=""):
        self.write("conf.d/t.ini", """
            [t]
            plugin = tcp
            host = 127.0.0.1
            port = %d
            timeout = 2s
            attempts = 1
            %s
            """ % (port, extra))
        proc, doc, _ = self.run_json()
        return proc, self.probe(doc, "t")

    def test_send_and_expect(self):
        lst = self.listener("echo", banner="")
        proc, t = self.tcp(lst.port, "send = PING\\r\\n\nexpect = PING")
        self.assertEqual(t["status"], "ok", t["message"])

    def test_expect_mismatch(self):
        lst = self.listener("banner", banner="SSH-2.0\\r\\n")
        proc, t = self.tcp(lst.port, "expect = +PONG")
        # the peer keeps the connection open: the probe waits its whole time
        self.assertEqual(t["status"], "timeout")
        self.assertIn("SSH-2.0", t["message"])

    def test_refused_is_transient(self):
        lst = self.listener("closed")
        proc, t = self.tcp(lst.port)
        self.assertEqual(t["history"][0]["outcome"], "transient")
        self.assertIn("refused", t["message"])

    def test_hang_with_expect_is_cut(self):
        lst = self.listener("hang")
        proc, t = self.tcp(lst.port, "expect = READY")
        self.assertEqual(t["status"], "timeout")
        self.assertIn("timed out waiting for the expected text", t["message"])
        self.assertLess(t["duration_ms"], 3500)

    def test_full_accept_queue_seen_soon_after_accepting(self):
        """A listener whose accept queue is full drops SYNs; the kernel
        resends a dropped one after 1 s, then 3 s. In the warmup the SDK
        sends a fresh SYN every 50 ms beside it, so the probe passes soon
        after the application starts accepting, not at the next resend or
        the attempt's timeout (0.8 s later here, before)."""
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        port = srv.getsockname()[1]
        held = []
        for _ in range(16):  # Linux queues backlog + 1, then drops SYNs
            c = socket.socket()
            c.settimeout(0.3)
            try:
                c.connect(("127.0.0.1", port))
            except OSError:
                c.close()
                break
            held.append(c)
        self.assertLess(len(held), 16, "the accept queue did not fill")
        started, stop = [], threading.Event()

        def accept_later():
            if stop.wait(1.2):
                return
            started.append(time.monotonic())
            srv.settimeout(0.02)
            while not stop.is_set():
                try:
                    srv.accept()[0].close()
                except OSError:
                    pass
        th = threading.Thread(target=accept_later, daemon=True)
        th.start()
        try:
            proc, t = self.tcp(port, "warmup = 10s")
            ended = time.monotonic()
        finally:
            stop.set()
            th.join(5)
            for c in held:
                c.close()
            srv.close()
        self.assertEqual(t["status"], "ok", t["message"])
        self.assertTrue(started)
        self.assertLess(ended - started[0], 0.45, t["history"])


if __name__ == "__main__":
    unittest.main()
