"""tests/servers/prometheus.py - a real Prometheus (Debian's prometheus,
2.42) for tests.

    p = Prometheus({"vpc": [exporter_port], "stale": [other_port]})
    p.start()                      # waits until /-/ready answers 200
    p.query("up")                  # the API's JSON answer, as a dict
    p.wait_value("up", 1.0, 10)    # until the query gives this one number
    p.stop()                       # kills it and removes its folder

It listens on 127.0.0.1 only, on a free port, with its configuration and
TSDB in its own temporary folder, and scrapes each job's loopback targets
every second (scrape_interval 1s, scrape_timeout 1s), so a changed value
or a stopped target (staleness markers on the first failed scrape) shows
within about a second. Every wait is bounded in time.
"""

import json
import os
import time
import urllib.parse
import urllib.request

from base import Server, free_port

PROMETHEUS = "/usr/bin/prometheus"


class Prometheus(Server):
    name = "prometheus"

    def __init__(self, jobs):
        """jobs: {job name: [port, ...]} of targets on 127.0.0.1."""
        super().__init__()
        self.port = free_port()
        self.jobs = jobs
        self.url = "http://127.0.0.1:%d" % self.port
        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}))

    def write_config(self):
        lines = ["global:", "  scrape_interval: 1s", "  scrape_timeout: 1s",
                 "  evaluation_interval: 1s", "scrape_configs:"]
        for job, ports in self.jobs.items():
            lines += ["  - job_name: %s" % job, "    static_configs:",
                      "      - targets: [%s]" % ", ".join(
                          "'127.0.0.1:%d'" % p for p in ports)]
        path = os.path.join(self.dir, "prometheus.yml")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def start(self, seconds=30, wait=True):
        """wait: until /-/ready answers 200 (else return at once: a
        Prometheus starting while its clients wait)."""
        conf = self.write_config()
        self.spawn([PROMETHEUS, "--config.file=" + conf,
                    "--storage.tsdb.path=" + os.path.join(self.dir, "data"),
                    "--web.listen-address=127.0.0.1:%d" % self.port,
                    "--log.level=warn"])
        if not wait:
            return self
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                with self.opener.open(self.url + "/-/ready", timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("prometheus not ready within %ss:\n%s"
                           % (seconds, self.log_tail()))

    def query(self, expr):
        q = urllib.parse.urlencode({"query": expr})
        with self.opener.open(self.url + "/api/v1/query?" + q,
                              timeout=5) as r:
            return json.load(r)

    def values(self, expr):
        """The numbers of an instant vector's samples (a list)."""
        data = self.query(expr)["data"]
        if data["resultType"] == "scalar":
            return [float(data["result"][1])]
        return [float(s["value"][1]) for s in data["result"]]

    def wait_values(self, expr, want, seconds=15):
        """Until values(expr) == want (a list), bounded in time."""
        deadline = time.monotonic() + seconds
        got = None
        while time.monotonic() < deadline:
            got = self.values(expr)
            if got == want:
                return
            time.sleep(0.2)
        raise AssertionError("%s gave %r, not %r within %ss"
                             % (expr, got, want, seconds))
