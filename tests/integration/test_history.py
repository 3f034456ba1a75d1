"""tests/integration/test_history.py - the run history (core/history.c):
what a run stores, where and how safely, retention, schema versions,
parallel writers, a SIGKILL in the middle of a commit, and the history and
stats commands that read it back. Probes are exec probes on `test -e FLAG`,
so a test decides each run's statuses by creating or removing a file."""

import json
import os
import re
import shutil
import sqlite3
import stat
import subprocess
import time
import unittest

from gp import GpTestCase

KILLWRITE = os.environ.get("GPCHECK_KILLWRITE", "")


class HistoryTest(GpTestCase):
    def setUp(self):
        super().setUp()
        self.db = os.path.join(self.tmp, "hist", "history.db")
        self.flag = os.path.join(self.tmp, "flag")
        open(self.flag, "w").close()
        # db: ready while FLAG exists; cache: always ready, optional.
        self.write("conf.d/probes.ini", """
            [db]
            plugin = exec
            shell = true
            command = test -e %s || exit 2
            attempts = 1

            [cache]
            plugin = exec
            command = true
            severity = optional
            """ % self.flag)

    def run_h(self, *extra, env=None):
        return self.gp("run", "-q", "--history", self.db, *extra, env=env)

    def rows(self, sql, args=()):
        con = sqlite3.connect(self.db)
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()

    def test_a_run_and_its_probes_are_stored(self):
        env = {"CI_PIPELINE_ID": "4711", "GITHUB_RUN_ID": "99",
               "GITHUB_RUN_ATTEMPT": "2", "CI_JOB_ID": "12"}
        proc = self.run_h(env=env)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        (run,) = self.rows(
            "SELECT env, verdict, rule, exit_code, duration_ms, bypass, host,"
            " ci_pipeline_id, ci_job_id, github_run_id, github_run_attempt,"
            " cmd_exit FROM runs")
        self.assertEqual(run[0], "default")
        self.assertEqual(run[1], "pass")
        self.assertTrue(run[2].startswith("pass: all 2 units ok"), run[2])
        self.assertEqual(run[3], 0)
        self.assertGreater(run[4], 0)
        self.assertEqual(run[5], 0)
        self.assertEqual(run[6], os.uname().nodename)
        self.assertEqual(run[7:11], ("4711", "12", "99", "2"))
        self.assertIsNone(run[11])  # no supervised command
        probes = self.rows("SELECT probe, plugin, status, attempts, ready_ms,"
                           " metrics FROM probe_results ORDER BY probe")
        self.assertEqual([p[:4] for p in probes],
                         [("cache", "exec", "ok", 1), ("db", "exec", "ok", 1)])
        for p in probes:
            self.assertGreater(p[4], 0)
            self.assertIn("run_time", json.loads(p[5]))
        # A failing run: its probe never got ready.
        os.unlink(self.flag)
        self.assertEqual(self.run_h().returncode, 1)
        (row,) = self.rows("SELECT status, ready_ms FROM probe_results"
                           " WHERE probe = 'db' AND status != 'ok'")
        self.assertEqual(row, ("fail", None))
        self.assertEqual(self.rows("PRAGMA user_version"), [(1,)])
        self.assertEqual(self.rows("PRAGMA journal_mode"), [("wal",)])

    def test_file_is_private_and_the_folder_the_users(self):
        os.umask(0o022)
        self.assertEqual(self.run_h().returncode, 0)
        self.assertEqual(stat.S_IMODE(os.stat(self.db).st_mode), 0o600)
        self.assertEqual(
            stat.S_IMODE(os.stat(os.path.dirname(self.db)).st_mode), 0o700)
        # The WAL and its index, while a reader holds them open.
        con = sqlite3.connect(self.db)
        con.execute("SELECT count(*) FROM runs").fetchall()
        self.assertEqual(self.run_h().returncode, 0)
        for suffix in ("-wal", "-shm"):
            self.assertEqual(stat.S_IMODE(os.stat(self.db + suffix).st_mode),
                             0o600, suffix)
        con.close()

    def test_default_path_is_per_user(self):
        state = os.path.join(self.tmp, "state")
        proc = self.gp("run", "-q", "--history", "default",
                       env={"XDG_STATE_HOME": state})
        self.assertEqual(proc.returncode, 0, proc.stderr)
        path = os.path.join(state, "gpcheck", "history.db")
        self.assertTrue(os.path.exists(path))
        # history and stats find the same file without being told.
        proc = self.gp("history", "-o", "json",
                       env={"XDG_STATE_HOME": state})
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(len(json.loads(proc.stdout)), 1)

    def test_history_in_the_main_file(self):
        self.write("gpcheck.ini", """
            [gpcheck]
            history = rel/h.db
            history_keep = 2 runs
            """)
        for _ in range(4):
            self.assertEqual(self.gp("run", "-q").returncode, 0)
        path = os.path.join(self.tmp, "rel", "h.db")
        con = sqlite3.connect(path)
        ids = [r[0] for r in con.execute("SELECT id FROM runs ORDER BY id")]
        probes = con.execute("SELECT count(*) FROM probe_results").fetchone()
        con.close()
        self.assertEqual(ids, [3, 4])       # the newest two
        self.assertEqual(probes, (4,))      # their probes only
        # --no-history wins over the file.
        self.assertEqual(self.gp("run", "-q", "--no-history").returncode, 0)
        con = sqlite3.connect(path)
        self.assertEqual(con.execute("SELECT max(id) FROM runs").fetchone(),
                         (4,))
        con.close()

    def test_retention_by_age(self):
        self.assertEqual(self.run_h().returncode, 0)
        day = 24 * 3600 * 1000
        con = sqlite3.connect(self.db)
        con.execute("UPDATE runs SET started_ms = started_ms - 91 * ?",
                    (day,))
        con.commit()
        con.close()
        self.assertEqual(self.run_h().returncode, 0)  # default: 90d
        self.assertEqual(self.rows("SELECT id FROM runs"), [(2,)])
        self.assertEqual(self.rows("SELECT count(*) FROM probe_results"),
                         [(2,)])

    def test_bad_config_values_name_file_and_line(self):
        self.write("gpcheck.ini", """
            [gpcheck]
            history_keep = forever
            history_required = maybe
            """)
        proc = self.gp("run", "-q")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("gpcheck.ini:2: [gpcheck]: history_keep: 'forever'",
                      proc.stderr)
        self.assertIn("gpcheck.ini:3: [gpcheck]: history_required",
                      proc.stderr)
        proc = self.gp("stats", "--since", "soon")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("--since soon", proc.stderr)
        proc = self.gp("stats", "--fail-below", "120%")
        self.assertEqual(proc.returncode, 2)

    def test_write_failure_never_changes_the_verdict(self):
        blocker = os.path.join(self.tmp, "file")
        open(blocker, "w").close()
        bad = os.path.join(blocker, "history.db")  # under a regular file
        proc = self.gp("run", "-q", "--history", bad, "--", "true")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("gpcheck: history not written:", proc.stderr)
        # ... unless the configuration says the history is required.
        self.write("gpcheck.ini", """
            [gpcheck]
            history_required = true
            """)
        marker = os.path.join(self.tmp, "ran")
        proc = self.gp("run", "-q", "--history", bad, "--", "touch", marker)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn("history_required = true: the run fails", proc.stderr)
        self.assertFalse(os.path.exists(marker))

    def test_refuses_a_folder_or_symlink_of_another_user(self):
        shared = os.path.join(self.tmp, "shared")
        os.mkdir(shared)
        if os.geteuid() != 0:
            self.skipTest("needs root to give a folder to another user")
        os.chown(shared, 65534, 65534)
        proc = self.gp("run", "-q", "--history",
                       os.path.join(shared, "h.db"))
        self.assertEqual(proc.returncode, 0)
        self.assertIn("belongs to uid 65534", proc.stderr)
        self.assertFalse(os.path.exists(os.path.join(shared, "h.db")))
        mine = os.path.join(self.tmp, "mine")
        os.mkdir(mine)
        link = os.path.join(mine, "h.db")
        os.symlink(os.path.join(self.tmp, "elsewhere.db"), link)
        os.lchown(link, 65534, 65534)
        proc = self.gp("run", "-q", "--history", link)
        self.assertIn("refusing to follow a symlink owned by uid 65534",
                      proc.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.tmp,
                                                     "elsewhere.db")))

    def test_newer_schema_is_refused(self):
        self.assertEqual(self.run_h().returncode, 0)
        con = sqlite3.connect(self.db)
        con.execute("PRAGMA user_version = 7")
        con.commit()
        con.close()
        proc = self.run_h()
        self.assertEqual(proc.returncode, 0)
        self.assertIn("schema version 7 is newer than this gpcheck's 1",
                      proc.stderr)
        self.assertEqual(self.rows("SELECT count(*) FROM runs"), [(1,)])

    def test_no_secret_is_stored(self):
        self.write("conf.d/leak.ini", """
            [leak]
            plugin = exec
            shell = true
            command = echo "token is $$TOKEN"; exit 2
            secret_env = TOKEN=hunter2-sekrit
            severity = optional
            attempts = 1
            """)
        proc = self.run_h()
        self.assertEqual(proc.returncode, 0, proc.stderr)
        (msg,) = self.rows("SELECT message FROM probe_results"
                           " WHERE probe = 'leak'")
        self.assertIn("token is ***", msg[0])
        for name in os.listdir(os.path.dirname(self.db)):
            with open(os.path.join(os.path.dirname(self.db), name),
                      "rb") as f:
                self.assertNotIn(b"hunter2-sekrit", f.read(), name)
        proc = self.gp("history", "--history", self.db, "-o", "json")
        self.assertNotIn("hunter2-sekrit", proc.stdout)

    def test_twenty_parallel_runs_lose_no_row(self):
        procs = []
        for i in range(20):
            env = dict(os.environ, CI_JOB_ID=str(i))
            env.pop("GPCHECK_ENV", None)
            procs.append(subprocess.Popen(
                self.base_args("run") + ["-q", "--history", self.db],
                env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True, cwd=self.tmp))
        for p in procs:
            out, err = p.communicate(timeout=120)
            self.assertEqual(p.returncode, 0, err)
            self.assertNotIn("history", err)
        jobs = sorted(int(r[0]) for r in self.rows("SELECT ci_job_id FROM runs"))
        self.assertEqual(jobs, list(range(20)))
        self.assertEqual(self.rows("SELECT count(*) FROM probe_results"),
                         [(40,)])

    def test_sigkill_in_the_middle_of_a_write(self):
        if not KILLWRITE or not os.path.exists(KILLWRITE):
            self.fail("GPCHECK_KILLWRITE is not set to killwrite.so")
        self.assertEqual(self.run_h().returncode, 0)  # the file exists
        kills, runs = 0, 1
        # Kill at the 1st, 2nd, ... write or sync to the history's files
        # (WAL frames, the commit frame, the WAL index, checkpoints) until
        # a run gets through; bounded.
        for at in range(1, 200):
            env = {"LD_PRELOAD": KILLWRITE, "KILLWRITE_PATH": "hist/history",
                   "KILLWRITE_AT": str(at),
                   "ASAN_OPTIONS": "verify_asan_link_order=0"}
            proc = self.run_h(env=env)
            con = sqlite3.connect(self.db)
            self.assertEqual(con.execute("PRAGMA integrity_check").fetchall(),
                             [("ok",)], "killed at write %d" % at)
            n = con.execute("SELECT count(*) FROM runs").fetchone()[0]
            orphans = con.execute(
                "SELECT count(*) FROM runs r WHERE (SELECT count(*) FROM"
                " probe_results p WHERE p.run_id = r.id) != 2").fetchone()[0]
            con.close()
            self.assertEqual(orphans, 0, "a run without its probes")
            self.assertIn(n, (runs, runs + 1), "killed at write %d" % at)
            runs = n
            if proc.returncode == -9:
                kills += 1
                continue
            print("history crash test: %d kills, the run at write %d went"
                  " through" % (kills, at))
            self.assertEqual(proc.returncode, 0, proc.stderr)
            break
        else:
            self.fail("every run was killed: the loop bound is too small")
        self.assertGreaterEqual(kills, 3, "the kill never hit a write")
        # And the next run after all those crashes writes normally.
        self.assertEqual(self.run_h().returncode, 0)
        self.assertEqual(self.rows("SELECT count(*) FROM runs"),
                         [(runs + 1,)])


