"""tests/integration/test_faults_local.py - the local half of the fault
matrix (issue 19): unsafe files (reports, configuration, plugins, secret
files), signals to the supervisor (TERM, INT, HUP, KILL) and closed output
pipes, and resource limits (descriptors, memory, a full disk).

Every test asserts the exit status, the reason in the message, an upper
bound on the time taken, and that nothing is left running: this process is
made a child subreaper, so whatever a gpcheck run leaves behind is
reparented here, where assert_nothing_left() finds it.

Several cases need root (mknod, chown to nobody, mount namespaces); they
are skipped otherwise. Nothing here touches a real device: /dev/full is
stood in for by a node made with mknod in the test's own folder, since the
code before this fix turned the target of `-o json:/dev/full` into a
regular file.
"""

import ctypes
import json
import os
import resource
import shutil
import signal
import stat
import subprocess
import time
import unittest

from gp import BIN, GRACE, TEST_PLUGINS, GpTestCase, pid_alive, wait_until

PR_SET_CHILD_SUBREAPER = 36
NOBODY = 65534
ROOT = os.geteuid() == 0
ASAN = {"ASAN_OPTIONS": "detect_leaks=0"}


def setUpModule():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def our_children():
    """Pids whose parent is this process (any of its threads)."""
    pids = set()
    for tid in os.listdir("/proc/self/task"):
        try:
            with open("/proc/self/task/%s/children" % tid) as f:
                pids.update(int(p) for p in f.read().split())
        except FileNotFoundError:
            pass
    return pids


class FaultCase(GpTestCase):
    def setUp(self):
        super().setUp()
        self.before = our_children()
        self.pidfile = os.path.join(self.tmp, "pids")
        # Runs before the folder is removed, also when a test failed early.
        self.addCleanup(self.kill_leftovers)

    def recorded(self):
        """Pids the probes wrote to self.pidfile."""
        if not os.path.exists(self.pidfile):
            return []
        with open(self.pidfile) as f:
            return [int(x) for x in f.read().split()]

    def leftovers(self):
        pids = (our_children() - self.before) | set(self.recorded())
        return sorted(p for p in pids if pid_alive(p))

    def assert_nothing_left(self, seconds=3.0):
        """No process of the run survives it: orphans would be ours now."""
        gone = wait_until(lambda: not self.leftovers(), seconds)
        left = self.leftovers()
        self.kill_leftovers()
        self.assertTrue(gone, "left running: %s" % left)

    def kill_leftovers(self):
        for _ in range(40):  # never leak them into the next test
            if not self.leftovers():
                break
            for pid in self.leftovers():
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)
        for pid in our_children() - self.before:
            try:
                os.waitpid(pid, os.WNOHANG)  # zombies reparented to us
            except ChildProcessError:
                pass

    def timed(self, *args, limit, **kw):
        t0 = time.monotonic()
        proc = self.gp(*args, **kw)
        took = time.monotonic() - t0
        self.assertLess(took, limit, proc.stderr)
        self.assert_nothing_left()
        return proc

    def ok_probe(self):
        self.write("conf.d/x.ini", """
            [a]
            plugin = misbehave
            mode = ok
            arg = %s
            """ % self.pidfile)


# ---------------------------------------------------------------------------
# Reports

