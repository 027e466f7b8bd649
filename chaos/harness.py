"""The pieces every scenario uses: a simulator, a checkout, the console script, an audit.

The simulator runs in a thread of this process (``start_in_thread``) and every scenario resets
it with its own world; applies are the installed ``reconciler`` console script in
subprocesses, so a SIGKILL kills exactly what a user's ``kill -9`` would. Each execution
carries its own name as the dynamic property ``CHAOS_NAME``, so the simulator's submission log
(``GET /_sim/submissions``) says which execution every run on the platform belongs to, and the
audit compares that ground truth with what the state files claim.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx

from reconciler.errors import StateError
from reconciler.sim.serve import RunningSimulator, start_in_thread
from reconciler.sim.world import world_from_data
from reconciler.store.state import StateStore, decode_entry

RECONCILER = shutil.which("reconciler") or str(Path(sys.executable).parent / "reconciler")

TIME_SCALE = 50.0  # a 3 s (simulated) run takes 60 ms of real time
ACCOUNT = "chaos-AB12CD"
USER = "chaos@example.com"
TOKEN = "6d1c3a9e-0b7f-4c2d-8e5a-1f9b3c7d2e40"
ENVIRONMENT_ID = "c4a05e00-0000-4000-8000-000000000001"
ATOM = "c4a05a70-0000-4000-8000-000000000001"
NAME_PROPERTY = "CHAOS_NAME"
CANARY_VARIABLE = "CHAOS_CANARY_SECRET"

# How the simulated processes end, cycled over the fleet: successes, a warning and a failure.
OUTCOMES = ("COMPLETE", "COMPLETE", "COMPLETE_WARN", "ERROR")


def process_id(index: int) -> str:
    """The GUID of simulated process ``index``."""
    return f"c4a05000-0000-4000-8000-{index:012d}"


def world(
    processes: int,
    *,
    duration: float | tuple[float, float] = (1.0, 3.0),
    record_delay: float = 1.0,
    rate_limit: float = 0,
    seed: int = 0,
    faults: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """A world document with ``processes`` processes, all deployed to one online runtime."""
    span = {"min": duration[0], "max": duration[1]} if isinstance(duration, tuple) else duration
    return {
        "seed": seed,
        "accounts": [
            {"id": ACCOUNT, "rateLimit": rate_limit, "users": [{"name": USER, "token": TOKEN}]}
        ],
        "environments": [{"id": ENVIRONMENT_ID, "name": "Production", "classification": "PROD"}],
        "runtimes": [
            {"id": ATOM, "name": "Chaos Atom", "type": "CLOUD", "environment": "Production"}
        ],
        "processes": [
            {
                "id": process_id(i),
                "name": f"Chaos {i}",
                "deployments": ["Production"],
                "duration": span,
                "recordDelay": record_delay,
                "outcome": OUTCOMES[i % len(OUTCOMES)],
                **({"message": "Connector error: chaos"} if OUTCOMES[i % 4] == "ERROR" else {}),
            }
            for i in range(processes)
        ],
        "faults": [dict(f) for f in faults],
    }


class Simulator:
    """The platform simulator on loopback, and its admin API as the harness reads it."""

    def __init__(self, running: RunningSimulator) -> None:
        self.running = running
        self.admin = running.endpoint.admin_url
        self._http = httpx.Client(timeout=30)

    def env(self) -> dict[str, str]:
        """The four ``BOOMI_*`` variables an apply needs to reach this simulator."""
        endpoint = self.running.endpoint
        return {
            "BOOMI_API_URL": endpoint.base_url,
            "BOOMI_ACCOUNT_ID": endpoint.account_id,
            "BOOMI_USERNAME": endpoint.username,
            "BOOMI_API_TOKEN": endpoint.token,
        }

    def reset(self, document: Mapping[str, Any]) -> None:
        """Replace the world: no runs, zeroed counters, the world's own fault plan."""
        self._http.post(f"{self.admin}/reset", json=dict(document)).raise_for_status()

    def set_faults(self, faults: Sequence[Mapping[str, Any]]) -> None:
        """Replace the fault plan."""
        body = {"faults": [dict(f) for f in faults]}
        self._http.post(f"{self.admin}/faults", json=body).raise_for_status()

    def submissions(self) -> list[dict[str, Any]]:
        """Every run the platform accepted, in order."""
        data = self._http.get(f"{self.admin}/submissions").json()
        items = data["submissions"]
        assert isinstance(items, list)
        return items

    def stats(self) -> dict[str, Any]:
        """Request and fault counters."""
        data = self._http.get(f"{self.admin}/stats").json()
        assert isinstance(data, dict)
        return data

    def runs_by_name(self) -> dict[str, list[str]]:
        """ExecutionIds of the runs submitted for each execution name (by ``CHAOS_NAME``)."""
        out: dict[str, list[str]] = {}
        for item in self.submissions():
            name = str(item["properties"]["dynamic"].get(NAME_PROPERTY, "?"))
            out.setdefault(name, []).append(str(item["executionId"]))
        return out

    def runtime(self, status: str) -> None:
        """Take the runtime offline (runs queue, no record appears) or bring it online."""
        response = self._http.post(f"{self.admin}/runtimes/{ATOM}", json={"status": status})
        response.raise_for_status()

    def close(self) -> None:
        """Close the admin client (the server stops with ``serving``)."""
        self._http.close()


