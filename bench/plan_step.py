"""The plan against its floor, in the same number of processes, cold and with nothing to do.

Two workloads of the same size (``workload.generate``): ``shared``, whose documents of a kind
share their template text (the compile cache almost always hits), and ``distinct``, whose every
document has its own template text, as hand-written specs do. Each round measures, for each
workload, four commands in an order that rotates from round to round:

- the floor in P processes (``bench/yaml_floor.py --jobs P``: read and parse the same files with
  libyaml, split over P processes as the plan's loader splits them);
- the plan in P processes (``RECONCILER_JOBS=P reconciler plan --detailed-exitcode``);
- the floor in one process, and the plan in one process (``RECONCILER_JOBS=1``).

P is what the plan uses by default: the usable CPUs, at most 8. The headline ratio is the plan
over the floor in P processes; beside it the one-process ratio and the one-process CPU ratio
(CPU seconds of the plan over those of the floor), which no scheduling can flatter.

The no-op plan: the same after an apply of the workspace (so every execution has an up-to-date
state file), each apply on an unlimited simulator at time scale 100.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import workload
from bench.procs import (
    ROOT,
    Timed,
    account_calls,
    base_env,
    reconciler,
    run_timed,
    shown,
    simulator,
)
from bench.stats import ratios, spread

WORKLOADS = ("distinct", "shared")
KINDS = ("floor", "plan", "floor_one", "plan_one")


def default_jobs() -> int:
    """The plan's default process count (``reconciler/specs/parallel.py``): usable CPUs, ≤ 8."""
    return max(1, min(8, len(os.sched_getaffinity(0))))


def generate(root: Path, n: int, *, distinct: bool) -> workload.Workspace:
    return workload.generate(
        root,
        n,
        processes=12,
        seed=1,
        scale=100.0,
        concurrency=1000,
        rate=1000,
        with_deps=True,
        distinct=distinct,
    )


def _commands(jobs: int) -> dict[str, tuple[list[str], dict[str, str]]]:
    floor = [sys.executable, str(ROOT / "bench" / "yaml_floor.py"), "specs"]
    plan = reconciler("plan", "--detailed-exitcode")
    return {
        "floor": ([*floor, "--jobs", str(jobs)], {}),
        "plan": (plan, {"RECONCILER_JOBS": str(jobs)}),
        "floor_one": ([*floor, "--jobs", "1"], {}),
        "plan_one": (plan, {"RECONCILER_JOBS": "1"}),
    }


def measure(
    workspaces: dict[str, Path], *, rounds: int, jobs: int, expect: int, what: str
) -> dict[str, Any]:
    """``rounds`` rounds of the four commands on every workspace, in rotating order."""
    runs: dict[str, dict[str, list[Timed]]] = {w: {k: [] for k in KINDS} for w in workspaces}
    commands = {w: _commands(jobs) for w in workspaces}
    for r in range(rounds):
        for label, root in workspaces.items():
            order = KINDS[r % len(KINDS) :] + KINDS[: r % len(KINDS)]
            for kind in order:
                args, extra = commands[label][kind]
                timed = run_timed(args, cwd=root, env=base_env(extra))
                wanted = 0 if kind.startswith("floor") else expect
                if timed.code != wanted:
                    raise RuntimeError(
                        f"{what} {label} {kind} exited {timed.code}, expected {wanted}: "
                        f"{timed.stderr[-2000:]}"
                    )
                runs[label][kind].append(timed)
    out: dict[str, Any] = {}
    for label, by_kind in runs.items():
        out[label] = _summary(by_kind, commands[label], label, what, jobs)
    return out


