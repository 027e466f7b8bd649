"""Progress of an apply, for people: a live status line on a terminal, plain lines in CI.

An edge that writes only to the stream it is given (the CLI hands it stderr). Every event is
one timestamped line in both modes, so logs read the same; on an interactive terminal a status
line is kept at the bottom and redrawn in place, on every event and every second while the
apply runs: ``apply prod: 3 COMPLETE, 1 ERROR, 2 INPROCESS, 4 queued · 1m12s``. A run counts
under what its last event says (the platform's status, or ``submitted``, ``pending``,
``unknown``...), decided by the event's type (and ``Event.final`` for the order: ended runs
first, then those going on, then the runs not started yet), never from text. Elapsed time
comes from the clock the display is given (``now``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TextIO, TypeVar

from reconciler.cli.base import scrub
from reconciler.model import (
    Adopted,
    Ambiguous,
    Event,
    Final,
    Notice,
    NotSubmitted,
    Rejected,
    Retry,
    Skipped,
    StatusChanged,
    Submitted,
    Unknown,
)
from reconciler.outbound import one_line

T = TypeVar("T")
REDRAW_EVERY = 1.0  # seconds between two redraws of the live line without events
STATUS_WIDTH = 24  # a platform status longer than this is cut in the live line
_WORDS: dict[type, str] = {
    Submitted: "submitted",
    Adopted: "adopted",
    NotSubmitted: "not submitted",
    Rejected: "rejected",
    Ambiguous: "resolving",  # the submit's answer was lost; adoption is looking for its run
    Unknown: "unknown",
    Retry: "retrying",
    Skipped: "skipped",
}  # NoRecord, TimedOut, PollingStopped: "pending" (the next apply goes on with them)


class ProgressDisplay:
    """Receives the engine's progress events (``reconciler.model.events``)."""

    def __init__(self, stream: TextIO, *, live: bool, now: Callable[[], datetime]) -> None:
        self._stream = stream
        self._live = live
        self._now = now
        self._started = now()
        self._environment = ""
        self._planned = 0  # runs the apply may start (0: not said)
        self._last: dict[str, Event] = {}  # the last event of each run
        self._drawn = False

    def planned(self, environment: str, runs: int) -> None:
        """The apply's environment and how many runs it may start (the rest count as queued)."""
        self._environment = environment
        self._planned = runs

    def __call__(self, event: Event) -> None:
        """Record one event, print its line, redraw the status line when live."""
        if not isinstance(event, Notice):
            self._last[event.name] = event
        name, message = one_line(scrub(event.name)), one_line(scrub(event.message))
        line = f"[{self._now().strftime('%H:%M:%S')}] {name}: {message}"
        if self._live:
            self._stream.write("\r\033[K" + line + "\n" + self.status_line())
            self._drawn = True
        else:
            self._stream.write(line + "\n")
        self._stream.flush()

    def status_line(self) -> str:
        """``apply prod: 3 COMPLETE, 1 ERROR, 2 INPROCESS, 4 queued · 1m12s``."""
        ended: Counter[str] = Counter()
        going: Counter[str] = Counter()
        for event in self._last.values():
            (ended if event.final else going)[_word(event)] += 1
        parts = [f"{ended[w]} {w}" for w in sorted(ended)]
        parts += [f"{going[w]} {w}" for w in sorted(going)]
        queued = self._planned - len(self._last)
        if queued > 0:
            parts.append(f"{queued} queued")
        head = f"apply {one_line(scrub(self._environment))}: " if self._environment else ""
        elapsed = elapsed_text((self._now() - self._started).total_seconds())
        return f"{head}{', '.join(parts) or 'nothing started'} · {elapsed}"

    def redraw(self) -> None:
        """Draw the status line again (the elapsed time moves on between events)."""
        if self._live:
            self._stream.write("\r\033[K" + self.status_line())
            self._stream.flush()
            self._drawn = True

    async def alongside(self, work: Awaitable[T], sleep: Callable[[float], Awaitable[None]]) -> T:
        """Await ``work``; meanwhile, when live, redraw the status line every second."""
        if not self._live:
            return await work

        async def keep_drawing() -> None:
            while True:
                self.redraw()
                await sleep(REDRAW_EVERY)

        drawing = asyncio.ensure_future(keep_drawing())
        try:
            return await work
        finally:
            drawing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await drawing

    def close(self) -> None:
        """Clear the status line."""
        if self._live and self._drawn:
            self._stream.write("\r\033[K")
            self._stream.flush()


def _word(event: Event) -> str:
    """What a run whose last event is ``event`` counts as in the status line."""
    if isinstance(event, StatusChanged | Final):
        return one_line(scrub(event.status))[:STATUS_WIDTH] or "?"
    return _WORDS.get(type(event), "pending")


def elapsed_text(seconds: float) -> str:
    """``45s``, ``1m12s``, ``2h05m``."""
    whole = max(0, int(seconds))
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
