"""tests/integration/test_examples.py - examples/, the man pages and the bash
completion, checked for what can be checked on this machine.

- examples/: every YAML file parses. The gpcheck command of every example
  (the CI jobs' gate step, the Kubernetes init container, the Compose gate
  service, the cron entry) runs as written, with `make e2e` replaced by a
  command that records GPCHECK_VERDICT, on a stand-in of the example's
  configuration: the same main file, and the same probes (names, tags,
  `after`, `envs`, groups, overlays) turned into tcp probes of a loopback
  listener. The reports they write are read back: the JUnit file the CI
  jobs publish, and the cron entry's Prometheus file, which must pass
  `promtool check metrics` and be replaced atomically. The real
  configuration (the shipped one, or the Kubernetes ConfigMap's) passes
  `gpcheck validate` with the example's environment. The GitHub job's gate
  is gpcheck's own action: its gate step runs (tests/integration/ghaction.py)
  with the workflow's inputs, and the tests step after it gets the verdict;
  the GitLab job installs with scripts/install.sh; the Compose service is
  built from image/Dockerfile and its `command:` is run after the
  Dockerfile's entry point; the Kubernetes Pod names the image and its user.
  (test_image.py runs the Compose and Kubernetes ones in the image itself.)
- man/: both pages render (scdoc, then man or groff), and gpcheck(1) names
  every command and option `gpcheck --help` lists, and gpcheck.ini(5) every
  configuration key the core accepts.
- completion/gpcheck.bash: loads in bash and completes commands, options
  (those of `gpcheck run --help`, exactly), -o formats, probe names and
  tags honouring --conf-dir/-c/-e, plugin names, probe KEY= options, files.

Needs python3-yaml (Debian package) for the YAML files.
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
import textwrap
import unittest
import xml.etree.ElementTree as ET

from ghaction import Runner
from gp import BIN, Listener, complete

try:
    import yaml
except ImportError:  # reported by the tests that need it
    yaml = None

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.normpath(os.path.join(HERE, "..", ".."))
EXAMPLES = os.path.join(SRC, "examples")
COMPLETION = os.path.join(SRC, "completion", "gpcheck.bash")
MAN_SRC = os.path.join(SRC, "man")
GATE_COMMAND = "gpcheck run -o junit:reports/gpcheck.xml -- make e2e"
# What `make e2e` becomes: proof that gpcheck exec'd the command, and with
# which verdict.
E2E_STANDIN = "sh -c 'echo \"$GPCHECK_VERDICT\" > e2e.ran'"
FORMATS = {"text", "json", "jsonl", "junit", "tap", "prometheus", "nagios",
           "pushgateway", "github"}
# Probe keys that shape which probes run and how the verdict is made; the
# stand-in probes keep them and drop the rest (plugin options, warmups,
# thresholds on the real plugins' metrics).
SHAPE_KEYS = {"tags", "after", "envs", "group", "severity"}
SPECIAL = {"gpcheck", "defaults", "bypass"}


def project_version():
    with open(os.path.join(SRC, "CMakeLists.txt")) as f:
        return re.search(r"project\(\s*gpcheck\s+VERSION\s+([0-9.]+)",
                         f.read()).group(1)


VERSION = project_version()


def dockerfile_instruction(name):
    """The last NAME instruction of image/Dockerfile, the image's own."""
    with open(os.path.join(SRC, "image", "Dockerfile")) as f:
        found = re.findall(r"(?m)^%s\s+(.*)$" % name, f.read())
    return found[-1].strip()


def dockerfile_entry_point():
    return json.loads(dockerfile_instruction("ENTRYPOINT"))


def dockerfile_user():
    return dockerfile_instruction("USER")


def need_yaml(test):
    if yaml is None:
        test.fail("python3-yaml is not installed (Debian package python3-yaml)")


def load_yaml(name):
    with open(os.path.join(EXAMPLES, name)) as f:
        return list(yaml.safe_load_all(f))


def stand_in(text, port, known):
    """An ini file with every probe made a tcp probe of 127.0.0.1:port.

    Keeps section names and SHAPE_KEYS, group sections whole; a section
    naming a probe in `known` (an overlay reopening it) gets no new plugin.
    Adds the names of the probes it defines to `known`.
    """
    out, group = [], False
    for line in text.splitlines():
        s = line.strip()
        if not s or s[0] in ";#":
            continue
        if s.startswith("["):
            name = s[1:s.index("]")].strip()
            group = name.startswith("group ")
            out.append("[%s]" % name)
            if not group and name not in SPECIAL and name not in known:
                out += ["plugin = tcp", "host = 127.0.0.1", "port = %d" % port]
                known.add(name)
            continue
        key, _, value = s.partition("=")
        value = re.split(r"\s;", value)[0].strip()
        if group or key.strip() in SHAPE_KEYS:
            out.append("%s = %s" % (key.strip(), value))
    return "\n".join(out) + "\n"


