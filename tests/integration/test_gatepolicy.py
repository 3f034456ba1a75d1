"""tests/integration/test_gatepolicy.py - thresholds, groups, the emergency
bypass and --explain, with real probes against loopback listeners."""

import datetime
import json
import os
import unittest

from gp import GpTestCase


def tomorrow():
    return (datetime.datetime.now(datetime.timezone.utc).date()
            + datetime.timedelta(days=1)).isoformat()


class ThresholdTest(GpTestCase):
    def probe(self, extra):
        self.write("conf.d/m.ini", """
            [metric]
            plugin = misbehave
            mode = ok
            attempts = 3
            delay = 20ms
            %s
            """ % extra)

    def test_warn_threshold_degrades(self):
        self.probe("warn_if = value > 40")
        proc, doc, _ = self.run_json()
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(doc["verdict"], "degraded")
        p = GpTestCase.probe(doc, "metric")
        self.assertEqual(p["status"], "warn")
        self.assertIn("warn_if value > 40: value is 42", p["message"])
        self.assertEqual(p["thresholds"], [{
            "condition": "value > 40", "level": "warn", "metric": "value",
            "value": 42.0, "fired": True}])
        self.assertIn("warn_if value > 40", proc.stderr)

    def test_fail_threshold_fails_without_retry(self):
        self.probe("warn_if = value > 10\nfail_if = value >= 42, value < 0")
        proc, doc, _ = self.run_json()
        self.assertEqual(proc.returncode, 1)
        p = GpTestCase.probe(doc, "metric")
        self.assertEqual(p["status"], "fail")
        self.assertEqual(p["attempts"], 1)  # a breach is not retried
        self.assertIn("fail_if value >= 42: value is 42", p["message"])
        fired = [t["condition"] for t in p["thresholds"] if t["fired"]]
        self.assertEqual(fired, ["value > 10", "value >= 42"])
        self.assertEqual(p["history"][0]["breach"], "fail_if")
        self.assertIn("rule: fail: required probe 'metric' is fail",
                      proc.stderr)

    def test_retry_on_threshold(self):
        self.probe("fail_if = value > 40\nretry_on_threshold = true")
        proc, doc, _ = self.run_json()
        self.assertEqual(proc.returncode, 1)
        p = GpTestCase.probe(doc, "metric")
        self.assertEqual(p["attempts"], 3)
        self.assertEqual(p["status"], "fail")

    def test_thresholds_not_fired_pass(self):
        self.probe("warn_if = value > 50\nfail_if = value >= 100")
        proc, doc, _ = self.run_json()
        self.assertEqual(doc["verdict"], "pass")
        self.assertFalse(any(t["fired"]
                             for t in GpTestCase.probe(doc, "metric")["thresholds"]))

    def test_tcp_connect_time_threshold(self):
        lst = self.listener("accept")
        self.write("conf.d/t.ini", """
            [web]
            plugin = tcp
            host = 127.0.0.1
            port = %d
            fail_if = connect_time > 10s
            warn_if = connect_time >= 0ms
            """ % lst.port)
        proc, doc, _ = self.run_json()
        self.assertEqual(doc["verdict"], "degraded", proc.stderr)

    def test_config_errors_at_file_line(self):
        self.write("conf.d/bad.ini", """
            [metric]
            plugin = misbehave
            mode = ok
            warn_if = vaule > 40
            fail_if = value > 2s
            retry_on_threshold = maybe
            """)
        proc = self.gp("validate")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("bad.ini:4: probe 'metric': warn_if: unknown metric "
                      "'vaule' (did you mean 'value'?)", proc.stderr)
        self.assertIn("bad.ini:5: probe 'metric': fail_if: '2s' does not fit "
                      "metric 'value' (count)", proc.stderr)
        self.assertIn("bad.ini:6:", proc.stderr)


