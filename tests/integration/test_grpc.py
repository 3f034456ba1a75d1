"""tests/integration/test_grpc.py - the grpc probe (HTTP/2 with libcurl,
protobuf-c messages) against a real gRPC server from Debian's
python3-grpcio serving the Health Checking Protocol
(tests/servers/grpchealth.py), started once for the file: h2c, TLS and
mTLS ports with certificates made by the openssl command
(tests/servers/pki.py), the serving status switched at run time through
the server's state file. Statuses, grpc-status codes, TLS verification,
client certificates, metadata (a secret token: never in any output),
timeouts, refused connections, config errors."""

import json
import os
import shutil
import tempfile
import threading

from gp import GRACE, GpTestCase, outcomes
from grpchealth import GrpcHealth, Nghttpd
from pki import Pki
from tlsserver import SServer

CANARY = "Bearer canary-Grp9-Zq4x"
S = {}


def setUpModule():
    S["dir"] = tempfile.mkdtemp(prefix="gpcheck-grpc-")
    os.chmod(S["dir"], 0o755)
    pki = S["pki"] = Pki(S["dir"])
    S["leaf"] = pki.issue("leaf")
    # A client certificate from a CA the server does not trust.
    S["stranger"] = Pki(os.path.join(S["dir"], "other")).issue("client")
    try:
        S["g"] = GrpcHealth(cert=S["leaf"], ca=pki.root.cert)
        S["h2"] = Nghttpd()
        # openssl s_server: TLS without ALPN h2; and one that negotiates
        # h2 and requires a client certificate, refusing with an alert.
        S["no_alpn"] = SServer(S["leaf"])
        S["want_cert"] = SServer(S["leaf"], extra=[
            "-alpn", "h2", "-Verify", "1", "-CAfile", pki.root.cert])
    except BaseException:
        tearDownModule()
        raise


def tearDownModule():
    for name in ("g", "h2", "no_alpn", "want_cert"):
        if name in S:
            S[name].stop()
    shutil.rmtree(S["dir"], ignore_errors=True)



class GrpcCase(GpTestCase):

    def setUp(self):
        super().setUp()
        self.g = S["g"]
        self.g.set()
        self.addCleanup(self.g.set)

    def plain(self, more=""):
        return "target = 127.0.0.1:%d\nplaintext = true\n%s" % (
            self.g.plain, more)

    def tls(self, port=None, more=""):
        return "target = 127.0.0.1:%d\nca_file = %s\n%s" % (
            port or self.g.tls, S["pki"].root.cert, more)

    def write_many(self, sections, policy):
        for name, options in sections.items():
            self.write("conf.d/%s.ini" % name, "[%s]\nplugin = grpc\n%s\n%s\n"
                       % (name, options, policy))

    def run_many(self, sections, policy="attempts = 1\ntimeout = 3s",
                 extra=()):
        self.write_many(sections, policy)
        proc, doc, _ = self.run_json(*extra)
        self.assertIsNotNone(doc, proc.stderr)
        return proc, {n: self.probe(doc, n) for n in sections}


