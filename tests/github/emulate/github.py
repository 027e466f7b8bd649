"""GitHub's side of a workflow run: events, triggers, concurrency groups, needs, environments.

Runs are scheduled as GitHub does: per concurrency group one run in progress and at most one
pending; a newer pending run cancels the older pending one (``cancel-in-progress: true`` also
cancels the one in progress). A run in progress holds its group while a job waits for an
environment's approval; the test releases the gate with ``Run.approve``. Everything runs in
this process, one job at a time, so a test says exactly what happens in which order.
"""

from __future__ import annotations

import fnmatch
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.github.conftest import REPO, FakeGitHub
from tests.github.emulate.expr import lookup_in, payload, render, text_of
from tests.github.emulate.origin import Origin, PullRequest
from tests.github.emulate.runner import Job, JobResult, dump_event, load_yaml

SERVER = "https://github.com"


@dataclass
class Environment:
    """A GitHub environment: its secrets, released only to its jobs, after approval."""

    secrets: dict[str, str] = field(default_factory=dict)
    reviewers: bool = False


@dataclass
class Run:
    em: GitHubEmulator
    id: int
    name: str
    workflow: dict[str, Any]
    event_name: str
    event: dict[str, Any]
    sha: str
    ref: str
    actor: str
    folder: Path
    inputs: dict[str, Any] = field(default_factory=dict)
    status: str = "queued"  # queued | pending | in_progress | waiting | completed
    conclusion: str | None = None  # success | failure | cancelled
    group: str | None = None
    jobs: dict[str, JobResult] = field(default_factory=dict)
    approved: set[str] = field(default_factory=set)
    artifacts: dict[str, dict[str, bytes]] = field(default_factory=dict)
    junit: list[str] = field(default_factory=list)
    order: list[str] = field(default_factory=list)  # job keys in the order they ran

    @property
    def event_path(self) -> Path:
        return self.folder / "event.json"

    @property
    def html_url(self) -> str:
        return f"{SERVER}/{REPO}/actions/runs/{self.id}"

    def github_context(self) -> dict[str, Any]:
        return {
            "token": self.em.gh.token,
            "sha": self.sha,
            "ref": self.ref,
            "ref_name": self.ref.rsplit("/", 1)[-1],
            "event_name": self.event_name,
            "event": payload(self.event),
            "repository": REPO,
            "repository_owner": REPO.split("/")[0],
            "run_id": str(self.id),
            "run_number": str(self.id),
            "run_attempt": "1",
            "actor": self.actor,
            "triggering_actor": self.actor,
            "server_url": SERVER,
            "api_url": self.em.gh.base_url,
            "workflow": self.name,
            "head_ref": self.event.get("pull_request", {}).get("head", {}).get("ref", ""),
            "base_ref": self.event.get("pull_request", {}).get("base", {}).get("ref", ""),
        }

    def inputs_context(self) -> dict[str, Any]:
        """The dispatch inputs; on other events each declared input is null, as on GitHub."""
        on = _on(self.workflow) or {}
        dispatch = (on.get("workflow_dispatch") if isinstance(on, dict) else None) or {}
        declared = {name: None for name in dispatch.get("inputs") or {}}
        return {**declared, **self.inputs}

    def permissions_of(self, job: dict[str, Any]) -> dict[str, str]:
        declared = job.get("permissions", self.workflow.get("permissions"))
        if declared is None:
            return {"contents": "write", "pull-requests": "write", "actions": "write"}
        if declared == "read-all":
            return {"contents": "read", "pull-requests": "read", "actions": "read"}
        if declared == "write-all":
            return {"contents": "write", "pull-requests": "write", "actions": "write"}
        assert isinstance(declared, dict)
        return {str(k): str(v) for k, v in declared.items()}

    def approve(self, environment: str) -> None:
        """A required reviewer approves the waiting deployment to ``environment``."""
        assert self.status == "waiting", f"run {self.id} is {self.status}, not waiting"
        self.approved.add(environment)
        self.status = "in_progress"
        self.em.settle()

    def job(self, prefix: str) -> JobResult:
        found = [r for k, r in self.jobs.items() if k == prefix or k.startswith(prefix + " (")]
        assert len(found) == 1, f"run {self.id}: jobs {sorted(self.jobs)}, wanted {prefix}"
        return found[0]

    @property
    def waiting_for(self) -> str | None:
        return self.em.waiting.get(self.id)

    # --- running -------------------------------------------------------------------------

    def advance(self) -> None:
        """Run every job that can run now; stop at an environment awaiting approval."""
        jobs: dict[str, Any] = self.workflow["jobs"]
        results: dict[str, str] = {}
        outputs: dict[str, dict[str, str]] = {}
        for key, result in self.jobs.items():
            job_id = key.split(" (", 1)[0]
            previous = results.get(job_id)
            results[job_id] = "failure" if "failure" in (previous, result.result) else result.result
            outputs.setdefault(job_id, {}).update(result.outputs)
        for job_id in _ordered(jobs):
            if job_id in results:
                continue
            job = jobs[job_id]
            needs = _needs(job)
            needs_context = {
                n: {"result": results[n], "outputs": outputs.get(n, {})} for n in needs
            }
            lookup = lookup_in(
                {"github": self.github_context(), "needs": needs_context,
                 "inputs": self.inputs_context(),
                 "vars": dict(self.em.variables)},
                f"{self.name}: job {job_id}",
            )  # fmt: skip
            from tests.github.emulate.expr import Status, condition

            status = Status(failed=any(results[n] in ("failure", "cancelled") for n in needs))
            skipped_need = any(results[n] == "skipped" for n in needs)
            if (skipped_need and "always()" not in str(job.get("if", ""))) or not condition(
                job.get("if"), lookup, status
            ):
                self.jobs[job_id] = JobResult(job_id, "skipped")
                results[job_id] = "skipped"
                self.order.append(job_id)
                continue
            environment = job.get("environment")
            if isinstance(environment, dict):
                environment = environment["name"]
            secrets: dict[str, str] = dict(self.em.secrets)
            if environment is not None:
                environment = text_of(render(environment, lookup))
                env = self.em.environments[environment]
                if env.reviewers and environment not in self.approved:
                    self.status = "waiting"
                    self.em.waiting[self.id] = environment
                    return None
                self.em.waiting.pop(self.id, None)
                secrets.update(env.secrets)
            legs = _legs(job.get("strategy", {}).get("matrix"), lookup)
            fail_fast = job.get("strategy", {}).get("fail-fast", True)
            failed = False
            for leg in legs:
                key = job_id if not leg else f"{job_id} ({', '.join(str(v) for v in leg.values())})"
                if failed and fail_fast:
                    self.jobs[key] = JobResult(key, "cancelled")
                    continue
                runner = Job(
                    self, job_id, job, key=key, matrix=leg, needs=needs_context, secrets=secrets
                )
                self.jobs[key] = runner.execute()
                self.order.append(key)
                failed = failed or self.jobs[key].result == "failure"
            return self.advance()
        self.status = "completed"
        self.conclusion = (
            "failure" if any(r.result == "failure" for r in self.jobs.values()) else "success"
        )
        return None


