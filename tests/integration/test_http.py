"""tests/integration/test_http.py - the http probe (libcurl) against a real
HTTP server on loopback (tests/fixtures/httpd.py): ready with metrics,
expected statuses (codes and classes), 5xx retried, 404 / 401 / 403 fatal,
expected body text, redirects, POST with body and headers, HEAD, bodies
over 64 KiB, TLS with a self-signed certificate (ca_file, verification
failure, insecure, client certificates), an endpoint that never answers,
connection refused, and the canary password in no output."""

import json
import os
import shutil
import sys
import tempfile
import urllib.parse

from gp import FIXTURES, GRACE, GpTestCase, outcomes

sys.path.insert(0, FIXTURES)
from httpd import HttpdProcess  # noqa: E402

CANARY = "canary-Htt9-Wv4m"
USER = "prober"



class HttpCase(GpTestCase):
    """Servers shared by the class (the tests only read them), and helpers
    that write one or more probe sections and run them."""

    @classmethod
    def setUpClass(cls):
        cls.fixture_dir = tempfile.mkdtemp(prefix="gpcheck-http-")
        cls.addClassCleanup(shutil.rmtree, cls.fixture_dir, True)
        cls.web = HttpdProcess(cls.fixture_dir, auth_user=USER,
                               auth_password=CANARY)
        cls.addClassCleanup(cls.web.stop)

    def section(self, name, url, options="",
                policy="attempts = 1\ntimeout = 3s"):
        self.write("conf.d/%s.ini" % name,
                   "[%s]\nplugin = http\nurl = %s\n%s\n%s\n"
                   % (name, url, options, policy))

    def run_one(self, name, url, options="",
                policy="attempts = 1\ntimeout = 3s", extra=()):
        self.section(name, url, options, policy)
        proc, doc, took = self.run_json(*extra)
        self.assertIsNotNone(doc, proc.stderr)
        return proc, self.probe(doc, name), took

    def config_errors(self, sections):
        """sections: {name: (url, options)}; `gpcheck validate` must refuse
        them (exit 2); returns {name: [its error lines]}."""
        for name, (url, options) in sections.items():
            self.section(name, url, options)
        proc = self.gp("validate")
        self.assertEqual(proc.returncode, 2, proc.stderr)
        return {name: [l for l in proc.stderr.splitlines()
                       if "conf.d/%s.ini:" % name in l]
                for name in sections}

    def run_many(self, sections):
        """sections: {name: (url, options)}; returns {name: probe report}."""
        for name, (url, options) in sections.items():
            self.section(name, url, options)
        proc, doc, _ = self.run_json()
        self.assertIsNotNone(doc, proc.stderr)
        return {name: self.probe(doc, name) for name in sections}