class StatusTest(GrpcCase):

    def test_serving_over_h2c(self):
        _, r = self.run_many({"api": self.plain()})
        p = r["api"]
        self.assertEqual(p["status"], "ok", p["message"])
        self.assertEqual(p["message"], "127.0.0.1:%d: SERVING in %.1f ms" % (
            self.g.plain, p["metrics"]["response_time"]))
        self.assertEqual(p["metrics"]["grpc_status"], 0)
        self.assertLess(p["metrics"]["response_time"], 3000)
        # The time left went to the server as grpc-timeout.
        left = self.g.call_log()[-1]["_time_remaining"]
        self.assertIsNotNone(left)
        self.assertGreater(left, 0)
        # (gRPC rounds a received timeout up a little.)
        self.assertLessEqual(left, 3.1)

    def test_a_long_timeout_is_sent_as_the_longest_grpc_timeout(self):
        # grpc-timeout has at most 8 digits: 30 hours go as 99999999m.
        _, r = self.run_many({"api": self.plain()},
                             policy="attempts = 1\ntimeout = 30h")
        self.assertEqual(r["api"]["status"], "ok", r["api"]["message"])
        left = self.g.call_log()[-1]["_time_remaining"]
        self.assertGreater(left, 99999.0)
        self.assertLess(left, 100001.0)

    def test_not_serving_and_unknown_are_transient(self):
        self.g.set(services={"": "NOT_SERVING", "db": "UNKNOWN",
                             "cache": "SERVING"})
        _, r = self.run_many({
            "all": self.plain(),
            "db": self.plain("service = db"),
            "cache": self.plain("service = cache")},
            policy="attempts = 2\ndelay = 50ms\ntimeout = 3s")
        self.assertEqual(outcomes(r["all"]), ["transient"] * 2)
        self.assertIn("NOT_SERVING", r["all"]["message"])
        self.assertEqual(outcomes(r["db"]), ["transient"] * 2)
        self.assertIn("(service 'db'): UNKNOWN", r["db"]["message"])
        self.assertEqual(r["cache"]["status"], "ok", r["cache"]["message"])

    def test_becomes_serving_during_warmup(self):
        self.g.set(services={"": "NOT_SERVING"})
        timer = threading.Timer(1.0, self.g.set)
        timer.start()
        self.addCleanup(timer.cancel)
        _, r = self.run_many({"api": self.plain()},
                             policy="warmup = 15s\nwarmup_interval = 200ms\n"
                                    "timeout = 3s")
        p = r["api"]
        self.assertEqual(p["status"], "ok", p["message"])
        seen = outcomes(p)
        self.assertEqual(seen[-1], "ready")
        self.assertGreaterEqual(seen.count("transient"), 2, seen)

    def test_unknown_service_is_transient_in_warmup_fatal_after(self):
        # A service nobody has registered yet (grpc's health servicers
        # answer NOT_FOUND) may be registered once it has started: waited
        # for in the warmup, fatal after it. The same for SERVICE_UNKNOWN.
        self.g.set(services={"": "SERVING", "old": "SERVICE_UNKNOWN"})
        policy = ("warmup = 400ms\nwarmup_interval = 100ms\nattempts = 3\n"
                  "timeout = 3s")
        _, r = self.run_many({"nope": self.plain("service = nope"),
                              "old": self.plain("service = old")},
                             policy=policy)
        for name in ("nope", "old"):
            seen = outcomes(r[name])
            self.assertEqual(seen[-1], "fatal", seen)
            self.assertGreaterEqual(seen.count("transient"), 2, seen)
            self.assertEqual(set(seen[:-1]), {"transient"}, seen)
        self.assertIn("service 'nope' unknown to the server (grpc-status 5 "
                      "NOT_FOUND: \"unknown service\")", r["nope"]["message"])
        self.assertIn("SERVICE_UNKNOWN", r["old"]["message"])
        warm = [h["message"] for h in r["nope"]["history"]
                if h.get("outcome") == "transient"]
        self.assertIn("still in warmup", warm[0])
        # Without a warmup: fatal on the first attempt.
        _, r = self.run_many({"nope": self.plain("service = nope")},
                             policy="attempts = 3\ntimeout = 3s")
        self.assertEqual(outcomes(r["nope"]), ["fatal"])

    def test_service_registered_during_warmup(self):
        self.g.set(services={"": "SERVING"})
        timer = threading.Timer(1.0, self.g.set, kwargs={
            "services": {"": "SERVING", "late": "SERVING"}})
        timer.start()
        self.addCleanup(timer.cancel)
        _, r = self.run_many({"late": self.plain("service = late")},
                             policy="warmup = 15s\nwarmup_interval = 200ms\n"
                                    "timeout = 3s")
        p = r["late"]
        self.assertEqual(p["status"], "ok", p["message"])
        seen = outcomes(p)
        self.assertEqual(seen[-1], "ready")
        self.assertGreaterEqual(seen.count("transient"), 2, seen)

    def test_unimplemented_is_fatal_in_warmup_too(self):
        # No Health service: grpc servers register services before they
        # start, so waiting will not bring it.
        policy = "warmup = 10s\nattempts = 3\ntimeout = 3s"
        self.g.set(unimplemented=True)
        _, r = self.run_many({"bare": self.plain()}, policy=policy)
        self.assertEqual(outcomes(r["bare"]), ["fatal"], [h.get("message") for h in r["bare"]["history"]])
        self.assertIn("the server does not implement grpc.health.v1.Health "
                      "(grpc-status 12 UNIMPLEMENTED", r["bare"]["message"])
        self.assertEqual(r["bare"]["metrics"]["grpc_status"], 12)

    def test_grpc_status_codes(self):
        self.g.set(services={"a": "grpc:UNAVAILABLE",
                             "b": "grpc:RESOURCE_EXHAUSTED",
                             "c": "grpc:PERMISSION_DENIED",
                             "d": "grpc:INTERNAL"})
        _, r = self.run_many({n: self.plain("service = " + n)
                              for n in "abcd"})
        self.assertEqual(outcomes(r["a"]), ["transient"])
        self.assertIn("grpc-status 14 UNAVAILABLE: \"set by the test: "
                      "UNAVAILABLE\"", r["a"]["message"])
        self.assertEqual(outcomes(r["b"]), ["transient"])
        self.assertEqual(outcomes(r["c"]), ["fatal"])
        self.assertIn("PERMISSION_DENIED", r["c"]["message"])
        self.assertEqual(outcomes(r["d"]), ["fatal"])


