"""tests/conformance/targets/http.py - the http target: an HTTP health
endpoint: 503 while starting, 200 saying "starting", refused then 503 then
200, a /healthz that takes 2 s to answer while starting."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import truth  # noqa: E402
from base import free_port  # noqa: E402
from lifecycles import ANCHOR_SLEEP, delay, Lifecycle, wait_for_it  # noqa: E402


class Http:
    """A service whose health endpoint first fails, then works: 503 while
    it starts, or 200 with a body that says it is still starting, or no
    listener at all first, or an answer that takes `slow` seconds (a
    health handler waiting on a dependency that is not up yet)."""

    name = "http"
    SLOW = 2.0  # s: how long /healthz takes to answer while starting

    def __init__(self, short):
        self.state = ("503", "", 0.0)
        self.port = free_port()
        self.url = "http://127.0.0.1:%d/healthz" % self.port
        self.server = None

    def handler(self):
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                # The state when the request came in decides the answer,
                # also when it is sent seconds later.
                status, body, slow = outer.state
                if slow:
                    time.sleep(slow)
                data = body.encode()
                try:
                    self.send_response(int(status))
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # a client that gave up on a slow answer

            def log_message(self, *a):
                pass
        return Handler

    def listen(self):
        if self.server:
            return
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port),
                                          self.handler())
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever,
                         daemon=True).start()

    def close(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
        self.server = None

    def start(self):
        self.listen()

    def stop(self):
        self.close()

    def check(self):
        return truth.http_body("127.0.0.1", self.port, "/healthz", "ready")

    def client(self):
        return "[ \"$(curl -fsS --max-time 2 %s)\" = ready ]" % self.url

    def probe(self):
        return ("plugin = http\nurl = %s\nexpect_status = 200\n"
                "expect_body = ready\n" % self.url)

    def anchors(self):
        return {"curl -f": "until curl -fsS -o /dev/null --max-time 2 %s; "
                           "do sleep %s; done" % (self.url, ANCHOR_SLEEP),
                "wait-for-it": wait_for_it("127.0.0.1", self.port)}

    def set(self, status, body, slow=0.0):
        self.state = (status, body, slow)

    def lifecycles(self):
        def ready(rng):
            time.sleep(delay(rng))
            self.set("200", "ready")

        def starting(status, body, slow=0.0):
            def before():
                self.listen()
                self.set(status, body, slow)
            return before

        def down():
            self.close()
            self.set("503", "starting")

        def up_503_200(rng):
            # the listener comes up answering 503, then the app is ready
            time.sleep(delay(rng) / 2)
            self.listen()
            time.sleep(delay(rng) / 2)
            self.set("200", "ready")

        return [
            Lifecycle(self, "503 then 200", starting("503", "starting"),
                      ready),
            Lifecycle(self, "'starting' then 'ready'",
                      starting("200", "starting"), ready),
            Lifecycle(self, "refused, then 503, then 200", down, up_503_200),
            Lifecycle(self, "slow /healthz (2 s) while starting",
                      starting("503", "starting", self.SLOW), ready)]
