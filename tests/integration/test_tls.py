"""tests/integration/test_tls.py - the tls probe (OpenSSL) against real TLS
servers on loopback: `openssl s_server` presenting certificates this file
makes with the openssl command (tests/servers/pki.py: a test CA, an
intermediate that expires before its leaf, a leaf expiring in 3 days, an
expired one, a not-yet-valid one, one for another host, a self-signed
one), a real PostgreSQL with ssl = on (STARTTLS by SSLRequest) and a real
SMTP server (aiosmtpd) offering STARTTLS. Each server starts once for the
file."""

import os
import shutil
import tempfile

from gp import GRACE, GpTestCase, outcomes
from pki import Pki
from postgres import Postgres
from tlsserver import SServer, Smtp

S = {}  # the module's servers, by name, and the PKI


def setUpModule():
    S["dir"] = tempfile.mkdtemp(prefix="gpcheck-tls-")
    os.chmod(S["dir"], 0o755)
    pki = S["pki"] = Pki(S["dir"])
    inter = pki.issue("inter", ca=True, days=20)
    old_inter = pki.issue("oldinter", ca=True, start=-60, days=-1)
    certs = {
        "good": pki.issue("good", issuer=inter, days=90),
        "soon": pki.issue("soon", days=3),
        "expired": pki.issue("expired", start=-30, days=-2),
        "future": pki.issue("future", start=5, days=60),
        "otherhost": pki.issue("otherhost", names=["other.test"]),
        "self": pki.self_signed("self"),
        "oldchain": pki.issue("oldchain", issuer=old_inter, days=90),
    }
    S["certs"] = certs
    try:
        for name, cert in certs.items():
            S[name] = SServer(cert)
        S["tls12"] = SServer(certs["good"], extra=["-tls1_2"])
        S["v6"] = SServer(certs["good"], host="::1")
        S["smtp"] = Smtp(certs["good"])
        S["smtp_plain"] = Smtp(certs["good"], starttls=False)
        pg = S["pg"] = Postgres()
        key = os.path.join(pg.dir, "server.key")
        shutil.copy(certs["good"].key, key)
        shutil.chown(key, "postgres", "postgres")
        os.chmod(key, 0o600)
        pg.settings.update({"ssl": "on",
                            "ssl_cert_file": certs["good"].chain,
                            "ssl_key_file": key})
        pg.start()
    except BaseException:
        tearDownModule()
        raise


def tearDownModule():
    for name, s in list(S.items()):
        if hasattr(s, "stop"):
            s.stop()
    shutil.rmtree(S["dir"], ignore_errors=True)



class TlsCase(GpTestCase):

    def run_many(self, sections, policy="attempts = 1\ntimeout = 3s"):
        """sections: {name: options}; returns (process, {name: report})."""
        for name, options in sections.items():
            self.write("conf.d/%s.ini" % name,
                       "[%s]\nplugin = tls\n%s\n%s\n" % (name, options, policy))
        proc, doc, _ = self.run_json()
        self.assertIsNotNone(doc, proc.stderr)
        return proc, {n: self.probe(doc, n) for n in sections}

    @staticmethod
    def at(server, ca=True, more=""):
        text = "host = 127.0.0.1\nport = %d\n" % server.port
        if ca:
            text += "ca_file = %s\n" % S["pki"].root.cert
        return text + more


