"""Progress of an apply, for people: a live status line on a terminal, plain lines in CI.

An edge that writes only to the stream it is given (the CLI hands it stderr). Every event is
one timestamped line in both modes, so logs read the same; on an interactive terminal a status
line (how many runs are final, running, waiting) is kept at the bottom and redrawn in place.
Whether a run is final comes from its last event's type (``Event.final``), never from text.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TextIO

from reconciler.cli.base import scrub
from reconciler.model import Event, Notice
from reconciler.outbound import one_line


class ProgressDisplay:
    """Receives the engine's progress events (``reconciler.model.events``)."""

    def __init__(self, stream: TextIO, *, live: bool, now: Callable[[], datetime]) -> None:
        self._stream = stream
        self._live = live
        self._now = now
        self._last: dict[str, Event] = {}  # the last event of each run
        self._drawn = False

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
        """``3 final, 2 running of 5`` from the last event of each run."""
        final = sum(1 for event in self._last.values() if event.final)
        running = len(self._last) - final
        return f"{final} final, {running} in flight of {len(self._last)} started"

    def close(self) -> None:
        """Clear the status line."""
        if self._live and self._drawn:
            self._stream.write("\r\033[K")
            self._stream.flush()
