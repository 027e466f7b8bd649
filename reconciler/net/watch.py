"""Requests on the wire: a line while one waits long for its answer, and when a host is silent.

An edge helper of the HTTP clients (issue #17: a host that accepts connections and never
answers used to hold an apply for minutes without a word, each request retried 8 times at a
read timeout each). ``Watch`` keeps the requests of one client that wait for an answer.

- **While waiting.** With a ``report``, every ``every`` seconds (a third of the read timeout, at
  most ``NOTICE_EVERY``) the oldest request that has waited that long is reported as one line:
  ``waiting for https://…/ExecutionRequest: no answer for 20 s (read timeout 60 s)``. One
  ticker per client, started with its first request, never one per request.
- **Silence.** A request that timed out after it was sent counts as unanswered; any answer,
  whatever its status, resets the count. ``silent_after`` unanswered in a row (across all the
  client's requests) make the host *silent*: the client then stops sending to it, so an apply
  meets a silent host for about two read timeouts, not a read timeout per attempt per run.

The URLs are shown through ``public_url``: never credentials, a query or a fragment.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from reconciler.clock import Clock
from reconciler.net.retries import public_url

NOTICE_EVERY = 20.0  # seconds between two "waiting for" lines, at most
SILENT_AFTER = 2  # unanswered requests in a row that make a host silent


def seconds(value: float) -> str:
    """``60 s``, ``1.5 s``, ``0.25 s``: a duration in the words of the messages."""
    return f"{value:.0f} s" if value >= 10 else f"{value:.3g} s"


class Watch:
    """The requests of one client that wait for an answer, and its run of unanswered ones."""

    def __init__(
        self,
        clock: Clock,
        *,
        read_timeout: float,
        report: Callable[[str], None] | None = None,
        silent_after: int = SILENT_AFTER,
    ) -> None:
        self._clock = clock
        self._read_timeout = read_timeout
        self._report = report
        self._silent_after = silent_after
        self.every = min(NOTICE_EVERY, read_timeout / 3)
        self._waiting: dict[int, tuple[float, str]] = {}  # in the order sent: oldest first
        self._next = 0
        self._ticker: asyncio.Task[None] | None = None
        self.unanswered = 0  # requests in a row that got no answer

    @property
    def silent(self) -> bool:
        """``silent_after`` requests in a row got no answer: send the host nothing more."""
        return self.unanswered >= self._silent_after

    def sent(self, url: str) -> int:
        """A request to ``url`` goes on the wire; the key to say how it ended."""
        key = self._next
        self._next += 1
        self._waiting[key] = (self._clock.monotonic(), url)
        if self._report is not None and self._ticker is None:
            self._ticker = asyncio.get_running_loop().create_task(self._tick(), name="waiting")
        return key

    def answered(self, key: int) -> None:
        """The request got an answer (any status): the host is not silent."""
        self._waiting.pop(key, None)
        self.unanswered = 0

    def unanswered_one(self, key: int) -> bool:
        """The request timed out after it was sent; whether the host is silent now."""
        self._waiting.pop(key, None)
        self.unanswered += 1
        return self.silent

    def ended(self, key: int) -> None:
        """The request ended otherwise (not connected, cancelled): it says nothing either way."""
        self._waiting.pop(key, None)

    def waiting_line(self) -> str | None:
        """The line about the oldest request waiting ``every`` seconds or more, if any."""
        if not self._waiting:
            return None
        started, url = next(iter(self._waiting.values()))
        age = self._clock.monotonic() - started
        if age < self.every:
            return None
        more = len(self._waiting) - 1
        others = f"; {more} more request{'s' if more != 1 else ''} waiting" if more else ""
        return (
            f"waiting for {public_url(url)}: no answer for {seconds(age)} "
            f"(read timeout {seconds(self._read_timeout)}){others}"
        )

    async def _tick(self) -> None:
        assert self._report is not None  # noqa: S101 - started only with a report
        while True:
            await self._clock.sleep(self.every)
            line = self.waiting_line()
            if line is not None:
                self._report(line)

    async def aclose(self) -> None:
        """Stop the ticker."""
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
