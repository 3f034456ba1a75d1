"""tests/conformance/targets/dns.py - the dns target: dnsmasq: a record
added while the tools wait; a forwarder whose upstream is down, then up."""

import socket
import time

import truth  # noqa: E402
from lifecycles import ANCHOR_SLEEP, delay, Lifecycle, wait_for_it  # noqa: E402


class Dns:
    """Three dnsmasq: `srv`, where a record is added while the tools wait
    (a zone being provisioned); `forwarder` (server=127.0.0.1#PORT of
    `upstream`, nothing else), asked while its upstream is down and then
    comes up with the record. Each trial asks for a new name (no answer
    is ever in a cache)."""

    name = "dns"
    ADDRESS = "10.20.30.40"

    def __init__(self, short):
        from dns import Dnsmasq
        self.srv = Dnsmasq()
        self.upstream = Dnsmasq()
        self.forwarder = Dnsmasq(["--server=127.0.0.1#%d"
                                  % self.upstream.port])
        self.n = 0
        self.qname = "late0.conformance.test"
        self.asked = self.srv
        self.asker = None
        self.holders = []  # sockets keeping the down upstream's port

    def start(self):
        self.srv.start()
        self.upstream.start()
        self.forwarder.start()

    def stop(self):
        self.release()
        if self.asker:
            self.asker.close()
        for s in (self.forwarder, self.upstream, self.srv):
            s.stop()

    def dig(self):
        return ("dig +short +time=1 +tries=1 -p %d @127.0.0.1 %s A"
                % (self.asked.port, self.qname))

    def check(self):
        # in-process, one query retried: see truth.DnsAsker
        return self.asker.check()

    def client(self):
        dig = self.dig()
        if self.asked is self.forwarder:
            # Over TCP: a fresh client's question of its own. Over UDP,
            # dnsmasq merges a new query with the same question still
            # pending (the dig loop's, sent while the upstream was down
            # and never retried) and forwards it again only when that
            # one's client retries, so a one-try dig would time out on
            # the anchor's stuck query, not on the forwarder's readiness.
            dig = dig.replace("dig ", "dig +tcp ", 1)
        return "[ \"$(%s)\" = %s ]" % (dig, self.ADDRESS)

    def probe(self):
        return ("plugin = dns\nname = %s\ntype = A\nserver = 127.0.0.1:%d\n"
                "expect = %s\n" % (self.qname, self.asked.port, self.ADDRESS))

    def anchors(self):
        return {"dig loop": "until [ -n \"$(%s 2>/dev/null)\" ]; do sleep %s; "
                            "done" % (self.dig(), ANCHOR_SLEEP),
                "wait-for-it": wait_for_it("127.0.0.1", self.asked.port)}

    def hold(self, port):
        """Keep the port of the down upstream: any client socket on this
        machine (a dig's, c-ares') may otherwise be given it while it is
        free, and the upstream could not start again. A UDP socket that
        never reads, as silent as a host that is down; a TCP socket bound
        and not listening refuses, as a closed port does."""
        for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
            s = socket.socket(socket.AF_INET, kind)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", port))
            self.holders.append(s)

    def release(self):
        for s in self.holders:
            s.close()
        self.holders = []

    def new_name(self, asked):
        self.asked = asked
        self.n += 1
        self.qname = "late%d.conformance.test" % self.n
        if self.asker:
            self.asker.close()
        self.asker = truth.DnsAsker(asked.port, self.qname, self.ADDRESS)

    def lifecycles(self):
        def add(rng):
            time.sleep(delay(rng))
            self.srv.add_host(self.qname, self.ADDRESS)

        def upstream_down():
            # The forwarder stays up, its only upstream goes down: the
            # forwarder drops UDP queries (it has no one to ask) and
            # closes TCP ones. The upstream will know the new name.
            self.new_name(self.forwarder)
            self.upstream.kill_process()
            self.hold(self.upstream.port)
            with open(self.upstream.hosts_file, "a") as f:
                f.write("%s %s\n" % (self.ADDRESS, self.qname))

        def upstream_up(rng):
            time.sleep(delay(rng))
            self.release()
            self.upstream.start()

        return [Lifecycle(self, "record added late",
                          lambda: self.new_name(self.srv), add),
                Lifecycle(self, "forwarder, upstream down then up",
                          upstream_down, upstream_up)]
