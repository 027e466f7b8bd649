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
fails not at all, and ``PlatformUnreachable`` names the URL (``public_url``: no credentials),
the cause in plain words and the likely fix. An HTTP 404 from an endpoint that exists on every
account (``/ExecutionRequest``, ``/ExecutionRecord/query``) rejects its run with a hint (the
base URL or the account id is wrong), never the whole apply: one hostile answer must not stop
the other runs. ``check_address`` refuses a configuration that cannot work before any
request is made.

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
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import httpx

from reconciler.boomi import answers, fields, records, wire
from reconciler.boomi.ratelimit import FIRST, READ, SUBMIT, RateLimiter
from reconciler.clock import Clock
from reconciler.errors import (
    AmbiguousSubmit,
    AuthenticationError,
    ConfigError,
    PlatformError,
    PlatformUnavailable,
    PlatformUnreachable,
    ProtocolError,
    RecordNotFound,
    SubmitRejected,
)
from reconciler.model import Meter, PlatformRecord, ResolvedRequest
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

_RETRY_READ = frozenset({429, 500, 502, 503, 504})
_RETRY_SUBMIT = frozenset({429, 503})
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_NO_ANSWER = (httpx.ReadTimeout, httpx.WriteTimeout)  # the request, or part of it, was sent
_JSON = "application/json"
MAX_PAGES = 200  # queryMore pages followed for one query (100 records each)
T = TypeVar("T")
URL_EXAMPLE = "https://api.boomi.com/api/rest/v1"
_URL_FIX = f"is BOOMI_API_URL (or platform.url) right? it should look like {URL_EXAMPLE}"
# Endpoints every account has: a 404 from one of them means the URL or the account is wrong.
_ALWAYS_THERE = ("/ExecutionRequest", "/ExecutionRecord/query", "/ExecutionRecord/queryMore")
_NOT_IN_AN_ID = frozenset("/?#%\\ \t\r\n")


