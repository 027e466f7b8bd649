"""Backoff schedules as pure functions.

Capped exponential backoff with full jitter (practices.md C4): the delay before attempt ``n``
(0-based) is uniform in ``[0, min(cap, base * 2**n)]``. The random source is a parameter, so a
seeded ``random.Random`` makes a schedule reproducible and tests need no patching.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """How long to wait between attempts, and how many attempts to make."""

    base: float = 0.5
    cap: float = 20.0
    attempts: int = 8

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Full-jitter delay before retry number ``attempt`` (0 for the first retry)."""
        ceiling = min(self.cap, self.base * (2 ** min(attempt, 32)))
        return rng.uniform(0.0, ceiling)


def poll_interval(polls: int, *, initial: float, maximum: float, rng: random.Random) -> float:
    """Delay before the next poll of a run that is not final yet.

    Grows by half each time from ``initial`` to ``maximum``, with ±20 % jitter so a thousand runs
    submitted together do not poll in lock-step.
    """
    ceiling = min(maximum, initial * (1.5 ** min(polls, 64)))
    return float(ceiling * rng.uniform(0.8, 1.2))
