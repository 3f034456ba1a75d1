"""tests/conformance/lifecycles.py - what every conformance target shares,
and the registry of targets (one module each in targets/).

A target owns one real server for the whole run (started once) and knows
how to ask it a representative question: check() for the truth poller,
client() for the command a tool runs at the moment it says "pass", probe()
for gpcheck's probe section, anchors() for the tools users would otherwise
pick. A lifecycle puts the service into a not-ready state before a trial
(before()) and, in act(), brings it to ready at a random moment, the way
it happens in staging.

A new target is a module targets/NAME.py with a class of that shape and a
line in TARGETS below.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "servers"))


# Tools poll a not-ready service this often in the anchors' loops: the
# interval of wait-on's defaults, so that the comparison is about what is
# checked, not how often.
ANCHOR_SLEEP = "0.25"


def wait_for_it(host, port):
    return "wait-for-it -q -t 0 -h %s -p %d" % (host, port)


def delay(rng):
    """When the service becomes ready, seconds after the tools started."""
    return rng.uniform(0.3, 1.5)


class Lifecycle:
    """expect: "ready" (the service becomes ready: a pass is the right
    answer) or "fail" (the probe documents the starting state as fatal,
    in warmup too: the right answer is to fail at once, and a service
    that becomes ready later is not a false not-ready; a pass is wrong).
    trials: at most this many trials of it per run (a slow state, such
    as a broker's 15 s boot); None: as many as asked."""

    def __init__(self, target, name, before, act, expect="ready",
                 trials=None):
        assert expect in ("ready", "fail"), expect
        self.target, self.name = target, name
        self._before, self._act = before, act
        self.expect = expect
        self.trials = trials

    def before(self):
        self._before()

    def act(self, rng):
        self._act(rng)


# name -> "module:Class" in targets/; the order is the run's order.
TARGETS = {
    "tcp": "tcp:Tcp",
    "http": "http:Http",
    "dns": "dns:Dns",
    "redis": "redis:Redis",
    "postgres": "postgres:Postgres",
    "clickhouse": "clickhouse:ClickHouse",
    "tls": "tls:Tls",
    "grpc": "grpc:Grpc",
    "prometheus": "prometheus:Prometheus",
    "mysql": "mysql:Mysql",
    "amqp": "amqp:Amqp",
}


def targets(names, short):
    """One maker per name: a target picks its ports when made, so the run
    makes each just before it starts it (a port picked minutes earlier may
    have been taken since). short: the CI form, where a target may make
    its slow states smaller (a smaller data set to load)."""
    import importlib

    def maker(name):
        mod, cls = TARGETS[name].split(":")
        return lambda: getattr(importlib.import_module("targets." + mod),
                               cls)(short)
    unknown = [n for n in names if n not in TARGETS]
    if unknown:
        raise SystemExit("conformance: no target %s (have: %s)"
                         % (", ".join(unknown), ", ".join(TARGETS)))
    return [maker(n) for n in names]
