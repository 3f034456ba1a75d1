"""tests/conformance/truth.py - the independent clients that say whether a
service really serves: libpq and hiredis through ctypes (the C libraries
psql and redis-cli are built on), Python's http.client (HTTP services,
ClickHouse's HTTP interface, Prometheus' API) and ssl, a DNS query of its
own over UDP (DnsAsker), python3-grpcio, a plain connect.

Each check() makes one representative request, a write and a read where
the service has both, and returns True only when both worked. They are
called every 5 ms by the truth poller, so each is bounded by a short
timeout and opens its own connection (a pooled one would hide a server
that refuses new clients); DnsAsker retries one query, as a DNS client
does (see there).
"""

import ctypes
import ctypes.util
import http.client
import json
import os
import socket
import ssl
import struct
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


class _Reply(ctypes.Structure):
    """The head of hiredis' redisReply, up to str: 1.x (soname
    libhiredis.so.1.x) has a double dval before len, 0.14 has not."""
    _fields_ = [("type", ctypes.c_int), ("integer", ctypes.c_longlong)] + (
        [] if ".so.0." in (_hi._name or "") else
        [("dval", ctypes.c_double)]) + [
        ("len", ctypes.c_size_t), ("str", ctypes.c_void_p)]


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


def _redis_replies(host, port, commands, good):
    """Each command in turn on a connection of its own (hiredis, 200 ms
    timeouts); True when good(reply) held for every reply. An error reply
    (LOADING, MASTERDOWN, BUSY) is never good."""
    tv = _Timeval(0, 200000)
    c = _hi.redisConnectWithTimeout(host.encode(), port, tv)
    if not c:
        return False
    try:
        if ctypes.cast(c, ctypes.POINTER(ctypes.c_int))[0] != 0:  # c->err
            return False
        _hi.redisSetTimeout(c, tv)
        for cmd in commands:
            reply = _hi.redisCommand(ctypes.c_void_p(c), ctypes.c_char_p(cmd))
            if not reply:
                return False
            try:
                if not good(reply):
                    return False
            finally:
                _hi.freeReplyObject(reply)
        return True
    finally:
        _hi.redisFree(c)


def redis(host, port):
    """SET then GET one key."""
    return _redis_replies(
        host, port, (b"SET gpcheck:truth 1", b"GET gpcheck:truth"),
        lambda r: _reply_type(r) in (REDIS_REPLY_STATUS, REDIS_REPLY_STRING))


def redis_get(host, port, key, want):
    """GET one key: the read a replica serves (replicas are read-only). Another
    value (nil on a replica that has not synced) is not serving."""
    def good(reply):
        if _reply_type(reply) != REDIS_REPLY_STRING:
            return False
        r = ctypes.cast(reply, ctypes.POINTER(_Reply))[0]
        return ctypes.string_at(r.str, r.len) == want.encode()
    return _redis_replies(host, port, (b"GET " + key.encode(),), good)


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


def clickhouse(host, port, write, read, want):
    """POST `write` (an INSERT), then `read`, to ClickHouse's HTTP
    interface: both 200 and the read's answer exactly `want`. ClickHouse
    reports an exception (unknown database or table, a table being
    loaded) with an error status."""
    for sql, expect in ((write, None), (read, want)):
        conn = http.client.HTTPConnection(host, port, timeout=1)
        try:
            conn.request("POST", "/", body=sql.encode())
            r = conn.getresponse()
            body = r.read().decode(errors="replace")
            if r.status != 200 or (expect is not None and
                                   body.strip() != expect):
                return False
        except (OSError, http.client.HTTPException):
            return False
        finally:
            conn.close()
    return True


def tcp(host, port):
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


