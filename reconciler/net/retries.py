"""One HTTP retry loop and one ``ClientOptions``, for every client of a remote API.

An edge helper. A client describes one attempt (send, then classify what came back) as a
coroutine that returns the result, returns ``Retry`` when trying again is safe, or raises when
it is not; ``retrying`` runs the attempts: capped full-jitter backoff between them (``Backoff``,
a seeded random source), never shorter than what the server asked (``Retry.at_least``, from
``Retry-After`` or a rate-limit reset), a hook before each wait (count it, hold back a rate
limiter, log it) and, when the attempts run out, the client's own error for the last answer.
Which answers are safe to retry stays with each client: the loop never decides that.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from reconciler.retry import Backoff

if TYPE_CHECKING:
    import httpx

T = TypeVar("T")


@dataclass(frozen=True)
class ClientOptions:
    """Tunables of an API client; the defaults suit the Boomi platform.

    ``backoff.attempts`` is how many times a request is tried. ``wait_cap`` bounds a wait the
    server asks for: the platform client waits at most that long, the GitHub client fails
    rather than wait longer. ``rate_limit`` (requests per second) and ``max_connections`` pace
    the platform client; ``seed`` makes the jitter reproducible.
    """

    backoff: Backoff = field(default_factory=Backoff)
    rate_limit: float = 10.0
    wait_cap: float = 300.0
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    max_connections: int = 20
    seed: int | None = None


@dataclass(frozen=True)
class Retry:
    """An attempt whose answer proves trying again is safe: what happened, and the answer."""

    what: str  # "GET /path: HTTP 503", for the log and the final error
    response: httpx.Response | None = None  # None: no usable answer (not sent, malformed)
    at_least: float | None = None  # seconds the server asked to wait, if it did


async def retrying(
    attempt: Callable[[int, bool], Awaitable[T | Retry]],
    *,
    backoff: Backoff,
    rng: random.Random,
    sleep: Callable[[float], Awaitable[None]],
    exhausted: Callable[[Retry | None], Exception],
    before_wait: Callable[[Retry, float], None] | None = None,
) -> T:
    """Run ``attempt`` until it gives a result, at most ``backoff.attempts`` times.

    ``attempt`` gets its 0-based number and whether it is the last one.

    Between attempts waits ``max(backoff delay, retry.at_least)``, calling ``before_wait``
    first; no wait follows the last attempt. When every attempt asked to retry, raises
    ``exhausted(last retry)`` (the function may raise its own error instead).
    """
    last: Retry | None = None
    for number in range(backoff.attempts):
        final = number + 1 >= backoff.attempts
        outcome = await attempt(number, final)
        if not isinstance(outcome, Retry):
            return outcome
        last = outcome
        if final:
            break
        delay = backoff.delay(number, rng)
        if outcome.at_least is not None:
            delay = max(delay, outcome.at_least)
        if before_wait is not None:
            before_wait(outcome, delay)
        await sleep(delay)
    raise exhausted(last)