class HistoryCommandsTest(GpTestCase):
    """history and stats over runs whose statuses the test chose."""

    def setUp(self):
        super().setUp()
        self.db = os.path.join(self.tmp, "h.db")
        self.flag = os.path.join(self.tmp, "flag")
        for env in ("staging", "prod"):
            self.write("conf.d/%s.ini" % env, """
                [db-%s]
                plugin = exec
                shell = true
                command = test -e %s || exit 2
                attempts = 1
                envs = %s
                """ % (env, self.flag, env))

    def run_env(self, env, ready, *cmd):
        if ready:
            open(self.flag, "w").close()
        elif os.path.exists(self.flag):
            os.unlink(self.flag)
        args = ["-q", "-e", env, "--history", self.db]
        if cmd:
            args += ["--supervise", "--"] + list(cmd)
        return self.gp("run", *args)

    def stats(self, *extra):
        proc = self.gp("stats", "--history", self.db, "-o", "json", *extra)
        return proc, json.loads(proc.stdout) if proc.stdout else None

    def test_stats_and_history(self):
        # staging: ok, fail, ok, ok  -> 3 status changes? no: 2 (ok>fail>ok)
        for ready in (True, False, True, True):
            self.run_env("staging", ready)
        self.run_env("prod", True)
        proc, doc = self.stats()
        self.assertEqual(proc.returncode, 0, proc.stderr)
        envs = {e["env"]: e for e in doc["envs"]}
        st = envs["staging"]
        self.assertEqual((st["runs"], st["passed"]), (4, 3))
        self.assertAlmostEqual(st["pass_rate"], 0.75)
        (p,) = st["probes"]
        self.assertEqual(p["name"], "db-staging")
        self.assertEqual((p["runs"], p["ok"], p["status_changes"]), (4, 3, 2))
        self.assertAlmostEqual(p["flakiness"], 2 / 3)
        r = p["ready"]
        self.assertEqual(r["n"], 3)
        self.assertLessEqual(r["p50_ms"], r["p95_ms"])
        self.assertLessEqual(r["p95_ms"], r["max_ms"])
        self.assertEqual(p["attempts"], {"mean": 1.0, "max": 1})
        self.assertEqual(envs["prod"]["runs"], 1)
        self.assertIsNone(st["suite"]["success_rate"])
        # Filters.
        _, doc = self.stats("-e", "prod")
        self.assertEqual([e["env"] for e in doc["envs"]], ["prod"])
        proc = self.gp("history", "--history", self.db, "-o", "json",
                       "-n", "2", "-e", "staging")
        runs = json.loads(proc.stdout)
        self.assertEqual([r["id"] for r in runs], [4, 3])
        self.assertEqual(runs[0]["probes"][0]["name"], "db-staging")
        proc = self.gp("history", "--history", self.db, "-o", "json",
                       "-p", "db-prod")
        self.assertEqual([r["id"] for r in json.loads(proc.stdout)], [5])
        # Text for people.
        proc = self.gp("stats", "--history", self.db)
        self.assertIn("env staging: 4 runs, gate passed 3 (75.0%)",
                      proc.stdout)
        proc = self.gp("history", "--history", self.db, "-n", "1")
        self.assertRegex(proc.stdout, r"#5 +\S+Z  prod +pass")
        # --fail-below on the gate's pass rate (no supervised runs).
        proc, _ = self.stats("-e", "staging", "--fail-below", "95%")
        self.assertEqual(proc.returncode, 1)
        self.assertIn("env staging: gate pass rate 75.0% is below 95.0%",
                      proc.stderr)
        proc, _ = self.stats("-e", "staging", "--fail-below", "0.7")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        # A window with nothing in it does not pass a check.
        con = sqlite3.connect(self.db)
        con.execute("UPDATE runs SET started_ms = started_ms - 86400000 * 10")
        con.execute("UPDATE probe_results SET started_ms = started_ms -"
                    " 86400000 * 10")
        con.commit()
        con.close()
        proc, doc = self.stats("--since", "2d", "--fail-below", "0.5")
        self.assertEqual(proc.returncode, 1)
        self.assertEqual(doc["envs"], [])
        self.assertIn("no runs in the window", proc.stderr)
        proc, doc = self.stats("--since", "2w")
        self.assertEqual(len(doc["envs"]), 2)

    def test_suite_rate_and_recheck_labels(self):
        # tests' fault: the suite fails, the infrastructure stays ready.
        proc = self.run_env("staging", True, "sh", "-c", "exit 3")
        self.assertEqual(proc.returncode, 3)
        # infrastructure's fault: the suite fails because db went away.
        proc = self.gp("run", "-q", "-e", "staging", "--history", self.db,
                       "--supervise", "--recheck", "--", "sh", "-c",
                       "rm %s; exit 5" % self.flag)
        self.assertEqual(proc.returncode, 5)
        self.assertIn("labelled 'infrastructure'", proc.stderr)
        proc = self.gp("run", "-q", "-e", "staging", "--history", self.db,
                       "--supervise", "--recheck", "--", "sh", "-c",
                       "exit 6")
        self.assertEqual(proc.returncode, 1)  # flag is gone: gate fails
        self.assertNotIn("probing again", proc.stderr)  # CMD never ran
        open(self.flag, "w").close()
        proc = self.gp("run", "-q", "-e", "staging", "--history", self.db,
                       "--supervise", "--recheck", "--", "sh", "-c",
                       "exit 7")
        self.assertEqual(proc.returncode, 7)
        self.assertIn("labelled 'tests'", proc.stderr)
        for _ in range(2):
            self.assertEqual(self.run_env("staging", True, "true").returncode,
                             0)
        _, doc = self.stats()
        (st,) = doc["envs"]
        self.assertEqual(st["suite"], {"runs": 5, "passed": 2,
                                       "success_rate": 0.4,
                                       "infrastructure": 1, "tests": 1})
        proc, _ = self.stats("--fail-below", "0.5")
        self.assertEqual(proc.returncode, 1)
        self.assertIn("suite success rate 40.0% is below 50.0%", proc.stderr)
        proc = self.gp("history", "--history", self.db, "-o", "json",
                       "-n", "6")
        cmds = [r["command"] for r in json.loads(proc.stdout)]
        self.assertIsNone(cmds[3])  # the gate failed: no command ran
        del cmds[3]
        self.assertEqual([c["exit_code"] for c in cmds], [0, 0, 7, 5, 3])
        self.assertEqual([c["label"] for c in cmds],
                         [None, None, "tests", "infrastructure", None])

    def test_missing_history_is_a_clear_error(self):
        proc = self.gp("stats", "--history", os.path.join(self.tmp, "no.db"))
        self.assertEqual(proc.returncode, 2)
        self.assertIn("no history there yet", proc.stderr)
        proc = self.gp("stats", "-o", "junit", "--history", self.db)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("history and stats write text or json", proc.stderr)


