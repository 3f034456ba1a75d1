#!/usr/bin/env python3
"""tests/bench/serve_bench.py - load on `gpcheck serve` (not part of ctest).

    python3 tests/bench/serve_bench.py PATH/TO/gpcheck [--seconds 30]

On loopback only, against a real PostgreSQL (tests/servers/postgres.py,
log_connections on) probed every second:

  1. one client: /v1/verdict once a second for the whole time; counts the
     connections PostgreSQL saw (its log) per probing interval;
  2. 500 clients long-polling /v1/wait?timeout=DUR (held: a second probe, a
     tcp probe of a closed port, keeps the verdict at fail) while keep-alive
     clients send 2,000 requests/s of /v1/verdict, paced; reports p50/p99/max
     latency, errors (anything but a 503 answer), the server's RSS (VmHWM)
     and CPU, and the connections PostgreSQL saw per interval again.

The point: the target sees one probe's connections per interval whatever
the number of clients. Python's asyncio is the client (no extra package);
it shares the 2 cores with the server, so the latencies are an upper bound.
Every wait is bounded; the servers are stopped at the end.
"""

import argparse
import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "servers"))
from postgres import Postgres  # noqa: E402

PW = "bench-pw-Qx81"


def proc_stat(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
    hwm = rss = 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
            elif line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    threads = len(os.listdir("/proc/%d/task" % pid))
    return cpu, rss, hwm, threads


def pg_connections(pg):
    with open(pg.log_path(), errors="replace") as f:
        return len(re.findall(r"connection authorized: user=app", f.read()))


async def http_get(reader, writer, path):
    writer.write(("GET %s HTTP/1.1\r\nHost: b\r\n\r\n" % path).encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    m = re.search(rb"(?i)content-length:\s*(\d+)", head)
    if m:
        await reader.readexactly(int(m.group(1)))
    return status


async def one_client(port, seconds):
    r, w = await asyncio.open_connection("127.0.0.1", port)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        await http_get(r, w, "/v1/verdict")
        await asyncio.sleep(1)
    w.close()


async def long_poll(port, hold, results):
    try:
        r, w = await asyncio.open_connection("127.0.0.1", port)
        t0 = time.monotonic()
        st = await asyncio.wait_for(
            http_get(r, w, "/v1/wait?timeout=%ds" % hold), hold + 30)
        results.append((st, time.monotonic() - t0))
        w.close()
    except Exception as e:  # counted as an error
        results.append((repr(e), 0))


async def paced(port, rate, seconds, lat, errors):
    r, w = await asyncio.open_connection("127.0.0.1", port)
    interval = 1.0 / rate
    nxt = time.monotonic()
    end = nxt + seconds
    while nxt < end:
        now = time.monotonic()
        if nxt > now:
            await asyncio.sleep(nxt - now)
        t0 = time.monotonic()
        try:
            st = await asyncio.wait_for(http_get(r, w, "/v1/verdict"), 10)
            if st != 503:
                errors.append(st)
        except Exception as e:
            errors.append(repr(e))
            r, w = await asyncio.open_connection("127.0.0.1", port)
        lat.append(time.monotonic() - t0)
        nxt += interval
    w.close()


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p))] if v else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("gpcheck")
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--polls", type=int, default=500)
    ap.add_argument("--rate", type=int, default=2000)
    ap.add_argument("--conns", type=int, default=50)
    ap.add_argument("--wrk", action="store_true",
                    help="also: the same 500 long-polls with wrk (Debian "
                    "package wrk) sending /v1/verdict as fast as it can")
    a = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="gpcheck-bench-")
    pg = Postgres(max_connections=50, settings={"log_connections": "on"})
    srv = None
    try:
        pg.start()
        pg.create_role("app", PW)
        pg.create_db("appdb", owner="app")
        confd = os.path.join(tmp, "conf.d")
        os.mkdir(confd)
        with open(os.path.join(confd, "db.ini"), "w") as f:
            f.write("[db]\nplugin = postgres\ndsn = %s\npassword = %s\n"
                    "interval = 1s\ntimeout = 2s\nattempts = 1\n"
                    % (pg.dsn("app", "appdb"), PW))
        log = open(os.path.join(tmp, "serve.log"), "w")
        env = dict(os.environ, PGPASSFILE=os.path.join(tmp, "none"))
        srv = subprocess.Popen(
            [a.gpcheck, "serve", "--no-history", "--conf-dir", confd, "--listen",
             "127.0.0.1:0", "--max-connections", "2048", "--max-per-ip",
             "2048", "--max-waits", "1024", "--max-waits-per-ip", "1024", "--connection-timeout", "60s"],
            stdout=log, stderr=subprocess.STDOUT, env=env)
        port = None
        for _ in range(200):
            m = re.search(r"port=(\d+)", open(log.name).read())
            if m:
                port = int(m.group(1))
                break
            time.sleep(0.05)
        assert port, open(log.name).read()
        time.sleep(2)

        # 1. one client
        c0, t0 = pg_connections(pg), time.monotonic()
        asyncio.run(one_client(port, a.seconds))
        one = (pg_connections(pg) - c0) / (time.monotonic() - t0)
        print("1 client: PostgreSQL saw %.2f connections/s (interval 1s)"
              % one)

        # 2. many clients; a failing probe holds the long-polls.
        with open(os.path.join(confd, "down.ini"), "w") as f:
            f.write("[down]\nplugin = tcp\nhost = 127.0.0.1\nport = 1\n"
                    "interval = 1s\nattempts = 1\n")
        srv.send_signal(signal.SIGHUP)
        time.sleep(3)
        cpu0, _, _, _ = proc_stat(srv.pid)
        c0, t0 = pg_connections(pg), time.monotonic()
        polls, lat, errors = [], [], []
        peak = [0, 0]

        async def load():
            async def sample():
                while time.monotonic() - t0 < a.seconds:
                    _, rss, hwm, th = proc_stat(srv.pid)
                    peak[0] = max(peak[0], rss)
                    peak[1] = max(peak[1], th)
                    await asyncio.sleep(0.5)
            tasks = [long_poll(port, a.seconds, polls)
                     for _ in range(a.polls)]
            tasks += [paced(port, a.rate / a.conns, a.seconds, lat, errors)
                      for _ in range(a.conns)]
            await asyncio.gather(sample(), *tasks)
        asyncio.run(load())
        took = time.monotonic() - t0
        cpu1, rss, hwm, _ = proc_stat(srv.pid)
        many = (pg_connections(pg) - c0) / took
        bad_polls = [p for p in polls if p[0] != 503]
        print("%d long-polls + %d req/s of /v1/verdict for %ds "
              "(%d keep-alive connections):" % (a.polls, a.rate, a.seconds,
                                                a.conns))
        print("  requests: %d (%.0f/s), errors %d; latency p50 %.2f ms, "
              "p99 %.2f ms, max %.2f ms"
              % (len(lat), len(lat) / took, len(errors), pct(lat, .5) * 1e3,
                 pct(lat, .99) * 1e3, max(lat) * 1e3))
        print("  long-polls: %d answered 503 after %.1f-%.1f s, errors %d"
              % (len(polls) - len(bad_polls),
                 min(p[1] for p in polls), max(p[1] for p in polls),
                 len(bad_polls)))
        print("  server: CPU %.1f s over %.0f s (%.0f%% of one core), RSS "
              "peak %.1f MB (VmHWM %.1f MB), threads peak %d"
              % (cpu1 - cpu0, took, 100 * (cpu1 - cpu0) / took,
                 peak[0] / 1024, hwm / 1024, peak[1]))
        print("  PostgreSQL saw %.2f connections/s (1 client: %.2f)"
              % (many, one))

        if a.wrk and shutil.which("wrk"):
            polls = []
            c0, t0 = pg_connections(pg), time.monotonic()

            async def with_wrk():
                w = await asyncio.create_subprocess_exec(
                    "wrk", "-t2", "-c%d" % a.conns, "-d%ds" % a.seconds,
                    "--latency", "http://127.0.0.1:%d/v1/verdict" % port,
                    stdout=subprocess.PIPE)
                polls_t = [long_poll(port, a.seconds, polls)
                           for _ in range(a.polls)]
                out, _ = (await asyncio.gather(w.communicate(),
                                               *polls_t))[0]
                return out.decode()
            out = asyncio.run(with_wrk())
            took = time.monotonic() - t0
            print("%d long-polls + wrk -t2 -c%d (unpaced) for %ds:"
                  % (a.polls, a.conns, a.seconds))
            for line in out.splitlines():
                if re.match(r"\s+(50|90|99)%|\s*Requests/sec|\s+Non-2xx|"
                            r"\s+Socket errors|.*requests in", line):
                    print("  wrk:" + line)
            print("  long-polls: %d answered 503, errors %d; PostgreSQL saw "
                  "%.2f connections/s"
                  % (sum(p[0] == 503 for p in polls),
                     sum(p[0] != 503 for p in polls),
                     (pg_connections(pg) - c0) / took))
    finally:
        if srv and srv.poll() is None:
            srv.send_signal(signal.SIGTERM)
            srv.wait(30)
        pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
