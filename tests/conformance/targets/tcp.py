"""tests/conformance/targets/tcp.py - the tcp target: a TCP listener that starts listening late."""

import socket
import threading
import time

import truth  # noqa: E402
from base import free_port  # noqa: E402
from lifecycles import delay, Lifecycle, wait_for_it  # noqa: E402


class Tcp:
    name = "tcp"

    def __init__(self, short):
        self.port = free_port()
        self.sock = None
        self.lock = threading.Lock()

    def start(self):
        pass

    def stop(self):
        self.close()

    def listen(self):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(128)
        with self.lock:
            self.sock = s

    def close(self):
        with self.lock:
            if self.sock:
                self.sock.close()
            self.sock = None

    def check(self):
        return truth.tcp("127.0.0.1", self.port)

    def client(self):
        return "bash -c 'exec 3<>/dev/tcp/127.0.0.1/%d'" % self.port

    def probe(self):
        return "plugin = tcp\nhost = 127.0.0.1\nport = %d\n" % self.port

    def anchors(self):
        return {"wait-for-it": wait_for_it("127.0.0.1", self.port)}

    def lifecycles(self):
        return [Lifecycle(self, "cold start", self.close,
                          lambda rng: (time.sleep(delay(rng)),
                                       self.listen()))]
