"""tests/integration/test_validate.py - plugin ABI 1.2 validate(), run by
every command that resolves the configuration.

With tests/plugins/misbehave.c (`validate = MODE`) for what a plugin's
validate() may do wrong: report several bad values at once, crash, hang,
write garbage, leave a child behind, misuse the API; each must be a
configuration error naming the plugin and the probe, within the deadline,
with nothing left running. Also: a required option that interpolates to an
empty string, secrets a plugin declares (at validate time and at run time),
metrics a probe's configuration names (GP_OPT_METRICS), the cost of
validating thousands of probes, and the shipped plugins' checks on values
only they can judge (exec against a real monitoring plugin, check_ping).
"""

import json
import os
import subprocess
import time
import unittest

from gp import BIN, GRACE, GpTestCase, pid_alive, wait_until

PLUGINS = "/usr/lib/nagios/plugins"
CANARY = "Canary-validate-7c2f"
COMMANDS = ("validate", "run", "list")
# ASan would catch the test plugin's SIGSEGV itself and exit(1); the test
# wants the real signal, as in a normal build.
ASAN = {"ASAN_OPTIONS": "handle_segv=0:handle_abort=0:detect_leaks=0"}


class ValidateCase(GpTestCase):

    def misbehave(self, name="p", mode="ok", **keys):
        lines = ["[%s]" % name, "plugin = misbehave", "mode = " + mode]
        lines += ["%s = %s" % (k, v) for k, v in keys.items()]
        self.write("conf.d/%s.ini" % name, "\n".join(lines) + "\n")

    def refused(self, cmd="validate", *extra, env=None):
        t0 = time.monotonic()
        proc = self.gp(cmd, *extra, env=env)
        took = time.monotonic() - t0
        self.assertEqual(proc.returncode, 2, proc.stdout + proc.stderr)
        self.assertIn("nothing was probed", proc.stderr)
        return proc, took

    def pids(self, path):
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [int(x) for x in f.read().split()]


class InvalidTest(ValidateCase):

    def test_every_bad_value_at_its_line_for_every_command(self):
        self.misbehave(validate="invalid")
        for cmd in COMMANDS:
            proc, _ = self.refused(cmd)
            self.assertIn("conf.d/p.ini:3: probe 'p': mode: misbehave "
                          "refuses mode ok", proc.stderr)
            self.assertIn("conf.d/p.ini:4: probe 'p': validate: and reports "
                          "a second problem", proc.stderr)
            self.assertIn("3 configuration errors", proc.stderr)
        proc, _ = self.refused("run", "--explain")
        self.assertIn("conf.d/p.ini:3:", proc.stderr)

    def test_a_default_value_is_reported_at_the_section(self):
        # `sleep` is not set: its value is the plugin's default, which has
        # no line of its own, so the probe's section line is used; once
        # set, its own line.
        self.misbehave(validate="invalid")
        proc, _ = self.refused()
        self.assertIn("conf.d/p.ini:1: probe 'p': sleep: and a third",
                      proc.stderr)
        self.misbehave(validate="invalid", sleep="2s")
        proc, _ = self.refused()
        self.assertIn("conf.d/p.ini:5: probe 'p': sleep: and a third",
                      proc.stderr)

    def test_only_after_the_schema_checks_pass(self):
        # A typing error stops before any plugin code runs.
        self.misbehave(validate="invalid", sleep="soon")
        proc, _ = self.refused()
        self.assertIn("sleep", proc.stderr)
        self.assertNotIn("misbehave refuses", proc.stderr)
        # Typed right, the plugin's own checks run.
        self.misbehave(validate="invalid", sleep="1s")
        proc, _ = self.refused()
        self.assertIn("misbehave refuses", proc.stderr)

    def test_undeclared_key_in_invalid_is_a_plugin_bug(self):
        self.misbehave(validate="bug")
        proc, _ = self.refused()
        self.assertIn("conf.d/p.ini:1: plugin 'misbehave' bug: validate() "
                      "of probe 'p' called invalid() for undeclared option "
                      "'no_such_option'", proc.stderr)

    def test_too_many_secrets_is_a_plugin_bug(self):
        # Bounded: a flood of secret() calls cannot grow the supervisor.
        self.misbehave(validate="flood")
        proc, _ = self.refused()
        self.assertIn("plugin 'misbehave' bug in validate() of probe 'p': "
                      "plugin declared more than 64 secrets", proc.stderr)

    def test_probes_of_other_environments_are_not_validated(self):
        self.misbehave(validate="invalid", envs="prod")
        self.misbehave("q")
        proc = self.gp("validate")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.refused("validate", "-e", "prod")


