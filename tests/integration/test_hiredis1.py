"""tests/integration/test_hiredis1.py - the redis probe built against
hiredis 1.x, and tested as the hiredis 0.14 build is.

Debian 12 (where the tests run) ships hiredis 0.14; Ubuntu 24.04 and
Debian 13 ship 1.x, whose API differs in places (plugins/redis/
hiredis_compat.h holds every line that depends on it).
tests/compat/hiredis1/build fetches Debian 13's hiredis source from
Debian's archive (signature-checked, private apt state, nothing installed)
and builds a static libhiredis 1.x into the build tree, once. Then:

- redis.so is compiled from plugins/redis/ against those headers and that
  library, with -Werror and the SDK's export map, as gpcheck_add_probe()
  compiles it;
- the reply unit test (plugins/redis/test_reply.c) runs on hiredis 1.x;
- the whole redis integration suite (test_redis.py: real Redis servers,
  credentials, LOADING, BUSY, a listener that never answers, ...) runs
  with that redis.so first on the search path.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

from gp import BIN, TEST_PLUGINS

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.normpath(os.path.join(HERE, "..", ".."))
BUILD = os.path.dirname(os.path.abspath(BIN)) if BIN else ""
COMPAT = os.path.join(BUILD, "compat", "hiredis1")
PREFIX = os.path.join(COMPAT, "prefix")
T = {}


def sanitized():
    try:
        with open(os.path.join(BUILD, "CMakeCache.txt")) as f:
            return re.search(r"^GPCHECK_SANITIZE:BOOL=ON$", f.read(),
                             re.M) is not None
    except OSError:
        return False


SAN = ["-fsanitize=address,undefined"] if sanitized() else []
# As gpcheck_add_probe() and the top CMakeLists compile a plugin.
CFLAGS = ["-std=c11", "-D_GNU_SOURCE", "-O2", "-g", "-Wall", "-Wextra",
          "-Wshadow", "-Wstrict-prototypes", "-Wmissing-prototypes",
          "-Werror", "-fPIC", "-fvisibility=hidden",
          "-I" + os.path.join(PREFIX, "include"),  # before /usr/include
          "-I" + os.path.join(SRC, "include"),
          "-I" + os.path.join(BUILD, "include")] + SAN


def run(argv, timeout=600, **kw):
    if "input" not in kw:
        kw["stdin"] = subprocess.DEVNULL
    proc = subprocess.run(argv, capture_output=True, text=True,
                          timeout=timeout, **kw)
    if proc.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s\n%s" % (
            " ".join(argv), proc.returncode, proc.stdout[-3000:],
            proc.stderr[-3000:]))
    return proc


def setUpModule():
    run([os.path.join(SRC, "tests", "compat", "hiredis1", "build"), COMPAT])
    T["tmp"] = tempfile.mkdtemp(prefix="gpcheck-hiredis1-")
    os.chmod(T["tmp"], 0o755)
    unittest.addModuleCleanup(shutil.rmtree, T["tmp"], ignore_errors=True)
    # The test plugins, with the 1.x redis.so beside them: first on the
    # search path of every run test_redis.py makes.
    T["plugins"] = os.path.join(T["tmp"], "plugins")
    shutil.copytree(TEST_PLUGINS, T["plugins"])
    T["so"] = os.path.join(T["plugins"], "redis.so")
    redis = os.path.join(SRC, "plugins", "redis")
    link = ["-Wl,--version-script=" + os.path.join(SRC, "sdk", "plugin.map")]
    if not SAN:
        link.append("-Wl,--no-undefined")
    run(["cc"] + CFLAGS + ["-shared", "-o", T["so"],
                           os.path.join(redis, "redis.c"),
                           os.path.join(redis, "reply.c"),
                           os.path.join(BUILD, "sdk", "libgpcheck-sdk.a"),
                           os.path.join(PREFIX, "lib", "libhiredis.a")]
        + link)


class Hiredis1Test(unittest.TestCase):

    def test_compiled_against_hiredis_1(self):
        macros = run(["cc"] + CFLAGS + ["-E", "-dM", "-x", "c", "-"],
                     input='#include "%s/plugins/redis/hiredis_compat.h"\n'
                     % SRC).stdout
        self.assertRegex(macros, r"(?m)^#define HIREDIS_MAJOR 1$")
        # redisConnectWithOptions is 1.x's: linked in, not exported.
        syms = run(["nm", T["so"]]).stdout
        self.assertRegex(syms, r"(?m) [tT] redisConnectWithOptions$")
        exports = run(["nm", "-D", "--defined-only", T["so"]]).stdout
        self.assertEqual(re.findall(r" T (\S+)", exports),
                         ["gpcheck_plugin@@GPCHECK_ABI_1"])
        proc = run([BIN, "plugins", "--plugin-dir", T["plugins"], "redis"])
        self.assertIn("file: %s (ABI" % T["so"], proc.stdout)

    def test_reply_unit_test(self):
        exe = os.path.join(T["tmp"], "test_redis_reply")
        check = run(["pkg-config", "--cflags", "--libs", "check"]).stdout
        redis = os.path.join(SRC, "plugins", "redis")
        run(["cc"] + CFLAGS + ["-I" + os.path.join(SRC, "tests", "unit"),
                               "-o", exe, os.path.join(redis, "test_reply.c"),
                               os.path.join(redis, "reply.c"),
                               os.path.join(BUILD, "sdk", "libgpcheck-sdk.a"),
                               os.path.join(PREFIX, "lib", "libhiredis.a")]
            + check.split())
        proc = run([exe], timeout=120)
        self.assertRegex(proc.stdout + proc.stderr, r"100%: Checks: [1-9]")

    def test_redis_suite(self):
        env = dict(os.environ, GPCHECK_TEST_PLUGINS=T["plugins"])
        proc = subprocess.run([sys.executable, "-m", "unittest", "test_redis"],
                              capture_output=True, text=True, timeout=280,
                              env=env, cwd=HERE, stdin=subprocess.DEVNULL)
        self.assertEqual(proc.returncode, 0, proc.stderr[-6000:])
        m = re.search(r"Ran (\d+) tests", proc.stderr)
        self.assertTrue(m and int(m.group(1)) >= 10, proc.stderr[-2000:])
        print("\ntest_hiredis1: test_redis.py on hiredis 1.x: %s"
              % m.group(0))


if __name__ == "__main__":
    unittest.main()