class GroupTest(GpTestCase):
    def replicas(self, down, need):
        ports = []
        for i in range(3):
            lst = self.listener("closed" if i in down else "accept")
            ports.append(lst.port)
        self.write("conf.d/redis.ini", """
            [group redis]
            need = %s
            severity = required
            """ % need + "".join("""
            [redis%d]
            plugin = tcp
            host = 127.0.0.1
            port = %d
            group = redis
            attempts = 1
            """ % (i, port) for i, port in enumerate(ports)))

    def test_two_of_three_pass(self):
        self.replicas(down={2}, need="2")
        proc, doc, _ = self.run_json()
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(doc["verdict"], "pass")
        self.assertEqual(GpTestCase.probe(doc, "redis2")["status"], "fail")
        self.assertEqual(GpTestCase.probe(doc, "redis2")["group"], "redis")
        self.assertEqual(doc["groups"], [{
            "name": "redis", "severity": "required", "status": "ok",
            "need": 2, "ok": 2, "members": ["redis0", "redis1", "redis2"]}])
        self.assertRegex(proc.stderr, r"group redis .*ok .*2/3 .*need 2 ok")

    def test_two_down_fails(self):
        self.replicas(down={1, 2}, need="2")
        proc, doc, _ = self.run_json()
        self.assertEqual(proc.returncode, 1)
        self.assertEqual(doc["groups"][0]["status"], "fail")
        self.assertIn("required group 'redis' is fail (1 of 2 needed ok)",
                      doc["rule"])

    def test_need_all_and_percent(self):
        self.replicas(down={2}, need="all")
        proc, doc, _ = self.run_json()
        self.assertEqual(proc.returncode, 1)
        self.replicas(down={2}, need="60%")  # ceil(1.8) = 2
        proc, doc, _ = self.run_json()
        self.assertEqual(proc.returncode, 0, proc.stderr)

    def test_group_errors(self):
        self.write("conf.d/g.ini", """
            [group cache]
            need = 3
            sevrity = optional

            [group empty]
            need = 1

            [a]
            plugin = misbehave
            mode = ok
            group = cache

            [b]
            plugin = misbehave
            mode = ok
            group = cahce
            """)
        proc = self.gp("validate")
        self.assertEqual(proc.returncode, 2)
        err = proc.stderr
        self.assertIn("g.ini:3: unknown key 'sevrity' in group 'cache' (did "
                      "you mean 'severity'?)", err)
        self.assertIn("g.ini:5: group 'empty' has no members", err)
        self.assertIn("g.ini:16: probe 'b': group: unknown group 'cahce'", err)
        self.assertIn("g.ini:2: group 'cache': need = 3, but it has only 1 "
                      "member", err)


