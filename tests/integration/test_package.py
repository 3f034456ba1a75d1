"""tests/integration/test_package.py - the Debian package, built and installed.

Configures a separate build of this source tree for the package layout
(/usr, /etc) in a temporary folder, builds it, runs cpack, installs the
.deb with `apt-get install ./gpcheck_*.deb` as the issue asks, and runs the
installed copy: `gpcheck version`, a tcp probe against a loopback listener,
`gpcheck validate` on the shipped /etc/gpcheck configuration. Checks that
the package holds the plugins, man pages, completion, SDK and config
examples, and that its Depends name the package of every library the
binary and the plugins link (found with ldd and dpkg -S), and of those
the core loads with dlopen() (libcurl, SQLite, libmicrohttpd: the ones
debian/dl-needs links, see cmake/dl_needs.c). Purges the
package at the end, so the machine is left as it was.

Slow (a full build) and it installs a package system-wide: ctest should
run it with RUN_SERIAL. It needs root, apt-get, cpack and dpkg-dev
(dpkg-shlibdeps); without root or apt-get it is skipped. It is skipped too
when a gpcheck package is already installed: it never replaces one it did
not install.
"""

import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

from gp import Listener

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.normpath(os.path.join(HERE, "..", ".."))
PKG = "gpcheck"
# apt-get waits for a dpkg lock another process holds instead of failing.
APT = ["apt-get", "-y", "-q", "-o", "DPkg::Lock::Timeout=300"]
APT_ENV = dict(os.environ, DEBIAN_FRONTEND="noninteractive")


def run(args, timeout=600, **kw):
    return subprocess.run(args, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, **kw)


def installed(pkg):
    proc = run(["dpkg-query", "-W", "-f", "${Status}", pkg])
    return proc.returncode == 0 and "ok installed" in proc.stdout


def project_version():
    with open(os.path.join(SRC, "CMakeLists.txt")) as f:
        m = re.search(r"project\(\s*gpcheck\s+VERSION\s+([0-9.]+)", f.read())
    return m.group(1)


