"""Memory and start-up: peak RSS of a large apply, and how long a one-spec ``validate`` takes.

Memory: ``reconciler apply`` of N generated executions (shared template text, no dependencies)
on an unlimited simulator at time scale 100 (runs of at most 0.6 s), ``concurrency: 1000``;
peak RSS from ``wait4``. Then one no-op plan over the N state files it wrote (its peak RSS).

Start-up: ``python -c pass``, ``python -c 'import click, pathlib, json'``, ``reconciler --help``
and ``reconciler validate ONE.yaml``, one of each per round in rotating order; medians.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import workload
from bench.procs import account_calls, base_env, reconciler, run_timed, shown, simulator
from bench.stats import ratios, spread

# Modules that make start-up slow when imported eagerly.
HEAVY = (
    "uvicorn",
    "starlette",
    "httpx",
    "jsonschema",
    "jinja2",
    "pydantic",
    "ruamel.yaml",
    "reconciler.sim",
    "reconciler.apply.engine",
    "reconciler.boomi.client",
    "filelock",
)


def bench_memory(n: int, work: Path) -> dict[str, Any]:
    """Peak RSS of an apply of ``n`` executions, and of the no-op plan after it."""
    root = work / "memory"
    workload.generate(
        root,
        n,
        processes=12,
        seed=5,
        scale=100.0,
        concurrency=1000,
        rate=1000,
        with_deps=False,
    )
    world = workload.world(processes=12, seed=11, rate=0)
    for process in world["processes"]:
        process["duration"]["max"] = 60.0
    with simulator(world, 100.0, work / "memory-sim") as sim:
        env = base_env({**sim.env, workload.SECRET_NAME: "bench-secret-value"})
        applied = run_timed(reconciler("apply"), cwd=root, env=env)
        if applied.code != 0:
            raise RuntimeError(
                f"apply exited {applied.code}: {applied.stdout[-3000:]}{applied.stderr[-1500:]}"
            )
        submitted = len(sim.get("submissions")["submissions"])
        calls = sum(account_calls(sim.get("stats")).values())
    states = len(list((root / "state" / "default").glob("*.json")))
    noop = run_timed(reconciler("plan", "--detailed-exitcode"), cwd=root, env=base_env())
    return {
        "executions": n,
        "submitted": submitted,
        "state_files": states,
        "wall_seconds": round(applied.seconds, 2),
        "cpu_ms_per_execution": round(applied.cpu_seconds / n * 1000, 2),
        "calls_per_execution": round(calls / n, 3),
        "max_rss_mb": round(applied.max_rss_mb, 1),
        "kb_per_execution": round(applied.max_rss_mb * 1024 / n, 1),
        "command": shown(
            reconciler("apply"),
            where=f"{n:,} executions, shared text, simulator at time scale 100, no rate limit, "
            "concurrency 1000",
        ),
        "noop_plan": {
            "exit_code": noop.code,
            "seconds": round(noop.seconds, 2),
            "max_rss_mb": round(noop.max_rss_mb, 1),
            "command": shown(
                reconciler("plan", "--detailed-exitcode"), where=f"the same {n:,} after it"
            ),
        },
    }


def _imports(args: Sequence[str], cwd: Path) -> dict[str, Any]:
    """Which heavy modules a command imports, and what each costs (``-X importtime``)."""
    timed = run_timed(
        [sys.executable, "-X", "importtime", "-m", "reconciler", *args], cwd=cwd, env=base_env()
    )
    cumulative: dict[str, int] = {}
    for line in timed.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|\s*(\S+)", line)
        if match:
            cumulative.setdefault(match.group(3), int(match.group(2)))
    return {
        "heavy_loaded": [m for m in HEAVY if m in cumulative],
        "heavy_lazy": [m for m in HEAVY if m not in cumulative],
        "reconciler_cli_import_ms": round(cumulative.get("reconciler.cli", 0) / 1000, 1),
    }


def bench_startup(rounds: int, work: Path) -> dict[str, Any]:
    """``--help`` and ``validate`` of one spec, in turns with a bare interpreter."""
    root = work / "startup"
    workload.generate(
        root, 1, processes=1, seed=3, scale=1, concurrency=50, rate=10, with_deps=False
    )
    spec = str(next((root / "specs").rglob("*.yaml")).relative_to(root))
    commands = {
        "bare": [sys.executable, "-c", "pass"],
        "click": [sys.executable, "-c", "import click, pathlib, json"],
        "help": reconciler("--help"),
        "validate": reconciler("validate", spec),
    }
    seconds: dict[str, list[float]] = {k: [] for k in commands}
    keys = list(commands)
    env = base_env()
    for r in range(rounds):
        for key in keys[r % len(keys) :] + keys[: r % len(keys)]:
            timed = run_timed(commands[key], cwd=root, env=env)
            if timed.code != 0:
                raise RuntimeError(f"{key} failed: {timed.stderr[-2000:]}")
            seconds[key].append(timed.seconds)
    return {
        "rounds": rounds,
        "seconds": {k: spread(v) for k, v in seconds.items()},
        "help_ratio_to_bare": ratios(seconds["help"], seconds["bare"]),
        "validate_ratio_to_bare": ratios(seconds["validate"], seconds["bare"]),
        "commands": {k: shown(v, where="a workspace of one spec") for k, v in commands.items()},
        "imports": {
            "help": _imports(["--help"], root),
            "validate": _imports(["validate", spec], root),
        },
    }
