"""tests/servers/base.py - common ground for the real servers tests start.

A server runs on loopback only, on a free port, with all its files in a
temporary folder of its own, and is stopped (and its folder removed) by
stop(), which is safe to call twice and from cleanup handlers. Every wait is
bounded in time.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time


def free_port(host="127.0.0.1"):
    """A TCP port that was free a moment ago (the kernel picks it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_tcp(host, port, seconds):
    """True once host:port accepts a connection, False after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.02)
    return False


class Server:
    """Base of every real server: a temp folder, a process, a stop()."""

    name = "server"

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="gpcheck-%s-" % self.name)
        os.chmod(self.dir, 0o755)
        self.proc = None
        self.host = "127.0.0.1"
        self.port = None

    def log_path(self):
        return os.path.join(self.dir, "server.log")

    def spawn(self, argv, user=None, **kw):
        """Start argv in its own session, output to the log file."""
        log = open(self.log_path(), "ab")
        preexec = None
        if user is not None:
            import pwd
            pw = pwd.getpwnam(user)

            def preexec():
                os.setgid(pw.pw_gid)
                os.setgroups([])
                os.setuid(pw.pw_uid)
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True,
                                     preexec_fn=preexec, **kw)
        log.close()
        return self.proc

    def log_tail(self, lines=20):
        try:
            with open(self.log_path(), errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""

    def kill_process(self, sig=signal.SIGTERM, seconds=10):
        """Stop the server process (its whole session), bounded in time."""
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(seconds)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(seconds)

    def stop(self):
        self.kill_process()
        if self.dir and os.path.isdir(self.dir):
            shutil.rmtree(self.dir, ignore_errors=True)
