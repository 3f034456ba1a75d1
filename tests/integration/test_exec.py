"""tests/integration/test_exec.py - the exec probe: commands that follow the
monitoring-plugins contract.

Real monitoring-plugins from Debian (/usr/lib/nagios/plugins) against real
servers on loopback: check_tcp against tests/fixtures/listen.py, check_http
against a Python http.server started here, check_pgsql against PostgreSQL
15 (tests/servers/postgres.py), check_dig against dnsmasq
(tests/servers/dns.py; needs /usr/bin/dig from bind9-dnsutils).

Small shell scripts cover the contract itself: exit statuses 0-3 and the
rest, signals, CRITICAL in and after warmup, the output format (first
line, long text, perfdata on later lines) and the perfdata parser through
crafted output, the perfdata-to-metric mapping and thresholds on it, a
command that hangs or leaves background children behind (cut at the
timeout, nothing survives gpcheck), a command that cannot be found,
environment and secrets, and what the command inherits (no result pipe,
SIGPIPE not ignored).
"""

import json
import os
import threading
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from gp import GRACE, GpTestCase, pid_alive, wait_until

PLUGINS = "/usr/lib/nagios/plugins"
DIG = "/usr/bin/dig"

# Must never appear in any output, on any path.
CANARY = "Canary-exec-5d1e"


def plugin(name):
    return os.path.join(PLUGINS, name)


class ExecCase(GpTestCase):
    """Helpers: write an exec probe, run it, look at the one probe."""

    def exec_ini(self, name="x", command="", **keys):
        keys.setdefault("attempts", "1")
        keys.setdefault("timeout", "5s")
        lines = ["[%s]" % name, "plugin = exec", "command = " + command]
        lines += ["%s = %s" % (k, v) for k, v in keys.items()]
        self.write("conf.d/%s.ini" % name, "\n".join(lines) + "\n")

    def script(self, body, name="probe.sh", mode=0o755):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write("#!/bin/sh\n" + body.lstrip("\n"))
        os.chmod(path, mode)
        return path

    def run_one(self, name="x", *extra, env=None):
        proc, doc, took = self.run_json(*extra, env=env)
        self.assertIsNotNone(doc, proc.stderr)
        return proc, self.probe(doc, name), took

    def check(self, command, name="x", **keys):
        self.exec_ini(name, command, **keys)
        return self.run_one(name)

    def config_error(self, command, *texts, name="x", line=3, **keys):
        """`gpcheck validate` refuses the probe (ABI 1.2 validate()): exit
        2, the texts on one error line at conf.d/NAME.ini:LINE."""
        self.exec_ini(name, command, **keys)
        proc = self.gp("validate")
        self.assertEqual(proc.returncode, 2, proc.stderr)
        where = "conf.d/%s.ini:%d: probe '%s': " % (name, line, name)
        lines = [l for l in proc.stderr.splitlines() if where in l]
        self.assertEqual(len(lines), 1, proc.stderr)
        for text in texts:
            self.assertIn(text, lines[0])
        return lines[0]

    def assert_outcome(self, probe, status, outcome, *texts):
        self.assertEqual(probe["status"], status, probe)
        self.assertEqual(probe["history"][-1]["outcome"], outcome, probe)
        for text in texts:
            self.assertIn(text, probe["message"])


