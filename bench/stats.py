"""How the harness summarises rounds: the median with its range, never the best run.

A figure measured in several rounds is reported as ``{"median", "min", "max", "rounds"}``;
a ratio against a floor is the median of the per-round ratios (each round's measurement over
the floor measured beside it, in the same round), so a slow moment of the machine lands on
both sides of one ratio instead of on one side of the summary.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

TIMES = "\u00d7"  # the multiplication sign of a ratio
DASH = "\u2013"  # the en dash of a range


def spread(values: Sequence[float], digits: int = 3) -> dict[str, Any]:
    """The median of ``values`` with their min and max, and every value in round order."""
    if not values:
        raise ValueError("no values to summarise")
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
        "rounds": [round(v, digits) for v in values],
    }


def ratios(top: Sequence[float], bottom: Sequence[float]) -> dict[str, Any]:
    """Per-round ``top / bottom``, summarised by :func:`spread`."""
    if len(top) != len(bottom):
        raise ValueError("paired rounds differ in number")
    return spread([t / b for t, b in zip(top, bottom, strict=True)])


def text(figure: dict[str, Any], unit: str = "", digits: int = 2) -> str:
    """``1.23x (1.20-1.31)`` style (with a real times sign and dash): the median, then the
    range when there is one."""
    median = f"{figure['median']:.{digits}f}{unit}"
    if len(figure["rounds"]) < 2:
        return median
    return f"{median} ({figure['min']:.{digits}f}{DASH}{figure['max']:.{digits}f})"
