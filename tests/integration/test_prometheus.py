"""tests/integration/test_prometheus.py - the prometheus probe against a
REAL Prometheus (Debian's prometheus 2.42, tests/servers/prometheus.py)
scraping, every second, a small exporter (tests/fixtures/exporter.py) that
serves series named as Google Cloud Monitoring names them in PromQL
(vpcaccess_googleapis_com:connector_instances, ...), so that the seed's
"VPC connector utilisation < 80 % of max capacity" runs end to end:

    query.vpc_utilisation = max(vpcaccess_googleapis_com:connector_instances
                                {connector_name="staging-connector"})
                            / 100 * 100
    units = vpc_utilisation:%
    fail_if = vpc_utilisation >= 80%

Outcomes, each produced by the real server: under 80 % ok, a breach fail,
an empty result (transient in warmup, fatal after; on_empty = zero), a
stale target (its exporter stopped: Prometheus writes staleness markers),
several series (fatal, naming their labels), NaN and +Inf, a bad query
(400), an execution error (422) and a range vector (fatal at once, with
Prometheus' own error text).

Prometheus 2.42 knows basic auth only (--web.config.file), so Bearer
tokens are checked by tests/fixtures/authproxy.py in front of it, as
Cloud Monitoring's endpoint checks them: token, token_file and the GCE
metadata server (tests/fixtures/vpcapi.py's token endpoint), a wrong
token and none. 5xx, 404 and a hanging server come from
tests/fixtures/httpd.py.
"""

import json
import os
import shutil
import sys
import tempfile
import time
import urllib.request

from gp import FIXTURES, GRACE, GpTestCase
from fixture import FixtureProcess  # noqa: E402 (gp puts it on the path)

from base import free_port
from prometheus import Prometheus

TOKEN = "ya29.prom-test-token-0123456789"
CANARY = "ya29.Canary-prom-7c1d" + "-0123456789abcdef" * 4
NO_PROXY = {"no_proxy": "*", "NO_PROXY": "*"}
INSTANCES = "vpcaccess_googleapis_com:connector_instances"
UTILISATION = ('max(%s{connector_name="staging-connector"}) / 100 * 100'
               % INSTANCES)


class Exporter(FixtureProcess):
    def __init__(self, tmp, port=0):
        port_file = os.path.join(tmp, "exporter-%d.port" % id(self))
        super().__init__(
            [sys.executable, os.path.join(FIXTURES, "exporter.py"),
             "--port-file", port_file, "--port", str(port),
             "--lifetime", "600"],
            port_file, "exporter.py", seconds=15, quiet=True)
        self.url = "http://127.0.0.1:%d" % self.port
        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}))

    def control(self, **change):
        req = urllib.request.Request(self.url + "/_control",
                                     data=json.dumps(change).encode(),
                                     method="POST")
        with self.opener.open(req, timeout=10) as r:
            return json.load(r)


class Fixture(FixtureProcess):
    def __init__(self, tmp, script, *args):
        port_file = os.path.join(tmp, "%s-%d.port" % (script, id(self)))
        super().__init__(
            [sys.executable, os.path.join(FIXTURES, script),
             "--port-file", port_file, "--lifetime", "600"] + list(args),
            port_file, script, seconds=15, quiet=True)
        self.url = "http://127.0.0.1:%d" % self.port


