#!/usr/bin/env python3
"""tests/bench/history.py - the run history at the size issue 15 names.

    tests/bench/history.py PATH/TO/gpcheck [RUNS]

Builds a history of RUNS runs (default 100,000) spread over 90 days, two
envs and three probes each (one of them flaky), in a temporary folder: the
schema is gpcheck's own (one real `gpcheck run --history` creates it),
the rows are bulk-inserted with Python's sqlite3. Then measures, as the
median and max wall time and the median CPU time (user + system) of 11
runs, after one warm-up (on a shared machine the CPU time is the steadier
figure):
  1. `gpcheck stats --since 30d -o json` (the issue's bound: under 200 ms);
  2. `gpcheck history -n 20`;
  3. `gpcheck run --history` on that file with history_keep = 90d (one
     write plus retention on a full history);
and prints the file's size. Not part of ctest: it takes a minute.
BENCH_KEEP=1 keeps the file and prints its path.
"""

import os
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

DAY = 24 * 3600 * 1000


def timed(argv, n=11, **kw):
    subprocess.run(argv, check=False, capture_output=True, **kw)  # warm-up
    times, cpu = [], []
    for _ in range(n):
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, **kw)
        times.append((time.perf_counter() - t0) * 1000)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append((r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
                   * 1000)
        if proc.returncode not in (0, 1):
            sys.exit("%s failed: %s" % (argv, proc.stderr))
    return statistics.median(times), max(times), statistics.median(cpu)


def main():
    gp = os.path.abspath(sys.argv[1])
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    tmp = tempfile.mkdtemp(prefix="gpcheck-bench-")
    db = os.path.join(tmp, "history.db")
    os.mkdir(os.path.join(tmp, "conf.d"))
    with open(os.path.join(tmp, "conf.d", "p.ini"), "w") as f:
        f.write("[ok]\nplugin = exec\ncommand = true\n")
    base = [gp, "run", "-q", "--conf-dir", os.path.join(tmp, "conf.d"),
            "--history", db]
    subprocess.run(base, check=True, capture_output=True)

    rnd = random.Random(15)
    now = int(time.time() * 1000)
    con = sqlite3.connect(db)
    con.execute("DELETE FROM runs")
    t0 = time.perf_counter()
    run_rows, probe_rows = [], []
    for i in range(runs):
        started = now - 90 * DAY + int(i * (90 * DAY) / runs)
        env = "staging" if i % 3 else "prod"
        flaky_ok = rnd.random() > 0.1
        verdict = "pass" if flaky_ok else "fail"
        cmd = (0 if rnd.random() > 0.04 else 1) if flaky_ok else None
        run_rows.append((i + 1, started, env, verdict, verdict + ": ...",
                         0 if flaky_ok else 1, rnd.uniform(50, 3000), 0,
                         "bench-host", str(1000 + i), cmd,
                         rnd.uniform(1000, 60000) if cmd is not None else None,
                         "tests" if cmd == 1 else None))
        for name, ok in (("postgres", True), ("redis", True),
                         ("vpc", flaky_ok)):
            probe_rows.append((i + 1, name, env, started, "tcp",
                               "ok" if ok else "fail", 1 if ok else 3,
                               rnd.lognormvariate(5, 1) if ok else None,
                               "connected" if ok else "connection refused",
                               '{"connect_time":1.5}'))
    con.executemany(
        "INSERT INTO runs (id, started_ms, env, verdict, rule, exit_code,"
        " duration_ms, bypass, host, ci_pipeline_id, cmd_exit,"
        " cmd_duration_ms, cmd_label) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        run_rows)
    con.executemany(
        "INSERT INTO probe_results (run_id, probe, env, started_ms, plugin,"
        " status, attempts, ready_ms, message, metrics)"
        " VALUES (?,?,?,?,?,?,?,?,?,?)", probe_rows)
    con.commit()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.execute("ANALYZE")
    con.commit()
    con.close()
    print("history: %d runs, %d probe rows over 90 days, built in %.1f s"
          % (runs, len(probe_rows), time.perf_counter() - t0))
    print("file: %.1f MB" % (os.path.getsize(db) / 1e6))

    print("load average before: %.1f %.1f %.1f" % os.getloadavg())
    fmt = "%-34s wall median %6.1f ms, max %6.1f ms; CPU median %6.1f ms"
    print(fmt % (("stats --since 30d -o json:",)
                 + timed([gp, "stats", "--history", db, "--since", "30d",
                          "-o", "json"])))
    print(fmt % (("stats --since 90d (all):",)
                 + timed([gp, "stats", "--history", db, "--since", "90d"])))
    print(fmt % (("history -n 20:",)
                 + timed([gp, "history", "--history", db, "-n", "20"])))
    print(fmt % (("run --history (write, retention):",) + timed(base)))
    print("file after the runs: %.1f MB" % (os.path.getsize(db) / 1e6))
    if os.environ.get("BENCH_KEEP"):
        print("kept: " + db)
    else:
        subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main()