class ReportFileTest(FaultCase):
    def test_temporary_name_is_not_predictable(self):
        # The temporary was PATH.tmp.PID, opened without O_EXCL: with
        # gpcheck as pid 1 of a new pid namespace, a symlink planted under
        # that name made it write the symlink's target.
        if not ROOT or not shutil.which("unshare"):
            self.skipTest("needs root and unshare(1) for a pid namespace")
        self.write("conf.d/x.ini", "[a]\nplugin = misbehave\nmode = ok\n")
        report = os.path.join(self.tmp, "out", "report.json")
        victim = self.write("victim", "precious\n")
        os.mkdir(os.path.dirname(report))
        os.symlink(victim, report + ".tmp.1")
        t0 = time.monotonic()
        proc = subprocess.run(["unshare", "-pf"] + self.base_args("run") +
                              ["-q", "-o", "json:" + report],
                              capture_output=True, text=True, timeout=30,
                              cwd=self.tmp)
        self.assertLess(time.monotonic() - t0, 5 + GRACE)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        with open(victim) as f:
            self.assertEqual(f.read(), "precious\n")
        with open(report) as f:
            self.assertEqual(json.load(f)["verdict"], "pass")
        # Nothing but the report and the planted link in its folder.
        self.assertEqual(sorted(os.listdir(os.path.dirname(report))),
                         ["report.json", "report.json.tmp.1"])
        self.assertEqual(stat.S_IMODE(os.stat(report).st_mode),
                         0o666 & ~current_umask())
        self.assert_nothing_left()

    def test_stream_report_refuses_another_users_symlink(self):
        # jsonl and text opened PATH and followed whatever symlink was
        # there. Another user's symlink is refused, before anything runs.
        if not ROOT:
            self.skipTest("needs root to make a symlink owned by nobody")
        self.ok_probe()
        victim = self.write("victim", "precious\n")
        for fmt in ("jsonl", "text", "json"):
            link = os.path.join(self.tmp, "trap." + fmt)
            os.symlink(victim, link)
            os.lchown(link, NOBODY, NOBODY)
            proc = self.timed("run", "-o", "%s:%s" % (fmt, link),
                              limit=2 + GRACE)
            self.assertEqual(proc.returncode, 2, proc.stderr)
            self.assertIn("-o %s:%s: refusing to follow a symlink owned by "
                          "uid %d" % (fmt, link, NOBODY), proc.stderr)
            with open(victim) as f:
                self.assertEqual(f.read(), "precious\n")
            self.assertFalse(os.path.exists(self.pidfile),
                             "probed although the report cannot be written")

    def test_own_symlink_is_followed_and_kept(self):
        self.ok_probe()
        target = os.path.join(self.tmp, "real.json")
        self.write("real.json", "old\n")
        link = os.path.join(self.tmp, "latest.json")
        os.symlink(target, link)
        proc = self.timed("run", "-q", "-o", "json:" + link, limit=2 + GRACE)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertTrue(os.path.islink(link))
        with open(target) as f:
            self.assertEqual(json.load(f)["verdict"], "pass")

    def full_device(self):
        if not ROOT:
            self.skipTest("needs root for mknod")
        path = os.path.join(self.tmp, "full")
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 7))
        return path

    def test_full_device_fails_the_run_and_stays_a_device(self):
        # -o json:/dev/full was renamed over (a regular file afterwards)
        # and the run passed; every format must fail with ENOSPC.
        full = self.full_device()
        self.ok_probe()
        for fmt in ("json", "junit", "jsonl", "text"):
            proc = self.timed("run", "-q", "-o", "%s:%s" % (fmt, full),
                              limit=2 + GRACE)
            self.assertEqual(proc.returncode, 1, (fmt, proc.stderr))
            self.assertIn("-o %s:%s: " % (fmt, full), proc.stderr)
            self.assertIn("No space left on device", proc.stderr)
            self.assertTrue(stat.S_ISCHR(os.lstat(full).st_mode), fmt)

    def test_full_disk_fails_the_run_and_leaves_no_temporary(self):
        # A real file system that is full: a tmpfs of one page, filled, in
        # a private mount namespace.
        if not ROOT or not shutil.which("unshare"):
            self.skipTest("needs root and unshare(1) for a mount namespace")
        self.ok_probe()
        mnt = os.path.join(self.tmp, "small")
        os.mkdir(mnt)
        args = " ".join("'%s'" % a for a in self.base_args("run"))
        script = ("mount -t tmpfs -o size=4k tmpfs {m} && "
                  "head -c 4096 /dev/zero > {m}/fill 2>/dev/null; "
                  "{a} -q -o json:{m}/r.json; rc=$?; ls -A {m}; exit $rc"
                  ).format(m=mnt, a=args)
        t0 = time.monotonic()
        proc = subprocess.run(["unshare", "-m", "sh", "-c", script],
                              capture_output=True, text=True, timeout=30,
                              cwd=self.tmp)
        self.assertLess(time.monotonic() - t0, 5 + GRACE)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn("-o json:%s/r.json: cannot write the report: No space "
                      "left on device" % mnt, proc.stderr)
        self.assertEqual(proc.stdout.split(), ["fill"])  # no temporary left
        self.assert_nothing_left()

    def test_fifo_is_written_in_place(self):
        self.ok_probe()
        fifo = os.path.join(self.tmp, "report.fifo")
        os.mkfifo(fifo)
        reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        self.addCleanup(os.close, reader)
        proc = self.timed("run", "-q", "-o", "json:" + fifo, limit=2 + GRACE)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertTrue(stat.S_ISFIFO(os.lstat(fifo).st_mode))
        self.assertEqual(json.loads(os.read(reader, 1 << 16))["verdict"],
                         "pass")

    def test_a_descriptor_path_is_written_through(self):
        # /dev/stdout, /dev/stderr, /dev/fd/N: this process's descriptors,
        # written through (a pipe, or a shell's `>> log`), never replaced.
        # /dev/fd/1 stands in for /dev/stdout here: the code before this
        # fix, run as root, replaced /dev/stdout itself for every process.
        self.ok_probe()
        proc = self.timed("run", "-q", "-o", "json:/dev/fd/1", limit=2 + GRACE)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(json.loads(proc.stdout)["verdict"], "pass")
        log = self.write("log", "earlier line\n")
        with open(log, "a") as out:
            t0 = time.monotonic()
            proc = subprocess.run(self.base_args("run") +
                                  ["-q", "-o", "jsonl:/dev/fd/1"], stdout=out,
                                  stderr=subprocess.PIPE, text=True,
                                  timeout=10, cwd=self.tmp)
        self.assertLess(time.monotonic() - t0, 2 + GRACE)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        with open(log) as f:
            lines = f.read().splitlines()
        self.assertEqual(lines[0], "earlier line")
        self.assertEqual(json.loads(lines[-1])["event"], "run_end")
        proc = self.timed("run", "-q", "-o", "json:/dev/fd/9", limit=2 + GRACE)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("-o json:/dev/fd/9: descriptor 9 is not open",
                      proc.stderr)

    def test_fifo_without_reader_fails_at_once(self):
        self.ok_probe()
        fifo = os.path.join(self.tmp, "report.fifo")
        os.mkfifo(fifo)
        proc = self.timed("run", "-q", "-o", "json:" + fifo, limit=2 + GRACE)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn("no process has the FIFO open for reading", proc.stderr)
        self.assertTrue(stat.S_ISFIFO(os.lstat(fifo).st_mode))

    def test_unwritable_report_found_before_probing(self):
        # The run probed everything, then lost the report (exit 1).
        self.ok_probe()
        self.write("blocker", "a file where a folder should be\n")
        os.mkdir(os.path.join(self.tmp, "folder"))
        for spec, why in (("json:%s/blocker/r.json", "cannot be examined: "
                           "Not a directory"),
                          ("jsonl:%s/blocker/r.jsonl", "cannot be examined: "
                           "Not a directory"),
                          ("junit:%s/folder", "is a folder")):
            proc = self.timed("run", "-q", "-o", spec % self.tmp,
                              limit=2 + GRACE)
            self.assertEqual(proc.returncode, 2, proc.stderr)
            self.assertIn("-o %s: %s" % (spec % self.tmp, why), proc.stderr)
            self.assertFalse(os.path.exists(self.pidfile), spec)