class BypassTest(GpTestCase):
    def setUp(self):
        super().setUp()
        self.down = self.listener("closed")
        self.up = self.listener("accept")
        self.write("conf.d/x.ini", """
            [db]
            plugin = tcp
            host = 127.0.0.1
            port = %d
            attempts = 1
            tags = database

            [vpc]
            plugin = tcp
            host = 127.0.0.1
            port = %d
            attempts = 1
            tags = capacity

            [web]
            plugin = tcp
            host = 127.0.0.1
            port = %d
            """ % (self.down.port, self.down.port, self.up.port))

    def main_file(self, extra=""):
        self.write("gpcheck.ini", """
            [bypass]
            enabled = ${EMERGENCY_DEVELOPMENT_MODE:-false}
            expires = ${EMERGENCY_BYPASS_EXPIRY:-}
            reason = ${BYPASS_REASON:-}
            %s
            """ % extra)

    def test_seed_expired_bypass_fails_the_gate(self):
        self.main_file()
        env = {"EMERGENCY_DEVELOPMENT_MODE": "true",
               "EMERGENCY_BYPASS_EXPIRY": "2025-09-18",
               "BYPASS_REASON": "issue 1278"}
        ran = os.path.join(self.tmp, "ran")
        proc, doc, _ = self.run_json("--", "touch", ran, env=env)
        self.assertEqual(proc.returncode, 1)
        self.assertFalse(os.path.exists(ran))
        self.assertEqual(doc["verdict"], "fail")
        self.assertIn("the emergency bypass expired on 2025-09-18",
                      proc.stderr)
        self.assertEqual(doc["bypass"]["active"], False)
        self.assertEqual(doc["bypass"]["expired"], True)
        self.assertNotIn("BYPASS ACTIVE", proc.stderr)

    def test_disabled_bypass_is_silent(self):
        self.main_file()
        proc, doc, _ = self.run_json()
        self.assertEqual(proc.returncode, 1)
        self.assertEqual(doc["bypass"], {"active": False})

    def test_active_bypass_passes_with_banner_and_audit(self):
        audit = os.path.join(self.tmp, "audit.jsonl")
        self.main_file("audit_log = %s" % audit)
        env = {"EMERGENCY_DEVELOPMENT_MODE": "true",
               "EMERGENCY_BYPASS_EXPIRY": tomorrow(),
               "BYPASS_REASON": "INC-1278 connector scaling"}
        out = os.path.join(self.tmp, "verdict")
        proc, doc, _ = self.run_json("-q", "--", "sh", "-c",
                                     'echo "$GPCHECK_VERDICT" > "$0"', out,
                                     env=env)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        with open(out) as f:
            self.assertEqual(f.read().strip(), "bypassed")
        self.assertEqual(doc["verdict"], "bypassed")
        self.assertEqual(doc["exit_code"], 0)
        # the banner, even with -q
        self.assertIn("EMERGENCY BYPASS ACTIVE", proc.stderr)
        self.assertIn("INC-1278 connector scaling", proc.stderr)
        self.assertIn("overridden: db (fail), vpc (fail)", proc.stderr)
        b = doc["bypass"]
        self.assertEqual((b["active"], b["reason"], b["expires"], b["scope"],
                          b["overridden"]),
                         (True, "INC-1278 connector scaling", tomorrow(),
                          ["all"], ["db", "vpc"]))
        # every probe still ran and is reported
        self.assertEqual(GpTestCase.probe(doc, "db")["status"], "fail")
        with open(audit) as f:
            lines = f.read().splitlines()
        self.assertEqual(len(lines), 1)
        line = json.loads(lines[0])
        self.assertEqual(line["reason"], "INC-1278 connector scaling")
        self.assertEqual(line["env"], "default")
        self.assertEqual(line["overridden"], ["db", "vpc"])
        for key in ("time", "expires", "user", "host"):
            self.assertTrue(line[key], key)

    def test_scope_by_tag_overrides_only_those(self):
        self.main_file("scope = capacity")
        env = {"EMERGENCY_DEVELOPMENT_MODE": "true",
               "EMERGENCY_BYPASS_EXPIRY": tomorrow(),
               "BYPASS_REASON": "connector"}
        proc, doc, _ = self.run_json(env=env)
        self.assertEqual(proc.returncode, 1)  # db (database) still fails it
        self.assertEqual(doc["bypass"]["overridden"], ["vpc"])
        # with the database up, the capacity failure alone is bypassed
        proc, doc, _ = self.run_json("--skip-tag", "database", env=env)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(doc["verdict"], "bypassed")

    def test_command_line_bypass(self):
        proc, doc, _ = self.run_json("--bypass-reason", "one run",
                                     "--bypass-expires", tomorrow())
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(doc["verdict"], "bypassed")
        proc = self.gp("run", "--bypass-reason", "no expiry")
        self.assertEqual(proc.returncode, 2)

    def test_bypass_config_errors(self):
        self.main_file()
        far = (datetime.date.today() + datetime.timedelta(days=30)).isoformat()
        for env, text in (
                ({"EMERGENCY_DEVELOPMENT_MODE": "true", "BYPASS_REASON": "r"},
                 "without an expiry"),
                ({"EMERGENCY_DEVELOPMENT_MODE": "true",
                  "EMERGENCY_BYPASS_EXPIRY": tomorrow()},
                 "without a reason"),
                ({"EMERGENCY_DEVELOPMENT_MODE": "true", "BYPASS_REASON": "r",
                  "EMERGENCY_BYPASS_EXPIRY": far},
                 "more than max_days (7) ahead")):
            proc = self.gp("validate", env=env)
            self.assertEqual(proc.returncode, 2, text)
            self.assertIn(text, proc.stderr)
            proc = self.gp("run", env=env)
            self.assertEqual(proc.returncode, 2, text)

    def test_audit_failure_fails_the_run(self):
        self.main_file("audit_log = /nonexistent-dir/audit.jsonl")
        env = {"EMERGENCY_DEVELOPMENT_MODE": "true",
               "EMERGENCY_BYPASS_EXPIRY": tomorrow(), "BYPASS_REASON": "r"}
        proc, doc, _ = self.run_json(env=env)
        self.assertEqual(proc.returncode, 1)
        self.assertEqual(doc["verdict"], "fail")
        self.assertIn("bypass audit failed", proc.stderr)


