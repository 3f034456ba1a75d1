"""tests/integration/test_cli.py - the command line as a new user meets it:
each command's --help shows its own options, mistakes get a did-you-mean,
documentation commands work where the configuration is broken, and
--exit-codes docker maps every failure to 1."""

import os
import re
import subprocess
import unittest

from gp import BIN, GpTestCase


def bare(*args, cwd=None):
    """gpcheck with exactly these arguments (no test defaults)."""
    return subprocess.run([BIN] + list(args), capture_output=True, text=True,
                          timeout=30, cwd=cwd, stdin=subprocess.DEVNULL)


def options_of(help_text):
    return set(re.findall(r"(?m)^\s+(?:-\w, )?(--[a-z-]+)", help_text))


class HelpTest(GpTestCase):
    def test_each_command_shows_only_its_options(self):
        run = options_of(bare("run", "--help").stdout)
        self.assertIn("--jobs", run)
        self.assertIn("--exit-codes", run)
        self.assertEqual(options_of(bare("validate", "--help").stdout), run)
        lst = options_of(bare("list", "--help").stdout)
        self.assertIn("--env-file", lst)
        self.assertNotIn("--jobs", lst)
        self.assertNotIn("--output", lst)
        self.assertEqual(options_of(bare("plugins", "--help").stdout),
                         {"--config", "--plugin-dir", "--help"})
        probe = options_of(bare("probe", "--help").stdout)
        self.assertNotIn("--conf-dir", probe)
        self.assertIn("--deadline", probe)
        top = bare("--help").stdout
        self.assertIn("'gpcheck COMMAND --help'", top)

    def test_mistakes_get_a_did_you_mean(self):
        proc = bare("rnu")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("unknown command 'rnu' (did you mean 'run'?)",
                      proc.stderr)
        proc = bare("run", "--verbsoe")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("unknown option '--verbsoe' (did you mean "
                      "'--verbose'?)", proc.stderr)
        proc = bare("list", "--jobs", "4")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("--jobs does not apply to 'list'", proc.stderr)
        self.assertIn("Try 'gpcheck list --help'", proc.stderr)

    def test_config_aliases_and_transpositions(self):
        self.write("conf.d/a.ini", """
            [db]
            plugin = postgresql
            [web]
            plugin = tcp
            hots = 127.0.0.1
            prot = 80
            retries = 3
            timeout = 5x
            """)
        proc = self.gp("validate")
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("unknown plugin 'postgresql' (did you mean "
                      "'postgres'?)", proc.stderr)
        self.assertIn("unknown key 'hots' in probe 'web' (did you mean "
                      "'host'?)", proc.stderr)
        self.assertIn("unknown key 'prot' in probe 'web' (did you mean "
                      "'port'?)", proc.stderr)
        self.assertIn("unknown key 'retries' in probe 'web' (did you mean "
                      "'attempts'?)", proc.stderr)
        self.assertIn("unknown unit 'x' in '5x' (units: ms, s, m, h;",
                      proc.stderr)


class DocumentationCommandsTest(GpTestCase):
    """plugins, probe, version and --help in a folder whose configuration is
    broken: they must still work."""

    def setUp(self):
        super().setUp()
        self.write("gpcheck.ini", """
            [gpcheck]
            plugin_path = ${NOT_SET:?needs an env file}
            """)
        self.write("conf.d/broken.ini", "[db\nplugin = postgres\n")

    def test_plugins_ignores_a_broken_configuration(self):
        proc = bare("plugins", cwd=self.tmp)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertRegex(proc.stdout, r"(?m)^tcp\s")
        self.assertIn("warning: the main file has errors", proc.stderr)
        proc = bare("plugins", "tcp", cwd=self.tmp)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("host", proc.stdout)

    def test_probe_version_help_need_no_configuration(self):
        lst = self.listener("accept")
        proc = bare("probe", "tcp", "host=127.0.0.1", "port=%d" % lst.port,
                    cwd=self.tmp)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        for args in (["version"], ["--help"], ["run", "--help"]):
            proc = bare(*args, cwd=self.tmp)
            self.assertEqual(proc.returncode, 0, (args, proc.stderr))
        proc = bare("validate", cwd=self.tmp)
        self.assertEqual(proc.returncode, 2)


class DockerExitCodesTest(GpTestCase):
    def tcp(self, port):
        self.write("conf.d/web.ini", """
            [web]
            plugin = tcp
            host = 127.0.0.1
            port = %d
            attempts = 1
            timeout = 1s
            """ % port)

    def test_only_zero_or_one(self):
        ok = self.listener("accept")
        self.tcp(ok.port)
        self.assertEqual(self.gp("run", "--exit-codes", "docker").returncode,
                         0)
        closed = self.listener("closed")
        self.tcp(closed.port)
        self.assertEqual(self.gp("run").returncode, 1)
        self.assertEqual(self.gp("run", "--exit-codes", "docker").returncode,
                         1)
        self.write("conf.d/web.ini", "[web]\nplugin = nosuch\n")
        self.assertEqual(self.gp("run").returncode, 2)
        self.assertEqual(self.gp("run", "--exit-codes", "docker").returncode,
                         1)
        proc = self.gp("run", "--exit-codes", "kubernetes")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("expected gpcheck or docker", proc.stderr)
        proc = self.gp("run", "--exit-codes", "docker", "--nagios")
        self.assertEqual(proc.returncode, 1)
        self.assertIn("choose one", proc.stderr)


if __name__ == "__main__":
    unittest.main()