class PrometheusTest(GpTestCase):
    """One Prometheus, its exporters and the fixtures for the class."""

    @classmethod
    def setUpClass(cls):
        cls.fixture_dir = tempfile.mkdtemp(prefix="gpcheck-prom-")
        cls.addClassCleanup(shutil.rmtree, cls.fixture_dir,
                            ignore_errors=True)
        cls.exporter = Exporter(cls.fixture_dir)
        cls.addClassCleanup(cls.exporter.stop)
        # A second target, started and stopped by the staleness test.
        cls.stale_port = free_port()
        cls.prom = Prometheus({"vpc": [cls.exporter.port],
                               "stale": [cls.stale_port]})
        cls.addClassCleanup(cls.prom.stop)
        cls.prom.start()
        cls.proxy = Fixture(cls.fixture_dir, "authproxy.py", "--upstream",
                            cls.prom.url, "--token", TOKEN)
        cls.addClassCleanup(cls.proxy.stop)
        cls.vpcapi = Fixture(cls.fixture_dir, "vpcapi.py", "--token", TOKEN)
        cls.addClassCleanup(cls.vpcapi.stop)
        cls.httpd = Fixture(cls.fixture_dir, "httpd.py")
        cls.addClassCleanup(cls.httpd.stop)
        cls.prom.wait_values(UTILISATION, [42.0], seconds=30)

    def prom_ini(self, name, url=None, **keys):
        keys.setdefault("attempts", "1")
        keys.setdefault("timeout", "3s")
        lines = ["[%s]" % name, "plugin = prometheus",
                 "url = %s" % (url or self.prom.url)]
        lines += ["%s = %s" % kv for kv in keys.items()]
        with open(os.path.join(self.confd, name + ".ini"), "w") as f:
            f.write("\n".join(lines) + "\n")

    def vpc_rule(self, name="vpc", **keys):
        keys.setdefault("query.vpc_utilisation", UTILISATION)
        keys.setdefault("units", "vpc_utilisation:%")
        keys.setdefault("fail_if", "vpc_utilisation >= 80%")
        self.prom_ini(name, **keys)

    def run_probes(self, *extra):
        proc, doc, took = self.run_json(*extra, env=NO_PROXY)
        self.assertIsNotNone(doc, proc.stderr)
        return proc, doc, took

    # -- the 80 % rule ---------------------------------------------------

    def test_under_80_percent_passes_with_each_query_a_metric(self):
        self.vpc_rule(**{
            "query.cpu": ("sum(%s) / sum(%s)" % (
                "vpcaccess_googleapis_com:connector_cpu_utilizations_sum",
                "vpcaccess_googleapis_com:connector_cpu_utilizations_count")),
            "warn_if": "cpu > 0.8"})
        proc, doc, _ = self.run_probes()
        self.assertEqual(proc.returncode, 0, proc.stderr)
        p = self.probe(doc, "vpc")
        self.assertEqual(p["status"], "ok", p["message"])
        self.assertEqual(p["metrics"]["vpc_utilisation"], 42.0)
        self.assertAlmostEqual(p["metrics"]["cpu"], 0.31)
        self.assertIn("query_time", p["metrics"])
        self.assertRegex(p["message"],
                         r"^cpu 0.31; vpc_utilisation 42 \(2 queries in")
        fired = {t["condition"]: t["fired"] for t in p["thresholds"]}
        self.assertEqual(fired, {"vpc_utilisation >= 80%": False,
                                 "cpu > 0.8": False})

    def test_breach_fails_with_the_value_seen(self):
        self.exporter.control(instances=85)
        self.addCleanup(self.prom.wait_values, UTILISATION, [42.0])
        self.addCleanup(self.exporter.control, instances=42)
        self.prom.wait_values(UTILISATION, [85.0])
        self.vpc_rule()
        proc, doc, _ = self.run_probes()
        self.assertEqual(proc.returncode, 1, proc.stderr)
        p = self.probe(doc, "vpc")
        self.assertEqual(p["status"], "fail")
        self.assertTrue(p["message"].startswith(
            "fail_if vpc_utilisation >= 80%: vpc_utilisation is 85%; "),
            p["message"])
        # the text report says the same
        proc = self.gp("run", env=NO_PROXY)
        self.assertIn("vpc_utilisation is 85%", proc.stderr)

    # -- no number -------------------------------------------------------

    def test_empty_result_transient_in_warmup_fatal_after(self):
        nope = UTILISATION.replace("staging-connector", "no-such-connector")
        self.vpc_rule("warm", **{"query.vpc_utilisation": nope,
                                 "warmup": "1s", "warmup_interval": "250ms"})
        self.vpc_rule("zero", **{"query.vpc_utilisation": nope,
                                 "on_empty": "zero"})
        self.vpc_rule("always", **{"query.vpc_utilisation": nope,
                                   "on_empty": "transient", "attempts": "2",
                                   "delay": "100ms"})
        proc, doc, _ = self.run_probes()
        warm = self.probe(doc, "warm")
        self.assertEqual(warm["status"], "fail", warm["message"])
        phases = [(h["phase"], h["outcome"]) for h in warm["history"]]
        self.assertGreaterEqual(len(phases), 2, phases)
        self.assertTrue(all(o == "transient" for ph, o in phases[:-1]
                            if ph == "warmup"), phases)
        self.assertEqual(phases[-1], ("retry", "fatal"))
        self.assertIn("still in warmup", warm["history"][0]["message"])
        self.assertIn("vpc_utilisation: empty result (no series matched, or "
                      "its target is stale)", warm["message"])
        zero = self.probe(doc, "zero")
        self.assertEqual(zero["status"], "ok", zero["message"])
        self.assertEqual(zero["metrics"]["vpc_utilisation"], 0)
        always = self.probe(doc, "always")
        self.assertEqual([h["outcome"] for h in always["history"]],
                         ["transient", "transient"])

    def test_stale_target_is_an_empty_result(self):
        exp = Exporter(self.tmp, port=self.stale_port)
        self.addCleanup(exp.stop)
        query = 'max(%s{job="stale"})' % INSTANCES
        self.prom.wait_values(query, [42.0])
        exp.stop()
        # Prometheus marks the series stale on the first failed scrape
        self.prom.wait_values(query, [])
        self.prom_ini("stale", **{"query.instances": query})
        proc, doc, _ = self.run_probes()
        p = self.probe(doc, "stale")
        self.assertEqual(p["status"], "fail", p["message"])
        self.assertEqual(p["history"][-1]["outcome"], "fatal")
        self.assertIn("instances: empty result", p["message"])

    def test_several_series_are_fatal_and_named(self):
        series = self.exporter.control()["series"]
        other = [[n, dict(l, connector_name="other-connector"), v]
                 for n, l, v in series]
        self.exporter.control(series=series + other)
        self.addCleanup(self.prom.wait_values, "count(%s)" % INSTANCES,
                        [1.0])
        self.addCleanup(self.exporter.control, reset=True)
        self.prom.wait_values("count(%s)" % INSTANCES, [2.0])
        self.prom_ini("many", **{"query.instances": INSTANCES,
                                 "warmup": "5s"})
        proc, doc, took = self.run_probes()
        p = self.probe(doc, "many")
        self.assertEqual(p["status"], "fail", p["message"])
        self.assertEqual(len(p["history"]), 1)  # fatal in warmup too
        self.assertIn("instances: 2 series where one number was expected "
                      "(aggregate them: max(), sum() ...): ", p["message"])
        self.assertIn('connector_name="staging-connector"', p["message"])
        self.assertIn('connector_name="other-connector"', p["message"])

    def test_nan_and_inf(self):
        self.prom_ini("nan", **{"query.ratio": "0 / 0"})
        self.prom_ini("inf", **{"query.ratio": "1 / 0", "warmup": "5s"})
        proc, doc, _ = self.run_probes()
        nan = self.probe(doc, "nan")
        self.assertEqual(nan["status"], "fail", nan["message"])
        self.assertIn("ratio: the result is NaN", nan["message"])
        self.assertNotIn("ratio", nan["metrics"])
        inf = self.probe(doc, "inf")
        self.assertEqual(inf["status"], "fail", inf["message"])
        self.assertEqual(len(inf["history"]), 1)
        self.assertIn("ratio: the result is +Inf", inf["message"])

    def test_bad_query_and_range_vector_are_fatal_at_once(self):
        self.prom_ini("bad", **{"query.x": "max(", "warmup": "30s",
                                "attempts": "3"})
        self.prom_ini("range", **{"query.x": INSTANCES + "[1m]",
                                  "warmup": "30s"})
        # an execution error (422): duplicate series on one side of a match
        self.prom_ini("exec", **{"query.x": (
            'vector(1) + on() group_left() (label_replace(vector(1), "a", '
            '"1", "", "") or label_replace(vector(1), "a", "2", "", ""))'),
            "warmup": "30s"})
        proc, doc, took = self.run_probes()
        self.assertLess(took, 10, "a bad query will not heal: no retries")
        bad = self.probe(doc, "bad")
        self.assertEqual(bad["status"], "fail")
        self.assertEqual(len(bad["history"]), 1)
        self.assertRegex(bad["message"],
                         r"^x: Prometheus refused the query \(400\): "
                         r"bad_data: .*parse error")
        ex = self.probe(doc, "exec")
        self.assertEqual(ex["status"], "fail")
        self.assertEqual(len(ex["history"]), 1)
        self.assertRegex(ex["message"],
                         r"^x: Prometheus refused the query \(422\): "
                         r"execution: found duplicate series")
        rng = self.probe(doc, "range")
        self.assertEqual(rng["status"], "fail")
        self.assertIn("x: the result is a range vector, not one number",
                      rng["message"])

    # -- the server's answers --------------------------------------------

    def test_5xx_and_a_hang_are_transient_404_fatal(self):
        self.vpc_rule("busy", url=self.httpd.url + "/status/503",
                      attempts="2", delay="100ms")
        self.vpc_rule("hang", url=self.httpd.url + "/hang", attempts="2",
                      delay="100ms", timeout="1s")
        self.vpc_rule("missing", url=self.httpd.url + "/status/404",
                      attempts="3", delay="100ms")
        proc, doc, took = self.run_probes()
        busy = self.probe(doc, "busy")
        self.assertEqual([h["outcome"] for h in busy["history"]],
                         ["transient", "transient"])
        self.assertIn("vpc_utilisation: Prometheus answered 503",
                      busy["message"])
        hang = self.probe(doc, "hang")
        self.assertEqual(hang["status"], "timeout", hang["message"])
        self.assertEqual(len(hang["history"]), 2)
        self.assertLess(took, 2 * (1 + GRACE) + 5)
        missing = self.probe(doc, "missing")
        self.assertEqual(missing["status"], "fail")
        self.assertEqual(len(missing["history"]), 1)
        self.assertIn("404: no Prometheus API under url", missing["message"])

    # -- tokens ----------------------------------------------------------

    def test_bearer_tokens(self):
        token_file = os.path.join(self.tmp, "token")
        with open(token_file, "w") as f:
            f.write(TOKEN + "\n")
        os.chmod(token_file, 0o600)
        meta = (self.vpcapi.url + "/computeMetadata/v1/instance/"
                "service-accounts/default/token")
        self.vpc_rule("inline", url=self.proxy.url, token=TOKEN)
        self.vpc_rule("file", url=self.proxy.url, token_file=token_file)
        self.vpc_rule("metadata", url=self.proxy.url, metadata_url=meta)
        self.vpc_rule("wrong", url=self.proxy.url, token=CANARY,
                      warmup="5s")
        self.vpc_rule("none", url=self.proxy.url)
        proc, doc, _ = self.run_probes("-v")
        for name in ("inline", "file", "metadata"):
            p = self.probe(doc, name)
            self.assertEqual(p["status"], "ok", "%s: %s" % (name, p["message"]))
            self.assertEqual(p["metrics"]["vpc_utilisation"], 42.0)
        wrong = self.probe(doc, "wrong")
        self.assertEqual(wrong["status"], "fail")
        self.assertEqual(len(wrong["history"]), 1)  # fatal in warmup too
        self.assertIn("Prometheus refused the token (401): UNAUTHENTICATED: "
                      "Request had invalid authentication credentials",
                      wrong["message"])
        none = self.probe(doc, "none")
        self.assertEqual(none["status"], "fail")
        self.assertIn("Prometheus refused the request without a token (401)",
                      none["message"])
        report = json.dumps(doc)
        for text in (report, proc.stderr, proc.stdout):
            self.assertNotIn(CANARY, text)
            self.assertNotIn(TOKEN, text)

    # -- configuration ---------------------------------------------------

    def test_configuration_errors_name_file_and_line(self):
        self.write("conf.d/p.ini", """
            [p]
            plugin = prometheus
            url = ftp://127.0.0.1/
            querry.cpu = up
            query.Cpu = up
            query.cpu =
            units = cpu:%, ram:bytes
            fail_if = cpu > 80%
            """)
        proc = self.gp("validate")
        self.assertEqual(proc.returncode, 2, proc.stderr)
        err = proc.stderr
        self.assertIn("p.ini:4: unknown key 'querry.cpu' in probe 'p' (did "
                      "you mean 'query.cpu'?)", err)
        self.assertIn("p.ini:5: probe 'p': query.Cpu: invalid name 'Cpu'",
                      err)
        self.assertIn("p.ini:6: probe 'p': query.cpu: empty value", err)

        self.write("conf.d/p.ini", """
            [p]
            plugin = prometheus
            url = ftp://127.0.0.1/
            query.cpu = up
            units = cpu:%, ram:bytes
            """)
        proc = self.gp("validate")
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("p.ini:3: probe 'p': url:", proc.stderr)
        self.assertIn("p.ini:5: probe 'p': units: 'ram' names no query.ram",
                      proc.stderr)

    def test_plugins_and_list_show_the_family(self):
        proc = self.gp("plugins", "prometheus")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertRegex(proc.stdout, r"\n  query\.NAME +string +query\.NAME")
        self.assertIn("a family: KEY.NAME = VALUE, each NAME a metric",
                      proc.stdout)
        self.vpc_rule()
        proc = self.gp("list")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("query.vpc_utilisation = " + UTILISATION, proc.stdout)


if __name__ == "__main__":
    import unittest
    unittest.main()
