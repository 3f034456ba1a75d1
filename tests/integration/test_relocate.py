"""tests/integration/test_relocate.py - relocatable installs (issue 12,
item 1).

The build under test is installed twice with `cmake --install BUILD
--prefix P`, into two prefixes that are not its configured one, and the
second prefix is then moved to a new path. From each, with no GPCHECK_*
variables, no --plugin-dir and an empty current folder:

- the shipped tcp probe runs against a loopback listener (its plugin
  found under the prefix the gpcheck runs from);
- the main file and conf.d under PREFIX/etc/gpcheck are the configuration
  (`run` from an empty folder probes what they define);
- the template (PREFIX/share/gpcheck/template) is built with its Makefile
  and PKG_CONFIG_PATH alone, installed with `make install`, and found by
  name; then again with CMake (find_package through CMAKE_PREFIX_PATH)
  and its own install();
- an explicit --plugin-dir and $GPCHECK_PLUGIN_PATH still come first;
- with no plugin at all, `plugins` lists every folder it searched and
  exits 2.
"""

import os
import re
import shutil
import subprocess
import tempfile
import unittest

from gp import BIN, Listener

BUILD = os.path.dirname(os.path.abspath(BIN)) if BIN else ""


def sanitized():
    """The build under test uses ASan/UBSan: so must what links its SDK."""
    try:
        with open(os.path.join(BUILD, "CMakeCache.txt")) as f:
            return re.search(r"^GPCHECK_SANITIZE:BOOL=ON$", f.read(),
                             re.M) is not None
    except OSError:
        return False


SAN = "-fsanitize=address,undefined" if sanitized() else ""


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GPCHECK_", "PKG_CONFIG", "CMAKE_"))}
    env.update(extra)
    return env


def run(args, check=True, timeout=300, **kw):
    kw.setdefault("env", clean_env())
    proc = subprocess.run(args, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, **kw)
    if check and proc.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s\n%s" % (
            " ".join(args), proc.returncode, proc.stdout[-3000:],
            proc.stderr[-3000:]))
    return proc


def plugindir(prefix):
    """Where the template's install() put the probe: the one .so folder
    under PREFIX/lib (lib/ or lib/<multiarch>/, as GNUInstallDirs chose)."""
    for root, _, files in os.walk(os.path.join(prefix, "lib")):
        if "tcp.so" in files:
            return root
    raise AssertionError("no tcp.so under %s/lib" % prefix)


class RelocatedInstallTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="gpcheck-reloc-")
        os.chmod(cls.tmp, 0o755)
        first = os.path.join(cls.tmp, "first")
        moved_from = os.path.join(cls.tmp, "before", "second")
        for prefix in (first, moved_from):
            run(["cmake", "--install", BUILD, "--prefix", prefix])
        cls.moved = os.path.join(cls.tmp, "after", "moved here")
        os.makedirs(os.path.dirname(cls.moved))
        os.rename(moved_from, cls.moved)
        shutil.rmtree(os.path.join(cls.tmp, "before"))
        cls.prefixes = (first, cls.moved)
        cls.up = Listener(cls.tmp, "accept")
        cls.echo = Listener(cls.tmp, "echo", banner="+PONG\\r\\n")

    @classmethod
    def tearDownClass(cls):
        cls.up.stop()
        cls.echo.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.cwd = tempfile.mkdtemp(prefix="cwd-", dir=self.tmp)

    def gp(self, prefix, *args, env=None, check=False):
        return run([os.path.join(prefix, "bin", "gpcheck")] + list(args),
                   cwd=self.cwd, env=env or clean_env(), check=check,
                   timeout=60)

    def test_shipped_probe_from_each_prefix(self):
        for prefix in self.prefixes:
            with self.subTest(prefix=prefix):
                proc = self.gp(prefix, "probe", "tcp", "host=127.0.0.1",
                               "port=%d" % self.up.port, "timeout=2s")
                self.assertEqual(proc.returncode, 0,
                                 proc.stdout + proc.stderr)
                self.assertIn("connected to 127.0.0.1:%d" % self.up.port,
                              proc.stdout)
                self.assertRegex(proc.stdout, r"\(%s/lib/\S*tcp\.so\)"
                                 % re.escape(prefix))

    def test_configuration_folder_of_each_prefix(self):
        for prefix in self.prefixes:
            with self.subTest(prefix=prefix):
                etc = os.path.join(prefix, "etc", "gpcheck")
                with open(os.path.join(etc, "gpcheck.ini"), "w") as f:
                    f.write("[defaults]\nattempts = 1\ntimeout = 2s\n")
                confd = os.path.join(etc, "conf.d")
                shutil.rmtree(confd)
                os.mkdir(confd)
                with open(os.path.join(confd, "10-web.ini"), "w") as f:
                    f.write("[web]\nplugin = tcp\nhost = 127.0.0.1\n"
                            "port = %d\n" % self.up.port)
                proc = self.gp(prefix, "run", "-o", "text")
                self.assertEqual(proc.returncode, 0,
                                 proc.stdout + proc.stderr)
                self.assertRegex(proc.stderr, r"(?m)^web +tcp +required +ok ")
                help_ = self.gp(prefix, "run", "--help").stdout
                self.assertIn("%s/etc/gpcheck/gpcheck.ini" % prefix,
                              help_.replace("\n" + " " * 25, " "))

    def check_template_probe(self, prefix, how):
        """myprobe, installed by the template's own install(), found by
        name by the gpcheck of prefix."""
        proc = self.gp(prefix, "probe", "myprobe", "host=127.0.0.1",
                       "port=%d" % self.echo.port, "timeout=2s")
        self.assertEqual(proc.returncode, 0, how + ": " + proc.stdout +
                         proc.stderr)
        self.assertIn("answered 'PONG'", proc.stdout)
        self.assertIn("(%s/myprobe.so)" % plugindir(prefix), proc.stdout)
        os.unlink(os.path.join(plugindir(prefix), "myprobe.so"))

    def test_template_probe_with_make_and_pkg_config(self):
        for prefix in self.prefixes:
            with self.subTest(prefix=prefix):
                src = tempfile.mkdtemp(prefix="make-", dir=self.tmp)
                shutil.copytree(os.path.join(prefix, "share", "gpcheck",
                                             "template"), src,
                                dirs_exist_ok=True)
                libdir = os.path.dirname(os.path.dirname(plugindir(prefix)))
                pcdir = os.path.join(libdir, "pkgconfig")
                env = clean_env(PKG_CONFIG_PATH=pcdir)
                run(["make", "-C", src, "CFLAGS=-Wall -Wextra -Werror " + SAN,
                     "LDFLAGS=" + SAN, "all", "install"], env=env)
                self.check_template_probe(prefix, "make")

    def test_template_probe_with_cmake(self):
        for prefix in self.prefixes:
            with self.subTest(prefix=prefix):
                build = tempfile.mkdtemp(prefix="cmake-", dir=self.tmp)
                run(["cmake", "-S", os.path.join(prefix, "share", "gpcheck",
                                                 "template"),
                     "-B", build, "-DCMAKE_PREFIX_PATH=" + prefix,
                     "-DCMAKE_C_FLAGS=-Wall -Wextra -Werror " + SAN,
                     "-DCMAKE_EXE_LINKER_FLAGS=" + SAN,
                     "-DCMAKE_MODULE_LINKER_FLAGS=" + SAN])
                run(["cmake", "--build", build, "--target", "myprobe"])
                run(["cmake", "--install", build])
                self.check_template_probe(prefix, "cmake")

    def test_explicit_folders_come_first(self):
        other = os.path.join(self.tmp, "other-plugins")
        os.makedirs(other, exist_ok=True)
        shutil.copy(os.path.join(plugindir(self.prefixes[0]), "tcp.so"),
                    other)
        for env, args in ((clean_env(), ["--plugin-dir", other]),
                          (clean_env(GPCHECK_PLUGIN_PATH=other), [])):
            with self.subTest(args=args, env=env.get("GPCHECK_PLUGIN_PATH")):
                proc = self.gp(self.moved, "plugins", "tcp", *args, env=env)
                self.assertEqual(proc.returncode, 0, proc.stderr)
                self.assertIn("file: %s/tcp.so" % other, proc.stdout)

    def test_no_plugin_found_lists_the_folders_searched(self):
        prefix = os.path.join(self.tmp, "empty")
        shutil.copytree(self.moved, prefix, symlinks=True)
        shutil.rmtree(plugindir(prefix))
        extra = os.path.join(self.tmp, "nothing-here")
        proc = self.gp(prefix, "plugins", "--plugin-dir", extra)
        self.assertEqual(proc.returncode, 2, proc.stdout + proc.stderr)
        self.assertEqual(proc.stdout, "")
        self.assertIn("no plugins found; searched:", proc.stderr)
        folders = re.findall(r"(?m)^  (\S.*)$", proc.stderr)
        self.assertEqual(folders[0], extra)
        self.assertEqual(len(folders), 2, proc.stderr)
        self.assertTrue(folders[1].startswith(prefix + "/lib/"), proc.stderr)


if __name__ == "__main__":
    unittest.main()