class StatusTest(HttpCase):

    def test_ready_with_metrics(self):
        proc, p, _ = self.run_one("web", self.web.url("/"))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(p["status"], "ok", p["message"])
        self.assertIn("HTTP 200 from %s" % self.web.url("/"), p["message"])
        m = p["metrics"]
        self.assertEqual(m["status"], 200)
        self.assertEqual(m["size"], 3)  # "ok\n"
        self.assertGreaterEqual(m["response_time"], 0)
        self.assertLess(m["response_time"], 3000)

    def test_expect_status_codes_and_classes(self):
        u = self.web.url
        r = self.run_many({
            "c301": (u("/status/301"), "expect_status = 2xx, 301"),
            "c404": (u("/status/404"), "expect_status = 4xx"),
            "c201": (u("/status/201"), ""),
            "c204": (u("/status/204"), "expect_status = 204"),
            "c302": (u("/status/302"), "expect_status = 2xx, 301"),
            "c200": (u("/status/200"), "expect_status = 3xx"),
        })
        for name in ("c301", "c404", "c201", "c204"):
            self.assertEqual(r[name]["status"], "ok", r[name]["message"])
        self.assertEqual(r["c204"]["metrics"]["status"], 204)
        self.assertEqual(outcomes(r["c302"]), ["fatal"])
        self.assertIn("HTTP 302", r["c302"]["message"])
        self.assertIn("expected 2xx, 301", r["c302"]["message"])
        self.assertEqual(outcomes(r["c200"]), ["fatal"])
        self.assertIn("expected 3xx", r["c200"]["message"])

    def test_bad_expect_status_is_a_config_error(self):
        # ABI 1.2 validate(): at the option's line, every bad item.
        u = self.web.url("/")
        r = self.config_errors({"bad1": (u, "expect_status = 2xy"),
                                "bad2": (u, "expect_status = 200, 600"),
                                "bad3": (u, "expect_status = ok"),
                                "bad4": (u, "expect_status = 2xx, 20O")})
        for name, bad in (("bad1", ["2xy"]), ("bad2", ["600"]),
                          ("bad3", ["ok"]), ("bad4", ["20O"])):
            self.assertEqual(len(r[name]), len(bad), r[name])
            for line, item in zip(r[name], bad):
                self.assertIn(":4: probe '%s': expect_status: '%s' is "
                              "neither" % (name, item), line)

    def test_503_is_transient_and_retried(self):
        _, p, _ = self.run_one("web", self.web.url("/status/503"),
                               policy="attempts = 3\ndelay = 100ms\n"
                                      "timeout = 2s")
        self.assertEqual(p["status"], "fail")
        self.assertEqual(outcomes(p), ["transient"] * 3)
        self.assertIn("HTTP 503", p["message"])
        self.assertEqual(p["metrics"]["status"], 503)

    def test_other_5xx_and_429_are_transient(self):
        u = self.web.url
        r = self.run_many({"s500": (u("/status/500"), ""),
                           "s502": (u("/status/502"), ""),
                           "s429": (u("/status/429"), "")})
        for p in r.values():
            self.assertEqual(outcomes(p), ["transient"], p["message"])

    def test_404_is_fatal(self):
        _, p, _ = self.run_one("web", self.web.url("/status/404"),
                               policy="warmup = 10s\nattempts = 3\n"
                                      "timeout = 2s")
        self.assertEqual(outcomes(p), ["fatal"])
        self.assertEqual(p["attempts"], 1)
        self.assertIn("HTTP 404", p["message"])
        self.assertIn("expected 2xx", p["message"])

    def test_401_and_403_are_fatal(self):
        u = self.web.url
        r = self.run_many({
            "noauth": (u("/auth"), ""),
            "wrong": (u("/auth"), "user = %s\npassword = not-it" % USER),
            "forbidden": (u("/status/403"), ""),
        })
        for p in r.values():
            self.assertEqual(outcomes(p), ["fatal"], p["message"])
        self.assertIn("authentication required", r["noauth"]["message"])
        self.assertIn("credentials refused", r["wrong"]["message"])
        self.assertIn("forbidden", r["forbidden"]["message"])

    def test_basic_auth(self):
        _, p, _ = self.run_one("web", self.web.url("/auth"),
                               "user = %s\npassword = %s\n"
                               "expect_body = welcome %s" % (USER, CANARY,
                                                             USER))
        self.assertEqual(p["status"], "ok", p["message"])


class BodyTest(HttpCase):

    def test_expect_body(self):
        u = self.web.url("/body?text=service+is+READY")
        r = self.run_many({"match": (u, "expect_body = is READY"),
                           "mismatch": (u, "expect_body = is GREEN")})
        self.assertEqual(r["match"]["status"], "ok", r["match"]["message"])
        self.assertIn("expected text found", r["match"]["message"])
        self.assertEqual(outcomes(r["mismatch"]), ["fatal"])
        self.assertIn('"is GREEN" is not in the 16 bytes',
                      r["mismatch"]["message"])
        self.assertIn("service is READY", r["mismatch"]["message"])

    def test_expect_body_waits_in_warmup(self):
        # A 200 that says "starting" is a service still starting: in the
        # warmup the probe waits for the text (found by the conformance
        # suite's "'starting' then 'ready'" lifecycle, where the probe used
        # to give up at once), and it is fatal once the warmup is over.
        u = self.web.url("/body?text=starting")
        self.section("web", u, "expect_body = ready",
                     policy="warmup = 700ms\nwarmup_interval = 100ms\n"
                            "attempts = 1\ntimeout = 3s")
        proc, doc, took = self.run_json()
        p = self.probe(doc, "web")
        self.assertEqual(p["status"], "fail", p["message"])
        warm = [h["outcome"] for h in p["history"] if h["phase"] == "warmup"]
        self.assertGreaterEqual(len(warm), 3, p["history"])
        self.assertEqual(set(warm), {"transient"})
        self.assertEqual(p["history"][-1]["outcome"], "fatal")
        self.assertGreaterEqual(took, 0.7)

    def test_post_with_body_and_headers(self):
        u = self.web.url("/echo/submit")
        opts = ("method = POST\nbody = hello gpcheck\n"
                "header = X-Test: abc, Content-Type: text/plain\n")
        r = self.run_many({
            "method": (u, opts + 'expect_body = "method": "POST"'),
            "body": (u, opts + 'expect_body = "body": "hello gpcheck"'),
            "hdr": (u, opts + 'expect_body = "X-Test": "abc"'),
            "ctype": (u, opts + 'expect_body = "Content-Type": "text/plain"'),
        })
        for p in r.values():
            self.assertEqual(p["status"], "ok", p["message"])

    def test_get_sends_no_body(self):
        _, p, _ = self.run_one("web", self.web.url("/echo"),
                               'expect_body = "method": "GET"')
        self.assertEqual(p["status"], "ok", p["message"])

    def test_head(self):
        _, p, _ = self.run_one("web", self.web.url("/big?bytes=1000"),
                               "method = HEAD")
        self.assertEqual(p["status"], "ok", p["message"])
        self.assertEqual(p["metrics"]["size"], 0)

    def test_inconsistent_options_are_config_errors(self):
        u = self.web.url("/")
        r = self.config_errors({
            "body-get": (u, "body = x"),
            "head-expect": (u, "method = HEAD\nexpect_body = x"),
            "bad-header": (u, "header = no colon here"),
            "key-only": (u, "key_file = /nonexistent.key"),
            "pw-only": (u, "password = x"),
            "scheme": ("ftp://127.0.0.1/", ""),
            "typo": ("htp://127.0.0.1/", ""),
        })
        keys = {"body-get": "body", "head-expect": "expect_body",
                "bad-header": "header", "key-only": "key_file",
                "pw-only": "password", "scheme": "url", "typo": "url"}
        for name, lines in r.items():
            self.assertEqual(len(lines), 1, lines)
            self.assertIn("probe '%s': %s:" % (name, keys[name]), lines[0])
        self.assertIn(":3: probe 'typo': url:", r["typo"][0])

    def test_body_over_64k(self):
        u = self.web.url("/big?bytes=200000")
        r = self.run_many({"plain": (u, ""),
                           "text": (u, "expect_body = y")})
        self.assertEqual(r["plain"]["status"], "ok", r["plain"]["message"])
        self.assertEqual(r["plain"]["metrics"]["size"], 200000)
        self.assertEqual(outcomes(r["text"]), ["fatal"])
        self.assertIn("first 65536 bytes", r["text"]["message"])