class IsolationTest(ValidateCase):
    """validate() is plugin code: it must not take the supervisor down."""

    def test_crash_names_plugin_and_probe(self):
        self.misbehave("first")
        self.misbehave("second", validate="segv")
        self.misbehave("third")
        for cmd in COMMANDS:
            proc, took = self.refused(cmd, env=ASAN)
            self.assertIn("conf.d/second.ini:1: plugin 'misbehave': "
                          "validate() crashed (killed by SIGSEGV) while "
                          "validating probe 'second'", proc.stderr)
            self.assertLess(took, 5)

    def test_hang_is_killed_at_the_deadline(self):
        pidfile = os.path.join(self.tmp, "pids")
        self.misbehave(validate="hang", arg=pidfile)
        proc, took = self.refused()
        self.assertIn("plugin 'misbehave': validate() did not finish within "
                      "2s (it was killed) while validating probe 'p'",
                      proc.stderr)
        self.assertGreater(took, 1.9)
        self.assertLess(took, 2 + GRACE)
        pids = self.pids(pidfile)
        self.assertEqual(len(pids), 1)
        self.assertTrue(wait_until(lambda: not pid_alive(pids[0]), 2))

    def test_slow_but_in_time_is_fine(self):
        self.misbehave(validate="slow", sleep="300ms")
        proc = self.gp("validate")
        self.assertEqual(proc.returncode, 0, proc.stderr)

    def test_garbage_on_the_pipe(self):
        self.misbehave(validate="garbage")
        proc, _ = self.refused()
        self.assertIn("plugin 'misbehave': validate() wrote garbage on the "
                      "result pipe while validating probe 'p'", proc.stderr)

    def test_grandchild_left_behind_is_killed(self):
        pidfile = os.path.join(self.tmp, "pids")
        self.misbehave(validate="grandchild", arg=pidfile)
        t0 = time.monotonic()
        proc = self.gp("validate")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertLess(time.monotonic() - t0, 1.5)
        pids = self.pids(pidfile)
        self.assertEqual(len(pids), 1)
        self.assertTrue(wait_until(lambda: not pid_alive(pids[0]), 2),
                        "validate()'s grandchild %d survived" % pids[0])

    def test_one_child_per_plugin_for_thousands_of_probes(self):
        # 5,000 probes of one plugin: one fork, not 5,000.
        n = 5000
        text = "".join("[p%d]\nplugin = misbehave\nmode = ok\n\n" % i
                       for i in range(n))
        self.write("conf.d/many.ini", text)
        self.write("conf.d/bad.ini", "[zlast]\nplugin = misbehave\n"
                   "mode = ok\nvalidate = invalid\n")
        proc, took = self.refused()
        self.assertEqual(proc.stderr.count("misbehave refuses"), 1)
        os.unlink(os.path.join(self.confd, "bad.ini"))
        t0 = time.monotonic()
        proc = self.gp("validate")
        took = time.monotonic() - t0
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("%d probes" % n, proc.stdout)
        # Parsing 5,000 sections dominates; validate() adds a fork.
        self.assertLess(took, 10)