class ExplainTest(GpTestCase):
    def test_validate_explain(self):
        self.write("gpcheck.ini", """
            [gpcheck]
            env = staging
            """)
        self.write("conf.d/db.ini", """
            [db]
            plugin = tcp
            host = 127.0.0.1
            port = 5432
            warmup = 45s
            warn_if = connect_time > 100ms
            """)
        self.write("conf.d/staging/db.ini", """
            [db]
            warmup = 60s
            """)
        proc = self.gp("validate", "--explain")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        out = proc.stdout
        self.assertIn("env:       staging (from %s:2)" % self.main, out)
        self.assertRegex(out, r"warmup += 60s +\S+conf.d/staging/db.ini:2 "
                              r"\(overlay; replaces \S+conf.d/db.ini:5\)")
        self.assertRegex(out, r"host += 127.0.0.1 +\S+conf.d/db.ini:3")
        self.assertIn("effective policy: required, timeout 5s, warmup 1m00s",
                      out)
        self.assertIn("threshold: warn_if connect_time > 100ms", out)
        self.assertIn("== bypass\n  none configured", out)

    def test_run_explain(self):
        lst = self.listener("accept")
        closed = self.listener("closed")
        self.write("conf.d/x.ini", """
            [group pair]
            need = 1

            [a]
            plugin = tcp
            host = 127.0.0.1
            port = %d
            group = pair

            [b]
            plugin = tcp
            host = 127.0.0.1
            port = %d
            group = pair
            attempts = 2
            delay = 10ms
            warn_if = connect_time > 1h
            """ % (lst.port, closed.port))
        proc = self.gp("run", "--explain")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        err = proc.stderr
        self.assertIn("== attempts", err)
        self.assertRegex(err, r"attempt 2: transient after [\d.]+ ms: "
                              r"connection refused")
        self.assertIn("required group 'pair': ok (1 ok, 1 ok or warn, of 2; "
                      "need 1: a=ok b=fail)", err)
        self.assertIn("== verdict\n  pass (rule: pass: all 1 unit ok); exit "
                      "status 0", err)


class ShippedConfigTest(GpTestCase):
    """The configuration in the repository validates and explains itself."""

    ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                        "..")

    def shipped(self, *args, env=None):
        full = dict(os.environ)
        for key in ("GPCHECK_ENV", "EMERGENCY_DEVELOPMENT_MODE",
                    "EMERGENCY_BYPASS_EXPIRY", "EMERGENCY_BYPASS_REASON"):
            full.pop(key, None)
        full.update(env or {})
        import subprocess
        from gp import BIN
        return subprocess.run([BIN] + list(args) + [
            "-c", os.path.join(self.ROOT, "gpcheck.ini")],
            capture_output=True, text=True, timeout=60, env=full)

    def test_validate_explain(self):
        proc = self.shipped("validate", "--explain")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        out = proc.stdout
        for text in ("== probes selected (7)", "[vpc] plugin vpc",
                     "[vpc-capacity] plugin prometheus",
                     "threshold: fail_if vpc_utilisation >= 80%",
                     "threshold: warn_if ready_after > 30s (not retried: "
                     "another attempt only makes it larger)",
                     "[group cache]", "need 1 of 2",
                     "threshold: fail_if app_pool_usage >= 90%",
                     "threshold: fail_if min_instances < 10",
                     "starts after 'vpc' is ready", "== bypass",
                     "enabled = false: not applied"):
            self.assertIn(text, out)
        proc = self.shipped("validate", "--explain", "--env", "staging")
        self.assertRegex(proc.stdout, r"warmup += 90s .*staging/"
                                      r"10-cold-starts.ini:\d+ \(overlay")

    def test_seed_bypass_expired(self):
        proc = self.shipped("validate", env={
            "EMERGENCY_DEVELOPMENT_MODE": "true",
            "EMERGENCY_BYPASS_EXPIRY": "2025-09-18",
            "EMERGENCY_BYPASS_REASON": "issue 1278"})
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("the emergency bypass expired on 2025-09-18",
                      proc.stderr)


if __name__ == "__main__":
    unittest.main()
