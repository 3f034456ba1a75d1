"""tests/conformance/targets/prometheus.py - the prometheus target: a real
Prometheus (Debian's 2.42, scraping every second) and the exporter of
tests/fixtures/exporter.py. Ready means the query has a fresh sample
under the bound: Prometheus starting late (its TSDB and WAL replayed),
the target scraped late (the series appears), a value above the bound
that falls under it."""

import json
import os
import shlex
import sys
import time
import urllib.request

import truth  # noqa: E402
from lifecycles import ANCHOR_SLEEP, delay, Lifecycle, wait_for_it  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
EXPORTER = os.path.join(HERE, "..", "..", "fixtures", "exporter.py")
QUERY = "max(vpcaccess_googleapis_com:connector_instances)"
BOUND = 80  # instances: under it is ready
LOW, HIGH = 42, 95


class Prometheus:
    name = "prometheus"

    def __init__(self, short):
        from base import Server, free_port
        self.exporter = Server()
        self.exporter.name = "exporter"
        self.exporter_port = free_port()
        self.prom = None
        # Series the exporter serves for a while before the first trial,
        # so that each restart replays a real WAL: 50000 series for 10 s
        # take ~3 s here (short: ~0.5 s). Removed after, so the WAL, and
        # the replay, do not grow during the run.
        self.bulk, self.bulk_s = (10000, 3) if short else (50000, 10)

    def start(self):
        from prometheus import Prometheus as Server
        self.start_exporter()
        self.prom = Server({"vpc": [self.exporter_port]})
        self.prom.start()
        self.port = self.prom.port
        self.url = self.prom.url
        self.wait(True)
        series = self.control()["series"]
        self.control(series=series + [["gpcheck_bulk", {"i": str(i)}, i]
                                      for i in range(self.bulk)])
        time.sleep(self.bulk_s)
        self.control(reset=True)
        self.scraped()

    def stop(self):
        if self.prom:
            self.prom.stop()
        self.exporter.stop()

    def start_exporter(self, wait=True):
        from base import wait_tcp
        self.exporter.kill_process()
        port_file = os.path.join(self.exporter.dir, "port")
        self.exporter.spawn([sys.executable, EXPORTER, "--port-file",
                             port_file, "--port", str(self.exporter_port),
                             "--lifetime", "3600"])
        if wait and not wait_tcp("127.0.0.1", self.exporter_port, 20):
            raise RuntimeError("the exporter did not start: " +
                               self.exporter.log_tail())

    def control(self, **change):
        """POST a change to the exporter (GET its state without one)."""
        req = urllib.request.Request(
            "http://127.0.0.1:%d/_control" % self.exporter_port,
            data=json.dumps(change).encode() if change else None)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(req, timeout=5) as r:
            return json.load(r)

    def scraped(self, seconds=20):
        """Until Prometheus has scraped the exporter twice more: after a
        restart it has the target in its scrape cache, so the target's
        end writes staleness markers (a restarted Prometheus that never
        scraped a target keeps answering with its last sample from
        before the restart, for the 5 minutes of its lookback)."""
        first = self.control()["scrapes"]
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.control()["scrapes"] >= first + 2:
                return
            time.sleep(0.05)
        raise RuntimeError("prometheus: the exporter was not scraped")

    def wait(self, want, seconds=20):
        """Until the truth says `want` (bounded): a state before a trial
        is the state Prometheus answers, not the one just set."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.check() == want:
                return
            time.sleep(0.05)
        raise RuntimeError("prometheus: %s did not become %s within %ss"
                           % (QUERY, want, seconds))

    def check(self):
        return truth.prometheus("127.0.0.1", self.port, QUERY, BOUND)

    def client(self):
        # promtool (Debian's prometheus package) prints the samples; the
        # comparison keeps only one under the bound
        return ("[ -n \"$(promtool query instant %s %s)\" ]"
                % (self.url, shlex.quote("%s < %d" % (QUERY, BOUND))))

    def probe(self):
        return ("plugin = prometheus\nurl = %s\nquery.instances = %s\n"
                "fail_if = instances >= %d\nretry_on_threshold = true\n"
                % (self.url, QUERY, BOUND))

    def anchors(self):
        return {"curl -f ready": "until curl -fsS -o /dev/null --max-time "
                                    "2 %s/-/ready; do sleep %s; done"
                                    % (self.url, ANCHOR_SLEEP),
                "wait-for-it": wait_for_it("127.0.0.1", self.port)}

    def ensure_up(self, instances=LOW):
        if self.exporter.proc is None or self.exporter.proc.poll() is not None:
            self.start_exporter()
        if self.prom.proc is None or self.prom.proc.poll() is not None:
            self.prom.start()
        self.control(instances=instances)
        self.scraped()

    def lifecycles(self):
        def stopped():
            self.ensure_up()
            self.wait(True)
            self.prom.kill_process()

        def start_late(rng):
            time.sleep(delay(rng))
            self.prom.start(wait=False)

        def no_target():
            self.ensure_up()
            self.exporter.kill_process()
            # the first failed scrape writes staleness markers
            self.wait(False)

        def target_late(rng):
            time.sleep(delay(rng))
            self.start_exporter(wait=False)

        def above():
            self.ensure_up(HIGH)
            self.wait(False)

        def falls(rng):
            time.sleep(delay(rng))
            self.control(instances=LOW)
        return [
            Lifecycle(self, "Prometheus starts late (TSDB, WAL replay)",
                      stopped, start_late),
            Lifecycle(self, "target scraped late (the series appears)",
                      no_target, target_late),
            Lifecycle(self, "value above the bound falls under it", above,
                      falls)]