class DebianPackageTest(unittest.TestCase):

    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("installing a package needs root")
        for tool in ("apt-get", "dpkg", "cpack", "cmake", "dpkg-shlibdeps"):
            if not shutil.which(tool):
                self.skipTest("%s is not installed" % tool)
        if installed(PKG):
            msg = ("a %s package is already installed; not replacing it "
                   "(apt-get purge %s to run this test)" % (PKG, PKG))
            print("test_package: " + msg, file=sys.stderr)
            self.skipTest(msg)
        self.tmp = tempfile.mkdtemp(prefix="gpcheck-deb-")
        # apt reads the .deb as user _apt: the folder must be readable.
        os.chmod(self.tmp, 0o755)
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)

    def check(self, proc, what):
        self.assertEqual(proc.returncode, 0, "%s failed (exit %d):\n%s\n%s" % (
            what, proc.returncode, proc.stdout[-4000:], proc.stderr[-4000:]))
        return proc

    def build_package(self):
        build = os.path.join(self.tmp, "build")
        self.check(run(["cmake", "-S", SRC, "-B", build,
                        "-DCMAKE_INSTALL_PREFIX=/usr",
                        "-DCMAKE_INSTALL_SYSCONFDIR=/etc",
                        "-DCMAKE_BUILD_TYPE=RelWithDebInfo",
                        "-DGPCHECK_TESTS=OFF"]), "cmake configure")
        jobs = str(max(1, min(os.cpu_count() or 2, 4)))
        self.check(run(["cmake", "--build", build, "-j", jobs], timeout=1200),
                   "cmake --build")
        self.check(run(["cpack"], cwd=build), "cpack")
        debs = glob.glob(os.path.join(build, "gpcheck_*.deb"))
        self.assertEqual(len(debs), 1, "cpack made %r" % debs)
        os.chmod(debs[0], 0o644)
        return build, debs[0]

    def install(self, deb):
        # Purge (not remove): the conffiles in /etc/gpcheck go too.
        self.addCleanup(self.purge)
        self.check(run(APT + ["install", "--no-install-recommends",
                              os.path.join(".", os.path.basename(deb))],
                       cwd=os.path.dirname(deb), env=APT_ENV),
                   "apt-get install ./" + os.path.basename(deb))
        self.assertTrue(installed(PKG))

    def purge(self):
        if installed(PKG) or run(["dpkg", "-s", PKG]).returncode == 0:
            proc = run(APT + ["purge", PKG], env=APT_ENV)
            if proc.returncode != 0:  # never leave it behind
                run(["dpkg", "--purge", PKG])

    def installed_gp(self, *args, cwd=None):
        """Run /usr/bin/gpcheck in an environment that points nowhere else."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("GPCHECK_")}
        return run(["/usr/bin/gpcheck"] + list(args), timeout=60,
                   cwd=cwd or self.tmp, env=env)

    def libraries_of(self, files):
        """The Debian packages of the shared libraries the ELF files link
        directly (their DT_NEEDED entries, found where ldd finds them)."""
        pkgs = set()
        for f in files:
            dyn = self.check(run(["readelf", "-d", f]), "readelf " + f).stdout
            needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^]]+)\]",
                                dyn)
            where = dict(re.findall(r"^\s*(\S+)\s+=>\s+(/\S+)",
                                    self.check(run(["ldd", f]), "ldd").stdout,
                                    re.M))
            for soname in needed:
                self.assertIn(soname, where, "ldd %s finds no %s" % (f, soname))
                path = where[soname]
                found = run(["dpkg", "-S", path])
                if found.returncode != 0:  # /lib vs /usr/lib (merged /usr)
                    found = run(["dpkg", "-S", os.path.realpath(path)])
                self.check(found, "dpkg -S " + path)
                pkgs.add(found.stdout.split(":")[0].strip())
        return pkgs

    def test_package_installs_and_runs(self):
        build, deb = self.build_package()
        version = project_version()
        self.assertEqual(os.path.basename(deb),
                         "gpcheck_%s_%s.deb" % (version, run(
                             ["dpkg", "--print-architecture"]).stdout.strip()))

        # Control fields: Depends name the package of every linked library.
        info = self.check(run(["dpkg-deb", "-f", deb]), "dpkg-deb -f").stdout
        fields = dict(re.findall(r"^(\S+): (.*)$", info, re.M))
        self.assertEqual(fields["Package"], PKG)
        self.assertEqual(fields["Version"], version)
        self.assertTrue(fields.get("Maintainer"))
        self.assertTrue(fields.get("Section"))
        depends = {d.strip().split()[0]
                   for d in fields["Depends"].split(",")}
        plugins = sorted(glob.glob(os.path.join(build, "plugins", "*.so")))
        self.assertIn(os.path.join(build, "plugins", "tcp.so"), plugins)
        needed = self.libraries_of([os.path.join(build, "gpcheck")] + plugins)
        self.assertIn("libinih1", needed)
        self.assertIn("libjansson4", needed)
        # dlopen()ed, so in no DT_NEEDED of the package's files
        dl = self.libraries_of([os.path.join(build, "debian", "dl-needs")])
        self.assertLessEqual({"libsqlite3-0", "libmicrohttpd12"}, dl)
        self.assertTrue(any(p.startswith("libcurl") for p in dl), dl)
        needed |= dl
        self.assertLessEqual(needed, depends, "Depends: %s" % fields["Depends"])
        conffiles = set(self.check(run(["dpkg-deb", "-I", deb, "conffiles"]),
                                   "dpkg-deb -I conffiles").stdout.split())
        contents = self.check(run(["dpkg-deb", "-c", deb]), "dpkg-deb -c")
        etc = {ln.split()[-1][1:] for ln in contents.stdout.splitlines()
               if ln.startswith("-") and ln.split()[-1].startswith("./etc/")}
        self.assertIn("/etc/gpcheck/gpcheck.ini", etc)
        self.assertEqual(conffiles, etc, "every file in /etc is a conffile")

        self.install(deb)

        # What the package holds.
        files = set(self.check(run(["dpkg", "-L", PKG]), "dpkg -L").stdout
                    .split("\n"))
        plugindir = "/usr/lib/%s/gpcheck/plugins" % run(
            ["dpkg-architecture", "-qDEB_HOST_MULTIARCH"]).stdout.strip()
        expected = {
            "/usr/bin/gpcheck",
            "/usr/share/man/man1/gpcheck.1.gz",
            "/usr/share/man/man5/gpcheck.ini.5.gz",
            "/usr/share/bash-completion/completions/gpcheck",
            "/usr/include/gpcheck/plugin.h",
            "/usr/share/gpcheck/plugin.map",
            "/etc/gpcheck/gpcheck.ini",
        }
        expected |= {plugindir + "/" + os.path.basename(p) for p in plugins}
        confd = os.path.join(SRC, "conf.d")
        examples = {"/etc/gpcheck/conf.d/" + os.path.relpath(p, confd)
                    for p in glob.glob(os.path.join(confd, "**", "*.ini"),
                                       recursive=True)}
        self.assertTrue(examples)
        expected |= examples
        self.assertLessEqual(expected, files,
                             "missing: %s" % sorted(expected - files))
        for path in expected:
            self.assertTrue(os.path.isfile(path), path)

        # The installed copy runs, and finds its own plugins and /etc.
        proc = self.check(self.installed_gp("version"), "gpcheck version")
        self.assertRegex(proc.stdout, r"^gpcheck %s \(plugin ABI \d+\.\d+\)"
                         % re.escape(version))
        listing = self.check(self.installed_gp("plugins"), "gpcheck plugins")
        self.assertRegex(listing.stdout, r"(?m)^tcp\s")

        lst = Listener(self.tmp, "accept")
        self.addCleanup(lst.stop)
        proc = self.installed_gp("probe", "tcp", "host=127.0.0.1",
                                 "port=%d" % lst.port, "timeout=5s")
        self.check(proc, "gpcheck probe tcp")
        self.assertRegex(proc.stdout, r"(?m)^status:\s+ok$")
        self.assertIn("(%s/tcp.so)" % plugindir, proc.stdout)

        closed = Listener(self.tmp, "closed")
        self.addCleanup(closed.stop)
        proc = self.installed_gp("probe", "tcp", "host=127.0.0.1",
                                 "port=%d" % closed.port, "timeout=2s")
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        self.assertRegex(proc.stdout, r"(?m)^status:\s+fail$")

        # The shipped configuration is read from /etc/gpcheck by default.
        proc = self.check(self.installed_gp("validate"), "gpcheck validate")
        self.assertIn("configuration OK", proc.stdout)
        listing = self.check(self.installed_gp("list"), "gpcheck list")
        self.assertIn("(/etc/gpcheck/conf.d/", listing.stdout)

        # The man pages are found by man(1) and render.
        if shutil.which("man"):
            for page, sect in (("gpcheck", "1"), ("gpcheck.ini", "5")):
                proc = run(["man", "-w", sect, page])
                self.assertEqual(proc.stdout.strip(),
                                 "/usr/share/man/man%s/%s.%s.gz"
                                 % (sect, page, sect), proc.stderr)
                proc = run(["man", "-P", "cat", sect, page],
                           env=dict(os.environ, MANWIDTH="80"))
                self.check(proc, "man %s %s" % (sect, page))
                self.assertIn("SEE ALSO", proc.stdout)

        # And it goes away completely.
        self.purge()
        self.assertFalse(installed(PKG))
        self.assertFalse(os.path.exists("/usr/bin/gpcheck"))
        self.assertFalse(os.path.exists("/etc/gpcheck"))


if __name__ == "__main__":
    unittest.main()
