"""tests/integration/test_gate.py - the verdict, exit statuses, reports and
`run -- CMD`, with tcp probes against loopback listeners."""

import json
import os
import unittest

from gp import GpTestCase


class GateTest(GpTestCase):
    def tcp(self, name, port, extra=""):
        self.write("conf.d/%s.ini" % name, """
            [%s]
            plugin = tcp
            host = 127.0.0.1
            port = %d
            attempts = 1
            timeout = 2s
            %s
            """ % (name, port, extra))

    def test_pass(self):
        a = self.listener("accept")
        b = self.listener("banner", banner="HELLO\\r\\n")
        self.tcp("web", a.port)
        self.tcp("banner", b.port, "expect = HELLO")
        proc, doc, _ = self.run_json()
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(doc["verdict"], "pass")
        self.assertEqual(doc["exit_code"], 0)
        for name in ("web", "banner"):
            p = self.probe(doc, name)
            self.assertEqual(p["status"], "ok")
            self.assertEqual(p["plugin"], "tcp")
            self.assertEqual(p["attempts"], 1)
            self.assertIn("connect_time", p["metrics"])
            self.assertGreaterEqual(p["metrics"]["connect_time"], 0)
            self.assertEqual(p["history"][0]["phase"], "retry")
            self.assertEqual(p["history"][0]["outcome"], "ready")
        self.assertIn("verdict: pass", proc.stderr)

    def test_fail_on_required(self):
        a = self.listener("accept")
        closed = self.listener("closed")
        self.tcp("web", a.port)
        self.tcp("db", closed.port)
        proc, doc, _ = self.run_json()
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertEqual(doc["verdict"], "fail")
        db = self.probe(doc, "db")
        self.assertEqual(db["status"], "fail")
        self.assertIn("refused", db["message"])
        self.assertEqual(self.probe(doc, "web")["status"], "ok")
        self.assertIn("verdict: fail", proc.stderr)

    def test_degraded_on_optional(self):
        a = self.listener("accept")
        closed = self.listener("closed")
        self.tcp("web", a.port)
        self.tcp("metrics", closed.port, "severity = optional")
        proc, doc, _ = self.run_json()
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(doc["verdict"], "degraded")
        self.assertEqual(self.probe(doc, "metrics")["severity"], "optional")
        self.assertEqual(self.probe(doc, "metrics")["status"], "fail")

    def test_degraded_outcome_is_warn(self):
        self.write("conf.d/m.ini", """
            [slowish]
            plugin = misbehave
            mode = degraded
            """)
        proc, doc, _ = self.run_json()
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(doc["verdict"], "degraded")
        self.assertEqual(self.probe(doc, "slowish")["status"], "warn")

    def test_exec_command_on_pass(self):
        a = self.listener("accept")
        self.tcp("web", a.port)
        out = os.path.join(self.tmp, "ran")
        proc = self.gp("run", "-q", "--", "sh", "-c",
                       'echo "$GPCHECK_VERDICT" > "$0"; exit 7', out)
        # gpcheck became the command: its exit status is the command's.
        self.assertEqual(proc.returncode, 7, proc.stderr)
        with open(out) as f:
            self.assertEqual(f.read().strip(), "pass")

    def test_exec_command_signal(self):
        a = self.listener("accept")
        self.tcp("web", a.port)
        proc = self.gp("run", "-q", "--", "sh", "-c", "kill -TERM $$")
        self.assertEqual(proc.returncode, -15, proc.stderr)

    def test_command_not_run_on_fail(self):
        closed = self.listener("closed")
        self.tcp("db", closed.port)
        out = os.path.join(self.tmp, "ran")
        proc = self.gp("run", "--", "touch", out)
        self.assertEqual(proc.returncode, 1)
        self.assertFalse(os.path.exists(out))

    def test_command_not_found(self):
        a = self.listener("accept")
        self.tcp("web", a.port)
        proc = self.gp("run", "-q", "--", "/nonexistent/e2e")
        self.assertEqual(proc.returncode, 127)
        self.assertIn("/nonexistent/e2e", proc.stderr)

    def test_json_on_stdout(self):
        a = self.listener("accept")
        self.tcp("web", a.port)
        proc = self.gp("run", "-q", "-o", "json")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        doc = json.loads(proc.stdout)
        self.assertEqual(doc["env"], "default")
        for key in ("gpcheck", "env", "verdict", "exit_code", "started_at",
                    "duration_ms", "probes"):
            self.assertIn(key, doc)

    def test_no_probes_is_usage_error(self):
        proc = self.gp("run")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("no probe selected", proc.stderr)

    def test_selection_by_probe_and_tag(self):
        a = self.listener("accept")
        closed = self.listener("closed")
        self.tcp("web", a.port, "tags = frontend")
        self.tcp("db", closed.port, "tags = backend")
        proc, doc, _ = self.run_json("-p", "web")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual([p["name"] for p in doc["probes"]], ["web"])
        proc, doc, _ = self.run_json("--tag", "backend")
        self.assertEqual([p["name"] for p in doc["probes"]], ["db"])
        proc, doc, _ = self.run_json("--skip-tag", "backend")
        self.assertEqual([p["name"] for p in doc["probes"]], ["web"])

    def test_environment_overlay(self):
        a = self.listener("accept")
        closed = self.listener("closed")
        self.tcp("db", closed.port)
        self.write("conf.d/staging/db.ini", """
            [db]
            port = %d
            """ % a.port)
        proc, doc, _ = self.run_json()
        self.assertEqual(proc.returncode, 1)
        proc, doc, _ = self.run_json("--env", "staging")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(doc["env"], "staging")
        proc, doc, _ = self.run_json(env={"GPCHECK_ENV": "staging"})
        self.assertEqual(proc.returncode, 0, proc.stderr)


