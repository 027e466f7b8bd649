"""PURE. A simulated execution's status timeline on a virtual clock.

A ``Timeline`` says, for any simulated time ``t`` (seconds), whether the run's record exists
yet and which status it shows. ``plan_timeline`` builds one from a process definition, the
submission time and the moment the runtime can take the run; ``cancel_timeline`` ends a running
one with ``ABORTED``. Durations are drawn from a ``random.Random`` seeded with the world seed
and the submission index, so the same world and submission order give the same timelines; a
process with ``executionSpeed`` multiplies them by a factor fixed per execution.
No clock, no I/O: time always arrives as a parameter.

Default walk (boomi-platform-api.md §8, "typical transitions"): the record appears
``recordDelay`` after the runtime can take the run (the async endpoint answers 202 before
that, §6.1); then ``ENQUEUED`` for ``enqueued`` seconds (if > 0), ``STARTED`` briefly,
``INPROCESS``, and the final status. ``DISCARDED`` runs sit in ``ENQUEUED`` and never start.
A scripted outcome with ``steps`` replaces the walk with its own statuses (e.g.
``ABORTED_RECOVERING``).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace

from reconciler.sim.world import Documents, Duration, Outcome, Process

FINAL_STATUSES = frozenset({"COMPLETE", "COMPLETE_WARN", "ERROR", "ABORTED", "DISCARDED"})

# Share of a run spent in STARTED before INPROCESS, capped in seconds: STARTED is the brief
# "starting" state of the UI (§8), so it must not dominate long runs.
_STARTED_SHARE = 0.1
_STARTED_CAP = 1.0


@dataclass(frozen=True, slots=True)
class Phase:
    """A status that holds from ``at`` (simulated seconds) until the next phase."""

    status: str
    at: float


@dataclass(frozen=True, slots=True)
class Timeline:
    """Everything the record of one run will show, as a function of simulated time."""

    record_at: float | None
    """When the record first exists; None while the runtime cannot take the run."""
    phases: tuple[Phase, ...]
    """Ascending by ``at``; the last phase is final. Empty when ``record_at`` is None."""
    run_started_at: float | None
    """When the run left the queue (for ``executionDuration``); None if it never ran."""
    message: str | None
    documents: Documents

    def has_record(self, t: float) -> bool:
        """True once the record exists (the async endpoint answers 200)."""
        return self.record_at is not None and t >= self.record_at

    def status_at(self, t: float) -> str | None:
        """The status shown at ``t``, or None before the record exists."""
        if not self.has_record(t):
            return None
        current = self.phases[0].status
        for phase in self.phases:
            if phase.at <= t:
                current = phase.status
            else:
                break
        return current

    @property
    def final_status(self) -> str | None:
        """The status the run ends with (None if it is never recorded)."""
        return self.phases[-1].status if self.phases else None

    @property
    def ends_at(self) -> float | None:
        """When the final status appears (``recordedDate``)."""
        return self.phases[-1].at if self.phases else None

    def is_final(self, t: float) -> bool:
        """True once the final status shows."""
        return self.ends_at is not None and self.has_record(t) and t >= self.ends_at

    def duration_ms(self, t: float) -> int:
        """``executionDuration`` at ``t``: time spent running, in milliseconds."""
        if self.run_started_at is None or t < self.run_started_at:
            return 0
        end = self.ends_at if self.ends_at is not None else t
        return round((min(t, end) - self.run_started_at) * 1000)


def draw_duration(duration: Duration, rng: random.Random, factor: float = 1.0) -> float:
    """One duration in seconds from the distribution, times ``factor`` (an execution's speed).

    A lognormal draw is capped by ``min``/``max`` after the factor; the other two are not.
    """
    if duration.distribution == "fixed":
        return float(duration.value or 0.0) * factor
    if duration.distribution == "uniform":
        return rng.uniform(duration.min or 0.0, duration.max or 0.0) * factor
    median = duration.median or 1.0
    value = rng.lognormvariate(math.log(median), duration.sigma or 0.0) * factor
    if duration.max is not None:
        value = min(value, duration.max)
    if duration.min is not None:
        value = max(value, duration.min)
    return value


def rng_for(seed: int, index: int) -> random.Random:
    """The deterministic random stream of submission number ``index`` in a world."""
    # Not security-relevant: reproducible simulation (S311 is about crypto use).
    return random.Random(f"{seed}/run/{index}")  # noqa: S311


def speed_factor(process: Process, seed: int, dynamic: Sequence[tuple[str, str]]) -> float:
    """The speed of one execution of ``process`` (1.0 unless the world gives it its own).

    The same (seed, process, identity) always gives the same factor, and drawing it does not
    touch the run's own random stream, so worlds without ``executionSpeed`` are unchanged.
    """
    speed = process.execution_speed
    if speed is None:
        return 1.0
    named = dict(dynamic).get(speed.key) if speed.key is not None else None
    identity = named if named is not None else repr(sorted(dynamic))
    rng = random.Random(f"{seed}/speed/{process.id}/{identity}")  # noqa: S311
    return rng.lognormvariate(0.0, speed.sigma)


def outcome_for(process: Process, ordinal: int) -> Outcome:
    """The scripted outcome of the ``ordinal``-th submission of ``process`` (cycling)."""
    return process.outcome[ordinal % len(process.outcome)]


def plan_timeline(
    process: Process,
    *,
    available_at: float | None,
    seed: int,
    index: int,
    ordinal: int,
    dynamic: Sequence[tuple[str, str]] = (),
) -> Timeline:
    """Build the timeline of one submission.

    Args:
        process: the process definition (durations, outcome, delays).
        available_at: simulated time from which the runtime can take the run (the submission
            time, or later when the runtime comes online); None = not (yet) known.
        seed: the world seed.
        index: the submission's global index (selects the random stream).
        ordinal: how many submissions of this process came before (selects the outcome).
        dynamic: the request's dynamic properties (the execution's identity for
            ``executionSpeed``).
    """
    outcome = outcome_for(process, ordinal)
    message = outcome.message if outcome.message is not None else process.message
    documents = outcome.documents or process.documents
    if available_at is None or outcome.never_records:
        return Timeline(None, (), None, message, documents)
    rng = rng_for(seed, index)
    record_at = available_at + process.record_delay
    if outcome.steps is not None:
        steps: list[Phase] = []
        at, started = record_at, None
        for step in outcome.steps:
            steps.append(Phase(step.status, at))
            if started is None and step.status != "ENQUEUED":
                started = at
            at += step.seconds
        steps.append(Phase(outcome.status, at))
        if started is None and outcome.status != "DISCARDED":
            started = at
        return Timeline(record_at, tuple(steps), started, message, documents)
    factor = speed_factor(process, seed, dynamic)
    seconds = draw_duration(outcome.duration or process.duration, rng, factor)
    if outcome.status == "DISCARDED":
        # §8: a discarded run waited in the queue and never ran.
        wait = process.enqueued or seconds
        discarded = (Phase("ENQUEUED", record_at), Phase("DISCARDED", record_at + wait))
        return Timeline(record_at, discarded, None, message, documents)
    queued: list[Phase] = []
    start = record_at
    if process.enqueued > 0:
        queued.append(Phase("ENQUEUED", record_at))
        start += process.enqueued
    inprocess = start + min(seconds * _STARTED_SHARE, _STARTED_CAP)
    phases = (
        *queued,
        Phase("STARTED", start),
        Phase("INPROCESS", inprocess),
        Phase(outcome.status, start + seconds),
    )
    return Timeline(record_at, phases, start, message, documents)


def force_final(timeline: Timeline, status: str, message: str) -> Timeline:
    """The same walk ending with ``status`` and ``message`` (the ``echo_record`` fault)."""
    if not timeline.phases:
        return replace(timeline, message=message)
    last = timeline.phases[-1]
    return replace(
        timeline, phases=(*timeline.phases[:-1], Phase(status, last.at)), message=message
    )


def cancel_timeline(timeline: Timeline, at: float) -> Timeline:
    """End a not-yet-final run with ``ABORTED`` at ``at`` (cancelExecution, §11).

    A run whose record does not exist yet gets one at ``at``, already aborted.
    """
    if timeline.record_at is None or at < timeline.record_at:
        return Timeline(at, (Phase("ABORTED", at),), None, None, Documents())
    kept = tuple(p for p in timeline.phases if p.at <= at and p.status not in FINAL_STATUSES)
    started = timeline.run_started_at
    if started is not None and started > at:
        started = None
    return replace(
        timeline,
        phases=(*kept, Phase("ABORTED", at)),
        run_started_at=started,
        message=None,
        documents=Documents(),
    )
