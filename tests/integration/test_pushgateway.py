"""tests/integration/test_pushgateway.py - `-o pushgateway:URL` against a
real Pushgateway, read back through a real Prometheus scrape: the grouping
key (job, env, pipeline; nothing per runner), PUT replacing the group, and
a Pushgateway that is not there."""

import os
import unittest

from gp import GpTestCase
from pushgateway import Prometheus, Pushgateway


class PushgatewayTest(GpTestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = Pushgateway()
        cls.pg.start()
        cls.prom = Prometheus(cls.pg)
        try:
            cls.prom.start()
        except Exception:
            cls.pg.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.prom.stop()
        cls.pg.stop()

    def setUp(self):
        super().setUp()
        for name in ("web", "db"):
            self.write("conf.d/%s.ini" % name, """
                [%s]
                plugin = exec
                command = true
                envs = staging, prod
                """ % name)

    def push(self, env, *extra, pipeline="golden-path", more=None):
        e = {"GPCHECK_PIPELINE": pipeline}
        e.update(more or {})
        return self.gp("run", "-q", "-e", env, "-o",
                       "pushgateway:" + self.pg.url(), *extra, env=e)

    def group(self, env, pipeline):
        for g in self.pg.groups():
            if (g["labels"].get("env") == env
                    and g["labels"].get("pipeline") == pipeline):
                return g
        return None

    def test_push_is_scraped_with_the_grouping_key(self):
        proc = self.push("staging")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        g = self.group("staging", "golden-path")
        self.assertEqual(g["labels"], {"job": "gpcheck", "env": "staging",
                                       "pipeline": "golden-path"})
        up = self.prom.wait_query(
            'gpcheck_probe_up{env="staging",pipeline="golden-path"}',
            lambda r: len(r) == 2)
        self.assertEqual(sorted(s["metric"]["probe"] for s in up),
                         ["db", "web"])
        for s in up:
            self.assertEqual(s["metric"]["job"], "gpcheck")
            self.assertEqual(s["value"][1], "1")
            self.assertNotIn("host", s["metric"])
        v = self.prom.wait_query(
            'gpcheck_verdict{env="staging",pipeline="golden-path",'
            'verdict="pass"}',
            lambda r: len(r) == 1)
        self.assertEqual(v[0]["value"][1], "1")

    def test_put_replaces_the_group(self):
        self.assertEqual(self.push("prod").returncode, 0)
        g = self.group("prod", "golden-path")
        probes = {m["labels"]["probe"]
                  for m in g["metrics"]["gpcheck_probe_up"]}
        self.assertEqual(probes, {"web", "db"})
        # The next run has one probe only: db's series is gone at once.
        self.assertEqual(self.push("prod", "-p", "web").returncode, 0)
        g = self.group("prod", "golden-path")
        probes = {m["labels"]["probe"]
                  for m in g["metrics"]["gpcheck_probe_up"]}
        self.assertEqual(probes, {"web"})
        self.prom.wait_query(
            'gpcheck_probe_up{env="prod",pipeline="golden-path"}',
            lambda r: [s["metric"]["probe"] for s in r] == ["web"])

    def test_runners_share_one_group(self):
        # Two runners, two jobs of one pipeline: one group, not two.
        for job, host in (("101", "runner-a"), ("102", "runner-b")):
            proc = self.push("staging", pipeline="nightly",
                             more={"CI_JOB_ID": job, "HOSTNAME": host,
                                   "CI_RUNNER_ID": host})
            self.assertEqual(proc.returncode, 0, proc.stderr)
        groups = [g for g in self.pg.groups()
                  if g["labels"].get("pipeline") == "nightly"]
        self.assertEqual(len(groups), 1)
        self.assertEqual(set(groups[0]["labels"]),
                         {"job", "env", "pipeline"})

    def test_a_pipeline_name_with_a_slash(self):
        # GitLab's CI_PROJECT_PATH: group/project, sent as label@base64.
        env = {"CI_PROJECT_PATH": "team/e2e suite"}
        proc = self.gp("run", "-q", "-e", "staging", "-o",
                       "pushgateway:" + self.pg.url() + "/", env=env)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIsNotNone(self.group("staging", "team/e2e suite"))

    def test_no_pushgateway_fails_the_report(self):
        from base import free_port
        url = "http://user:s3cret@127.0.0.1:%d" % free_port()
        proc = self.gp("run", "-q", "-e", "staging", "-o",
                       "pushgateway:" + url)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("-o pushgateway:http://user@127.0.0.1:", proc.stderr)
        self.assertIn("cannot push", proc.stderr)
        self.assertNotIn("s3cret", proc.stderr)
        proc = self.gp("run", "-q", "-e", "staging", "-o",
                       "pushgateway:ftp://127.0.0.1/")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("expected an http:// or https:// URL", proc.stderr)
        proc = self.gp("run", "-q", "-e", "staging", "-o", "pushgateway")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("needs the Pushgateway's URL", proc.stderr)


if __name__ == "__main__":
    unittest.main()
