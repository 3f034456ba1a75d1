"""tests/integration/test_secrets.py - canary secrets through every output.

Canaries stand in every place a credential hides in a configuration: an
Authorization header, an X-Api-Key header, a URL's query and user info, a
libpq dsn's password (key=value and URI), a GP_OPT_SECRET option, a
password file, a secret nested in a longer one, and variables the config
interpolates. Real servers echo them back: PostgreSQL 15 refusing a bad
password, and tests/fixtures/httpd.py reflecting a request header or query
parameter raw, JSON-escaped, percent-encoded and in base64 (both alphabets,
each alignment). No canary, in any of those forms, may show in any output
of any command (list, validate, validate --explain, run -v --explain with
every -o format, plugins, probe), nor in /proc/PID/cmdline or
/proc/PID/environ of gpcheck, its attempts and exec's command while they
run. Plus: values are shown with only their secret parts masked, ${VAR}
cannot inject keys into a dsn, and masking never reveals a weak secret.
"""

import base64
import json
import os
import re
import subprocess
import urllib.parse

from gp import BIN, GpTestCase, wait_until

from postgres import Postgres
from httpd import HttpdProcess

# Each canary is a credential that must never be printed.
HDR = "HdrCanary7b1e"         # Authorization: Bearer ...
APIKEY = "KeyCanary4c2d"      # X-Api-Key: ...
QUERY = "QryCanary9a3f"       # ?token=...
USERINFO = "UinfoCanary5e8"   # https://user:...@host
DSN_PW = "DsnCanary3d6a"      # dsn = ... password=...
URI_PW = "UriCanary8f0b"      # postgresql://app:...@host/db
OPT_PW = "OptCanary1a9c"      # password = ... (GP_OPT_SECRET)
FILE_PW = "FileCanary6b4d"    # password_file content
ENV_PW = "EnvCanary2e7f"      # ${DB_PASSWORD} from the environment
ARG_PW = "ArgCanary5c3b"      # gpcheck probe ... token=...
ESC = 'Esc\\Canary"77'        # a secret with a backslash and a quote
NESTED = "XNestCanary42Y"     # holds the next one
INNER = "NestCanary42"
TOKEN = "TokCanary3f7a1"      # https://TOKEN@host: user info, no password
ERR = "ErrCanary8d2c"         # written to a plugin's or a command's stderr

ALL = [HDR, APIKEY, QUERY, USERINFO, DSN_PW, URI_PW, OPT_PW, FILE_PW, ENV_PW,
       ARG_PW, ESC, NESTED, INNER, TOKEN, ERR]

APP_PW = DSN_PW  # the real role's password: the dsn logs in with it


def b64_cores(secret):
    """The base64 characters only the secret's own bits decide, at each of
    the three alignments, in both alphabets."""
    raw = secret.encode()
    cores = []
    for a in range(3):
        enc = base64.b64encode(b"\0" * a + raw + b"\0\0\0").decode()
        first, last = (8 * a + 5) // 6, (8 * (a + len(raw))) // 6
        core = enc[first:last]
        cores += [core, core.replace("+", "-").replace("/", "_")]
    return cores


def forms(secret):
    """Every form a canary must not show in."""
    printable = "".join(c if 32 <= ord(c) < 127 and c not in '\\"'
                        else "\\x%02x" % ord(c) for c in secret)
    return ({secret, urllib.parse.quote(secret, safe=""), printable,
             json.dumps(secret)[1:-1]} | set(b64_cores(secret)))


class SecretsCase(GpTestCase):
    pg = None
    web = None

    @classmethod
    def setUpClass(cls):
        cls.pg = Postgres(max_connections=20)
        cls.addClassCleanup(cls.pg.stop)
        cls.pg.start()
        cls.pg.create_role("app", APP_PW)
        cls.pg.create_db("appdb", owner="app")
        cls.pg.create_role("samepw_user", "samepw_user")
        import tempfile
        cls.web_tmp = tempfile.mkdtemp(prefix="gpcheck-secrets-web-")
        cls.web = HttpdProcess(cls.web_tmp)
        cls.addClassCleanup(cls.web.stop)

    def assert_no_canary(self, text, where=""):
        for c in ALL:
            for f in forms(c):
                self.assertNotIn(f, text, "%r (a form of %r) in %s:\n%s"
                                 % (f, c, where, text[-3000:]))

    def env(self, **extra):
        env = {"PGPASSFILE": os.path.join(self.tmp, "no-pgpass"),
               "DB_PASSWORD": ENV_PW}
        env.update(extra)
        return env

    def secret_file(self, name, content):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(content + "\n")
        os.chmod(path, 0o600)
        return path

    def reflect(self, **q):
        return self.web.url("/reflect?" + urllib.parse.urlencode(q))