class ContractTest(ExecCase):
    """Exit statuses, messages, and what the command gets to run with."""

    def test_exit_statuses(self):
        s = self.script('echo "STATE $1 here | x=1"\nexit "$1"\n')
        for code in range(5):
            self.exec_ini("e%d" % code, "%s, %d" % (s, code))
        proc, doc, _ = self.run_json()
        self.assertIsNotNone(doc, proc.stderr)
        want = {0: ("ok", "ready"), 1: ("warn", "degraded"),
                2: ("fail", "fatal"), 3: ("error", "unknown"),
                4: ("error", "unknown")}
        for code, (status, outcome) in want.items():
            p = self.probe(doc, "e%d" % code)
            self.assertEqual(p["status"], status, p)
            self.assertEqual(p["history"][-1]["outcome"], outcome, p)
            self.assertIn("STATE %d here" % code, p["message"])
            self.assertEqual(p["metrics"]["value"], 1)
            self.assertIn("run_time", p["metrics"])
        self.assertIn("exited 4, not a monitoring-plugins status",
                      self.probe(doc, "e4")["message"])
        self.assertEqual(doc["verdict"], "fail")

    def test_killed_by_signal(self):
        s = self.script('echo "about to crash"\nkill -SEGV $$\n')
        _, p, _ = self.check(s)
        self.assert_outcome(p, "error", "unknown", "killed by SIGSEGV",
                            "about to crash")

    def test_no_output(self):
        _, p, _ = self.check("/bin/true")
        self.assert_outcome(p, "ok", "ready", "exited 0 (OK) without output")

    def test_message_from_stderr_when_stdout_is_empty(self):
        s = self.script('echo "database is down" >&2\nexit 2\n')
        _, p, _ = self.check(s)
        self.assert_outcome(p, "fail", "fatal", "database is down")

    def test_critical_is_retried_in_warmup(self):
        # CRITICAL twice, then OK: with warmup the probe ends ok.
        counter = os.path.join(self.tmp, "n")
        s = self.script('''
            n=$(cat "$1" 2>/dev/null || echo 0); n=$((n + 1)); echo $n > "$1"
            if [ $n -lt 3 ]; then echo "CRITICAL - not yet ($n)"; exit 2; fi
            echo "OK - ready after $n"
            ''')
        _, p, _ = self.check("%s, %s" % (s, counter), warmup="20s",
                             warmup_interval="100ms")
        self.assert_outcome(p, "ok", "ready", "OK - ready after 3")
        self.assertEqual(len(p["history"]), 3)
        self.assertEqual(p["history"][0]["outcome"], "transient")

    def test_critical_fatal_even_in_warmup(self):
        s = self.script('echo "CRITICAL - no"\nexit 2\n')
        _, p, took = self.check(s, warmup="20s", on_critical="fatal")
        self.assert_outcome(p, "fail", "fatal", "CRITICAL - no")
        self.assertEqual(len(p["history"]), 1)
        self.assertLess(took, 10)

    def test_critical_retry_after_warmup(self):
        s = self.script('echo "CRITICAL - no"\nexit 2\n')
        _, p, _ = self.check(s, attempts="3", delay="50ms",
                             on_critical="retry")
        self.assert_outcome(p, "fail", "transient", "CRITICAL - no")
        self.assertEqual(len(p["history"]), 3)
        # The default: fatal once the warmup is over (here: no warmup).
        _, p, _ = self.check(s, attempts="3", delay="50ms")
        self.assert_outcome(p, "fail", "fatal")
        self.assertEqual(len(p["history"]), 1)

    def test_argv_has_no_shell(self):
        # Shell syntax is passed through as plain arguments.
        # ($$ is the config's escape for a literal $.)
        _, p, _ = self.check("/bin/echo, $$HOME, *, a\\x2cb")
        self.assert_outcome(p, "ok", "ready", "$HOME * a,b")

    def test_escapes_are_the_configuration_languages(self):
        # The escapes every shipped probe decodes (gp_sdk_unescape()): \t
        # and \\ are decoded, a backslash before anything else (a regular
        # expression's \d) passes unchanged. (The message shows the tab as
        # a space.)
        _, p, _ = self.check("/usr/bin/printf, %s/%s/%s, a\\tb, ^\\d+, "
                             "c\\\\x2c")
        self.assert_outcome(p, "ok", "ready", "a b/^\\d+/c\\x2c")

    def test_shell_mode(self):
        _, p, _ = self.check("echo \"OK - $$((40 + 2))\\x2c fine\"; exit 0",
                             shell="true")
        self.assert_outcome(p, "ok", "ready", "OK - 42, fine")

    def test_shell_mode_wants_one_item(self):
        self.config_error("echo a, b", "command: ", "one shell command line",
                          "\\x2c", shell="true")

    def test_command_not_found(self):
        # Judged by validate(), at the command's line, before anything runs.
        self.config_error("/nonexistent/check_thing, -H, x",
                          "command: cannot execute /nonexistent/check_thing",
                          "No such file or directory")
        self.config_error("no-such-command-gpcheck",
                          "cannot execute no-such-command-gpcheck",
                          "in PATH")
        # env's PATH is the one searched, as execvp() will.
        os.mkdir(os.path.join(self.tmp, "bin"))
        self.script("echo OK\n", name="bin/check_here")
        _, p, _ = self.check("check_here",
                             env="PATH=%s" % os.path.join(self.tmp, "bin"))
        self.assert_outcome(p, "ok", "ready", "OK")
        # A shell command line is the shell's to judge: a run-time failure.
        _, p, _ = self.check("no-such-command-gpcheck --help", shell="true")
        self.assert_outcome(p, "fail", "fatal", "command not found",
                            "no-such-command-gpcheck")

    def test_command_not_executable(self):
        s = self.script("echo hi\n", mode=0o644)
        self.config_error(s, "cannot execute", "not executable")
        self.config_error(self.tmp, "cannot execute", "not a regular file")

    def test_environment(self):
        s = self.script('echo "OK - $FOO $BAR $LC_NUMERIC $GPCHECK_PROBE '
                        '$GPCHECK_TIME_LEFT_MS"\n')
        _, p, _ = self.check(s, name="envprobe", env="FOO=a\\x2cb, BAR=c",
                             timeout="4s")
        self.assert_outcome(p, "ok", "ready", "OK - a,b c C envprobe ")
        left = int(p["message"].split()[-1])
        # (The core's clocks round to the millisecond either way.)
        self.assertTrue(0 < left <= 4010, p["message"])
        self.config_error(s, "env: item 1: not KEY=VALUE", line=4,
                          env="1FOO=x")

    def test_secret_env_never_shown(self):
        s = self.script('echo "OK - token is $TOKEN | \'$TOKEN\'=1"\n'
                        'echo "long output has $TOKEN"\n'
                        'echo "stderr has $TOKEN too" >&2\n')
        self.exec_ini("x", s, secret_env="TOKEN=" + CANARY)
        proc, p, _ = self.run_one("x", "-v")
        self.assert_outcome(p, "ok", "ready", "OK - token is ***")
        self.assertNotIn(CANARY, proc.stdout + proc.stderr)
        with open(os.path.join(self.tmp, "report.json")) as f:
            self.assertNotIn(CANARY, f.read())
        self.assertIn("stderr has *** too", proc.stderr)
        self.assertIn("long output has ***", proc.stderr)
        self.assertEqual(p["metrics"]["value"], 1)
        proc = self.gp("list")
        self.assertNotIn(CANARY, proc.stdout + proc.stderr)

    def test_result_pipe_not_inherited(self):
        # fd 3 is the attempt's result pipe: the command must not get it.
        s = self.script('if { echo garbage >&3; } 2>/dev/null; then\n'
                        '  echo "CRITICAL - fd 3 is open"; exit 2\n'
                        'fi\necho "OK - fd 3 closed"\n')
        _, p, _ = self.check(s)
        self.assert_outcome(p, "ok", "ready", "OK - fd 3 closed")

    def test_sigpipe_is_default(self):
        # The attempt ignores SIGPIPE; the command must not inherit that.
        _, p, _ = self.check("grep, SigIgn, /proc/self/status")
        self.assert_outcome(p, "ok", "ready")
        mask = int(p["message"].split()[-1], 16)
        self.assertFalse(mask & (1 << 12), p["message"])  # SIGPIPE is 13

    def test_big_output_is_capped(self):
        # 2 MB of output: read and thrown away past 64 KiB, never blocking.
        s = self.script('echo "OK - big | n=5"\n'
                        'head -c 2000000 /dev/zero | tr "\\0" "x"\n')
        _, p, took = self.check(s)
        self.assert_outcome(p, "ok", "ready", "OK - big")
        self.assertEqual(p["metrics"]["value"], 5)
        self.assertLess(took, 5)