@contextmanager
def serving(processes: int = 4) -> Iterator[Simulator]:
    """A simulator in a background thread for the duration of the block."""
    with start_in_thread(world_from_data(world(processes)), time_scale=TIME_SCALE) as running:
        sim = Simulator(running)
        try:
            yield sim
        finally:
            sim.close()


@dataclass(frozen=True)
class _Served:
    """What ``Simulator`` needs of a server: where it is and how to log in."""

    endpoint: Any


@contextmanager
def serving_elsewhere(processes: int = 4) -> Iterator[Simulator]:
    """A simulator in its own process (``reconciler sim serve``), for the duration of the block.

    For scenarios that drive the CLI in this process: the server then has a core of its own
    instead of sharing this interpreter's lock with the client under test.
    """
    with tempfile.TemporaryDirectory(prefix="chaos-sim-") as folder:
        path = Path(folder) / "world.json"  # JSON is YAML 1.2
        path.write_text(json.dumps(world(processes)), encoding="utf-8")
        server = subprocess.Popen(
            [RECONCILER, "sim", "serve", "--world", str(path), "--time-scale", str(TIME_SCALE)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert server.stdout is not None
            told = dict(server.stdout.readline().strip().partition("=")[::2] for _ in range(4))
            base = told["BOOMI_API_URL"]
            endpoint = SimpleNamespace(
                base_url=base,
                account_id=told["BOOMI_ACCOUNT_ID"],
                username=told["BOOMI_USERNAME"],
                token=told["BOOMI_API_TOKEN"],
                admin_url=base.removesuffix("/api/rest/v1") + "/_sim",
            )
            sim = Simulator(_Served(endpoint))  # type: ignore[arg-type]
            try:
                yield sim
            finally:
                sim.close()
        finally:
            server.terminate()
            server.wait(timeout=10)
            if server.stdout is not None:
                server.stdout.close()


CONFIG = """\
version: 1
specs: specs
state: state
artifacts: artifacts
platform:
  accountId: {account}
apply:
  concurrency: {concurrency}
  rateLimit: {rate_limit}
  pollInitial: 0.05
  pollMax: {poll_max}
  timeout: {timeout}
  recordTimeout: {record_timeout}
  adoptAfter: {adopt_after}
"""


def config_text(
    account: str = "",
    *,
    concurrency: int = 20,
    rate_limit: float = 100,
    poll_max: float = 0.2,
    timeout: float = 60,
    record_timeout: float = 10,
    adopt_after: float = 0.5,
) -> str:
    """``reconciler.yaml`` for a chaos repository: fast polls, short timeouts."""
    return CONFIG.format(
        account=account or ACCOUNT,
        concurrency=concurrency,
        rate_limit=rate_limit,
        poll_max=poll_max,
        timeout=timeout,
        record_timeout=record_timeout,
        adopt_after=adopt_after,
    )


def spec_text(name: str, index: int, *, secret: bool = False) -> str:
    """One Execution spec; it names itself in ``CHAOS_NAME`` (and may use the canary)."""
    lines = [
        "apiVersion: reconciler/v1",
        "kind: Execution",
        "metadata:",
        f"  name: {name}",
        "spec:",
        f"  processId: {process_id(index)}",
        f"  atomId: {ATOM}",
        "  dynamicProperties:",
        f"    {NAME_PROPERTY}: {name}",
        '    RUN_DATE: "{{ vars.day }}"',
    ]
    if secret:
        lines.append(f"    API_KEY: '{{{{ secret(\"{CANARY_VARIABLE}\") }}}}'")
    lines += ["  vars:", '    day: "2026-01-15"']
    return "\n".join(lines) + "\n"


def names(count: int) -> list[str]:
    """The execution names of a fleet of ``count``."""
    return [f"run-{i:03d}" for i in range(count)]


def make_checkout(
    root: Path,
    count: int,
    *,
    secret: bool = False,
    concurrency: int = 20,
    rate_limit: float = 100,
    poll_max: float = 0.2,
    record_timeout: float = 10,
    adopt_after: float = 0.5,
) -> Path:
    """A repository with ``reconciler.yaml`` and ``count`` specs, one process each."""
    root.mkdir(parents=True, exist_ok=True)
    config = config_text(
        concurrency=concurrency,
        rate_limit=rate_limit,
        poll_max=poll_max,
        record_timeout=record_timeout,
        adopt_after=adopt_after,
    )
    (root / "reconciler.yaml").write_text(config, encoding="utf-8")
    specs = root / "specs"
    specs.mkdir(exist_ok=True)
    for index, name in enumerate(names(count)):
        (specs / f"{name}.yaml").write_text(spec_text(name, index, secret=secret), "utf-8")
    return root


@dataclass(frozen=True)
class Completed:
    """One finished ``reconciler`` invocation."""

    args: tuple[str, ...]
    code: int
    out: str
    err: str
    seconds: float


def reconciler_env(sim: Simulator, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of an apply: ours, minus CI switches, plus the simulator's variables."""
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "CI")}
    env.update(sim.env())
    env.update(extra or {})
    return env


def run(checkout: Path, env: Mapping[str, str], *args: str, timeout: float = 180) -> Completed:
    """Run ``reconciler ARGS`` in ``checkout`` to completion."""
    import time

    began = time.monotonic()
    done = subprocess.run(
        [RECONCILER, *args],
        cwd=checkout,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Completed(
        tuple(args), done.returncode, done.stdout, done.stderr, time.monotonic() - began
    )


def spawn(checkout: Path, env: Mapping[str, str], *args: str) -> subprocess.Popen[str]:
    """Start ``reconciler ARGS`` in ``checkout`` (stdout/stderr piped)."""
    return subprocess.Popen(
        [RECONCILER, *args],
        cwd=checkout,
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def internal_errors(*outputs: str) -> list[str]:
    """Lines that show a bug: a traceback or the CLI's internal-error line."""
    return [
        line
        for text in outputs
        for line in text.splitlines()
        if "Traceback (most recent call last)" in line or line.startswith("internal error:")
    ]


@dataclass
class Audit:
    """What the state says against what the platform saw, for one checkout."""

    expected: list[str]
    runs: dict[str, list[str]]  # name -> executionIds the platform accepted for it
    phases: dict[str, str] = field(default_factory=dict)
    statuses: dict[str, str | None] = field(default_factory=dict)
    execution_ids: dict[str, str | None] = field(default_factory=dict)
    unreadable: list[str] = field(default_factory=list)
    temp_files: list[str] = field(default_factory=list)

    @property
    def duplicates(self) -> int:
        """Runs beyond the first, summed over executions: must be 0."""
        return sum(max(0, len(ids) - 1) for ids in self.runs.values())

    @property
    def not_final(self) -> list[str]:
        """Executions without a final state."""
        return [n for n in self.expected if self.phases.get(n) != "final"]

    @property
    def misattributed(self) -> list[str]:
        """Executions whose state names a run the platform started for another execution."""
        return [
            n
            for n, eid in self.execution_ids.items()
            if eid is not None and eid not in self.runs.get(n, [])
        ]

    @property
    def final_without_run(self) -> list[str]:
        """Executions recorded final although the platform never ran them: a loss."""
        return [n for n in self.expected if self.phases.get(n) == "final" and not self.runs.get(n)]

    @property
    def strangers(self) -> list[str]:
        """Runs on the platform that belong to no expected execution."""
        return sorted(set(self.runs) - set(self.expected))

    def as_dict(self) -> dict[str, Any]:
        """The figures, for the JSON results."""
        phases: dict[str, int] = {}
        for phase in self.phases.values():
            phases[phase] = phases.get(phase, 0) + 1
        return {
            "executions": len(self.expected),
            "submissions": sum(len(v) for v in self.runs.values()),
            "duplicates": self.duplicates,
            "notFinal": self.not_final,
            "misattributed": self.misattributed,
            "finalWithoutRun": self.final_without_run,
            "unreadable": self.unreadable,
            "tempFiles": len(self.temp_files),
            "phases": phases,
        }


def audit(checkout: Path, sim: Simulator, expected: Sequence[str]) -> Audit:
    """Read every state file two ways (json, the real StateStore) and compare with the sim."""
    result = Audit(expected=list(expected), runs=sim.runs_by_name())
    state_dir = checkout / "state"
    folder = state_dir / "default"
    if folder.is_dir():
        result.temp_files = sorted(p.name for p in folder.glob(".*.tmp"))
        for path in sorted(folder.glob("*.json")):
            raw = path.read_bytes()
            try:
                data = json.loads(raw)
                entry = decode_entry(raw, str(path))
            except (ValueError, StateError) as exc:
                result.unreadable.append(f"{path.name}: {exc}")
                continue
            if not isinstance(data, dict):
                result.unreadable.append(f"{path.name}: not an object")
                continue
            result.phases[entry.name] = entry.phase.value
            result.statuses[entry.name] = entry.status
            result.execution_ids[entry.name] = entry.execution_id
        try:
            StateStore(state_dir).snapshot()
        except StateError as exc:
            result.unreadable.append(f"StateStore: {exc}")
    return result


def pending(checkout: Path) -> list[str]:
    """Executions whose run was submitted and is not final yet (the next apply resumes them)."""
    folder = checkout / "state" / "default"
    out = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("phase") == "submitted":
            out.append(str(data["name"]))
    return out


def unresolved(checkout: Path) -> list[str]:
    """Executions whose state is ``unknown`` or a bare ``intent``."""
    folder = checkout / "state" / "default"
    out = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("phase") in ("unknown", "intent"):
            out.append(str(data["name"]))
    return out