def current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


# ---------------------------------------------------------------------------
# Configuration files

class ConfigFileTest(FaultCase):
    def test_conf_d_entries_that_are_not_regular_files(self):
        # Each was skipped silently, and validate said OK without them.
        self.ok_probe()
        os.symlink("gone.ini", os.path.join(self.confd, "dangling.ini"))
        os.mkdir(os.path.join(self.confd, "dir.ini"))
        os.mkfifo(os.path.join(self.confd, "fifo.ini"))
        proc = self.timed("validate", limit=2 + GRACE, timeout=10)
        self.assertEqual(proc.returncode, 2, proc.stdout)
        for name, why in (("dangling.ini", "a dangling symlink"),
                          ("dir.ini", "a directory, not a regular file"),
                          ("fifo.ini", "a FIFO, not a regular file")):
            self.assertIn("%s/%s: cannot open: %s" % (self.confd, name, why),
                          proc.stderr)

    def test_main_file_and_env_file_fifos_do_not_block(self):
        # fopen() of a FIFO blocked until a writer came: forever.
        self.ok_probe()
        os.mkfifo(self.main)
        env = os.path.join(self.tmp, "vars.env")
        os.mkfifo(env)
        proc = self.timed("validate", "--env-file", env, limit=2 + GRACE,
                          timeout=10)
        self.assertEqual(proc.returncode, 2, proc.stdout)
        self.assertIn("%s: cannot open: a FIFO" % self.main, proc.stderr)
        self.assertIn("%s: cannot open env file: a FIFO" % env, proc.stderr)


