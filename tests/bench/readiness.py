#!/usr/bin/env python3
"""tests/bench/readiness.py - how soon after a service becomes ready does
each waiting tool notice? (issue 18's readiness lag; not in the test
command: it takes minutes.)

    tests/bench/readiness.py BUILD_DIR [--trials N] [--seed S]

Each trial starts every tool at once against one loopback port that is
closed, then starts listening at a random moment 0.2-1.2 s later (the
"ready" instant, taken right after listen() returns). A tool's lag is the
time from that instant to its exit. Tools run in a fresh order each trial
(alternating, so that load drifts hit all of them alike), each against its
own port, so that they cannot see one another's connections.

Tools: gpcheck with its default cadence (warmup_interval = auto), with
warmup_interval = 10ms, and with the fixed 250 ms of 0.1, Debian's wait-for-it (1 s sleeps), and
wait-on (npm) with its defaults when WAIT_ON names its executable or it is
on PATH. Prints one Markdown row per tool: trials, failures, lag p50 / p95
/ max in ms.
"""

import argparse
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

DELAY = (0.2, 1.2)  # when the port starts listening, s after the start
LIMIT = 10.0  # a tool that has not returned by then failed


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gpcheck_tool(build, folder, interval):
    plugins = os.path.join(build, "plugins")

    def cmd(port):
        conf = os.path.join(folder, "%s-%d.ini" % (interval, port))
        with open(conf, "w") as f:
            f.write("[svc]\nplugin = tcp\nhost = 127.0.0.1\nport = %d\n"
                    "warmup = %ds\nwarmup_interval = %s\n"
                    % (port, int(LIMIT), interval))
        return [os.path.join(build, "gpcheck"), "run", "-q", "-c", conf,
                "--plugin-dir", plugins]
    return cmd


def tools(build, folder):
    out = [("gpcheck (auto)", gpcheck_tool(build, folder, "auto")),
           ("gpcheck (10ms)", gpcheck_tool(build, folder, "10ms")),
           ("gpcheck (250ms)", gpcheck_tool(build, folder, "250ms"))]
    wfi = shutil.which("wait-for-it")
    if wfi:
        out.append(("wait-for-it", lambda p: [wfi, "-q", "-h", "127.0.0.1",
                                              "-p", str(p), "-t",
                                              str(int(LIMIT))]))
    won = os.environ.get("WAIT_ON") or shutil.which("wait-on")
    if won:
        out.append(("wait-on", lambda p: [won, "-t", "%dms" % (LIMIT * 1000),
                                          "tcp:127.0.0.1:%d" % p]))
    return out


def trial(rng, toolset):
    order = list(toolset)
    rng.shuffle(order)
    ports = {name: free_port() for name, _ in order}
    delay = rng.uniform(*DELAY)
    procs = {}
    t0 = time.monotonic()
    for name, cmd in order:
        procs[name] = subprocess.Popen(cmd(ports[name]),
                                       stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL,
                                       stdin=subprocess.DEVNULL)
    time.sleep(max(0.0, t0 + delay - time.monotonic()))
    listeners = []
    ready = {}
    for name, _ in order:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", ports[name]))
        s.listen(64)
        ready[name] = time.monotonic()
        listeners.append(s)
    lags = {}
    pending = dict(procs)
    while pending and time.monotonic() < t0 + LIMIT + 2:
        for name, p in list(pending.items()):
            if p.poll() is not None:
                done = time.monotonic()
                lags[name] = (done - ready[name]) * 1000 \
                    if p.returncode == 0 else None
                del pending[name]
        time.sleep(0.0005)
    for name, p in pending.items():
        p.kill()
        p.wait()
        lags[name] = None
    for s in listeners:
        s.close()
    return lags


def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(q * (len(v) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--trials", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    with tempfile.TemporaryDirectory(prefix="gpcheck-bench-") as folder:
        toolset = tools(os.path.abspath(a.build), folder)
        results = {name: [] for name, _ in toolset}
        fails = {name: 0 for name, _ in toolset}
        for _ in range(a.trials):
            for name, lag in trial(rng, toolset).items():
                if lag is None:
                    fails[name] += 1
                else:
                    results[name].append(lag)
    print("| tool | trials | failed | lag p50 ms | lag p95 ms | lag max ms |")
    print("|---|---|---|---|---|---|")
    for name, _ in toolset:
        v = results[name]
        if not v:
            print("| %s | %d | %d | - | - | - |" % (name, a.trials,
                                                   fails[name]))
            continue
        print("| %s | %d | %d | %.0f | %.0f | %.0f |"
              % (name, a.trials, fails[name], statistics.median(v),
                 pct(v, 0.95), max(v)))
    return 0 if not any(fails.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
