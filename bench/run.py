"""The performance harness: plan, apply, memory and start-up, each against a same-run floor.

    python -m bench            # the full run (10,000 / 1,000 executions); a few minutes
    python -m bench --quick    # every step at N=200, a smoke test in well under a minute

Every figure is a ratio against a baseline measured in the same run on the same machine, so
the results travel between machines better than absolute timings; the absolute timings are in
the JSON too. Results go to ``bench/results/<mode>.json`` (git-ignored); see
``docs/performance.md`` for what each figure means and the last measured values.
"""

from __future__ import annotations

import argparse
import calendar
import compileall
import dataclasses
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench import workload

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
RESULTS = ROOT / "bench" / "results"

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


@dataclass(frozen=True)
class Sizes:
    """How big each step is."""

    plan: int
    apply: int
    memory: int
    scale: float  # time scale of the apply benchmark
    memory_scale: float
    max_duration: float  # platform seconds: the cap of the duration distributions
    baseline_sample: int
    repeats: int
    processes: int = 12


FULL = Sizes(
    plan=10_000,
    apply=1_000,
    memory=10_000,
    scale=10.0,
    memory_scale=100.0,
    max_duration=300.0,
    baseline_sample=20,
    repeats=5,
)
QUICK = Sizes(
    plan=200,
    apply=200,
    memory=200,
    scale=20.0,
    memory_scale=100.0,
    max_duration=60.0,
    baseline_sample=3,
    repeats=3,
)


# ---------------------------------------------------------------------------------------------
# Processes


@dataclass(frozen=True)
class Timed:
    """One finished subprocess."""

    code: int
    seconds: float
    cpu_seconds: float
    max_rss_mb: float
    stdout: str
    stderr: str