class CommandsTest(GpTestCase):
    def setUp(self):
        super().setUp()
        self.write("conf.d/db.ini", """
            [db]
            plugin = tcp
            host = ${DB_HOST:-127.0.0.1}
            port = 5432
            send = secret-${DB_TOKEN}
            tags = backend, golden
            """)

    def test_validate(self):
        proc = self.gp("validate")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("configuration OK: 1 probe", proc.stdout)

    def test_list_shows_effective_values_and_origins(self):
        proc = self.gp("list", env={"DB_HOST": "db.internal"})
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("[db]", proc.stdout)
        self.assertIn("host = db.internal", proc.stdout)
        self.assertIn("conf.d/db.ini:3", proc.stdout)
        self.assertIn("timeout 5s", proc.stdout)
        self.assertIn("attempts 3", proc.stdout)

    def test_config_errors_all_reported(self):
        self.write("conf.d/bad.ini", """
            [web]
            plugin = tcp
            host = 127.0.0.1
            port = http
            timout = 5s

            [cache]
            plugin = ../evil
            after = nothere
            """)
        proc = self.gp("validate")
        self.assertEqual(proc.returncode, 2)
        err = proc.stderr
        self.assertIn("conf.d/bad.ini:4:", err)   # port: wrong type
        self.assertIn("conf.d/bad.ini:5:", err)   # unknown key
        self.assertIn("did you mean 'timeout'", err)
        self.assertIn("conf.d/bad.ini:8:", err)   # bad plugin name
        # run refuses to probe anything
        proc = self.gp("run")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("nothing was probed", proc.stderr)

    def test_required_interpolation_error(self):
        self.write("conf.d/req.ini", """
            [api]
            plugin = tcp
            host = ${API_HOST:?set API_HOST to the staging API}
            port = 443
            """)
        proc = self.gp("validate")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("conf.d/req.ini:3:", proc.stderr)
        self.assertIn("set API_HOST to the staging API", proc.stderr)

    def test_env_file(self):
        envf = self.write("staging.env", """
            # staging
            DB_HOST=db.from.envfile
            """)
        proc = self.gp("list", "--env-file", envf)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("host = db.from.envfile", proc.stdout)
        # the real environment wins over the file
        proc = self.gp("list", "--env-file", envf, env={"DB_HOST": "real"})
        self.assertIn("host = real", proc.stdout)

    def test_plugins_list_and_schema(self):
        proc = self.gp("plugins")
        self.assertRegex(proc.stdout, r"(?m)^tcp +\d+\.\d+\.\d+ +TCP connect")
        self.assertRegex(proc.stdout, r"(?m)^misbehave +\d")
        # the test plugin folder holds plugins built to be refused
        self.assertRegex(proc.stdout, r"(?m)^badmajor .*cannot load.*plugin ABI 2\.\d")
        self.assertEqual(proc.returncode, 1)
        proc = self.gp("plugins", "tcp")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("OPTIONS", proc.stdout)
        self.assertIn("host", proc.stdout)
        self.assertIn("METRICS", proc.stdout)
        self.assertIn("connect_time", proc.stdout)
        proc = self.gp("plugins", "nosuch")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("unknown plugin 'nosuch'", proc.stderr)

    def test_version_and_help(self):
        proc = self.gp("version")
        self.assertEqual(proc.returncode, 0)
        self.assertRegex(proc.stdout, r"^gpcheck \d+\.\d+\.\d+ \(plugin ABI 1\.\d+\)")
        for cmd in ("run", "validate", "list", "plugins", "probe"):
            proc = self.gp(cmd, "--help")
            self.assertEqual(proc.returncode, 0, cmd)
            self.assertIn("usage: gpcheck " + cmd, proc.stdout)

    def test_usage_errors(self):
        proc = self.gp("run", "--jobs", "0")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("--jobs", proc.stderr)
        proc = self.gp("run", "--bogus")
        self.assertEqual(proc.returncode, 2)
        proc = self.gp("run", "make")  # a command without --
        self.assertEqual(proc.returncode, 2)
        self.assertIn("--", proc.stderr)
        proc = self.gp("run", "-o", "xml")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("unknown format", proc.stderr)

    def test_adhoc_probe(self):
        lst = self.listener("accept")
        proc = self.gp("probe", "tcp", "host=127.0.0.1", "port=%d" % lst.port)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("status:   ok", proc.stdout)
        self.assertIn("connect_time", proc.stdout)
        proc = self.gp("probe", "tcp", "host=127.0.0.1", "port=99999")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("port", proc.stderr)


