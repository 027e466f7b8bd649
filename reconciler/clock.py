"""The clock: the only module that reads wall time or sleeps.

Everything else receives a ``Clock`` (or a ``datetime``) as a parameter, so tests and the
simulator's time scale never need to patch ``time``.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """Wall time, monotonic time and sleeping."""

    def now(self) -> datetime:
        """Return the current time, timezone-aware, in UTC."""
        ...

    def monotonic(self) -> float:
        """Return seconds from an arbitrary origin that never goes backwards."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Sleep for ``seconds`` without blocking the event loop."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        """Return the current UTC time truncated to the second, as the platform records it."""
        return datetime.now(UTC).replace(microsecond=0)

    def monotonic(self) -> float:
        """Return ``time.monotonic()``."""
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """Sleep with ``asyncio.sleep``."""
        await asyncio.sleep(max(0.0, seconds))
