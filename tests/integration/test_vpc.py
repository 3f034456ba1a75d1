"""tests/integration/test_vpc.py - the vpc probe: reachability of the
endpoints behind a VPC connector, and the connector's state from the
Serverless VPC Access API.

Reachability runs against real loopback listeners (tests/fixtures/
listen.py: accept, closed, blackhole, on 127.0.0.1 and ::1). The real API
cannot be reached from the test machines, so the connector mode runs
against tests/fixtures/vpcapi.py, a local server speaking the API's
documented format (and a GCE metadata token endpoint), switched between
states, errors and delays through its control endpoint.

Every outcome: READY; CREATING / UPDATING (transient, and READY later in
the warmup); ERROR / DELETING / 404 / 401 / 403 / 400 / not a Connector
(fatal); 5xx and 429, refused, a hanging API cut at the attempt timeout
(transient); token sources (token, token_file with its permission rules,
metadata_url); a machine type or a capacity that drifted; both modes in
one probe. And a canary token that appears in no output, even when the
server echoes it back.
"""

import json
import os
import shutil
import sys
import tempfile
import threading
import urllib.error
import urllib.request

from gp import FIXTURES, GRACE, GpTestCase
from fixture import FixtureProcess  # noqa: E402 (gp puts it on the path)

CONNECTOR = "projects/seed/locations/us-central1/connectors/seed-connector"
TOKEN = "ya29.test-token-0123456789"
# Must never appear in any output, on any path, not even in part: as long
# as real access tokens, so that an echo of it straddles any cut.
CANARY = "ya29.Canary-vpc-9b4f2e" + "-0123456789abcdef" * 10
# libcurl honours *_proxy variables: loopback must be reached directly.
NO_PROXY = {"no_proxy": "*", "NO_PROXY": "*"}


class VpcApi(FixtureProcess):
    """tests/fixtures/vpcapi.py on a free loopback port."""

    def __init__(self, tmp, token=TOKEN, lifetime=300):
        port_file = os.path.join(tmp, "vpcapi-%d.port" % id(self))
        super().__init__(
            [sys.executable, os.path.join(FIXTURES, "vpcapi.py"),
             "--port-file", port_file, "--token", token,
             "--connector", CONNECTOR, "--lifetime", str(lifetime)],
            port_file, "vpcapi.py", seconds=15, quiet=True)
        self.url = "http://127.0.0.1:%d" % self.port
        self.metadata_url = (self.url + "/computeMetadata/v1/instance/"
                             "service-accounts/default/token")
        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}))

    def control(self, **change):
        req = urllib.request.Request(self.url + "/_control",
                                     data=json.dumps(change).encode(),
                                     method="POST")
        with self.opener.open(req, timeout=10) as r:
            return json.load(r)

    def counters(self):
        with self.opener.open(self.url + "/_control", timeout=10) as r:
            return json.load(r)["counters"]


def start_api(cls):
    """One fixture for a test class, stopped and removed after it."""
    cls.fixture_dir = tempfile.mkdtemp(prefix="gpcheck-vpcapi-")
    cls.addClassCleanup(shutil.rmtree, cls.fixture_dir, ignore_errors=True)
    cls.api = VpcApi(cls.fixture_dir)
    cls.addClassCleanup(cls.api.stop)


class VpcCase(GpTestCase):
    def vpc_ini(self, name="vpc", **keys):
        keys.setdefault("attempts", "1")
        keys.setdefault("timeout", "3s")
        lines = ["[%s]" % name, "plugin = vpc"]
        lines += ["%s = %s" % (k, v) for k, v in keys.items()]
        self.write("conf.d/%s.ini" % name, "\n".join(lines) + "\n")

    def run_one(self, name="vpc", *extra):
        proc, doc, took = self.run_json(*extra, env=NO_PROXY)
        self.assertIsNotNone(doc, proc.stderr)
        return proc, self.probe(doc, name), took

    def check(self, **keys):
        self.vpc_ini(**keys)
        return self.run_one()

    def config_error(self, key, *texts, **keys):
        """`gpcheck validate` refuses the probe (ABI 1.2 validate()): exit
        2 and one line naming KEY with the texts."""
        self.vpc_ini(**keys)
        proc = self.gp("validate", env=NO_PROXY)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        lines = [l for l in proc.stderr.splitlines()
                 if "conf.d/vpc.ini:" in l and "probe 'vpc': %s:" % key in l]
        self.assertEqual(len(lines), 1, proc.stderr)
        for text in texts:
            self.assertIn(text, lines[0])

    def assert_outcome(self, probe, status, outcome, *texts):
        self.assertEqual(probe["status"], status, probe)
        self.assertEqual(probe["history"][-1]["outcome"], outcome, probe)
        for text in texts:
            self.assertIn(text, probe["message"])


