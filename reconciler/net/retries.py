"""One HTTP retry loop and one ``ClientOptions``, for every client of a remote API.

An edge helper. A client describes one attempt (send, then classify what came back) as a
coroutine that returns the result, returns ``Retry`` when trying again is safe, or raises when
it is not; ``retrying`` runs the attempts: capped full-jitter backoff between them (``Backoff``,
a seeded random source), never shorter than what the server asked (``Retry.at_least``, from
``Retry-After`` or a rate-limit reset), a hook before each wait (count it, hold back a rate
limiter, log it) and, when the attempts run out, the client's own error for the last answer.
Which answers are safe to retry stays with each client: the loop never decides that.

``unsent_cause`` puts a connection failure that proves nothing was sent (refused, name not
resolved, TLS handshake, connect timeout) in plain words, and says whether one quick retry is
worth it; ``no_answer`` does the same for a request that was sent and then timed out (the read
timeout: "no answer within 60 s after the request was sent"); ``public_url`` is a URL fit for
a message: scheme, host, port and path, never credentials, a query or a fragment.
"""

from __future__ import annotations

import random
import socket
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit

from reconciler.retry import Backoff

if TYPE_CHECKING:
    import httpx

T = TypeVar("T")


@dataclass(frozen=True)
class ClientOptions:
    """Tunables of an API client; the defaults suit the Boomi platform.

    ``backoff.attempts`` is how many times a request is tried. ``wait_cap`` bounds a wait the
    server asks for: the platform client waits at most that long, the GitHub client fails
    rather than wait longer. ``connect_timeout`` bounds connecting (TLS included);
    ``read_timeout`` bounds the wait for an answer once the request is sent, and sending it.
    ``rate_limit`` (requests per second) and ``max_connections`` pace the platform client;
    ``seed`` makes the jitter reproducible.
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


@dataclass(frozen=True)
class Unsent:
    """Why a connection failed before anything was sent, and whether to try once more."""

    cause: str  # "connection refused", "name not resolved", "TLS: <reason>", ...
    retry_once: bool  # a refusal or a timeout can pass (a restart); a name or TLS cannot


def unsent_cause(exc: BaseException, connect_timeout: float) -> Unsent:
    """The plain-words cause of a connection failure (``httpx.ConnectError``, ``ConnectTimeout``).

    Walks the exception's causes to the operating system's error; only its kind and reason are
    used, never the text of a request.
    """
    if type(exc).__name__ in ("ConnectTimeout", "PoolTimeout"):
        return Unsent(f"timed out after {connect_timeout:g} s connecting", retry_once=True)
    seen: set[int] = set()
    error: BaseException | None = exc
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, ConnectionRefusedError):
            return Unsent("connection refused", retry_once=True)
        if isinstance(error, socket.gaierror):
            return Unsent("name not resolved", retry_once=False)
        if isinstance(error, ssl.SSLCertVerificationError):
            reason = error.verify_message or error.reason or "certificate not verified"
            return Unsent(f"TLS: {reason}", retry_once=False)
        if isinstance(error, ssl.SSLError):
            return Unsent(f"TLS: {error.reason or 'handshake failed'}", retry_once=False)
        if isinstance(error, TimeoutError):
            return Unsent(f"timed out after {connect_timeout:g} s connecting", retry_once=True)
        if isinstance(error, OSError) and error.errno is not None and error.strerror:
            return Unsent(error.strerror.lower(), retry_once=True)
        error = error.__cause__ or error.__context__
    return Unsent("could not connect", retry_once=True)


def no_answer(exc: BaseException, read_timeout: float) -> str:
    """The plain-words cause of a timeout once connected (``httpx.ReadTimeout``, ``WriteTimeout``).

    The request (or part of it) was sent: the caller decides whether asking again is safe.
    """
    if type(exc).__name__ == "WriteTimeout":
        return f"the request could not be sent within {read_timeout:g} s"
    return f"no answer within {read_timeout:g} s after the request was sent"


def public_url(url: str) -> str:
    """``url`` as scheme://host:port/path, without credentials, query or fragment."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "(an unreadable URL)"
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port is not None else host
    return f"{parts.scheme}://{netloc}{parts.path}"
