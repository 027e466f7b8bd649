"""The model behind the first apply's submission order: the real ready queue on a model clock.

``python -m bench.order_model`` drives ``reconciler.apply.schedule.ReadyQueue`` (the engine's
own, unchanged) through a discrete-event model of an apply on each world of the apply suite,
at the shipped concurrency and a high one, over many seeds, and prints what each way of
learning gives: the best finish the submission order allows, as a multiple of the apply's
floor (``bench/floors.py``'s terms: longest run, sum of run lengths / concurrency).

The model: POSTs leave at the rate limit (100/s: the platform's 10/s, time-scaled ten times
as the suite is); a run holds its slot from its POST for its record delay and its duration
(the simulator's own draws, ``reconciler.sim.lifecycle``), and its end is seen up to ``gap``
seconds later (uniform: what the poll rounds give), but never before the last POST left when
every run can go at once (the submits take the permits before the polls); the queue hears
each end as it is seen, with the run's duration, as the engine tells it. Ways compared:

- ``engine``: what the engine does: the runs seen ending, and the survey (``survey``): a query
  per unsettled process every five initial poll intervals within its budget, whose page shows
  the process's runs, finished (their durations) and going (how long so far);
- ``finishes only``: the runs seen ending, no survey;
- ``plan order``: nothing learnt (every process unknown: they take turns);
- ``medians known``: each process's median from the start (a survey of an account with
  history, or a repeat apply): the best a first apply can hope for.
"""

from __future__ import annotations

import argparse
import heapq
import random
import statistics
from dataclasses import dataclass
from typing import Any

from bench import workload
from reconciler.apply.engine import _survey_budget
from reconciler.apply.schedule import ReadyQueue
from reconciler.apply.survey import estimate
from reconciler.model import Action, ActionKind, DesiredRun, Location, RunRequest, RunResult
from reconciler.sim.lifecycle import draw_duration
from reconciler.sim.world import world_from_data

SCALE = 10.0
RATE = workload.PLATFORM_RATE * SCALE
ATOM = "3456789a-bcde-f012-3456-789abcdef012"
REFRESH = 5 * workload.POLL_INITIAL / SCALE  # the survey's interval: five initial poll intervals
WAYS = ("engine", "finishes only", "plan order", "medians known")


@dataclass(frozen=True)
class Run:
    name: str
    process: str
    length: float  # seconds from POST to final status (record delay + duration), scaled


def draw_runs(kind: str, n: int, seed: int) -> list[Run]:
    """N runs spread over the world's processes in plan order, their lengths drawn."""
    data = workload.suite_world(kind, seed=seed, rate=RATE)
    world = world_from_data(data)
    processes = world.processes
    rng = random.Random(f"model/{kind}/{seed}")
    runs = []
    for i in range(n):
        process = processes[i % len(processes)]
        factor = 1.0
        if process.execution_speed is not None:
            factor = random.Random(f"speed/{seed}/{i}").lognormvariate(
                0.0, process.execution_speed.sigma
            )
        seconds = draw_duration(process.duration, rng, factor) + process.record_delay
        runs.append(Run(f"r{i:05}", process.id, seconds / SCALE))
    return runs


def _action(run: Run) -> Action:
    request = RunRequest(process_id=run.process, atom_id=ATOM)
    desired = DesiredRun(
        name=run.name, request=request, digest=f"v1:{run.name}", source=Location(file="model")
    )
    return Action(name=run.name, kind=ActionKind.SUBMIT, reason="model", desired=desired)


