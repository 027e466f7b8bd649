"""Poll rounds: the runs an apply follows share one QUERY per round, not one GET each.

Part of following (``follow``). Once a run's ``executionId`` is known, its next poll is an
*ask* here: the run says when it is due (its own growing interval). A round starts when the
earliest ask is due; it takes every ask due by then and, since a query answers up to
``BATCH`` runs for the price of one, fills its last query with the asks due soonest after
them. So a round of 50 running executions costs one call, not 50.

Rounds are paced by a budget of queries they share with the durations survey: each run
followed earns ``share`` of a call (0.15: with its POST and the GET that turns its requestId
into its record, 2.15 calls per execution, leaving 0.05 for what a budget cannot foresee: a
202 before a record exists, the last rounds at the longest interval), and every query made,
a round's or the survey's (``also_spent``), spends one. While the budget is spent, rounds
still come every ``pause_max`` seconds, so a run is never noticed later than a poll at the
longest interval would notice it; the budget only decides how much sooner than that. (Rounds
every ``2 * pause_max`` while in debt kept an apply of 1,000 runs of 5 to 200 s at
concurrency 50 at 2.17 calls per execution instead of 2.21, but made it 15 % longer: the
runs are noticed later and hold their slots longer.)

An ask is answered with the run's record, or with None: the answer did not carry it (or the
query failed with a ``PlatformError``), which never means the run is gone: the caller polls
that run on its own (its async GET, or its own query), as it did before rounds. After
``FAILURES`` failed rounds in a row, rounds stop for the apply and every ask is answered None
at once. ``PlatformUnreachable`` reaches every ask of the round: the whole apply stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from reconciler.apply.dispatch import first_of
from reconciler.clock import Clock
from reconciler.errors import PlatformError, PlatformUnreachable
from reconciler.model import Meter, PlatformRecord

BATCH = 100  # executionIds one query asks for: one page of records (§9.2)
SHARE = 0.15  # queries each run followed earns (rounds and the survey together)
FAILURES = 2  # failed rounds in a row after which runs are polled one by one again


class BatchSource(Protocol):
    """What poll rounds need from the platform."""

    async def poll_executions(
        self, execution_ids: Sequence[str], meter: Meter | None = ...
    ) -> Mapping[str, PlatformRecord]:
        """The records of up to ``BATCH`` runs by executionId; an id not answered is absent."""
        ...


@dataclass(eq=False)
class _Ask:
    execution_id: str
    due: float
    future: asyncio.Future[PlatformRecord | None] = field(repr=False)


class Rounds:
    """One apply's poll rounds (see the module docstring)."""

    def __init__(
        self,
        source: BatchSource,
        clock: Clock,
        *,
        pause_max: float,
        share: float = SHARE,
        also_spent: Callable[[], int] = lambda: 0,
    ) -> None:
        self._source = source
        self._clock = clock
        self._pause_max = pause_max
        self._share = share
        self._also_spent = also_spent  # queries made by others out of the same budget
        self._earned = 1.0  # queries earned so far
        self._last = -math.inf  # when the last round started
        self._failed = 0  # failed rounds in a row
        self._asks: list[_Ask] = []
        self._wake = asyncio.Event()
        self._loop: asyncio.Task[None] | None = None
        self.queries = 0  # queries made, for the record

    def earn(self) -> None:
        """One more run is followed: rounds may spend ``share`` of a call more."""
        self._earned += self._share

    async def poll(self, execution_id: str, wait: float) -> PlatformRecord | None:
        """The run's record in a round ``wait`` seconds from now (or sooner), or None."""
        if self._failed >= FAILURES:
            await self._clock.sleep(wait)
            return None
        future: asyncio.Future[PlatformRecord | None] = asyncio.get_running_loop().create_future()
        future.add_done_callback(lambda _: self._wake.set())  # a cancelled ask is dropped
        self._asks.append(_Ask(execution_id, self._clock.monotonic() + wait, future))
        self._wake.set()
        if self._loop is None or self._loop.done():
            self._loop = asyncio.create_task(self._run(), name="poll-rounds")
        return await future

    async def stop(self) -> None:
        """End the rounds (the apply is over, or interrupted); open asks are cancelled."""
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
        for ask in self._asks:
            ask.future.cancel()
        self._asks = []

    async def _run(self) -> None:
        try:
            while True:
                self._asks = [a for a in self._asks if not a.future.done()]
                if not self._asks:
                    return
                now = self._clock.monotonic()
                start = min(a.due for a in self._asks)
                budget = self._earned - self.queries - self._also_spent()
                if budget < 1:  # out of budget: a round every pause_max at most
                    start = max(start, self._last + self._pause_max)
                if start > now:
                    self._wake.clear()
                    await first_of(self._clock.sleep(start - now), self._wake.wait())
                    continue
                await self._round(now)
        except BaseException as exc:  # never leave a follower waiting
            _fail(self._asks, exc)
            self._asks = []
            if not isinstance(exc, Exception):
                raise

    async def _round(self, now: float) -> None:
        """Ask for every run due by ``now``, and as many of the next ones as fit."""
        waiting = sorted(self._asks, key=lambda a: a.due)
        due = sum(1 for a in waiting if a.due <= now)
        by_id: dict[str, list[_Ask]] = {}
        for ask in waiting:
            if ask.execution_id not in by_id and len(by_id) >= BATCH * math.ceil(due / BATCH):
                continue
            by_id.setdefault(ask.execution_id, []).append(ask)
        taken = {id(a) for asks in by_id.values() for a in asks}
        self._asks = [a for a in self._asks if id(a) not in taken]
        ids = list(by_id)
        chunks = [ids[i : i + BATCH] for i in range(0, len(ids), BATCH)]
        self._last = now
        await asyncio.gather(*(self._query(chunk, by_id) for chunk in chunks))

    async def _query(self, chunk: list[str], by_id: Mapping[str, list[_Ask]]) -> None:
        asks = [ask for execution_id in chunk for ask in by_id[execution_id]]
        answer: Mapping[str, PlatformRecord] = {}
        try:
            self.queries += 1
            answer = await self._source.poll_executions(chunk)
            self._failed = 0
        except PlatformUnreachable as exc:
            _fail(asks, exc)  # the whole apply stops
            return
        except PlatformError:
            self._failed += 1  # each run asked polls on its own this time
        except BaseException as exc:  # interrupted, or our own bug: no follower waits forever
            _fail(asks, exc)
            raise
        for ask in asks:
            if not ask.future.done():
                ask.future.set_result(answer.get(ask.execution_id))


def _fail(asks: list[_Ask], exc: BaseException) -> None:
    for ask in asks:
        if ask.future.done():
            continue
        if isinstance(exc, asyncio.CancelledError):
            ask.future.cancel()
        else:
            ask.future.set_exception(exc)
