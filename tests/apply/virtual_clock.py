"""A virtual ``Clock`` for engine tests: time moves only when every task waits for it.

``sleep`` parks the caller on a timer of its own; a driver task advances the time to the
earliest timer once the event loop has nothing else to run (no ready callback, and the state
writer's thread idle: ``settle``), then wakes every timer due. Nothing waits for wall time,
so a test runs the same on an idle laptop and on a loaded 2-core VM, and what it measures
(polls, order, virtual seconds) is exact. Hand the same clock to the engine, the client (its
rate limiter and backoff) and the simulator (``Simulator(clock=clock.monotonic)``, with the
world's ``epoch`` at ``start``), so all three share one timeline.

Waits that do not go through the clock (a simulator ``slow`` fault's real sleep) do not hold
the time back: while they wait, the loop is idle and virtual time moves on. One clock per
test: two clocks with sleepers at once would each see the other's driver as work to wait for.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any


class VirtualClock:
    """A ``reconciler.clock.Clock`` on virtual time, starting at ``start`` (monotonic 0)."""

    def __init__(self, start: datetime, *, settle: Callable[[], None] = lambda: None) -> None:
        self._start = start
        self._settle = settle
        self._now = 0.0
        self._timers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._driver: asyncio.Task[None] | None = None

    def now(self) -> datetime:
        """The virtual wall time, truncated to the second as the platform records it."""
        return (self._start + timedelta(seconds=self._now)).replace(microsecond=0)

    def monotonic(self) -> float:
        """Virtual seconds since the clock was made."""
        return self._now

    async def sleep(self, seconds: float) -> None:
        """Return once virtual time has moved ``seconds`` on (at once when not positive)."""
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        loop = asyncio.get_running_loop()
        timer: asyncio.Future[None] = loop.create_future()
        # At least the next representable instant: a caller that sleeps until ``monotonic()``
        # reaches a deadline a rounding error away must see time move, or it would spin.
        due = max(self._now + seconds, math.nextafter(self._now, math.inf))
        heapq.heappush(self._timers, (due, next(self._order), timer))
        if self._driver is None or self._driver.done():
            self._driver = loop.create_task(self._drive(), name="virtual-clock")
        await timer

    async def _drive(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._idle(loop)
            while self._timers and self._timers[0][2].done():  # cancelled sleeps
                heapq.heappop(self._timers)
            if not self._timers:
                return
            self._now = max(self._now, self._timers[0][0])
            while self._timers and self._timers[0][0] <= self._now:
                timer = heapq.heappop(self._timers)[2]
                if not timer.done():
                    timer.set_result(None)

    async def _idle(self, loop: asyncio.AbstractEventLoop) -> None:
        """Return once nothing but timers can make progress."""
        # asyncio keeps the callbacks due in this turn of the loop in ``_ready`` (CPython's
        # base_events, unchanged since 3.4): empty while the driver runs means every other
        # task waits. A write finishing in the store's thread lands there too.
        ready: Any = loop._ready  # type: ignore[attr-defined]
        while True:
            await asyncio.sleep(0)
            while self._timers and self._timers[0][2].done():  # cancelled sleeps
                heapq.heappop(self._timers)
            if not self._timers:
                return  # nobody waits for this clock: the driver ends
            if ready:
                continue
            self._settle()  # a write on its way to the disk is progress, not idleness
            if not ready:
                return
