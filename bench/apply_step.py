"""The apply suite: first (and repeat) applies on four worlds, two concurrencies, several rounds.

A case is (world, N, concurrency). Each round applies every case once, on a fresh state folder,
against one simulator reset to the case's world; round ``r`` draws the world with seed
``7 + r``, so every case meets several draws and two runs of the bench meet the same ones. A
repeat apply (every request changed, the first apply's durations in the state, as on every
apply after the first) follows the first in the worlds named by ``repeat_worlds``.

Each apply is compared with its floor (``bench/floors.py``) computed on the runs the simulator
actually made, and its HTTP calls are counted by the simulator, by endpoint.
"""

from __future__ import annotations

import calendar
import json
import re
import shutil
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import workload
from bench.floors import Span, apply_floor
from bench.procs import (
    ROOT,
    Sim,
    account_calls,
    base_env,
    reconciler,
    run_timed,
    shown,
    simulator,
)
from bench.stats import spread

DEFAULT_CONCURRENCY = 50  # reconciler/config/settings.py ApplyConfig.concurrency
ENDPOINTS = {
    "executionRequest": "post",
    "executionRecordAsync": "async_get",
    "executionRecordQuery": "query",
    "executionRecordQueryMore": "query_more",
}


@dataclass(frozen=True)
class Case:
    world: str
    n: int
    concurrency: int

    @property
    def key(self) -> str:
        return f"{self.world}/N={self.n}/c={self.concurrency}"


def read_states(root: Path) -> list[dict[str, Any]]:
    """Every state file of the default environment, parsed."""
    folder = root / "state" / "default"
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))]


def progress_times(log: str, began: float) -> dict[str, float]:
    """When the first POST was answered and the last run reached its final status, after the
    process began (from the progress lines ``[HH:MM:SS] name: message``: whole seconds)."""
    day = time.strftime("%Y-%m-%d", time.gmtime(began))

    def at(stamp: str) -> float:
        return calendar.timegm(time.strptime(f"{day} {stamp}", "%Y-%m-%d %H:%M:%S")) - began

    line = r"^\[(\d\d:\d\d:\d\d)\] \S+: "
    submitted = re.findall(line + "submitted", log, re.M)
    final = re.findall(line + "(?:COMPLETE|ERROR|ABORTED|DISCARDED)", log, re.M)
    if not submitted or not final:
        return {}
    return {
        "first_submit_after_start_s": round(at(submitted[0]), 1),
        "last_final_after_start_s": round(at(final[-1]), 1),
    }


def one_apply(
    sim: Sim, root: Path, env: dict[str, str], case: Case, world: dict[str, Any], rate: float
) -> dict[str, Any]:
    """One ``reconciler apply``: wall time against the floor, calls by endpoint, exactly-once."""
    began = time.time()
    applied = run_timed(reconciler("apply"), cwd=root, env=env)
    if applied.code != 0:
        raise RuntimeError(
            f"apply exited {applied.code}: {applied.stdout[-3000:]}{applied.stderr[-1500:]}"
        )
    stats = sim.get("stats")
    data = sim.get("submissions")
    submissions = data["submissions"]
    states = {s["request_id"]: s for s in read_states(root)}
    counts = [c["count"] for c in data["counts"]]
    exactly_once = (
        len(submissions) == case.n
        and all(c == 1 for c in counts)
        and len(states) == case.n
        and set(states) == {s["requestId"] for s in submissions}
    )
    delays = {p["id"]: p["recordDelay"] for p in world["processes"]}
    scale = sim.scale
    first = min(s["simTime"] for s in submissions)
    spans = []
    for s in submissions:
        state = states[s["requestId"]]
        delay = delays[s["processId"]] / scale
        spans.append(
            Span(
                submitted=(s["simTime"] - first) / scale,
                record_delay=delay,
                length=delay + state["duration_ms"] / 1000 / scale,
            )
        )
    floor = apply_floor(
        spans, concurrency=case.concurrency, rate=rate, poll=workload.POLL_MAX / scale
    )
    by_endpoint = account_calls(stats)
    calls = sum(by_endpoint.values())
    kinds: dict[str, int] = {}
    for endpoint, n in by_endpoint.items():
        kind = ENDPOINTS.get(endpoint, "other")
        kinds[kind] = kinds.get(kind, 0) + n
    longest = max(spans, key=lambda s: s.length)
    reported = _tool_stats(root)
    return {
        "wall_seconds": round(applied.seconds, 3),
        "cpu_seconds": round(applied.cpu_seconds, 2),
        "max_rss_mb": round(applied.max_rss_mb, 1),
        "floor": floor,
        "ratio_to_floor": round(applied.seconds / floor["seconds"], 3),
        "ratio_to_order_floor": round(applied.seconds / floor["order_floor_seconds"], 3),
        "calls": calls,
        "calls_per_execution": round(calls / case.n, 3),
        "calls_by_kind_per_execution": {k: round(v / case.n, 3) for k, v in kinds.items()},
        "tool_reported_calls": reported,
        "self_caused_503": stats["rateLimited"],
        "exactly_once": exactly_once,
        "timeline": {
            "last_submit_after_first_s": round(max(s.submitted for s in spans), 3),
            "longest_run_submitted_after_first_s": round(longest.submitted, 3),
            **progress_times(applied.stderr, began),
        },
    }


