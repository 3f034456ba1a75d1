#!/usr/bin/env python3
"""tests/demo.py GPCHECK - the README demo: the golden path of the incident
gpcheck grew out of, against real throwaway servers on loopback.

Starts dnsmasq (the names), a stand-in for the VPC Access API (the real one
cannot be reached from here), a real Prometheus serving the connector's
load under Cloud Monitoring's PromQL names, Redis and ClickHouse, and
PostgreSQL two seconds late, as a database still starting would be; gates
a command on the shipped gpcheck.ini and conf.d/ (the five seed probes:
dns, vpc, postgres, redis, clickhouse, and the connector's utilisation)
with the built gpcheck; then shows the gate refusing to run the tests when
the connector reaches 85 % of its capacity (the incident's 80 % rule), when
the application's pool is at 90 % of 5 + 5 (DATABASE_POOL_SIZE /
DATABASE_MAX_OVERFLOW), and when Redis is stopped, and why. Every server is
stopped at the end, whatever happens.
"""

import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(HERE, "servers"))

from golden import DB_PASSWORD, GoldenPath  # noqa: E402
from postgres import PG_BIN, _clean_env  # noqa: E402


def say(text):
    print("\n== " + text, flush=True)


def pool_breach(gpcheck, config, env, golden):
    """The application's pool at 90 %: 9 sessions of its role against a
    pool of 5 + 5 (DATABASE_POOL_SIZE / DATABASE_MAX_OVERFLOW): the gate
    fails on fail_if = app_pool_usage >= 90%."""
    sessions = [subprocess.Popen(
        [os.path.join(PG_BIN, "psql"), "-X", "-q", "-h", "127.0.0.1", "-p",
         str(golden.pg.port), "-U", "app", "-d", "app", "-c",
         "SELECT pg_sleep(60)"],
        env=dict(_clean_env(), PGPASSWORD=DB_PASSWORD, PGAPPNAME="web"),
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True)
        for _ in range(9)]
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and golden.pg.psql(
                "SELECT count(*) FROM pg_stat_activity WHERE "
                "application_name = 'web'") != "9":
            time.sleep(0.1)
        code = subprocess.run(
            [gpcheck, "run", "-p", "database"] + config +
            ["--", "sh", "-c", 'echo "e2e: never printed"'],
            env=dict(env, DATABASE_POOL_SIZE="5",
                     DATABASE_MAX_OVERFLOW="5")).returncode
        print("gpcheck exited with status %d" % code)
        return code == 1
    finally:
        for s in sessions:
            if s.poll() is None:
                os.killpg(s.pid, 9)
            s.wait(10)


def main():
    gpcheck = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else \
        os.path.join(ROOT, "build", "gpcheck")
    say("starting throwaway servers on 127.0.0.1")
    golden = GoldenPath()
    try:
        golden.start(pg_late=True)
        print("dnsmasq %s, redis %d, clickhouse %d, postgres %d (not yet "
              "started), VPC Access API stand-in %s, prometheus %s" % (
                  golden.dns.server, golden.redis.port,
                  golden.clickhouse.port, golden.pg.port, golden.vpc_url,
                  golden.prometheus.url))
        env = dict(os.environ, **golden.env())
        env.pop("GPCHECK_ENV", None)
        config = ["-c", os.path.join(ROOT, "gpcheck.ini")]

        say("the probes, as configured (gpcheck list)")
        subprocess.run([gpcheck, "list"] + config, env=env, check=True)

        say("gpcheck run -- e2e   (PostgreSQL starts 2 s after gpcheck)")
        run = subprocess.Popen(
            [gpcheck, "run"] + config + [
                "--", "sh", "-c",
                'echo; echo "e2e: the golden path tests run now '
                '(GPCHECK_VERDICT=$GPCHECK_VERDICT)"'], env=env)
        time.sleep(2)
        golden.start_postgres()
        if run.wait(timeout=120) != 0:
            print("demo: the gate did not pass", file=sys.stderr)
            return 1

        say("the connector at 85 of its 100 instances: over the incident's "
            "80 % rule, the tests do not run")
        golden.set_instances(85)
        code = subprocess.run(
            [gpcheck, "run", "-q"] + config + [
                "--", "sh", "-c", 'echo "e2e: never printed"'],
            env=env).returncode
        print("gpcheck exited with status %d (%s)" % (
            code, "fail" if code == 1 else "?"))
        if code != 1:
            return 1
        golden.set_instances(42)
        say("the application's pool at 90 %: 9 sessions, DATABASE_POOL_SIZE=5 "
            "+ DATABASE_MAX_OVERFLOW=5")
        if not pool_breach(gpcheck, config, env, golden):
            print("demo: the pool breach did not fail the gate",
                  file=sys.stderr)
            return 1

        say("the same gate with Redis down: the tests do not run")
        golden.redis.stop_server()
        code = subprocess.run(
            [gpcheck, "run", "-q", "--deadline", "8s"] + config + [
                "--", "sh", "-c", 'echo "e2e: never printed"'],
            env=env).returncode
        print("gpcheck exited with status %d (%s)" % (code, {
            1: "fail", 124: "the deadline passed before Redis was ready"}
            .get(code, "?")))
        return 0 if code in (1, 124) else 1
    finally:
        golden.stop()


if __name__ == "__main__":
    sys.exit(main())