class PerfdataTest(ExecCase):
    """The perfdata parser, through a script printing crafted output."""

    OUTPUT = r"""
printf '%s\n' \
  "OK - crafted | time=1.5s;1;2;0;10 'conn time'=250ms 'it''s'=3 size=2KB;;;;" \
  "long text line 1" \
  "long text line 2 | pct=12.5%;80;90 hits=42c load=0.5 bad=abc u=U" \
  "weird=3dBm late=7us disk=1MiB neg=-2.5e1 'a=b'=4 sci=1e3ms" \
  "dup=1 dup=2 x=1,5 =3 noequals"
"""

    def crafted(self, **keys):
        return self.check(self.script(self.OUTPUT), **keys)

    def test_every_item_in_output_order(self):
        _, p, _ = self.crafted()
        self.assert_outcome(p, "ok", "ready")
        self.assertEqual(p["message"], "OK - crafted")
        m = dict(p["metrics"])
        m.pop("run_time")
        self.assertEqual(m, {
            # s, ms, us -> ms, in output order
            "time": 1500.0, "time2": 250.0, "time3": 0.007, "time4": 1000.0,
            # KB is 1000 bytes, MiB 1024 * 1024
            "bytes": 2000.0, "bytes2": 1048576.0,
            "percent": 12.5,
            "count": 42.0,
            # no unit, an unknown unit: the number as printed; a label
            # seen twice counts once; 'U' and malformed items are skipped
            "value": 3.0, "value2": 0.5, "value3": 3.0, "value4": -25.0,
        })

    def test_mapping_picks_and_names(self):
        _, p, _ = self.crafted(
            perfdata="conn time:time, size:bytes2, load, it's:value3, a=b")
        self.assert_outcome(p, "ok", "ready")
        m = dict(p["metrics"])
        m.pop("run_time")
        # Listed labels only, in the option's order: `load` and `a=b` take
        # the first free value metric, it's the one it was given.
        self.assertEqual(m, {"time": 250.0, "bytes2": 2000.0, "value": 0.5,
                             "value3": 3.0, "value2": 4.0})

    def test_mapping_unit_mismatch_is_fatal(self):
        _, p, _ = self.crafted(perfdata="pct:time")
        self.assert_outcome(p, "fail", "fatal", "'pct'", "'time'",
                            "a percentage")

    def test_mapping_unknown_metric(self):
        s = self.script(self.OUTPUT)
        self.config_error(s, "perfdata: 'seconds' is not a metric", line=4,
                          perfdata="time:seconds")
        self.config_error(s, "perfdata: metric 'time' fed by two labels",
                          line=4, perfdata="time:time, size:time")

    def test_mapped_label_missing_is_not_an_error(self):
        _, p, _ = self.crafted(perfdata="nothere:time, time:time2")
        self.assert_outcome(p, "ok", "ready")
        self.assertEqual(p["metrics"]["time2"], 1500.0)
        self.assertNotIn("time", p["metrics"])

    def test_thresholds_on_perfdata(self):
        _, p, _ = self.crafted(warn_if="time > 1s")
        self.assertEqual(p["status"], "warn", p)
        self.assertIn("time > 1s", json.dumps(p))
        _, p, _ = self.crafted(fail_if="bytes >= 2KB, percent > 50%")
        self.assertEqual(p["status"], "fail", p)
        # An unknown metric is a configuration error before anything runs.
        self.exec_ini("x", "/bin/true", warn_if="latency > 1s")
        proc = self.gp("validate")
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("latency", proc.stderr)