class ReachabilityTest(VpcCase):
    def test_all_reachable(self):
        a = self.listener("accept")
        b = self.listener("accept")
        v6 = self.listener("accept", host="::1")
        _, p, _ = self.check(targets="127.0.0.1:%d, 127.0.0.1:%d, [::1]:%d"
                             % (a.port, b.port, v6.port))
        self.assert_outcome(p, "ok", "ready", "3 targets: 9/9 connects")
        m = p["metrics"]
        self.assertEqual(m["reachable"], 100)
        self.assertEqual(m["targets"], 3)
        self.assertGreaterEqual(m["connect_time_p50"], 0)
        self.assertGreaterEqual(m["connect_time_max"],
                                m["connect_time_p50"])

    def test_samples(self):
        a = self.listener("accept")
        _, p, _ = self.check(targets="127.0.0.1:%d" % a.port, samples="7")
        self.assert_outcome(p, "ok", "ready", "1 target: 7/7 connects")

    def test_name_falls_back_to_next_address(self):
        # localhost is ::1 and 127.0.0.1; the listener has only the latter.
        a = self.listener("accept")
        _, p, _ = self.check(targets="localhost:%d" % a.port)
        self.assert_outcome(p, "ok", "ready", "3/3 connects")

    def test_below_min_reachable_is_transient(self):
        a = self.listener("accept")
        closed = self.listener("closed")
        _, p, _ = self.check(targets="127.0.0.1:%d, 127.0.0.1:%d"
                             % (a.port, closed.port))
        self.assert_outcome(p, "fail", "transient", "reachable 50% < 100%",
                            "127.0.0.1:%d refused 3/3" % closed.port)
        self.assertEqual(p["metrics"]["reachable"], 50)
        self.assertNotIn("127.0.0.1:%d " % a.port, p["message"])

    def test_min_reachable_met(self):
        a = self.listener("accept")
        b = self.listener("accept")
        closed = self.listener("closed")
        _, p, _ = self.check(targets="127.0.0.1:%d, 127.0.0.1:%d, "
                             "127.0.0.1:%d" % (a.port, b.port, closed.port),
                             min_reachable="60%")
        self.assert_outcome(p, "ok", "ready", "6/9 connects",
                            "failed: 127.0.0.1:%d refused 3/3" % closed.port)
        self.assertAlmostEqual(p["metrics"]["reachable"], 66.667, places=2)

    def test_threshold_on_reachable(self):
        a = self.listener("accept")
        closed = self.listener("closed")
        _, p, _ = self.check(targets="127.0.0.1:%d, 127.0.0.1:%d"
                             % (a.port, closed.port),
                             min_reachable="0%", warn_if="reachable < 100%")
        self.assertEqual(p["status"], "warn", p)

    def test_nothing_reachable(self):
        closed = self.listener("closed")
        _, p, _ = self.check(targets="127.0.0.1:%d" % closed.port)
        self.assert_outcome(p, "fail", "transient", "no target reachable")
        self.assertNotIn("connect_time_p50", p["metrics"])

    def test_blackhole_cut_at_timeout(self):
        a = self.listener("accept")
        hole = self.listener("blackhole")
        _, p, took = self.check(targets="127.0.0.1:%d, 127.0.0.1:%d"
                                % (a.port, hole.port), timeout="1s")
        self.assertEqual(p["status"], "timeout", p)
        self.assertIn("127.0.0.1:%d timed out 3/3" % hole.port, p["message"])
        self.assertEqual(p["metrics"]["reachable"], 50)
        self.assertLess(took, 1 + GRACE)

    def test_connect_timeout(self):
        hole = self.listener("blackhole")
        _, p, took = self.check(targets="127.0.0.1:%d" % hole.port,
                                connect_timeout="300ms", timeout="5s")
        self.assert_outcome(p, "fail", "transient", "timed out 3/3")
        self.assertLess(took, 3)

    def test_bad_targets(self):
        for spec, why in (("127.0.0.1", "no :port"),
                          ("::1:80", "[addr]:port"),
                          ("[::1]80", "[addr]:port"),
                          ("127.0.0.1:99999", "out of range"),
                          ("127.0.0.1:0", "out of range"),
                          ("db:http", "bad port")):
            self.config_error("targets", "'%s'" % spec, why, targets=spec)

    def test_unresolvable_name(self):
        # The system resolver (dnsd.py on loopback) answers NXDOMAIN: not
        # ready, and the message says why.
        self.private_resolver("nxdomain")
        _, p, _ = self.check(targets="nonexistent.invalid:80")
        self.assertIn(p["status"], ("fail", "timeout"), p)
        self.assertIn("resolve", p["message"])

    def test_nothing_configured(self):
        self.config_error("targets", "nothing to check")


