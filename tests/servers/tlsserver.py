"""tests/servers/tlsserver.py - real TLS servers for the tls probe's tests.

    s = SServer(cert, extra=["-tls1_2"])   # `openssl s_server -www` on a
    s.port                                 # free loopback port
    s.serve(other_cert, wait=False)        # restarted with another one
    m = Smtp(cert)                         # an SMTP server (aiosmtpd,
    m.port                                 # Debian's python3-aiosmtpd)
                                           # offering STARTTLS
    s.stop(); m.stop()

`cert` is a tests/servers/pki.py Cert: the server presents cert.chain
(the leaf and its intermediates) with cert.key. Run as a script, this file
is the SMTP server itself. Every wait is bounded in time.
"""

import os
import sys

from base import Server, free_port, wait_tcp


class SServer(Server):
    """openssl s_server: a real TLS server, one connection at a time."""

    name = "s_server"

    def __init__(self, cert, extra=(), host="127.0.0.1", port=None):
        super().__init__()
        self.host = host
        self.port = port or free_port(host)
        self.extra = list(extra)
        self.serve(cert)

    def serve(self, cert, wait=True):
        """(Re)start s_server on the same port presenting `cert`: a
        certificate being replaced is a restart with the new one. wait:
        until the port accepts connections."""
        self.kill_process()
        self.spawn(["openssl", "s_server", "-quiet", "-www", "-accept",
                    ("[%s]:%d" if ":" in self.host else "%s:%d")
                    % (self.host, self.port), "-cert", cert.cert,
                    "-cert_chain", cert.chain, "-key", cert.key] + self.extra)
        if wait and not wait_tcp(self.host, self.port, 20):
            log = self.log_tail()
            self.stop()
            raise RuntimeError("openssl s_server did not start: " + log)


class Smtp(Server):
    """This file as a script: aiosmtpd with STARTTLS on a free port."""

    name = "smtp"

    def __init__(self, cert, starttls=True):
        super().__init__()
        self.port = free_port()
        argv = [sys.executable, os.path.abspath(__file__), str(self.port),
                cert.chain, cert.key]
        if not starttls:
            argv.append("--no-starttls")
        self.spawn(argv)
        if not wait_tcp(self.host, self.port, 20):
            log = self.log_tail()
            self.stop()
            raise RuntimeError("the SMTP server did not start: " + log)


def _serve_smtp(port, chain, key, starttls):
    import ssl
    import time

    from aiosmtpd.controller import Controller

    class Sink:
        async def handle_DATA(self, server, session, envelope):
            return "250 OK"

    ctx = None
    if starttls:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(chain, key)
    c = Controller(Sink(), hostname="127.0.0.1", port=port, tls_context=ctx)
    c.start()
    # Ends with the test: its stop() kills the session; a lifetime bounds
    # a forgotten one.
    time.sleep(600)
    c.stop()


if __name__ == "__main__":
    _serve_smtp(int(sys.argv[1]), sys.argv[2], sys.argv[3],
                "--no-starttls" not in sys.argv)
