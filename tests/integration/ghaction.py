"""tests/integration/ghaction.py - runs a composite GitHub Action's steps on
this machine as GitHub's runner does, for test_install.py (action.yml from
its install step on) and test_examples.py (the example workflow's use of
it, gate step only, with the gpcheck under test).

Each `${{ ... }}` the steps use (inputs.X, github.action_path,
github.workspace, runner.temp, steps.ID.outputs.X) is substituted, an
unknown expression is an error rather than left in place; `run:` is
written to a file and executed by `bash --noprofile --norc -eo pipefail`
(GitHub's bash) with the step's env and working directory; the
GITHUB_OUTPUT, GITHUB_PATH and GITHUB_ENV files are read back after each
step. Every step is bounded by a timeout.
"""

import os
import re
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.normpath(os.path.join(HERE, "..", ".."))
EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


class Runner:
    """One use of a composite action: its inputs, a workspace, runner.temp."""

    def __init__(self, action, inputs, workspace, runner_temp, env,
                 timeout=600, action_path=SRC):
        self.action = action
        self.inputs = {k: str(v.get("default", ""))
                       for k, v in action.get("inputs", {}).items()}
        unknown = set(inputs) - set(self.inputs)
        if unknown:
            raise ValueError("undeclared inputs %s" % sorted(unknown))
        self.inputs.update({k: str(v) for k, v in inputs.items()})
        self.workspace = workspace
        self.temp = runner_temp
        self.env = dict(env)
        self.timeout = timeout
        self.action_path = action_path
        self.path = []  # GITHUB_PATH lines, newest first
        self.outputs = {}  # step id -> {name: value}
        self.logs = []  # (step name, CompletedProcess)

    def expr(self, text):
        def one(m):
            e = m.group(1)
            if e.startswith("inputs."):
                return self.inputs[e[len("inputs."):]]
            if e == "github.action_path":
                return self.action_path
            if e == "github.workspace":
                return self.workspace
            if e == "runner.temp":
                return self.temp
            m2 = re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", e)
            if m2:
                return self.outputs.get(m2.group(1), {}).get(m2.group(2), "")
            raise ValueError("an expression the test runner does not know: "
                             + e)
        return EXPR.sub(one, str(text))

    @staticmethod
    def read_outputs(path):
        """NAME=VALUE and NAME<<DELIM ... DELIM lines."""
        out = {}
        with open(path) as f:
            lines = f.read().splitlines()
        i = 0
        while i < len(lines):
            ln = lines[i]
            m = re.match(r"^([\w-]+)<<(\S+)$", ln)
            if m:
                end = lines.index(m.group(2), i + 1)
                out[m.group(1)] = "\n".join(lines[i + 1:end])
                i = end + 1
                continue
            if "=" in ln:
                k, v = ln.split("=", 1)
                out[k] = v
            i += 1
        return out

    def run(self, skip=()):
        """Runs the steps (but those whose id is in skip) until one fails;
        returns that step's exit status, 0 when all passed."""
        if self.action["runs"]["using"] != "composite":
            raise ValueError("not a composite action")
        for n, step in enumerate(self.action["runs"]["steps"]):
            if step.get("id") in skip:
                continue
            if step.get("shell") != "bash":
                raise ValueError("step %r: shell is not bash" % step.get("name"))
            script = os.path.join(self.temp, "step-%d.sh" % n)
            with open(script, "w") as f:
                f.write(self.expr(step["run"]))
            files = {}
            for name in ("GITHUB_OUTPUT", "GITHUB_PATH", "GITHUB_ENV",
                         "GITHUB_STEP_SUMMARY"):
                files[name] = os.path.join(self.temp, "%s-%d" % (name, n))
                open(files[name], "w").close()
            env = dict(self.env, GITHUB_ACTION_PATH=self.action_path,
                       GITHUB_WORKSPACE=self.workspace, RUNNER_TEMP=self.temp,
                       CI="true", GITHUB_ACTIONS="true", **files)
            env["PATH"] = os.pathsep.join(self.path + [env.get("PATH", "")])
            for k, v in (step.get("env") or {}).items():
                env[k] = self.expr(v)
            cwd = os.path.join(self.workspace,
                               self.expr(step.get("working-directory", ".")))
            proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo",
                                   "pipefail", script], env=env, cwd=cwd,
                                  capture_output=True, text=True,
                                  timeout=self.timeout,
                                  stdin=subprocess.DEVNULL)
            self.logs.append((step.get("name"), proc))
            if "id" in step:
                self.outputs[step["id"]] = self.read_outputs(
                    files["GITHUB_OUTPUT"])
            with open(files["GITHUB_PATH"]) as f:
                self.path = [ln for ln in f.read().splitlines() if ln] + \
                    self.path
            if proc.returncode != 0:
                return proc.returncode
        return 0

    def action_outputs(self):
        return {k: self.expr(v["value"])
                for k, v in self.action.get("outputs", {}).items()}

    def log(self):
        return "\n".join("== %s (exit %d)\n%s%s" % (name, p.returncode,
                                                     p.stdout, p.stderr[-5000:])
                         for name, p in self.logs)