class SecretTest(GpTestCase):
    CANARY = "canary-Zq8xK2"

    def test_secret_never_printed(self):
        self.write("conf.d/s.ini", """
            [leaky]
            plugin = misbehave
            mode = leak
            token = ${TOKEN}
            attempts = 2
            delay = 10ms
            """)
        env = {"TOKEN": self.CANARY}
        outputs = []
        proc, doc, _ = self.run_json("-v", env=env)
        self.assertEqual(proc.returncode, 1)
        outputs += [proc.stdout, proc.stderr, json.dumps(doc)]
        self.assertIn("token *** rejected", self.probe(doc, "leaky")["message"])
        self.assertIn("logging in with token ***", proc.stderr)
        for cmd in ("list", "validate -v"):
            p = self.gp(*cmd.split(), env=env)
            self.assertEqual(p.returncode, 0, p.stderr)
            outputs += [p.stdout, p.stderr]
        p = self.gp("probe", "misbehave", "mode=leak", "token=" + self.CANARY)
        outputs += [p.stdout, p.stderr]
        p = self.gp("plugins", "misbehave")
        outputs += [p.stdout, p.stderr]
        for out in outputs:
            self.assertNotIn(self.CANARY, out)

    def test_secret_not_echoed_in_config_errors(self):
        self.write("conf.d/s.ini", """
            [leaky]
            plugin = misbehave
            mode = leak
            token = ${TOKEN
            """)
        p = self.gp("validate", env={"TOKEN": self.CANARY})
        self.assertEqual(p.returncode, 2)
        self.assertNotIn(self.CANARY, p.stderr)


if __name__ == "__main__":
    unittest.main()
