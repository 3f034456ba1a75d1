"""tests/servers/rabbitmq.py - a throwaway RabbitMQ (Debian's
rabbitmq-server, 3.10) for tests.

    mq = RabbitMQ(users={"app": "pw"}, vhosts={"apps": ["app"]},
                  queues={"apps": ["jobs"]})
    mq.start()            # waits until it answers the AMQP header (~9 s)
    mq.ctl("list_queues") # rabbitmqctl against this node
    mq.publish("apps", "jobs", "hello")
    mq.lock_queue("apps", "mine")   # exclusive to another owner: 405
    RabbitMQ(tls=True)    # also AMQPS on mq.tls_port, self-signed (mq.cert)
    mq.stop_server(wipe=True)  # stopped, Mnesia gone: start() boots anew
    mq.stop()             # stops broker and epmd, removes the folder

The node is the test's own: its name gpcheck-test-PORT@localhost, its
Mnesia database, logs, config, enabled-plugins file and Erlang cookie (in a
temporary HOME) in its own folder; AMQP on 127.0.0.1 on a free port, and
Erlang distribution and epmd on free loopback ports too, so that it meets
no other node on the machine. epmd runs in the foreground as a process of
ours (rabbitmq-server would otherwise start `epmd -daemon`, which outlives
everything). Users, vhosts, permissions and queues come from a definitions
file loaded at boot: no rabbitmqctl round trips (about a second each).
The broker runs as root, from the sbin folder of the package (the
/usr/sbin wrapper would switch to the rabbitmq user, which cannot write
our folder). Every wait is bounded in time.
"""

import base64
import glob
import hashlib
import json
import os
import signal
import socket
import subprocess
import time

from base import Server, free_port
from certs import self_signed

SBIN = (sorted(glob.glob("/usr/lib/rabbitmq/lib/rabbitmq_server-*/sbin"))
        or ["/usr/lib/rabbitmq/bin"])[-1]
EPMD = (sorted(glob.glob("/usr/lib/erlang/erts-*/bin/epmd"))
        or ["/usr/bin/epmd"])[-1]
AMQP_HEADER = b"AMQP\x00\x00\x09\x01"


def password_hash(password):
    """rabbit_password_hashing_sha256: base64(salt + sha256(salt + pw))."""
    salt = os.urandom(4)
    digest = hashlib.sha256(salt + password.encode()).digest()
    return base64.b64encode(salt + digest).decode()