def _on(workflow: dict[str, Any]) -> Any:
    """The workflow's triggers (``on:``; YAML 1.2 keeps it a string)."""
    return workflow.get("on")


def _needs(job: dict[str, Any]) -> list[str]:
    needs = job.get("needs", [])
    return [needs] if isinstance(needs, str) else list(needs)


def _ordered(jobs: dict[str, Any]) -> list[str]:
    done: list[str] = []
    while len(done) < len(jobs):
        for job_id, job in jobs.items():
            if job_id not in done and all(n in done for n in _needs(job)):
                done.append(job_id)
    return done


def _legs(matrix: Any, lookup: Any) -> list[dict[str, Any]]:
    if not matrix:
        return [{}]
    matrix = render(matrix, lookup) if isinstance(matrix, str) else matrix
    unknown = set(matrix) - {"include"} - {k for k, v in matrix.items() if isinstance(v, list)}
    if unknown:
        raise AssertionError(f"matrix keys {sorted(unknown)} are not emulated")
    keys = [k for k in matrix if k != "include"]
    return [
        dict(zip(keys, values, strict=True))
        for values in itertools.product(*(matrix[k] for k in keys))
    ]


class GitHubEmulator:
    """The repository on GitHub: its origin, workflows, secrets, environments and runs."""

    def __init__(
        self, root: Path, origin: Origin, gh: FakeGitHub, action_root: Path, action_name: str
    ) -> None:
        self.root = root
        self.origin = origin
        self.gh = gh
        self.action_root = action_root
        self.action_name = action_name
        self.repo = REPO
        self.server_url = SERVER
        self.private = True
        self.secrets: dict[str, str] = {}
        self.variables: dict[str, str] = {}
        self.environments: dict[str, Environment] = {}
        self.runs: list[Run] = []
        self.runs_by_id: dict[int, Run] = {}
        self.waiting: dict[int, str] = {}
        self.pip_log = root / "pip.log"
        self.next_run = 1000

    # --- events ----------------------------------------------------------------------------

    def workflows(self, sha: str) -> dict[str, dict[str, Any]]:
        """The workflow files at ``sha``, as GitHub reads them for an event on that commit."""
        from tests.github.emulate.origin import git

        names = git(self.origin.bare, "ls-tree", "--name-only", sha, ".github/workflows/").split()
        found = {}
        for name in names:
            if name.endswith((".yml", ".yaml")):
                found[Path(name).name] = load_yaml(self.origin.show(sha, name))
        return found

    def _trigger(self, event_name: str, event: dict[str, Any], sha: str, ref: str, *,
                 changed: list[str] | None = None, only: str | None = None,
                 inputs: dict[str, Any] | None = None,
                 actor: str = "octocat") -> list[Run]:  # fmt: skip
        started = []
        for filename, workflow in sorted(self.workflows(sha).items()):
            on = _on(workflow)
            if only is not None and filename != only:
                continue
            if not isinstance(on, dict) or event_name not in on:
                continue
            spec = on[event_name] or {}
            if not _matches(spec, event_name, event, ref, changed):
                continue
            run = self._new_run(workflow, event_name, event, sha, ref, actor, inputs or {})
            started.append(run)
        self.settle()
        return started

    def _new_run(self, workflow: dict[str, Any], event_name: str, event: dict[str, Any], sha: str,
                 ref: str, actor: str, inputs: dict[str, Any]) -> Run:  # fmt: skip
        self.next_run += 1
        folder = self.root / "runs" / str(self.next_run)
        folder.mkdir(parents=True)
        run = Run(
            self,
            self.next_run,
            workflow["name"],
            workflow,
            event_name,
            event,
            sha,
            ref,
            actor,
            folder,
            inputs,
        )
        dump_event(run.event_path, event)
        concurrency = workflow.get("concurrency")
        if concurrency is not None:
            spec = concurrency if isinstance(concurrency, dict) else {"group": concurrency}
            lookup = lookup_in(
                {
                    "github": run.github_context(),
                    "inputs": run.inputs_context(),
                    "vars": dict(self.variables),
                },
                f"{run.name} concurrency",
            )
            run.group = text_of(render(spec["group"], lookup))
            for other in self.runs:
                if other.group != run.group or other.status == "completed":
                    continue
                if other.status in ("queued", "pending") or spec.get("cancel-in-progress") is True:
                    other.status, other.conclusion = "completed", "cancelled"
                    self.waiting.pop(other.id, None)
        self.runs.append(run)
        self.runs_by_id[run.id] = run
        return run

    def settle(self) -> None:
        """Start what may start, run it until it waits or completes; repeat until still."""
        while True:
            moved = False
            for run in list(self.runs):
                if run.status in ("queued", "pending"):
                    busy = run.group is not None and any(
                        o.group == run.group and o.status in ("in_progress", "waiting")
                        for o in self.runs
                        if o is not run
                    )
                    if busy:
                        run.status = "pending"
                        continue
                    run.status = "in_progress"
                if run.status == "in_progress":
                    run.advance()
                    moved = True
                    if run.status == "completed":
                        self._completed(run)
            if not moved:
                return

    def _completed(self, run: Run) -> None:
        head = run.event.get("pull_request", {}).get("head", {})
        payload = {
            "action": "completed",
            "workflow_run": {
                "id": run.id, "name": run.name, "event": run.event_name,
                "conclusion": run.conclusion, "head_sha": head.get("sha", run.sha),
                "html_url": run.html_url,
                "head_branch": head.get("ref", run.ref.rsplit("/", 1)[-1]),
                "head_repository": {"full_name": REPO},  # pull requests from this repository
            },
        }  # fmt: skip
        main = self.origin.rev("refs/heads/main")
        for _filename, workflow in sorted(self.workflows(main).items()):
            on = _on(workflow) or {}
            spec = on.get("workflow_run") if isinstance(on, dict) else None
            if spec and run.name in spec.get("workflows", []):
                self._new_run(
                    workflow,
                    "workflow_run",
                    payload,
                    main,
                    "refs/heads/main",
                    "github-actions[bot]",
                    {},
                )

    # --- what a test does ------------------------------------------------------------------

    def pull_request(self, pull: PullRequest, action: str = "opened") -> list[Run]:
        self.origin.refresh_merge(pull)
        self.gh.add_pull(pull.number, pull.head)
        event = {
            "action": action, "number": pull.number,
            "pull_request": {"number": pull.number, "head": {"sha": pull.head, "ref": pull.branch},
                             "base": {"sha": pull.base, "ref": "main"}},
        }  # fmt: skip
        changed = list(pull.files)
        return self._trigger(
            "pull_request", event, pull.merge, f"refs/pull/{pull.number}/merge", changed=changed
        )

    def merge(self, pull: PullRequest) -> list[Run]:
        before = self.origin.rev("refs/heads/main")
        sha = self.origin.merge(pull)
        self.gh.add_pull(pull.number, pull.head, merge_sha=sha, merged=True)
        event = {
            "before": before,
            "after": sha,
            "ref": "refs/heads/main",
            "head_commit": {"id": sha},
        }
        return self._trigger("push", event, sha, "refs/heads/main", changed=list(pull.files))

    def dispatch(self, workflow: str, inputs: dict[str, Any] | None = None) -> Run:
        sha = self.origin.rev("refs/heads/main")
        spec = self.workflows(sha)[workflow]
        declared = ((_on(spec) or {}).get("workflow_dispatch") or {}).get("inputs") or {}
        values = {}
        for name, item in declared.items():
            value = (inputs or {}).get(name, item.get("default", ""))
            values[name] = (
                value if item.get("type") == "boolean" and isinstance(value, bool) else str(value)
            )
        extra = set(inputs or {}) - set(declared)
        assert not extra, f"{workflow}: no inputs {sorted(extra)}"
        event = {"inputs": values, "ref": "refs/heads/main"}
        [run] = self._trigger(
            "workflow_dispatch", event, sha, "refs/heads/main", only=workflow, inputs=values
        )
        return run

    def merge_group(self, pull: PullRequest) -> list[Run]:
        """The merge queue's check of ``pull``: its merge into main, pushed as the queue's
        temporary branch (``gh-readonly-queue/main/pr-N-<base>``) that the event names."""
        self.origin.refresh_merge(pull)
        ref = f"refs/heads/gh-readonly-queue/main/pr-{pull.number}-{pull.base}"
        self.origin.push_ref(pull.merge, ref)
        event = {
            "action": "checks_requested",
            "merge_group": {
                "head_sha": pull.merge,
                "head_ref": ref,
                "base_sha": pull.base,
                "base_ref": "refs/heads/main",
                "head_commit": {"id": pull.merge},
            },
        }
        return self._trigger("merge_group", event, pull.merge, ref)

    def runs_of(self, name: str) -> list[Run]:
        return [r for r in self.runs if r.name == name]


def _matches(
    spec: Any, event_name: str, event: dict[str, Any], ref: str, changed: list[str] | None
) -> bool:
    if not isinstance(spec, dict):
        return True
    branches = spec.get("branches")
    if (
        branches
        and event_name in ("push",)
        and not any(fnmatch.fnmatch(ref.removeprefix("refs/heads/"), b) for b in branches)
    ):
        return False
    if (
        branches
        and event_name == "pull_request"
        and not any(fnmatch.fnmatch(event["pull_request"]["base"]["ref"], b) for b in branches)
    ):
        return False
    types = spec.get("types")
    if types and event.get("action") not in types:
        return False
    paths = spec.get("paths")
    if paths and changed is not None:
        return any(_glob(p, f) for p in paths for f in changed)
    return True


def _glob(pattern: str, path: str) -> bool:
    import re

    regex = "".join(
        ".*" if part == "**" else "[^/]*" if part == "*" else re.escape(part)
        for part in _split(pattern)
    )
    import re

    return re.fullmatch(regex, path) is not None


def _split(pattern: str) -> list[str]:
    import re

    return [p for p in re.split(r"(\*\*|\*)", pattern) if p]
