"""tests/conformance/truth.py - the independent clients that say whether a
service really serves: libpq and hiredis through ctypes (the C libraries
psql and redis-cli are built on), Python's http.client, dig, a plain
connect.

Each check() makes one representative request, a write and a read where
the service has both, and returns True only when both worked. They are
called every 5 ms by the truth poller, so each is bounded by a short
timeout and opens its own connection (a pooled one would hide a server
that refuses new clients).
"""

import ctypes
import ctypes.util
import http.client
import os
import socket
import struct
import subprocess

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
