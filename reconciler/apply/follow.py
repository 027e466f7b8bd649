"""Following one submitted run to its final status: polls, two budgets, every change saved.

Part of the engine: ``engine`` decides what runs and submits it, this module polls a run it
handed over until the record says the run is final, or until a budget runs out.

Each run is polled with jittered backoff (``backoff.poll_interval``): ``poll_initial``, growing
by half per poll up to ``poll_max``. Once nothing is left to submit (the apply's ``Backlog`` is
drained) and fewer than ``TAIL`` runs are followed, the cap shrinks in proportion (never below
``poll_initial``): the last runs of an apply are noticed sooner, while their polls together
stay as frequent as ``TAIL`` runs polled at ``poll_max``. At most ``Pace.spare`` pauses per
apply are shortened so (the engine allows one per four runs), so a long run alone, or the last
run of a small apply, is not polled ten times as often for its whole length. Two budgets:
``record_timeout`` for the 202 phase (no record yet) and the run's timeout; running out of
either leaves the run ``submitted`` (pending), and the next apply resumes it.

A run just submitted is first polled one and a half initial intervals after its POST; once its
executionId is known, it is polled in the apply's poll rounds (``rounds``: one query for up to
100 runs), and on its own only when a round did not carry it. A run is polled on its own by its
requestId; once the platform says it no longer knows that requestId (``RecordNotFound``:
expired, or not an id at all, as a state written before ids were checked may hold) a run whose
executionId is known is polled by that instead, else it is ``unknown``.
An answer the client cannot read (``ProtocolError``, any ``PlatformError``) stops polling that
run only: it stays in its last good state, ``submitted``, and the others go on. A platform that
cannot be reached at all (``PlatformUnreachable``: refused, or silent) stops the whole apply.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from reconciler.apply.rounds import BatchSource, Rounds
from reconciler.clock import Clock
from reconciler.errors import PlatformError, PlatformUnreachable, RecordNotFound
from reconciler.model import (
    Action,
    ActionKind,
    DesiredRun,
    Event,
    Final,
    Meter,
    NoRecord,
    Outcome,
    Phase,
    PlatformRecord,
    PollingStopped,
    RunPolicy,
    RunResult,
    RunStatus,
    StateEntry,
    StatusChanged,
    TimedOut,
    Unknown,
)
from reconciler.retry import poll_interval

TAIL = 10  # with fewer runs being followed, each is polled more often


class RecordSource(BatchSource, Protocol):
    """What following a run needs from the platform."""

    async def get_record(self, request_id: str, meter: Meter | None = ...) -> PlatformRecord | None:
        """The run's record by requestId, or None while it does not exist yet."""
        ...

    async def get_execution(
        self, execution_id: str, meter: Meter | None = ...
    ) -> PlatformRecord | None:
        """The run's record by executionId (for adopted runs), or None."""
        ...


@dataclass(frozen=True)
class Budgets:
    """How often and how long runs are polled (seconds)."""

    poll_initial: float
    poll_max: float
    timeout: float  # following one run, unless its policy says otherwise
    record_timeout: float  # waiting for a run's record to exist (the 202 phase)


class Backlog(Protocol):
    """What following needs to know of the apply's schedule."""

    def drained(self) -> bool:
        """Nothing is left to submit: every submit has its permit, none is waiting to start."""
        ...


@dataclass(frozen=True)
class Pace:
    """How one apply's last runs are polled: ``spare`` shortened pauses, once drained."""

    backlog: Backlog
    spare: int


