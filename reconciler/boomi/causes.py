"""What went wrong with a platform call, in words a user can act on: classes, causes, hints.

An edge helper of ``client``, which decides *when* to retry; this module says *what* a
failure is. ``RETRY_READ`` and ``RETRY_SUBMIT`` are the statuses worth another attempt,
``NOT_SENT`` the transport failures that prove nothing was sent and ``NO_ANSWER`` those after
which the request, or part of it, was. ``rejection`` turns a 4xx into its typed error: 401 and
403 are ``AuthenticationError`` (never retried: repeated failures can lock the account, §3), a
404 from an endpoint every account has (``/ExecutionRequest``, ``/ExecutionRecord/query``)
rejects its run with a hint (the base URL or the account id is wrong), never the whole apply.
``gone`` is the record poll's answer for a request the platform no longer knows (404, 410,
or 204: delivered already or expired, §12.1).

Issue #17: a connection that fails before anything is sent, or a host that went silent,
stops the command with ``PlatformUnreachable`` naming the URL (``public_url``: no
credentials), the cause in plain words and the likely fix. ``check_address`` refuses a
configuration that cannot work before any request is made. Every message taken from an
answer is scrubbed whole (``message``) before it is cut or quoted.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import httpx

from reconciler.boomi import wire
from reconciler.errors import (
    AuthenticationError,
    ConfigError,
    PlatformError,
    PlatformUnreachable,
    RecordNotFound,
    SubmitRejected,
)
from reconciler.net.retries import public_url

__all__ = [
    "NOT_SENT",
    "NO_ANSWER",
    "RETRY_READ",
    "RETRY_SUBMIT",
    "URL_EXAMPLE",
    "check_address",
    "gone",
    "message",
    "name",
    "rejection",
    "silent",
    "unreachable",
]

RETRY_READ = frozenset({429, 500, 502, 503, 504})
RETRY_SUBMIT = frozenset({429, 503})
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
NO_ANSWER = (httpx.ReadTimeout, httpx.WriteTimeout)  # the request, or part of it, was sent
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


def message(response: httpx.Response, scrub: Callable[[str], str]) -> str:
    """The scrubbed message of an error answer (whole body scrubbed before any cut)."""
    content_type = response.headers.get("content-type", "")
    text = wire.error_message(response.content, content_type, scrub)
    return text or response.reason_phrase or "no message"


def rejection(
    response: httpx.Response, what: str, said: str, *, account: str, where: str
) -> PlatformError | None:
    """The typed error of a 4xx answer that ``said`` so, or None for another status."""
    status = response.status_code
    if status == 401:
        return AuthenticationError(
            f"credentials rejected for account {account} (HTTP 401) at {where}; "
            "check BOOMI_USERNAME (BOOMI_TOKEN.<user>) and BOOMI_API_TOKEN",
            status_code=status,
        )
    if status == 403:
        return AuthenticationError(
            f"access denied to account {account} (HTTP 403: {said}) at "
            f"{where}; is the account id right (BOOMI_ACCOUNT_ID / platform.accountId)? "
            "the user needs the API Access and Execute privileges",
            status_code=status,
        )
    if status == 404 and what.split(" ", 1)[-1] in _ALWAYS_THERE:
        # This run only: one hostile or flaky answer must not stop the others (each run
        # that meets it says the same, and the hint names what to check).
        return SubmitRejected(
            f"HTTP 404 from {public_url(str(response.request.url))} ({said}): is the "
            "account id right (BOOMI_ACCOUNT_ID / platform.accountId) and does the URL end "
            "in /api/rest/v1?",
            status_code=status,
        )
    if 400 <= status < 500:
        return SubmitRejected(f"{what}: HTTP {status}: {said}", status_code=status)
    return None


def gone(what: str, status: int, said: str) -> RecordNotFound:
    """The record poll's request is no longer known to the platform (HTTP 404, 410 or 204)."""
    return RecordNotFound(
        f"{what}: the platform no longer knows this request (HTTP {status}: {said})",
        status_code=status,
    )


def unreachable(where: str, what: str, cause: str) -> PlatformUnreachable:
    """A connection that failed before anything was sent: the URL, the cause, the fix."""
    return PlatformUnreachable(
        f"cannot reach the platform at {where}: {cause} ({what}; nothing was sent); {_URL_FIX}"
    )


def silent(where: str, unanswered: int, timeout: str, what: str) -> str:
    """Why every later call stops: ``unanswered`` requests in a row got no answer."""
    return (
        f"the platform at {where} does not answer: {unanswered} requests "
        f"in a row got no answer within {timeout} after they were sent (the last: {what}; "
        "the connections were accepted); nothing more is sent to it. Is the platform up, "
        "and is nothing in between (a proxy, a firewall) holding requests? If it is only "
        f"slow, raise platform.readTimeout (now {timeout})"
    )


def name(exc: Exception) -> str:
    """The type of a transport failure, for a message (its text is not shown)."""
    return type(exc).__name__
