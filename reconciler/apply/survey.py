"""Learning how long a process's runs take, from the platform's own records, during an apply.

An apply submits the runs expected to be longest first (``schedule``). On a first apply the
state knows no durations, and the runs' own polls say nothing until the submits are over (they
take the rate limit's permits first). So while runs of a process with no known duration wait
to be submitted, the survey asks the platform, one query per process, for the newest page of
its records (any runtime, the last ``HISTORY`` days), and turns them into an estimate:

- runs that finished give their durations: this is also what a new workspace learns from the
  runs the account made before it existed;
- runs still going give a lower bound (censored, in survival terms): how long they have run.

The estimate is the Kaplan-Meier median once the survival curve reaches one half and at least
``MIN_FINISHES`` finishes are seen (the process is then *settled* and no longer surveyed);
before that, the median of an exponential fit with one finish added as a prior,
``ln 2 · (sum of times seen) / (finishes + 1)``, which grows with every second that runs keep
going without finishing (the ready queue never lets it fall below what the apply saw finish).
In the benchmark's first apply (1,000 runs of 12 processes, no history), surveying every five
initial poll intervals brought the best finish its submission order allows from 1.23x the
longest run to 1.03x, and the apply from 1.29x to 1.08x (docs/performance.md).

The survey costs at most one query per ten runs to submit (``budget``): rounds take the
processes with the most runs waiting first, and stop when the budget is spent. A running
record's ``executionDuration`` is how long it has run when the platform fills it in (the
simulator does; the reference does not say), else the time since its ``executionTime``; a
record that says nothing usable (no time, zero, negative, not finite) is left out, and a time
beyond ``HISTORY`` counts as ``HISTORY``. A survey that fails is only a lost hint: it is
reported once and not repeated.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Protocol

from reconciler.apply.schedule import Estimate
from reconciler.clock import Clock
from reconciler.errors import ReconcilerError
from reconciler.model import Event, Meter, Notice, PlatformRecord, is_final_status

HISTORY = timedelta(days=7)  # how far back finished runs still say how long the process takes
MIN_FINISHES = 3  # one quick failure does not settle what a process takes
_LONGEST_MS = HISTORY.total_seconds() * 1000


class RecentRecords(Protocol):
    """What the survey needs from the platform."""

    async def recent_records(
        self, process_id: str, since: datetime, meter: Meter | None = ...
    ) -> list[PlatformRecord]:
        """The newest page of a process's records since ``since``."""
        ...


class Learner(Protocol):
    """What the survey feeds: the ready queue."""

    def unsettled(self) -> list[str]:
        """Processes with runs waiting to be submitted and no settled estimate, most first."""
        ...

    def learn(self, process_id: str, estimate: Estimate) -> None:
        """Take a process's estimate into account for the runs not submitted yet."""
        ...


def observations(records: Iterable[PlatformRecord], now: datetime) -> list[tuple[float, bool]]:
    """(milliseconds, finished) for each record whose duration or age can be told."""
    seen: list[tuple[float, bool]] = []
    for record in records:
        finished = is_final_status(record.status)
        ms: float | None = float(record.duration_ms) if record.duration_ms else None
        if ms is None and record.execution_time is not None:
            end = record.recorded_date if finished else now
            if end is not None:
                ms = (end - record.execution_time).total_seconds() * 1000
        if ms is not None and math.isfinite(ms) and ms > 0:
            seen.append((min(ms, _LONGEST_MS), finished))
    return seen


def estimate(seen: Sequence[tuple[float, bool]]) -> Estimate | None:
    """The Kaplan-Meier median when defined (settled), else the exponential fit; None if empty."""
    if not seen:
        return None
    finishes = sum(1 for _, finished in seen if finished)
    at_risk = len(seen)
    survival = Fraction(1)  # exact: a product of ratios that lands on one half must say so
    # At equal times a finish counts before a run still going (the usual convention).
    for ms, finished in sorted(seen, key=lambda s: (s[0], not s[1])):
        if finished:
            survival *= Fraction(at_risk - 1, at_risk)
            if survival <= Fraction(1, 2) and finishes >= MIN_FINISHES:
                return Estimate(ms=ms, settled=True)
        at_risk -= 1
    total = sum(ms for ms, _ in seen)
    return Estimate(ms=math.log(2) * total / (finishes + 1), settled=False)


class Survey:
    """Rounds of queries, one per unsettled process, feeding ``queue`` with what they find."""

    def __init__(
        self,
        client: RecentRecords,
        queue: Learner,
        clock: Clock,
        *,
        budget: int,
        progress: Callable[[Event], None] = lambda _event: None,
    ) -> None:
        self._client = client
        self._queue = queue
        self._clock = clock
        self._budget = budget  # queries left
        self.spent = 0  # queries made
        self._progress = progress
        self.first = asyncio.Event()  # set once the first round is over, whatever its fate

    async def run(self, every: float) -> None:
        """A round now, then one every ``every`` seconds, while there is budget left.

        It ends when the budget is spent or a query fails; the caller cancels it when the apply
        ends. ``first`` is set once the first round is over.
        """
        try:
            while await self.round():
                self.first.set()
                await self._clock.sleep(every)
        finally:
            self.first.set()

    async def round(self) -> bool:
        """Survey the unsettled processes (within the budget); False when the survey is over."""
        processes = self._queue.unsettled()[: self._budget]
        if not processes:
            return self._budget > 0
        self._budget -= len(processes)
        self.spent += len(processes)
        since = self._clock.now() - HISTORY
        pages = await asyncio.gather(
            *(self._client.recent_records(p, since) for p in processes), return_exceptions=True
        )
        now = self._clock.now()
        failed: BaseException | None = None
        for process, page in zip(processes, pages, strict=True):
            if isinstance(page, asyncio.CancelledError):
                raise page
            if isinstance(page, BaseException):
                failed = failed or page
                continue
            try:
                found = estimate(observations(page, now))
            except (ArithmeticError, ValueError) as exc:  # records too odd to reckon with
                failed = failed or exc
                continue
            if found is not None:
                self._queue.learn(process, found)
        if failed is not None:
            if not isinstance(failed, Exception):
                raise failed  # KeyboardInterrupt, SystemExit: not ours to swallow
            # A ReconcilerError says what happened without secrets; anything else, its kind.
            what = str(failed) if isinstance(failed, ReconcilerError) else type(failed).__name__
            self._progress(Notice(f"durations not surveyed further: {what}"))
            return False
        return self._budget > 0