class CertificateTest(TlsCase):

    def test_valid_chain_reports_days_left_of_leaf_and_chain(self):
        _, r = self.run_many({
            "ip": self.at(S["good"], more="fail_if = days_left < 14"),
            "sni": self.at(S["good"], more="server_name = localhost\n"
                                           "warn_if = chain_days_left < 30")})
        p = r["ip"]
        self.assertEqual(p["status"], "ok", p["message"])
        m = p["metrics"]
        self.assertAlmostEqual(m["days_left"], 90, delta=0.1)
        # The intermediate expires first: the chain's figure is its own.
        self.assertAlmostEqual(m["chain_days_left"], 20, delta=0.1)
        self.assertEqual(m["protocol"], 1.3)
        self.assertGreater(m["handshake_time"], 0)
        self.assertLess(m["handshake_time"], 3000)
        self.assertIn("TLSv1.3 with 127.0.0.1:%d" % S["good"].port,
                      p["message"])
        self.assertEqual(r["sni"]["status"], "warn", r["sni"]["message"])
        self.assertIn("chain_days_left < 30", r["sni"]["message"])

    def test_ipv6_address_with_server_name(self):
        ca = "ca_file = %s\n" % S["pki"].root.cert
        _, r = self.run_many({
            "v6": "host = ::1\nport = %d\n%sserver_name = localhost"
                  % (S["v6"].port, ca),
            "v6_ip": "host = ::1\nport = %d\n%s" % (S["v6"].port, ca)})
        self.assertEqual(r["v6"]["status"], "ok", r["v6"]["message"])
        self.assertIn("with [::1]:%d" % S["v6"].port, r["v6"]["message"])
        # The certificate names 127.0.0.1 and localhost, not ::1.
        self.assertEqual(outcomes(r["v6_ip"]), ["fatal"])
        self.assertIn("hostname mismatch: [::1]:%d: IP address mismatch"
                      % S["v6"].port, r["v6_ip"]["message"])

    def test_expiring_in_three_days_fails_the_threshold(self):
        proc, r = self.run_many({"soon": self.at(
            S["soon"], more="fail_if = days_left < 14")})
        p = r["soon"]
        self.assertEqual(proc.returncode, 1)
        self.assertEqual(p["status"], "fail")
        self.assertEqual(outcomes(p), ["ready"])
        self.assertAlmostEqual(p["metrics"]["days_left"], 3, delta=0.1)
        self.assertIn("fail_if days_left < 14", p["message"])

    def test_verification_failures_are_fatal_each_with_its_reason(self):
        policy = "attempts = 3\ndelay = 100ms\ntimeout = 3s"
        _, r = self.run_many({
            "expired": self.at(S["expired"]),
            "future": self.at(S["future"]),
            "otherhost": self.at(S["otherhost"]),
            "sni_mismatch": self.at(S["good"], more="server_name = other.test"),
            "self": self.at(S["self"]),
            "no_ca": self.at(S["good"], ca=False),
            "oldchain": self.at(S["oldchain"]),
        }, policy=policy)
        want = {
            "expired": "certificate expired: 127.0.0.1:%d: certificate has "
                       "expired (depth 0" % S["expired"].port,
            "future": "certificate not yet valid: 127.0.0.1:%d: certificate "
                      "is not yet valid (depth 0" % S["future"].port,
            "otherhost": "hostname mismatch: 127.0.0.1:%d: IP address "
                         "mismatch" % S["otherhost"].port,
            "sni_mismatch": "hostname mismatch: 127.0.0.1:%d: hostname "
                            "mismatch" % S["good"].port,
            "self": "certificate not trusted: 127.0.0.1:%d: self-signed "
                    "certificate" % S["self"].port,
            "no_ca": "certificate not trusted: 127.0.0.1:%d: unable to get "
                     "local issuer certificate" % S["good"].port,
            # The intermediate expired, not the leaf.
            "oldchain": "certificate expired: 127.0.0.1:%d: certificate has "
                        "expired (depth 1, /CN=gpcheck test oldinter); the "
                        "leaf certificate expires in 90.0 days"
                        % S["oldchain"].port,
        }
        for name, text in want.items():
            p = r[name]
            self.assertEqual(outcomes(p), ["fatal"], p["message"])
            self.assertEqual(p["attempts"], 1)
            self.assertIn(text, p["message"])
        # days_left is still reported, negative for the expired one.
        self.assertAlmostEqual(r["expired"]["metrics"]["days_left"], -2,
                               delta=0.1)
        self.assertIn("expired 2.0 days ago", r["expired"]["message"])
        self.assertAlmostEqual(r["oldchain"]["metrics"]["chain_days_left"],
                               -1, delta=0.1)
        self.assertAlmostEqual(r["future"]["metrics"]["days_left"], 60,
                               delta=0.1)

    def test_self_signed_certificate_as_its_own_ca(self):
        _, r = self.run_many({"self": self.at(
            S["self"], ca=False, more="ca_file = %s" %
            S["certs"]["self"].cert)})
        self.assertEqual(r["self"]["status"], "ok", r["self"]["message"])

    def test_min_version(self):
        _, r = self.run_many({
            "any": self.at(S["tls12"]),
            "tls13": self.at(S["tls12"], more="min_version = TLSv1.3")})
        self.assertEqual(r["any"]["status"], "ok", r["any"]["message"])
        self.assertEqual(r["any"]["metrics"]["protocol"], 1.2)
        p = r["tls13"]
        self.assertEqual(outcomes(p), ["fatal"], p["message"])
        self.assertIn("TLS handshake with 127.0.0.1:%d failed" %
                      S["tls12"].port, p["message"])
        self.assertIn("protocol version", p["message"])