def _tool_stats(root: Path) -> int | None:
    path = root / "artifacts" / "default" / "apply.json"
    if not path.is_file():
        return None
    stats = json.loads(path.read_text(encoding="utf-8")).get("stats", {})
    value = stats.get("HTTP calls")
    return int(value) if isinstance(value, int) else None


def _prepare(root: Path, case: Case, rate: float, scale: float, run_date: str) -> None:
    shutil.rmtree(root / "state", ignore_errors=True)
    shutil.rmtree(root / "artifacts", ignore_errors=True)
    text = workload.config(scale=scale, concurrency=case.concurrency, rate=rate)
    (root / "reconciler.yaml").write_text(text.replace("2026-01-15", run_date), encoding="utf-8")


def _summarise(applies: list[dict[str, Any]], case: Case, command: str) -> dict[str, Any]:
    bindings = sorted({a["floor"]["binding"] for a in applies})
    return {
        "world": case.world,
        "executions": case.n,
        "concurrency": case.concurrency,
        "ratio_to_floor": spread([a["ratio_to_floor"] for a in applies]),
        "ratio_to_order_floor": spread([a["ratio_to_order_floor"] for a in applies]),
        "wall_seconds": spread([a["wall_seconds"] for a in applies]),
        "floor_seconds": spread([a["floor"]["seconds"] for a in applies]),
        "floor_binding": bindings,
        "calls_per_execution": spread([a["calls_per_execution"] for a in applies]),
        "min_calls_per_execution": spread([a["floor"]["min_calls_per_execution"] for a in applies]),
        "cpu_seconds": spread([a["cpu_seconds"] for a in applies]),
        "self_caused_503": max(a["self_caused_503"] for a in applies),
        "exactly_once": all(a["exactly_once"] for a in applies),
        "command": command,
        "rounds": applies,
    }


def run_baseline(
    sim: Sim, root: Path, world: dict[str, Any], count: int, work: Path
) -> dict[str, Any]:
    """The sequential way (``bench/baseline.py``) on the first ``count`` submissions of the
    apply that just ran, replayed after a reset of the same world (same processes, same order,
    so the same drawn durations). Its time for all N is estimated as the sum of the N run
    lengths plus N times the overhead per run (wall minus run length) measured on the sample.
    """
    submissions = sim.get("submissions")["submissions"]
    states = {s["request_id"]: s for s in read_states(root)}
    delays = {p["id"]: p["recordDelay"] for p in world["processes"]}
    lengths = [
        (delays[s["processId"]] + states[s["requestId"]]["duration_ms"] / 1000) / sim.scale
        for s in submissions
    ]
    sample = [
        {"processId": s["processId"], "atomId": s["atomId"], "dynamic": s["properties"]["dynamic"]}
        for s in submissions[:count]
    ]
    requests_file = work / "baseline-requests.json"
    requests_file.write_text(json.dumps(sample), encoding="utf-8")
    sim.reset(world)
    interval = 5.0 / sim.scale  # Boomi Companion's fixed 5 s, time-scaled
    args = [
        sys.executable,
        str(ROOT / "bench" / "baseline.py"),
        str(requests_file),
        *("--url", sim.env["BOOMI_API_URL"], "--account", sim.env["BOOMI_ACCOUNT_ID"]),
        *("--user", sim.env["BOOMI_USERNAME"], "--token", sim.env["BOOMI_API_TOKEN"]),
        *("--interval", f"{interval:g}"),
    ]
    timed = run_timed(args, cwd=ROOT, env=base_env())
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
        "command": shown([*args[:3], "--interval", f"{interval:g}"], where="repo root"),
    }


