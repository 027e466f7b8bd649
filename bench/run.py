"""The performance harness: plan, apply, memory and start-up, each against a same-run floor.

    python -m bench            # the full run; about 40 minutes on a 2-core machine
    python -m bench --quick    # every workload, tiny: a smoke test of the harness

Every figure is the median over rounds with its min and max (never the best run), as a ratio
to a floor measured in the same run (the plan's, in turns with it) or computed from the runs
the simulator made (the apply's). Results go to ``bench/results/<mode>.json`` and a markdown
table beside it (git-ignored); ``docs/performance.md`` says what each figure means.
"""

from __future__ import annotations

import argparse
import compileall
import dataclasses
import json
import math
import os
import platform
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import apply_step, memory_step, plan_step, table, workload
from bench.procs import ROOT
from bench.stats import text

RESULTS = ROOT / "bench" / "results"


@dataclass(frozen=True)
class Sizes:
    """How big each step is and how many rounds it takes."""

    plan: int  # executions per plan workload (distinct and shared text)
    apply: int  # executions per apply case
    small_apply: int  # the small case (today's world, default concurrency); 0: none
    memory: int  # executions of the memory apply
    scale: float  # time scale of the apply suite
    max_duration: float  # platform seconds: cap of today's and own-speed durations
    baseline_sample: int
    plan_rounds: int
    apply_rounds: int
    startup_rounds: int
    concurrencies: tuple[int, ...] = (apply_step.DEFAULT_CONCURRENCY, 1000)
    worlds: tuple[str, ...] = workload.WORLDS
    repeat_worlds: tuple[str, ...] = ("own-speed",)


FULL = Sizes(
    plan=10_000,
    apply=1_000,
    small_apply=100,
    memory=30_000,
    scale=10.0,
    max_duration=300.0,
    baseline_sample=10,
    plan_rounds=5,
    apply_rounds=3,
    startup_rounds=7,
)
QUICK = Sizes(
    plan=200,
    apply=60,
    small_apply=20,
    memory=300,
    scale=50.0,
    max_duration=60.0,
    baseline_sample=2,
    plan_rounds=2,
    apply_rounds=1,
    startup_rounds=2,
)

STEPS = ("plan", "apply", "memory", "startup")