class CoreChecksTest(ValidateCase):

    def test_required_option_interpolated_to_empty(self):
        self.write("conf.d/d.ini", "[d]\nplugin = dns\nname = ${DNS_NAME}\n")
        for cmd in COMMANDS:
            proc, _ = self.refused(cmd)
            self.assertIn("conf.d/d.ini:3: probe 'd': name: required option "
                          "is empty", proc.stderr)
        proc = self.gp("validate", env={"DNS_NAME": "db.test"})
        self.assertEqual(proc.returncode, 0, proc.stderr)

    def test_named_metrics_are_thresholds_and_reports(self):
        self.misbehave(mode="named", names="rta:ms, pl:%",
                       warn_if="rta > 5ms", fail_if="pl > 50%")
        proc = self.gp("validate")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        proc, doc, _ = self.run_json()
        p = self.probe(doc, "p")
        self.assertEqual(p["metrics"], {"rta": 7, "pl": 7}, p)
        self.assertEqual(p["status"], "warn", p)
        self.assertIn("warn_if rta > 5ms: rta is 7ms", p["message"])

    def test_named_metrics_are_checked_at_config_time(self):
        self.misbehave(mode="named", names="rta:ms, Bad, x:furlongs, value",
                       warn_if="nope > 1")
        proc, _ = self.refused()
        for text in ("conf.d/p.ini:4: probe 'p': names: invalid metric name "
                     "'Bad'",
                     "conf.d/p.ini:4: probe 'p': names: metric 'x': unknown "
                     "unit 'furlongs'",
                     "conf.d/p.ini:4: probe 'p': names: metric 'value' is "
                     "one plugin 'misbehave' declares already",
                     "conf.d/p.ini:5: probe 'p': warn_if: unknown metric "
                     "'nope'"):
            self.assertIn(text, proc.stderr)
        # A unit that does not fit the threshold's, at the threshold's line.
        self.misbehave(mode="named", names="rta:ms", warn_if="rta > 5%")
        proc, _ = self.refused()
        self.assertIn("conf.d/p.ini:5: probe 'p': warn_if:", proc.stderr)


class SecretTest(ValidateCase):

    def test_secret_declared_at_run_time_is_masked(self):
        self.misbehave(mode="secret")
        proc, doc, _ = self.run_json("-v")
        p = self.probe(doc, "p")
        self.assertEqual(p["message"], "using token ***")
        text = proc.stdout + proc.stderr + json.dumps(doc)
        self.assertNotIn("rt-canary-", text)
        self.assertIn("fetched token ***", proc.stderr)

    def test_secret_declared_by_validate_is_masked_in_results(self):
        # mode flaky prints its arg; validate() declared it a secret.
        path = os.path.join(self.tmp, CANARY)
        self.misbehave(mode="flaky", validate="secret", arg=path,
                       attempts="1")
        proc, doc, _ = self.run_json("-v")
        p = self.probe(doc, "p")
        # The secret is also the public value of `arg`: masking it would
        # tell them equal, so the masker withholds the whole message.
        self.assertEqual(p["message"],
                         "(withheld: a secret in it cannot be masked safely)")
        self.assertNotIn(CANARY, proc.stdout + proc.stderr + json.dumps(doc))


class ShippedConfigTest(ValidateCase):
    """The shipped gpcheck.ini and conf.d pass every plugin's validate()."""

    def test_shipped_conf_d_validates(self):
        root = os.path.normpath(os.path.join(os.path.dirname(__file__),
                                             "..", ".."))
        for env in ("default", "staging"):
            proc = subprocess.run(
                [BIN, "validate", "-c", os.path.join(root, "gpcheck.ini"),
                 "--conf-dir", os.path.join(root, "conf.d"), "-e", env],
                capture_output=True, text=True, timeout=60, cwd=self.tmp,
                stdin=subprocess.DEVNULL,
                env={k: v for k, v in os.environ.items()
                     if not k.startswith("GPCHECK_")})
            self.assertEqual(proc.returncode, 0, proc.stderr)
            self.assertIn("configuration OK", proc.stdout)


