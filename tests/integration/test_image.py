"""tests/integration/test_image.py - the container image, built and run.

Builds the image with image/build (mmdebstrap + umoci from Debian's
packages alone; the Debian root filesystem is cached in the build tree,
keyed on the recipe, so only the first run pays for mmdebstrap), then:

- checks the image: two layers, user 10001:10001, entry point gpcheck,
  command `run`; every runtime package and the gpcheck package installed,
  no compiler, no apt, no manuals or translations; its size (printed);
- checks that image/Dockerfile is the same recipe: the same runtime
  packages as image/build, the same user, entry point, command and working
  folder as the image built here;
- runs it from its unpacked root filesystem (umoci unpack) in a mount and
  pid namespace with chroot, as the image's user and with its entry point
  and environment (from the OCI runtime config): `gpcheck version`, the
  user's id, and real probes of a Redis and a PostgreSQL started on
  loopback (tests/servers/), which the chroot shares;
- runs it with podman (rootful, a vfs storage of its own that
  `image/build --podman` loads it into as localhost/gpcheck:TAG, runc,
  --network=host): `gpcheck version`, the same probes, and the examples as
  written with this image: the Compose file's gpcheck service (its command,
  environment and bind mounts of the shipped gpcheck.ini and conf.d, its
  service names mapped onto the loopback servers) and the Kubernetes init
  container (its command, the ConfigMap's files mounted at /etc/gpcheck,
  its securityContext: user, read-only root, no capabilities).

Needs root, mmdebstrap and umoci (and podman and runc for the podman
tests): tests/bootstrap.sh installs them. Slow the first time (about two
minutes on the 2-core CI machine, mostly mmdebstrap downloading and
unpacking Debian packages): ctest runs it in one build only (label image).
"""

import json
import os
import re
import resource
import shutil
import subprocess
import tempfile
import time
import unittest

from gp import BIN

try:
    import yaml
except ImportError:  # reported by the tests that need it
    yaml = None

from postgres import Postgres  # noqa: E402  (tests/servers, via gp)
from redis import Redis  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.normpath(os.path.join(HERE, "..", ".."))
BUILD = os.path.join(SRC, "image", "build")
DOCKERFILE = os.path.join(SRC, "image", "Dockerfile")
EXAMPLES = os.path.join(SRC, "examples")
TAG = "test"
USER = (10001, 10001)
# The Debian root filesystem, kept between runs in the build tree.
CACHE = os.path.join(os.path.dirname(BIN) if BIN else SRC, "image-cache")

M = {}  # the module's fixture


def run(argv, timeout=120, **kw):
    return subprocess.run(argv, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, **kw)


def build_packages():
    """PACKAGES=( ... ) of image/build."""
    with open(BUILD) as f:
        m = re.search(r"(?ms)^PACKAGES=\((.*?)\)", f.read())
    return set(m.group(1).split())


def dockerfile_final_stage():
    """The instructions of the Dockerfile's last stage, continuation lines
    joined: [(INSTRUCTION, arguments)]."""
    with open(DOCKERFILE) as f:
        text = re.sub(r"\\\n", " ", f.read())
    stages, cur = [], None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        if word.upper() == "FROM":
            cur = []
            stages.append(cur)
        if cur is not None:
            cur.append((word.upper(), rest.strip()))
    return stages[-1]


def tool_missing(*tools):
    return [t for t in tools if not shutil.which(t)]