# ---------------------------------------------------------------------------
# Plugin files

class PluginFileTest(FaultCase):
    def plugin_copy(self, folder, name="misbehave"):
        os.makedirs(folder, exist_ok=True)
        dst = os.path.join(folder, name + ".so")
        shutil.copy(os.path.join(TEST_PLUGINS, "misbehave.so"), dst)
        os.chmod(dst, 0o644)
        return dst

    def plugins_cmd(self, plugin_dir, name, **kw):
        return self.timed_raw([BIN, "plugins", "--plugin-dir", plugin_dir,
                               name], **kw)

    def timed_raw(self, args, limit=2 + GRACE, env=None):
        t0 = time.monotonic()
        proc = subprocess.run(args, capture_output=True, text=True,
                              timeout=10, cwd=self.tmp, stdin=subprocess.DEVNULL,
                              env=dict(os.environ, **(env or {})))
        self.assertLess(time.monotonic() - t0, limit, proc.stderr)
        self.assert_nothing_left()
        return proc

    def test_symlink_into_a_world_writable_folder_is_refused(self):
        unsafe = os.path.join(self.tmp, "drop")
        real = self.plugin_copy(unsafe)
        os.chmod(unsafe, 0o777)
        safe = os.path.join(self.tmp, "plugins")
        os.mkdir(safe)
        os.symlink(real, os.path.join(safe, "misbehave.so"))
        proc = self.plugins_cmd(safe, "misbehave")
        self.assertEqual(proc.returncode, 2, proc.stdout)
        self.assertIn("refusing to load: the directory of its target %s is "
                      "group- or world-writable" % unsafe, proc.stderr)

    def test_writable_parent_folder_is_refused(self):
        parent = os.path.join(self.tmp, "shared")
        plugins = os.path.join(parent, "plugins")
        self.plugin_copy(plugins)
        os.chmod(plugins, 0o755)
        os.chmod(parent, 0o777)  # not sticky: anyone may rename plugins/
        proc = self.plugins_cmd(plugins, "misbehave")
        self.assertEqual(proc.returncode, 2, proc.stdout)
        self.assertIn("the directory %s is group- or world-writable (and not "
                      "a sticky directory of root's)" % parent, proc.stderr)
        # Sticky and root's, as /tmp is: nobody else can rename plugins/.
        if ROOT:
            os.chmod(parent, 0o1777)
            proc = self.plugins_cmd(plugins, "misbehave")
            self.assertEqual(proc.returncode, 0, proc.stderr)

    def test_parent_folder_of_another_user_is_refused(self):
        if not ROOT:
            self.skipTest("needs root to give a folder to nobody")
        parent = os.path.join(self.tmp, "theirs")
        plugins = os.path.join(parent, "plugins")
        self.plugin_copy(plugins)
        os.chown(parent, NOBODY, NOBODY)  # nobody may rename plugins/
        proc = self.plugins_cmd(plugins, "misbehave")
        self.assertEqual(proc.returncode, 2, proc.stdout)
        self.assertIn("the directory %s is owned by another user (uid %d)"
                      % (parent, NOBODY), proc.stderr)

    def test_fifo_named_like_a_plugin_does_not_hang(self):
        plugins = os.path.join(self.tmp, "plugins")
        os.mkdir(plugins)
        os.mkfifo(os.path.join(plugins, "fifo.so"))
        proc = self.plugins_cmd(plugins, "fifo")
        self.assertEqual(proc.returncode, 2, proc.stdout)
        self.assertIn("fifo.so: refusing to load: not a regular file",
                      proc.stderr)
        self.write("conf.d/x.ini", "[x]\nplugin = fifo\n")
        proc = self.timed_raw([BIN, "validate", "--conf-dir", self.confd,
                               "--plugin-dir", plugins])
        self.assertEqual(proc.returncode, 2, proc.stdout)
        self.assertIn("not a regular file", proc.stderr)

    def test_relative_plugin_path_in_the_environment_is_refused(self):
        self.plugin_copy(os.path.join(self.tmp, "plugins"))
        proc = self.timed_raw([BIN, "plugins"],
                              env={"GPCHECK_PLUGIN_PATH": "/nonexistent:plugins"})
        self.assertEqual(proc.returncode, 2, proc.stdout)
        self.assertIn("GPCHECK_PLUGIN_PATH: 'plugins' is not an absolute path",
                      proc.stderr)

    def test_plugin_path_is_relative_to_the_main_file(self):
        conf = os.path.join(self.tmp, "etc")
        self.plugin_copy(os.path.join(conf, "plugins"))
        main = self.write("etc/gpcheck.ini", """
            [gpcheck]
            plugin_path = plugins
            [a]
            plugin = misbehave
            mode = ok
            """)
        elsewhere = os.path.join(self.tmp, "elsewhere")
        os.mkdir(elsewhere)
        t0 = time.monotonic()
        proc = subprocess.run([BIN, "validate", "-c", main], cwd=elsewhere,
                              capture_output=True, text=True, timeout=10)
        self.assertLess(time.monotonic() - t0, 2 + GRACE)
        self.assertEqual(proc.returncode, 0, proc.stderr)