def _summary(
    by_kind: dict[str, list[Timed]],
    commands: dict[str, tuple[list[str], dict[str, str]]],
    label: str,
    what: str,
    jobs: int,
) -> dict[str, Any]:
    def wall(kind: str) -> list[float]:
        return [t.seconds for t in by_kind[kind]]

    def cpu(kind: str) -> list[float]:
        return [t.cpu_seconds for t in by_kind[kind]]

    floor_info = json.loads(by_kind["floor"][-1].stdout)
    plan_out = by_kind["plan"][-1].stdout
    where = f"{label} workspace"
    return {
        "jobs": jobs,
        "loader": floor_info["loader"],
        "files": floor_info["files"],
        "documents": floor_info["documents"],
        "exit_code": by_kind["plan"][-1].code,
        "summary": next((ln for ln in plan_out.splitlines() if ln.startswith("Plan (")), ""),
        "one_process_summary": next(
            (ln for ln in by_kind["plan_one"][-1].stdout.splitlines() if ln.startswith("Plan (")),
            "",
        ),
        "seconds": {k: spread(wall(k)) for k in KINDS},
        "cpu_seconds": {k: spread(cpu(k)) for k in KINDS},
        "max_rss_mb": {k: round(max(t.max_rss_mb for t in by_kind[k]), 1) for k in KINDS},
        "ratio": ratios(wall("plan"), wall("floor")),
        "one_process_ratio": ratios(wall("plan_one"), wall("floor_one")),
        "one_process_cpu_ratio": ratios(cpu("plan_one"), cpu("floor_one")),
        "commands": {k: shown(args, where=where, env=env) for k, (args, env) in commands.items()},
        "what": what,
    }


def apply_for_state(
    roots: dict[str, Path], n: int, work: Path, world: dict[str, Any]
) -> dict[str, Any]:
    """Apply each workspace once (unlimited simulator, scale 100) so its plan has nothing to do.

    Measured on the way: wall, CPU per execution and peak RSS of an apply of ``n`` CPU-bound
    executions (no rate limit), and its calls.
    """
    out: dict[str, Any] = {}
    with simulator(world, 100.0, work / "state-sim") as sim:
        for label, root in roots.items():
            sim.reset(world)
            env = base_env({**sim.env, workload.SECRET_NAME: "bench-secret-value"})
            applied = run_timed(reconciler("apply"), cwd=root, env=env)
            if applied.code != 0:
                raise RuntimeError(
                    f"apply exited {applied.code}: {applied.stdout[-3000:]}{applied.stderr[-1500:]}"
                )
            calls = sum(account_calls(sim.get("stats")).values())
            submitted = len(sim.get("submissions")["submissions"])
            out[label] = {
                "executions": n,
                "submitted": submitted,
                "wall_seconds": round(applied.seconds, 2),
                "cpu_seconds": round(applied.cpu_seconds, 2),
                "cpu_ms_per_execution": round(applied.cpu_seconds / n * 1000, 2),
                "max_rss_mb": round(applied.max_rss_mb, 1),
                "calls_per_execution": round(calls / n, 3),
                "command": shown(
                    reconciler("apply"),
                    where=f"{label} workspace, simulator at time scale 100, no rate limit",
                ),
            }
    return out


def bench_plan(
    n: int, *, rounds: int, work: Path, workloads: Sequence[str] = WORKLOADS
) -> dict[str, Any]:
    """Cold plans, the applies that make their state, then no-op plans."""
    jobs = default_jobs()
    roots: dict[str, Path] = {}
    shapes: dict[str, Any] = {}
    for label in workloads:
        ws = generate(work / f"plan-{label}", n, distinct=label == "distinct")
        roots[label] = ws.root
        shapes[label] = {
            "files": ws.files,
            "documents": ws.documents,
            "mix": ws.kinds,
            "templates": ws.templates,
            "template_sources": ws.template_sources,
        }
    cold = measure(roots, rounds=rounds, jobs=jobs, expect=2, what="cold plan")
    world = workload.world(processes=12, seed=11, rate=0)
    for process in world["processes"]:
        process["duration"]["max"] = 60.0
    state_applies = apply_for_state(roots, n, work, world)
    noop = measure(roots, rounds=rounds, jobs=jobs, expect=0, what="no-op plan")
    return {
        "executions": n,
        "rounds": rounds,
        "jobs": jobs,
        "workloads": shapes,
        "cold": cold,
        "state_applies": state_applies,
        "noop": noop,
    }
