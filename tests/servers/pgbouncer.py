"""tests/servers/pgbouncer.py - a real PgBouncer (Debian's pgbouncer) in
front of a test PostgreSQL (tests/servers/postgres.py).

    pgb = PgBouncer(pg, databases={"appdb": "dbname=appdb"},
                    users={"app": "app-pw"}, pool_size=1)
    pgb.start()                       # waits until the admin console answers
    pgb.dsn("app", "appdb", "app-pw") # host=127.0.0.1 port=... (the pooler)
    pgb.admin_dsn()                   # the admin console (dbname=pgbouncer)
    pgb.stop()                        # kills it and removes its folder

PgBouncer runs from a temporary folder with its own ini, on a free port on
127.0.0.1, as the `postgres` OS user (it refuses root), auth_type md5
against a userlist (plain-text passwords in it, which md5 accepts), the
admin console open to the user `admin` (admin_users). Server connections
go to the PostgreSQL over TCP with the users' own passwords. Every wait
is bounded in time.
"""

import os
import pwd
import subprocess
import time

from base import Server, free_port, wait_tcp

PGBOUNCER = "/usr/sbin/pgbouncer"
ADMIN_USER = "admin"
ADMIN_PASSWORD = "admin-pw-1"


def _quote(text):
    return '"' + text.replace('"', '""') + '"'


class PgBouncer(Server):
    name = "pgbouncer"

    def __init__(self, pg, databases, users, pool_size=5, pool_mode="session",
                 query_wait_timeout=120):
        super().__init__()
        self.pg = pg
        self.port = free_port()
        pw = pwd.getpwnam("postgres")
        os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        users = dict(users, **{ADMIN_USER: ADMIN_PASSWORD})
        with open(os.path.join(self.dir, "userlist.txt"), "w") as f:
            for user, password in users.items():
                f.write("%s %s\n" % (_quote(user), _quote(password)))
        dbs = "\n".join(
            "%s = host=127.0.0.1 port=%d %s" % (name, pg.port, conn)
            for name, conn in databases.items())
        with open(os.path.join(self.dir, "pgbouncer.ini"), "w") as f:
            f.write("""[databases]
%s

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = md5
auth_file = %s
admin_users = %s
pool_mode = %s
default_pool_size = %d
max_client_conn = 50
query_wait_timeout = %d
server_login_retry = 1
logfile =
pidfile =
""" % (dbs, self.port, os.path.join(self.dir, "userlist.txt"), ADMIN_USER,
                pool_mode, pool_size, query_wait_timeout))
        for name in ("userlist.txt", "pgbouncer.ini"):
            os.chown(os.path.join(self.dir, name), pw.pw_uid, pw.pw_gid)
            os.chmod(os.path.join(self.dir, name), 0o600)

    def start(self):
        self.spawn([PGBOUNCER, os.path.join(self.dir, "pgbouncer.ini")],
                   user="postgres", cwd=self.dir)
        if not wait_tcp("127.0.0.1", self.port, 20):
            raise RuntimeError("pgbouncer did not listen:\n" + self.log_tail())

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.kill_process()
        Server.stop(self)

    def dsn(self, user, db, password=None):
        parts = ["host=127.0.0.1", "port=%d" % self.port, "dbname=" + db,
                 "user=" + user]
        if password is not None:
            parts.append("password=" + password)
        return " ".join(parts)

    def admin_dsn(self, password=ADMIN_PASSWORD):
        return self.dsn(ADMIN_USER, "pgbouncer", password)

    def admin(self, command):
        """One admin console command with psql (simple query protocol);
        the rows, '|'-separated."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["PGPASSWORD"] = ADMIN_PASSWORD
        proc = subprocess.run(
            ["/usr/lib/postgresql/15/bin/psql", "-X", "-A", "-t", "-h",
             "127.0.0.1", "-p", str(self.port), "-U", ADMIN_USER, "-d",
             "pgbouncer", "-c", command],
            stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=20, env=env)
        if proc.returncode != 0:
            raise RuntimeError("admin %s: %s" % (command, proc.stderr))
        return proc.stdout.strip()

    def wait_pool(self, predicate, seconds=10):
        """Wait until predicate(row) holds for a SHOW POOLS row (a dict)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for row in self.pools():
                if predicate(row):
                    return row
            time.sleep(0.1)
        return None

    def pools(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["PGPASSWORD"] = ADMIN_PASSWORD
        proc = subprocess.run(
            ["/usr/lib/postgresql/15/bin/psql", "-X", "-A", "-h", "127.0.0.1",
             "-p", str(self.port), "-U", ADMIN_USER, "-d", "pgbouncer", "-c",
             "SHOW POOLS"],
            stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=20, env=env)
        lines = proc.stdout.strip().splitlines()
        if proc.returncode != 0 or len(lines) < 2:
            return []
        head = lines[0].split("|")
        return [dict(zip(head, line.split("|"))) for line in lines[1:-1]]
