"""The platform client: one shared httpx.AsyncClient, safe retries, typed failures.

An edge. It moves bytes and classifies what happened; ``wire`` does the parsing. Reads and
queries are retried on 429, 500, 502, 503, 504, timeouts and connection errors with capped
full-jitter backoff. ``POST /ExecutionRequest`` is not idempotent (boomi-platform-api.md
§5.3), so it is retried only when the answer proves nothing was processed (429, 503, or a
connection that was never established); a timeout, a reset or a 5xx after the request was sent
raises ``AmbiguousSubmit`` for the engine to resolve, never a blind resubmit (§12.4). 401 and
403 are never retried: repeated failures can lock the account (§3). Credentials never appear
in a repr, a log record or an error message.

A connection failure that proves nothing was sent fails fast (issue #17): a refused connection
or a connect timeout is tried once more, a name that does not resolve or a TLS handshake that
fails not at all. What each failure is called, and the hint that goes with it, is ``causes``'s
(with ``check_address``, re-exported here); the record poll and the queries are ``queries``'s
(``RecordQueries``, which this client inherits and serves through ``_read``).

A host that accepts connections and never answers is bounded (issue #17) by the read timeout
(``ClientOptions.read_timeout``, ``platform.readTimeout``): a read that gets no answer is
tried once more, a submit is ambiguous at once, and after ``watch.SILENT_AFTER`` requests in a
row without an answer the host is *silent*: every later call raises ``PlatformUnreachable``
before sending anything, naming the URL, the cause ("no answer within 60 s after they were
sent") and the fix. While a request waits, ``waiting`` hears a line about it every third of
the read timeout (at most 20 s).

The wire is untrusted (issue #15): at most ``fields.MAX_BODY`` bytes of a body are read (a
larger 2xx answer is a ``ProtocolError``, an ambiguous one for a submit), every value is checked
by ``wire``/``fields`` before it is returned, an id goes into a URL path only once it has the
shape of an id, and every string taken from a response (ids, statuses, names, record messages,
error bodies) has been through the ``redactor`` before it leaves the client, so an exception, a
record, and hence the state never hold a secret the platform echoed.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from reconciler.boomi import answers, causes, fields, wire
from reconciler.boomi.causes import check_address
from reconciler.boomi.queries import RecordQueries
from reconciler.boomi.ratelimit import READ, SUBMIT, RateLimiter
from reconciler.clock import Clock
from reconciler.errors import (
    AmbiguousSubmit,
    PlatformError,
    PlatformUnavailable,
    PlatformUnreachable,
    ProtocolError,
    SubmitRejected,
)
from reconciler.model import Meter, ResolvedRequest
from reconciler.net.retries import (
    ClientOptions,
    Retry,
    no_answer,
    public_url,
    retrying,
    unsent_cause,
)
from reconciler.net.watch import Watch, seconds
from reconciler.outbound import NO_SECRETS, Redactor

__all__ = ["BoomiClient", "ClientOptions", "check_address"]

log = logging.getLogger(__name__)

_JSON = "application/json"
T = TypeVar("T")


class BoomiClient(RecordQueries):
    """Talks to one account of the platform's execution API."""

    def __init__(
        self,
        base_url: str,
        account_id: str,
        username: str,
        token: str,
        *,
        clock: Clock,
        options: ClientOptions | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        redactor: Redactor = NO_SECRETS,
        waiting: Callable[[str], None] | None = None,
    ) -> None:
        self.options = options or ClientOptions()
        self._scrub = redactor.scrub
        self._account = account_id
        self._where = public_url(base_url.rstrip("/"))
        self._base = f"{base_url.rstrip('/')}/{account_id}"
        self._clock = clock
        self._rng = random.Random(self.options.seed)  # noqa: S311 - jitter, not cryptography
        self.limiter = RateLimiter(self.options.rate_limit, clock)
        # Requests beyond the pool's connections wait here, in order, rather than in httpcore's
        # pool, whose every hand-over scans all the requests queued in it.
        self._connections = asyncio.Semaphore(self.options.max_connections)
        self.totals = Meter()
        # Requests on the wire: the "waiting for" lines, and whether the host went silent.
        self._watch = Watch(clock, read_timeout=self.options.read_timeout, report=waiting)
        self._silent: str | None = None  # why every call stops: the host went silent
        timeout = httpx.Timeout(
            self.options.read_timeout, connect=self.options.connect_timeout, pool=None
        )
        limits = httpx.Limits(
            max_connections=self.options.max_connections,
            max_keepalive_connections=self.options.max_connections,
        )
        self._http = httpx.AsyncClient(
            auth=httpx.BasicAuth(username, token),
            headers={"Accept": _JSON},
            timeout=timeout,
            limits=limits,
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"BoomiClient(base={self._base!r}, credentials=[redacted])"

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._watch.aclose()
        await self._http.aclose()

    async def __aenter__(self) -> BoomiClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def submit(
        self,
        request: ResolvedRequest,
        meter: Meter | None = None,
        before_send: Callable[[], Awaitable[None]] | None = None,
    ) -> str:
        """``POST /ExecutionRequest`` → ``requestId``; see the module docstring for retries.

        ``before_send`` is awaited after the rate limiter grants a permit and right before each
        attempt goes on the wire: the engine saves its intent there (and waits until it is on
        disk), so an intent never waits in a queue, and a process killed while waiting leaves
        nothing that looks like a submit. Submits take permits before polls and queries.
        """
        body = wire.execution_request_body(request)
        path = "/ExecutionRequest"

        async def attempt(number: int, _last: bool) -> str | Retry:
            await self.limiter.acquire(SUBMIT)
            url = self._base + path
            try:
                async with self._connections:
                    self._refuse_if_silent()  # before the intent: nothing is sent
                    if before_send is not None:
                        await before_send()
                    response = await self._exchange("POST", url, json=body)
            except causes.NOT_SENT as exc:
                self._count(meter, None)
                return self._unsent(f"POST {path}", exc, number)
            except causes.NO_ANSWER as exc:
                self._count(meter, None)
                self._note_silence(f"POST {path}")  # the next call stops; this one is ambiguous
                raise AmbiguousSubmit(
                    f"POST {path}: {no_answer(exc, self.options.read_timeout)} to "
                    f"{public_url(url)}; the run may or may not have started"
                ) from None
            except httpx.TransportError as exc:
                self._count(meter, None)
                raise AmbiguousSubmit(
                    f"POST {path}: {causes.name(exc)} after the request was sent; the run may "
                    "or may not have started"
                ) from None
            except ProtocolError as exc:  # a body too large to read, or not decodable
                self._count(meter, exc.status_code)
                raise AmbiguousSubmit(
                    f"POST {path}: HTTP {exc.status_code} but {exc.message}; the run may have "
                    "started",
                    status_code=exc.status_code,
                ) from None
            self._count(meter, response.status_code)
            status = response.status_code
            if status in causes.RETRY_SUBMIT:
                return self._retry(f"POST {path}: HTTP {status}", response)
            if status in (200, 201):
                try:
                    return answers.parsed(
                        path,
                        lambda: wire.parse_request_id(
                            wire.decode_json(response.content, ""), self._scrub
                        ),
                    )
                except ProtocolError as exc:
                    raise AmbiguousSubmit(
                        f"POST {path}: HTTP {status} but {exc.message}; the run may have started",
                        status_code=status,
                    ) from None
            if status >= 500:
                raise AmbiguousSubmit(
                    f"POST {path}: HTTP {status} ({causes.message(response, self._scrub)}); "
                    "the run may or may not have started",
                    status_code=status,
                )
            self._raise_for_client_error(response, f"POST {path}")
            raise SubmitRejected(f"POST {path}: unexpected HTTP {status}", status_code=status)

        return await self._retrying(
            attempt,
            meter,
            f"POST {path}: the platform kept refusing the request "
            f"({self.options.backoff.attempts} attempts); nothing was started",
        )

    async def cancel(self, execution_id: str, meter: Meter | None = None) -> None:
        """``POST /cancelExecution/{executionId}``."""
        if not fields.is_identifier(execution_id):
            raise ProtocolError(
                f"POST /cancelExecution: expected an executionId like {fields.EXECUTION_ID} "
                f"({fields.flaw(execution_id)}); not sent"
            )
        await self._read("POST", f"/cancelExecution/{quote(execution_id, safe='')}", meter, False)

    def scrub(self, text: str) -> str:
        """``text`` without the secrets this client's redactor knows (for ``inspect``'s parsers)."""
        return self._scrub(text)

    async def read(self, method: str, path: str, meter: Meter | None = None, **kwargs: Any) -> Any:
        """A read-only call, for ``inspect``: the shared retries, pacing and classification.

        ``path`` follows the account id (``/Atom/<id>``); an id in it is the caller's to check.
        Returns the decoded JSON body of a 2xx answer (None for a 202); failures raise as every
        other read's do (``AuthenticationError`` for 401/403, ``SubmitRejected`` for another
        4xx, ``PlatformUnavailable``, ``PlatformUnreachable``, ``ProtocolError``).
        """
        _, body = await self._read(method, path, meter, **kwargs)
        return body

    async def _read(
        self,
        method: str,
        path: str,
        meter: Meter | None,
        parse: bool = True,
        priority: int = READ,
        **kwargs: Any,
    ) -> tuple[int, Any]:
        """A call that is safe to repeat: retried on transient failures, then classified.

        Returns the status and, for a 2xx other than 202 when ``parse``, the decoded JSON body
        (else None). A body that is not JSON is retried (a cut or garbled answer); JSON that
        no platform sends (too large, too deep, a 5,000-digit number) is a ``ProtocolError``.
        """
        what = f"{method} {path}"
        url = self._base + path
        unanswered = 0  # this call's attempts that got no answer: the second one stops it

        async def attempt(number: int, _last: bool) -> tuple[int, Any] | Retry:
            nonlocal unanswered
            await self.limiter.acquire(priority)
            try:
                async with self._connections:
                    self._refuse_if_silent()
                    response = await self._exchange(method, url, **kwargs)
            except causes.NOT_SENT as exc:
                self._count(meter, None)
                return self._unsent(what, exc, number)
            except causes.NO_ANSWER as exc:
                self._count(meter, None)
                self._note_silence(what)
                self._refuse_if_silent()
                cause = no_answer(exc, self.options.read_timeout)
                unanswered += 1
                if unanswered < 2:
                    return Retry(f"{what}: {cause}")
                # The host answers others (else it would be silent): this call alone hangs.
                raise PlatformUnavailable(
                    f"{what}: {cause}, twice ({public_url(url)}); if the platform is only "
                    f"slow, raise platform.readTimeout (now {seconds(self.options.read_timeout)})"
                ) from None
            except httpx.TransportError as exc:
                self._count(meter, None)
                return Retry(f"{what}: {causes.name(exc)}")
            except wire.Unreadable as exc:
                self._count(meter, exc.status_code)
                return Retry(f"{what}: {exc.message}")
            except ProtocolError as exc:
                self._count(meter, exc.status_code)
                raise ProtocolError(f"{what}: {exc.message}", status_code=exc.status_code) from None
            status = response.status_code
            self._count(meter, status)
            if status in causes.RETRY_READ:
                return self._retry(f"{what}: HTTP {status}", response)
            if status == 204 and "/async/" in path:  # §12.1: delivered already, or expired
                raise causes.gone(what, status, "its result was delivered already or has expired")
            if status < 300:
                if not parse or status == 202:
                    return status, None
                if status == 204:  # no content where a body was expected: a gateway's glitch
                    return Retry(f"{what}: HTTP 204 with no body")
                try:
                    return status, wire.decode_json(response.content, what)
                except wire.Unreadable:
                    return Retry(f"{what}: malformed body")
            if status in (404, 410) and "/async/" in path:
                raise causes.gone(what, status, causes.message(response, self._scrub))
            self._raise_for_client_error(response, what)
            raise PlatformError(f"{what}: unexpected HTTP {status}")

        return await self._retrying(
            attempt,
            meter,
            f"{what}: no usable answer after {self.options.backoff.attempts} attempts",
        )

    async def _exchange(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """``answers.exchange``, watched: a line while it waits; answered or not, counted."""
        key = self._watch.sent(url)
        try:
            response = await answers.exchange(self._http, method, url, **kwargs)
        except causes.NO_ANSWER:
            self._watch.unanswered_one(key)
            raise
        except ProtocolError:  # an answer, if an odd one
            self._watch.answered(key)
            raise
        except BaseException:
            self._watch.ended(key)
            raise
        self._watch.answered(key)
        return response

    def _note_silence(self, what: str) -> None:
        """After a request got no answer: if the host is silent now, every later call stops."""
        if self._silent is not None or not self._watch.silent:
            return
        timeout = seconds(self.options.read_timeout)
        self._silent = causes.silent(self._where, self._watch.unanswered, timeout, what)

    def _refuse_if_silent(self) -> None:
        """Stop a call before it sends anything once the host went silent."""
        if self._silent is not None:
            raise PlatformUnreachable(self._silent)

    def _unsent(self, what: str, exc: Exception, number: int) -> Retry:
        """A connection that failed before anything was sent: retry once, or stop the command."""
        unsent = unsent_cause(exc, self.options.connect_timeout)
        if unsent.retry_once and number == 0 and self.options.backoff.attempts > 1:
            return Retry(f"{what}: {unsent.cause}")
        raise causes.unreachable(self._where, what, unsent.cause) from None

    def _raise_for_client_error(self, response: httpx.Response, what: str) -> None:
        said = causes.message(response, self._scrub)
        error = causes.rejection(response, what, said, account=self._account, where=self._where)
        if error is not None:
            raise error

    def _retry(self, what: str, response: httpx.Response) -> Retry:
        """A retryable answer: at least as long a wait as its ``Retry-After`` asks (capped)."""
        return Retry(what, response, answers.retry_after(response, self.options.wait_cap))

    async def _retrying(
        self,
        attempt: Callable[[int, bool], Awaitable[T | Retry]],
        meter: Meter | None,
        exhausted: str,
    ) -> T:
        """The shared retry loop, counting each retry and holding the rate limiter back."""

        def before_wait(retry: Retry, delay: float) -> None:
            if retry.response is not None and retry.response.status_code in (429, 503):
                self.limiter.penalize(max(delay, 1.0 / self.options.rate_limit))
            self.totals.retries += 1
            if meter is not None:
                meter.retries += 1
            log.info("%s; retrying in %.2fs", retry.what, delay)

        return await retrying(
            attempt,
            backoff=self.options.backoff,
            rng=self._rng,
            sleep=self._clock.sleep,
            exhausted=lambda last: PlatformUnavailable(answers.exhausted(exhausted, last)),
            before_wait=before_wait,
        )

    def _count(self, meter: Meter | None, status: int | None) -> None:
        code = status if status is not None else 0
        self.totals.record(code)
        if meter is not None:
            meter.record(code)