class Follower:
    """Polls one apply's runs to their final status, saving each change through ``save``."""

    def __init__(
        self,
        client: RecordSource,
        clock: Clock,
        budgets: Budgets,
        pace: Pace,
        *,
        save: Callable[[StateEntry], StateEntry],
        progress: Callable[[Event], None],
        seen: Callable[[str], None],
        rng: random.Random,
        also_spent: Callable[[], int] = lambda: 0,
    ) -> None:
        self._client = client
        self._rounds = Rounds(
            client,
            clock,
            pause_max=budgets.poll_max,
            pause_min=budgets.poll_initial,
            also_spent=also_spent,
        )
        self._clock = clock
        self._budgets = budgets
        self._backlog = pace.backlog
        self._spare = pace.spare  # shortened pauses left in this apply
        self._save = save
        self._progress = progress
        self._seen = seen  # an executionId now explained by the state
        self._rng = rng
        self._following = 0  # runs being polled right now

    async def follow(self, entry: StateEntry, action: Action, meter: Meter) -> RunResult:
        """Poll one run until it is final, or until one of the two budgets runs out."""
        policy = action.desired.policy if action.desired else None
        budget = (policy.timeout if policy else None) or self._budgets.timeout
        fresh = action.kind not in (ActionKind.RESUME, ActionKind.UNKNOWN)
        self._following += 1
        self._rounds.earn()
        try:
            return await self._until_final(entry, action.desired, meter, budget, fresh)
        finally:
            self._following -= 1

    async def _until_final(
        self, entry: StateEntry, run: DesiredRun | None, meter: Meter, budget: float, fresh: bool
    ) -> RunResult:
        began = self._clock.monotonic()
        waited_for_record = 0.0
        polls = 0
        by_request = bool(entry.request_id)
        wait = min(self._first_wait(entry, fresh), budget)
        while True:
            try:
                try:
                    record = await self._poll(entry, meter, by_request, wait)
                except RecordNotFound:
                    if not by_request or entry.execution_id is None:
                        raise
                    by_request = False  # the run is known by its executionId: ask by that
                    record = await self._fetch(entry, meter, by_request)
            except RecordNotFound as exc:
                entry = self._save(
                    entry.model_copy(update={"phase": Phase.UNKNOWN, "message": exc.message})
                )
                self._progress(Unknown(entry.name, exc.message))
                return result(entry, "unknown", meter, polls + 1)
            except PlatformUnreachable:
                raise  # the platform cannot be reached at all: the whole apply stops, once
            except PlatformError as exc:
                self._progress(PollingStopped(entry.name, exc.message))
                return result(entry, "pending", meter, polls + 1, message=exc.message)
            polls += 1
            elapsed = self._clock.monotonic() - began
            if record is None:
                waited_for_record = elapsed
                if elapsed >= self._budgets.record_timeout:
                    event = NoRecord(entry.name, elapsed)
                    self._progress(event)
                    return result(entry, "pending", meter, polls, waited_for_record, event.message)
            else:
                entry = self._record(entry, record)
                if entry.phase is Phase.FINAL:
                    self._progress(Final(entry.name, entry.status or "", entry.execution_id))
                    return result(entry, outcome(entry, run), meter, polls, waited_for_record)
            if elapsed >= budget:
                timed_out = TimedOut(entry.name, entry.status, budget)
                self._progress(timed_out)
                reason = timed_out.reason
                return result(entry, "pending", meter, polls, waited_for_record, reason)
            wait = min(self._pause(polls - 1), max(0.0, budget - elapsed) + 0.01)

    def _first_wait(self, entry: StateEntry, fresh: bool) -> float:
        """How long after its POST a run is first asked for: once its record should exist.

        A run just submitted has no record for a moment (§6.1, 0.5 to 2 s): its first poll
        waits the second interval of the backoff (1.5 initial intervals), so few first polls
        meet a 202, and once the answer gives its executionId the run is followed in the poll
        rounds. (Waiting half the run's expected length instead, as before issue 18, held a
        slot up to ``poll_max`` after a short run ended: at ``concurrency: 50`` a run waited
        0.5 s on average to be seen over, 20 times per slot in an apply of 1,000; and under a
        simulator's time scale the expectation, in platform seconds, was ten times too long.)
        A run resumed or adopted from an earlier apply may be over already: it is asked at once.
        """
        if not fresh or entry.status is not None:
            return 0.0
        return self._pause(2)

    async def _poll(
        self, entry: StateEntry, meter: Meter, by_request: bool, wait: float
    ) -> PlatformRecord | None:
        """The run's record ``wait`` seconds from now: in a round once its executionId is known.

        A round that does not carry the run says nothing of it (``rounds``): the run is then
        asked for on its own, as before its executionId was known.
        """
        if entry.execution_id is not None:
            record = await self._rounds.poll(entry.execution_id, wait)
            if record is not None:
                return record
        else:
            await self._clock.sleep(wait)
        return await self._fetch(entry, meter, by_request)

    async def _fetch(
        self, entry: StateEntry, meter: Meter, by_request: bool
    ) -> PlatformRecord | None:
        if by_request and entry.request_id:
            return await self._client.get_record(entry.request_id, meter)
        assert entry.execution_id is not None  # noqa: S101 - adopted entries have one
        return await self._client.get_execution(entry.execution_id, meter)

    async def stop(self) -> None:
        """End the poll rounds: the apply is over (or interrupted)."""
        await self._rounds.stop()

    def _pause(self, polls: int) -> float:
        """The backoff before the next poll, its cap shrunk when few runs are followed."""
        initial, maximum = self._budgets.poll_initial, self._budgets.poll_max
        if self._spare > 0 and self._following < TAIL and self._backlog.drained():
            shrunk = max(initial, maximum * self._following / TAIL)
            if shrunk < maximum:
                self._spare -= 1
                maximum = shrunk
        return poll_interval(polls, initial=initial, maximum=maximum, rng=self._rng)

    def _record(self, entry: StateEntry, record: PlatformRecord) -> StateEntry:
        known = RunStatus.of(record.status)
        final = known is not None and known.is_final
        update: dict[str, object] = {
            "status": record.status,
            "execution_id": record.execution_id,
            "execution_time": record.execution_time,
            "message": record.message,
        }
        if final:
            update.update(
                phase=Phase.FINAL,
                finished_at=record.recorded_date or self._clock.now(),
                duration_ms=record.duration_ms,
            )
        new = entry.model_copy(update=update)
        if new == entry:
            return entry
        self._seen(record.execution_id)
        if not final and new.status != entry.status:
            self._progress(StatusChanged(entry.name, record.status, record.execution_id))
        return self._save(new)


def outcome(entry: StateEntry, run: DesiredRun | None) -> Outcome:
    """How a run that stopped in ``entry`` ended, under its policy."""
    if entry.phase is Phase.FINAL:
        policy = run.policy if run is not None else RunPolicy()
        return "success" if policy.succeeded(entry.status) else "failure"
    if entry.phase is Phase.REJECTED:
        return "rejected"
    if entry.phase in (Phase.UNKNOWN, Phase.INTENT):
        return "unknown"
    return "pending"


def result(
    entry: StateEntry,
    outcome: Outcome,
    meter: Meter,
    polls: int = 0,
    waited_for_record: float = 0.0,
    message: str | None = None,
) -> RunResult:
    """The ``RunResult`` of a run that stopped in ``entry``."""
    return RunResult(
        name=entry.name,
        outcome=outcome,
        status=entry.status,
        message=message or entry.message,
        request_id=entry.request_id,
        execution_id=entry.execution_id,
        duration_ms=entry.duration_ms,
        polls=polls,
        http_calls=meter.calls,
        waited_for_record_s=round(waited_for_record, 3),
        started_at=entry.execution_time,
        finished_at=entry.finished_at,
    )