# ---------------------------------------------------------------------------
# Secret files

class SecretFileTest(FaultCase):
    def test_password_file_of_another_user_is_refused(self):
        if not ROOT:
            self.skipTest("needs root to give a file to nobody")
        pw = self.write("pw", "canary-Secret-42\n")
        os.chmod(pw, 0o600)
        os.chown(pw, NOBODY, NOBODY)
        self.write("conf.d/x.ini", """
            [x]
            plugin = misbehave
            mode = ok
            token_file = %s
            """ % pw)
        proc = self.timed("validate", limit=2 + GRACE)
        self.assertEqual(proc.returncode, 2, proc.stdout)
        self.assertIn("%s: refusing to use it: owned by uid %d" % (pw, NOBODY),
                      proc.stderr)
        self.assertNotIn("canary-Secret-42", proc.stdout + proc.stderr)


# ---------------------------------------------------------------------------
# Signals and closed pipes

class SignalTest(FaultCase):
    def start(self, *extra, session=False):
        return self.start_run(*extra, env=ASAN, stdout=subprocess.PIPE,
                              session=session)

    def big(self):
        """Quick probes that take the run past core/spawner.h's
        SPAWNER_MIN_PROBES: its attempts fork from the spawner."""
        self.write("conf.d/pad.ini", "".join(
            "[pad%d]\nplugin = misbehave\nmode = ok\n\n" % i
            for i in range(256)))

    def stuck_probes(self):
        """A probe in warmup, one hanging, one whose command forks."""
        self.write("conf.d/x.ini", """
            [warming]
            plugin = misbehave
            mode = transient
            warmup = 60s

            [stuck]
            plugin = misbehave
            mode = hang
            arg = {p}
            timeout = 60s

            [forks]
            plugin = exec
            command = sleep 300 & echo $$! >> {p}; echo $$$$ >> {p}; wait
            shell = true
            timeout = 60s
            """.format(p=self.pidfile))

    def wait_started(self):
        def started():
            if not os.path.exists(self.pidfile):
                return False
            with open(self.pidfile) as f:
                return len(f.read().split()) >= 3
        self.assertTrue(wait_until(started, 10))
        time.sleep(0.2)

    def interrupt(self, sig, code):
        self.stuck_probes()
        report = os.path.join(self.tmp, "report.json")
        proc = self.start("-o", "json:" + report)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        self.wait_started()
        t0 = time.monotonic()
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=10)
        self.assertLess(time.monotonic() - t0, 1 + GRACE)
        self.assertEqual(proc.returncode, code, err)
        name = signal.Signals(sig).name
        self.assertIn("interrupted by %s" % name, err)
        with open(report) as f:
            doc = json.load(f)
        self.assertEqual(doc["exit_code"], code)
        self.assertEqual(self.probe(doc, "stuck")["message"],
                         "interrupted by %s" % name)
        self.assert_nothing_left()

    def test_sighup_stops_the_run_like_sigterm(self):
        # A closed terminal or a cancelled CI job: SIGHUP killed gpcheck
        # outright, without its report, leaving attempts running.
        self.interrupt(signal.SIGHUP, 129)

    def test_sigterm(self):
        self.interrupt(signal.SIGTERM, 143)

    def test_sigint(self):
        self.interrupt(signal.SIGINT, 130)

    def test_sigkill_of_the_supervisor_takes_the_attempt_groups(self):
        # PR_SET_PDEATHSIG ends an attempt's own process; the guardian ends
        # what it started in its group (a command's background child).
        self.stuck_probes()
        proc = self.start()
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        self.wait_started()
        proc.kill()
        proc.communicate(timeout=10)
        self.assertEqual(proc.returncode, -signal.SIGKILL)
        self.assert_nothing_left(seconds=2.0)

    def test_sigterm_with_the_spawner(self):
        self.big()
        self.interrupt(signal.SIGTERM, 143)

    def spawner_kill(self, kill):
        self.big()
        self.stuck_probes()
        proc = self.start(session=True)
        self.wait_started()
        hang = self.recorded()[0]
        with open("/proc/%d/stat" % hang) as f:
            parent = int(f.read().rsplit(")", 1)[1].split()[1])
        self.assertNotEqual(parent, proc.pid, "not the spawner's attempt")
        kill(proc)
        proc.communicate(timeout=10)
        self.assertEqual(proc.returncode, -signal.SIGKILL)
        # The spawner saw gpcheck go (EOF) and killed its attempts' groups.
        self.assert_nothing_left(seconds=2.0)

    def test_sigkill_of_the_supervisor_takes_the_spawners_groups(self):
        self.spawner_kill(lambda p: p.kill())

    def test_sigkill_of_gpchecks_whole_group_takes_the_spawners_groups(self):
        # A CI job cancelled: the spawner has a process group of its own.
        self.spawner_kill(lambda p: os.killpg(p.pid, signal.SIGKILL))

    def closed_pipe(self):
        r, w = os.pipe()
        os.close(r)
        self.addCleanup(os.close, w)
        return w

    def test_closed_stderr_pipe_still_runs_the_command(self):
        # `gpcheck run -- make e2e 2>&1 | head -1`: gpcheck died of SIGPIPE
        # (141) at its first line, and the command never ran.
        self.ok_probe()
        marker = os.path.join(self.tmp, "ran")
        w = self.closed_pipe()
        t0 = time.monotonic()
        proc = subprocess.run(
            self.base_args("run") +
            ["--", "sh", "-c", "grep SigIgn /proc/self/status > " + marker],
            stdin=subprocess.DEVNULL, stdout=w, stderr=w, timeout=10,
            cwd=self.tmp)
        self.assertLess(time.monotonic() - t0, 2 + GRACE)
        self.assertEqual(proc.returncode, 0)
        with open(marker) as f:
            ignored = int(f.read().split()[1], 16)
        # The command gets SIGPIPE's default back (13 is bit 12).
        self.assertFalse(ignored & (1 << 12))
        self.assert_nothing_left()

    def test_report_to_a_closed_stdout_is_a_report_error(self):
        self.ok_probe()
        marker = os.path.join(self.tmp, "ran")
        w = self.closed_pipe()
        t0 = time.monotonic()
        proc = subprocess.run(
            self.base_args("run") + ["-q", "-o", "json", "--", "touch", marker],
            stdin=subprocess.DEVNULL, stdout=w, stderr=subprocess.PIPE,
            text=True, timeout=10, cwd=self.tmp)
        self.assertLess(time.monotonic() - t0, 2 + GRACE)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn("-o json: cannot write to stdout: Broken pipe",
                      proc.stderr)
        self.assertFalse(os.path.exists(marker))
        self.assert_nothing_left()

    def test_list_to_a_closed_stdout_says_so(self):
        self.ok_probe()
        w = self.closed_pipe()
        proc = subprocess.run(self.base_args("list"), stdin=subprocess.DEVNULL,
                              stdout=w, stderr=subprocess.PIPE, text=True,
                              timeout=10, cwd=self.tmp)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn("cannot write to stdout: Broken pipe", proc.stderr)


