"""One job of a workflow run, executed as a GitHub-hosted runner would.

Each ``run:`` step is a bash script with the step's ``env:`` and the runner's variables and
files; ``uses:`` steps are the few actions the workflows use, emulated (see ``actions``), and the
composite action of this repository, whose own ``run:`` steps run the same way. The process
environment is built from nothing: no variable of the test process reaches a step unless the
workflow puts it there (that is how secrets reach a job on GitHub, too).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ruamel.yaml import YAML

from tests.github.emulate import actions
from tests.github.emulate.expr import (
    ExpressionError,
    Missing,
    Status,
    condition,
    lookup_in,
    render,
    text_of,
)
from tests.github.emulate.files import commands, read_pairs, read_paths

if TYPE_CHECKING:
    from tests.github.emulate.github import Run

HERE = Path(__file__).resolve().parent
DEFAULT_SHELL = ["bash", "-e"]  # `run:` without `shell:` on ubuntu
BASH = ["bash", "--noprofile", "--norc", "-eo", "pipefail"]  # `shell: bash`


def load_yaml(text: str) -> dict[str, Any]:
    data = YAML(typ="safe").load(text)
    assert isinstance(data, dict)
    return data


@dataclass
class StepRecord:
    name: str
    outcome: str  # success | failure | skipped
    log: str = ""
    outputs: dict[str, str] = field(default_factory=dict)


@dataclass
class JobResult:
    key: str
    result: str  # success | failure | skipped | cancelled
    outputs: dict[str, str] = field(default_factory=dict)
    steps: list[StepRecord] = field(default_factory=list)
    summary: str = ""
    annotations: list[tuple[str, str, str]] = field(default_factory=list)
    secrets_released: bool = False

    @property
    def log(self) -> str:
        return "\n".join(f"## {s.name} [{s.outcome}]\n{s.log}" for s in self.steps)


class Job:
    """The steps of one job (one matrix leg), run in order in a fresh workspace."""

    def __init__(
        self,
        run: Run,
        job_id: str,
        job: dict[str, Any],
        *,
        key: str,
        matrix: dict[str, Any],
        needs: dict[str, Any],
        secrets: dict[str, str],
    ) -> None:
        self.run = run
        self.em = run.em
        self.job_id = job_id
        self.job = job
        self.key = key
        self.matrix = matrix
        self.needs = needs
        self.secrets = secrets
        self.home = run.folder / key.replace(" ", "_").replace("/", "_")
        self.workspace = self.home / "work" / "specs"
        self.temp = self.home / "temp"
        for folder in (self.workspace, self.temp, self.home / "files", self.home / "home"):
            folder.mkdir(parents=True, exist_ok=True)
        self.status = Status()
        self.steps: dict[str, dict[str, Any]] = {
            s["id"]: _unrun() for s in job["steps"] if "id" in s
        }
        self.records: list[StepRecord] = []
        self.env_file_values: dict[str, str] = {}
        self.extra_path: list[str] = []
        self.summary: list[str] = []
        self.annotations: list[tuple[str, str, str]] = []
        self.counter = 0
        self.permissions = run.permissions_of(job)
        self.result = JobResult(key, "success", secrets_released=bool(secrets))

    # --- contexts ----------------------------------------------------------------------

    def github(self, action_path: Path | None = None) -> dict[str, Any]:
        context = dict(self.run.github_context())
        context["workspace"] = str(self.workspace)
        context["job"] = self.job_id
        if action_path is not None:
            context["action_path"] = str(action_path)
        return context

    def contexts(self, env: dict[str, str], steps: dict[str, Any]) -> dict[str, Any]:
        return {
            "github": self.github(),
            "env": dict(env),
            "inputs": self.run.inputs_context(),
            "vars": dict(self.em.variables),
            # An unset secret reads as empty on GitHub, not as an error.
            "secrets": Missing({**self.secrets, "GITHUB_TOKEN": self.em.gh.token}),
            "needs": self.needs,
            "matrix": self.matrix,
            "steps": steps,
            "runner": {"temp": str(self.temp), "os": "Linux", "arch": "X64"},
            "job": {"status": "failure" if self.status.failed else "success"},
            "strategy": {"job-index": 0},
        }

    def base_env(self) -> dict[str, str]:
        venv = str(Path(sys.executable).parent)
        path = os.pathsep.join(
            [
                *reversed(self.extra_path),
                str(HERE / "bin"),
                venv,
                "/usr/local/bin",
                "/usr/bin",
                "/bin",
            ]
        )
        run = self.run
        return {
            "PATH": path,
            "HOME": str(self.home / "home"),
            "LANG": "C.UTF-8",
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": str(self.workspace),
            "GITHUB_SHA": run.sha,
            "GITHUB_REF": run.ref,
            "GITHUB_REF_NAME": run.ref.rsplit("/", 1)[-1],
            "GITHUB_EVENT_NAME": run.event_name,
            "GITHUB_EVENT_PATH": str(run.event_path),
            "GITHUB_ACTOR": run.actor,
            "GITHUB_TRIGGERING_ACTOR": run.actor,
            "GITHUB_RUN_ID": str(run.id),
            "GITHUB_RUN_NUMBER": str(run.id),
            "GITHUB_RUN_ATTEMPT": "1",
            "GITHUB_REPOSITORY": self.em.repo,
            "GITHUB_REPOSITORY_OWNER": self.em.repo.split("/")[0],
            "GITHUB_SERVER_URL": self.em.server_url,
            "GITHUB_API_URL": self.em.gh.base_url,
            "GITHUB_JOB": self.job_id,
            "GITHUB_WORKFLOW": run.name,
            "RUNNER_TEMP": str(self.temp),
            "RUNNER_OS": "Linux",
            "RUNNER_ARCH": "X64",
            "RUNNER_NAME": "GitHub Actions 1",
            "RUNNER_ENVIRONMENT": "github-hosted",
            "EMULATE_ACTION_ROOT": str(self.em.action_root),
            "EMULATE_PYTHON": sys.executable,
            "EMULATE_PIP_LOG": str(self.em.pip_log),
            **self.env_file_values,
        }

    # --- running -----------------------------------------------------------------------

    def execute(self) -> JobResult:
        job_env = self._env_block({**self.run.workflow.get("env", {})}, {}, "workflow env")
        job_env = self._env_block(self.job.get("env", {}), job_env, "job env")
        for step in self.job["steps"]:
            self._step(step, job_env, self.steps, action_path=None)
        self.result.result = "failure" if self.status.failed else "success"
        lookup = lookup_in(self.contexts(job_env, self.steps), f"{self.key} outputs")
        for name, value in (self.job.get("outputs") or {}).items():
            self.result.outputs[name] = text_of(render(value, lookup, self.status))
        self.result.steps = self.records
        self.result.summary = "".join(self.summary)
        self.result.annotations = self.annotations
        return self.result

    def _env_block(self, block: dict[str, Any], env: dict[str, str], where: str) -> dict[str, str]:
        out = dict(env)
        lookup = lookup_in(self.contexts(env, self.steps), where)
        for name, value in (block or {}).items():
            out[name] = text_of(render(value, lookup, self.status))
        return out

    def _step(
        self,
        step: dict[str, Any],
        env: dict[str, str],
        steps: dict[str, Any],
        *,
        action_path: Path | None,
        inputs: dict[str, str] | None = None,
    ) -> None:
        contexts = self.contexts(env, steps)
        if action_path is not None:
            contexts["github"] = self.github(action_path)
            contexts["inputs"] = inputs or {}
            del contexts["secrets"], contexts["matrix"], contexts["needs"]
        label = step.get("name") or step.get("id") or step.get("uses") or step.get("run", "")[:30]
        where = f"{self.key}: step {label!r}"
        lookup = lookup_in(contexts, where)
        name = text_of(render(step.get("name") or step.get("uses") or "run", lookup, self.status))
        if not condition(step.get("if"), lookup, self.status):
            self.records.append(StepRecord(name, "skipped"))
            if "id" in step:
                steps[step["id"]] = {
                    "outputs": Missing(),
                    "outcome": "skipped",
                    "conclusion": "skipped",
                }
            return
        step_env = dict(env)
        for key, value in (step.get("env") or {}).items():
            step_env[key] = text_of(
                render(value, lookup_in({**contexts, "env": step_env}, where), self.status)
            )
        if "run" in step:
            code, log, outputs = self._script(step, step_env, lookup, action_path)
        else:
            with_ = {
                k: text_of(render(v, lookup, self.status))
                for k, v in (step.get("with") or {}).items()
            }
            code, log, outputs = self._uses(step["uses"], with_, step_env, where)
        ok = code == 0
        if not ok and step.get("continue-on-error"):
            ok = True
        self.records.append(StepRecord(name, "success" if code == 0 else "failure", log, outputs))
        if "id" in step:
            outcome = "success" if code == 0 else "failure"
            steps[step["id"]] = {
                "outputs": Missing(outputs),
                "outcome": outcome,
                "conclusion": "success" if ok else "failure",
            }
        if not ok:
            self.status.failed = True

    def _files(self) -> dict[str, Path]:
        self.counter += 1
        folder = self.home / "files" / str(self.counter)
        folder.mkdir()
        names = {
            "GITHUB_OUTPUT": "output",
            "GITHUB_ENV": "env",
            "GITHUB_PATH": "path",
            "GITHUB_STEP_SUMMARY": "summary",
        }
        files = {}
        for variable, filename in names.items():
            files[variable] = folder / filename
            files[variable].write_text("", encoding="utf-8")
        return files

    def _script(
        self, step: dict[str, Any], env: dict[str, str], lookup: Any, action_path: Path | None
    ) -> tuple[int, str, dict[str, str]]:
        shell = step.get("shell")
        if action_path is not None and shell != "bash":
            raise AssertionError(f"{self.key}: a composite run: step needs shell: bash")
        command = BASH if shell == "bash" else DEFAULT_SHELL
        if shell not in (None, "bash"):
            raise AssertionError(f"{self.key}: shell {shell!r} is not emulated")
        files = self._files()
        script = self.home / "files" / str(self.counter) / "script.sh"
        script.write_text(step["run"], encoding="utf-8")
        workdir = self.workspace
        if "working-directory" in step:
            workdir = self.workspace / text_of(
                render(step["working-directory"], lookup, self.status)
            )
        process_env = {**self.base_env(), **env, **{k: str(v) for k, v in files.items()}}
        if action_path is not None:
            process_env["GITHUB_ACTION_PATH"] = str(action_path)
        done = subprocess.run(
            [*command, str(script)], cwd=workdir, env=process_env, capture_output=True, text=True,
            timeout=600, check=False,
        )  # fmt: skip
        log = done.stdout + done.stderr
        self._after(files, log)
        return done.returncode, log, read_pairs(files["GITHUB_OUTPUT"])

    def _after(self, files: dict[str, Path], log: str) -> None:
        self.env_file_values.update(read_pairs(files["GITHUB_ENV"]))
        self.extra_path.extend(read_paths(files["GITHUB_PATH"]))
        self.summary.append(files["GITHUB_STEP_SUMMARY"].read_text(encoding="utf-8"))
        for command, params, message in commands(log):
            if command in ("error", "warning", "notice"):
                self.annotations.append((command, params, message))

    def _uses(
        self, uses: str, with_: dict[str, str], env: dict[str, str], where: str
    ) -> tuple[int, str, dict[str, str]]:
        name = uses.split("@", 1)[0]
        if uses == "./" or uses.startswith("./"):
            local = self.workspace / uses
            if not (local / "action.yml").exists():
                return (
                    1,
                    f"Error: Can't find 'action.yml' under '{local}'. "
                    "Did you forget to run actions/checkout?",
                    {},
                )
            return self._composite(local, with_, env, where)
        if name == self.em.action_name:
            return self._composite(self.em.action_root, with_, env, where)
        emulated = actions.EMULATED.get(name)
        if emulated is None:
            raise AssertionError(f"{where}: action {uses} is not emulated")
        return emulated(self, with_, env)

    def _composite(
        self, root: Path, with_: dict[str, str], env: dict[str, str], where: str
    ) -> tuple[int, str, dict[str, str]]:
        action = load_yaml((root / "action.yml").read_text(encoding="utf-8"))
        declared = action.get("inputs") or {}
        unknown = set(with_) - set(declared)
        if unknown:
            raise AssertionError(f"{where}: inputs {sorted(unknown)} are not inputs of the action")
        inputs: dict[str, str] = {}
        defaults_lookup = lookup_in(self.contexts(env, self.steps), f"{where} (defaults)")
        for name, spec in declared.items():
            if name in with_:
                inputs[name] = with_[name]
            elif spec.get("required") and "default" not in spec:
                raise AssertionError(f"{where}: the required input {name} is not given")
            else:
                inputs[name] = text_of(
                    render(spec.get("default", ""), defaults_lookup, self.status)
                )
        inner: dict[str, Any] = {s["id"]: _unrun() for s in action["runs"]["steps"] if "id" in s}
        outer_status = self.status
        self.status = Status()
        logs: list[str] = []
        first = len(self.records)
        for step in action["runs"]["steps"]:
            self._step(step, env, inner, action_path=root, inputs=inputs)
        failed = self.status.failed
        for record in self.records[first:]:
            logs.append(f"### {record.name} [{record.outcome}]\n{record.log}")
        del self.records[first:]
        contexts = self.contexts(env, inner)
        contexts["inputs"] = inputs
        lookup = lookup_in(contexts, f"{where} (action outputs)")
        outputs = {
            name: text_of(render(spec["value"], lookup, self.status))
            for name, spec in (action.get("outputs") or {}).items()
        }
        self.status = outer_status
        return (1 if failed else 0), "\n".join(logs), outputs


def _unrun() -> dict[str, Any]:
    return {"outputs": Missing(), "outcome": Missing(), "conclusion": Missing()}


def copy_tree(source: Path, target: Path) -> None:
    if source.is_dir():
        shutil.copytree(source, target, dirs_exist_ok=True)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def dump_event(path: Path, payload: dict[str, Any]) -> None:
    path.write_text(json.dumps(payload, indent=2), encoding="utf-8")


__all__ = ["ExpressionError", "Job", "JobResult", "StepRecord", "copy_tree", "dump_event"]
