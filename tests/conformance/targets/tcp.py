"""tests/conformance/targets/tcp.py - the tcp target: a TCP listener that
starts listening late; a port bound but not listening; a listener whose
accept queue is full until the application starts accepting."""

import socket
import threading
import time

import truth  # noqa: E402
from base import free_port  # noqa: E402
from lifecycles import delay, Lifecycle, wait_for_it  # noqa: E402


class Tcp:
    """One port. Ready, for a tcp probe, means a connect completes: a
    listener whose accept queue is full drops the SYN (the connect waits
    for the kernel's retransmission), which is as not-ready as refused."""

    name = "tcp"

    def __init__(self, short):
        self.port = free_port()
        self.sock = None
        self.held = []  # client sockets filling the accept queue
        self.accepting = None  # (thread, stop event) draining the queue
        self.lock = threading.Lock()

    def start(self):
        pass

    def stop(self):
        self.close()

    def bind(self):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        with self.lock:
            self.sock = s
        return s

    def listen(self, backlog=128):
        with self.lock:
            s = self.sock
        (s or self.bind()).listen(backlog)

    def close(self):
        if self.accepting:
            thread, stop_ev = self.accepting
            stop_ev.set()
            thread.join(5)
            self.accepting = None
        for c in self.held:
            c.close()
        self.held = []
        with self.lock:
            if self.sock:
                self.sock.close()
            self.sock = None

    def check(self):
        return truth.tcp("127.0.0.1", self.port)

    def client(self):
        # bounded: a connect to a full queue would wait for minutes
        return ("timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/%d'"
                % self.port)

    def probe(self):
        return "plugin = tcp\nhost = 127.0.0.1\nport = %d\n" % self.port

    def anchors(self):
        return {"wait-for-it": wait_for_it("127.0.0.1", self.port)}

    def full(self):
        """Listening with an accept queue of one that nobody accepts, and
        the queue filled: further SYNs are dropped."""
        self.close()
        self.listen(backlog=1)
        for _ in range(16):  # Linux queues backlog + 1: two, a few more
            c = socket.socket()
            c.settimeout(0.3)
            try:
                c.connect(("127.0.0.1", self.port))
            except OSError:
                c.close()
                break
            self.held.append(c)
        else:
            raise RuntimeError("tcp: the accept queue did not fill")

    def accept(self, rng):
        """The application starts accepting (and closing) connections."""
        time.sleep(delay(rng))
        stop_ev = threading.Event()
        with self.lock:
            s = self.sock
        s.settimeout(0.05)

        def loop():
            while not stop_ev.is_set():
                try:
                    conn, _ = s.accept()
                    conn.close()
                except OSError:
                    continue
        t = threading.Thread(target=loop, daemon=True)
        t.start()
        self.accepting = (t, stop_ev)

    def lifecycles(self):
        def bound():
            self.close()
            self.bind()

        return [Lifecycle(self, "cold start", self.close,
                          lambda rng: (time.sleep(delay(rng)),
                                       self.listen())),
                Lifecycle(self, "bound, listening late", bound,
                          lambda rng: (time.sleep(delay(rng)),
                                       self.listen())),
                Lifecycle(self, "accept queue full, then accepting",
                          self.full, self.accept)]
