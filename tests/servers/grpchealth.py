"""tests/servers/grpchealth.py - a real gRPC server (Debian's python3-grpcio)
serving the Health Checking Protocol's Check, for the grpc probe's tests.

    g = GrpcHealth(cert=leaf, ca=pki.root.cert)  # three ports, one process
    g.plain, g.tls, g.mtls                  # h2c, TLS, TLS + client cert
    g.launch(wait=False)                    # restarted on the same h2c port
    g.set(services={"": "SERVING", "db": "NOT_SERVING",
                    "gone": "grpc:UNAVAILABLE"},
          unimplemented=False, sleep=0, token=None)
    g.stop()
    n = Nghttpd()                           # an HTTP/2 server, not gRPC

The status is switchable at run time: set() rewrites a JSON state file
(atomically) that the server reads on every call. A service's entry is a
ServingStatus name (SERVING, NOT_SERVING, UNKNOWN, SERVICE_UNKNOWN) or
"grpc:CODE" (the call fails with that status code); a service not listed
gets NOT_FOUND, as grpc's own health servicer answers. unimplemented makes
the server have no Health service at all (UNIMPLEMENTED); sleep delays
each answer; token, when set, is the `authorization` metadata every call
must carry (else UNAUTHENTICATED). Each call's metadata is appended to
calls.log, one JSON object a line, with "_time_remaining": the seconds
the client's grpc-timeout left the call.

Debian has no grpc_health module (python3-grpc-tools is not packaged),
so the service is a generic handler with the messages serialised by hand:
HealthCheckRequest is field 1 (string), HealthCheckResponse field 1
(enum) - one tag byte each. Run as a script, this file is the server.
Every wait is bounded in time.
"""

import json
import os
import sys
import time

from base import Server, free_port, wait_tcp

STATUSES = {"UNKNOWN": 0, "SERVING": 1, "NOT_SERVING": 2,
            "SERVICE_UNKNOWN": 3}


class GrpcHealth(Server):
    name = "grpc"

    def __init__(self, cert=None, ca=None, port=0, lifetime=600):
        """port: the h2c port (0: any free one); lifetime: seconds the
        server lives at most (it ends with stop() before that)."""
        super().__init__()
        self.state = os.path.join(self.dir, "state.json")
        self.calls = os.path.join(self.dir, "calls.log")
        self.ports_file = os.path.join(self.dir, "ports")
        self.set()
        self.argv = [sys.executable, os.path.abspath(__file__),
                     "--port", str(port), "--lifetime", str(lifetime),
                     self.state, self.calls, self.ports_file]
        if cert:
            self.argv += [cert.chain, cert.key, ca]
        self.launch()

    def launch(self, wait=True):
        """(Re)start the server process; its h2c port is then fixed, so a
        restart (a server that starts late) listens where it did. wait:
        until every port listens."""
        self.kill_process()
        if os.path.exists(self.ports_file):
            os.unlink(self.ports_file)
        self.spawn(self.argv)
        if not wait:
            return
        deadline = time.monotonic() + 30
        while not os.path.exists(self.ports_file) and \
                time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        try:
            with open(self.ports_file) as f:
                p = [int(x) for x in f.read().split()]
        except OSError:
            log = self.log_tail()
            self.stop()
            raise RuntimeError("the gRPC server did not start: " + log)
        self.plain = p[0]
        self.tls, self.mtls = (p[1], p[2]) if len(p) == 3 else (None, None)
        # the same ports on a restart
        i = self.argv.index("--port") + 1
        self.argv[i] = str(self.plain)
        for port in p:
            if not wait_tcp(self.host, port, 10):
                self.stop()
                raise RuntimeError("gRPC port %d is not listening" % port)

    def set(self, services=None, unimplemented=False, sleep=0, token=None):
        tmp = self.state + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"services": {"": "SERVING"} if services is None
                       else services, "unimplemented": unimplemented,
                       "sleep": sleep, "token": token}, f)
        os.replace(tmp, self.state)

    def call_log(self):
        try:
            with open(self.calls) as f:
                return [json.loads(line) for line in f]
        except OSError:
            return []