# What the headless browser runs: it loads the page in an iframe, lets it
# render, and writes what it measured into its own DOM for --dump-dom.
CHECKER = """<!DOCTYPE html><html><body><pre id="result"></pre>
<iframe id="f" src="%s" width="900" height="3000"></iframe>
<script>
document.getElementById("f").onload = function () {
  var d = this.contentDocument, out = {svgs: [], cells: [], scripts: 0};
  out.scripts = d.getElementsByTagName("script").length;
  d.querySelectorAll("svg").forEach(function (s) {
    var r = s.getBoundingClientRect(), line = s.querySelector(".series");
    out.svgs.push({cls: s.getAttribute("class"), w: r.width, h: r.height,
      title: s.querySelector("title").textContent,
      points: line ? line.points.numberOfItems : 0,
      drawn: line ? line.getBBox().width : 0});
  });
  d.querySelectorAll("td[data-value]").forEach(function (c) {
    var tr = c.parentNode, env = tr.closest("section").dataset.env;
    out.cells.push({env: env, probe: tr.dataset.probe || null,
      key: c.getAttribute("class"), value: c.dataset.value,
      shown: c.textContent, visible: c.getBoundingClientRect().width > 0});
  });
  document.getElementById("result").textContent = JSON.stringify(out);
};
</script></body></html>"""