def run(sizes: Sizes, steps: Sequence[str], command: str, keep: Path | None) -> dict[str, Any]:
    """Run the chosen steps; return the results document."""
    results: dict[str, Any] = {
        "formatVersion": 2,
        "command": command,
        "started_utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": {
            "cpus": os.cpu_count(),
            "usable_cpus": len(os.sched_getaffinity(0)),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        "sizes": dataclasses.asdict(sizes),
    }
    started = time.perf_counter()
    # Byte-compile reconciler as installing its wheel does, so no timed command compiles its
    # own modules (an editable install under PYTHONDONTWRITEBYTECODE would, every time).
    results["machine"]["bytecode_compiled"] = compileall.compile_dir(
        ROOT / "reconciler", quiet=1, workers=1
    )
    work = Path(tempfile.mkdtemp(prefix="reconciler-bench-"))
    try:
        if "plan" in steps:
            results["plan"] = plan_step.bench_plan(sizes.plan, rounds=sizes.plan_rounds, work=work)
        if "apply" in steps:
            results["apply"] = apply_step.bench_apply(
                worlds=sizes.worlds,
                n=sizes.apply,
                small_n=sizes.small_apply,
                concurrencies=sizes.concurrencies,
                rounds=sizes.apply_rounds,
                repeat_worlds=sizes.repeat_worlds,
                scale=sizes.scale,
                cap=sizes.max_duration,
                baseline_sample=sizes.baseline_sample,
                work=work,
            )
        if "memory" in steps:
            results["memory"] = memory_step.bench_memory(sizes.memory, work)
        if "startup" in steps:
            results["startup"] = memory_step.bench_startup(sizes.startup_rounds, work)
    finally:
        if keep is not None:
            shutil.copytree(work, keep, dirs_exist_ok=True)
        shutil.rmtree(work, ignore_errors=True)
    results["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["bench_seconds"] = round(time.perf_counter() - started, 1)
    results["targets"] = targets(results)
    return results


def targets(results: dict[str, Any]) -> dict[str, Any]:
    """Issue 18's targets: each median, its limit and whether it is met."""
    checks: dict[str, Any] = {}

    def check(name: str, value: float, limit: float) -> None:
        checks[name] = {"value": value, "limit": limit, "met": bool(value <= limit)}

    if "plan" in results:
        plan = results["plan"]
        for label, measured in plan["cold"].items():
            check(f"cold_plan_{label}_ratio", measured["ratio"]["median"], 2.0)
        for label, measured in plan["noop"].items():
            check(f"noop_plan_{label}_ratio", measured["ratio"]["median"], 1.2)
    if "apply" in results:
        for key, case in results["apply"]["first"].items():
            if case["executions"] == max(
                c["executions"] for c in results["apply"]["first"].values()
            ):
                check(f"first_apply_ratio[{key}]", case["ratio_to_floor"]["median"], 1.1)
            check(f"calls_per_execution[{key}]", case["calls_per_execution"]["median"], 2.2)
            check(f"self_caused_503[{key}]", case["self_caused_503"], 0)
        for key, case in results["apply"]["repeat"].items():
            check(f"repeat_calls_per_execution[{key}]", case["calls_per_execution"]["median"], 2.2)
    if "memory" in results:
        check("apply_peak_rss_mb", results["memory"]["max_rss_mb"], 250)
    if "startup" in results:
        check("validate_seconds", results["startup"]["seconds"]["validate"]["median"], 0.15)
    return checks


def summary(results: dict[str, Any]) -> str:
    """The terminal report: each figure with the command that produced it."""
    lines = [
        f"reconciler benchmark ({results['mode']}, {results['bench_seconds']} s, load "
        f"{results['machine']['load_average_at_start']} -> {results['load_average_at_end']})",
        f"  command: {results['command']}",
    ]
    for name, check in results["targets"].items():
        mark = "ok  " if check["met"] else "MISS"
        lines.append(f"  {mark} {name}: {check['value']} (limit {check['limit']})")
    for row in table.rows(results):
        lines.append(f"  {row.figure}: {row.measured} | floor {row.floor} | {row.ratio}")
        lines.append(f"      $ {row.command}")
    if "startup" in results:
        s = results["startup"]["seconds"]
        lines.append(f"  validate {text(s['validate'], ' s', 3)}, bare {text(s['bare'], ' s', 3)}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test")
    parser.add_argument("--only", action="append", choices=STEPS, help="run only this step")
    parser.add_argument("--out", type=Path, help="results file (default bench/results/MODE.json)")
    parser.add_argument("--keep", type=Path, help="copy the generated workspaces here")
    parser.add_argument("--plan-n", type=int, help="executions per plan workload")
    parser.add_argument("--apply-n", type=int, help="executions per apply case")
    parser.add_argument("--small-apply-n", type=int, help="the small apply case (0: none)")
    parser.add_argument("--memory-n", type=int, help="executions of the memory apply")
    parser.add_argument("--plan-rounds", type=int, help="rounds of the plan measurements")
    parser.add_argument("--apply-rounds", type=int, help="rounds of the apply suite")
    parser.add_argument("--startup-rounds", type=int, help="rounds of the start-up timings")
    parser.add_argument(
        "--world", action="append", choices=workload.WORLDS, help="apply on this world only"
    )
    parser.add_argument(
        "--concurrency", action="append", type=int, help="apply.concurrency (repeatable)"
    )
    parser.add_argument(
        "--repeat-world",
        action="append",
        choices=(*workload.WORLDS, "none"),
        help="worlds with a repeat apply (repeatable; default own-speed; none: no repeats)",
    )
    parser.add_argument("--scale", type=float, help="time scale of the apply suite")
    parser.add_argument(
        "--baseline-sample", type=int, help="runs of the one-at-a-time baseline (0: skip it)"
    )
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    changes = {
        "plan": args.plan_n,
        "apply": args.apply_n,
        "small_apply": args.small_apply_n,
        "memory": args.memory_n,
        "plan_rounds": args.plan_rounds,
        "apply_rounds": args.apply_rounds,
        "startup_rounds": args.startup_rounds,
        "scale": args.scale,
        "baseline_sample": args.baseline_sample,
        "worlds": tuple(args.world) if args.world else None,
        "concurrencies": tuple(args.concurrency) if args.concurrency else None,
        "repeat_worlds": (
            tuple(w for w in args.repeat_world if w != "none") if args.repeat_world else None
        ),
    }
    sizes = dataclasses.replace(sizes, **{k: v for k, v in changes.items() if v is not None})
    given = list(sys.argv[1:] if argv is None else argv)
    command = shlex.join(["python", "-m", "bench", *given])
    mode = "quick" if args.quick else "full"
    results = run(sizes, args.only or STEPS, command, keep=args.keep)
    results["mode"] = mode
    out = args.out or RESULTS / f"{mode}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    out.with_suffix(".md").write_text(table.markdown(results), encoding="utf-8")
    print(summary(results))
    print(f"results: {out} and {out.with_suffix('.md')}")
    return 0 if all(math.isfinite(c["value"]) for c in results["targets"].values()) else 1