class DeadlineTest(ExecCase):
    """A command that does not finish is cut at the timeout, with
    everything it started."""

    TIMEOUT = 1.0

    def pids(self, path):
        with open(path) as f:
            return [int(x) for x in f.read().split()]

    def assert_gone(self, path):
        pids = self.pids(path)
        self.assertTrue(pids)
        for pid in pids:
            self.assertTrue(wait_until(lambda: not pid_alive(pid), 5),
                            "pid %d survived gpcheck" % pid)

    def test_hang_is_cut(self):
        pids = os.path.join(self.tmp, "pids")
        s = self.script('echo $$ > "$1"\necho "starting"\nexec sleep 100\n')
        _, p, took = self.check("%s, %s" % (s, pids),
                                timeout="%gs" % self.TIMEOUT)
        self.assertEqual(p["status"], "timeout", p)
        self.assertIn("timed out after", p["message"])
        self.assertIn("starting", p["message"])
        self.assertLess(took, self.TIMEOUT + GRACE)
        self.assert_gone(pids)

    def test_background_child_is_killed(self):
        pids = os.path.join(self.tmp, "pids")
        cmd = ("sleep 100 & echo $$! > %s; echo $$$$ >> %s; sleep 100"
               % (pids, pids))
        _, p, took = self.check(cmd, shell="true",
                                timeout="%gs" % self.TIMEOUT)
        self.assertEqual(p["status"], "timeout", p)
        self.assertLess(took, self.TIMEOUT + GRACE)
        self.assertEqual(len(self.pids(pids)), 2)
        self.assert_gone(pids)

    def test_background_child_holding_stdout(self):
        # The command exits at once but leaves a child holding its stdout
        # open: its exit, not the end of the output, ends the wait.
        pids = os.path.join(self.tmp, "pids")
        cmd = "sleep 100 & echo $$! > %s; echo 'OK - left a child'" % pids
        _, p, took = self.check(cmd, shell="true", timeout="5s")
        self.assert_outcome(p, "ok", "ready", "OK - left a child")
        self.assertLess(took, 4)
        self.assert_gone(pids)


