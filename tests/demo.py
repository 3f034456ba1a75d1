#!/usr/bin/env python3
"""tests/demo.py GPCHECK - the README demo: the golden path of the incident
gpcheck grew out of, against real throwaway servers on loopback.

Starts dnsmasq (the names), a stand-in for the VPC Access API (the real one
cannot be reached from here), Redis and ClickHouse, and then PostgreSQL two
seconds late, as a database still starting would be; gates a command on the
shipped gpcheck.ini and conf.d/ (the five seed probes: dns, vpc, postgres,
redis, clickhouse) with the built gpcheck; then stops Redis and shows the
gate refusing to run the tests, and why. Every server is stopped at the
end, whatever happens.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(HERE, "servers"))

from clickhouse import ClickHouse  # noqa: E402
from dns import Dnsmasq  # noqa: E402
from postgres import Postgres  # noqa: E402
from redis import Redis  # noqa: E402

TOKEN = "demo-token"
CONNECTOR = "projects/golden-path/locations/us-central1/connectors/" \
            "staging-connector"


def say(text):
    print("\n== " + text, flush=True)


def start_vpc_api(tmp):
    """The VPC Access API fixture, with the connector as the remediation
    left it (10..100 instances of e2-standard-8)."""
    port_file = os.path.join(tmp, "vpcapi.port")
    proc = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "fixtures", "vpcapi.py"),
         "--port-file", port_file, "--token", TOKEN, "--connector", CONNECTOR,
         "--lifetime", "300"], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not os.path.exists(port_file) and time.monotonic() < deadline:
        time.sleep(0.05)
    with open(port_file) as f:
        url = "http://127.0.0.1:%s" % f.read().strip()
    body = json.dumps({"fields": {"machineType": "e2-standard-8",
                                  "minInstances": 10, "maxInstances": 100,
                                  "minThroughput": 500,
                                  "maxThroughput": 2000},
                       "metadata_token": TOKEN}).encode()
    urllib.request.urlopen(urllib.request.Request(
        url + "/_control", data=body, method="POST"), timeout=10).read()
    return proc, url


def main():
    gpcheck = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else \
        os.path.join(ROOT, "build", "gpcheck")
    tmp = tempfile.mkdtemp(prefix="gpcheck-demo-")
    servers, procs = [], []
    try:
        say("starting throwaway servers on 127.0.0.1")
        dns = Dnsmasq().start()
        servers.append(dns)
        for name in ("db", "cache", "clickhouse"):
            dns.add_host("%s.gpcheck.test" % name, "127.0.0.1")
        redis = Redis(password="demo-redis").start()
        servers.append(redis)
        ch = ClickHouse()
        servers.append(ch)
        ch.start()
        pg = Postgres()
        servers.append(pg)
        # The application's role and database exist; the server is down
        # until two seconds into the gate, as a database still starting is.
        pg.start()
        pg.create_role("app", "demo-pg")
        pg.create_db("app", owner="app")
        pg.stop_server()
        vpc, vpc_url = start_vpc_api(tmp)
        procs.append(vpc)
        print("dnsmasq %s, redis %d, clickhouse %d, postgres %d (not yet "
              "started), VPC Access API stand-in %s"
              % (dns.server, redis.port, ch.port, pg.port, vpc_url))

        env = dict(os.environ,
                   DNS_NAMES="db.gpcheck.test, cache.gpcheck.test, "
                             "clickhouse.gpcheck.test",
                   DNS_SERVER=dns.server,
                   DB_HOST="127.0.0.1", DB_PORT=str(pg.port),
                   DB_NAME="app", DB_USER="app", DB_PASSWORD="demo-pg",
                   REDIS_HOST="127.0.0.1", REDIS_PORT=str(redis.port),
                   REDIS_PASSWORD="demo-redis",
                   CLICKHOUSE_URL=ch.url(),
                   VPC_API_URL=vpc_url,
                   GCE_TOKEN_URL=vpc_url + "/computeMetadata/v1/instance/"
                                           "service-accounts/default/token")
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
        pg.start()
        if run.wait(timeout=120) != 0:
            print("demo: the gate did not pass", file=sys.stderr)
            return 1

        say("the same gate with Redis down: the tests do not run")
        redis.stop_server()
        code = subprocess.run(
            [gpcheck, "run", "-q", "--deadline", "8s"] + config + [
                "--", "sh", "-c", 'echo "e2e: never printed"'],
            env=env).returncode
        print("gpcheck exited with status %d (%s)" % (code, {
            1: "fail", 124: "the deadline passed before Redis was ready"}
            .get(code, "?")))
        return 0 if code in (1, 124) else 1
    finally:
        for p in procs:
            p.terminate()
            p.wait(10)
        for s in reversed(servers):
            s.stop()
        subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    sys.exit(main())