class HtmlTest(HistoryCommandsTest):
    """stats --html: one self-contained page, rendered by headless
    Chromium, with the figures stats -o json has."""

    def chromium(self, *args):
        exe = shutil.which("chromium")
        if not exe:
            self.fail("chromium is not installed (tests/bootstrap.sh)")
        return subprocess.run(
            [exe, "--headless", "--no-sandbox", "--disable-gpu",
             "--user-data-dir=" + os.path.join(self.tmp, "profile"),
             "--allow-file-access-from-files",
             # Nothing leaves the machine, not even a DNS question.
             "--host-resolver-rules=MAP * ~NOTFOUND",
             "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--no-first-run", "--disable-default-apps",
             "--disable-extensions"] + list(args),
            capture_output=True, text=True, timeout=120)

    def test_page_renders_the_json_figures(self):
        for ready in (True, False, True, True, True):
            self.run_env("staging", ready)
        self.run_env("prod", True, "true")
        page = os.path.join(self.tmp, "out", "stats.html")
        proc = self.gp("stats", "--history", self.db, "-o", "json",
                       "--html", page)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        doc = json.loads(proc.stdout)
        with open(page) as f:
            html = f.read()
        # Self-contained: nothing fetched, nothing run.
        self.assertNotIn("<script", html)
        self.assertIsNone(re.search(r"\b(src|href)=", html))
        self.assertEqual(re.findall(r"https?://[^\"]*", html),
                         ["http://www.w3.org/2000/svg"] * 4)
        checker = os.path.join(self.tmp, "check.html")
        with open(checker, "w") as f:
            f.write(CHECKER % ("out/stats.html"))
        proc = self.chromium("--virtual-time-budget=10000", "--dump-dom",
                             "file://" + checker)
        m = re.search(r'<pre id="result">(.*?)</pre>', proc.stdout, re.S)
        self.assertTrue(m and m.group(1), proc.stdout[-2000:] + proc.stderr)
        seen = json.loads(m.group(1).replace("&quot;", '"')
                          .replace("&amp;", "&"))
        self.assertEqual(seen["scripts"], 0)
        # One pass-rate plot per env, one time-to-ready plot per probe,
        # each drawn at its size with a line through its points.
        svgs = {s["title"]: s for s in seen["svgs"]}
        self.assertEqual(sorted(svgs), [
            "db-prod in prod: time to ready", "db-staging in staging: time "
            "to ready", "prod: gate pass rate per day",
            "staging: gate pass rate per day"])
        for s in seen["svgs"]:
            self.assertEqual((s["w"], s["h"]), (640, 214), s)
        self.assertEqual(svgs["db-staging in staging: time to ready"]
                         ["points"], 1)  # one day: one column
        self.assertEqual(svgs["staging: gate pass rate per day"]["points"],
                         1)
        # Every figure of the JSON, on the page and visible.
        cells = {(c["env"], c["probe"], c["key"]): c for c in seen["cells"]}
        for e in doc["envs"]:
            for key, v in (("runs", e["runs"]), ("pass_rate", e["pass_rate"]),
                           ("success_rate", e["suite"]["success_rate"]),
                           ("tests", e["suite"]["tests"])):
                c = cells[(e["env"], None, key)]
                self.assertTrue(c["visible"])
                if v is None:
                    self.assertEqual(c["value"], "")
                else:
                    self.assertAlmostEqual(float(c["value"]), v)
            for p in e["probes"]:
                for key in ("p50_ms", "p95_ms", "p99_ms", "max_ms"):
                    c = cells[(e["env"], p["name"], key)]
                    self.assertAlmostEqual(float(c["value"]),
                                           p["ready"][key])
                    self.assertEqual(c["shown"], "%.1f ms" % p["ready"][key])
                c = cells[(e["env"], p["name"], "pass_rate")]
                self.assertEqual(c["shown"], "%.1f%%" % (100 * p["pass_rate"]))
        self.assertEqual(cells[("staging", None, "pass_rate")]["shown"],
                         "80.0%")
        self.assertEqual(cells[("prod", None, "success_rate")]["shown"],
                         "100.0%")
        # And it paints: a screenshot that is not blank.
        shot = os.path.join(self.tmp, "shot.png")
        self.chromium("--window-size=900,1400", "--screenshot=" + shot,
                      "file://" + page)
        self.assertGreater(os.path.getsize(shot), 10000)

    def test_stats_and_history(self):
        pass  # HistoryCommandsTest's, not again

    def test_suite_rate_and_recheck_labels(self):
        pass

    def test_missing_history_is_a_clear_error(self):
        pass


