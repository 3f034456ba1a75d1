"""tests/servers/redis.py - a real Redis 7 (Debian's redis-server) for tests.

    r = Redis(password="pw", users={"app": "apppass"}, maxmemory="100mb")
    r.start()                  # waits until PING answers PONG
    r.cli("SET", "k", "v")     # redis-cli, authenticated as the admin
    r.stop()                   # kills it and removes its folder

The server listens on 127.0.0.1 only, on a free port, with its config, RDB
and unix socket in its own temporary folder. Extras for fault tests:

- make_loading_rdb(keys) writes an RDB big enough that a restart spends a
  while answering -LOADING (see LOADING_KEYS for the measurement);
- replica_of(master) configures this server as a replica of another;
- stop_server() stops the process but keeps the folder (and the RDB) for
  start() or restart().

Every wait is bounded in time.
"""

import os
import subprocess
import time

from base import Server, free_port, wait_tcp

REDIS_SERVER = "/usr/bin/redis-server"
REDIS_CLI = "/usr/bin/redis-cli"

# Keys of 10-byte values for an RDB that keeps a restarted Redis answering
# -LOADING for well over a second. Measured on the 2-core CI VM (Redis
# 7.0.15, loading-process-events-interval-bytes 1024 so that clients get
# their -LOADING while it loads): 3M keys: DEBUG POPULATE 1.9 s, SAVE 1.6 s
# (a 67 MB RDB), loading 1.8 s, about 250 MB of memory. (1.5M keys loaded in
# 0.8 s: too close to the time a test needs to see it and start gpcheck.)
# A loaded machine only loads slower.
LOADING_KEYS = 3000000


class Redis(Server):
    name = "redis"

    def __init__(self, password=None, users=None, maxmemory=None,
                 maxclients=None, unix_socket=False, extra=None):
        """users: {name: password} ACL users with every permission, or
        {name: (password, "rules ...")} with their own ACL rules.
        extra: further config lines."""
        super().__init__()
        self.port = free_port()
        self.password = password
        self.users = users or {}
        self.maxmemory = maxmemory
        self.maxclients = maxclients
        self.socket = os.path.join(self.dir, "redis.sock") if unix_socket else None
        self.extra = list(extra or [])
        self.replicaof = None

    # -- configuration -----------------------------------------------------

    def conf_path(self):
        return os.path.join(self.dir, "redis.conf")

    def write_config(self):
        lines = [
            "bind 127.0.0.1",
            "port %d" % self.port,
            "dir %s" % self.dir,
            "dbfilename dump.rdb",
            "daemonize no",
            "protected-mode no",
            "logfile \"\"",
            "appendonly no",
            # DEBUG POPULATE builds the LOADING dataset; local connections only.
            "enable-debug-command local",
            # Answer clients (with -LOADING) often while loading an RDB.
            "loading-process-events-interval-bytes 1024",
        ]
        # No automatic snapshots: make_loading_rdb() saves explicitly.
        lines.append('save ""')
        if self.password:
            lines.append("requirepass %s" % self.password)
        for user, spec in self.users.items():
            if isinstance(spec, tuple):
                pw, rules = spec
            else:
                pw, rules = spec, "~* &* +@all"
            lines.append("user %s on >%s %s" % (user, pw, rules))
        if self.maxmemory:
            lines.append("maxmemory %s" % self.maxmemory)
        if self.maxclients:
            lines.append("maxclients %d" % self.maxclients)
        if self.socket:
            lines += ["unixsocket %s" % self.socket, "unixsocketperm 700"]
        if self.replicaof:
            lines.append("replicaof 127.0.0.1 %d" % self.replicaof.port)
            if self.replicaof.password:
                lines.append("masterauth %s" % self.replicaof.password)
        lines += self.extra
        with open(self.conf_path(), "w") as f:
            f.write("\n".join(lines) + "\n")
        os.chmod(self.conf_path(), 0o600)

    def replica_of(self, master):
        """Make this (not yet started) server a replica of `master`."""
        self.replicaof = master

    # -- process -----------------------------------------------------------

    def start(self, wait=True, seconds=20):
        self.write_config()
        self.spawn([REDIS_SERVER, self.conf_path()])
        if wait:
            self.wait_ready(seconds)
        return self

    def wait_ready(self, seconds=20):
        """Until PING answers PONG (not -LOADING), bounded in time."""
        deadline = time.monotonic() + seconds
        if not wait_tcp(self.host, self.port, seconds):
            raise RuntimeError("redis did not listen within %ss:\n%s"
                               % (seconds, self.log_tail()))
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            if self.ping() == "PONG":
                return
            time.sleep(0.05)
        raise RuntimeError("redis did not answer PONG within %ss:\n%s"
                           % (seconds, self.log_tail()))

    def ping(self):
        """PING's reply as text ("PONG", "LOADING ..."), or None."""
        try:
            out = self.cli("PING", check=False, timeout=5)
        except subprocess.TimeoutExpired:
            return None
        return (out.stdout + out.stderr).strip() or None

    def stop_server(self):
        """Stop the process, keep the folder: start() brings it back."""
        self.kill_process()

    def restart(self, wait=True):
        self.stop_server()
        return self.start(wait=wait)

    # -- client ------------------------------------------------------------

    def cli(self, *args, check=True, timeout=60):
        """redis-cli as the default user (with the password, when set)."""
        argv = [REDIS_CLI, "-h", self.host, "-p", str(self.port)]
        env = dict(os.environ)
        if self.password:
            # REDISCLI_AUTH: the password stays out of the process list.
            env["REDISCLI_AUTH"] = self.password
        proc = subprocess.run(argv + [str(a) for a in args], env=env,
                              stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=timeout)
        if check and (proc.returncode != 0 or proc.stdout.startswith("ERR")):
            raise RuntimeError("redis-cli %s: %s%s" % (
                " ".join(map(str, args)), proc.stdout, proc.stderr))
        return proc

    def info(self, section=""):
        out = self.cli("INFO", section).stdout if section else self.cli("INFO").stdout
        fields = {}
        for line in out.splitlines():
            if ":" in line and not line.startswith("#"):
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        return fields

    # -- fault helpers -----------------------------------------------------

    def make_loading_rdb(self, keys=LOADING_KEYS):
        """Fill the running server and save an RDB; the next start() then
        loads it (answering -LOADING) for a second or more."""
        self.cli("DEBUG", "POPULATE", keys, "key", 10, timeout=120)
        self.cli("SAVE", timeout=120)

    def wait_loading(self, seconds=20):
        """After start(wait=False): True once the server answers -LOADING."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            reply = self.ping() or ""
            if reply.startswith("LOADING"):
                return True
            if reply == "PONG" or self.proc.poll() is not None:
                return False
            time.sleep(0.01)
        return False

    def wait_replica_link(self, seconds=20):
        """For a replica: until master_link_status is up."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                if self.info("replication").get("master_link_status") == "up":
                    return
            except RuntimeError:
                pass
            time.sleep(0.05)
        raise RuntimeError("replica link not up within %ss:\n%s"
                           % (seconds, self.log_tail()))