def stand_in_dir(src, dst, port):
    """stand_in() for a conf.d folder: its files, then its overlays."""
    known = set()
    os.makedirs(dst)
    names = sorted(os.listdir(src))
    for name in names:
        if name.endswith(".ini") and os.path.isfile(os.path.join(src, name)):
            with open(os.path.join(src, name)) as f:
                text = stand_in(f.read(), port, known)
            with open(os.path.join(dst, name), "w") as f:
                f.write(text)
    base = set(known)
    for env in names:
        if os.path.isdir(os.path.join(src, env)):
            os.mkdir(os.path.join(dst, env))
            for name in sorted(os.listdir(os.path.join(src, env))):
                if name.endswith(".ini"):
                    with open(os.path.join(src, env, name)) as f:
                        text = stand_in(f.read(), port, set(base))
                    with open(os.path.join(dst, env, name), "w") as f:
                        f.write(text)


def fake_secrets(env):
    """GitHub's ${{ secrets.X }} and Kubernetes' secretKeyRef, made up."""
    return {k: re.sub(r"\$\{\{[^}]*\}\}", "not-a-secret", str(v))
            for k, v in env.items()}


class ExamplesTest(unittest.TestCase):
    """The examples' commands, run on stand-in probes."""

    @classmethod
    def setUpClass(cls):
        cls.shared = tempfile.mkdtemp(prefix="gpcheck-examples-")
        cls.addClassCleanup(shutil.rmtree, cls.shared, ignore_errors=True)
        cls.listener = Listener(cls.shared, "accept")
        cls.addClassCleanup(cls.listener.stop)
        # `gpcheck` on PATH is the binary under test (a symlink: it still
        # finds the plugins of its build tree).
        cls.bindir = os.path.join(cls.shared, "bin")
        os.mkdir(cls.bindir)
        if BIN:
            os.symlink(BIN, os.path.join(cls.bindir, "gpcheck"))

    def setUp(self):
        if not BIN or not os.access(BIN, os.X_OK):
            self.fail("GPCHECK_BIN is not set to the built gpcheck binary")
        self.tmp = tempfile.mkdtemp(prefix="gpcheck-ex-")
        os.chmod(self.tmp, 0o755)
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)

    # -- helpers ----------------------------------------------------------

    def config(self, main, confd, real=False, src_main=None, src_confd=None):
        """The shipped gpcheck.ini at `main`, and conf.d/ (or the given
        ones) at `confd`: as they are when `real`, else as stand-ins."""
        src_main = src_main or os.path.join(SRC, "gpcheck.ini")
        src_confd = src_confd or os.path.join(SRC, "conf.d")
        os.makedirs(os.path.dirname(main), exist_ok=True)
        shutil.copyfile(src_main, main)
        if real:
            shutil.copytree(src_confd, confd)
        else:
            stand_in_dir(src_confd, confd, self.listener.port)

    def env(self, example_env=None):
        """This process's environment without gpcheck's variables, then the
        example's, and `gpcheck` on PATH."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("GPCHECK_", "EMERGENCY_"))}
        env.update(fake_secrets(example_env or {}))
        env["PATH"] = self.bindir + os.pathsep + env.get("PATH", "")
        return env

    def sh(self, script, env, cwd, shell="sh"):
        return subprocess.run([shell, "-e", "-c", script], env=env, cwd=cwd,
                              capture_output=True, text=True, timeout=90,
                              stdin=subprocess.DEVNULL)

    def run_argv(self, argv, env, cwd):
        return subprocess.run(argv, env=env, cwd=cwd, capture_output=True,
                              text=True, timeout=90, stdin=subprocess.DEVNULL)

    def assert_ok(self, proc, what):
        self.assertEqual(proc.returncode, 0, "%s: exit %d\n%s\n%s" % (
            what, proc.returncode, proc.stdout, proc.stderr))

    def selected(self, argv, env, cwd):
        """The probes `gpcheck run ARGS` selects: `gpcheck list ARGS`."""
        i = argv.index("run")
        args = [a for a in argv[i + 1:]]
        if "--" in args:
            args = args[:args.index("--")]
        proc = self.run_argv([BIN, "list"] + args, env, cwd)
        self.assert_ok(proc, "gpcheck list")
        names = set(re.findall(r"(?m)^\[([^]]+)\]", proc.stdout))
        self.assertTrue(names)
        return names

    def validate(self, argv, env, cwd):
        """`gpcheck validate` with the arguments of `gpcheck run ARGS`."""
        i = argv.index("run")
        proc = self.run_argv([BIN, "validate"] + argv[i + 1:], env, cwd)
        self.assert_ok(proc, "gpcheck validate")
        self.assertIn("configuration OK", proc.stdout)

    def assert_junit(self, path, names):
        self.assertTrue(os.path.isfile(path), path)
        suite = ET.parse(path).getroot()
        if suite.tag == "testsuites":
            suite = suite.find("testsuite")
        self.assertEqual(suite.get("name"), "gpcheck")
        self.assertEqual({tc.get("name") for tc in suite.iter("testcase")},
                         names)
        self.assertEqual(list(suite.iter("failure")), [])

    def assert_e2e_ran(self, cwd):
        with open(os.path.join(cwd, "e2e.ran")) as f:
            self.assertEqual(f.read().strip(), "pass")

    # -- the YAML files ---------------------------------------------------

    def test_every_yaml_file_parses(self):
        need_yaml(self)
        names = sorted(n for n in os.listdir(EXAMPLES)
                       if n.endswith((".yml", ".yaml")))
        self.assertGreaterEqual(len(names), 4, names)
        for name in names:
            with self.subTest(name=name):
                docs = load_yaml(name)
                self.assertTrue(docs and all(isinstance(d, dict) for d in docs),
                                name)

    def test_stand_in_keeps_the_probe_graph(self):
        confd = os.path.join(self.tmp, "conf.d")
        self.config(os.path.join(self.tmp, "gpcheck.ini"), confd)
        for env in ("default", "staging"):
            with self.subTest(env=env):
                real = self.run_argv([BIN, "list", "-e", env, "--conf-dir",
                                      os.path.join(SRC, "conf.d")],
                                     self.env(), SRC)
                fake = self.run_argv([BIN, "list", "-e", env, "--conf-dir",
                                      confd], self.env(), self.tmp)
                self.assert_ok(real, "list the shipped conf.d")
                self.assert_ok(fake, "list the stand-in")
                pick = re.compile(r"(?m)^(\[\S+\]|    (?:tags|after):.*)")
                self.assertEqual(pick.findall(real.stdout),
                                 pick.findall(fake.stdout))

    # -- CI jobs ----------------------------------------------------------

    def ci_job(self, script, job_env):
        """Run a CI job's script in a checkout of stand-in configuration,
        and validate the shipped configuration with the job's env."""
        env = self.env(job_env)
        real = os.path.join(self.tmp, "real")
        self.config(os.path.join(real, "gpcheck.ini"),
                    os.path.join(real, "conf.d"), real=True)
        self.validate(["gpcheck", "run"], env, real)

        ws = os.path.join(self.tmp, "checkout")
        self.config(os.path.join(ws, "gpcheck.ini"), os.path.join(ws, "conf.d"))
        names = self.selected(["gpcheck", "run"], env, ws)
        self.assertIn("database", names)
        proc = self.sh(script.replace("make e2e", E2E_STANDIN), env, ws,
                       shell="bash")
        self.assert_ok(proc, "the gate step")
        self.assert_e2e_ran(ws)
        self.assert_junit(os.path.join(ws, "reports", "gpcheck.xml"), names)
        return proc

    def test_github_actions_job(self):
        """The workflow's gate is gpcheck's action (action.yml), from a
        checkout of gpcheck at ./gpcheck: its gate step runs here with the
        workflow's inputs and job env, with the gpcheck under test as the
        one its install step would have installed (test_install.py runs
        that step for real)."""
        need_yaml(self)
        (wf,) = load_yaml("github-actions.yml")
        (job,) = wf["jobs"].values()
        steps = job["steps"]
        self.assertTrue(steps[0]["uses"].startswith("actions/checkout@"))
        self.assertTrue(steps[0]["with"]["submodules"])
        gates = [s for s in steps if s.get("uses") == "./gpcheck"]
        self.assertEqual(len(gates), 1, "one step runs the gate")
        gate = gates[0]
        with open(os.path.join(SRC, "action.yml")) as f:
            action = yaml.safe_load(f)
        self.assertLessEqual(set(gate["with"]), set(action["inputs"]))

        env = self.env(job.get("env", {}))
        real = os.path.join(self.tmp, "real")
        self.config(os.path.join(real, "gpcheck.ini"),
                    os.path.join(real, "conf.d"), real=True)
        self.validate(["gpcheck", "run"], env, real)
        ws = os.path.join(self.tmp, "checkout")
        self.config(os.path.join(ws, "gpcheck.ini"), os.path.join(ws, "conf.d"))
        names = self.selected(["gpcheck", "run"], env, ws)
        self.assertIn("database", names)
        os.symlink(SRC, os.path.join(ws, "gpcheck"))
        temp = os.path.join(self.tmp, "runner")
        os.mkdir(temp)
        runner = Runner(action, gate["with"], ws, temp, env, timeout=90,
                        action_path=os.path.join(ws, "gpcheck"))
        runner.outputs["install"] = {
            "gpcheck": os.path.join(self.bindir, "gpcheck")}
        self.assertEqual(runner.run(skip={"install"}), 0, runner.log())
        outputs = runner.action_outputs()
        self.assertEqual(outputs["verdict"], "pass", runner.log())
        self.assertIn("env 'staging'", runner.logs[-1][1].stderr)
        self.assert_junit(os.path.join(ws, "reports", "gpcheck.xml"), names)
        # -o github: the workflow commands on the step's stdout, and the
        # table appended to the step's summary file
        self.assertIn("::notice title=gpcheck::verdict pass (",
                      runner.logs[-1][1].stdout)
        (summary,) = [os.path.join(temp, f) for f in os.listdir(temp)
                      if f.startswith("GITHUB_STEP_SUMMARY-") and
                      os.path.getsize(os.path.join(temp, f))]
        with open(summary) as f:
            md = f.read()
        self.assertIn("### gpcheck: verdict pass (", md)
        for name in names:
            self.assertRegex(md, r"\n\| %s \| " % re.escape(name))

        # The tests run in the next step, only when the gate's passed (no
        # `if:`), with its verdict.
        e2e = steps[steps.index(gate) + 1]
        self.assertNotIn("if", e2e)
        self.assertIn("make e2e", e2e["run"])
        step_env = {k: re.sub(r"\$\{\{\s*steps\.gate\.outputs\.([\w-]+)\s*\}\}",
                              lambda m: outputs[m.group(1)], str(v))
                    for k, v in e2e.get("env", {}).items()}
        proc = self.sh(e2e["run"].replace("make e2e", E2E_STANDIN),
                       dict(env, **step_env), ws, shell="bash")
        self.assert_ok(proc, "the e2e step")
        self.assert_e2e_ran(ws)

        # The steps after it publish and keep that file, whatever happened.
        after = job["steps"][job["steps"].index(gate) + 1:]
        publish = [s for s in after if "junit" in s.get("uses", "")]
        upload = [s for s in after if "upload-artifact" in s.get("uses", "")]
        self.assertEqual(len(publish), 1)
        self.assertEqual(len(upload), 1)
        for step, key in ((publish[0], "report_paths"), (upload[0], "path")):
            self.assertEqual(step["with"][key], "reports/gpcheck.xml")
            self.assertEqual(step.get("if"), "always()")

    def test_gitlab_ci_job(self):
        need_yaml(self)
        (doc,) = load_yaml("gitlab-ci.yml")
        job = doc["e2e"]
        self.assertIn(GATE_COMMAND, job["script"])
        # gpcheck comes from the submodule's install script (test_install.py
        # runs it), into the prefix whose bin/ goes on PATH.
        self.assertEqual(job["variables"]["GIT_SUBMODULE_STRATEGY"],
                         "recursive")
        install, path = job["before_script"]
        m = re.fullmatch(r'gpcheck/scripts/install\.sh --prefix "([^"]+)"',
                         install)
        self.assertTrue(m, install)
        self.assertTrue(os.access(os.path.join(SRC, "scripts", "install.sh"),
                                  os.X_OK))
        self.assertEqual(path, 'export PATH="%s/bin:$PATH"' % m.group(1))
        self.assertEqual(job["artifacts"]["reports"]["junit"],
                         "reports/gpcheck.xml")
        self.assertEqual(job["artifacts"]["when"], "always")
        proc = self.ci_job("\n".join(job["script"]), job.get("variables"))
        self.assertIn("env 'staging'", proc.stderr)

    # -- Kubernetes -------------------------------------------------------

    def test_k8s_init_container(self):
        need_yaml(self)
        docs = {d["kind"]: d for d in load_yaml("k8s-initcontainer.yaml")}
        cm, pod = docs["ConfigMap"], docs["Pod"]
        spec = pod["spec"]
        self.assertEqual(spec["restartPolicy"], "Never")
        (init,) = spec["initContainers"]
        self.assertTrue(spec["containers"], "a test container to gate")
        self.assertEqual(init["command"][:2], ["gpcheck", "run"])
        # The image image/build and image/Dockerfile make, pushed; run as
        # its user.
        self.assertRegex(init["image"], r"/gpcheck:%s$" % re.escape(VERSION))
        self.assertEqual(init["securityContext"]["runAsUser"],
                         int(dockerfile_user().split(":")[0]))

        # Lay the ConfigMap out as the volume mount does, under real/.
        real = os.path.join(self.tmp, "real")
        cm_name = cm["metadata"]["name"]
        (vol,) = [v for v in spec["volumes"]
                  if v.get("configMap", {}).get("name") == cm_name]
        (mount,) = [m for m in init["volumeMounts"] if m["name"] == vol["name"]]
        self.assertTrue(mount.get("readOnly"))
        mpath = mount["mountPath"]
        self.assertEqual(set(cm["data"]),
                         {i["key"] for i in vol["configMap"]["items"]})
        for item in vol["configMap"]["items"]:
            path = os.path.join(real + mpath, item["path"])
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(cm["data"][item["key"]])
        # The Secret's values are not here: any will do.
        pod_env = {e["name"]: e.get("value", "from-a-secret")
                   for e in init.get("env", [])}
        argv = init["command"] + init.get("args", [])

        def rooted(root):
            return [root + a if a.startswith(mpath) else a for a in argv]

        self.validate(rooted(real), self.env(pod_env), self.tmp)

        # Run it on stand-ins of the ConfigMap's probes.
        fake = os.path.join(self.tmp, "fake")
        self.config(fake + mpath + "/gpcheck.ini", fake + mpath + "/conf.d",
                    src_main=real + mpath + "/gpcheck.ini",
                    src_confd=real + mpath + "/conf.d")
        proc = self.run_argv(rooted(fake), self.env(pod_env), self.tmp)
        self.assert_ok(proc, "init container")
        self.assertIn("verdict: pass", proc.stderr)

        # Without DB_HOST the ConfigMap's ${DB_HOST:?...} stops the gate
        # before it probes anything.
        env = self.env(pod_env)
        del env["DB_HOST"]
        proc = self.run_argv(rooted(real), env, self.tmp)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("DB_HOST", proc.stderr)

    # -- Docker Compose ---------------------------------------------------

    def test_docker_compose_gate(self):
        need_yaml(self)
        (doc,) = load_yaml("docker-compose.yml")
        services = doc["services"]
        gate = services["gpcheck"]
        # The image is built from a gpcheck checkout with its Dockerfile,
        # whose entry point is gpcheck: `command:` holds its arguments.
        build = gate["build"]
        self.assertRegex(build["context"], r"^\$\{GPCHECK_SRC:-[^}]+\}$")
        self.assertTrue(os.path.isfile(os.path.join(SRC, build["dockerfile"])),
                        build["dockerfile"])
        self.assertEqual(gate["image"], "localhost/gpcheck:%s" % VERSION)
        entry = dockerfile_entry_point()
        self.assertEqual(entry, ["/usr/bin/gpcheck"])
        self.assertEqual(gate["command"][0], "run")
        command = ["gpcheck"] + entry[1:] + gate["command"]
        dep = services["e2e"]["depends_on"]["gpcheck"]
        self.assertEqual(dep["condition"], "service_completed_successfully")
        env = gate.get("environment", {})
        if isinstance(env, list):
            env = dict(e.split("=", 1) for e in env)
        env = self.env(env)

        # The bind mounts: the repository's files at container paths.
        def mount(root, real):
            repo = os.path.join(self.tmp, "repo-" + os.path.basename(root))
            self.config(os.path.join(repo, "gpcheck.ini"),
                        os.path.join(repo, "conf.d"), real=real)
            targets = []
            for vol in gate["volumes"]:
                host, target = vol.split(":")[:2]
                targets.append(target)
                src = os.path.normpath(os.path.join(repo, host))
                os.makedirs(os.path.dirname(root + target), exist_ok=True)
                if os.path.isdir(src):
                    shutil.copytree(src, root + target)
                else:
                    shutil.copyfile(src, root + target)
            parents = {t.rsplit("/", 1)[0] for t in targets}
            return [root + a if any(a.startswith(p) for p in parents) else a
                    for a in command]

        argv = mount(os.path.join(self.tmp, "real"), True)
        self.validate(argv, env, self.tmp)
        argv = mount(os.path.join(self.tmp, "fake"), False)
        self.assertEqual(self.selected(argv, env, self.tmp),
                         {"database", "cache", "cache-replica"})
        proc = self.run_argv(argv, env, self.tmp)
        self.assert_ok(proc, "gpcheck service")
        self.assertIn("verdict: pass", proc.stderr)

    # -- cron + node_exporter ---------------------------------------------

    def test_node_exporter_cron(self):
        with open(os.path.join(EXAMPLES, "node-exporter.cron")) as f:
            lines = [ln.strip() for ln in f if ln.strip()
                     and not ln.lstrip().startswith("#")]
        assigns = [ln for ln in lines if re.match(r"^[A-Z_]+=", ln)]
        entries = [ln for ln in lines if ln not in assigns]
        self.assertEqual(len(entries), 1, entries)
        fields = entries[0].split(None, 6)
        self.assertEqual(len(fields), 7, "m h dom mon dow user command")
        command = fields[6]
        self.assertNotIn("%", command, "cron turns % into a newline")
        m = re.search(r"-o\s+prometheus:(\S+)", command)
        self.assertTrue(m, command)
        prom = m.group(1)
        m = re.search(r"--env-file\s+(\S+)", command)
        secrets = m.group(1) if m else None
        env = self.env(dict(a.split("=", 1) for a in assigns))
        env["PATH"] = self.bindir + os.pathsep + env["PATH"]

        def rooted(root, real):
            self.config(root + "/etc/gpcheck/gpcheck.ini",
                        root + "/etc/gpcheck/conf.d", real=real)
            if secrets:
                with open(root + secrets, "w") as f:
                    f.write("DB_PASSWORD=not-a-secret\n")
                os.chmod(root + secrets, 0o600)
            os.makedirs(root + os.path.dirname(prom))
            return (command.replace("/etc/gpcheck/", root + "/etc/gpcheck/")
                    .replace(prom, root + prom))

        real = rooted(os.path.join(self.tmp, "real"), True)
        self.assert_ok(self.sh(real.replace(" run ", " validate ", 1), env,
                               self.tmp), "gpcheck validate")

        root = os.path.join(self.tmp, "fake")
        fake = rooted(root, False)
        inodes = []
        for _ in range(2):
            self.assert_ok(self.sh(fake, env, self.tmp), "cron command")
            inodes.append(os.stat(root + prom).st_ino)
        # Replaced by a rename, not rewritten in place; nothing left over.
        self.assertNotEqual(inodes[0], inodes[1])
        folder = os.path.dirname(root + prom)
        self.assertEqual(os.listdir(folder), [os.path.basename(prom)])

        with open(root + prom) as f:
            text = f.read()
        self.assertRegex(text, r'(?m)^gpcheck_verdict\{verdict="pass"\} 1$')
        up = re.findall(r'(?m)^gpcheck_probe_up\{probe="([^"]+)",'
                        r'plugin="tcp"\} 1$', text)
        self.assertIn("database", up)
        self.assertRegex(text, r"(?m)^gpcheck_run_timestamp_seconds \d")
        promtool = shutil.which("promtool")
        if not promtool:
            self.skipTest("promtool (Debian package prometheus) not installed")
        with open(root + prom) as f:
            check = subprocess.run([promtool, "check", "metrics"], stdin=f,
                                   capture_output=True, text=True, timeout=60)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)


