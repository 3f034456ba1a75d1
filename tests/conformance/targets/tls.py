"""tests/conformance/targets/tls.py - the tls target: an HTTPS server
(openssl s_server -www) that starts late, or presents an expired or a
wrong-host certificate until it is restarted with a valid one."""

import shutil
import tempfile
import time

import truth  # noqa: E402
from lifecycles import ANCHOR_SLEEP, delay, Lifecycle, wait_for_it  # noqa: E402

NAME = "localhost"  # the name the certificates are checked against


class Tls:
    """One s_server on a fixed port; a certificate is replaced the way it
    is in staging: the server restarted with the new one."""

    name = "tls"

    def __init__(self, short):
        from base import free_port
        from pki import Pki
        self.dir = tempfile.mkdtemp(prefix="gpcheck-conformance-tls-")
        pki = Pki(self.dir)
        self.ca = pki.root.cert
        inter = pki.issue("inter", ca=True, days=200)
        self.good = pki.issue("good", issuer=inter, names=[NAME], days=90)
        self.expired = pki.issue("expired", issuer=inter, names=[NAME],
                                 start=-30, days=-1)
        self.other = pki.issue("other", issuer=inter, names=["other.test"])
        self.port = free_port()
        self.srv = None

    def start(self):
        from tlsserver import SServer
        self.srv = SServer(self.good, port=self.port)

    def stop(self):
        if self.srv:
            self.srv.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def check(self):
        return truth.tls("127.0.0.1", self.port, NAME, self.ca)

    def client(self):
        # curl verifies the chain and the name; the page is s_server's
        return ("curl -fsS --max-time 2 --cacert %s --resolve %s:%d:127.0.0.1"
                " -o /dev/null https://%s:%d/"
                % (self.ca, NAME, self.port, NAME, self.port))

    def probe(self):
        return ("plugin = tls\nhost = 127.0.0.1\nport = %d\n"
                "server_name = %s\nca_file = %s\n" % (self.port, NAME, self.ca))

    def anchors(self):
        return {"openssl s_client": "until openssl s_client -connect "
                                    "127.0.0.1:%d -servername %s "
                                    "-verify_hostname %s -CAfile %s "
                                    "-verify_return_error </dev/null "
                                    ">/dev/null 2>&1; do sleep %s; done"
                                    % (self.port, NAME, NAME, self.ca,
                                       ANCHOR_SLEEP),
                "wait-for-it": wait_for_it("127.0.0.1", self.port)}

    def lifecycles(self):
        def stopped():
            self.srv.kill_process()

        def serving(cert):
            return lambda: self.srv.serve(cert)

        def start_late(rng):
            time.sleep(delay(rng))
            self.srv.serve(self.good, wait=False)
        # An expired or a wrong-host certificate is fatal in the tls
        # probe, in warmup too (plugins/tls/README.md): waiting does not
        # renew a certificate or change its name, and a gate that waits
        # out its warmup on one hides the reason for minutes. Those
        # lifecycles expect gpcheck to fail at once, although the server
        # is restarted with a valid certificate later.
        return [
            Lifecycle(self, "server starts late", stopped, start_late),
            Lifecycle(self, "expired certificate, then renewed",
                      serving(self.expired), start_late, expect="fail"),
            Lifecycle(self, "wrong-host certificate, then replaced",
                      serving(self.other), start_late, expect="fail")]
