"""tests/conformance/targets/dns.py - the dns target: dnsmasq: a record added while the tools wait."""

import time

import truth  # noqa: E402
from lifecycles import ANCHOR_SLEEP, delay, Lifecycle, wait_for_it  # noqa: E402


class Dns:
    """dnsmasq, where a record is added while the tools wait (a zone being
    provisioned): each trial asks for a new name."""

    name = "dns"
    ADDRESS = "10.20.30.40"

    def __init__(self, short):
        from dns import Dnsmasq
        self.srv = Dnsmasq()
        self.n = 0
        self.qname = "late0.conformance.test"

    def start(self):
        self.srv.start()

    def stop(self):
        self.srv.stop()

    def dig(self):
        return ("dig +short +time=1 +tries=1 -p %d @127.0.0.1 %s A"
                % (self.srv.port, self.qname))

    def check(self):
        return truth.dns(self.srv.port, self.qname, self.ADDRESS)

    def client(self):
        return "[ \"$(%s)\" = %s ]" % (self.dig(), self.ADDRESS)

    def probe(self):
        return ("plugin = dns\nname = %s\ntype = A\nserver = 127.0.0.1:%d\n"
                "expect = %s\n" % (self.qname, self.srv.port, self.ADDRESS))

    def anchors(self):
        return {"dig loop": "until [ -n \"$(%s 2>/dev/null)\" ]; do sleep %s; "
                            "done" % (self.dig(), ANCHOR_SLEEP),
                "wait-for-it": wait_for_it("127.0.0.1", self.srv.port)}

    def lifecycles(self):
        def new_name():
            self.n += 1
            self.qname = "late%d.conformance.test" % self.n

        def add(rng):
            time.sleep(delay(rng))
            self.srv.add_host(self.qname, self.ADDRESS)
        return [Lifecycle(self, "record added late", new_name, add)]
