"""Progress of an apply, for people: a live status line on a terminal, plain lines in CI.

An edge that writes only to the stream it is given (the CLI hands it stderr). Every event is
one timestamped line in both modes, so logs read the same; on an interactive terminal a status
line (how many runs are final, running, waiting) is kept at the bottom and redrawn in place.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import datetime
from typing import TextIO

_FINAL_WORDS = ("COMPLETE", "ERROR", "ABORTED", "DISCARDED", "rejected", "not run", "unknown")


class ProgressDisplay:
    """Receives ``(name, message)`` events from the engine."""

    def __init__(self, stream: TextIO, *, live: bool, now: Callable[[], datetime]) -> None:
        self._stream = stream
        self._live = live
        self._now = now
        self._last: dict[str, str] = {}
        self._drawn = False

    def __call__(self, name: str, message: str) -> None:
        """Record one event, print its line, redraw the status line when live."""
        if name != "*":
            self._last[name] = message
        line = f"[{self._now().strftime('%H:%M:%S')}] {_one_line(name)}: {_one_line(message)}"
        if self._live:
            self._stream.write("\r\033[K" + line + "\n" + self.status_line())
            self._drawn = True
        else:
            self._stream.write(line + "\n")
        self._stream.flush()

    def status_line(self) -> str:
        """``3 final, 2 running of 5`` from the last event of each run."""
        final = sum(1 for m in self._last.values() if m.startswith(_FINAL_WORDS))
        running = len(self._last) - final
        return f"{final} final, {running} in flight of {len(self._last)} started"

    def close(self) -> None:
        """Clear the status line."""
        if self._live and self._drawn:
            self._stream.write("\r\033[K")
            self._stream.flush()


def _one_line(text: str) -> str:
    """Platform text as one inert line: no line break, no terminal control character.

    A line break could start a workflow command (``::error::``) in a CI log; an escape
    sequence could redraw the terminal.
    """
    cleaned = "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in text)
    return " ".join(cleaned.split())