class HttpHandler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        if self.path.startswith("/status/"):
            code = int(self.path.rsplit("/", 1)[1])
            body = b"status %d\n" % code
        else:
            code, body = 200, b"hello from the test server\n"
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class MonitoringPluginsTest(ExecCase):
    """Real monitoring-plugins against real servers."""

    @classmethod
    def setUpClass(cls):
        cls.http = ThreadingHTTPServer(("127.0.0.1", 0), HttpHandler)
        cls.http.daemon_threads = True
        thread = threading.Thread(target=cls.http.serve_forever,
                                  kwargs={"poll_interval": 0.1}, daemon=True)
        thread.start()
        cls.addClassCleanup(cls.http.server_close)
        cls.addClassCleanup(cls.http.shutdown)

    def test_check_tcp(self):
        a = self.listener("accept")
        _, p, _ = self.check("%s, -H, 127.0.0.1, -p, %d, -t, 3"
                             % (plugin("check_tcp"), a.port))
        self.assert_outcome(p, "ok", "ready", "TCP OK")
        self.assertIn("time", p["metrics"])
        self.assertGreaterEqual(p["metrics"]["time"], 0)
        closed = self.listener("closed")
        _, p, _ = self.check("%s, -H, 127.0.0.1, -p, %d, -t, 3"
                             % (plugin("check_tcp"), closed.port))
        self.assert_outcome(p, "fail", "fatal", "refused")

    def test_check_tcp_retried_through_warmup(self):
        late = self.listener("late", delay=1.0)
        _, p, took = self.check("%s, -H, 127.0.0.1, -p, %d, -t, 2"
                                % (plugin("check_tcp"), late.port),
                                warmup="15s", warmup_interval="200ms")
        self.assert_outcome(p, "ok", "ready", "TCP OK")
        self.assertGreater(len(p["history"]), 1)
        self.assertEqual(p["history"][0]["outcome"], "transient")
        self.assertLess(took, 10)

    def test_check_http(self):
        port = self.http.server_address[1]
        _, p, _ = self.check("%s, -H, 127.0.0.1, -p, %d, -u, /, -s, hello, "
                             "-t, 3" % (plugin("check_http"), port))
        self.assert_outcome(p, "ok", "ready", "HTTP OK")
        self.assertIn("time", p["metrics"])
        self.assertGreater(p["metrics"]["bytes"], 0)
        _, p, _ = self.check("%s, -H, 127.0.0.1, -p, %d, -u, /status/503, "
                             "-t, 3" % (plugin("check_http"), port))
        self.assert_outcome(p, "fail", "fatal", "503")
        _, p, _ = self.check("%s, -H, 127.0.0.1, -p, %d, -s, not-there, "
                             "-t, 3" % (plugin("check_http"), port))
        self.assert_outcome(p, "fail", "fatal", "not found")

    def test_check_http_threshold(self):
        # check_http's own -w/-c against gpcheck's threshold on the same
        # perfdata: both say the same thing in their own way.
        port = self.http.server_address[1]
        _, p, _ = self.check("%s, -H, 127.0.0.1, -p, %d, -t, 3"
                             % (plugin("check_http"), port),
                             perfdata="time:time, size:bytes",
                             fail_if="bytes < 1MB")
        self.assertEqual(p["status"], "fail", p)
        self.assertIn("bytes", json.dumps(p["metrics"]))

    def test_check_pgsql(self):
        from postgres import Postgres
        pg = Postgres(max_connections=8)
        self.addCleanup(pg.stop)
        pg.start()
        pg.create_role("app", CANARY)
        pg.create_db("appdb", owner="app")
        cmd = ("%s, -H, 127.0.0.1, -P, %d, -d, appdb, -l, app, -t, 3"
               % (plugin("check_pgsql"), pg.port))
        env = {"PGPASSFILE": os.path.join(self.tmp, "no-pgpass")}
        self.exec_ini("x", cmd, secret_env="PGPASSWORD=" + CANARY)
        proc, p, _ = self.run_one("x", "-v", env=env)
        self.assert_outcome(p, "ok", "ready", "OK - database appdb")
        self.assertIn("time", p["metrics"])
        self.assertNotIn(CANARY, proc.stdout + proc.stderr)
        # A query with check_pgsql's own thresholds: WARNING is warn, and
        # the query's value (on the second line) is a metric.
        self.exec_ini("x", cmd + ", -q, select 5, -W, 3, -C, 10",
                      secret_env="PGPASSWORD=" + CANARY)
        _, p, _ = self.run_one("x", env=env)
        self.assert_outcome(p, "warn", "degraded", "OK - database appdb")
        self.assertEqual(p["metrics"]["value"], 5)
        # A wrong password: CRITICAL, fatal after the warmup.
        self.exec_ini("x", cmd, secret_env="PGPASSWORD=wrong-" + CANARY)
        proc, p, _ = self.run_one("x", "-v", env=env)
        self.assert_outcome(p, "fail", "fatal", "password authentication")
        self.assertNotIn(CANARY, proc.stdout + proc.stderr)

    @unittest.skipUnless(os.access(DIG, os.X_OK),
                         "check_dig needs /usr/bin/dig (bind9-dnsutils)")
    def test_check_dig(self):
        from dns import Dnsmasq
        dns = Dnsmasq(["--local=/test/", "--host-record=web.test,10.0.0.5"])
        self.addCleanup(dns.stop)
        dns.start()
        base = ("%s, -H, 127.0.0.1, -p, %d, -l, web.test, -T, A, -t, 3"
                % (plugin("check_dig"), dns.port))
        _, p, _ = self.check(base + ", -a, 10.0.0.5")
        self.assert_outcome(p, "ok", "ready", "DNS OK")
        self.assertIn("time", p["metrics"])
        _, p, _ = self.check(base + ", -a, 10.9.9.9")
        self.assertIn(p["status"], ("warn", "fail"), p)


if __name__ == "__main__":
    unittest.main()
