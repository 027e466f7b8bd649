"""A client-side rate limiter shared by every task of one apply.

An edge. Permits are handed out one at a time and never reserved ahead: the waiter first in
line sleeps until the next permit falls due, checks again when it wakes (a 503 may have
pushed it back meanwhile) and only then takes it, so a stalled event loop can delay requests
but never release a pile of them at once. Submits go before reads: a POST waiting for a
permit takes the next one before any poll or query that waits with it; only the few queries
whose answers decide which submit goes next (``FIRST``) go before submits. A 503 (or a
``Retry-After``) holds back every waiter, not only the task that received it, so a large
apply produces no 503 of its own making and backs off from those caused by other clients of
the same account.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math

from reconciler.clock import Clock

FIRST = -1  # the few queries whose answers order the submits (survey.py)
SUBMIT = 0  # priority of POST /ExecutionRequest: before polls
READ = 1  # polls and queries


class RateLimiter:
    """At most ``rate`` permits per second, shared across tasks, with no reservations.

    A permit that falls due late (the loop was busy) may be followed by the next one at once,
    so the average rate holds; it never catches up more than that one interval, so no more
    than two requests ever leave back to back, well within the platform's burst.
    """

    def __init__(self, rate: float, clock: Clock) -> None:
        self._interval = 1.0 / rate
        self._clock = clock
        self._next = -math.inf  # the earliest time the next permit may be taken
        self._queue: list[tuple[int, int, float, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._gate: asyncio.Task[None] | None = None
        self.waited = 0.0
        self.penalties = 0

    async def acquire(self, priority: int = READ) -> None:
        """Wait for a permit; lower ``priority`` values are served first, then first come."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._queue, (priority, next(self._order), self._clock.monotonic(), future))
        if self._gate is None or self._gate.done():
            self._gate = asyncio.create_task(self._serve())
        await future  # a cancelled waiter is skipped: its turn passes to the next one

    def penalize(self, seconds: float) -> None:
        """Hold every permit back for ``seconds`` (after a 503 or a ``Retry-After``)."""
        self.penalties += 1
        self._next = max(self._next, self._clock.monotonic() + seconds)

    async def _serve(self) -> None:
        """Hand out permits while anyone waits: one at a time, each checked when due."""
        while self._queue:
            if self._queue[0][3].done():  # cancelled while waiting
                heapq.heappop(self._queue)
                continue
            now = self._clock.monotonic()
            if now < self._next:
                await self._clock.sleep(self._next - now)
                continue  # check again: a penalty or a more urgent waiter may have come
            _, _, since, future = heapq.heappop(self._queue)
            future.set_result(None)
            self.waited += now - since
            self._next = max(self._next, now - self._interval) + self._interval