def gp_help(*args):
    proc = subprocess.run([BIN] + list(args) + ["--help"], capture_output=True,
                          text=True, timeout=30, stdin=subprocess.DEVNULL)
    return proc.stdout


def help_options(text):
    """Every -x and --long option a help text lists in its options block."""
    opts = set()
    block = text.split("options:", 1)[1].split("\n\n", 1)[0]
    for line in block.splitlines():
        for m in re.finditer(r"(?:^|[\s,])(--?[A-Za-z][A-Za-z-]*)", line[:26]):
            opts.add(m.group(1))
        # "--bypass-reason TEXT, --bypass-expires WHEN" spans the columns.
        for m in re.finditer(r"(?:^|,\s)(--[a-z][a-z-]*)", line.strip()):
            opts.add(m.group(1))
    return opts


def help_commands(text):
    block = text.split("commands:", 1)[1].split("\n\n", 1)[0]
    return {ln.split()[0] for ln in block.splitlines() if ln.strip()}


class ManPagesTest(unittest.TestCase):
    """man/*.scd render, and say what the program does."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="gpcheck-man-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, ignore_errors=True)

    def setUp(self):
        if not BIN or not os.access(BIN, os.X_OK):
            self.fail("GPCHECK_BIN is not set to the built gpcheck binary")

    def built(self, page):
        """The page the build rendered (man/CMakeLists.txt), or None."""
        path = os.path.join(os.path.dirname(BIN), "man", page)
        return path if os.path.isfile(path) else None

    def render(self, page):
        """The page as text: the build's roff if there is one, else the
        scdoc source rendered here with its @VARIABLES@ filled in."""
        roff = self.built(page)
        if not roff:
            scdoc = shutil.which("scdoc")
            if not scdoc:
                self.fail("scdoc (Debian package scdoc) is not installed")
            with open(os.path.join(MAN_SRC, page + ".scd")) as f:
                src = re.sub(r"@[A-Z_]+@", "/placeholder", f.read())
            proc = subprocess.run([scdoc], input=src, capture_output=True,
                                  text=True, timeout=30)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            roff = os.path.join(self.tmp, page)
            with open(roff, "w") as f:
                f.write(proc.stdout)
        if shutil.which("man"):
            argv = ["man", "-l", roff]
        elif shutil.which("groff"):
            argv = ["groff", "-man", "-Tutf8", "-P-cbou", roff]
        else:
            self.fail("neither man nor groff is installed (groff-base)")
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=30,
                              env=dict(os.environ, MANWIDTH="100",
                                       MAN_KEEP_FORMATTING=""))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertNotIn("warning", proc.stderr)
        # Undo hyphenation at line ends and the filling.
        text = re.sub("\u2010\n\\s*", "", proc.stdout)
        return re.sub(r"\s+", " ", text)

    def test_variables_are_the_ones_cmake_sets(self):
        with open(os.path.join(MAN_SRC, "CMakeLists.txt")) as f:
            cmake = f.read()
        known = set(re.findall(r"set\((GP_[A-Z_]+)", cmake))
        known.add("PROJECT_VERSION")
        for page in ("gpcheck.1", "gpcheck.ini.5"):
            with open(os.path.join(MAN_SRC, page + ".scd")) as f:
                used = set(re.findall(r"@([A-Z_]+)@", f.read()))
            self.assertLessEqual(used, known, page)

    def test_gpcheck_1_names_every_command_and_option(self):
        text = self.render("gpcheck.1")
        top = gp_help()
        for cmd in help_commands(top) | {"help"}:
            self.assertTrue("gpcheck %s" % cmd in text,
                            "gpcheck(1) lacks the command %s" % cmd)
        opts = set()
        for cmd in help_commands(top):
            opts |= help_options(gp_help(cmd))
        self.assertIn("--config", opts)
        self.assertIn("--bypass-expires", opts)
        for opt in sorted(opts):
            self.assertTrue(re.search(r"(?<![\w-])%s(?![\w-])"
                                      % re.escape(opt), text),
                            "gpcheck(1) does not mention %s" % opt)
        for word in sorted(FORMATS) + [
                "GPCHECK_CONFIG", "GPCHECK_ENV", "GPCHECK_PLUGIN_PATH",
                "NO_COLOR", "GPCHECK_VERDICT", "EXIT STATUS", "124", "126",
                "127", "130", "143", "gpcheck.ini(5)"]:
            self.assertTrue(word in text, "gpcheck(1) lacks %r" % word)

    def test_built_pages_name_this_build_s_paths(self):
        if not self.built("gpcheck.1"):
            self.skipTest("the build has no man pages (man/ not configured)")
        text = self.render("gpcheck.1")
        # The default main file `gpcheck --help` prints, and the version.
        m = re.search(r"(/\S+/gpcheck/gpcheck\.ini)", gp_help("run"))
        self.assertTrue(m.group(1) in text, "gpcheck(1) lacks " + m.group(1))
        version = subprocess.run([BIN, "version"], capture_output=True,
                                 text=True, timeout=30).stdout.split()[1]
        self.assertTrue("gpcheck %s" % version in text, "no version " + version)
        self.assertTrue(os.path.isfile(self.built("gpcheck.1") + ".gz"))

    def test_gpcheck_ini_5_names_every_key(self):
        text = self.render("gpcheck.ini.5")
        keys = set()
        # The reserved probe keys are plugin.h's ABI list.
        with open(os.path.join(SRC, "include", "gpcheck", "plugin.h")) as f:
            reserved = re.findall(r'X\("([a-z_]+)", \d+\)', f.read())
        self.assertIn("timeout", reserved)
        keys |= set(reserved)
        for src, array in (("config.c", "gpcheck_keys"),
                           ("bypass.c", "bypass_keys"),
                           ("resolve.c", "group_keys")):
            with open(os.path.join(SRC, "core", src)) as f:
                m = re.search(r"%s\[\]\s*=\s*\{(.*?)\};" % array, f.read(),
                              re.S)
            self.assertTrue(m, "%s in core/%s" % (array, src))
            found = re.findall(r'"([a-z_]+)"', m.group(1))
            self.assertTrue(found)
            keys |= set(found)
        for key in sorted(keys):
            self.assertTrue(re.search(r"(?<![\w-])%s(?![\w-])" % key, text),
                            "gpcheck.ini(5) does not document '%s'" % key)
        for word in ("[gpcheck]", "[defaults]", "[bypass]", "[group NAME]",
                     "${VAR:-default}", "${VAR:?message}", "$$", "250ms",
                     "1m30s", "90%", "yes/no", "conf.d/ENV/"):
            self.assertTrue(word in text, "gpcheck.ini(5) lacks %r" % word)


class CompletionTest(unittest.TestCase):
    """completion/gpcheck.bash, driven the way bash drives it."""

    def setUp(self):
        if not BIN or not os.access(BIN, os.X_OK):
            self.fail("GPCHECK_BIN is not set to the built gpcheck binary")
        self.tmp = tempfile.mkdtemp(prefix="gpcheck-comp-")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)

    def complete(self, *words, cwd=None):
        """COMPREPLY for COMP_WORDS=words with the cursor on the last one."""
        return complete(*words, cwd=cwd or self.tmp)

    def write(self, rel, text):
        path = os.path.join(self.tmp, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(textwrap.dedent(text).lstrip())
        return path

    def probes_config(self):
        confd = os.path.join(self.tmp, "probes")
        self.write("probes/a.ini", """
            [alpha]
            plugin = tcp
            host = 127.0.0.1
            port = 1
            tags = db, golden
            [beta]
            plugin = tcp
            host = 127.0.0.1
            port = 2
            """)
        self.write("probes/staging/b.ini", """
            [gamma]
            plugin = tcp
            host = 127.0.0.1
            port = 3
            tags = edge
            """)
        return confd

    def test_loads_and_registers(self):
        proc = subprocess.run(["bash", "--norc", "-c",
                               'source "$1" && complete -p gpcheck', "bash",
                               COMPLETION], capture_output=True, text=True,
                              timeout=30)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("-F _gpcheck gpcheck", proc.stdout)

    def test_commands(self):
        self.assertEqual(self.complete("gpcheck", "ru"), {"run"})
        self.assertEqual(self.complete("gpcheck", "p"), {"plugins", "probe"})
        self.assertEqual(self.complete("gpcheck", ""),
                         help_commands(gp_help()) | {"help"})
        self.assertEqual(self.complete("gpcheck", "help", "v"),
                         {"validate", "version"})

    def test_options_are_the_program_s(self):
        run_opts = help_options(gp_help("run"))
        self.assertEqual(self.complete("gpcheck", "run", "-"), run_opts)
        self.assertEqual(self.complete("gpcheck", "run", "--no"),
                         {"--no-progress", "--no-history"})
        for cmd in help_commands(gp_help()):
            with self.subTest(cmd=cmd):
                offered = self.complete("gpcheck", cmd, "-")
                self.assertLessEqual(offered, help_options(gp_help(cmd)))
                self.assertIn("--help", offered)
        self.assertNotIn("--jobs", self.complete("gpcheck", "list", "-"))

    def test_output_formats_and_paths(self):
        self.assertEqual(self.complete("gpcheck", "run", "-o", ""), FORMATS)
        self.assertEqual(self.complete("gpcheck", "run", "--output", "j"),
                         {"json", "jsonl", "junit"})
        self.assertEqual(self.complete("gpcheck", "run", "--output", "=", "ta"),
                         {"tap"})
        os.mkdir(os.path.join(self.tmp, "reports"))
        # bash splits "junit:rep" at the ':' and replaces only "rep".
        self.assertEqual(
            self.complete("gpcheck", "run", "-o", "junit", ":", "rep"),
            {"reports"})
        self.write("main.ini", "")
        self.assertEqual(self.complete("gpcheck", "run", "-c", "ma"),
                         {"main.ini"})
        self.assertEqual(self.complete("gpcheck", "run", "--conf-dir", "r"),
                         {"reports"})

    def test_probe_names_and_tags_honour_the_command_line(self):
        confd = self.probes_config()
        self.assertEqual(
            self.complete(BIN, "run", "--conf-dir", confd, "-p", ""),
            {"alpha", "beta"})
        self.assertEqual(
            self.complete(BIN, "run", "--conf-dir", confd, "-e", "staging",
                          "-p", "g"), {"gamma"})
        self.assertEqual(
            self.complete(BIN, "list", "--conf-dir", "=", confd, "--env", "=",
                          "staging", "--probe", ""), {"alpha", "beta", "gamma"})
        self.assertEqual(
            self.complete(BIN, "validate", "--conf-dir", confd, "--tag", ""),
            {"db", "golden"})
        self.assertEqual(
            self.complete(BIN, "run", "--conf-dir", confd, "-e", ""),
            {"staging"})
        # -c: conf.d beside the main file.
        main = self.write("site/gpcheck.ini", "[gpcheck]\n")
        shutil.copytree(confd, os.path.join(self.tmp, "site", "conf.d"))
        self.assertEqual(self.complete(BIN, "run", "-c", main, "-p", ""),
                         {"alpha", "beta"})
        # Nothing selected without the configuration.
        self.assertEqual(self.complete(BIN, "run", "-p", ""), set())

    def test_plugins_and_probe_keys(self):
        listing = subprocess.run([BIN, "plugins"], capture_output=True,
                                 text=True, timeout=30).stdout
        names = {ln.split()[0] for ln in listing.splitlines() if ln.strip()}
        self.assertIn("tcp", names)
        self.assertEqual(self.complete(BIN, "plugins", ""), names)
        self.assertEqual(self.complete(BIN, "probe", "tc"), {"tcp"})
        keys = self.complete(BIN, "probe", "tcp", "")
        self.assertLessEqual({"host=", "port=", "send=", "expect=",
                              "timeout=", "warmup=", "attempts="}, keys)
        self.assertEqual(self.complete(BIN, "probe", "tcp", "ho"), {"host="})
        # a GP_OPT_FAMILY completes to its prefix, NAME left to the user
        self.assertEqual(self.complete(BIN, "probe", "prometheus", "que"),
                         {"query."})
        self.assertEqual(self.complete(BIN, "probe", "prometheus", "ur"),
                         {"url="})
        # The issue-16 probes, from their schemas like every other.
        self.assertLessEqual({"tls", "grpc"}, names)
        self.assertLessEqual({"server_name=", "starttls=", "min_version="},
                             self.complete(BIN, "probe", "tls", ""))
        self.assertLessEqual({"target=", "plaintext=", "metadata="},
                             self.complete(BIN, "probe", "grpc", ""))
        self.assertEqual(
            self.complete(BIN, "probe", "tcp", "host=x", "backoff", "=", ""),
            {"exponential", "fixed"})

    def test_command_after_dashdash(self):
        got = self.complete("gpcheck", "run", "-q", "--", "ech")
        self.assertIn("echo", got)
        self.assertEqual(self.complete("gpcheck", "validate", "--", "ech"),
                         set())


if __name__ == "__main__":
    unittest.main()