class Nghttpd(Server):
    """Debian's nghttpd (nghttp2-server) in h2c mode, serving an empty
    folder: a real HTTP/2 server that is not a gRPC one (404 for every
    path)."""

    name = "nghttpd"

    def __init__(self):
        super().__init__()
        self.port = free_port()
        docroot = os.path.join(self.dir, "www")
        os.mkdir(docroot)
        self.spawn(["nghttpd", "--no-tls", "-d", docroot, "--address",
                    self.host, str(self.port)])
        if not wait_tcp(self.host, self.port, 20):
            log = self.log_tail()
            self.stop()
            raise RuntimeError("nghttpd did not start: " + log)


# ---- the server (run as a script) ----------------------------------------

def _varint(data, i):
    shift = value = 0
    while True:
        b = data[i]
        i += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, i
        shift += 7


def _service_of(request):
    """HealthCheckRequest.service (field 1, length-delimited)."""
    i, service = 0, ""
    while i < len(request):
        tag, i = _varint(request, i)
        if tag & 7 == 2:
            n, i = _varint(request, i)
            if tag >> 3 == 1:
                service = request[i:i + n].decode()
            i += n
        elif tag & 7 == 0:
            _, i = _varint(request, i)
        else:
            raise ValueError("wire type %d" % (tag & 7))
    return service


def _serve(state_path, calls_path, ports_path, tls, port, lifetime):
    from concurrent import futures

    import grpc

    def state():
        with open(state_path) as f:
            return json.load(f)

    def check(request, context):
        st = state()
        md = {k: v for k, v in context.invocation_metadata()}
        # What the client's grpc-timeout left (None: no deadline).
        md["_time_remaining"] = context.time_remaining()
        with open(calls_path, "a") as f:
            f.write(json.dumps(md) + "\n")
        time.sleep(min(float(st.get("sleep") or 0), 30))
        if st.get("token") and md.get("authorization") != st["token"]:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "bad token")
        service = _service_of(request)
        what = st["services"].get(service)
        if what is None:
            context.abort(grpc.StatusCode.NOT_FOUND, "unknown service")
        if what.startswith("grpc:"):
            context.abort(getattr(grpc.StatusCode, what[5:]),
                          "set by the test: %s" % what[5:])
        code = STATUSES[what]
        return bytes([0x08, code]) if code else b""

    class Health(grpc.GenericRpcHandler):
        def service(self, details):
            if (details.method != "/grpc.health.v1.Health/Check"
                    or state().get("unimplemented")):
                return None  # UNIMPLEMENTED
            return grpc.unary_unary_rpc_method_handler(check)

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4),
                         handlers=[Health()])
    ports = [server.add_insecure_port("127.0.0.1:%d" % port)]
    if tls:
        chain, key, ca = tls
        with open(chain, "rb") as f:
            chain_pem = f.read()
        with open(key, "rb") as f:
            key_pem = f.read()
        with open(ca, "rb") as f:
            ca_pem = f.read()
        ports.append(server.add_secure_port(
            "127.0.0.1:0",
            grpc.ssl_server_credentials([(key_pem, chain_pem)])))
        ports.append(server.add_secure_port(
            "127.0.0.1:0",
            grpc.ssl_server_credentials([(key_pem, chain_pem)], ca_pem,
                                        require_client_auth=True)))
    server.start()
    tmp = ports_path + ".tmp"
    with open(tmp, "w") as f:
        f.write(" ".join(str(p) for p in ports))
    os.replace(tmp, ports_path)
    # Ends with the test (stop() kills the session); a lifetime bounds a
    # forgotten one.
    server.wait_for_termination(lifetime)


if __name__ == "__main__":
    a = sys.argv[1:]
    opts = {}
    while a and a[0].startswith("--"):
        opts[a[0]] = float(a[1])
        a = a[2:]
    _serve(a[0], a[1], a[2], a[3:6] if len(a) >= 6 else None,
           int(opts.get("--port", 0)), opts.get("--lifetime", 600))