class ConnectorTest(VpcCase):
    """One fixture for the class; every test starts from its defaults."""

    @classmethod
    def setUpClass(cls):
        start_api(cls)

    def setUp(self):
        super().setUp()
        self.api.control(reset=True)

    def connector(self, **keys):
        keys.setdefault("connector", CONNECTOR)
        keys.setdefault("api_url", self.api.url)
        if not {"token", "token_file", "metadata_url"} & set(keys):
            keys["token"] = TOKEN
        return self.check(**keys)

    def test_ready(self):
        _, p, _ = self.connector()
        self.assert_outcome(p, "ok", "ready", CONNECTOR, "READY",
                            "network default", "10.8.0.0/28", "e2-micro",
                            "2-10 instances", "200-1000 Mbps")
        m = p["metrics"]
        self.assertEqual((m["min_instances"], m["max_instances"]), (2, 10))
        self.assertEqual((m["min_throughput"], m["max_throughput"]),
                         (200, 1000))
        self.assertGreaterEqual(m["api_time"], 0)
        self.assertNotIn("reachable", m)

    def test_transient_states(self):
        for state in ("CREATING", "UPDATING"):
            self.api.control(state=state)
            _, p, _ = self.connector()
            self.assert_outcome(p, "fail", "transient", "is " + state)
            self.assertEqual(p["metrics"]["max_instances"], 10)

    def test_fatal_states(self):
        for state, text in (("ERROR", "state ERROR"),
                            ("DELETING", "being deleted")):
            self.api.control(state=state)
            _, p, _ = self.connector(warmup="30s")
            self.assert_outcome(p, "fail", "fatal", text)
            self.assertEqual(len(p["history"]), 1)

    def test_unknown_state(self):
        self.api.control(state="STATE_UNSPECIFIED")
        _, p, _ = self.connector()
        self.assert_outcome(p, "error", "unknown", "STATE_UNSPECIFIED")

    def test_creating_then_ready_in_warmup(self):
        self.api.control(state="CREATING")
        timer = threading.Timer(1.0, self.api.control, kwargs={
            "state": "READY"})
        timer.start()
        self.addCleanup(timer.cancel)
        _, p, took = self.connector(warmup="20s", warmup_interval="200ms")
        self.assert_outcome(p, "ok", "ready", "READY")
        self.assertGreater(len(p["history"]), 1)
        self.assertEqual(p["history"][0]["outcome"], "transient")
        self.assertLess(took, 10)

    def test_not_found(self):
        other = CONNECTOR.replace("seed-connector", "other")
        _, p, _ = self.connector(connector=other)
        self.assert_outcome(p, "fail", "fatal", "not found (404)", other)
        self.api.control(status=404)
        _, p, _ = self.connector()
        self.assert_outcome(p, "fail", "fatal", "not found (404)")

    def test_wrong_token(self):
        _, p, _ = self.connector(token="ya29.not-the-right-one")
        self.assert_outcome(p, "fail", "fatal", "refused the token (401)",
                            "UNAUTHENTICATED")
        self.api.control(deny=True)
        _, p, _ = self.connector()
        self.assert_outcome(p, "fail", "fatal", "refused the token (403)",
                            "PERMISSION_DENIED")

    def test_server_errors_are_transient(self):
        for code in (500, 503, 429):
            self.api.control(status=code)
            _, p, _ = self.connector()
            self.assert_outcome(p, "fail", "transient",
                                "answered %d" % code)

    def test_bad_request_is_fatal(self):
        self.api.control(status=400)
        _, p, _ = self.connector()
        self.assert_outcome(p, "fail", "fatal", "answered 400",
                            "INVALID_ARGUMENT")

    def test_not_a_connector(self):
        self.api.control(body="<html>captive portal</html>")
        _, p, _ = self.connector()
        self.assert_outcome(p, "fail", "fatal", "not a Connector",
                            "captive portal")
        self.api.control(body='{"name": "x"}')
        _, p, _ = self.connector()
        self.assert_outcome(p, "fail", "fatal", "not a Connector (no state)")

    def test_hanging_api_cut_at_timeout(self):
        self.api.control(delay=30)
        _, p, took = self.connector(timeout="1s")
        self.assertEqual(p["status"], "timeout", p)
        self.assertIn("connector API: timed out", p["message"])
        self.assertLess(took, 1 + GRACE)

    def test_api_refused(self):
        closed = self.listener("closed")
        _, p, _ = self.connector(api_url="http://127.0.0.1:%d" % closed.port)
        self.assert_outcome(p, "fail", "transient", "connector API:")

    def test_bad_options(self):
        for name in ("projects/p/connectors/c",
                     "projects/p/locations/l/connectors/c/x",
                     "projects/p/locations/l/connectors/",
                     "projects/p?x/locations/l/connectors/c"):
            self.config_error("connector", "is not projects/PROJECT",
                              connector=name, token=TOKEN,
                              api_url=self.api.url)
        self.config_error("api_url", "http or https", connector=CONNECTOR,
                          token=TOKEN, api_url="ftp://127.0.0.1")

    def test_token_sources(self):
        self.config_error("connector", "needs one of token",
                          connector=CONNECTOR, api_url=self.api.url)
        path = self.token_file(TOKEN, 0o600)
        self.config_error("token", "only one of", connector=CONNECTOR,
                          api_url=self.api.url, token=TOKEN, token_file=path)

    def token_file(self, text, mode, name="token"):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def test_token_file(self):
        path = self.token_file(TOKEN + "\n", 0o600)
        _, p, _ = self.connector(token_file=path)
        self.assert_outcome(p, "ok", "ready", "READY")
        path = self.token_file("two words\n", 0o600, "blank")
        _, p, _ = self.connector(token_file=path)
        self.assert_outcome(p, "fail", "fatal", "blanks or control")

    def test_unsafe_token_file_refused_before_probing(self):
        # token_file is a GP_OPT_FILE: a file others may read, a folder or
        # a missing file is a configuration error, with FILE:LINE.
        readable = self.token_file(CANARY, 0o640, "readable")
        for bad, why in ((readable, "group or others"),
                         (self.tmp, "not a regular file"),
                         (readable + ".missing", "No such file")):
            self.vpc_ini(connector=CONNECTOR, api_url=self.api.url,
                         token_file=bad)
            proc = self.gp("validate")
            self.assertEqual(proc.returncode, 2, proc.stderr)
            self.assertIn("conf.d/vpc.ini:", proc.stderr)
            self.assertIn("token_file", proc.stderr)
            self.assertIn(why, proc.stderr)
            self.assertNotIn(CANARY, proc.stderr)

    def test_metadata_token(self):
        before = self.api.counters()
        _, p, _ = self.connector(metadata_url=self.api.metadata_url)
        self.assert_outcome(p, "ok", "ready", "READY")
        after = self.api.counters()
        self.assertEqual(after["metadata"], before["metadata"] + 1)
        self.assertEqual(after["authorized"], before["authorized"] + 1)
        # The fixture, like the real server, wants Metadata-Flavor.
        with self.assertRaises(urllib.error.HTTPError) as cm:
            self.api.opener.open(self.api.metadata_url, timeout=10)
        self.assertEqual(cm.exception.code, 403)

    def test_metadata_errors(self):
        self.api.control(metadata_status=503)
        _, p, _ = self.connector(metadata_url=self.api.metadata_url)
        self.assert_outcome(p, "fail", "transient",
                            "metadata server answered 503")
        self.api.control(metadata_status=404)
        _, p, _ = self.connector(metadata_url=self.api.metadata_url)
        self.assert_outcome(p, "fail", "fatal",
                            "metadata server answered 404")

    def test_machine_type(self):
        _, p, _ = self.connector(expect_machine_type="e2-micro")
        self.assert_outcome(p, "ok", "ready")
        self.api.control(fields={"machineType": "e2-standard-8"})
        _, p, _ = self.connector(expect_machine_type="e2-micro")
        self.assert_outcome(p, "fail", "fatal",
                            "machine type is e2-standard-8, expected e2-micro")

    def test_threshold_catches_drift(self):
        # The seed doubled 5/50 instances to 10/100.
        self.api.control(fields={"minInstances": 10, "maxInstances": 100})
        _, p, _ = self.connector(fail_if="max_instances > 50")
        self.assertEqual(p["status"], "fail", p)
        self.assertEqual(p["metrics"]["max_instances"], 100)
        self.assertIn("max_instances > 50", json.dumps(p))
        # Fields the API leaves out are not reported (and do not fire).
        self.api.control(fields={"minInstances": None, "maxInstances": None})
        _, p, _ = self.connector(fail_if="max_instances > 50")
        self.assertEqual(p["status"], "ok", p)
        self.assertNotIn("max_instances", p["metrics"])

    def test_canary_token_never_shown(self):
        # The server echoes the token it got back in its error message.
        self.api.control(echo_token=True, metadata_token=CANARY)
        path = self.token_file(CANARY + "\n", 0o600)
        for keys in ({"token": CANARY}, {"token_file": path},
                     {"metadata_url": self.api.metadata_url}):
            self.vpc_ini(connector=CONNECTOR, api_url=self.api.url, **keys)
            proc, doc, _ = self.run_json("-v", env=NO_PROXY)
            p = self.probe(doc, "vpc")
            self.assert_outcome(p, "fail", "fatal", "Token given: ***")
            self.assertNotIn(CANARY[:12], proc.stdout + proc.stderr, keys)
            with open(os.path.join(self.tmp, "report.json")) as f:
                self.assertNotIn(CANARY[:12], f.read(), keys)
            proc = self.gp("list")
            self.assertNotIn(CANARY[:12], proc.stdout + proc.stderr, keys)