def setUpModule():
    if os.geteuid() != 0:
        raise unittest.SkipTest("building the image needs root")
    missing = tool_missing("mmdebstrap", "umoci", "cmake", "dpkg-shlibdeps",
                           "unshare", "chroot")
    if missing:
        raise AssertionError("not installed: %s (Debian packages mmdebstrap, "
                             "umoci, cmake, dpkg-dev, util-linux, coreutils; "
                             "tests/bootstrap.sh installs them)" % missing)
    M["tmp"] = tempfile.mkdtemp(prefix="gpcheck-image-")
    os.chmod(M["tmp"], 0o755)
    unittest.addModuleCleanup(shutil.rmtree, M["tmp"], ignore_errors=True)
    M["layout"] = os.path.join(M["tmp"], "oci")
    # With podman here, image/build --podman loads the image into a podman
    # storage of this test's own (vfs: no overlay needed).
    argv, env = [], dict(os.environ)
    M["podman_env"] = None
    if not tool_missing("podman", "runc"):
        store = os.path.join(M["tmp"], "podman")
        os.mkdir(store)
        conf = os.path.join(store, "storage.conf")
        with open(conf, "w") as f:
            f.write('[storage]\ndriver = "vfs"\ngraphroot = "%s/root"\n'
                    'runroot = "%s/run"\n' % (store, store))
        env["CONTAINERS_STORAGE_CONF"] = conf
        M["podman_env"] = env
        argv = ["--podman"]
    t0 = time.monotonic()
    proc = run([BUILD, "--output", M["layout"], "--tag", TAG, "--cache", CACHE,
                "--work", os.path.join(M["tmp"], "work"), "--jobs", "2"] + argv,
               timeout=840, env=env)
    M["build_seconds"] = time.monotonic() - t0
    M["cached"] = "from the cache" in proc.stderr
    if proc.returncode != 0:
        raise AssertionError("image/build failed (exit %d):\n%s\n%s" % (
            proc.returncode, proc.stdout[-3000:], proc.stderr[-6000:]))
    M["build_log"] = proc.stderr
    bundle = os.path.join(M["tmp"], "bundle")
    proc = run(["umoci", "unpack", "--image", "%s:%s" % (M["layout"], TAG),
                bundle])
    if proc.returncode != 0:
        raise AssertionError("umoci unpack: " + proc.stderr)
    M["root"] = os.path.join(bundle, "rootfs")
    with open(os.path.join(bundle, "config.json")) as f:
        M["runtime"] = json.load(f)
    # The real servers the probes talk to, once for the module.
    pg = Postgres()
    unittest.addModuleCleanup(pg.stop)
    pg.start()
    pg.create_role("app", "app")  # the Compose example's credentials
    pg.create_db("app", owner="app")
    M["pg"] = pg
    redis = Redis()
    unittest.addModuleCleanup(redis.stop)
    redis.start()
    M["redis"] = redis


def image_blob(digest):
    algo, hexd = digest.split(":")
    return os.path.join(M["layout"], "blobs", algo, hexd)


def image_manifest_and_config():
    with open(os.path.join(M["layout"], "index.json")) as f:
        index = json.load(f)
    (desc,) = [m for m in index["manifests"]
               if m["annotations"]["org.opencontainers.image.ref.name"] == TAG]
    with open(image_blob(desc["digest"])) as f:
        manifest = json.load(f)
    with open(image_blob(manifest["config"]["digest"])) as f:
        config = json.load(f)
    return manifest, config