class AutoWarmupTest(GpTestCase):
    """warmup = auto: p99 x 1.5 of the recent times to ready."""

    def test_warmup_from_the_history(self):
        db = os.path.join(self.tmp, "h.db")
        self.write("conf.d/db.ini", """
            [db]
            plugin = exec
            command = true
            warmup = auto
            warmup_max = 20s
            envs = staging, prod
            """)
        proc = self.gp("run", "-q", "-e", "staging", "--history", db)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        # One time to ready is too little: warmup_max.
        proc = self.gp("list", "-e", "staging", "--history", db)
        self.assertIn("warmup auto 20s (warmup_max: 1 recent times to ready "
                      "in the history, 10 needed)", proc.stdout)
        # Twenty: 100 ms ... 1.9 s and 2 s; p99 (nearest rank) is 2 s.
        con = sqlite3.connect(db)
        con.execute("UPDATE probe_results SET ready_ms = 2000")
        for k in range(1, 20):
            cur = con.execute(
                "INSERT INTO runs (started_ms, env, verdict, rule,"
                " exit_code, duration_ms, bypass) SELECT started_ms, env,"
                " verdict, rule, exit_code, duration_ms, bypass FROM runs"
                " WHERE id = 1")
            con.execute(
                "INSERT INTO probe_results (run_id, probe, env, started_ms,"
                " plugin, status, attempts, ready_ms, message, metrics)"
                " SELECT ?, probe, env, started_ms, plugin, status, attempts,"
                " ?, message, metrics FROM probe_results WHERE run_id = 1",
                (cur.lastrowid, 100.0 * k))
        con.commit()
        con.close()
        proc = self.gp("run", "-e", "staging", "--history", db, "--explain")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("warmup auto 3s (p99 2s x 1.5 of 20 recent times to "
                      "ready; warmup_max 20s)", proc.stderr)
        # Per env: prod has no history of its own.
        proc = self.gp("list", "-e", "prod", "--history", db)
        self.assertIn("warmup auto 20s (warmup_max: 0 recent", proc.stdout)
        # Without a history at all: warmup_max.
        proc = self.gp("list", "-e", "staging")
        self.assertIn("warmup auto 20s (warmup_max: 0 recent", proc.stdout)


if __name__ == "__main__":
    unittest.main()