class EveryOutputTest(SecretsCase):
    """One configuration holding every canary; every command and format."""

    def write_config(self):
        pw_file = self.secret_file("pw", FILE_PW)
        port = self.pg.port
        probes = [
            # the header canaries, echoed raw and in every form
            ("hdr-raw", "http", [
                "url = " + self.reflect(header="Authorization"),
                "header = Authorization: Bearer " + HDR,
                "expect_body = never-there"]),
            ("key-json", "http", [
                "url = " + self.reflect(header="X-Api-Key", **{"as": "json"}),
                "header = X-Api-Key: " + ESC,
                "expect_body = never-there"]),
            ("key-raw", "http", [
                "url = " + self.reflect(header="X-Api-Key"),
                "header = X-Api-Key: " + ESC,
                "expect_body = never-there"]),
            ("key-pct", "http", [
                "url = " + self.reflect(header="X-Api-Key",
                                        **{"as": "percent"}),
                "header = X-Api-Key: " + APIKEY,
                "expect_body = never-there"]),
        ]
        for pad in range(3):
            for form in ("base64", "base64url"):
                probes.append(("b64-%s-%d" % (form, pad), "http", [
                    "url = " + self.reflect(header="X-Api-Key", pad=pad,
                                            **{"as": form}),
                    "header = X-Api-Key: " + APIKEY,
                    "expect_body = never-there"]))
        probes += [
            # the query canary, reflected from the query itself
            ("query", "http", [
                "url = " + self.reflect(param="token") + "&token=" + QUERY,
                "expect_body = never-there"]),
            # a nested secret, echoed by the server
            ("nested", "http", [
                "url = " + self.reflect(param="token") + "&token=" + NESTED,
                "header = X-Api-Key: " + INNER,
                "expect_body = never-there"]),
            # dsn password: right (ok), and wrong against the real server
            ("db-ok", "postgres", [
                "dsn = host=127.0.0.1 port=%d dbname=appdb user=app "
                "password=%s" % (port, DSN_PW)]),
            ("db-uri-bad", "postgres", [
                "dsn = postgresql://app:%s@127.0.0.1:%d/appdb" % (URI_PW,
                                                                 port)]),
            ("db-opt-bad", "postgres", [
                "dsn = host=127.0.0.1 port=%d dbname=appdb user=app" % port,
                "password = " + OPT_PW]),
            ("db-file-bad", "postgres", [
                "dsn = host=127.0.0.1 port=%d dbname=appdb user=app" % port,
                "password_file = " + pw_file]),
            ("db-env-bad", "postgres", [
                "dsn = host=127.0.0.1 port=%d dbname=appdb user=app "
                "password=${DB_PASSWORD}" % port]),
        ]
        text = ""
        for name, plugin, lines in probes:
            text += "[%s]\nplugin = %s\nattempts = 1\ntimeout = 3s\n" % (
                name, plugin)
            text += "severity = optional\n"
            text += "\n".join(lines) + "\n\n"
        with open(os.path.join(self.confd, "all.ini"), "w") as f:
            f.write(text)
        return [p[0] for p in probes]

    def test_no_canary_in_any_output(self):
        names = self.write_config()
        env = self.env()
        outputs = []
        out = lambda *a: outputs.append(  # noqa: E731
            (" ".join(a), self.gp(*a, env=env)))
        out("list")
        out("validate")
        out("validate", "--explain")
        files = {}
        args = ["run", "-v", "--explain", "--no-progress"]
        for fmt in ("json", "jsonl", "junit", "tap", "prometheus", "nagios",
                    "text", "github"):
            files[fmt] = os.path.join(self.tmp, "report." + fmt)
            args += ["-o", "%s:%s" % (fmt, files[fmt])]
        # -o github also appends the step summary
        files["summary"] = os.path.join(self.tmp, "summary.md")
        env["GITHUB_STEP_SUMMARY"] = files["summary"]
        out(*args)
        del env["GITHUB_STEP_SUMMARY"]
        out("run", "-o", "json", "-q")
        out("run", "--nagios")
        out("plugins")
        out("plugins", "http")
        out("plugins", "postgres")
        for label, proc in outputs:
            self.assert_no_canary(proc.stdout + proc.stderr, label)
        for fmt, path in files.items():
            with open(path) as f:
                self.assert_no_canary(f.read(), "-o " + fmt)
        # The run really happened: the servers answered, and echoed.
        with open(files["json"]) as f:
            doc = json.load(f)
        got = {p["name"]: p for p in doc["probes"]}
        self.assertEqual(sorted(got), sorted(names))
        self.assertEqual(got["db-ok"]["status"], "ok", got["db-ok"])
        for bad in ("db-uri-bad", "db-opt-bad", "db-file-bad", "db-env-bad"):
            self.assertIn("password authentication failed",
                          got[bad]["message"], got[bad])
        for echo in ("hdr-raw", "key-json", "key-pct", "query", "nested",
                     "b64-base64-1"):
            self.assertIn("echo ", got[echo]["message"], got[echo])
            self.assertIn("***", got[echo]["message"], got[echo])
        # The nested secret goes whole, not as X***Y.
        self.assertIn('("echo ***', got["nested"]["message"])

    def test_values_show_with_only_their_secrets_masked(self):
        self.write_config()
        proc = self.gp("list", env=self.env())
        self.assertEqual(proc.returncode, 0, proc.stderr)
        out = proc.stdout
        self.assertIn("header = Authorization: Bearer ***", out)
        self.assertIn("&token=***", out)
        self.assertIn("dsn = host=127.0.0.1 port=%d dbname=appdb user=app "
                      "password=***" % self.pg.port, out)
        self.assertIn("dsn = postgresql://app:***@127.0.0.1:%d/appdb"
                      % self.pg.port, out)
        self.assertIn("password = ***", out)
        # --explain shows the same
        proc = self.gp("validate", "--explain", env=self.env())
        self.assertIn("Authorization: Bearer ***", proc.stdout)
        self.assertIn("user=app password=***", proc.stdout)

    def test_userinfo_refused_with_the_password_masked(self):
        # http refuses credentials in its url at config time (user and
        # password are options of their own); the refusal names the URL
        # with its password masked, in every command that reads it.
        self.write("conf.d/u.ini", """
            [userinfo]
            plugin = http
            url = http://app:%s@127.0.0.1:%d/
            """ % (USERINFO, self.web.port))
        masked = "http://app:***@127.0.0.1:%d/" % self.web.port
        for cmd in ("validate", "list", "run"):
            proc = self.gp(cmd, env=self.env())
            self.assertEqual(proc.returncode, 2, proc.stderr)
            self.assertIn(masked, proc.stderr)
            self.assertIn("holds credentials", proc.stderr)
            self.assert_no_canary(proc.stdout + proc.stderr, cmd)

    def test_userinfo_without_a_password_is_a_token(self):
        # https://TOKEN@host/ (GitHub's and git's form) was shown as a user
        # name; it is a credential wherever a URL stands.
        self.write("conf.d/u.ini", """
            [tok]
            plugin = http
            url = http://%s@127.0.0.1:%d/
            """ % (TOKEN, self.web.port))
        for cmd in ("validate", "list", "run"):
            proc = self.gp(cmd, env=self.env())
            self.assertEqual(proc.returncode, 2, proc.stderr)
            self.assertIn("'http://***@127.0.0.1:%d/' holds credentials"
                          % self.web.port, proc.stderr)
            self.assert_no_canary(proc.stdout + proc.stderr, cmd)
        # In a command's argument, and echoed back by the command.
        script = self.write("echo-url.sh", """
            #!/bin/sh
            echo "cloning $1"
            exit 2
            """)
        os.chmod(script, 0o755)
        self.write("conf.d/u.ini", """
            [clone]
            plugin = exec
            command = %s, https://%s@github.com/o/r.git
            attempts = 1
            """ % (script, TOKEN))
        proc = self.gp("list", env=self.env())
        self.assertIn("https://***@github.com/o/r.git", proc.stdout)
        self.assert_no_canary(proc.stdout + proc.stderr, "list")
        proc, doc, _ = self.run_json("-v", "--explain", env=self.env())
        p = self.probe(doc, "clone")
        self.assertEqual(p["message"], "cloning https://***@github.com/o/r.git")
        self.assert_no_canary(proc.stdout + proc.stderr + json.dumps(doc),
                              "run")

    def test_probe_command(self):
        proc = self.gp("probe", "http",
                       "url=" + self.reflect(header="Authorization"),
                       "header=Authorization: Bearer " + HDR,
                       "expect_body=never-there", "-v", "--explain",
                       env=self.env())
        self.assertIn("echo Bearer ***", proc.stdout + proc.stderr)
        self.assert_no_canary(proc.stdout + proc.stderr, "probe")