class DnsAsker:
    """NAME A from 127.0.0.1:PORT over UDP, in-process (no dig per check:
    a dropped query would hold the poller for dig's 1 s, and the poller
    dates readiness at the end of its check, which a process's exit
    delays). check() (re)sends ONE query, the same id from the same
    socket, as a client retrying does, and waits up to `timeout` for the
    answer: NOERROR with exactly one record, ADDRESS.

    Why one query retried: dnsmasq forwards a question only once while it
    is pending, and sends it on again only when the same client retries
    it (same source, same id); a new query for the same question merely
    waits with the first. So a forwarder whose upstream comes back answers
    at a client's next retry. Why the CD flag: dnsmasq merges clients
    waiting on the same question with the same flags; with CD set the
    poller's question is its own, so its retries do not answer the tools'
    queries for them (which would make their lag the poller's)."""

    def __init__(self, port, name, address, timeout=0.02):
        self.port, self.address, self.timeout = port, address, timeout
        qid = struct.unpack("!H", os.urandom(2))[0]
        qname = b"".join(bytes([len(p)]) + p.encode()
                         for p in name.strip(".").split(".")) + b"\0"
        # header: id, RD and CD, one question; then name, type A, class IN
        self.qid = qid
        self.query = struct.pack("!HHHHHH", qid, 0x0110, 1, 0, 0, 0) + \
            qname + struct.pack("!HH", 1, 1)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.settimeout(timeout)

    def close(self):
        self.sock.close()

    def check(self):
        try:
            self.sock.sendto(self.query, ("127.0.0.1", self.port))
            for _ in range(8):  # stray or late datagrams: a few, not forever
                resp = self.sock.recv(4096)
                if len(resp) >= 12 and \
                        struct.unpack("!H", resp[:2])[0] == self.qid:
                    break
            else:
                return False
        except OSError:
            return False
        rcode = resp[3] & 0x0F
        ancount = struct.unpack("!H", resp[6:8])[0]
        # No EDNS in the query, so no OPT record after the answer: the
        # one A record's four bytes of data end the message.
        return rcode == 0 and ancount == 1 and \
            resp[-4:] == socket.inet_aton(self.address)


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


# libmariadb (what the mariadb client is built on).
_my = ctypes.CDLL(ctypes.util.find_library("mariadb") or "libmariadb.so.3")
_my.mysql_init.restype = ctypes.c_void_p
_my.mysql_init.argtypes = [ctypes.c_void_p]
_my.mysql_options.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
_my.mysql_real_connect.restype = ctypes.c_void_p
_my.mysql_real_connect.argtypes = [ctypes.c_void_p, ctypes.c_char_p,
                                   ctypes.c_char_p, ctypes.c_char_p,
                                   ctypes.c_char_p, ctypes.c_uint,
                                   ctypes.c_char_p, ctypes.c_ulong]
_my.mysql_query.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
_my.mysql_store_result.restype = ctypes.c_void_p
_my.mysql_store_result.argtypes = [ctypes.c_void_p]
_my.mysql_num_rows.restype = ctypes.c_ulonglong
_my.mysql_num_rows.argtypes = [ctypes.c_void_p]
_my.mysql_free_result.argtypes = [ctypes.c_void_p]
_my.mysql_close.argtypes = [ctypes.c_void_p]
MYSQL_OPT_CONNECT_TIMEOUT, MYSQL_OPT_READ_TIMEOUT = 0, 11
MYSQL_OPT_WRITE_TIMEOUT = 12


def mysql(host, port, user, password, database):
    """Log in over TCP, write to a temporary table, read it back (libmariadb's
    timeouts are whole seconds: 1 s, the least it has)."""
    m = _my.mysql_init(None)
    if not m:
        return False
    try:
        one = ctypes.c_uint(1)
        for opt in (MYSQL_OPT_CONNECT_TIMEOUT, MYSQL_OPT_READ_TIMEOUT,
                    MYSQL_OPT_WRITE_TIMEOUT):
            _my.mysql_options(m, opt, ctypes.byref(one))
        if not _my.mysql_real_connect(m, host.encode(), user.encode(),
                                      password.encode(), database.encode(),
                                      port, None, 0):
            return False
        for sql in (b"CREATE TEMPORARY TABLE truth (x INT)",
                    b"INSERT INTO truth VALUES (1)"):
            if _my.mysql_query(m, sql) != 0:
                return False
        if _my.mysql_query(m, b"SELECT x FROM truth") != 0:
            return False
        res = _my.mysql_store_result(m)
        if not res:
            return False
        rows = _my.mysql_num_rows(res)
        _my.mysql_free_result(res)
        return rows == 1
    finally:
        _my.mysql_close(m)


# librabbitmq (rabbitmq-c, what amqp-publish / amqp-get are built on).
_mq = ctypes.CDLL(ctypes.util.find_library("rabbitmq") or "librabbitmq.so.4")


class _Bytes(ctypes.Structure):
    _fields_ = [("len", ctypes.c_size_t), ("bytes", ctypes.c_void_p)]


class _Method(ctypes.Structure):
    _fields_ = [("id", ctypes.c_uint32), ("decoded", ctypes.c_void_p)]


class _RpcReply(ctypes.Structure):
    _fields_ = [("reply_type", ctypes.c_int), ("reply", _Method),
                ("library_error", ctypes.c_int)]


