"""tests/integration/test_faults_net.py - the fault matrix of the network
probes (tcp, redis, postgres, http, clickhouse, dns, vpc): hostile servers
(silent, slow drip, RST on connect and mid-reply, huge and malformed
replies, endless headers and bodies, TLS failures) and broken system
resolvers (silent, SERVFAIL, truncated, garbage).

Every case asserts the status, the reason in the message, an upper bound on
the time taken, and that nothing the run started is left running.

A broken system resolver: GpTestCase.private_resolver(mode) (gp.py) mounts,
in the test process's private mount namespace, a /etc/resolv.conf naming
only tests/fixtures/dnsd.py on port 53 of a loopback address of its own
(127.x.y.z), for names that are in no /etc/hosts. Nothing leaves loopback. Real servers (PostgreSQL, Redis) come
from tests/servers, the hostile ones from tests/fixtures (listen.py,
httpd.py, dnsd.py).
"""

import ipaddress
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest
import urllib.parse

import gp
from gp import DnsFixture, GRACE, GpTestCase, wait_until

from httpd import HttpdProcess
from postgres import Postgres
from redis import Redis

# A name no /etc/hosts holds: only the (broken) DNS server can answer it.
HUNG = "hung.gpcheck.test"
PG_PASSWORD = "app-pw"