class RedirectTest(HttpCase):

    def test_redirects(self):
        u = self.web.url("/redirect?to=/body?text=landed")
        r = self.run_many({
            "off": (u, ""),
            "on": (u, "follow_redirects = true\nexpect_body = landed"),
            "expect302": (u, "expect_status = 302"),
        })
        self.assertEqual(outcomes(r["off"]), ["fatal"])
        self.assertIn("HTTP 302", r["off"]["message"])
        self.assertIn("redirected to %s" % self.web.url("/body?text=landed"),
                      r["off"]["message"])
        self.assertIn("follow_redirects is off", r["off"]["message"])
        self.assertEqual(r["on"]["status"], "ok", r["on"]["message"])
        self.assertEqual(r["on"]["metrics"]["status"], 200)
        self.assertEqual(r["expect302"]["status"], "ok")
        self.assertEqual(r["expect302"]["metrics"]["status"], 302)

    def test_redirect_to_a_url_with_credentials_is_masked(self):
        # The probe's own url shows the target (it is configuration); the
        # Location it reports must not.
        target = "http://someone:hunter2@127.0.0.1:1/"
        url = self.web.url("/redirect?to=" + urllib.parse.quote(target, ""))
        _, p, _ = self.run_one("web", url)
        self.assertEqual(outcomes(p), ["fatal"])
        shown = p["message"].split("redirected to ", 1)[1]
        self.assertTrue(shown.startswith("http://someone:***@127.0.0.1:1/"),
                        shown)
        self.assertNotIn("hunter2", shown)


class TimingTest(HttpCase):

    def test_endpoint_that_never_answers_is_cut_at_the_timeout(self):
        _, p, took = self.run_one("web", self.web.url("/hang"),
                                  policy="attempts = 1\ntimeout = 1s")
        self.assertEqual(p["status"], "timeout", p["message"])
        self.assertIn("no answer from 127.0.0.1:%d" % self.web.port,
                      p["message"])
        self.assertLess(took, 1 + GRACE + 1)

    def test_slow_answer_within_the_timeout(self):
        _, p, _ = self.run_one("web", self.web.url("/delay?ms=300"),
                               policy="attempts = 1\ntimeout = 3s")
        self.assertEqual(p["status"], "ok", p["message"])
        self.assertGreaterEqual(p["metrics"]["response_time"], 290)

    def test_threshold_on_response_time(self):
        _, p, _ = self.run_one("web", self.web.url("/delay?ms=300"),
                               "warn_if = response_time > 100ms")
        self.assertEqual(p["status"], "warn", p["message"])

    def test_connection_refused_is_transient(self):
        closed = self.listener("closed")
        _, p, _ = self.run_one("web", "http://127.0.0.1:%d/" % closed.port,
                               policy="attempts = 2\ndelay = 100ms\n"
                                      "timeout = 2s")
        self.assertEqual(outcomes(p), ["transient", "transient"])
        self.assertIn("connection refused by 127.0.0.1:%d" % closed.port,
                      p["message"])


