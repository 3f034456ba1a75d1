"""tests/servers/golden.py - the golden path's servers, all at once: dnsmasq
with the names, Redis, ClickHouse, PostgreSQL with the application's role
and database, the stand-in for Google's VPC Access API (which cannot be
reached from the test machines), and a real Prometheus scraping an
exporter of the connector's series under Cloud Monitoring's PromQL names,
in place of Cloud Monitoring's PromQL endpoint (connector_instances 42 of
the remediation's 100: 42 % utilisation; set_instances() changes it).
Used by the README demo and by the golden path test; env() gives the
variables the shipped conf.d reads.
"""

import json
import os
import shutil
import sys
import tempfile
import urllib.request

from clickhouse import ClickHouse
from dns import Dnsmasq
from postgres import Postgres
from prometheus import Prometheus
from redis import Redis

HERE = os.path.dirname(os.path.abspath(__file__))
VPCAPI = os.path.join(HERE, "..", "fixtures", "vpcapi.py")
EXPORTER = os.path.join(HERE, "..", "fixtures", "exporter.py")
UTILISATION = ('max(vpcaccess_googleapis_com:connector_instances'
               '{connector_name="staging-connector"}) / 100 * 100')
sys.path.insert(0, os.path.join(HERE, "..", "fixtures"))
from fixture import FixtureProcess  # noqa: E402
TOKEN = "golden-token"
CONNECTOR = "projects/golden-path/locations/us-central1/connectors/" \
            "staging-connector"
DB_PASSWORD = "golden-pg"
REDIS_PASSWORD = "golden-redis"


class GoldenPath:
    """Start with start(); PostgreSQL is left stopped when pg_late is set
    (start it with start_postgres()); stop() stops everything."""

    def __init__(self, lifetime=600):
        """lifetime: seconds the fixture processes live at most."""
        self.lifetime = lifetime
        self.servers = []
        self.vpc = None
        self.exporter = None
        self.tmp = tempfile.mkdtemp(prefix="gpcheck-golden-")

    def start(self, pg_late=False):
        try:
            self.dns = Dnsmasq().start()
            self.servers.append(self.dns)
            for name in ("db", "cache", "clickhouse"):
                self.dns.add_host("%s.gpcheck.test" % name, "127.0.0.1")
            self.redis = Redis(password=REDIS_PASSWORD).start()
            self.servers.append(self.redis)
            self.clickhouse = ClickHouse()
            self.servers.append(self.clickhouse)
            self.clickhouse.start()
            self.pg = Postgres()
            self.servers.append(self.pg)
            self.pg.start()
            self.pg.create_role("app", DB_PASSWORD)
            self.pg.create_db("app", owner="app")
            if pg_late:
                self.pg.stop_server()
            self.vpc_url = self._start_vpc_api()
            self._start_monitoring()
        except BaseException:
            self.stop()
            raise
        return self

    def start_postgres(self):
        self.pg.start()

    def _start_vpc_api(self):
        """The connector as the remediation left it: READY, 10..100
        instances of e2-standard-8."""
        port_file = os.path.join(self.tmp, "vpcapi.port")
        self.vpc = FixtureProcess(
            [sys.executable, VPCAPI, "--port-file", port_file, "--token",
             TOKEN, "--connector", CONNECTOR, "--lifetime", str(self.lifetime)],
            port_file, "vpcapi.py", seconds=15, quiet=True)
        url = "http://127.0.0.1:%d" % self.vpc.port
        body = json.dumps({"fields": {"machineType": "e2-standard-8",
                                      "minInstances": 10,
                                      "maxInstances": 100,
                                      "minThroughput": 500,
                                      "maxThroughput": 2000},
                           "metadata_token": TOKEN}).encode()
        urllib.request.urlopen(urllib.request.Request(
            url + "/_control", data=body, method="POST"), timeout=10).read()
        return url

    def _start_monitoring(self):
        port_file = os.path.join(self.tmp, "exporter.port")
        self.exporter = FixtureProcess(
            [sys.executable, EXPORTER, "--port-file", port_file,
             "--connector", "staging-connector", "--instances", "42",
             "--lifetime", str(self.lifetime)],
            port_file, "exporter.py", seconds=15, quiet=True)
        self.prometheus = Prometheus({"vpcaccess": [self.exporter.port]})
        self.servers.append(self.prometheus)
        self.prometheus.start()
        self.prometheus.wait_values(UTILISATION, [42.0], seconds=30)

    def set_instances(self, n, seconds=15):
        """The connector's instances, as Prometheus sees them (waits)."""
        body = json.dumps({"instances": n}).encode()
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        opener.open(urllib.request.Request(
            "http://127.0.0.1:%d/_control" % self.exporter.port, data=body,
            method="POST"), timeout=10).read()
        self.prometheus.wait_values(UTILISATION, [float(n)], seconds)

    def env(self):
        """What the shipped conf.d reads, pointed at these servers."""
        return {
            "DNS_NAMES": "db.gpcheck.test, cache.gpcheck.test, "
                         "clickhouse.gpcheck.test",
            "DNS_SERVER": self.dns.server,
            "DB_HOST": "127.0.0.1", "DB_PORT": str(self.pg.port),
            "DB_NAME": "app", "DB_USER": "app", "DB_PASSWORD": DB_PASSWORD,
            "REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(self.redis.port),
            "REDIS_PASSWORD": REDIS_PASSWORD,
            "CLICKHOUSE_URL": self.clickhouse.url(),
            "VPC_API_URL": self.vpc_url,
            "PROMETHEUS_URL": self.prometheus.url,
            "GCE_TOKEN_URL": self.vpc_url + "/computeMetadata/v1/instance/"
                                            "service-accounts/default/token",
        }

    def stop(self):
        if self.vpc:
            self.vpc.stop()
        if self.exporter:
            self.exporter.stop()
        for s in reversed(self.servers):
            s.stop()
        self.servers = []
        shutil.rmtree(self.tmp, ignore_errors=True)