def bench_apply(
    *,
    worlds: Sequence[str],
    n: int,
    small_n: int,
    concurrencies: Sequence[int],
    rounds: int,
    repeat_worlds: Sequence[str],
    scale: float,
    cap: float,
    baseline_sample: int,
    work: Path,
) -> dict[str, Any]:
    """Every case, ``rounds`` times, interleaved; the summaries per case."""
    rate = workload.PLATFORM_RATE * scale
    cases = [Case(w, n, c) for w in worlds for c in concurrencies]
    if small_n and "today" in worlds:
        cases.append(Case("today", small_n, DEFAULT_CONCURRENCY))
    roots: dict[tuple[str, int], Path] = {}
    for case in cases:
        if (case.world, case.n) not in roots:
            root = work / f"apply-{case.world}-{case.n}"
            workload.generate(
                root,
                case.n,
                processes=workload.suite_processes(case.world),
                seed=2,
                scale=scale,
                concurrency=DEFAULT_CONCURRENCY,
                rate=rate,
                with_deps=False,
            )
            roots[(case.world, case.n)] = root
    top = Case("today", n, max(concurrencies))  # the case the baseline is compared with
    first: dict[str, list[dict[str, Any]]] = {c.key: [] for c in cases}
    repeat: dict[str, list[dict[str, Any]]] = {c.key: [] for c in cases}
    baseline = None
    initial = workload.suite_world(cases[0].world, seed=7, rate=rate, cap=cap)
    with simulator(initial, scale, work / "apply-sim") as sim:
        env = base_env({**sim.env, workload.SECRET_NAME: "bench-secret-value"})
        for r in range(rounds):
            for case in cases:
                world = workload.suite_world(case.world, seed=7 + r, rate=rate, cap=cap)
                root = roots[(case.world, case.n)]
                _prepare(root, case, rate, scale, "2026-01-15")
                sim.reset(world)
                first[case.key].append(one_apply(sim, root, env, case, world, rate))
                if baseline is None and baseline_sample and (r, case) == (0, top):
                    baseline = run_baseline(sim, root, world, baseline_sample, work)
                if case.world in repeat_worlds and case.n == n:
                    config = root / "reconciler.yaml"
                    config.write_text(
                        config.read_text(encoding="utf-8").replace("2026-01-15", "2026-01-16"),
                        encoding="utf-8",
                    )
                    sim.reset(world)
                    repeat[case.key].append(one_apply(sim, root, env, case, world, rate))
    command = shown(reconciler("apply"), where="the case's workspace and world")
    results: dict[str, Any] = {
        "time_scale": scale,
        "rate_limit_per_s": rate,
        "poll": {"initial_s": workload.POLL_INITIAL / scale, "max_s": workload.POLL_MAX / scale},
        "rounds": rounds,
        "worlds": {w: workload.WORLD_TEXT[w].format(cap=cap) for w in worlds},
        "first": {k: _summarise(v, _case(k), command) for k, v in first.items()},
        "repeat": {k: _summarise(v, _case(k), command) for k, v in repeat.items() if v},
        "baseline": baseline,
    }
    if baseline is not None:
        today = results["first"][top.key]
        wall = today["rounds"][0]["wall_seconds"]
        results["speedup_vs_baseline"] = round(baseline["estimated_seconds_for_all"] / wall, 1)
    return results


def _case(key: str) -> Case:
    world, n, c = key.split("/")
    return Case(world, int(n.removeprefix("N=")), int(c.removeprefix("c=")))
