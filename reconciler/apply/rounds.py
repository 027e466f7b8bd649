"""Poll rounds: the runs an apply follows share one QUERY per round, not one GET each.

Part of following (``follow``). Once a run's ``executionId`` is known, its next poll is an
*ask* here: the run says when it is due (its own growing interval). A round starts when the
earliest ask is due; it takes every ask due by then and, since a query answers up to
``BATCH`` runs for the price of one, fills its last query with the asks due soonest after
them. So a round of 50 running executions costs one call, not 50.

Rounds are paced by a budget of queries they share with the durations survey: each run
followed earns ``share`` of a call (0.17: with its POST and the GET that turns its requestId
into its record, 2.17 calls per execution, leaving 0.03 for what a budget cannot foresee: a
202 before a record exists, rounds at the longest interval in an apply's tail), and every
query made, a round's or the survey's (``also_spent``), spends one. The budget is spent
evenly, not in bursts: after a round of q queries the next waits q / r seconds. A finished
run waits half a gap to be seen, whatever the rate at which runs end, so for a given number
of rounds the least waiting spaces them by the inverse square root of that rate: r is
``share`` times the geometric mean of the runs followed per second now (over the last
``WINDOW`` longest intervals) and over the whole apply, plus what is saved (or minus what is
owed) spread over ``HORIZON`` longest intervals. Rounds come no more often than every
``pause_min`` and never less often than every ``pause_max``, so a run is never noticed later
than a poll at the longest interval would notice it.

Measured (issue 18, docs/performance.md): before, rounds came whenever a run was due while
the budget lasted, then every ``pause_max`` in debt; the bursts and droughts saw a finished run
about a second late on average at ``concurrency: 50`` (1,000 runs, the slots binding), and
the apply took 1.3 times its floor. Spread so, a run is seen about 0.3 s after it ends (0.2 s
for short runs, 0.4-0.6 s for the longest) at 2.15-2.16 calls per execution. What is left of
the gap to the floor at that concurrency is mostly this waiting, 20 times per slot: halving
it would take about twice the queries.

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
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from reconciler.apply.dispatch import first_of
from reconciler.clock import Clock
from reconciler.errors import PlatformError, PlatformUnreachable
from reconciler.model import Meter, PlatformRecord

BATCH = 100  # executionIds one query asks for: one page of records (§9.2)
SHARE = 0.17  # queries each run followed earns (rounds and the survey together)
FAILURES = 2  # failed rounds in a row after which runs are polled one by one again
WINDOW = 2.0  # longest intervals over which the runs followed per second are counted
HORIZON = 5.0  # longest intervals over which a saved budget is spent


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
        pause_min: float = 0.0,
        share: float = SHARE,
        also_spent: Callable[[], int] = lambda: 0,
    ) -> None:
        self._source = source
        self._clock = clock
        self._pause_max = pause_max
        self._pause_min = min(pause_min, pause_max)
        self._share = share
        self._also_spent = also_spent  # queries made by others out of the same budget
        self._earned = 1.0  # queries earned so far
        self._next = -math.inf  # the next round starts no sooner
        self._earns: deque[float] = deque()  # when each run followed in the window began
        self._followed = 0  # runs followed in all
        self._first_earn = 0.0  # when the first began
        self._failed = 0  # failed rounds in a row
        self._asks: list[_Ask] = []
        self._wake = asyncio.Event()
        self._loop: asyncio.Task[None] | None = None
        self.queries = 0  # queries made, for the record

    def earn(self) -> None:
        """One more run is followed: rounds may spend ``share`` of a call more."""
        self._earned += self._share
        now = self._clock.monotonic()
        if not self._followed:
            self._first_earn = now
        self._followed += 1
        self._earns.append(now)

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
                start = max(min(a.due for a in self._asks), self._next)
                if start > now:
                    self._wake.clear()
                    await first_of(self._clock.sleep(start - now), self._wake.wait())
                    continue
                spent = await self._round(now)
                self._next = now + self._pace(now, spent)
        except BaseException as exc:  # never leave a follower waiting
            _fail(self._asks, exc)
            self._asks = []
            if not isinstance(exc, Exception):
                raise

    def _pace(self, now: float, spent: int) -> float:
        """Seconds from a round of ``spent`` queries to the next (see the module docstring)."""
        window = WINDOW * self._pause_max
        while self._earns and self._earns[0] < now - window:
            self._earns.popleft()
        budget = self._earned - self.queries - self._also_spent()
        # Runs followed per second now, and over the whole apply: rounds go at the share of
        # their geometric mean. A finished run waits half a gap whatever the rate at which
        # runs end, so the least waiting for a given number of rounds spaces them by the
        # inverse square root of that rate (rounds in proportion to it crowd the phases of
        # short runs and leave a long run's end unseen for up to ``pause_max``).
        now_rate = len(self._earns) / window if window > 0 else 0.0
        elapsed = now - self._first_earn
        mean_rate = self._followed / elapsed if elapsed > window else now_rate
        rate = self._share * math.sqrt(now_rate * mean_rate)
        if self._pause_max > 0:  # a saving is spent, a debt repaid, over HORIZON
            rate += budget / (HORIZON * self._pause_max)
        if rate <= 0:
            return self._pause_max
        return min(max(spent / rate, self._pause_min), self._pause_max)

    async def _round(self, now: float) -> int:
        """Ask for every run due by ``now``, and as many of the next ones as fit; its queries."""
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
        await asyncio.gather(*(self._query(chunk, by_id) for chunk in chunks))
        return len(chunks)

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