class TlsTest(HttpCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tls = HttpdProcess(cls.fixture_dir, tls=True)
        cls.addClassCleanup(cls.tls.stop)
        cls.mtls = HttpdProcess(cls.fixture_dir, tls=True,
                                require_client_cert=True)
        cls.addClassCleanup(cls.mtls.stop)

    def test_self_signed_with_ca_file(self):
        _, p, _ = self.run_one("web", self.tls.url("/"),
                               "ca_file = %s" % self.tls.path("cert.pem"))
        self.assertEqual(p["status"], "ok", p["message"])

    def test_localhost_name_with_ca_file(self):
        url = "https://localhost:%d/" % self.tls.port
        _, p, _ = self.run_one("web", url,
                               "ca_file = %s" % self.tls.path("cert.pem"))
        self.assertEqual(p["status"], "ok", p["message"])

    def test_self_signed_without_ca_file_is_fatal(self):
        _, p, _ = self.run_one("web", self.tls.url("/"),
                               policy="warmup = 10s\nattempts = 3\n"
                                      "timeout = 2s")
        self.assertEqual(outcomes(p), ["fatal"])
        self.assertIn("TLS verification", p["message"])

    def test_insecure(self):
        _, p, _ = self.run_one("web", self.tls.url("/"), "insecure = true")
        self.assertEqual(p["status"], "ok", p["message"])

    def test_missing_ca_file_is_fatal(self):
        _, p, _ = self.run_one("web", self.tls.url("/"),
                               "ca_file = /nonexistent/ca.pem")
        self.assertEqual(outcomes(p), ["fatal"])

    def test_client_certificate(self):
        ca = "ca_file = %s\n" % self.mtls.path("cert.pem")
        r = self.run_many({
            "with": (self.mtls.url("/"),
                     ca + "cert_file = %s\nkey_file = %s"
                     % (self.mtls.path("client.pem"),
                        self.mtls.path("client.key"))),
            "badkey": (self.mtls.url("/"),
                       ca + "cert_file = %s\nkey_file = %s"
                       % (self.mtls.path("client.pem"),
                          self.mtls.path("cert.key"))),
            "badcert": (self.mtls.url("/"), ca + "cert_file = /nonexistent"),
        })
        self.assertEqual(r["with"]["status"], "ok", r["with"]["message"])
        self.assertEqual(outcomes(r["badkey"]), ["fatal"])
        self.assertEqual(outcomes(r["badcert"]), ["fatal"])

    def test_missing_client_certificate(self):
        # The TLS 1.3 alert may lose the race against the server's close
        # (then curl sees a reset: transient); retries read it.
        _, p, _ = self.run_one("web", self.mtls.url("/"),
                               "ca_file = %s" % self.mtls.path("cert.pem"),
                               policy="attempts = 3\ndelay = 100ms\n"
                                      "timeout = 2s")
        self.assertEqual(p["status"], "fail", p["message"])
        if outcomes(p)[-1] == "fatal":
            self.assertIn("refused the TLS client certificate (none was sent)",
                          p["message"])


class SecretTest(HttpCase):

    def test_canary_password_in_no_output(self):
        self.write("conf.d/a.ini", """
            [auth-ok]
            plugin = http
            url = %s
            user = %s
            password = %s
            attempts = 1

            [auth-echo]
            plugin = http
            url = %s
            user = %s
            password = %s
            expect_body = not in the echo
            attempts = 1
            severity = optional
            """ % (self.web.url("/auth"), USER, CANARY,
                   self.web.url("/echo"), USER, CANARY))
        report = os.path.join(self.tmp, "r.json")
        runs = [self.gp("run", "-v", "-o", "text", "-o", "json:" + report),
                self.gp("run", "-o", "json"),
                self.gp("run", "--explain"),
                self.gp("list"),
                self.gp("list", "-v")]
        with open(report) as f:
            doc = json.load(f)
        self.assertEqual(self.probe(doc, "auth-ok")["status"], "ok")
        self.assertEqual(self.probe(doc, "auth-echo")["status"], "fail")
        text = json.dumps(doc) + "".join(r.stdout + r.stderr for r in runs)
        self.assertNotIn(CANARY, text)

    def test_credentials_in_url_are_refused_and_masked(self):
        url = "http://%s:%s@127.0.0.1:%d/auth" % (USER, CANARY, self.web.port)
        self.section("web", url)
        for cmd in ("validate", "run", "list"):
            proc = self.gp(cmd)
            self.assertEqual(proc.returncode, 2, proc.stderr)
            self.assertIn("conf.d/web.ini:3: probe 'web': url:", proc.stderr)
            self.assertIn("%s:***@" % USER, proc.stderr)
            self.assertNotIn(CANARY, proc.stdout + proc.stderr)