class ImageContentTest(unittest.TestCase):

    def test_build_time_and_size(self):
        manifest, _ = image_manifest_and_config()
        compressed = sum(layer["size"] for layer in manifest["layers"])
        proc = run(["du", "-sb", M["root"]])
        unpacked = int(proc.stdout.split()[0])
        print("\ntest_image: image/build %.0fs (%s), %d layers, %.1f MiB "
              "compressed, %.1f MiB unpacked" % (
                  M["build_seconds"],
                  "Debian root filesystem from the cache" if M["cached"]
                  else "from scratch", len(manifest["layers"]),
                  compressed / 2**20, unpacked / 2**20))
        self.assertEqual(len(manifest["layers"]), 2, "Debian, then gpcheck")
        self.assertLess(compressed, 40 * 2**20)
        self.assertLess(unpacked, 100 * 2**20)
        # The gpcheck layer is small: a rebuild of gpcheck pushes only it.
        self.assertLess(manifest["layers"][1]["size"], 2 * 2**20)

    def test_config_user_entry_point(self):
        _, config = image_manifest_and_config()
        c = config["config"]
        self.assertEqual(c["User"], "%d:%d" % USER)
        self.assertEqual(c["Entrypoint"], ["/usr/bin/gpcheck"])
        self.assertEqual(c["Cmd"], ["run"])
        self.assertEqual(M["runtime"]["process"]["user"],
                         {"uid": USER[0], "gid": USER[1]})
        with open(os.path.join(M["root"], "etc", "passwd")) as f:
            self.assertIn("gpcheck:x:%d:%d:" % USER, f.read())
        with open(os.path.join(M["root"], "etc", "group")) as f:
            self.assertIn("gpcheck:x:%d:" % USER[1], f.read())

    def test_packages_and_nothing_else(self):
        proc = run(["chroot", M["root"], "dpkg-query", "-W", "-f",
                    "${Package} ${Status}\n"])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        installed = {ln.split()[0] for ln in proc.stdout.splitlines()
                     if ln.endswith("ok installed")}
        self.assertLessEqual(build_packages() | {"gpcheck"}, installed)
        for pkg in ("apt", "gcc", "gcc-12", "cpp", "make", "binutils",
                    "libc6-dev", "perl", "usrmerge"):
            self.assertNotIn(pkg, installed)
        for path in ("usr/bin/gcc", "usr/bin/cc", "usr/bin/apt-get",
                     "var/lib/apt/lists/partial",
                     "usr/share/bash-completion/completions/gpcheck",
                     "usr/lib/x86_64-linux-gnu/libgpcheck-sdk.a"):
            self.assertFalse(os.path.lexists(os.path.join(M["root"], path)),
                             path)
        for folder in ("usr/share/man", "usr/share/locale", "usr/share/info",
                       "usr/include", "usr/share/gpcheck",
                       "usr/lib/x86_64-linux-gnu/cmake"):
            files = []
            for _, _, names in os.walk(os.path.join(M["root"], folder)):
                files += names
            self.assertEqual(files, [], folder)
        plugins = os.listdir(os.path.join(M["root"], "usr", "lib",
                                          "x86_64-linux-gnu", "gpcheck",
                                          "plugins"))
        # a plugin is a folder with a CMakeLists.txt (plugins/CMakeLists.txt
        # builds exactly those; plugins/common is shared source)
        self.assertEqual(sorted(plugins), sorted(
            d + ".so" for d in os.listdir(os.path.join(SRC, "plugins"))
            if os.path.isfile(os.path.join(SRC, "plugins", d,
                                           "CMakeLists.txt"))))
        self.assertTrue(os.path.isfile(os.path.join(
            M["root"], "etc", "ssl", "certs", "ca-certificates.crt")))
        self.assertTrue(os.path.isfile(os.path.join(
            M["root"], "etc", "gpcheck", "gpcheck.ini")))

    def test_dockerfile_is_the_same_recipe(self):
        stage = dockerfile_final_stage()
        self.assertEqual(stage[0], ("FROM", "debian:12-slim"))
        runs = " ".join(a for i, a in stage if i == "RUN")
        m = re.search(r"apt-get install -y --no-install-recommends (.*?)(&&|$)",
                      runs)
        self.assertTrue(m, runs)
        self.assertEqual(set(m.group(1).split()), build_packages())
        self.assertRegex(runs, r"dpkg (--path-exclude=\S+\s+)*--install "
                               r"/tmp/gpcheck_")
        for what, value in (("groupadd", "--gid %d gpcheck" % USER[1]),
                            ("useradd", "--uid %d --gid %d" % USER)):
            self.assertIn("%s %s" % (what, value), runs)
        # The image's configuration, as the image built here has it.
        _, config = image_manifest_and_config()
        c = config["config"]
        last = {i: a for i, a in stage}
        self.assertEqual(last["USER"], c["User"])
        self.assertEqual(json.loads(last["ENTRYPOINT"]), c["Entrypoint"])
        self.assertEqual(json.loads(last["CMD"]), c["Cmd"])
        self.assertEqual(last["WORKDIR"], c["WorkingDir"])
        # Both leave the same parts of the package out.
        with open(BUILD) as f:
            m = re.search(r"(?ms)^SDK_EXCLUDE=\((.*?)\)", f.read())
        excluded = set(re.findall(r"'([^']+)'", m.group(1)))
        self.assertIn("/usr/include/gpcheck/*", excluded)
        self.assertEqual(set(re.findall(r"--path-exclude='([^']+)'", runs)),
                         excluded)