def check_address(base_url: str, account_id: str) -> None:
    """Refuse an address no request can succeed at: ``ConfigError`` naming what to fix.

    The account id must be set and fit in a URL path; the URL must be http(s) with a host,
    and carry no credentials, query or fragment. A path other than ``/api/rest/v1`` is let
    through (a proxy may serve the API elsewhere): a 404 from it says what to check.
    """
    if not account_id.strip():
        raise ConfigError(
            "platform account id missing",
            hint="set BOOMI_ACCOUNT_ID or platform.accountId in reconciler.yaml (the id in "
            "the platform's URLs, such as acme-AB12CD)",
        )
    if any(char in _NOT_IN_AN_ID for char in account_id):
        raise ConfigError(
            "platform account id has a character an id does not (/, ?, #, %, \\ or a space)",
            hint="set BOOMI_ACCOUNT_ID or platform.accountId to the id alone, such as acme-AB12CD",
        )
    shown = public_url(base_url)
    try:
        parts = urlsplit(base_url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        raise ConfigError(
            f"platform URL {shown} cannot be read (a bracket or a port that is wrong)",
            hint=f"set BOOMI_API_URL or platform.url like {URL_EXAMPLE}",
        ) from None
    if parts.scheme not in ("http", "https") or not host:
        raise ConfigError(
            f"platform URL {shown} has no http(s) scheme and host",
            hint=f"set BOOMI_API_URL or platform.url like {URL_EXAMPLE}",
        )
    if parts.username is not None or parts.password is not None:
        raise ConfigError(
            f"platform URL {shown} carries credentials",
            hint="take them out of the URL; they go in BOOMI_USERNAME and BOOMI_API_TOKEN",
        )
    if parts.query or parts.fragment:
        raise ConfigError(
            f"platform URL {shown} has a query or a fragment",
            hint=f"set BOOMI_API_URL or platform.url to the base alone, like {URL_EXAMPLE}",
        )


class BoomiClient:
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
            except _NOT_SENT as exc:
                self._count(meter, None)
                return self._unsent(f"POST {path}", exc, number)
            except _NO_ANSWER as exc:
                self._count(meter, None)
                self._note_silence(f"POST {path}")  # the next call stops; this one is ambiguous
                raise AmbiguousSubmit(
                    f"POST {path}: {no_answer(exc, self.options.read_timeout)} to "
                    f"{public_url(url)}; the run may or may not have started"
                ) from None
            except httpx.TransportError as exc:
                self._count(meter, None)
                raise AmbiguousSubmit(
                    f"POST {path}: {_name(exc)} after the request was sent; the run may or may "
                    "not have started"
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
            if status in _RETRY_SUBMIT:
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
                    f"POST {path}: HTTP {status} ({self._message(response)}); the run may or may "
                    "not have started",
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

    async def get_record(
        self, request_id: str, meter: Meter | None = None
    ) -> PlatformRecord | None:
        """``GET /ExecutionRecord/async/{requestId}``: the record, or None while it is 202.

        A 404, a 410 or a 204 (the result was delivered already or expired, §12.1) is
        ``RecordNotFound``: the platform no longer knows the request, asking again cannot help.
        A requestId that is not an id (a state written before ids were checked) is never put
        in a URL: ``RecordNotFound``, as the platform cannot know it either.
        """
        if not fields.is_identifier(request_id):
            raise RecordNotFound(
                f"GET /ExecutionRecord/async: the requestId on record is not an id like "
                f"{fields.REQUEST_ID} ({fields.flaw(request_id)}); not asked"
            )
        path = f"/ExecutionRecord/async/{quote(request_id, safe='')}"
        status, body = await self._read("GET", path, meter)
        if status == 202:
            return None
        return answers.parsed(path, lambda: wire.parse_async_record(body, self._scrub))

    async def query_records(
        self,
        process_id: str,
        atom_id: str,
        since: datetime,
        until: datetime,
        meter: Meter | None = None,
    ) -> list[PlatformRecord]:
        """Every ExecutionRecord of a process on a runtime in a window, following queryMore."""
        body: Any = wire.records_query(process_id, atom_id, since, until)
        return await self._all_pages(body, meter)

    async def poll_executions(
        self, execution_ids: Sequence[str], meter: Meter | None = None
    ) -> dict[str, PlatformRecord]:
        """The records of up to ``records.BATCH`` runs by executionId, in one QUERY.

        An id that is not an id is not asked; an id the answer does not carry is absent from
        the result (not "gone": its run falls back to its own poll); see ``records``.
        """
        asked = records.askable(execution_ids)[: records.BATCH]
        if not asked:
            return {}
        found = await self._all_pages(wire.executions_query(asked), meter)
        return records.answered(asked, found)

    async def _all_pages(self, body: Any, meter: Meter | None) -> list[PlatformRecord]:
        """Every record a QUERY finds, following queryMore up to ``MAX_PAGES`` pages.

        A platform that hands out tokens forever is a ``ProtocolError``, not an endless loop.
        """
        path = "/ExecutionRecord/query"
        found, token = await self._page("POST", path, meter, json=body)
        pages = 1
        while token:
            more = "/ExecutionRecord/queryMore"
            if pages >= MAX_PAGES:
                raise ProtocolError(
                    f"POST {more}: still more records after {MAX_PAGES} pages; the query was "
                    "not read to its end"
                )
            headers = {"Content-Type": "text/plain"}
            page, token = await self._page("POST", more, meter, content=token, headers=headers)
            found.extend(page)
            pages += 1
        return found

    async def recent_records(
        self, process_id: str, since: datetime, meter: Meter | None = None
    ) -> list[PlatformRecord]:
        """The newest page (up to 100) of a process's runs since ``since``, on any runtime.

        One call, never a queryMore: it serves to learn how long the process's runs take, so
        it goes before submits in the rate limiter's queue.
        """
        path = "/ExecutionRecord/query"
        body = wire.recent_records_query(process_id, since)
        found, _ = await self._page("POST", path, meter, priority=FIRST, json=body)
        return found

    async def get_execution(
        self, execution_id: str, meter: Meter | None = None
    ) -> PlatformRecord | None:
        """The record of one executionId through QUERY, or None when there is none (yet)."""
        if not fields.is_identifier(execution_id):
            raise RecordNotFound(
                f"POST /ExecutionRecord/query: the executionId on record is not an id like "
                f"{fields.EXECUTION_ID} ({fields.flaw(execution_id)}); not asked"
            )
        path = "/ExecutionRecord/query"
        body = wire.execution_query(execution_id)
        found, _ = await self._page("POST", path, meter, json=body)
        return next((r for r in found if r.execution_id == execution_id), None)

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

    async def _page(
        self, method: str, path: str, meter: Meter | None, priority: int = READ, **kwargs: Any
    ) -> tuple[list[PlatformRecord], str | None]:
        """One QueryResult page: its records and the next page's token."""
        _, body = await self._read(method, path, meter, priority=priority, **kwargs)
        return answers.parsed(path, lambda: wire.parse_query_result(body, self._scrub))

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
            except _NOT_SENT as exc:
                self._count(meter, None)
                return self._unsent(what, exc, number)
            except _NO_ANSWER as exc:
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
                return Retry(f"{what}: {_name(exc)}")
            except wire.Unreadable as exc:
                self._count(meter, exc.status_code)
                return Retry(f"{what}: {exc.message}")
            except ProtocolError as exc:
                self._count(meter, exc.status_code)
                raise ProtocolError(f"{what}: {exc.message}", status_code=exc.status_code) from None
            status = response.status_code
            self._count(meter, status)
            if status in _RETRY_READ:
                return self._retry(f"{what}: HTTP {status}", response)
            if status == 204 and "/async/" in path:
                # §12.1: the async result was delivered already or expired: gone, as 404/410.
                raise RecordNotFound(
                    f"{what}: the platform no longer knows this request (HTTP 204: its result "
                    "was delivered already or has expired)",
                    status_code=status,
                )
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
                raise RecordNotFound(
                    f"{what}: the platform no longer knows this request "
                    f"(HTTP {status}: {self._message(response)})",
                    status_code=status,
                )
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
        except _NO_ANSWER:
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
        self._silent = (
            f"the platform at {self._where} does not answer: {self._watch.unanswered} requests "
            f"in a row got no answer within {timeout} after they were sent (the last: {what}; "
            "the connections were accepted); nothing more is sent to it. Is the platform up, "
            "and is nothing in between (a proxy, a firewall) holding requests? If it is only "
            f"slow, raise platform.readTimeout (now {timeout})"
        )

    def _refuse_if_silent(self) -> None:
        """Stop a call before it sends anything once the host went silent."""
        if self._silent is not None:
            raise PlatformUnreachable(self._silent)

    def _message(self, response: httpx.Response) -> str:
        """The scrubbed message of an error answer (whole body scrubbed before any cut)."""
        content_type = response.headers.get("content-type", "")
        text = wire.error_message(response.content, content_type, self._scrub)
        return text or response.reason_phrase or "no message"

    def _unsent(self, what: str, exc: Exception, number: int) -> Retry:
        """A connection that failed before anything was sent: retry once, or stop the command."""
        unsent = unsent_cause(exc, self.options.connect_timeout)
        if unsent.retry_once and number == 0 and self.options.backoff.attempts > 1:
            return Retry(f"{what}: {unsent.cause}")
        raise PlatformUnreachable(
            f"cannot reach the platform at {self._where}: {unsent.cause} ({what}; nothing was "
            f"sent); {_URL_FIX}"
        ) from None

    def _raise_for_client_error(self, response: httpx.Response, what: str) -> None:
        status = response.status_code
        message = self._message(response)
        if status == 401:
            raise AuthenticationError(
                f"credentials rejected for account {self._account} (HTTP 401) at {self._where}; "
                "check BOOMI_USERNAME (BOOMI_TOKEN.<user>) and BOOMI_API_TOKEN",
                status_code=status,
            )
        if status == 403:
            raise AuthenticationError(
                f"access denied to account {self._account} (HTTP 403: {message}) at "
                f"{self._where}; is the account id right (BOOMI_ACCOUNT_ID / platform.accountId)? "
                "the user needs the API Access and Execute privileges",
                status_code=status,
            )
        if status == 404 and what.split(" ", 1)[-1] in _ALWAYS_THERE:
            # This run only: one hostile or flaky answer must not stop the others (each run
            # that meets it says the same, and the hint names what to check).
            raise SubmitRejected(
                f"HTTP 404 from {public_url(str(response.request.url))} ({message}): is the "
                "account id right (BOOMI_ACCOUNT_ID / platform.accountId) and does the URL end "
                "in /api/rest/v1?",
                status_code=status,
            )
        if 400 <= status < 500:
            raise SubmitRejected(f"{what}: HTTP {status}: {message}", status_code=status)

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


def _name(exc: Exception) -> str:
    return type(exc).__name__
