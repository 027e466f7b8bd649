"""A client-side rate limiter shared by every task of one apply.

An edge. Requests are spaced evenly at the configured rate (a virtual-scheduling limiter, so a
burst never exceeds what a token bucket of the same rate on the platform would accept), and a
503 from the platform pushes every waiting task back, so a large apply produces no 503 of its
own making and backs off from those caused by other clients of the same account.
"""

from __future__ import annotations

import asyncio

from reconciler.clock import Clock


class RateLimiter:
    """Evenly spaced permits at ``rate`` per second, shared across tasks."""

    def __init__(self, rate: float, clock: Clock) -> None:
        self._interval = 1.0 / rate
        self._clock = clock
        self._next = 0.0
        self._lock = asyncio.Lock()
        self.waited = 0.0
        self.penalties = 0

    async def acquire(self) -> None:
        """Wait for the next free slot."""
        async with self._lock:
            now = self._clock.monotonic()
            slot = max(now, self._next)
            self._next = slot + self._interval
        delay = slot - now
        if delay > 0:
            self.waited += delay
            await self._clock.sleep(delay)

    def penalize(self, seconds: float) -> None:
        """Hold every new permit back for ``seconds`` (after a 503 or a ``Retry-After``)."""
        self.penalties += 1
        self._next = max(self._next, self._clock.monotonic() + seconds)