# ---------------------------------------------------------------------------
# Resource limits

def limit(res, value):
    def apply():
        resource.setrlimit(res, (value, value))
    return apply


class ResourceLimitTest(FaultCase):
    def test_descriptor_limit_queues_attempts(self):
        # -j 200 under ulimit -n 64: 144 of 200 probes ended as "error:
        # cannot create a pipe: Too many open files".
        self.write("conf.d/x.ini", "".join("""
            [p%d]
            plugin = misbehave
            mode = slow
            sleep = 100ms
            """ % i for i in range(200)))
        report = os.path.join(self.tmp, "report.json")
        t0 = time.monotonic()
        proc = subprocess.run(self.base_args("run") +
                              ["-q", "-j", "200", "-o", "json:" + report],
                              capture_output=True, text=True, timeout=60,
                              cwd=self.tmp, stdin=subprocess.DEVNULL,
                              preexec_fn=limit(resource.RLIMIT_NOFILE, 64))
        took = time.monotonic() - t0
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertRegex(proc.stderr, r"warning: \d+ attempts in flight at "
                         r"most, not 200: the descriptor limit \(ulimit -n\) "
                         r"is 64")
        with open(report) as f:
            doc = json.load(f)
        self.assertEqual({p["status"] for p in doc["probes"]}, {"ok"})
        self.assertEqual({p["attempts"] for p in doc["probes"]}, {1})
        # 200 x 100 ms at >= 40 in flight: about half a second.
        self.assertLess(took, 5 + GRACE)
        self.assert_nothing_left()

    def test_descriptors_lost_mid_run_requeue_attempts(self):
        # The limit drops under a running gpcheck (prlimit), after it sized
        # its cap: pipe() then fails with EMFILE, and the attempt must wait
        # for one in flight to end instead of failing its probe.
        self.write("conf.d/x.ini", "".join("""
            [p%d]
            plugin = misbehave
            mode = slow
            sleep = 400ms
            """ % i for i in range(150)))
        report = os.path.join(self.tmp, "report.json")
        proc = self.start_run("-q", "-j", "100", report=report,
                              stdout=subprocess.PIPE)
        t0 = time.monotonic()
        fds = "/proc/%d/fd" % proc.pid
        self.assertTrue(wait_until(lambda: len(os.listdir(fds)) >= 100, 5))
        resource.prlimit(proc.pid, resource.RLIMIT_NOFILE, (40, 40))
        _, err = proc.communicate(timeout=30)
        self.assertLess(time.monotonic() - t0, 6 + GRACE)
        self.assertEqual(proc.returncode, 0, err)
        with open(report) as f:
            doc = json.load(f)
        bad = [p["message"] for p in doc["probes"] if p["status"] != "ok"]
        self.assertEqual(bad, [])
        self.assertEqual({p["attempts"] for p in doc["probes"]}, {1})
        self.assert_nothing_left()

    def test_memory_limit_fails_one_probe_precisely(self):
        # ulimit -v: an attempt whose work cannot get memory fails with its
        # reason; the supervisor and the other probes carry on.
        probe = subprocess.run([BIN, "version"], capture_output=True,
                               preexec_fn=limit(resource.RLIMIT_AS, 256 << 20))
        if probe.returncode != 0:
            self.skipTest("this build (a sanitizer?) needs more address space")
        self.write("conf.d/x.ini", (
            "[hungry]\nplugin = exec\nshell = true\nattempts = 1\n"
            "command = python3 -c 'bytearray(1 << 30)' 2>/dev/null || "
            "{ echo CRITICAL - no memory; exit 2; }\n\n"
            "[fine]\nplugin = misbehave\nmode = ok\n"))
        report = os.path.join(self.tmp, "report.json")
        t0 = time.monotonic()
        proc = subprocess.run(self.base_args("run") +
                              ["-q", "-o", "json:" + report],
                              capture_output=True, text=True, timeout=60,
                              cwd=self.tmp, stdin=subprocess.DEVNULL,
                              preexec_fn=limit(resource.RLIMIT_AS, 256 << 20))
        self.assertLess(time.monotonic() - t0, 5 + GRACE)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        with open(report) as f:
            doc = json.load(f)
        self.assertEqual(self.probe(doc, "fine")["status"], "ok")
        hungry = self.probe(doc, "hungry")
        self.assertEqual(hungry["status"], "fail")
        self.assertIn("no memory", hungry["message"])
        self.assert_nothing_left()


if __name__ == "__main__":
    unittest.main()
