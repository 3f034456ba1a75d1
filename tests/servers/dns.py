"""tests/servers/dns.py - real DNS servers (dnsmasq from dnsmasq-base) for
tests.

    dns = DnsZone().start()     # two dnsmasq processes, see below
    dns.server                   # "127.0.0.1:PORT" for the probe's `server`
    dns.add_host("late.test", "10.0.0.99")   # a record that appears later
    dns.stop()

Dnsmasq(args) is one dnsmasq on 127.0.0.1 and a free port (UDP and TCP),
in the foreground, reading no system file (--no-resolv, --no-hosts,
--conf-file=/dev/null), its pid file and extra hosts file in its own
temporary folder, with fixed records given as dnsmasq options.

DnsZone is the DNS the dns probe's tests ask, two dnsmasq processes:

- `front`, the one the probe asks, serves the local zone `test.`
  (records in ZONE below; any other name in test. is NXDOMAIN), validates
  DNSSEC (with the real root trust anchor) and forwards every other name
  to `upstream`;
- `upstream` is authoritative for `zone.example.` (with an NS record; the
  front forwards that domain without validation) and `unsigned.example.`,
  and refuses everything else.

So, all from real servers: `bogus.unsigned.example` comes back unsigned
where the front expects signatures: SERVFAIL. `nowhere.example` is refused
by the upstream: REFUSED. A name in test. the zone does not have:
NXDOMAIN. `api.test MX`: no data.

Every wait is bounded in time.
"""

import os
import signal
import socket

from base import Server, wait_tcp

DNSMASQ = "/usr/sbin/dnsmasq"

# The root zone's KSK-2017 as a DNSSEC trust anchor: the front then wants
# signatures that the upstream never has, which is how it answers SERVFAIL.
ROOT_ANCHOR = (".,20326,8,2,"
               "E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D")

# Fixed records of the front's local zone test.
ZONE = [
    "--local=/test/",
    "--host-record=web.test,10.0.0.5",
    "--host-record=api.test,10.0.0.7,fd00::7",
    "--host-record=api.test,10.0.0.8",
    "--cname=www.test,api.test",
    "--mx-host=mx.test,mail.test,10",
    "--mx-host=mx.test,mail2.test,20",
    "--txt-record=txt.test,v=spf1 -all",
    "--txt-record=txt.test,second record",
    "--srv-host=_sip._tcp.test,sip.test,5060,0,5",
    "--srv-host=_sip._tcp.test,sip2.test,5061,10,0",
]


def free_dns_port(host="127.0.0.1", tries=50):
    """A port free for both UDP and TCP a moment ago."""
    for _ in range(tries):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind((host, 0))
            port = u.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                try:
                    t.bind((host, port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no port free for both UDP and TCP")


class Dnsmasq(Server):
    name = "dnsmasq"

    def __init__(self, args=()):
        super().__init__()
        self.port = free_dns_port()
        self.args = list(args)
        self.hosts_file = os.path.join(self.dir, "hosts")
        open(self.hosts_file, "w").close()

    @property
    def server(self):
        return "%s:%d" % (self.host, self.port)

    def argv(self):
        argv = [
            DNSMASQ,
            "--keep-in-foreground",
            "--port=%d" % self.port,
            "--listen-address=%s" % self.host,
            "--bind-interfaces",
            "--no-resolv",
            "--no-hosts",
            "--conf-file=/dev/null",
            "--pid-file=%s" % os.path.join(self.dir, "dnsmasq.pid"),
            # Read on start and on SIGHUP: add_host() uses it.
            "--addn-hosts=%s" % self.hosts_file,
            "--log-facility=-",
            "--log-queries",
        ]
        if os.geteuid() == 0:
            # Stay root rather than switch to a user that may not exist;
            # it only ever listens on loopback in a temporary folder.
            argv.append("--user=root")
        return argv + self.args

    def start(self, seconds=15):
        self.spawn(self.argv())
        # dnsmasq answers on TCP too: once it accepts, UDP is bound as well
        # (both are set up before it serves anything).
        if not wait_tcp(self.host, self.port, seconds):
            # the log first: stop() removes the folder it is in
            why = self.log_tail()
            self.stop()
            raise RuntimeError("dnsmasq did not start:\n" + why)
        return self

    def add_host(self, name, address):
        """Add NAME -> ADDRESS to the extra hosts file and make dnsmasq
        reread it (SIGHUP), as a zone being provisioned would."""
        with open(self.hosts_file, "a") as f:
            f.write("%s %s\n" % (address, name))
        os.kill(self.proc.pid, signal.SIGHUP)


class DnsZone:
    """The front and upstream dnsmasq described in the module comment."""

    def __init__(self):
        self.upstream = Dnsmasq([
            "--auth-server=ns1.zone.example,127.0.0.1",
            "--auth-zone=zone.example",
            "--auth-zone=unsigned.example",
            "--host-record=ns1.zone.example,10.0.0.53",
            "--host-record=app.zone.example,10.0.0.60",
            "--host-record=bogus.unsigned.example,10.0.0.66",
        ])
        up = "127.0.0.1#%d" % self.upstream.port
        self.front = Dnsmasq(ZONE + [
            "--dnssec",
            "--trust-anchor=" + ROOT_ANCHOR,
            # Domain servers are not validated: NS answers come through.
            "--server=/zone.example/" + up,
            "--server=" + up,
        ])

    @property
    def server(self):
        return self.front.server

    def start(self):
        try:
            self.upstream.start()
            self.front.start()
        except Exception:
            self.stop()
            raise
        return self

    def add_host(self, name, address):
        self.front.add_host(name, address)

    def stop(self):
        self.front.stop()
        self.upstream.stop()


class SilentServer:
    """A UDP socket on 127.0.0.1 that receives queries and never answers
    (nothing reads it: the kernel just queues the datagrams)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.server = "127.0.0.1:%d" % self.port

    def stop(self):
        self.sock.close()