class BuildOptionsTest(unittest.TestCase):
    """Bad options and outputs that are not ours: exit 2, nothing touched."""

    def test_bad_options(self):
        other = os.path.join(M["tmp"], "not-an-image")
        os.makedirs(other, exist_ok=True)
        with open(os.path.join(other, "keep.txt"), "w") as f:
            f.write("mine\n")
        for args, word in ((["--format", "docker"], "--format"),
                           (["--tag", "a b"], "--tag"),
                           (["--include", "Bad_Name"], "--include"),
                           (["--deb", "/nonexistent.deb"], "--deb"),
                           (["--output"], "--output"),
                           (["--frobnicate"], "--frobnicate"),
                           (["--output", other], "not an oci image"),
                           (["--work", other], "not empty")):
            with self.subTest(args=args):
                proc = run([BUILD] + args, timeout=60)
                self.assertEqual(proc.returncode, 2, proc.stderr)
                self.assertIn(word, proc.stderr)
        self.assertEqual(os.listdir(other), ["keep.txt"])


class ArchiveTest(unittest.TestCase):

    def test_oci_archive_from_a_given_deb(self):
        """--format oci-archive, --deb: one tar file of the same image,
        from the package the first build made (no rebuild)."""
        import glob
        import tarfile
        (deb,) = glob.glob(os.path.join(M["tmp"], "work", "build-deb",
                                        "gpcheck_*.deb"))
        out = os.path.join(M["tmp"], "archive", "gpcheck.tar")
        proc = run([BUILD, "--format", "oci-archive", "--output", out,
                    "--tag", "archived", "--deb", deb, "--cache", CACHE,
                    "--work", os.path.join(M["tmp"], "work-archive")],
                   timeout=300)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("from the cache", proc.stderr)
        self.assertNotIn("building the gpcheck package", proc.stderr)
        with tarfile.open(out) as tar:
            names = tar.getnames()
            self.assertIn("./oci-layout", names)
            index = json.load(tar.extractfile("./index.json"))
        refs = [m["annotations"]["org.opencontainers.image.ref.name"]
                for m in index["manifests"]]
        self.assertEqual(refs, ["archived"])
        # Built again over itself: the output is replaced, not refused.
        proc = run([BUILD, "--format", "oci-archive", "--output", out,
                    "--tag", "archived", "--deb", deb, "--cache", CACHE,
                    "--work", os.path.join(M["tmp"], "work-archive")],
                   timeout=300)
        self.assertEqual(proc.returncode, 0, proc.stderr)


class ChrootTest(unittest.TestCase):
    """The unpacked image, run the way its runtime config says."""

    def in_image(self, *args, timeout=60):
        proc = M["runtime"]["process"]
        uid, gid = proc["user"]["uid"], proc["user"]["gid"]
        env = dict(e.split("=", 1) for e in proc["env"])
        # A private mount namespace (nothing leaks to the host's mounts),
        # a pid namespace for the /proc mounted there, the host's network.
        script = ('mount -t proc proc "$0/proc" && '
                  'mount --rbind /dev "$0/dev" && '
                  'exec chroot --userspec=%d:%d "$0" "$@"' % (uid, gid))
        argv = ["unshare", "--mount", "--pid", "--fork", "sh", "-c", script,
                M["root"]] + list(args)
        return run(argv, timeout=timeout, env=env, cwd="/")

    def entry_point(self):
        return M["runtime"]["process"]["args"][:1]

    def test_version_as_the_image_user(self):
        proc = self.in_image(*self.entry_point(), "version")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertRegex(proc.stdout, r"^gpcheck \d+\.\d+\.\d+ ")
        proc = self.in_image("/usr/bin/id")
        self.assertEqual(proc.stdout.strip(),
                         "uid=10001(gpcheck) gid=10001(gpcheck) "
                         "groups=10001(gpcheck)")

    def test_default_command_is_run(self):
        # `run` on the shipped /etc/gpcheck configuration: read and
        # validated (exit 2 would mean it was not found or broken).
        proc = self.in_image(*self.entry_point(), "validate")
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn("configuration OK", proc.stdout)

    def test_redis_and_postgres_probes(self):
        r, pg = M["redis"], M["pg"]
        proc = self.in_image(*self.entry_point(), "probe", "redis",
                             "host=127.0.0.1", "port=%d" % r.port)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn("PONG", proc.stdout)
        proc = self.in_image(*self.entry_point(), "probe", "postgres",
                             "dsn=" + pg.dsn("app", "app"), "password=app")
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        # The metric, not the message: a message naming the weak password
        # "app" (the Compose example's) is withheld by the masker.
        self.assertRegex(proc.stdout, r"(?m)^\s*server_version\s+15\d{4}\b")
        # A wrong password really fails, from the image too.
        proc = self.in_image(*self.entry_point(), "probe", "postgres",
                             "dsn=" + pg.dsn("app", "app"), "password=nope")
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)