def run_timed(
    args: Sequence[str], *, cwd: Path, env: dict[str, str] | None = None, timeout: float = 1800
) -> Timed:
    """Run a subprocess; its wall time and its own peak RSS (``wait4``, not all children)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(list(args), cwd=cwd, env=env, stdout=out, stderr=err)
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.005)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Timed(
            code=proc.returncode,
            seconds=seconds,
            cpu_seconds=usage.ru_utime + usage.ru_stime,
            max_rss_mb=usage.ru_maxrss / 1024,  # kilobytes on Linux
            stdout=out.read().decode(errors="replace"),
            stderr=err.read().decode(errors="replace"),
        )


def base_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of every subprocess: no CI integrations, no terminal tricks."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GITHUB_", "BOOMI_", "RECONCILER_"))
    }
    env.update({"CI": "1", "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}"})
    env.update(extra or {})
    return env


@dataclass(frozen=True)
class Sim:
    """A simulator served by ``reconciler sim serve`` in its own process."""

    proc: subprocess.Popen[str]
    env: dict[str, str]  # BOOMI_* variables
    admin: str
    world: dict[str, Any]

    def reset(self, world: dict[str, Any] | None = None) -> None:
        httpx.post(f"{self.admin}/reset", json=world or self.world, timeout=30).raise_for_status()

    def get(self, what: str) -> dict[str, Any]:
        response = httpx.get(f"{self.admin}/{what}", timeout=60)
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data


@contextmanager
def simulator(world: dict[str, Any], scale: float, folder: Path) -> Iterator[Sim]:
    """Serve ``world`` on a free loopback port at ``scale``; stop it (by its pid) afterwards."""
    path = workload.write_world(folder / "world.json", world)
    proc = subprocess.Popen(
        [
            str(BIN / "reconciler"),
            "sim",
            "serve",
            "--world",
            str(path),
            "--port",
            "0",
            "--time-scale",
            f"{scale:g}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=base_env(),
    )
    try:
        assert proc.stdout is not None
        env: dict[str, str] = {}
        while len(env) < 4:
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError("the simulator exited before it was ready")
            key, _, value = line.strip().partition("=")
            env[key] = value
        origin = env["BOOMI_API_URL"].removesuffix("/api/rest/v1")
        yield Sim(proc=proc, env=env, admin=f"{origin}/_sim", world=world)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def reconciler(*args: str) -> list[str]:
    """The real console script."""
    return [str(BIN / "reconciler"), *args]


# ---------------------------------------------------------------------------------------------
# Steps


def _floor_summary(runs: Sequence[Timed]) -> dict[str, Any]:
    info = json.loads(runs[-1].stdout)
    return {
        "loader": info["loader"],
        "files": info["files"],
        "documents": info["documents"],
        "seconds": min(r.seconds for r in runs),
        "all_seconds": [round(r.seconds, 3) for r in runs],
    }


def _plan_summary(runs: Sequence[Timed]) -> dict[str, Any]:
    last = runs[-1]
    if last.code not in (0, 2):
        raise RuntimeError(f"plan failed ({last.code}): {last.stderr[-2000:]}")
    summary = next((ln for ln in last.stdout.splitlines() if ln.startswith("Plan (")), "")
    return {
        "seconds": min(r.seconds for r in runs),
        "all_seconds": [round(r.seconds, 3) for r in runs],
        "cpu_seconds": round(min(r.cpu_seconds for r in runs), 3),  # its workers' too
        "exit_code": last.code,
        "summary": summary,
        "max_rss_mb": round(max(r.max_rss_mb for r in runs), 1),
    }


def plan_against_floor(root: Path, repeats: int) -> dict[str, Any]:
    """The floor, the plan and the plan in one process, taken in turns, ``repeats`` rounds.

    Taking them in turns (not five floors, then the plans) lets each see the same moments of
    a shared machine; each figure is the fastest of its runs. The floor: a fresh interpreter
    that reads and parses the same files with the fastest C loader.
    """
    floor_args = [sys.executable, str(ROOT / "bench" / "yaml_floor.py"), str(root / "specs")]
    plan_args = reconciler("plan", "--detailed-exitcode")
    alone_env = base_env({"RECONCILER_JOBS": "1"})
    floors, plans, alone = [], [], []
    for _ in range(repeats):
        floors.append(run_timed(floor_args, cwd=ROOT))
        plans.append(run_timed(plan_args, cwd=root, env=base_env()))
        alone.append(run_timed(plan_args, cwd=root, env=alone_env))
    floor, plan, one = _floor_summary(floors), _plan_summary(plans), _plan_summary(alone)
    return {
        "floor": floor,
        "plan": plan,
        "ratio": round(plan["seconds"] / floor["seconds"], 2),
        "target_ratio": 2.0,
        # The floor runs in one process; the plan uses every CPU (RECONCILER_JOBS). The same
        # plan in one process, and the plan's CPU time, say what that is worth.
        "one_process": one,
        "one_process_ratio": round(one["seconds"] / floor["seconds"], 2),
        "cpu_ratio": round(plan["cpu_seconds"] / floor["seconds"], 2),
    }


def bench_plan(sizes: Sizes, work: Path) -> tuple[dict[str, Any], Path]:
    """Cold plan of ``sizes.plan`` generated executions against the YAML-parse floor."""
    root = work / "plan"
    ws = workload.generate(
        root,
        sizes.plan,
        processes=sizes.processes,
        seed=1,
        scale=sizes.memory_scale,
        concurrency=1000,
        rate=1000,
        with_deps=True,
    )
    measured = plan_against_floor(root, sizes.repeats)
    return {
        "executions": ws.executions,
        "files": ws.files,
        "documents": ws.documents,
        "mix": ws.kinds,
        **measured,
    }, root


def read_states(root: Path) -> list[dict[str, Any]]:
    """Every state file of the default environment, parsed."""
    folder = root / "state" / "default"
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))]


def account_calls(stats: dict[str, Any]) -> dict[str, int]:
    """Requests to the platform API by status (the admin API is not counted by the sim)."""
    by_status: dict[str, int] = {}
    for endpoint, statuses in stats["requests"].items():
        if endpoint == "unknown":
            continue
        for status, n in statuses.items():
            by_status[status] = by_status.get(status, 0) + n
    return by_status


def submission_check(sim: Sim, root: Path, expected: int) -> dict[str, Any]:
    """Every execution submitted exactly once.

    Three views that must agree: the simulator accepted ``expected`` submissions, no
    (process, runtime, properties) was submitted twice (every generated execution has its own
    properties), and every state file names its own requestId, all of them distinct.
    """
    data = sim.get("submissions")
    counts = [c["count"] for c in data["counts"]]
    accepted = {s["requestId"] for s in data["submissions"]}
    recorded = [s.get("request_id") for s in read_states(root)]
    return {
        "submissions": len(data["submissions"]),
        "distinct_requests": len(counts),
        "max_per_request": max(counts) if counts else 0,
        "state_files": len(recorded),
        "exactly_once": len(data["submissions"]) == expected
        and all(c == 1 for c in counts)
        and len(recorded) == expected
        and set(recorded) == accepted,
    }


def apply_record(root: Path) -> dict[str, Any]:
    """``artifacts/default/apply.json`` as the apply wrote it."""
    path = root / "artifacts" / "default" / "apply.json"
    if not path.is_file():
        return {}
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def progress_times(log: str, began: float) -> dict[str, float]:
    """From the apply's progress lines (``[HH:MM:SS] name: message``, whole seconds): when the
    first POST was answered and the last run reached its final status, after the process began.
    """
    day = time.strftime("%Y-%m-%d", time.gmtime(began))

    def at(stamp: str) -> float:
        moment = time.strptime(f"{day} {stamp}", "%Y-%m-%d %H:%M:%S")
        return calendar.timegm(moment) - began

    submitted = [
        m.group(1) for m in re.finditer(r"^\[(\d\d:\d\d:\d\d)\] \S+: submitted", log, re.M)
    ]
    final = [
        m.group(1)
        for m in re.finditer(
            r"^\[(\d\d:\d\d:\d\d)\] \S+: (?:COMPLETE|ERROR|ABORTED|DISCARDED)", log, re.M
        )
    ]
    if not submitted or not final:
        return {}
    return {
        "first_submit_after_start_s": round(at(submitted[0]), 1),
        "last_final_after_start_s": round(at(final[-1]), 1),
    }


def run_baseline(
    sim: Sim,
    submissions: list[dict[str, Any]],
    lengths: list[float],
    count: int,
    scale: float,
    work: Path,
) -> dict[str, Any]:
    """The sequential way (``bench/baseline.py``) on the first ``count`` submissions.

    Same requests, same order, after a reset: run i gets the same process and the same drawn
    duration as the tool's run i. The time for all N is estimated as the sum of the N run
    lengths plus N times the mean overhead (wall minus run length) measured on the sample.
    """
    sample = [
        {"processId": s["processId"], "atomId": s["atomId"], "dynamic": s["properties"]["dynamic"]}
        for s in submissions[:count]
    ]
    requests_file = work / "baseline-requests.json"
    requests_file.write_text(json.dumps(sample), encoding="utf-8")
    sim.reset()
    interval = 5.0 / scale  # Boomi Companion's fixed 5 s, time-scaled
    timed = run_timed(
        [
            sys.executable,
            str(ROOT / "bench" / "baseline.py"),
            str(requests_file),
            "--url",
            sim.env["BOOMI_API_URL"],
            "--account",
            sim.env["BOOMI_ACCOUNT_ID"],
            "--user",
            sim.env["BOOMI_USERNAME"],
            "--token",
            sim.env["BOOMI_API_TOKEN"],
            "--interval",
            f"{interval:g}",
        ],
        cwd=ROOT,
        env=base_env(),
    )
    if timed.code != 0:
        raise RuntimeError(f"baseline exited {timed.code}: {timed.stderr[-2000:]}")
    result = json.loads(timed.stdout)
    overhead = statistics.fmean(run["seconds"] - lengths[i] for i, run in enumerate(result["runs"]))
    return {
        "approach": "one run at a time; POST, then GET the async record every "
        f"{interval:g} s (5 s time-scaled) until final",
        "sample_runs": len(result["runs"]),
        "sample_seconds": round(result["seconds"], 3),
        "sample_calls_per_execution": round(result["calls"] / max(1, len(sample)), 2),
        "per_run_overhead_seconds": round(overhead, 3),
        "estimated_seconds_for_all": round(sum(lengths) + len(lengths) * overhead, 1),
        "estimate": "sum of the N run lengths + N x the mean overhead (wall - run length) "
        "measured on the sample",
    }


def _applied(
    sim: Sim, root: Path, env: dict[str, str], n: int, rate: float, scale: float, work: Path
) -> dict[str, Any]:
    """One ``reconciler apply`` of ``n`` executions: wall time, floors, timeline, HTTP calls."""
    shapes = {p["id"]: p for p in sim.world["processes"]}
    began = time.time()
    applied = run_timed(reconciler("apply"), cwd=root, env=env)
    (work / "apply-progress.log").write_text(applied.stderr, encoding="utf-8")
    if applied.code != 0:
        raise RuntimeError(f"apply exited {applied.code}: {applied.stderr[-3000:]}")
    stats = sim.get("stats")
    once = submission_check(sim, root, n)
    submissions = sim.get("submissions")["submissions"]

    # The floor: the longest single run (submit to final status, real seconds), or the
    # fewest calls (one POST and one GET per execution) at the rate limit.
    states = read_states(root)
    length_by_request = {
        s["request_id"]: (
            shapes[s["request"]["process_id"]]["recordDelay"] + s["duration_ms"] / 1000
        )
        / scale
        for s in states
    }
    longest = max(length_by_request.values())
    min_calls = 2 * n
    floor = max(longest, min_calls / rate)
    # Where the wall time goes: when runs were submitted (real seconds after the first
    # POST), and the best any tool could do with this submission order and POSTs alone
    # at the rate limit (run i cannot start before i / rate).
    first = min(s["simTime"] for s in submissions)
    submitted_at = {s["requestId"]: (s["simTime"] - first) / scale for s in submissions}
    longest_id = max(length_by_request, key=length_by_request.__getitem__)
    order_floor = max(
        i / rate + length_by_request[s["requestId"]] for i, s in enumerate(submissions)
    )
    calls = account_calls(stats)
    total_calls = sum(calls.values())
    lengths_in_order = [length_by_request[s["requestId"]] for s in submissions]
    return {
        "wall_seconds": round(applied.seconds, 3),
        "floor": {
            "seconds": round(floor, 3),
            "longest_run_seconds": round(longest, 3),
            "min_calls": min_calls,
            "min_calls_seconds": round(min_calls / rate, 3),
            "sum_of_runs_seconds": round(sum(lengths_in_order), 3),
            "order_floor_seconds": round(order_floor, 3),
        },
        "timeline": {
            "last_submit_after_first_s": round(max(submitted_at.values()), 3),
            "longest_run_submitted_after_first_s": round(submitted_at[longest_id], 3),
            "apply_cpu_seconds": round(applied.cpu_seconds, 2),
            **progress_times(applied.stderr, began),
        },
        "ratio_to_order_floor": round(applied.seconds / order_floor, 3),
        "ratio_to_floor": round(applied.seconds / floor, 3),
        "http": {
            "calls": total_calls,
            "by_status": calls,
            "by_endpoint": stats["requests"],
            "calls_per_execution": round(total_calls / n, 3),
            "target_calls_per_execution": 2.5,
            "tool_reported": apply_record(root).get("stats", {}),
        },
        "self_caused_503": stats["rateLimited"],
        "submissions": once,
        "max_rss_mb": round(applied.max_rss_mb, 1),
        "_submissions": submissions,
        "_lengths_in_order": lengths_in_order,
    }


def bench_apply(sizes: Sizes, work: Path) -> dict[str, Any]:
    """``sizes.apply`` executions on the simulator, against the floor and the sequential way.

    Then the same executions again with a changed variable (every request changes, so every
    one reruns): the repeat apply knows each run's last duration from the state, as every
    apply after the first does.
    """
    n, scale = sizes.apply, sizes.scale
    rate = workload.PLATFORM_RATE * scale  # real requests per second, the sim's and the tool's
    world = workload.world(processes=sizes.processes, seed=7, rate=rate)
    for process in world["processes"]:
        process["duration"]["max"] = sizes.max_duration
    root = work / "apply"
    workload.generate(
        root,
        n,
        processes=sizes.processes,
        seed=2,
        scale=scale,
        concurrency=min(n, 1000),
        rate=rate,
        with_deps=False,
    )
    with simulator(world, scale, work) as sim:
        env = base_env({**sim.env, workload.SECRET_NAME: "bench-secret-value"})
        first = _applied(sim, root, env, n, rate, scale, work)
        submissions = first.pop("_submissions")
        lengths_in_order = first.pop("_lengths_in_order")
        baseline = (
            run_baseline(sim, submissions, lengths_in_order, sizes.baseline_sample, scale, work)
            if sizes.baseline_sample
            else None
        )
        config = root / "reconciler.yaml"
        config.write_text(
            config.read_text(encoding="utf-8").replace("2026-01-15", "2026-01-16"),
            encoding="utf-8",
        )
        sim.reset()  # counts start again; the state keeps every run's duration
        (work / "repeat").mkdir(exist_ok=True)
        repeat = _applied(sim, root, env, n, rate, scale, work / "repeat")
        for key in ("_submissions", "_lengths_in_order"):
            repeat.pop(key)

    return {
        "executions": n,
        "time_scale": scale,
        "rate_limit_per_s": rate,
        "world": {
            "processes": sizes.processes,
            "duration": "lognormal per process, medians 3..90 s (log-spaced), sigma 0.7, "
            f"capped at {sizes.max_duration:g} s; record delay 0.5..2 s (platform seconds)",
        },
        **first,
        "target_ratio": 1.2,
        "baseline": baseline,
        "speedup_vs_baseline": (
            round(baseline["estimated_seconds_for_all"] / first["wall_seconds"], 1)
            if baseline
            else None
        ),
        "repeat": repeat,
    }


def bench_memory(sizes: Sizes, work: Path, plan_root: Path) -> dict[str, Any]:
    """Peak RSS of applying ``sizes.memory`` executions; then a no-op plan over their state."""
    scale = sizes.memory_scale
    world = workload.world(processes=sizes.processes, seed=11, rate=0)
    for process in world["processes"]:
        process["duration"]["max"] = 60.0
    root = plan_root
    if sizes.memory != sizes.plan:
        raise ValueError("the memory step applies the plan step's workspace")
    (root / "reconciler.yaml").write_text(
        workload.config(scale=scale, concurrency=1000, rate=1000), encoding="utf-8"
    )
    with simulator(world, scale, work) as sim:
        env = base_env({**sim.env, workload.SECRET_NAME: "bench-secret-value"})
        applied = run_timed(reconciler("apply"), cwd=root, env=env)
        if applied.code != 0:
            raise RuntimeError(f"apply exited {applied.code}: {applied.stderr[-3000:]}")
        once = submission_check(sim, root, sizes.memory)
        stats = sim.get("stats")
    states = read_states(root)
    final = sum(1 for s in states if s.get("phase") == "final")
    noop = plan_against_floor(root, sizes.repeats)
    return {
        "memory": {
            "executions": sizes.memory,
            "wall_seconds": round(applied.seconds, 3),
            "max_rss_mb": round(applied.max_rss_mb, 1),
            "target_max_rss_mb": 200,
            "http_calls": sum(account_calls(stats).values()),
            "submissions": once,
            "final_states": final,
        },
        "noop_plan": {
            "executions": sizes.memory,
            "state_files": len(states),
            "nothing_to_do": noop["plan"]["exit_code"] == 0,
            **noop,
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
    total = cumulative.get("reconciler.cli", 0)
    return {
        "heavy_loaded": [m for m in HEAVY if m in cumulative],
        "heavy_lazy": [m for m in HEAVY if m not in cumulative],
        "reconciler_cli_import_ms": round(total / 1000, 1),
        "heavy_import_ms": {m: round(cumulative[m] / 1000, 1) for m in HEAVY if m in cumulative},
    }


def bench_startup(sizes: Sizes, work: Path) -> dict[str, Any]:
    """``reconciler --help`` and ``validate`` on one spec, against a bare interpreter."""
    root = work / "startup"
    workload.generate(
        root, 1, processes=1, seed=3, scale=1, concurrency=50, rate=10, with_deps=False
    )
    spec = next((root / "specs").rglob("*.yaml"))
    repeats = sizes.repeats
    env = base_env()

    def median(args: Sequence[str]) -> tuple[float, list[float]]:
        runs = [run_timed(args, cwd=root, env=env) for _ in range(repeats)]
        if any(r.code != 0 for r in runs):
            raise RuntimeError(f"{args} failed: {runs[-1].stderr[-2000:]}")
        seconds = [r.seconds for r in runs]
        return statistics.median(seconds), [round(s, 3) for s in seconds]

    bare, bare_all = median([sys.executable, "-c", "pass"])
    click_only, click_all = median([sys.executable, "-c", "import click, pathlib, json"])
    helped, help_all = median(reconciler("--help"))
    validated, validate_all = median(reconciler("validate", str(spec.relative_to(root))))
    return {
        "repeats": repeats,
        "python_bare_seconds": round(bare, 3),
        "python_click_seconds": round(click_only, 3),
        "help_seconds": round(helped, 3),
        "validate_seconds": round(validated, 3),
        "help_ratio_to_bare": round(helped / bare, 1),
        "validate_ratio_to_bare": round(validated / bare, 1),
        "all_seconds": {
            "bare": bare_all,
            "click": click_all,
            "help": help_all,
            "validate": validate_all,
        },
        "imports": {
            "help": _imports(["--help"], root),
            "validate": _imports(["validate", str(spec.relative_to(root))], root),
        },
    }


# ---------------------------------------------------------------------------------------------
# Main


STEPS = ("plan", "apply", "startup")


def run(sizes: Sizes, steps: Sequence[str], keep: Path | None = None) -> dict[str, Any]:
    """Run the chosen steps; return the results document."""
    results: dict[str, Any] = {
        "formatVersion": 1,
        "mode": "quick" if sizes.plan == QUICK.plan else "full",
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        "sizes": sizes.__dict__,
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
            results["plan"], plan_root = bench_plan(sizes, work)
            results.update(bench_memory(sizes, work, plan_root))
        if "apply" in steps:
            results["apply"] = bench_apply(sizes, work)
        if "startup" in steps:
            results["startup"] = bench_startup(sizes, work)
    finally:
        if keep is not None:
            shutil.copytree(work, keep, dirs_exist_ok=True)
        shutil.rmtree(work, ignore_errors=True)
    results["bench_seconds"] = round(time.perf_counter() - started, 1)
    results["targets"] = targets(results)
    return results


def targets(results: dict[str, Any]) -> dict[str, Any]:
    """Each target: the measured value, the limit and whether it is met."""
    checks: dict[str, Any] = {}

    def check(name: str, value: float, limit: float) -> None:
        checks[name] = {"value": value, "limit": limit, "met": bool(value <= limit)}

    if "plan" in results:
        check("plan_ratio_to_yaml_floor", results["plan"]["ratio"], 2.0)
        check("noop_plan_ratio_to_yaml_floor", results["noop_plan"]["ratio"], 2.0)
        check("apply_peak_rss_mb", results["memory"]["max_rss_mb"], 200)
    if "apply" in results:
        apply = results["apply"]
        check("apply_ratio_to_floor", apply["ratio_to_floor"], 1.2)
        check("apply_calls_per_execution", apply["http"]["calls_per_execution"], 2.5)
        check("apply_self_caused_503", apply["self_caused_503"], 0)
        repeat = apply["repeat"]
        check("repeat_apply_ratio_to_floor", repeat["ratio_to_floor"], 1.2)
        check("repeat_apply_calls_per_execution", repeat["http"]["calls_per_execution"], 2.5)
        check("repeat_apply_self_caused_503", repeat["self_caused_503"], 0)
    return checks


def summary(results: dict[str, Any]) -> str:
    """A few lines for the terminal."""
    lines = [f"reconciler benchmark ({results['mode']}, {results['bench_seconds']} s)"]
    for name, check in results["targets"].items():
        mark = "ok  " if check["met"] else "MISS"
        lines.append(f"  {mark} {name}: {check['value']} (limit {check['limit']})")
    if "apply" in results and results["apply"]["speedup_vs_baseline"] is not None:
        lines.append(f"  speed-up over one-at-a-time: {results['apply']['speedup_vs_baseline']}x")
    if "startup" in results:
        s = results["startup"]
        lines.append(
            f"  start-up: --help {s['help_seconds']} s, validate {s['validate_seconds']} s "
            f"(bare python {s['python_bare_seconds']} s)"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N=200 everywhere: a smoke test")
    parser.add_argument(
        "--only", action="append", choices=STEPS, help="run only this step (repeatable)"
    )
    parser.add_argument("--out", type=Path, help="results file (default bench/results/MODE.json)")
    parser.add_argument("--keep", type=Path, help="copy the generated workspaces here")
    parser.add_argument(
        "--baseline-sample",
        type=int,
        help="runs of the one-at-a-time baseline to measure (0: skip it)",
    )
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    if args.baseline_sample is not None:
        sizes = dataclasses.replace(sizes, baseline_sample=args.baseline_sample)
    results = run(sizes, args.only or STEPS, keep=args.keep)
    out = args.out or RESULTS / f"{results['mode']}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(summary(results))
    print(f"results: {out}")
    return 0 if all(math.isfinite(c["value"]) for c in results["targets"].values()) else 1