def simulate(runs: list[Run], concurrency: int, way: str, gap: float, seed: int) -> float:
    """When the last run ends under ``way`` (model seconds from the first POST)."""
    by_name = {r.name: r for r in runs}
    expected: dict[str, float] = {}
    if way == "medians known":
        medians: dict[str, list[float]] = {}
        for run in runs:
            medians.setdefault(run.process, []).append(run.length)
        typical = {p: statistics.median(v) for p, v in medians.items()}
        expected = {r.name: typical[r.process] * 1000 / 1000 for r in runs}
    queue = ReadyQueue([_action(r) for r in runs], expected)
    rng = random.Random(seed)
    processes = len({r.process for r in runs})
    budget = _survey_budget(processes, len(runs), concurrency) if way == "engine" else 0
    # With every run going at once, the POSTs take every permit: no run is seen ending
    # before the last one leaves (the engine's submits go before its polls).
    starved = len(runs) / RATE if concurrency >= len(runs) else 0.0
    seen: list[tuple[float, str]] = []  # (when seen ending, name)
    started: dict[str, float] = {}
    ended: dict[str, float] = {}
    now = next_post = next_survey = last_end = 0.0
    running = 0
    while True:
        if budget > 0 and next_survey <= now:  # a survey round: a query per process
            asked = queue.unsettled()[:budget]
            budget -= len(asked)
            for process in asked:
                page = [
                    ((ended[n] - started[n]) * 1000, True)
                    if n in ended and ended[n] <= now
                    else ((now - started[n]) * 1000, False)
                    for n in started
                    if by_name[n].process == process and now > started[n]
                ]
                if (found := estimate(page)) is not None:
                    queue.learn(process, found)
            next_post += len(asked) / RATE  # each query took a permit
            next_survey = now + REFRESH
        if running >= concurrency or queue.drained():
            if not seen:
                break
            now, name = heapq.heappop(seen)
        elif seen and seen[0][0] <= next_post:
            now, name = heapq.heappop(seen)
        else:
            now = max(now, next_post)
            action = queue.pop()
            if action is None:
                continue
            run = by_name[action.name]
            running += 1
            started[run.name] = now
            ended[run.name] = now + run.length
            last_end = max(last_end, ended[run.name])
            noticed = max(ended[run.name] + rng.uniform(0.0, gap), starved)
            heapq.heappush(seen, (noticed, run.name))
            next_post = now + 1.0 / RATE
            continue
        next_post = max(next_post, now)
        running -= 1
        ms = round(by_name[name].length * 1000) if way in ("engine", "finishes only") else None
        queue.done(RunResult(name=name, outcome="success", duration_ms=ms))
    return last_end


def floor(runs: list[Run], concurrency: int) -> float:
    """max(longest run, sum of run lengths / concurrency, POSTs at the rate limit)."""
    lengths = [r.length for r in runs]
    return max(max(lengths), sum(lengths) / concurrency, len(runs) / RATE)


def model(
    worlds: list[str], n: int, concurrencies: list[int], seeds: int, gap: float
) -> dict[str, Any]:
    """Ratio of each way's last end to the floor, per world and concurrency: median, worst."""
    out: dict[str, Any] = {}
    for kind in worlds:
        for c in concurrencies:
            ratios: dict[str, list[float]] = {w: [] for w in WAYS}
            for seed in range(seeds):
                runs = draw_runs(kind, n, seed)
                bound = floor(runs, c)
                for way in WAYS:
                    ratios[way].append(simulate(runs, c, way, gap, seed) / bound)
            out[f"{kind}/c={c}"] = {
                w: (round(statistics.median(v), 3), round(max(v), 3)) for w, v in ratios.items()
            }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", action="append", choices=workload.WORLDS)
    parser.add_argument("-n", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, action="append")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--gap", type=float, default=0.35, help="round gap (notice latency)")
    args = parser.parse_args()
    worlds = args.world or list(workload.WORLDS)
    found = model(worlds, args.n, args.concurrency or [50, 1000], args.seeds, args.gap)
    print(f"order floor / floor, median and worst of {args.seeds} seeds (N = {args.n})")
    print(f"{'case':28}" + "".join(f"{w:>20}" for w in WAYS))
    for case, row in found.items():
        cells = "".join(f"{f'{a:.3f} / {b:.3f}':>20}" for a, b in row.values())
        print(f"{case:28}{cells}")


if __name__ == "__main__":
    main()
