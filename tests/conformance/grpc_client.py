#!/usr/bin/env python3
"""tests/conformance/grpc_client.py - a gRPC client for the command line
(there is no grpcurl or grpc_health_probe in Debian): one
grpc.health.v1.Health/Check through python3-grpcio.

    grpc_client.py HOST:PORT [SERVICE]

Exits 0 when the answer is SERVING, 1 otherwise (the status or the error
on stderr). The call is bounded by 2 s.
"""

import sys

import grpc

STATUSES = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}


def main():
    target = sys.argv[1]
    svc = (sys.argv[2] if len(sys.argv) > 2 else "").encode()
    # HealthCheckRequest {service = 1}, written by hand: Debian has no
    # grpc_health module
    req = (b"\x0a" + bytes([len(svc)]) + svc) if svc else b""
    with grpc.insecure_channel(target) as ch:
        try:
            reply = ch.unary_unary("/grpc.health.v1.Health/Check")(
                req, timeout=2)
        except grpc.RpcError as e:
            print("%s: %s" % (e.code().name, e.details()), file=sys.stderr)
            return 1
    # HealthCheckResponse {status = 1}: an empty message is UNKNOWN (0)
    status = reply[1] if reply[:1] == b"\x08" and len(reply) == 2 else 0
    print(STATUSES.get(status, str(status)))
    return 0 if status == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
