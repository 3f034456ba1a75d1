"""tests/integration/test_dns.py - the dns probe (c-ares) against real
dnsmasq servers on loopback (tests/servers/dns.py): every record type,
expectations met and missed, NXDOMAIN and no data in and after warmup,
SERVFAIL and REFUSED, a silent server cut at the deadline, TCP, a
forwarder whose upstream comes up during the warmup."""

import socket
import threading
import time
import unittest

from gp import GRACE, GpTestCase

from dns import Dnsmasq, DnsZone, SilentServer


class DnsTest(GpTestCase):
    @classmethod
    def setUpClass(cls):
        # One zone for the class: the tests only read it (add_host adds
        # names no other test asks for).
        cls.zone = DnsZone().start()
        cls.addClassCleanup(cls.zone.stop)

    def dns(self, name, options, policy="attempts = 1\ntimeout = 2s",
            server=None):
        self.write("conf.d/%s.ini" % name, "[%s]\nplugin = dns\nserver = %s\n"
                   "%s\n%s\n" % (name, server or self.zone.server, options,
                                 policy))

    def run_one(self, name, options, policy="attempts = 1\ntimeout = 2s",
                server=None):
        self.dns(name, options, policy, server)
        proc, doc, took = self.run_json()
        self.assertIsNotNone(doc, proc.stderr)
        return proc, self.probe(doc, name), took

    def test_every_record_type_with_expect(self):
        cases = {
            "a": ("name = web.test", "expect = 10.0.0.5", 1),
            "aaaa": ("name = api.test\ntype = AAAA",
                     "expect = fd00:0::7", 1),  # compared as addresses
            "cname": ("name = www.test\ntype = CNAME", "expect = API.test.", 1),
            "mx": ("name = mx.test\ntype = MX",
                   "expect = mail.test, 20 mail2.test", 2),
            "txt": ("name = txt.test\ntype = TXT",
                    "expect = v=spf1 -all, second record", 2),
            "srv": ("name = _sip._tcp.test\ntype = SRV",
                    "expect = sip.test:5060, 10 0 5061 sip2.test", 2),
            "ns": ("name = zone.example\ntype = NS",
                   "expect = ns1.zone.example", 1),
            # A through a CNAME: the chain is followed to the addresses.
            "chain": ("name = www.test", "expect = 10.0.0.7, 10.0.0.8", 2),
        }
        for name, (opts, expect, _) in cases.items():
            self.dns(name, opts + "\n" + expect)
        proc, doc, _ = self.run_json()
        self.assertEqual(proc.returncode, 0, proc.stderr)
        for name, (_, _, answers) in cases.items():
            with self.subTest(probe=name):
                p = self.probe(doc, name)
                self.assertEqual(p["status"], "ok", p["message"])
                self.assertEqual(p["metrics"]["answers"], answers)
                self.assertGreaterEqual(p["metrics"]["resolve_time"], 0)
                self.assertLess(p["metrics"]["resolve_time"], 2000)
                self.assertIn("from %s" % self.zone.server, p["message"])

    def test_expect_missed_is_fatal_with_answers(self):
        proc, p, took = self.run_one(
            "api", "name = api.test\nexpect = 10.0.0.7, 10.0.0.9",
            "attempts = 3\ndelay = 1s\ntimeout = 2s")
        self.assertEqual(proc.returncode, 1)
        self.assertEqual(p["status"], "fail")
        self.assertEqual(p["attempts"], 1)  # fatal: no retry
        self.assertEqual(p["history"][0]["outcome"], "fatal")
        self.assertIn("expected 10.0.0.9", p["message"])
        self.assertIn("10.0.0.7", p["message"])
        self.assertIn("10.0.0.8", p["message"])
        self.assertLess(took, GRACE + 1)

    def test_several_names_must_all_resolve(self):
        self.dns("both", "name = web.test, api.test, www.test\n"
                 "expect = 10.0.0.5, 10.0.0.8")
        self.dns("one_missing", "name = web.test, missing.test, api.test")
        proc, doc, _ = self.run_json()
        both = self.probe(doc, "both")
        self.assertEqual(both["status"], "ok", both["message"])
        self.assertEqual(both["metrics"]["answers"], 5)
        for n in ("web.test", "api.test", "www.test"):
            self.assertIn(n, both["message"])
        missing = self.probe(doc, "one_missing")
        self.assertEqual(missing["status"], "fail")
        self.assertIn("NXDOMAIN", missing["message"])
        self.assertIn("missing.test", missing["message"])

    def test_nxdomain_and_no_data_transient_in_warmup_then_fatal(self):
        policy = "warmup = 1s\nwarmup_interval = 200ms\nattempts = 3\n" \
                 "timeout = 1s"
        self.dns("nx", "name = missing.test", policy)
        self.dns("nodata", "name = api.test\ntype = MX", policy)
        proc, doc, took = self.run_json()
        self.assertEqual(proc.returncode, 1, proc.stderr)
        for name, text in (("nx", "NXDOMAIN"), ("nodata", "no data")):
            with self.subTest(probe=name):
                p = self.probe(doc, name)
                self.assertEqual(p["status"], "fail")
                self.assertIn(text, p["message"])
                warm = [h for h in p["history"] if h["phase"] == "warmup"]
                after = [h for h in p["history"] if h["phase"] == "retry"]
                self.assertGreaterEqual(len(warm), 2)
                self.assertTrue(all(h["outcome"] == "transient" for h in warm))
                # After the warmup the first answer is final: one attempt.
                self.assertEqual(len(after), 1)
                self.assertEqual(after[0]["outcome"], "fatal")
        self.assertLess(took, 1 + GRACE + 1)

    def test_record_appearing_during_warmup(self):
        # A zone still being provisioned: NXDOMAIN until the record lands.
        self.dns("late", "name = late.test\nexpect = 10.0.0.99",
                 "warmup = 15s\nwarmup_interval = 100ms\nattempts = 1\n"
                 "timeout = 1s")
        timer = threading.Timer(0.8, self.zone.add_host,
                                ("late.test", "10.0.0.99"))
        timer.start()
        self.addCleanup(timer.cancel)
        proc, doc, took = self.run_json()
        self.assertEqual(proc.returncode, 0, proc.stderr)
        p = self.probe(doc, "late")
        self.assertEqual(p["status"], "ok", p["message"])
        self.assertEqual(p["history"][0]["outcome"], "transient")
        self.assertIn("NXDOMAIN", p["history"][0]["message"])
        self.assertEqual(p["history"][-1]["outcome"], "ready")
        self.assertLess(took, 0.8 + GRACE + 1)

    def test_servfail_and_refused_are_transient(self):
        policy = "attempts = 2\ndelay = 100ms\ntimeout = 2s"
        self.dns("servfail", "name = bogus.unsigned.example", policy)
        self.dns("refused", "name = nowhere.example", policy)
        proc, doc, _ = self.run_json()
        self.assertEqual(proc.returncode, 1)
        for name, text in (("servfail", "SERVFAIL"), ("refused", "REFUSED")):
            with self.subTest(probe=name):
                p = self.probe(doc, name)
                self.assertEqual(p["status"], "fail")
                self.assertEqual(p["attempts"], 2)  # retried: transient
                self.assertIn(text, p["message"])
                self.assertTrue(all(h["outcome"] == "transient"
                                    for h in p["history"]))

    def test_forwarder_answers_soon_after_its_upstream_is_up(self):
        # A dnsmasq forwarder whose only upstream is down drops the query;
        # once the upstream is up it forwards the question again only when
        # the client retries it. c-ares alone retries after a seventh of
        # the time left (714 ms, then 1.4 s later, of a 5 s attempt):
        # ready 1.1 s after the upstream came up at 1 s. In warmup the
        # probe sends the query again every 50 ms.
        upstream = Dnsmasq(["--host-record=fwd.example,10.0.0.42"])
        forwarder = Dnsmasq(["--server=127.0.0.1#%d" % upstream.port])
        self.addCleanup(upstream.stop)
        self.addCleanup(forwarder.stop)
        forwarder.start()
        self.dns("fwd", "name = fwd.example\nexpect = 10.0.0.42",
                 "warmup = 15s\ntimeout = 5s", server=forwarder.server)
        up_at = []

        def up():
            up_at.append(time.monotonic())
            upstream.start()
        timer = threading.Timer(1.0, up)
        self.addCleanup(timer.cancel)
        t0 = time.monotonic()
        timer.start()
        proc, doc, took = self.run_json()
        self.assertEqual(proc.returncode, 0, proc.stderr)
        p = self.probe(doc, "fwd")
        self.assertEqual(p["status"], "ok", p["message"])
        self.assertEqual(len(up_at), 1)
        # up_at: dnsmasq spawned; it then needs some ms to answer
        self.assertLess(t0 + took - up_at[0], 0.6,
                        "ready %.0f ms after the upstream started"
                        % ((t0 + took - up_at[0]) * 1000))

    def test_silent_server_cut_at_timeout(self):
        silent = SilentServer()
        self.addCleanup(silent.stop)
        proc, p, took = self.run_one("silent", "name = web.test",
                                     "attempts = 1\ntimeout = 1s",
                                     server=silent.server)
        self.assertEqual(proc.returncode, 1)
        self.assertEqual(p["status"], "timeout")
        self.assertIn("no answer", p["message"])
        self.assertGreaterEqual(p["duration_ms"], 900)
        self.assertLess(took, 1 + GRACE)

    def test_silent_first_server_then_a_working_one(self):
        # c-ares moves on to the next server after its per-try timeout,
        # well within the attempt's time.
        silent = SilentServer()
        self.addCleanup(silent.stop)
        proc, p, _ = self.run_one(
            "fallback", "name = web.test", "attempts = 1\ntimeout = 3s",
            server="%s, %s" % (silent.server, self.zone.server))
        self.assertEqual(p["status"], "ok", p["message"])

    def test_tcp(self):
        proc, p, _ = self.run_one("tcp", "name = web.test\ntcp = true\n"
                                  "expect = 10.0.0.5")
        self.assertEqual(p["status"], "ok", p["message"])
        # Proof that it really used TCP: a UDP-only silent server refuses
        # the TCP connection at once instead of timing out.
        silent = SilentServer()
        self.addCleanup(silent.stop)
        proc, p, took = self.run_one("tcp_silent", "name = web.test\n"
                                     "tcp = true", server=silent.server)
        self.assertEqual(p["status"], "fail")
        self.assertIn("connection refused", p["message"])
        self.assertLess(took, 1.5)

    def test_connection_refused_is_transient(self):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        proc, p, _ = self.run_one("refused", "name = web.test",
                                  "attempts = 2\ndelay = 50ms\ntimeout = 2s",
                                  server="127.0.0.1:%d" % port)
        self.assertEqual(p["status"], "fail")
        self.assertEqual(p["attempts"], 2)
        self.assertIn("connection refused", p["message"])

    def test_ipv6_server_syntax(self):
        try:
            with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
                s.bind(("::1", 0))
                port = s.getsockname()[1]
        except OSError:
            self.skipTest("no IPv6 loopback")
        proc, p, _ = self.run_one("v6", "name = web.test",
                                  server="[::1]:%d" % port)
        # Parsed and used: refused by the closed port, not a config error.
        self.assertIn("[::1]:%d" % port, p["message"])
        self.assertIn("connection refused", p["message"])

    def test_bad_server_is_a_config_error(self):
        # ABI 1.2 validate(): every bad address at the server line.
        self.dns("bad", "name = web.test", server="dns.example.com, "
                 "127.0.0.1:99999, [::1, 10.0.0.1:53, [::1]:5353, ::1")
        proc = self.gp("validate")
        self.assertEqual(proc.returncode, 2, proc.stderr)
        lines = [l for l in proc.stderr.splitlines() if "server:" in l]
        self.assertEqual(len(lines), 3, proc.stderr)
        for bad in ("'dns.example.com': not an IP address",
                    "'127.0.0.1:99999': port out of range", "'[::1'"):
            self.assertIn("conf.d/bad.ini:3: probe 'bad': server: " + bad,
                          proc.stderr)

    def test_bad_name_is_a_config_error(self):
        self.dns("bad", "name = web..test, %s.test" % ("x" * 64))
        proc = self.gp("validate")
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("conf.d/bad.ini:4: probe 'bad': name: 'web..test': "
                      "empty label", proc.stderr)
        self.assertIn("longer than 63 bytes", proc.stderr)

    def test_type_is_checked_by_the_schema(self):
        self.dns("t", "name = web.test\ntype = PTR")
        proc = self.gp("validate")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("type", proc.stderr)


if __name__ == "__main__":
    unittest.main()