class TlsTest(GrpcCase):

    def test_tls_and_server_name(self):
        _, r = self.run_many({
            "tls": self.tls(),
            "sni": self.tls(more="server_name = localhost"),
            "no_ca": "target = 127.0.0.1:%d" % self.g.tls,
            "other": self.tls(more="server_name = other.test")})
        for name in ("tls", "sni"):
            self.assertEqual(r[name]["status"], "ok", r[name]["message"])
        for name in ("no_ca", "other"):
            self.assertEqual(outcomes(r[name]), ["fatal"], r[name]["message"])
            self.assertIn("TLS verification of 127.0.0.1:%d failed"
                          % self.g.tls, r[name]["message"])
        self.assertIn("unable to get local issuer", r["no_ca"]["message"])
        self.assertIn("other.test", r["other"]["message"])

    def test_no_alpn_h2_and_a_client_certificate_alert_are_fatal(self):
        _, r = self.run_many({
            "no_alpn": self.tls(S["no_alpn"].port),
            "want_cert": self.tls(S["want_cert"].port)})
        self.assertEqual(outcomes(r["no_alpn"]), ["fatal"],
                         r["no_alpn"]["message"])
        self.assertIn("127.0.0.1:%d does not offer HTTP/2 over TLS (ALPN "
                      "none)" % S["no_alpn"].port, r["no_alpn"]["message"])
        p = r["want_cert"]
        self.assertEqual(outcomes(p), ["fatal"], p["message"])
        self.assertIn("127.0.0.1:%d refused the connection after the TLS "
                      "handshake: " % S["want_cert"].port, p["message"])
        self.assertIn("alert certificate required (no cert_file is set)",
                      p["message"])

    def test_unusable_tls_files_are_fatal(self):
        leaf = S["leaf"]
        _, r = self.run_many({
            "ca": "target = 127.0.0.1:%d\nca_file = %s/missing.pem"
                  % (self.g.tls, self.tmp),
            "key": self.tls(self.g.mtls, "cert_file = %s\nkey_file = %s"
                            % (leaf.cert, S["stranger"].key))})
        self.assertEqual(outcomes(r["ca"]), ["fatal"], r["ca"]["message"])
        self.assertIn("cannot load ca_file", r["ca"]["message"])
        self.assertEqual(outcomes(r["key"]), ["fatal"], r["key"]["message"])
        self.assertIn("cannot use cert_file / key_file", r["key"]["message"])

    def test_client_certificates(self):
        leaf, stranger = S["leaf"], S["stranger"]
        _, r = self.run_many({
            "mtls": self.tls(self.g.mtls, "cert_file = %s\nkey_file = %s"
                             % (leaf.cert, leaf.key)),
            "none": self.tls(self.g.mtls),
            "stranger": self.tls(self.g.mtls, "cert_file = %s\nkey_file = %s"
                                 % (stranger.cert, stranger.key))})
        self.assertEqual(r["mtls"]["status"], "ok", r["mtls"]["message"])
        # TLS 1.3: the refusal comes after the handshake, as a close.
        self.assertEqual(outcomes(r["none"]), ["transient"])
        self.assertIn("no cert_file is set: does it require a client "
                      "certificate?", r["none"]["message"])
        # A certificate from a CA it does not trust: grpcio closes too
        # (no alert), and the message has no hint, a cert_file being set.
        self.assertEqual(outcomes(r["stranger"]), ["transient"])
        self.assertEqual(r["stranger"]["message"],
                         "127.0.0.1:%d closed the connection before answering"
                         % self.g.mtls)