class NetFaultCase(GpTestCase):
    """One probe per run, its report, and the checks every case makes."""

    def section(self, name, plugin, options, timeout="1s"):
        self.write("conf.d/%s.ini" % name,
                   "[%s]\nplugin = %s\n%s\nattempts = 1\ntimeout = %s\n"
                   % (name, plugin, options.strip(), timeout))

    def run_probe(self, name, resolver=None, timeout=60):
        """gpcheck run -o json, under the broken system resolver
        (tests/fixtures/dnsd.py RESOLVER) when given. Returns (probe
        report, seconds)."""
        report = os.path.join(self.tmp, "report.json")
        if os.path.exists(report):
            os.unlink(report)
        argv = self.base_args("run") + ["-o", "json:" + report]
        if resolver:
            self.private_resolver(resolver)
        env = dict(os.environ)
        for var in ("GPCHECK_ENV", "GPCHECK_CONFIG", "http_proxy",
                    "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
            env.pop(var, None)
        t0 = time.monotonic()
        proc = subprocess.run(argv, capture_output=True, text=True,
                              timeout=timeout, env=env,
                              stdin=subprocess.DEVNULL, cwd=self.tmp)
        took = time.monotonic() - t0
        self.assertTrue(os.path.exists(report), proc.stderr)
        with open(report) as f:
            doc = json.load(f)
        self.assert_nothing_left()
        return self.probe(doc, name), took

    def assert_nothing_left(self):
        """No process of this run (gpcheck, an attempt, a resolver helper:
        all have the run's conf.d in their command line) is still there."""
        def leftovers():
            found = []
            for pid in os.listdir("/proc"):
                if not pid.isdigit() or int(pid) == os.getpid():
                    continue
                try:
                    with open("/proc/%s/cmdline" % pid, "rb") as f:
                        cmd = f.read()
                    with open("/proc/%s/stat" % pid) as f:
                        state = f.read().rsplit(")", 1)[1].split()[0]
                except OSError:
                    continue
                if self.confd.encode() in cmd and state != "Z":
                    found.append(pid)
            return found
        # The supervisor has reaped everything when it exits; a moment for
        # /proc to agree.
        self.assertTrue(wait_until(lambda: not leftovers(), 2),
                        "left running: %s" % leftovers())

    def assert_fault(self, p, status, texts):
        self.assertEqual(p["status"], status, p["message"])
        for text in texts:
            self.assertIn(text, p["message"])
        return p


# --------------------------------------------------------------------------
# Broken system resolvers


class ResolverTest(NetFaultCase):
    """A hung resolver cannot hold any probe that resolves past its
    deadline, and the message says resolving timed out."""

    def hung(self, name, plugin, options, timeout="1s", status="timeout"):
        self.section(name, plugin, options, timeout=timeout)
        p, took = self.run_probe(name, resolver="silent")
        self.assert_fault(p, status, ["resolving %s timed out after" % HUNG])
        self.assertNotIn("killed", p["message"])
        self.assertLess(took, 1 + GRACE)
        return p

    def test_tcp(self):
        self.hung("t", "tcp", "host = %s\nport = 80" % HUNG)

    def test_redis(self):
        self.hung("r", "redis", "host = %s\nport = 6379" % HUNG)

    def test_vpc(self):
        # The name gets its share of the time, the connects theirs: the
        # other target's samples are still tried, and say so.
        p = self.hung("v", "vpc", "targets = %s:80, 127.0.0.1:1" % HUNG,
                      status="fail")
        self.assertIn("no target reachable", p["message"])
        self.assertIn("127.0.0.1:1 refused 3/3", p["message"])

    def test_http(self):
        self.hung("h", "http", "url = http://%s:8080/health" % HUNG)

    def test_clickhouse(self):
        self.hung("c", "clickhouse", "url = http://%s:8123/\nquery = SELECT 1"
                  % HUNG)

    def test_postgres(self):
        self.hung("pg", "postgres",
                  "dsn = host=%s port=5432 dbname=x user=u" % HUNG)

    def test_vpc_connector_api(self):
        self.hung("va", "vpc",
                  "connector = projects/p/locations/l/connectors/c\n"
                  "api_url = http://%s:9/\ntoken = t0k" % HUNG)

    def test_dns_with_the_system_configuration(self):
        # dns reads resolv.conf itself (c-ares) and drives its own loop.
        self.section("d", "dns", "name = %s" % HUNG)
        p, took = self.run_probe("d", resolver="silent")
        self.assert_fault(p, "timeout", ["no answer for %s A from 127." % HUNG,
                                         ":53 within"])
        self.assertLess(took, 1 + GRACE)

    def test_dns_servfail_with_the_system_configuration(self):
        self.section("d", "dns", "name = %s" % HUNG, timeout="3s")
        p, took = self.run_probe("d", resolver="servfail")
        self.assert_fault(p, "fail", ["SERVFAIL for %s A" % HUNG])
        self.assertLess(took, 1 + GRACE)

    def test_servfail_is_a_resolver_failure_at_once(self):
        self.section("t", "tcp", "host = %s\nport = 80" % HUNG, timeout="5s")
        p, took = self.run_probe("t", resolver="servfail")
        self.assert_fault(p, "fail", ["cannot resolve %s" % HUNG])
        self.assertLess(took, 2 + GRACE)

    def test_truncated_answer_retried_over_tcp_refused(self):
        # glibc retries the TC answer over TCP; dnsd.py refuses it.
        self.section("t", "tcp", "host = %s\nport = 80" % HUNG, timeout="5s")
        p, took = self.run_probe("t", resolver="truncated")
        self.assert_fault(p, "fail", ["cannot resolve %s" % HUNG])
        self.assertLess(took, 2 + GRACE)

    def test_garbage_answer_is_waited_out_within_the_deadline(self):
        # glibc drops an answer it cannot read and keeps waiting.
        self.section("r", "redis", "host = %s" % HUNG)
        p, took = self.run_probe("r", resolver="garbage")
        self.assert_fault(p, "timeout", ["resolving %s timed out" % HUNG])
        self.assertLess(took, 1 + GRACE)

    def test_postgres_second_host_resolves_while_the_first_hangs(self):
        # Each name gets its share of the time: a name that hangs cannot
        # use up the time of a numeric second host (refused here).
        self.section("pg", "postgres",
                     "dsn = host=%s,127.0.0.1 port=5432,1 dbname=x user=u"
                     % HUNG, timeout="2s")
        p, took = self.run_probe("pg", resolver="silent")
        self.assert_fault(p, "fail", ["127.0.0.1", "refused"])
        self.assertLess(took, 2 + GRACE)


class LoopbackDnsTest(NetFaultCase):
    """The suite's own guarantee (gp.py): the system resolver a test process
    sees is on loopback, and a lookup nobody asked for is caught."""

    def setUp(self):
        super().setUp()
        if not gp._suite:
            self.skipTest(gp._no_namespace)

    def test_system_resolver_is_on_loopback(self):
        with open("/etc/resolv.conf") as f:
            servers = [ln.split()[1] for ln in f
                       if ln.startswith("nameserver")]
        self.assertTrue(servers)
        for s in servers:
            self.assertTrue(ipaddress.ip_address(s).is_loopback, servers)

    def test_unexpected_lookup_is_caught_on_loopback(self):
        self.section("t", "tcp", "host = %s\nport = 80" % HUNG)
        p, took = self.run_probe("t")
        # NXDOMAIN from the suite's dnsd.py: fatal at once.
        self.assert_fault(p, "fail", ["cannot resolve %s" % HUNG])
        self.assertLess(took, 1 + GRACE)
        # What the guard would fail this test for; taken here so it does not.
        self.assertIn("%s A" % HUNG, gp._suite.new_queries())

    def test_private_resolver_is_undone_after_the_test(self):
        res = self.private_resolver("servfail")
        with open("/etc/resolv.conf") as f:
            self.assertIn(res.host, f.read())
        self.doCleanups()
        with open("/etc/resolv.conf") as f:
            self.assertIn(gp._suite.resolver.host, f.read())


# --------------------------------------------------------------------------
# The dns probe against broken servers (its `server` option)


class DnsServerTest(NetFaultCase):

    def ask(self, mode, timeout="1s", tcp=False):
        dns = DnsFixture(self.tmp, mode)
        self.addCleanup(dns.stop)
        self.section("d", "dns", "name = api.test\nserver = 127.0.0.1:%d%s"
                     % (dns.port, "\ntcp = true" if tcp else ""),
                     timeout=timeout)
        return self.run_probe("d") + (dns,)

    def test_truncated_answer_and_refused_tcp_retry(self):
        p, took, dns = self.ask("truncated", timeout="3s")
        self.assert_fault(p, "fail", [
            "answer for api.test A truncated (TC) and the TCP retry failed",
            "connection refused or closed by 127.0.0.1:%d" % dns.port])
        self.assertLess(took, 1 + GRACE)

    def test_silent_server(self):
        p, took, dns = self.ask("silent")
        self.assert_fault(p, "timeout", ["no answer for api.test A"])
        self.assertLess(took, 1 + GRACE)

    def test_servfail(self):
        p, took, _ = self.ask("servfail", timeout="3s")
        self.assert_fault(p, "fail", ["SERVFAIL for api.test A"])
        self.assertLess(took, 1 + GRACE)

    def test_garbage(self):
        p, took, _ = self.ask("garbage", timeout="1s")
        self.assertIn(p["status"], ("fail", "timeout"), p["message"])
        self.assertIn("api.test A", p["message"])
        self.assertNotIn("truncated", p["message"])
        self.assertLess(took, 1 + GRACE)

    def test_tcp_to_a_silent_server(self):
        lst = self.listener("hang")
        self.section("d", "dns", "name = api.test\nserver = 127.0.0.1:%d\n"
                     "tcp = true" % lst.port)
        p, took = self.run_probe("d")
        # c-ares 1.18 gives a silent TCP server up after its first try
        # (a seventh of the time left) instead of retrying: a transient
        # failure early, not a timeout at the deadline.
        self.assert_fault(p, "fail", ["no answer for api.test A"])
        self.assertLess(took, 1 + GRACE)

    def test_tcp_to_a_server_without_tcp(self):
        p, took, dns = self.ask("silent", timeout="3s", tcp=True)
        self.assert_fault(p, "fail", ["connection refused or closed by"])
        self.assertNotIn("truncated", p["message"])
        self.assertLess(took, 1 + GRACE)


# --------------------------------------------------------------------------
# Hostile servers: tcp and redis


class TcpFaultTest(NetFaultCase):

    def tcp(self, listener, extra="", timeout="1s"):
        self.section("t", "tcp", "host = 127.0.0.1\nport = %d\n%s"
                     % (listener.port, extra), timeout=timeout)
        return self.run_probe("t")

    def test_refused(self):
        p, took = self.tcp(self.listener("closed"))
        self.assert_fault(p, "fail", ["connection refused by 127.0.0.1"])
        self.assertLess(took, 1 + GRACE)

    def test_blackhole(self):
        p, took = self.tcp(self.listener("blackhole"))
        self.assert_fault(p, "timeout", ["connect to 127.0.0.1", "timed out"])
        self.assertLess(took, 1 + GRACE)

    def test_reset_on_connect(self):
        p, took = self.tcp(self.listener("reset"), "expect = HELLO",
                           timeout="3s")
        # The RST may come before or after connect() returns: either way
        # the reset is the reason.
        self.assert_fault(p, "fail", ["Connection reset by peer"])
        self.assertLess(took, 1 + GRACE)

    def test_silent_after_accept(self):
        p, took = self.tcp(self.listener("hang"), "expect = HELLO")
        self.assert_fault(p, "timeout", ["nothing received"])
        self.assertLess(took, 1 + GRACE)

    def test_slow_drip(self):
        p, took = self.tcp(self.listener("drip", banner="HELLO", delay=0.4),
                           "expect = HELLO")
        self.assert_fault(p, "timeout", ['received 3 bytes: "HEL"'])
        self.assertLess(took, 1 + GRACE)

    def test_endless_reply(self):
        p, took = self.tcp(self.listener("flood", banner="x"),
                           "expect = HELLO", timeout="3s")
        self.assert_fault(p, "fail", ["received 65536 bytes"])
        self.assertLess(took, 2 + GRACE)


class RedisFaultTest(NetFaultCase):

    @classmethod
    def setUpClass(cls):
        cls.server = Redis()
        cls.addClassCleanup(cls.server.stop)
        cls.server.start()

    def redis(self, port, timeout="1s"):
        self.section("r", "redis", "host = 127.0.0.1\nport = %d" % port,
                     timeout=timeout)
        return self.run_probe("r")

    def test_real_server_is_ready(self):
        p, took = self.redis(self.server.port)
        self.assert_fault(p, "ok", ["PONG from"])

    def test_array_of_two_billion_elements(self):
        # hiredis alone: calloc(2147483647, 8), then the hard kill.
        lst = self.listener("banner", banner="*2147483647\\r\\n")
        p, took = self.redis(lst.port, timeout="3s")
        self.assert_fault(p, "fail", ["reply too large for PING"])
        self.assertLess(took, 1 + GRACE)

    def test_bulk_string_of_two_gigabytes(self):
        lst = self.listener("flood", banner="$2147483647\\r\\n")
        p, took = self.redis(lst.port, timeout="5s")
        self.assert_fault(p, "fail", ["reply too large for PING"])
        self.assertLess(took, 3 + GRACE)

    def test_endless_array(self):
        lst = self.listener("flood", banner="*2000000\\r\\n", fill=":1\\r\\n")
        p, took = self.redis(lst.port, timeout="5s")
        self.assert_fault(p, "fail", ["reply too large for PING"])
        self.assertLess(took, 3 + GRACE)

    def test_not_redis(self):
        lst = self.listener("banner", banner="HTTP/1.1 400 Bad\\r\\n\\r\\n")
        p, took = self.redis(lst.port, timeout="3s")
        self.assert_fault(p, "fail", ["does not speak Redis"])
        self.assertLess(took, 1 + GRACE)

    def test_silent(self):
        p, took = self.redis(self.listener("hang").port)
        self.assert_fault(p, "timeout", ["no reply to PING"])
        self.assertLess(took, 1 + GRACE)

    def test_slow_drip(self):
        lst = self.listener("drip", banner="+PONG\\r\\n", delay=0.3)
        p, took = self.redis(lst.port)
        self.assert_fault(p, "timeout", ["no reply to PING"])
        self.assertLess(took, 1 + GRACE)

    def test_reset_mid_reply(self):
        lst = self.listener("reset", banner="+PO", reset_after=0.3)
        p, took = self.redis(lst.port, timeout="3s")
        self.assert_fault(p, "fail", ["closed the connection"])
        self.assertLess(took, 1 + GRACE)


# --------------------------------------------------------------------------
# Hostile servers: http and clickhouse


class WebCase(NetFaultCase):
    """One plain and one TLS httpd.py for the whole class."""

    @classmethod
    def setUpClass(cls):
        cls.fixture_dir = tempfile.mkdtemp(prefix="gpcheck-faults-")
        cls.addClassCleanup(shutil.rmtree, cls.fixture_dir, True)
        cls.web = HttpdProcess(cls.fixture_dir)
        cls.addClassCleanup(cls.web.stop)
        cls.tls = HttpdProcess(cls.fixture_dir, tls=True)
        cls.addClassCleanup(cls.tls.stop)


class HttpFaultTest(WebCase):

    def http(self, url, timeout="1s", extra=""):
        self.section("h", "http", "url = %s\n%s" % (url, extra),
                     timeout=timeout)
        return self.run_probe("h")

    def test_endless_headers(self):
        p, took = self.http(self.web.url("/endless/headers"), timeout="3s")
        self.assertEqual(p["status"], "fail", p["message"])
        self.assertIn("header", p["message"].lower())
        self.assertLess(took, 2 + GRACE)

    def test_endless_body(self):
        p, took = self.http(self.web.url("/endless/body"), timeout="3s",
                            extra="expect_body = never-there")
        self.assert_fault(p, "fail", ["never-there"])
        self.assertLess(took, 2 + GRACE)

    def test_slow_drip(self):
        p, took = self.http(self.web.url("/drip?ms=100"))
        self.assert_fault(p, "timeout", ["no answer from 127.0.0.1"])
        self.assertLess(took, 1 + GRACE)

    def test_reset(self):
        p, took = self.http(self.web.url("/reset"), timeout="3s")
        self.assertEqual(p["status"], "fail", p["message"])
        self.assertIn("127.0.0.1:%d" % self.web.port, p["message"])
        self.assertLess(took, 1 + GRACE)

    def test_silent(self):
        p, took = self.http(self.web.url("/hang"))
        self.assert_fault(p, "timeout", ["no answer from 127.0.0.1"])
        self.assertLess(took, 1 + GRACE)

    def test_tls_to_a_plain_server(self):
        url = self.web.url("/").replace("http://", "https://")
        p, took = self.http(url, timeout="3s")
        self.assertEqual(p["status"], "fail", p["message"])
        self.assertIn("SSL", p["message"])
        self.assertLess(took, 1 + GRACE)

    def test_tls_untrusted_certificate(self):
        p, took = self.http(self.tls.url("/"), timeout="3s")
        self.assert_fault(p, "fail", ["TLS verification of 127.0.0.1"])
        self.assertLess(took, 1 + GRACE)

    def test_tls_handshake_never_answered(self):
        lst = self.listener("hang")
        p, took = self.http("https://127.0.0.1:%d/" % lst.port)
        self.assert_fault(p, "timeout", ["no answer from 127.0.0.1"])
        self.assertLess(took, 1 + GRACE)


class ClickHouseFaultTest(WebCase):
    """ClickHouse's HTTP interface, as a hostile stand-in plays it."""

    def clickhouse(self, url, timeout="3s"):
        self.section("c", "clickhouse", "url = %s\nquery = SELECT 1" % url,
                     timeout=timeout)
        return self.run_probe("c")

    def stand_in(self, text, **extra):
        q = dict(text=text, **extra)
        return self.web.url("/clickhouse/?" + urllib.parse.urlencode(q))

    def test_exception_glued_to_a_row(self):
        # What ClickHouse sends with a row format when the query fails
        # after the first rows: no newline before "Code:".
        url = self.stand_in(
            "1\n2Code: 395. DB::Exception: Value passed to 'throwIf' "
            "function is non-zero: while executing 'FUNCTION throwIf()'. "
            "(FUNCTION_THROW_IF_VALUE_IS_NON_ZERO) (version 23.8.2.7)\n")
        p, took = self.clickhouse(url)
        self.assert_fault(p, "fail", ["Code: 395", "DB::Exception"])
        self.assertLess(took, 1 + GRACE)

    def test_exception_code_header(self):
        url = self.stand_in("1\n", header="X-ClickHouse-Exception-Code: 241")
        p, took = self.clickhouse(url)
        self.assert_fault(p, "fail", ["exception code 241"])
        self.assertLess(took, 1 + GRACE)

    def test_endless_body(self):
        base = self.web.url("/endless/body")
        p, took = self.clickhouse(base)
        self.assertEqual(p["status"], "fail", p["message"])
        self.assertLess(took, 2 + GRACE)

    def test_silent(self):
        p, took = self.clickhouse(self.web.url("/hang/"), timeout="1s")
        self.assert_fault(p, "timeout", ["no answer from 127.0.0.1"])
        self.assertLess(took, 1 + GRACE)

    def test_reset_on_connect(self):
        lst = self.listener("reset")
        p, took = self.clickhouse("http://127.0.0.1:%d/" % lst.port)
        self.assertEqual(p["status"], "fail", p["message"])
        # The RST may come before or after connect() returns.
        self.assertIn("GET /ping: ", p["message"])
        self.assertIn("127.0.0.1:%d" % lst.port, p["message"])
        self.assertLess(took, 1 + GRACE)

    def test_not_clickhouse(self):
        p, took = self.clickhouse(self.web.url("/status/200/"))
        self.assert_fault(p, "fail", ["not a ClickHouse HTTP interface"])
        self.assertLess(took, 1 + GRACE)

    def test_tls_untrusted_certificate(self):
        p, took = self.clickhouse(self.tls.url("/clickhouse/"))
        self.assert_fault(p, "fail", ["TLS verification of 127.0.0.1"])
        self.assertLess(took, 1 + GRACE)


# --------------------------------------------------------------------------
# vpc reachability against dead targets


class VpcFaultTest(NetFaultCase):

    CONNECTOR = "projects/p/locations/l/connectors/c"

    def connector(self, api_url, timeout="2s"):
        self.section("v", "vpc", "connector = %s\napi_url = %s\ntoken = t0k"
                     % (self.CONNECTOR, api_url), timeout=timeout)
        return self.run_probe("v")

    def test_api_with_an_untrusted_certificate(self):
        web = HttpdProcess(self.tmp, tls=True)
        self.addCleanup(web.stop)
        p, took = self.connector(web.url(""))
        self.assert_fault(p, "fail", ["connector API", "SSL certificate"])
        self.assertEqual(p["history"][-1]["outcome"], "fatal")
        self.assertLess(took, 1 + GRACE)

    def test_api_silent(self):
        p, took = self.connector("http://127.0.0.1:%d"
                                 % self.listener("hang").port, timeout="1s")
        self.assert_fault(p, "timeout", ["connector API", "timed out"])
        self.assertLess(took, 1 + GRACE)

    def test_blackholed_and_refused_targets(self):
        hole, closed = self.listener("blackhole"), self.listener("closed")
        self.section("v", "vpc", "targets = 127.0.0.1:%d, 127.0.0.1:%d\n"
                     "samples = 2\nconnect_timeout = 300ms"
                     % (hole.port, closed.port), timeout="2s")
        p, took = self.run_probe("v")
        self.assert_fault(p, "fail", [
            "no target reachable (0/4 connects)",
            "127.0.0.1:%d timed out 2/2" % hole.port,
            "127.0.0.1:%d refused 2/2" % closed.port])
        self.assertLess(took, 1.5 + GRACE)


# --------------------------------------------------------------------------
# PostgreSQL: a dead first host cannot hide a live second one


class PostgresFailoverTest(NetFaultCase):

    @classmethod
    def setUpClass(cls):
        cls.pg = Postgres()
        cls.addClassCleanup(cls.pg.stop)
        cls.pg.start()
        cls.pg.create_role("app", PG_PASSWORD)
        cls.pg.create_db("appdb", owner="app")

    def failover(self, first, timeout="4s"):
        self.section("pg", "postgres",
                     "dsn = host=127.0.0.1,127.0.0.1 port=%d,%d dbname=appdb "
                     "user=app\npassword = %s" % (first.port, self.pg.port,
                                                   PG_PASSWORD),
                     timeout=timeout)
        return self.run_probe("pg")

    def test_blackholed_first_host(self):
        # The first host gets half of the 4 s, then the live one is tried
        # (psql's connect_timeout does the same, per host).
        p, took = self.failover(self.listener("blackhole"))
        self.assert_fault(p, "ok", ["connected to"])
        self.assertLess(took, 3 + GRACE)

    def test_silent_first_host(self):
        p, took = self.failover(self.listener("hang"))
        self.assert_fault(p, "ok", ["connected to"])
        self.assertLess(took, 3 + GRACE)

    def test_both_dead_still_within_the_deadline(self):
        a = self.listener("blackhole")
        self.section("pg", "postgres",
                     "dsn = host=127.0.0.1,127.0.0.1 port=%d,%d dbname=appdb "
                     "user=app\npassword = %s" % (a.port, a.port, PG_PASSWORD),
                     timeout="2s")
        p, took = self.run_probe("pg")
        self.assert_fault(p, "timeout", ["no answer from"])
        self.assertLess(took, 2 + GRACE)

    def single(self, port, extra="", timeout="2s"):
        self.section("pg", "postgres",
                     "dsn = host=127.0.0.1 port=%d dbname=appdb user=app%s\n"
                     "password = %s" % (port, extra, PG_PASSWORD),
                     timeout=timeout)
        return self.run_probe("pg")

    def test_silent_server(self):
        p, took = self.single(self.listener("hang").port, timeout="1s")
        self.assert_fault(p, "timeout", ["no answer from", "waiting for"])
        self.assertLess(took, 1 + GRACE)

    def test_not_postgres(self):
        lst = self.listener("banner", banner="HTTP/1.1 400 Bad\r\n\r\n")
        p, took = self.single(lst.port, " sslmode=disable")
        self.assertEqual(p["status"], "fail", p["message"])
        self.assertIn("127.0.0.1", p["message"])
        self.assertLess(took, 1 + GRACE)

    def test_reset_on_connect(self):
        p, took = self.single(self.listener("reset").port,
                              " sslmode=disable")
        self.assertEqual(p["status"], "fail", p["message"])
        self.assertIn("127.0.0.1", p["message"])
        self.assertLess(took, 1 + GRACE)

    def test_tls_required_by_a_server_without_it(self):
        p, took = self.single(self.pg.port, " sslmode=require")
        self.assert_fault(p, "fail", ["server does not support SSL"])
        self.assertEqual(p["history"][-1]["outcome"], "fatal")
        self.assertLess(took, 1 + GRACE)

    def test_wrong_password_on_the_live_host_is_fatal(self):
        # A reason that will not pass ends the attempt, as libpq stops
        # after a failed login.
        self.section("pg", "postgres",
                     "dsn = host=127.0.0.1,127.0.0.1 port=1,%d dbname=appdb "
                     "user=app\npassword = wrong" % self.pg.port,
                     timeout="4s")
        p, took = self.run_probe("pg")
        self.assert_fault(p, "fail", ["28P01"])
        self.assertLess(took, 2 + GRACE)


if __name__ == "__main__":
    unittest.main()
