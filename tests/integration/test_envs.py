"""tests/integration/test_envs.py - choosing an environment and reading
variables, as a CI job sees it: a typo in -e or in an overlay section is an
error with a did-you-mean, a timeout that outlasts the run's deadline is a
warning, and `list` / `--explain` say where each interpolated value came
from."""

import os
import unittest

from gp import GpTestCase


class EnvsTest(GpTestCase):
    def setUp(self):
        super().setUp()
        self.write("conf.d/db.ini", """
            [db]
            plugin = tcp
            host = 127.0.0.1
            port = 1
            timeout = ${DATABASE_TIMEOUT:-2s}
            """)
        self.write("conf.d/staging/db.ini", """
            [db]
            port = 2
            """)

    def test_env_typo_is_an_error(self):
        proc = self.gp("validate", "-e", "stagin")
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("--env: unknown environment 'stagin' (did you mean "
                      "'staging'?)", proc.stderr)
        self.assertIn("known: default, staging", proc.stderr)
        self.assertNotIn("configuration OK", proc.stdout)
        proc = self.gp("validate", env={"GPCHECK_ENV": "staging"})
        self.assertEqual(proc.returncode, 0, proc.stderr)

    def test_overlay_section_matching_no_probe(self):
        self.write("conf.d/staging/ghost.ini", """
            [bd]
            port = 3
            """)
        proc = self.gp("validate", "-e", "staging")
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("conf.d/staging/ghost.ini:1: [bd] overlays no probe",
                      proc.stderr)
        self.assertIn("(did you mean 'db'?)", proc.stderr)
        self.assertNotIn("plugin' is missing", proc.stderr)
        self.assertIn("1 configuration error", proc.stderr)

    def test_timeout_beyond_deadline_warns(self):
        env_file = self.write(".env.staging.tests", """
            # from the seed incident's environment
            DATABASE_TIMEOUT=600
            """)
        proc = self.gp("validate", "--env-file", env_file, "--deadline", "2m")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertRegex(proc.stderr,
                         r"conf.d/db.ini:5: warning: probe 'db': timeout "
                         r"10m00s is longer than the run's deadline 2m00s")
        proc = self.gp("validate", "--env-file", env_file)
        self.assertNotIn("warning", proc.stderr)

    def test_list_and_explain_name_each_variable_source(self):
        env_file = self.write(".env.staging.tests", """
            # from the seed incident's environment
            DATABASE_TIMEOUT=600
            """)
        proc = self.gp("list", "--env-file", env_file)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("${DATABASE_TIMEOUT} = 600 from %s:2" % env_file,
                      proc.stdout)
        proc = self.gp("validate", "--explain", "--env-file", env_file,
                       env={"DATABASE_TIMEOUT": "7s"})
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("${DATABASE_TIMEOUT} = 7s from the environment",
                      proc.stdout)
        self.assertIn("env files read, in order", proc.stdout)
        self.assertIn("1. " + env_file, proc.stdout)
        proc = self.gp("validate", "--explain")
        self.assertIn("${DATABASE_TIMEOUT} is not set", proc.stdout)

    def test_secret_variable_value_is_not_shown(self):
        self.write("conf.d/db.ini", """
            [db]
            plugin = redis
            host = 127.0.0.1
            password = ${REDIS_PW}
            """)
        proc = self.gp("list", env={"REDIS_PW": "canary-s3cret"})
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("${REDIS_PW} = *** from the environment", proc.stdout)
        self.assertNotIn("canary-s3cret", proc.stdout + proc.stderr)


if __name__ == "__main__":
    unittest.main()