class ConnectionTest(TlsCase):

    def test_refused_is_transient(self):
        lst = self.listener("closed")
        _, r = self.run_many({"gone": "port = %d" % lst.port},
                             policy="attempts = 2\ndelay = 50ms\n"
                                    "timeout = 2s")
        self.assertEqual(outcomes(r["gone"]), ["transient"] * 2)
        self.assertIn("connection refused", r["gone"]["message"])

    def test_silent_server_is_a_transient_timeout_within_the_deadline(self):
        lst = self.listener("hang")
        _, r = self.run_many({"silent": "port = %d" % lst.port},
                             policy="attempts = 1\ntimeout = 1s")
        p = r["silent"]
        # The core names a transient attempt that ran out its time.
        self.assertEqual(outcomes(p), ["timeout"], p["message"])
        self.assertIn("TLS handshake with 127.0.0.1:%d timed out" % lst.port,
                      p["message"])
        self.assertLess(p["duration_ms"], 1000 + GRACE * 1000)

    def test_not_tls_is_fatal(self):
        lst = self.listener("banner", banner="HTTP/1.1 400 Bad Request\\r\\n"
                                              "\\r\\n")
        _, r = self.run_many({"plain": "port = %d" % lst.port})
        self.assertEqual(outcomes(r["plain"]), ["fatal"], r["plain"]["message"])
        self.assertIn("wrong version number", r["plain"]["message"])

    def test_unreadable_ca_file_is_fatal(self):
        _, r = self.run_many({"noca": self.at(
            S["good"], ca=False, more="ca_file = %s/missing.pem" % self.tmp)})
        self.assertEqual(outcomes(r["noca"]), ["fatal"], r["noca"]["message"])
        self.assertIn("cannot load ca_file", r["noca"]["message"])

    def test_bad_host_is_a_config_error(self):
        self.write("conf.d/bad.ini", "[bad]\nplugin = tls\n"
                   "host = https://example.test/\nport = 443\n")
        proc = self.gp("validate")
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("bad.ini:3: probe 'bad': host:", proc.stderr)


class StarttlsTest(TlsCase):

    def test_postgres_sslrequest(self):
        lst = self.listener("banner", banner="HTTP/1.1 400 Bad Request\\r\\n")
        _, r = self.run_many({
            "pg": "port = %d\nstarttls = postgres\nca_file = %s\n"
                  "server_name = localhost\nfail_if = days_left < 14"
                  % (S["pg"].port, S["pki"].root.cert),
            "not_pg": "port = %d\nstarttls = postgres" % lst.port})
        p = r["pg"]
        self.assertEqual(p["status"], "ok", p["message"])
        self.assertAlmostEqual(p["metrics"]["days_left"], 90, delta=0.1)
        self.assertAlmostEqual(p["metrics"]["chain_days_left"], 20, delta=0.1)
        self.assertEqual(outcomes(r["not_pg"]), ["fatal"])
        self.assertIn("SSLRequest to 127.0.0.1:%d: not a PostgreSQL answer"
                      % lst.port, r["not_pg"]["message"])

    def test_smtp_starttls(self):
        _, r = self.run_many({
            "mx": self.at(S["smtp"], more="starttls = smtp"),
            "mx_plain": self.at(S["smtp_plain"], more="starttls = smtp")})
        p = r["mx"]
        self.assertEqual(p["status"], "ok", p["message"])
        self.assertAlmostEqual(p["metrics"]["chain_days_left"], 20, delta=0.1)
        self.assertEqual(outcomes(r["mx_plain"]), ["fatal"])
        self.assertIn("SMTP server 127.0.0.1:%d does not offer STARTTLS"
                      % S["smtp_plain"].port, r["mx_plain"]["message"])


class ListedTest(TlsCase):

    def test_in_plugins_list_with_its_options(self):
        # (The suite's plugin folder holds broken plugins: exit 1 there.)
        proc = self.gp("plugins")
        self.assertRegex(proc.stdout, r"(?m)^tls +0\.1\.0 ")
        proc = self.gp("plugins", "tls")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        for key in ("server_name", "ca_file", "starttls", "min_version",
                    "days_left", "chain_days_left", "handshake_time"):
            self.assertIn(key, proc.stdout)