class ProcTest(SecretsCase):
    """/proc/PID/cmdline and environ of gpcheck, its attempts and exec's
    command, read while they run."""

    @staticmethod
    def tree(root):
        """root and its descendants."""
        kids = {}
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % d) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            kids.setdefault(ppid, []).append(int(d))
        out, todo = [], [root]
        while todo:
            pid = todo.pop()
            out.append(pid)
            todo += kids.get(pid, [])
        return out

    @staticmethod
    def proc_text(pid):
        text = b""
        for part in ("cmdline", "environ"):
            try:
                with open("/proc/%d/%s" % (pid, part), "rb") as f:
                    text += f.read().replace(b"\0", b" ") + b"\n"
            except OSError:
                pass
        return text.decode("utf-8", "replace")

    def leaks(self, sample):
        """(pid, canary form) of the first canary in sample, or None."""
        for pid, text in sample.items():
            for c in ALL:
                for f in forms(c):
                    if f in text:
                        return pid, f
        return None

    def watch(self, args, env, ready):
        """Start gpcheck; once ready(pids, sample) says the processes to
        check run (past the point where they drop their secrets), check
        every process under gpcheck for a canary, and return the sample
        and gpcheck's output. `pids` are the attempts that wrote their pid
        to self.pidfile (misbehave's arg): they are past the core's scrub.
        Until then, what /proc shows is what the caller gave gpcheck: its
        own command line before the configuration is read, a child's
        environment between fork() and its scrub. A process showing a
        canary is sampled again while the ready ones run (8 s at most):
        a canary that stays fails the test."""
        full = dict(os.environ)
        full.update(env)
        p = subprocess.Popen([BIN] + args, env=full, cwd=self.tmp,
                             stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(lambda: p.poll() is None and p.kill())
        state = {"sample": {}, "ready": None}  # the last ready sample

        def sample():
            # The pid file first: an attempt listed there was past its
            # scrub before the texts below were read.
            try:
                with open(self.pidfile) as f:
                    pids = {int(x) for x in f.read().split()}
            except (OSError, ValueError):
                pids = set()
            got = {}
            for pid in self.tree(p.pid):
                text = self.proc_text(pid)
                if text:
                    got[pid] = text
            state["sample"] = got
            return pids, got

        def settled():
            # ready in this very sample: a process that ended shows nothing
            pids, got = sample()
            now = ready(pids & set(got), got)
            if now:
                state["ready"] = got
            return now and not self.leaks(others(got))

        def others(got):
            # gpcheck's own environment is the caller's: its command line
            # alone is checked
            rest = dict(got)
            rest[p.pid] = rest.get(p.pid, "").split("\n")[0]
            return rest
        ok = wait_until(settled, 8)
        seen = state["ready"]
        out, err = p.communicate(timeout=30)
        self.assertTrue(seen, "never ready: %s" % state["sample"])
        leak = self.leaks(others(seen))
        self.assertIsNone(leak, "%r in /proc/%s: %s"
                          % (leak and leak[1], leak and leak[0], seen))
        self.assertTrue(ok, "ended before a clean sample: %s" % seen)
        return seen, out.decode() + err.decode()

    def setUp(self):
        super().setUp()
        self.pidfile = os.path.join(self.tmp, "pids")

    def test_environment_of_attempts_and_of_execs_command(self):
        # Before, the test took any three processes (gpcheck and its
        # guardian were two) and could miss exec's command, or read an
        # attempt between fork() and its scrub; now it waits for exec's
        # command and for an attempt that says it runs.
        self.write("conf.d/p.ini", """
            [db]
            plugin = misbehave
            mode = slow
            sleep = 2s
            token = ${DB_PASSWORD}
            arg = %s
            attempts = 1
            timeout = 5s
            severity = optional

            [cmd]
            plugin = exec
            command = /bin/sleep, 2
            attempts = 1
            timeout = 5s
            """ % self.pidfile)
        args = self.base_args("run")[1:]

        def ready(attempts, sample):
            return bool(attempts) and any(
                t.startswith("/bin/sleep ") for t in sample.values())
        seen, output = self.watch(args, self.env(), ready)
        self.assertTrue(any("/bin/sleep" in t for t in seen.values()), seen)
        self.assert_no_canary(output, "output")

    def test_command_line_of_gpcheck_and_its_attempts(self):
        # Before, gpcheck's command line was read as soon as it started,
        # while it still read the configuration (the canary is scrubbed
        # from argv once it knows which options are secret); now it is read
        # once the attempt runs.
        args = ["probe", "--plugin-dir", os.environ["GPCHECK_TEST_PLUGINS"],
                "misbehave", "mode=slow", "sleep=2s", "timeout=5s",
                "arg=" + self.pidfile, "token=" + ARG_PW]
        seen, output = self.watch(args, {}, lambda pids, _: bool(pids))
        self.assertIn("token=*************", "\n".join(seen.values()))
        self.assert_no_canary(output, "output")


class StderrTest(SecretsCase):
    """With -v, what a plugin (or a library, or a command it starts)
    writes to stderr is shown line by line, bounded and masked."""

    def stderr_probe(self, mode, timeout="10s"):
        self.write("conf.d/e.ini", """
            [err]
            plugin = misbehave
            mode = %s
            token = %s
            attempts = 1
            timeout = %s
            """ % (mode, ERR, timeout))

    def test_plugin_stderr_is_masked_line_by_line(self):
        self.stderr_probe("stderr")
        jsonl = os.path.join(self.tmp, "events.jsonl")
        proc, doc, _ = self.run_json("-v", "--no-progress", "-o",
                                     "jsonl:" + jsonl, env=self.env())
        # Garbage and a 1 MiB line on stderr do not break the run.
        self.assertEqual(self.probe(doc, "err")["status"], "ok", proc.stderr)
        err = proc.stderr
        for want in ("stderr: connecting with token ***",
                     "stderr: GET /?token=***",
                     "stderr: Authorization: Basic ***",
                     'stderr: {"token": "***"}',
                     "stderr: split *** end",  # two writes, one line
                     "stderr: bin ",
                     "stderr: last words ***"):  # no newline at the end
            self.assertIn(want, err)
        lines = err.splitlines()
        # Lines are cut at 4 KiB, marked, and the piece of the secret
        # before the cut is masked too.
        cut = [ln for ln in lines if ln.endswith("...") and "stderr: " in ln]
        self.assertEqual(len(cut), 2, err[-2000:])
        self.assertTrue(cut[0].endswith("y ***..."), cut[0][-40:])
        self.assertTrue(all(len(ln) < 4200 for ln in lines))
        self.assertNotIn(ERR[:5], err)
        with open(jsonl) as f:
            events = f.read()
        self.assertIn("split *** end", events)
        self.assert_no_canary(proc.stdout + err + events + json.dumps(doc))

    def test_a_stderr_flood_is_damped(self):
        self.stderr_probe("stderr_flood")
        proc, doc, _ = self.run_json("-v", "--no-progress", env=self.env())
        self.assertEqual(self.probe(doc, "err")["status"], "ok", proc.stderr)
        shown = [ln for ln in proc.stderr.splitlines() if "stderr: " in ln]
        self.assertEqual(len(shown), 21, "\n".join(shown))
        self.assertIn("stderr: (109 more lines)", shown[-1])
        self.assert_no_canary(proc.stdout + proc.stderr)

    def test_an_endless_stderr_cannot_hold_the_supervisor(self):
        self.stderr_probe("stderr_spin", timeout="1s")
        proc, doc, took = self.run_json("-v", "--no-progress",
                                        env=self.env())
        p = self.probe(doc, "err")
        self.assertEqual(p["status"], "timeout", p)
        self.assertIn("killed", p["message"])
        self.assertLess(took, 5)
        shown = [ln for ln in proc.stderr.splitlines() if "stderr: " in ln]
        self.assertEqual(len(shown), 21)
        self.assertRegex(shown[-1], r"stderr: \(\d+ more lines\)")
        self.assert_no_canary(proc.stdout + proc.stderr)

    def test_without_v_stderr_is_not_shown(self):
        self.stderr_probe("stderr")
        proc, doc, _ = self.run_json("--no-progress", env=self.env())
        self.assertEqual(self.probe(doc, "err")["status"], "ok", proc.stderr)
        self.assertNotIn("stderr: ", proc.stderr)
        self.assert_no_canary(proc.stdout + proc.stderr)

    def test_stderr_pipes_count_in_the_descriptor_budget(self):
        # With -v each attempt holds two pipes: under ulimit -n 64 the cap
        # on attempts in flight halves, and no probe meets EMFILE.
        import resource
        self.write("conf.d/x.ini", "".join("""
            [p%d]
            plugin = misbehave
            mode = slow
            sleep = 100ms
            """ % i for i in range(100)))

        def cap(*extra):
            def limit():
                resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
            report = os.path.join(self.tmp, "report.json")
            proc = subprocess.run(
                self.base_args("run") + ["-j", "200", "--no-progress", "-o",
                                         "json:" + report] + list(extra),
                capture_output=True, text=True, timeout=60, cwd=self.tmp,
                stdin=subprocess.DEVNULL, preexec_fn=limit)
            self.assertEqual(proc.returncode, 0, proc.stderr[-2000:])
            with open(report) as f:
                doc = json.load(f)
            self.assertEqual({p["status"] for p in doc["probes"]}, {"ok"})
            self.assertEqual({p["attempts"] for p in doc["probes"]}, {1})
            m = re.search(r"warning: (\d+) attempts in flight at most",
                          proc.stderr)
            self.assertTrue(m, proc.stderr[-2000:])
            return int(m.group(1))
        quiet, verbose = cap(), cap("-v")
        self.assertLessEqual(verbose, (quiet + 1) // 2, (quiet, verbose))
        self.assertGreater(verbose, 10, (quiet, verbose))

    def test_execs_command_stderr_is_masked(self):
        # exec reads its command's stderr itself and logs its first lines;
        # the canary reaches the command through secret_env.
        script = self.write("err.sh", """
            #!/bin/sh
            echo "login with $ERR_TOKEN failed" >&2
            { head -c 505 /dev/zero | tr '\\0' y; echo " $ERR_TOKEN"; } >&2
            exit 2
            """)
        os.chmod(script, 0o755)
        self.write("conf.d/e.ini", """
            [cmd]
            plugin = exec
            command = %s
            secret_env = ERR_TOKEN=%s
            attempts = 1
            """ % (script, ERR))
        proc, doc, _ = self.run_json("-v", "--no-progress", env=self.env())
        p = self.probe(doc, "cmd")
        self.assertEqual(p["status"], "fail", p)
        self.assertIn("login with *** failed", proc.stderr)
        self.assertIn("yyy", proc.stderr)
        self.assertNotIn(ERR[:5], proc.stderr)
        self.assert_no_canary(proc.stdout + proc.stderr + json.dumps(doc))


class InjectionTest(SecretsCase):
    """${VAR} inside a dsn is one value, never syntax."""

    def test_interpolated_value_cannot_redirect_libpq(self):
        # Before: application_name=x port=REAL overrode port=1 and the
        # probe connected; now the value is escaped and port stays 1.
        self.write("conf.d/inj.ini", """
            [inj]
            plugin = postgres
            dsn = host=127.0.0.1 port=1 dbname=appdb user=app password=%s application_name=${APP}
            attempts = 1
            timeout = 2s
            """ % DSN_PW)
        env = self.env(APP="x port=%d" % self.pg.port)
        proc, doc, _ = self.run_json(env=env)
        p = self.probe(doc, "inj")
        self.assertNotEqual(p["status"], "ok", p)
        self.assertIn("port 1 failed", p["message"])
        listed = self.gp("list", env=env).stdout
        self.assertIn("application_name=x\\ port=%d" % self.pg.port, listed)

    def test_interpolated_uri_value_is_percent_encoded(self):
        # Before: spliced raw, "p@ss/w rd?&" broke the URI apart.
        self.pg.create_role("odd", "p@ss/w rd?&")
        self.write("conf.d/inj.ini", """
            [inj]
            plugin = postgres
            dsn = postgresql://odd:${PW}@127.0.0.1:%d/appdb
            attempts = 1
            timeout = 3s
            """ % self.pg.port)
        proc, doc, _ = self.run_json(env=self.env(PW="p@ss/w rd?&"))
        self.assertEqual(self.probe(doc, "inj")["status"], "ok",
                         self.probe(doc, "inj"))

    def test_variable_where_a_key_stands_is_refused(self):
        path = self.write("conf.d/inj.ini", """
            [inj]
            plugin = postgres
            dsn = host=127.0.0.1 ${EXTRA}
            """)
        proc = self.gp("validate", env=self.env(EXTRA="port=1"))
        self.assertEqual(proc.returncode, 2, proc.stdout + proc.stderr)
        self.assertIn("%s:3: probe 'inj': dsn: ${EXTRA} stands where a key "
                      "is expected" % path, proc.stderr)

    def test_whole_dsn_from_one_variable(self):
        self.write("conf.d/inj.ini", """
            [inj]
            plugin = postgres
            dsn = ${DSN}
            attempts = 1
            """)
        dsn = "host=127.0.0.1 port=%d dbname=appdb user=app password=%s" % (
            self.pg.port, DSN_PW)
        proc, doc, _ = self.run_json(env=self.env(DSN=dsn))
        self.assertEqual(self.probe(doc, "inj")["status"], "ok")
        listed = self.gp("list", env=self.env(DSN=dsn)).stdout
        self.assertIn("user=app password=***", listed)
        self.assertNotIn(DSN_PW, listed)


class RevealTest(SecretsCase):
    """Masking must not tell a weak secret by what stands around it."""

    def test_password_equal_to_the_user_name(self):
        self.write("conf.d/same.ini", """
            [same]
            plugin = postgres
            dsn = host=127.0.0.1 port=%d dbname=appdb user=samepw_user password=samepw_user
            attempts = 1
            """ % self.pg.port)
        proc, doc, _ = self.run_json("-v", "--explain", env=self.env())
        p = self.probe(doc, "same")
        self.assertEqual(p["status"], "ok", p)
        everything = (proc.stdout + proc.stderr + json.dumps(doc) +
                      self.gp("list", env=self.env()).stdout)
        # user=*** beside a shown user name would tell the password
        self.assertNotIn("user=***", everything)
        self.assertNotIn("samepw_user", everything)
        self.assertIn("withheld", p["message"])

    def test_short_password_is_not_revealed_by_its_mask(self):
        # "une***pected" would tell that the password is "x"
        self.write("conf.d/short.ini", """
            [short]
            plugin = http
            url = %s
            user = app
            password = x
            expect_status = 200
            attempts = 1
            """ % self.web.url("/status/503?text=unexpected+reply"))
        proc, doc, _ = self.run_json("-v", env=self.env())
        p = self.probe(doc, "short")
        everything = proc.stdout + proc.stderr + json.dumps(doc)
        self.assertNotIn("***pected", everything)
        self.assertNotIn("e***", everything)
        self.assertIn("unexpected", p["message"])

    def test_short_secret_as_a_word_withholds_the_message(self):
        self.write("conf.d/leak.ini", """
            [leak]
            plugin = misbehave
            mode = leak
            token = x
            attempts = 1
            """)
        proc, doc, _ = self.run_json("-v", env=self.env())
        p = self.probe(doc, "leak")
        self.assertIn("withheld", p["message"])
        self.assertNotIn("token x", proc.stdout + proc.stderr +
                         json.dumps(doc))
        self.assertNotIn("token ***", proc.stdout + proc.stderr +
                         json.dumps(doc))

    def test_nested_secret_options_mask_whole(self):
        # The core's old masker printed "token X***Y rejected".
        path = self.secret_file("tok", NESTED)
        self.write("conf.d/leak.ini", """
            [leak]
            plugin = misbehave
            mode = leak
            token = %s
            token_file = %s
            attempts = 1
            """ % (INNER, path))
        proc, doc, _ = self.run_json("-v", env=self.env())
        p = self.probe(doc, "leak")
        self.assertEqual(p["message"], "token *** rejected")
        self.assert_no_canary(proc.stdout + proc.stderr + json.dumps(doc))