def amqp_answers(host, port, timeout=1.0):
    """True when the peer answers the AMQP 0-9-1 header with a method
    frame (connection.start): the broker is booted, not just listening."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.sendall(AMQP_HEADER)
            return s.recv(1)[:1] == b"\x01"
    except OSError:
        return False


class RabbitMQ(Server):
    name = "rabbitmq"

    def __init__(self, users=None, vhosts=None, queues=None, tls=False):
        """users: {name: password}; vhosts: {vhost: [users with all
        permissions]}; queues: {vhost: [durable queue names]}; tls: also
        an AMQPS listener on self.tls_port with a self-signed certificate
        (self.cert, its own CA; see certs.py)."""
        super().__init__()
        self.port = free_port()
        self.tls_port = free_port() if tls else None
        self.cert = self.key = None
        if tls:
            self.cert, self.key = self_signed(self.dir, "server")
        self.dist_port = free_port()
        self.epmd_port = free_port()
        self.node = "gpcheck-test-%d@localhost" % self.port
        self.users = users or {}
        self.vhosts = vhosts or {"/": list(self.users)}
        self.queues = queues or {}
        self.epmd = None
        self.home = os.path.join(self.dir, "home")
        os.makedirs(self.home)
        cookie = os.path.join(self.home, ".erlang.cookie")
        with open(cookie, "w") as f:
            f.write(base64.b16encode(os.urandom(16)).decode())
        os.chmod(cookie, 0o400)
        self.write_config()

    def write_config(self):
        defs = {
            "users": [{"name": u, "password_hash": password_hash(pw),
                       "hashing_algorithm": "rabbit_password_hashing_sha256",
                       "tags": []} for u, pw in self.users.items()],
            "vhosts": [{"name": v} for v in self.vhosts],
            "permissions": [{"user": u, "vhost": v, "configure": ".*",
                             "write": ".*", "read": ".*"}
                            for v, us in self.vhosts.items() for u in us],
            "queues": [{"name": q, "vhost": v, "durable": True,
                        "auto_delete": False, "arguments": {}}
                       for v, qs in self.queues.items() for q in qs],
        }
        path = os.path.join(self.dir, "definitions.json")
        with open(path, "w") as f:
            json.dump(defs, f)
        with open(os.path.join(self.dir, "rabbitmq.conf"), "w") as f:
            f.write("listeners.tcp.1 = 127.0.0.1:%d\n"
                    "loopback_users = none\n"
                    "load_definitions = %s\n"
                    "log.console = false\n"
                    "log.file.level = warning\n" % (self.port, path))
            if self.tls_port:
                f.write("listeners.ssl.1 = 127.0.0.1:%d\n"
                        "ssl_options.cacertfile = %s\n"
                        "ssl_options.certfile = %s\n"
                        "ssl_options.keyfile = %s\n"
                        "ssl_options.verify = verify_none\n"
                        "ssl_options.fail_if_no_peer_cert = false\n"
                        % (self.tls_port, self.cert, self.cert, self.key))
        with open(os.path.join(self.dir, "enabled_plugins"), "w") as f:
            f.write("[].\n")

    def env(self):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("RABBITMQ_", "ERL_"))}
        env.update({
            "HOME": self.home,
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "ERL_EPMD_PORT": str(self.epmd_port),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_MNESIA_BASE": os.path.join(self.dir, "mnesia"),
            "RABBITMQ_LOG_BASE": os.path.join(self.dir, "log"),
            "RABBITMQ_CONFIG_FILE": os.path.join(self.dir, "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE":
                os.path.join(self.dir, "advanced.config"),
            "RABBITMQ_ENABLED_PLUGINS_FILE":
                os.path.join(self.dir, "enabled_plugins"),
            "RABBITMQ_PID_FILE": os.path.join(self.dir, "rabbit.pid"),
        })
        return env

    def start(self, wait=True, seconds=60):
        env = self.env()
        log = open(os.path.join(self.dir, "epmd.log"), "ab")
        self.epmd = subprocess.Popen(
            [EPMD, "-port", str(self.epmd_port), "-address", "127.0.0.1"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, env=env)
        log.close()
        self.spawn([os.path.join(SBIN, "rabbitmq-server")], env=env)
        if wait:
            self.wait_ready(seconds)
        return self

    def wait_ready(self, seconds=60):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            if amqp_answers(self.host, self.port):
                return
            time.sleep(0.1)
        raise RuntimeError("rabbitmq did not answer within %ss:\n%s"
                           % (seconds, self.log_tail()))

    def log_tail(self, lines=20):
        text = super().log_tail(lines)
        for path in glob.glob(os.path.join(self.dir, "log", "*.log")):
            with open(path, errors="replace") as f:
                text += "".join(f.readlines()[-lines:])
        return text

    def ctl(self, *args, timeout=60):
        """rabbitmqctl ARGS against this node; CompletedProcess (text)."""
        proc = subprocess.run(
            [os.path.join(SBIN, "rabbitmqctl"), "-n", self.node] + list(args),
            env=self.env(), stdin=subprocess.DEVNULL, capture_output=True,
            text=True, timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError("rabbitmqctl %s: %s%s"
                               % (" ".join(args), proc.stdout, proc.stderr))
        return proc

    def publish(self, vhost, queue, body, count=1):
        """Publish `count` messages to `queue` through the default
        exchange, from inside the broker (rabbitmqctl eval)."""
        self.ctl("eval", (
            "X = rabbit_misc:r(<<\"%s\">>, exchange, <<>>), "
            "[rabbit_basic:publish(X, <<\"%s\">>, [], <<\"%s\">>) "
            "|| _ <- lists:seq(1, %d)], ok.") % (vhost, queue, body, count))

    def lock_queue(self, vhost, queue):
        """Declare `queue` exclusive to a process inside the broker that
        lives as long as the node: other connections then get 405
        RESOURCE_LOCKED for it, as for another client's exclusive queue."""
        self.ctl("eval", (
            "Owner = spawn(fun() -> receive stop -> ok end end), "
            "{new, _} = rabbit_amqqueue:declare(rabbit_misc:r(<<\"%s\">>, "
            "queue, <<\"%s\">>), false, false, [], Owner, <<\"test\">>), "
            "ok.") % (vhost, queue))

    def stop_server(self, wipe=False):
        """Stop the broker and epmd, keep the folder: start() brings the
        node back on the same ports. wipe: also remove its Mnesia
        database, so that the next start is a first boot (definitions
        loaded again)."""
        self.kill_process()
        self.stop_epmd()
        if wipe:
            import shutil
            shutil.rmtree(os.path.join(self.dir, "mnesia"), ignore_errors=True)

    def stop_epmd(self):
        if self.epmd is not None and self.epmd.poll() is None:
            try:
                os.killpg(self.epmd.pid, signal.SIGTERM)
                self.epmd.wait(10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(self.epmd.pid, signal.SIGKILL)
                self.epmd.wait(10)

    def stop(self):
        self.kill_process()
        self.stop_epmd()
        super().stop()
