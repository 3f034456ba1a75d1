"""tests/integration/test_sdk.py - the SDK as an outside author gets it:
install to a temporary prefix, build sdk/template out of tree with CMake
(find_package(gpcheck)) and with make + pkg-config, run the template's own
unit test on the in-process harness, and run the built probe through the
installed gpcheck against a real listener."""

import os
import re
import shutil
import subprocess
import tempfile
import unittest

from gp import BIN, FIXTURES, GpTestCase, Listener

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


def run(args, **kw):
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300,
                          **kw)
    if proc.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s\n%s" % (
            " ".join(args), proc.returncode, proc.stdout[-3000:],
            proc.stderr[-3000:]))
    return proc


class SdkTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="gpcheck-sdk-")
        os.chmod(cls.tmp, 0o755)
        cls.prefix = os.path.join(cls.tmp, "prefix")
        run(["cmake", "--install", BUILD, "--prefix", cls.prefix])
        cls.gpcheck = os.path.join(cls.prefix, "bin", "gpcheck")
        cls.plugins = os.path.join(cls.prefix, "lib", "gpcheck", "plugins")
        cls.template = os.path.join(cls.prefix, "share", "gpcheck", "template")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_installed_files(self):
        for rel in ("bin/gpcheck", "include/gpcheck/plugin.h",
                    "include/gpcheck/sdk.h", "include/gpcheck/sdk_curl.h",
                    "include/gpcheck/testing.h",
                    "include/gpcheck/version.h", "lib/libgpcheck-sdk.a",
                    "lib/libgpcheck-testing.a",
                    "lib/pkgconfig/gpcheck-plugin.pc",
                    "lib/pkgconfig/gpcheck-testing.pc",
                    "lib/cmake/gpcheck/gpcheckConfig.cmake",
                    "lib/cmake/gpcheck/gpcheckConfigVersion.cmake",
                    "lib/gpcheck/plugins/tcp.so", "share/gpcheck/plugin.map",
                    "etc/gpcheck/gpcheck.ini", "etc/gpcheck/conf.d"):
            self.assertTrue(os.path.exists(os.path.join(self.prefix, rel)),
                            rel)
        with open(os.path.join(self.prefix, "include/gpcheck/version.h")) as f:
            text = f.read()
        self.assertRegex(text, r"#define GPCHECK_VERSION_NUM")
        self.assertIn("#define GPCHECK_ABI_MAJOR GP_ABI_MAJOR", text)
        self.assertIn("GPCHECK_VERSION_AT_LEAST", text)
        # the harness exports its own names and nothing of the core
        syms = run(["nm", "-g", "--defined-only", os.path.join(
            self.prefix, "lib", "libgpcheck-testing.a")]).stdout
        names = re.findall(r" T (\S+)", syms)
        self.assertTrue(names)
        self.assertTrue(all(n.startswith("gp_test_") for n in names), names)

    def check_probe(self, so):
        """The built probe: one export, its schema, a real run."""
        exports = run(["nm", "-D", "--defined-only", so]).stdout
        self.assertEqual(re.findall(r" T (\S+)", exports),
                         ["gpcheck_plugin@@GPCHECK_ABI_1"])
        schema = run([self.gpcheck, "plugins", so]).stdout
        self.assertIn("myprobe 0.1.0", schema)
        self.assertIn("response_time", schema)
        lst = Listener(self.tmp, "echo", banner="+PONG\\r\\n")
        try:
            proc = subprocess.run([self.gpcheck, "probe", so,
                                   "host=127.0.0.1", "port=%d" % lst.port,
                                   "--plugin-dir", self.plugins],
                                  capture_output=True, text=True, timeout=60)
        finally:
            lst.stop()
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("status:   ok", proc.stdout)
        self.assertIn("answered 'PONG'", proc.stdout)

    def test_template_with_cmake(self):
        build = os.path.join(self.tmp, "cmake-build")
        run(["cmake", "-S", self.template, "-B", build,
             "-DCMAKE_PREFIX_PATH=" + self.prefix,
             "-DCMAKE_C_FLAGS=-Wall -Wextra -Werror " + SAN,
             "-DCMAKE_EXE_LINKER_FLAGS=" + SAN,
             "-DCMAKE_MODULE_LINKER_FLAGS=" + SAN])
        run(["cmake", "--build", build])
        test = run(["ctest", "--test-dir", build, "--output-on-failure"])
        self.assertIn("100% tests passed", test.stdout)
        self.check_probe(os.path.join(build, "myprobe.so"))

    def test_template_with_make_and_pkg_config(self):
        src = os.path.join(self.tmp, "make-build")
        shutil.copytree(self.template, src)
        env = dict(os.environ,
                   PKG_CONFIG_PATH=os.path.join(self.prefix, "lib",
                                                "pkgconfig"))
        flags = "-Wall -Wextra -Werror " + SAN
        run(["make", "-C", src, "PKG_CONFIG=pkg-config --define-prefix",
             "CFLAGS=" + flags, "LDFLAGS=" + SAN, "all", "check"], env=env)
        self.check_probe(os.path.join(src, "myprobe.so"))

    def test_pkg_config_describes_the_install(self):
        env = dict(os.environ,
                   PKG_CONFIG_PATH=os.path.join(self.prefix, "lib",
                                                "pkgconfig"))
        pc = ["pkg-config", "--define-prefix"]
        cflags = run(pc + ["--cflags", "gpcheck-plugin"], env=env).stdout
        self.assertIn("-I%s/include" % self.prefix, cflags)
        self.assertIn("-fvisibility=hidden", cflags)
        libs = run(pc + ["--libs", "gpcheck-plugin"], env=env).stdout
        self.assertIn("-lgpcheck-sdk", libs)
        self.assertIn("--version-script=%s/share/gpcheck/plugin.map"
                      % self.prefix, libs)
        plugindir = run(pc + ["--variable=plugindir", "gpcheck-plugin"],
                        env=env).stdout.strip()
        self.assertEqual(plugindir, self.plugins)


if __name__ == "__main__":
    unittest.main()
