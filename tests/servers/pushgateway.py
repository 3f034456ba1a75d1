"""tests/servers/pushgateway.py - a real Prometheus Pushgateway and a real
Prometheus that scrapes it (Debian's prometheus-pushgateway, prometheus),
for the -o pushgateway tests.

    pg = Pushgateway(); pg.start()          # waits for /-/ready
    prom = Prometheus(pg); prom.start()     # scrapes pg every second
    prom.query('gpcheck_probe_up')          # the API's result list
    pg.groups()                             # the Pushgateway's groups
    prom.stop(); pg.stop()

Both listen on 127.0.0.1 only, on free ports, with their files in their own
temporary folders. Every wait is bounded in time.
"""

import json
import os
import time
import urllib.parse
import urllib.request

from base import Server, free_port, wait_tcp

PUSHGATEWAY = "/usr/bin/prometheus-pushgateway"
PROMETHEUS = "/usr/bin/prometheus"


def get_json(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.load(r)


def wait_ready(url, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return True
        except OSError:
            time.sleep(0.1)
    return False


class Pushgateway(Server):
    name = "pushgateway"

    def start(self):
        self.port = free_port()
        self.spawn([PUSHGATEWAY, "--web.listen-address=127.0.0.1:%d"
                    % self.port])
        if not wait_ready(self.url() + "/-/ready", 30):
            log = self.log_tail()
            self.stop()
            raise RuntimeError("pushgateway did not start: " + log)

    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def groups(self):
        """[{labels: {...}, metrics: {NAME: [samples...]}}] from its API."""
        doc = get_json(self.url() + "/api/v1/metrics")
        out = []
        for g in doc["data"]:
            metrics = {}
            for name, fam in g.items():
                if name in ("labels", "last_push_successful"):
                    continue
                metrics[name] = fam["metrics"]
            out.append({"labels": g["labels"], "metrics": metrics})
        return out


class Prometheus(Server):
    name = "prometheus"

    def __init__(self, pushgateway):
        super().__init__()
        self.pg = pushgateway

    def start(self):
        self.port = free_port()
        conf = os.path.join(self.dir, "prometheus.yml")
        with open(conf, "w") as f:
            # honor_labels: the pushed job/env/pipeline win over the
            # scrape's own job, as the Pushgateway's documentation says.
            f.write("global:\n  scrape_interval: 1s\n"
                    "scrape_configs:\n  - job_name: pushgateway\n"
                    "    honor_labels: true\n    static_configs:\n"
                    "      - targets: ['127.0.0.1:%d']\n" % self.pg.port)
        self.spawn([PROMETHEUS, "--config.file=" + conf,
                    "--storage.tsdb.path=" + os.path.join(self.dir, "data"),
                    "--web.listen-address=127.0.0.1:%d" % self.port])
        if not wait_ready(self.url() + "/-/ready", 60):
            log = self.log_tail()
            self.stop()
            raise RuntimeError("prometheus did not start: " + log)

    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def query(self, expr):
        q = urllib.parse.urlencode({"query": expr})
        doc = get_json(self.url() + "/api/v1/query?" + q)
        return doc["data"]["result"]

    def wait_query(self, expr, pred, seconds=30):
        """The result of expr once pred(result) holds; bounded."""
        deadline = time.monotonic() + seconds
        result = []
        while time.monotonic() < deadline:
            result = self.query(expr)
            if pred(result):
                return result
            time.sleep(0.3)
        raise AssertionError("%s never matched; last: %s" % (expr, result))