class BothModesTest(VpcCase):
    @classmethod
    def setUpClass(cls):
        start_api(cls)

    def setUp(self):
        super().setUp()
        self.api.control(reset=True)

    def both(self, targets, **keys):
        return self.check(connector=CONNECTOR, api_url=self.api.url,
                          token=TOKEN, targets=targets, **keys)

    def test_both_ready(self):
        a = self.listener("accept")
        _, p, _ = self.both("127.0.0.1:%d" % a.port)
        self.assert_outcome(p, "ok", "ready", "READY", "3/3 connects")
        for metric in ("reachable", "connect_time_p50", "max_instances",
                       "api_time"):
            self.assertIn(metric, p["metrics"])

    def test_target_down(self):
        closed = self.listener("closed")
        _, p, _ = self.both("127.0.0.1:%d" % closed.port)
        self.assert_outcome(p, "fail", "transient", "refused 3/3", "READY")
        # The part that is not ready comes first.
        self.assertTrue(p["message"].startswith("no target reachable"), p)

    def test_connector_fatal_skips_targets(self):
        a = self.listener("accept")
        self.api.control(state="ERROR")
        _, p, _ = self.both("127.0.0.1:%d" % a.port)
        self.assert_outcome(p, "fail", "fatal", "state ERROR")
        self.assertNotIn("reachable", p["metrics"])

    def test_connector_creating_targets_ready(self):
        a = self.listener("accept")
        self.api.control(state="CREATING")
        _, p, _ = self.both("127.0.0.1:%d" % a.port)
        self.assert_outcome(p, "fail", "transient", "is CREATING",
                            "3/3 connects")
        self.assertEqual(p["metrics"]["reachable"], 100)


