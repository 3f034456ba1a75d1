"""tests/servers/mariadb.py - a throwaway MariaDB (Debian's mariadb-server)
for tests.

    db = MariaDB(server_id=1)    # mariadb-install-db in a temp folder (~3 s)
    db.start()                   # waits until it answers over its socket
    db.sql("CREATE USER ...")    # SQL as root over the unix socket
    db.stop_server(); db.start() # a restart keeps the data (~0.5 s)
    db.replica_of(primary, "repl", "pw")  # CHANGE MASTER TO ..; START SLAVE
    MariaDB(tls=True)            # also TLS, self-signed (db.cert)
    db.stop()                    # stops it and removes the folder

The server runs as root (--user=root; mariadbd accepts that when told so),
with --no-defaults so that no /etc/mysql file applies, listens on
127.0.0.1 only, on a port picked once so that a restarted server comes back
where clients expect it, with its socket, pid file and binary log in its own
folder. Grant tables are on: a wrong password really fails. root@localhost
logs in over the socket without a password (--auth-root-authentication-
method=normal), which is how sql() runs. Every wait is bounded in time.
"""

import os
import subprocess
import time

from base import Server, free_port
from certs import self_signed

MARIADBD = "/usr/sbin/mariadbd"
INSTALL_DB = "/usr/bin/mariadb-install-db"
CLIENT = "/usr/bin/mariadb"


class MariaDB(Server):
    name = "mariadb"

    def __init__(self, server_id=1, max_connections=50, extra=None,
                 tls=False):
        """tls: serve TLS with a self-signed certificate (self.cert, its
        own CA; see certs.py)."""
        super().__init__()
        self.port = free_port()
        self.data = os.path.join(self.dir, "data")
        self.socket = os.path.join(self.dir, "mysqld.sock")
        self.server_id = server_id
        self.max_connections = max_connections
        self.extra = list(extra or [])
        self.cert = None
        try:
            if tls:
                self.cert, key = self_signed(self.dir, "server")
                self.extra += ["--ssl-cert=" + self.cert, "--ssl-key=" + key,
                               "--ssl-ca=" + self.cert]
            subprocess.run(
                [INSTALL_DB, "--no-defaults", "--datadir=" + self.data,
                 "--user=root", "--auth-root-authentication-method=normal",
                 "--skip-test-db"],
                stdin=subprocess.DEVNULL, capture_output=True, check=True,
                timeout=120)
        except BaseException:
            self.stop()
            raise

    def start(self, wait=True, seconds=30):
        self.spawn([
            MARIADBD, "--no-defaults", "--user=root",
            "--datadir=" + self.data, "--socket=" + self.socket,
            "--pid-file=" + os.path.join(self.dir, "mysqld.pid"),
            "--bind-address=127.0.0.1", "--port=%d" % self.port,
            "--skip-name-resolve", "--server-id=%d" % self.server_id,
            "--log-bin=" + os.path.join(self.dir, "binlog"),
            "--max-connections=%d" % self.max_connections,
            # Small and fast: the data is thrown away.
            "--innodb-buffer-pool-size=16M", "--innodb-log-file-size=8M",
            "--innodb-flush-log-at-trx-commit=0", "--sync-binlog=0",
            "--skip-innodb-doublewrite",
            "--log-error=" + os.path.join(self.dir, "error.log"),
        ] + self.extra)
        if wait:
            self.wait_ready(seconds)
        return self

    def log_tail(self, lines=20):
        try:
            with open(os.path.join(self.dir, "error.log"),
                      errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return super().log_tail(lines)

    def wait_ready(self, seconds=30):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            if self.sql("SELECT 1", check=False, timeout=5).returncode == 0:
                return
            time.sleep(0.05)
        raise RuntimeError("mariadbd did not answer within %ss:\n%s"
                           % (seconds, self.log_tail()))

    def sql(self, statements, check=True, timeout=30, batch=True):
        """Run SQL as root over the socket; CompletedProcess (text). With
        batch, values only, tab-separated; without, as the client shows
        them (for \\G: "Name: value" lines)."""
        flags = ["--batch", "--skip-column-names"] if batch else []
        proc = subprocess.run(
            [CLIENT, "--no-defaults", "-S", self.socket, "-uroot"] + flags
            + ["-e", statements],
            stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=timeout)
        if check and proc.returncode != 0:
            raise RuntimeError("mariadb -e %r: %s" % (statements,
                                                      proc.stderr))
        return proc

    def create_user(self, user, password, grants="ALL ON *.*"):
        """user@127.0.0.1 (how TCP clients arrive with skip-name-resolve)
        and user@localhost (the socket)."""
        for host in ("127.0.0.1", "localhost"):
            self.sql("CREATE USER '%s'@'%s' IDENTIFIED BY '%s'; "
                     "GRANT %s TO '%s'@'%s'"
                     % (user, host, password, grants, user, host))

    def replica_of(self, primary, user, password, seconds=30):
        """Replicate from `primary` (running) as user, until both threads
        run."""
        self.sql("CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=%d, "
                 "MASTER_USER='%s', MASTER_PASSWORD='%s', "
                 "MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1; START SLAVE"
                 % (primary.port, user, password))
        self.wait_replicating(seconds)

    def wait_replicating(self, seconds=30):
        """Until both replication threads run (after the primary came
        back, the IO thread reconnects within MASTER_CONNECT_RETRY)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            out = self.sql("SHOW SLAVE STATUS\\G", batch=False).stdout
            if ("Slave_IO_Running: Yes" in out
                    and "Slave_SQL_Running: Yes" in out):
                return
            time.sleep(0.05)
        raise RuntimeError("replication did not start within %ss:\n%s"
                           % (seconds, self.log_tail()))

    def stop_server(self):
        """Stop the process, keep the folder: start() brings it back."""
        self.kill_process()
