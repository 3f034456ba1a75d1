"""tests/servers/postgres.py - a throwaway PostgreSQL 15 for tests.

    pg = Postgres(max_connections=8)    # initdb in a temp folder (~1.5 s)
    pg.start()                          # waits until it accepts queries
    pg.create_role("app", "s3cret"); pg.create_db("appdb", owner="app")
    pg.dsn("app", "appdb", "s3cret")    # host=127.0.0.1 port=... ...
    pg.psql("SELECT 1")                 # SQL as the superuser
    s = pg.hold()                       # a session holding a slot
    pg.stop_server(); pg.start()        # fast shutdown keeps the data
    pg.crash(); pg.start()              # immediate shutdown, recovery
    pg.wipe(); pg.initdb()              # an empty data folder, a new cluster
    sb = Postgres(clone_of=pg)          # a streaming standby (pg_basebackup)
    sb.start(); sb.promote()            # ... promoted to a primary
    pg.stop()                           # stops it and removes the folder

The cluster lives in its own temporary folder, owned by the `postgres` OS
user (PostgreSQL refuses to run as root), listens on 127.0.0.1 only, on a
port picked once so that a restarted server comes back where clients
expect it, with its unix socket in the same folder. Local (socket)
connections are trusted, which is how psql() runs SQL as the superuser;
TCP connections need a SCRAM password, so a wrong password really fails.
fsync is off and initdb skips syncing: the data is thrown away anyway.
Every wait is bounded in time.
"""

import os
import pwd
import select
import shutil
import signal
import subprocess
import time

from base import Server, free_port

PG_BIN = "/usr/lib/postgresql/15/bin"
OS_USER = "postgres"


def _quote_literal(text):
    """An SQL string literal (standard_conforming_strings is on)."""
    return "'" + text.replace("'", "''") + "'"


def _quote_ident(text):
    return '"' + text.replace('"', '""') + '"'


