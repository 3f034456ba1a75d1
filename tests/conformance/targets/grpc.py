"""tests/conformance/targets/grpc.py - the grpc target: a python3-grpcio
server with the Health service (tests/servers/grpchealth.py) that starts
late, answers NOT_SERVING, or does not know the service yet (UNKNOWN, or
NOT_FOUND as grpc's own health servicers answer for a service nobody has
registered), before SERVING."""

import os
import shlex
import sys
import time

import truth  # noqa: E402
from lifecycles import ANCHOR_SLEEP, delay, Lifecycle, wait_for_it  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT = os.path.join(HERE, "..", "grpc_client.py")
SERVICE = "orders.v1.Orders"


class Grpc:
    name = "grpc"

    def __init__(self, short):
        self.srv = None
        self.service = ""  # the probe asks about the server as a whole

    def start(self):
        from grpchealth import GrpcHealth
        # lives as long as a full run may take; stop() ends it before
        self.srv = GrpcHealth(lifetime=3600)
        self.target = "127.0.0.1:%d" % self.srv.plain

    def stop(self):
        if self.srv:
            self.srv.stop()

    def check(self):
        return truth.grpc_health(self.target, self.service)

    def client(self):
        # curl over h2c with the request frame: a client that starts in
        # milliseconds, so the call is made at the moment of the pass
        # (python3-grpcio takes ~0.7 s to import here: by then a server
        # may have become ready, and an early pass would go unseen).
        # SERVING is exactly the frame 00 00000002 08 01.
        svc = self.service.encode()
        msg = (b"\x0a" + bytes([len(svc)]) + svc) if svc else b""
        req = os.path.join(self.srv.dir, "request-%s.bin" % (svc.hex() or "all"))
        with open(req, "wb") as f:
            f.write(b"\0" + len(msg).to_bytes(4, "big") + msg)
        return ("[ \"$(curl -sS --max-time 2 --http2-prior-knowledge "
                "-H 'content-type: application/grpc' -H 'te: trailers' "
                "--data-binary @%s http://%s/grpc.health.v1.Health/Check | "
                "od -An -tx1 | tr -d ' \\n')\" = 00000000020801 ]"
                % (req, self.target))

    def python_client(self):
        return "%s %s %s %s" % (sys.executable, CLIENT, self.target,
                                shlex.quote(self.service))

    def probe(self):
        return ("plugin = grpc\ntarget = %s\nplaintext = true\n%s"
                % (self.target, "service = %s\n" % self.service
                   if self.service else ""))

    def anchors(self):
        return {"grpc client loop": "until %s >/dev/null 2>&1; do sleep %s; "
                                    "done" % (self.python_client(),
                                              ANCHOR_SLEEP),
                "wait-for-it": wait_for_it("127.0.0.1", self.srv.plain)}

    def serving(self, services, service=""):
        def before():
            if self.srv.proc is None or self.srv.proc.poll() is not None:
                self.srv.launch()
            self.service = service
            self.srv.set(services=services)
        return before

    def lifecycles(self):
        def stopped():
            self.serving({"": "SERVING"})()
            self.srv.kill_process()

        def start_late(rng):
            time.sleep(delay(rng))
            self.srv.launch(wait=False)

        def becomes(services):
            def act(rng):
                time.sleep(delay(rng))
                self.srv.set(services=services)
            return act
        up = {"": "SERVING", SERVICE: "SERVING"}
        return [
            Lifecycle(self, "server starts late", stopped, start_late),
            Lifecycle(self, "NOT_SERVING then SERVING",
                      self.serving({"": "NOT_SERVING"}), becomes(up)),
            Lifecycle(self, "service UNKNOWN then SERVING",
                      self.serving({"": "SERVING", SERVICE: "UNKNOWN"},
                                   SERVICE), becomes(up)),
            Lifecycle(self, "service not registered yet (NOT_FOUND), then "
                            "SERVING",
                      self.serving({"": "SERVING"}, SERVICE), becomes(up))]