class UtilisationTest(VpcCase):
    """utilisation = true: Cloud Monitoring's projects.timeSeries.list,
    from the fixture's documented ListTimeSeriesResponse (the connector's
    series, newest point first), as shares of the Connector's sizing."""

    @classmethod
    def setUpClass(cls):
        start_api(cls)

    def setUp(self):
        super().setUp()
        self.api.control(reset=True)

    def util(self, **keys):
        keys.setdefault("connector", CONNECTOR)
        keys.setdefault("api_url", self.api.url)
        keys.setdefault("monitoring_url", self.api.url)
        keys.setdefault("token", TOKEN)
        keys.setdefault("utilisation", "true")
        return self.check(**keys)

    def test_shares_of_the_connector_capacity(self):
        # fixture: 4 of maxInstances 10; (1.5e9 + 3e9) B in 60 s = 600 of
        # maxThroughput 1000 Mbps; CPU mean 0.31
        before = self.api.counters()["monitoring"]
        _, p, _ = self.util(fail_if="instances_usage >= 80%",
                            warn_if="throughput_usage > 90%, "
                                    "cpu_utilisation > 70%")
        self.assert_outcome(p, "ok", "ready", "READY",
                            "utilisation: instances 4 of 10 (40%), "
                            "throughput 600 of 1000 Mbps (60%), CPU 31%")
        m = p["metrics"]
        self.assertEqual(m["instances_usage"], 40)
        self.assertAlmostEqual(m["throughput_usage"], 60)
        self.assertAlmostEqual(m["cpu_utilisation"], 31)
        self.assertEqual(self.api.counters()["monitoring"], before + 1)

    def test_breach_of_the_80_percent_rule(self):
        self.api.control(usage={"instances": 9})
        _, p, _ = self.util(fail_if="instances_usage >= 80%")
        self.assertEqual(p["status"], "fail")
        self.assertTrue(p["message"].startswith(
            "fail_if instances_usage >= 80%: instances_usage is 90%"), p)

    def test_no_data_transient_in_warmup_fatal_after(self):
        other = CONNECTOR.replace("seed-connector", "new-connector")
        self.api.control(connector=other)  # the API knows the new one ...
        self.api.control(usage={"instances": None, "cpu": None,
                                "sent_bytes": None, "received_bytes": None})
        _, p, _ = self.util(connector=other, warmup="1s",
                            warmup_interval="300ms")
        self.assertEqual(p["status"], "fail", p)
        outcomes = [h["outcome"] for h in p["history"]]
        self.assertEqual(outcomes[-1], "fatal", outcomes)
        self.assertIn("transient", outcomes[:-1])
        self.assertIn("Cloud Monitoring has no utilisation of the connector "
                      "in the last 10 minutes", p["message"])

    def test_partial_data_reports_what_there_is(self):
        self.api.control(usage={"sent_bytes": None, "received_bytes": None})
        _, p, _ = self.util()
        self.assert_outcome(p, "ok", "ready", "instances 4 of 10 (40%)")
        self.assertNotIn("throughput_usage", p["metrics"])

    def test_permission_and_server_errors(self):
        self.api.control(monitoring_status=403)
        _, p, _ = self.util(warmup="5s")
        self.assert_outcome(p, "fail", "fatal", "roles/monitoring.viewer")
        self.assertEqual(len(p["history"]), 1)
        self.api.control(monitoring_status=503)
        _, p, _ = self.util(attempts="2", delay="100ms")
        self.assertEqual([h["outcome"] for h in p["history"]],
                         ["transient", "transient"])
        self.assertIn("Cloud Monitoring answered 503", p["message"])

    def test_not_asked_for_a_connector_not_ready(self):
        self.api.control(state="CREATING")
        before = self.api.counters()["monitoring"]
        _, p, _ = self.util()
        self.assert_outcome(p, "fail", "transient", "is CREATING")
        self.assertEqual(self.api.counters()["monitoring"], before)

    def test_needs_connector_mode(self):
        a = self.listener("accept")
        self.config_error("utilisation", "needs connector mode",
                          targets="127.0.0.1:%d" % a.port,
                          utilisation="true")


if __name__ == "__main__":
    import unittest
    unittest.main()
