"""tests/conformance/truth.py - the independent clients that say whether a
service really serves: libpq and hiredis through ctypes (the C libraries
psql and redis-cli are built on), Python's http.client and ssl, dig,
python3-grpcio, a plain connect.

Each check() makes one representative request, a write and a read where
the service has both, and returns True only when both worked. They are
called every 5 ms by the truth poller, so each is bounded by a short
timeout and opens its own connection (a pooled one would hide a server
that refuses new clients).
"""

import ctypes
import ctypes.util
import http.client
import json
import socket
import ssl
import subprocess
import urllib.parse

_pq = ctypes.CDLL(ctypes.util.find_library("pq") or "libpq.so.5")
_pq.PQconnectdb.restype = ctypes.c_void_p
_pq.PQconnectdb.argtypes = [ctypes.c_char_p]
_pq.PQstatus.argtypes = [ctypes.c_void_p]
_pq.PQexec.restype = ctypes.c_void_p
_pq.PQexec.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
_pq.PQresultStatus.argtypes = [ctypes.c_void_p]
_pq.PQntuples.argtypes = [ctypes.c_void_p]
_pq.PQclear.argtypes = [ctypes.c_void_p]
_pq.PQfinish.argtypes = [ctypes.c_void_p]
PGRES_TUPLES_OK = 2

_hi = ctypes.CDLL(ctypes.util.find_library("hiredis") or
                  "libhiredis.so.0.14")


class _Timeval(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long)]


_hi.redisConnectWithTimeout.restype = ctypes.c_void_p
_hi.redisConnectWithTimeout.argtypes = [ctypes.c_char_p, ctypes.c_int,
                                        _Timeval]
_hi.redisSetTimeout.argtypes = [ctypes.c_void_p, _Timeval]
_hi.redisCommand.restype = ctypes.c_void_p
_hi.freeReplyObject.argtypes = [ctypes.c_void_p]
_hi.redisFree.argtypes = [ctypes.c_void_p]
REDIS_REPLY_STRING, REDIS_REPLY_STATUS, REDIS_REPLY_ERROR = 1, 5, 6


def postgres(conninfo):
    """Connect, write to a temporary table, read it back."""
    conn = _pq.PQconnectdb(conninfo.encode() + b" connect_timeout=1")
    try:
        if not conn or _pq.PQstatus(conn) != 0:  # CONNECTION_OK
            return False
        res = _pq.PQexec(conn, b"CREATE TEMP TABLE truth(x int); "
                               b"INSERT INTO truth VALUES (1); "
                               b"SELECT x FROM truth")
        ok = bool(res) and _pq.PQresultStatus(res) == PGRES_TUPLES_OK \
            and _pq.PQntuples(res) == 1
        if res:
            _pq.PQclear(res)
        return ok
    finally:
        if conn:
            _pq.PQfinish(conn)


def _reply_type(reply):
    return ctypes.cast(reply, ctypes.POINTER(ctypes.c_int))[0]


def redis(host, port):
    """SET then GET one key through hiredis; an error reply (LOADING,
    MASTERDOWN, BUSY) is not serving."""
    tv = _Timeval(0, 200000)
    c = _hi.redisConnectWithTimeout(host.encode(), port, tv)
    if not c:
        return False
    try:
        if ctypes.cast(c, ctypes.POINTER(ctypes.c_int))[0] != 0:  # c->err
            return False
        _hi.redisSetTimeout(c, tv)
        for cmd in (b"SET gpcheck:truth 1", b"GET gpcheck:truth"):
            reply = _hi.redisCommand(ctypes.c_void_p(c), ctypes.c_char_p(cmd))
            if not reply:
                return False
            t = _reply_type(reply)
            _hi.freeReplyObject(reply)
            if t not in (REDIS_REPLY_STATUS, REDIS_REPLY_STRING):
                return False
        return True
    finally:
        _hi.redisFree(c)


def http_body(host, port, path, want):
    """GET path: 200 with `want` in the body."""
    conn = http.client.HTTPConnection(host, port, timeout=0.2)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status == 200 and want in r.read().decode(errors="replace")
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def tcp(host, port):
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def dns(port, name, address):
    """dig's answer for NAME A from the server on 127.0.0.1:PORT is
    exactly ADDRESS."""
    try:
        out = subprocess.run(["dig", "+short", "+time=1", "+tries=1", "-p",
                              str(port), "@127.0.0.1", name, "A"],
                             capture_output=True, text=True, timeout=2)
    except subprocess.TimeoutExpired:
        return False
    return out.returncode == 0 and out.stdout.split() == [address]


def tls(host, port, server_name, ca_file):
    """A TLS handshake that verifies the chain against ca_file and the
    certificate's name against server_name, then one HTTP request on it
    (openssl s_server -www answers with a 200 page)."""
    ctx = ssl.create_default_context(cafile=ca_file)
    try:
        with socket.create_connection((host, port), timeout=0.2) as raw:
            with ctx.wrap_socket(raw, server_hostname=server_name) as s:
                s.sendall(b"GET / HTTP/1.0\r\n\r\n")
                return s.recv(64).startswith(b"HTTP/1.0 200")
    except (OSError, ssl.SSLError):
        return False


_grpc = None


def grpc_health(target, service):
    """grpc.health.v1.Health/Check through python3-grpcio on a channel of
    its own: True on SERVING. The request and answer are one-field
    protobuf messages, written by hand (Debian has no grpc_health)."""
    global _grpc
    if _grpc is None:
        import grpc
        _grpc = grpc
    svc = service.encode()
    req = (b"\x0a" + bytes([len(svc)]) + svc) if svc else b""
    with _grpc.insecure_channel(target) as ch:
        call = ch.unary_unary("/grpc.health.v1.Health/Check")
        try:
            return call(req, timeout=0.5) == b"\x08\x01"  # SERVING
        except _grpc.RpcError:
            return False


def prometheus(host, port, query, below):
    """The instant query through the HTTP API: one sample, under `below`.
    Prometheus answers only with a sample within its lookback that no
    staleness marker ended: a fresh one."""
    conn = http.client.HTTPConnection(host, port, timeout=0.5)
    try:
        conn.request("GET", "/api/v1/query?" +
                     urllib.parse.urlencode({"query": query}))
        r = conn.getresponse()
        if r.status != 200:
            return False
        data = json.loads(r.read())["data"]
        res = data["result"]
        return data["resultType"] == "vector" and len(res) == 1 and \
            float(res[0]["value"][1]) < below
    except (OSError, http.client.HTTPException, ValueError, KeyError):
        return False
    finally:
        conn.close()