class _Table(ctypes.Structure):
    _fields_ = [("num_entries", ctypes.c_int), ("entries", ctypes.c_void_p)]


_mq.amqp_new_connection.restype = ctypes.c_void_p
_mq.amqp_tcp_socket_new.restype = ctypes.c_void_p
_mq.amqp_tcp_socket_new.argtypes = [ctypes.c_void_p]
_mq.amqp_socket_open_noblock.argtypes = [ctypes.c_void_p, ctypes.c_char_p,
                                         ctypes.c_int,
                                         ctypes.POINTER(_Timeval)]
_mq.amqp_set_rpc_timeout.argtypes = [ctypes.c_void_p, ctypes.POINTER(_Timeval)]
_mq.amqp_set_handshake_timeout.argtypes = [ctypes.c_void_p,
                                           ctypes.POINTER(_Timeval)]
_mq.amqp_login.restype = _RpcReply  # variadic: user, password
_mq.amqp_channel_open.restype = ctypes.c_void_p
_mq.amqp_channel_open.argtypes = [ctypes.c_void_p, ctypes.c_uint16]
_mq.amqp_get_rpc_reply.restype = _RpcReply
_mq.amqp_get_rpc_reply.argtypes = [ctypes.c_void_p]
_mq.amqp_basic_publish.argtypes = [ctypes.c_void_p, ctypes.c_uint16, _Bytes,
                                   _Bytes, ctypes.c_int, ctypes.c_int,
                                   ctypes.c_void_p, _Bytes]
_mq.amqp_basic_get.restype = _RpcReply
_mq.amqp_basic_get.argtypes = [ctypes.c_void_p, ctypes.c_uint16, _Bytes,
                               ctypes.c_int]
_mq.amqp_destroy_connection.argtypes = [ctypes.c_void_p]
_mq.amqp_get_sockfd.argtypes = [ctypes.c_void_p]
AMQP_RESPONSE_NORMAL = 1
AMQP_SASL_METHOD_PLAIN = 0
AMQP_BASIC_GET_OK_METHOD = 0x003C0047


def _bytes(b):
    return _Bytes(len(b), ctypes.cast(ctypes.c_char_p(b), ctypes.c_void_p))


def amqp(host, port, user, password, vhost, queue):
    """Log in to vhost, publish one message to queue (the default exchange)
    and get one back: a broker that takes the login but blocks publishers
    (a resource alarm) or has no such queue is not serving. Every step is
    bounded by 200 ms. A check that fails after the login resets its
    socket and has asked for a 1 s heartbeat: a broker blocking publishers
    reads nothing more from the connection, and would otherwise keep it
    until the alarm clears (one every 5 ms)."""
    conn = _mq.amqp_new_connection()
    if not conn:
        return False
    ok = False
    try:
        tv = _Timeval(0, 200000)
        sock = _mq.amqp_tcp_socket_new(conn)
        if not sock or _mq.amqp_socket_open_noblock(
                sock, host.encode(), port, ctypes.byref(tv)) != 0:
            return False
        _mq.amqp_set_handshake_timeout(conn, ctypes.byref(tv))
        _mq.amqp_set_rpc_timeout(conn, ctypes.byref(tv))
        r = _mq.amqp_login(ctypes.c_void_p(conn), ctypes.c_char_p(
            vhost.encode()), ctypes.c_int(0), ctypes.c_int(131072),
            ctypes.c_int(1), ctypes.c_int(AMQP_SASL_METHOD_PLAIN),
            ctypes.c_char_p(user.encode()), ctypes.c_char_p(password.encode()))
        if r.reply_type != AMQP_RESPONSE_NORMAL:
            return False
        _mq.amqp_channel_open(conn, 1)
        if _mq.amqp_get_rpc_reply(conn).reply_type != AMQP_RESPONSE_NORMAL:
            return False
        q, body = queue.encode(), b"truth"
        if _mq.amqp_basic_publish(conn, 1, _bytes(b""), _bytes(q), 0, 0, None,
                                  _bytes(body)) != 0:
            return False
        r = _mq.amqp_basic_get(conn, 1, _bytes(q), 1)
        ok = (r.reply_type == AMQP_RESPONSE_NORMAL
              and r.reply.id == AMQP_BASIC_GET_OK_METHOD)
        return ok
    finally:
        fd = _mq.amqp_get_sockfd(conn)
        if not ok and fd >= 0:
            dup = socket.socket(fileno=os.dup(fd))
            dup.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                           struct.pack("ii", 1, 0))
            dup.close()
        _mq.amqp_destroy_connection(conn)