class MetadataTest(GrpcCase):

    def test_token_in_metadata_never_shown(self):
        self.g.set(token=CANARY)
        good = self.plain("metadata = authorization: %s, x-tenant: acme-01"
                          % CANARY)
        bad = self.plain("metadata = authorization: Bearer wrong-token-1")
        _, r = self.run_many({"good": good, "bad": bad}, extra=("-v",))
        self.assertEqual(r["good"]["status"], "ok", r["good"]["message"])
        self.assertEqual(outcomes(r["bad"]), ["fatal"])
        self.assertIn("UNAUTHENTICATED", r["bad"]["message"])
        seen = [c for c in self.g.call_log()
                if c.get("authorization") == CANARY]
        self.assertTrue(seen)
        self.assertEqual(seen[-1]["x-tenant"], "acme-01")
        outputs = []
        for cmd in (("run", "-v"), ("list",), ("validate",),
                    ("run", "--explain")):
            proc = self.gp(*cmd)
            outputs += [proc.stdout, proc.stderr]
        report = os.path.join(self.tmp, "report.json")
        with open(report) as f:
            outputs.append(f.read())
        for text in outputs:
            self.assertNotIn("canary-Grp9", text)
            self.assertNotIn("wrong-token-1", text)

    def test_bad_options_are_config_errors(self):
        self.write_many({
            "t1": "target = 127.0.0.1",
            "t2": "target = http://127.0.0.1:80",
            "m1": self.plain("metadata = Authorization: x"),
            "m2": self.plain("metadata = grpc-timeout: 1S"),
            "p1": self.plain("ca_file = /etc/ssl/certs/ca-certificates.crt"),
            "k1": "target = 127.0.0.1:1\nkey_file = /nonexistent.key",
        }, "")
        proc = self.gp("validate")
        self.assertEqual(proc.returncode, 2, proc.stderr)
        for name, key, why in (
                ("t1", "target", "no ':PORT'"), ("t2", "target", "a URL"),
                ("m1", "metadata", "item 1 is not"),
                ("m2", "metadata", "item 1 is not"),
                ("p1", "ca_file", "needs TLS, but plaintext is on"),
                ("k1", "key_file", "needs cert_file")):
            self.assertRegex(proc.stderr, r"%s\.ini:\d+: probe '%s': %s: .*%s"
                             % (name, name, key, why))


class ConnectionTest(GrpcCase):

    def test_slow_answer_is_cut_at_the_deadline(self):
        self.g.set(sleep=5)
        _, r = self.run_many({"slow": self.plain()},
                             policy="attempts = 1\ntimeout = 1s")
        p = r["slow"]
        self.assertIn(outcomes(p)[0], ("timeout", "transient"), p["message"])
        self.assertLess(p["duration_ms"], 1000 + GRACE * 1000)

    def test_refused_is_transient(self):
        lst = self.listener("closed")
        _, r = self.run_many({"gone": "target = 127.0.0.1:%d\nplaintext = 1"
                              % lst.port})
        self.assertEqual(outcomes(r["gone"]), ["transient"])
        self.assertIn("connection refused by 127.0.0.1:%d" % lst.port,
                      r["gone"]["message"])

    def test_not_grpc_servers(self):
        http1 = self.listener("banner", banner="HTTP/1.1 400 Bad Request"
                                               "\\r\\n\\r\\n")
        _, r = self.run_many({
            "h2": "target = 127.0.0.1:%d\nplaintext = true" % S["h2"].port,
            "http1": "target = 127.0.0.1:%d\nplaintext = true" % http1.port,
            "tls_on_h2c": "target = 127.0.0.1:%d\nca_file = %s"
                          % (self.g.plain, S["pki"].root.cert)})
        # nghttpd: HTTP 404 without grpc-status, read as gRPC's mapping
        # says (doc/http-grpc-status-mapping.md).
        self.assertEqual(outcomes(r["h2"]), ["fatal"], r["h2"]["message"])
        self.assertIn("(HTTP 404, no grpc-status: read as 12 UNIMPLEMENTED)",
                      r["h2"]["message"])
        self.assertEqual(r["h2"]["metrics"]["grpc_status"], 12)
        self.assertEqual(outcomes(r["http1"]), ["fatal"],
                         r["http1"]["message"])
        self.assertIn("does not speak HTTP/2", r["http1"]["message"])
        self.assertEqual(outcomes(r["tls_on_h2c"]), ["fatal"],
                         r["tls_on_h2c"]["message"])
        self.assertIn("TLS handshake with 127.0.0.1:%d failed"
                      % self.g.plain, r["tls_on_h2c"]["message"])

    def test_listed(self):
        proc = self.gp("plugins")
        self.assertRegex(proc.stdout, r"(?m)^grpc +0\.1\.0 ")
        proc = self.gp("plugins", "grpc")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        for key in ("target", "service", "plaintext", "metadata",
                    "server_name", "response_time", "grpc_status"):
            self.assertIn(key, proc.stdout)