class PodmanTest(unittest.TestCase):
    """The image under podman, as a user with a container runtime runs it.

    This sandbox has no CAP_SYS_RESOURCE and a hybrid cgroup hierarchy:
    crun refuses hybrid cgroups, so runc runs the containers, and podman's
    default rlimits (1048576 files) are above what may be set here, so
    every run passes this process's own limits (nproc lowered to 4096:
    measured, runc may not set a higher one here)."""

    @classmethod
    def setUpClass(cls):
        missing = tool_missing("podman", "runc")
        if missing:
            raise unittest.SkipTest("not installed: %s (Debian packages "
                                    "podman runc)" % " ".join(missing))
        cls.env = M["podman_env"]
        cls.podman = ["podman", "--runtime", "runc", "--cgroup-manager",
                      "cgroupfs", "--events-backend", "file"]
        cls.addClassCleanup(cls.cleanup)
        # The name image/build --podman gave it, and no other.
        cls.image = "localhost/gpcheck:" + TAG
        proc = run(cls.podman + ["images", "--format",
                                 "{{.Repository}}:{{.Tag}}"], env=cls.env)
        if proc.stdout.split() != [cls.image]:
            raise AssertionError("podman images after image/build --podman: "
                                 "%r\n%s" % (proc.stdout, proc.stderr))
        nofile = resource.getrlimit(resource.RLIMIT_NOFILE)
        nproc = min(4096, resource.getrlimit(resource.RLIMIT_NPROC)[0])
        cls.run_opts = ["--rm", "--network=host", "--pull=never",
                        "--ulimit", "nofile=%d:%d" % nofile,
                        "--ulimit", "nproc=%d:%d" % (nproc, nproc)]

    @classmethod
    def cleanup(cls):
        run(cls.podman + ["rm", "--all", "--force"], env=cls.env)
        run(cls.podman + ["rmi", "--all", "--force"], env=cls.env)

    def podman_run(self, *args, timeout=120):
        return run(self.podman + ["run"] + self.run_opts + list(args),
                   env=self.env, timeout=timeout)

    def test_version(self):
        proc = self.podman_run(self.image, "version")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertRegex(proc.stdout, r"^gpcheck \d+\.\d+\.\d+ ")
        proc = self.podman_run("--entrypoint", "/usr/bin/id", self.image)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("uid=10001(gpcheck)", proc.stdout)

    def test_probes(self):
        r, pg = M["redis"], M["pg"]
        proc = self.podman_run(self.image, "probe", "redis", "host=127.0.0.1",
                               "port=%d" % r.port)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn("PONG", proc.stdout)
        proc = self.podman_run(self.image, "probe", "postgres",
                               "dsn=" + pg.dsn("app", "app"), "password=app")
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)

    def load_yaml(self, name):
        if yaml is None:
            self.fail("python3-yaml is not installed (Debian package "
                      "python3-yaml)")
        with open(os.path.join(EXAMPLES, name)) as f:
            return list(yaml.safe_load_all(f))

    def test_compose_gate_service_as_written(self):
        (doc,) = self.load_yaml("docker-compose.yml")
        gate = doc["services"]["gpcheck"]
        self.assertEqual(gate["build"]["dockerfile"], "image/Dockerfile")
        env = dict(gate.get("environment", {}))
        # The stack's services are the loopback servers: their names map to
        # 127.0.0.1, their ports are the servers'.
        env.update(DB_PORT=str(M["pg"].port), REDIS_PORT=str(M["redis"].port))
        argv = ["--add-host", "%s:127.0.0.1" % env["DB_HOST"],
                "--add-host", "%s:127.0.0.1" % env["REDIS_HOST"]]
        for k, v in sorted(env.items()):
            argv += ["--env", "%s=%s" % (k, v)]
        # The bind mounts, from a repository laid out as the file expects.
        repo = os.path.join(M["tmp"], "compose-repo")
        os.makedirs(repo, exist_ok=True)
        shutil.copyfile(os.path.join(SRC, "gpcheck.ini"),
                        os.path.join(repo, "gpcheck.ini"))
        shutil.copytree(os.path.join(SRC, "conf.d"),
                        os.path.join(repo, "conf.d"), dirs_exist_ok=True)
        for vol in gate["volumes"]:
            host, target, *mode = vol.split(":")
            argv += ["--volume", ":".join(
                [os.path.normpath(os.path.join(repo, host)), target] + mode)]
        proc = self.podman_run(*argv, self.image, *gate["command"])
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn("verdict: pass", proc.stderr)
        for probe in ("database", "cache", "cache-replica"):
            self.assertRegex(proc.stderr, r"(?m)^%s\s+(postgres|redis)\s+"
                             r"\S+\s+ok" % re.escape(probe))
        self.assertRegex(proc.stderr, r"(?m)^group cache\s.*\sok\s")

    def test_kubernetes_init_container_as_written(self):
        cm, pod = self.load_yaml("k8s-initcontainer.yaml")
        (init,) = pod["spec"]["initContainers"]
        (vol,) = pod["spec"]["volumes"]
        (mount,) = init["volumeMounts"]
        self.assertEqual(vol["configMap"]["name"], cm["metadata"]["name"])
        # The ConfigMap's keys as the volume's items lay them out.
        cfg = os.path.join(M["tmp"], "configmap")
        for item in vol["configMap"]["items"]:
            path = os.path.join(cfg, item["path"])
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(cm["data"][item["key"]])
        sc = init["securityContext"]
        argv = ["--volume", "%s:%s:ro" % (cfg, mount["mountPath"]),
                "--user", str(sc["runAsUser"]), "--cap-drop", "ALL"]
        if sc.get("readOnlyRootFilesystem"):
            argv.append("--read-only")
        if sc.get("allowPrivilegeEscalation") is False:
            argv += ["--security-opt", "no-new-privileges"]
        env = {}
        for e in init["env"]:
            if "value" in e:
                env[e["name"]] = e["value"]
            else:  # secretKeyRef: the loopback servers' credentials
                env[e["name"]] = {"DB_PASSWORD": "app"}.get(e["name"], "")
        hosts = {env["DB_HOST"], env["REDIS_HOST"]}
        env.update(DB_PORT=str(M["pg"].port), REDIS_PORT=str(M["redis"].port))
        for h in sorted(hosts):
            argv += ["--add-host", "%s:127.0.0.1" % h]
        for k, v in sorted(env.items()):
            argv += ["--env", "%s=%s" % (k, v)]
        # Kubernetes' command replaces the image's entry point.
        argv += ["--entrypoint", init["command"][0], self.image]
        argv += init["command"][1:] + init.get("args", [])
        proc = self.podman_run(*argv)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn("verdict: pass", proc.stderr)
        self.assertRegex(proc.stderr, r"(?m)^database\s+postgres\s+required\s+ok")


if __name__ == "__main__":
    unittest.main()