def _conninfo_value(text):
    """A libpq key=value value, quoted when it has to be."""
    if text and not any(c in text for c in " '\\"):
        return text
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _clean_env():
    """Our environment without PG* variables, so that psql only talks to
    this server."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PG")}


class Postgres(Server):
    name = "postgres"

    def __init__(self, max_connections=20, superuser_reserved_connections=3,
                 settings=None, clone_of=None):
        """clone_of: a running Postgres this one is a streaming standby of
        (pg_basebackup over its socket, with its settings and its own port)
        instead of a new cluster."""
        super().__init__()
        try:
            self.port = free_port()
            self.data = os.path.join(self.dir, "data")
            self.settings = {
                "listen_addresses": "127.0.0.1",
                "port": str(self.port),
                "unix_socket_directories": self.dir,
                "max_connections": str(max_connections),
                "superuser_reserved_connections":
                    str(superuser_reserved_connections),
                "fsync": "off",
                "synchronous_commit": "off",
                "full_page_writes": "off",
                "shared_buffers": "16MB",
                # A backend notices a client that went away even in the
                # middle of pg_sleep(), so held connections die with their
                # psql.
                "client_connection_check_interval": "200ms",
                "logging_collector": "off",
            }
            self.settings.update(settings or {})
            if clone_of is not None:
                # a standby needs max_connections etc. >= its primary's
                self.settings = dict(clone_of.settings, port=str(self.port),
                                     unix_socket_directories=self.dir)
                max_connections = clone_of.max_connections
                superuser_reserved_connections = \
                    clone_of.superuser_reserved_connections
            self.max_connections = max_connections
            self.superuser_reserved_connections = \
                superuser_reserved_connections
            pw = pwd.getpwnam(OS_USER)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            if clone_of is None:
                self.initdb()
            else:
                self._base_backup(clone_of)
        except BaseException:
            Server.stop(self)
            raise

    def _run_as_postgres(self, argv, seconds):
        pw = pwd.getpwnam(OS_USER)

        def demote():
            os.setgid(pw.pw_gid)
            os.setgroups([])
            os.setuid(pw.pw_uid)

        return subprocess.run(argv, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=seconds,
                              preexec_fn=demote, env=_clean_env(),
                              cwd=self.dir)

    def initdb(self):
        """A new cluster in the data folder (which is absent or empty)."""
        proc = self._run_as_postgres(
            [os.path.join(PG_BIN, "initdb"), "-D", self.data, "-U", "postgres",
             "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync",
             "--no-instructions", "-E", "UTF8", "--locale=C"], 120)
        if proc.returncode != 0:
            raise RuntimeError("initdb failed: %s" % proc.stderr[-2000:])

    def wipe(self):
        """Stop the server and leave an empty data folder, as a fresh
        volume is before the first start."""
        self.stop_server()
        shutil.rmtree(self.data, ignore_errors=True)
        pw = pwd.getpwnam(OS_USER)
        os.mkdir(self.data, 0o700)
        os.chown(self.data, pw.pw_uid, pw.pw_gid)

    def _base_backup(self, primary):
        """This data folder as a streaming standby of primary: a base
        backup over its (trusted) socket, with standby.signal and
        primary_conninfo written by -R."""
        proc = self._run_as_postgres(
            [os.path.join(PG_BIN, "pg_basebackup"), "-h", primary.dir, "-p",
             str(primary.port), "-U", "postgres", "-D", self.data, "-R",
             "-X", "stream", "-c", "fast", "--no-sync"], 120)
        if proc.returncode != 0:
            raise RuntimeError("pg_basebackup failed: %s"
                               % proc.stderr[-2000:])

    def in_recovery(self):
        return self.psql("SELECT pg_is_in_recovery()") == "t"

    def promote(self):
        """A standby becomes a primary (pg_promote(), not waiting for it
        to finish: the tools see the moment it happens)."""
        self.psql("SELECT pg_promote(wait => false)")

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self, wait=True, settings=None):
        """Start the postmaster; with wait, return once it runs queries.
        settings: for this start only (listen_addresses='' is how an
        entrypoint script starts it for its own set-up, socket only)."""
        if self.running():
            return
        argv = [os.path.join(PG_BIN, "postgres"), "-D", self.data]
        for key, value in dict(self.settings, **(settings or {})).items():
            argv += ["-c", "%s=%s" % (key, value)]
        self.spawn(argv, user=OS_USER, env=_clean_env(), cwd=self.dir)
        if wait:
            self.wait_ready(60)

    def wait_ready(self, seconds):
        """Wait until a query works over the socket (a server that accepts
        TCP connections may still be 'starting up')."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if not self.running():
                raise RuntimeError("postgres exited:\n" + self.log_tail())
            proc = subprocess.run(
                [os.path.join(PG_BIN, "pg_isready"), "-q", "-h", self.dir,
                 "-p", str(self.port), "-t", "1"],
                stdin=subprocess.DEVNULL, capture_output=True, timeout=10,
                env=_clean_env())
            if proc.returncode == 0:
                return
            time.sleep(0.05)
        raise RuntimeError("postgres not ready within %ss:\n%s"
                           % (seconds, self.log_tail()))

    def _signal_and_wait(self, sig, seconds):
        """Signal the postmaster alone (it tells its children itself);
        SIGKILL the whole session if it does not exit in time."""
        if not self.running():
            return
        try:
            os.kill(self.proc.pid, sig)
            self.proc.wait(seconds)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            self.kill_process(signal.SIGKILL, 10)

    def stop_server(self):
        """Fast shutdown (SIGINT): clients are disconnected, the data stays
        and start() brings the same cluster back on the same port."""
        self._signal_and_wait(signal.SIGINT, 30)

    def crash(self):
        """Immediate shutdown (SIGQUIT): the next start runs crash
        recovery, like a server restarted after a failure."""
        self._signal_and_wait(signal.SIGQUIT, 30)

    def restart(self):
        self.stop_server()
        self.start()

    def stop(self):
        self.stop_server()
        Server.stop(self)

    # -- SQL as the superuser, over the unix socket (trusted) -------------

    def psql_argv(self, sql, db="postgres"):
        return [os.path.join(PG_BIN, "psql"), "-X", "-q", "-A", "-t",
                "-v", "ON_ERROR_STOP=1", "-h", self.dir, "-p", str(self.port),
                "-U", "postgres", "-d", db, "-c", sql]

    def psql(self, sql, db="postgres", seconds=30):
        """Run SQL as the superuser; returns its output, stripped."""
        proc = subprocess.run(self.psql_argv(sql, db),
                              stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=seconds, env=_clean_env())
        if proc.returncode != 0:
            raise RuntimeError("psql failed (%d): %s"
                               % (proc.returncode, proc.stderr.strip()))
        return proc.stdout.strip()

    def hold(self, seconds=60, wait=10):
        """A superuser session that sleeps in the server, or None when the
        server refused it (no slot left). Returns once psql has printed
        that it is connected, so the slot is really taken. The caller stops
        it (killpg, its own session)."""
        argv = self.psql_argv("SELECT 'connected'") + [
            "-c", "SELECT pg_sleep(%d)" % seconds]
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, env=_clean_env(),
                                start_new_session=True)
        ready, _, _ = select.select([proc.stdout], [], [], wait)
        line = proc.stdout.readline() if ready else b""
        if line.strip() == b"connected":
            return proc
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        proc.stdout.close()
        return None

    def create_role(self, name, password=None, superuser=False):
        sql = "CREATE ROLE %s LOGIN" % _quote_ident(name)
        if password is not None:
            sql += " PASSWORD %s" % _quote_literal(password)
        if superuser:
            sql += " SUPERUSER"
        self.psql(sql)

    def create_db(self, name, owner=None):
        sql = "CREATE DATABASE %s" % _quote_ident(name)
        if owner:
            sql += " OWNER %s" % _quote_ident(owner)
        self.psql(sql)

    def dsn(self, user, db, password=None):
        """A libpq key=value string for TCP on 127.0.0.1."""
        parts = ["host=127.0.0.1", "port=%d" % self.port,
                 "dbname=" + _conninfo_value(db),
                 "user=" + _conninfo_value(user)]
        if password is not None:
            parts.append("password=" + _conninfo_value(password))
        return " ".join(parts)
