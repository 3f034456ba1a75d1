"""tests/conformance/targets/http.py - the http target: an HTTP health endpoint: 503 while starting, or 200 saying "starting"."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import truth  # noqa: E402
from lifecycles import ANCHOR_SLEEP, delay, Lifecycle, wait_for_it  # noqa: E402


class Http:
    """A service whose health endpoint first fails, then works: 503 while
    it starts, or 200 with a body that says it is still starting."""

    name = "http"

    def __init__(self, short):
        self.state = ("503", "")
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                status, body = outer.state
                data = body.encode()
                self.send_response(int(status))
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d/healthz" % self.port

    def start(self):
        threading.Thread(target=self.server.serve_forever,
                         daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

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

    def set(self, status, body):
        self.state = (status, body)

    def lifecycles(self):
        def ready(rng):
            time.sleep(delay(rng))
            self.set("200", "ready")
        return [
            Lifecycle(self, "503 then 200",
                      lambda: self.set("503", "starting"), ready),
            Lifecycle(self, "'starting' then 'ready'",
                      lambda: self.set("200", "starting"), ready)]