class HostFormsTest(ValidateCase):
    """tcp and redis judge the host's form (gp_sdk_host_problem)."""

    def test_tcp_and_redis_hosts(self):
        self.write("conf.d/h.ini", """
            [t1]
            plugin = tcp
            host = http://db.internal/
            port = 5432

            [t2]
            plugin = tcp
            host = db.internal:5432
            port = 5432

            [t3]
            plugin = tcp
            host = [::1]
            port = 5432

            [r1]
            plugin = redis
            host = cache internal

            [r2]
            plugin = redis
            username = app
            """)
        proc, _ = self.refused()
        for text in ("h.ini:3: probe 't1': host: a URL, not a host name",
                     "h.ini:8: probe 't2': host: no ':PORT' here",
                     "h.ini:13: probe 't3': host: an IPv6 address is "
                     "written without brackets",
                     "h.ini:18: probe 'r1': host: not a host name",
                     "h.ini:22: probe 'r2': username: needs password"):
            self.assertIn(text, proc.stderr)
        self.write("conf.d/h.ini", """
            [t1]
            plugin = tcp
            host = ::1
            port = 5432

            [t2]
            plugin = tcp
            host = db-1.internal.
            port = 5432
            """)
        proc = self.gp("validate")
        self.assertEqual(proc.returncode, 0, proc.stderr)


@unittest.skipUnless(os.access(os.path.join(PLUGINS, "check_ping"), os.X_OK),
                     "needs monitoring-plugins-basic")
class ExecLabelsTest(ValidateCase):
    """exec's `metrics`: warn_if / fail_if on a real plugin's labels."""

    def ping(self, **keys):
        lines = ["[ping]", "plugin = exec",
                 "command = %s, -H, 127.0.0.1, -w, 100\\x2c20%%, -c, "
                 "200\\x2c50%%, -p, 1, -t, 3" % os.path.join(PLUGINS,
                                                           "check_ping"),
                 "attempts = 1"]
        lines += ["%s = %s" % (k, v) for k, v in keys.items()]
        self.write("conf.d/ping.ini", "\n".join(lines) + "\n")

    def test_thresholds_on_check_ping_labels(self):
        self.ping(metrics="rta:ms, pl:%", warn_if="rta > 0ms",
                  fail_if="pl > 50%")
        proc, doc, _ = self.run_json()
        p = self.probe(doc, "ping")
        self.assertEqual(p["status"], "warn", p)
        self.assertIn("warn_if rta > 0ms: rta is", p["message"])
        self.assertEqual(p["metrics"]["pl"], 0)
        # The fixed slots still work, as deprecated aliases.
        self.assertEqual(p["metrics"]["time"], p["metrics"]["rta"])
        self.assertEqual(p["metrics"]["percent"], 0)
        self.ping(metrics="rta:ms", fail_if="rta < 10s")
        proc, doc, _ = self.run_json()
        self.assertEqual(self.probe(doc, "ping")["status"], "fail")

    def test_unknown_label_is_a_config_error(self):
        self.ping(metrics="rta:ms", warn_if="rta > 1ms")
        proc = self.gp("validate")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.ping(metrics="rta:ms", warn_if="rtt > 1ms")
        proc, _ = self.refused()
        self.assertIn("conf.d/ping.ini:6: probe 'ping': warn_if: unknown "
                      "metric 'rtt'", proc.stderr)

    def test_unit_contradicting_the_output(self):
        self.ping(metrics="pl:ms")
        proc, doc, _ = self.run_json()
        p = self.probe(doc, "ping")
        self.assertEqual(p["history"][-1]["outcome"], "fatal", p)
        self.assertIn("perfdata 'pl' is a percentage", p["message"])


if __name__ == "__main__":
    unittest.main()
