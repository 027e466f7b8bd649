"""A small typed client for the GitHub REST API: the calls the plan comment and review need.

An edge. One ``httpx.AsyncClient`` against ``GITHUB_API_URL`` (so tests point it at a local
stand-in), with the token sent only to that origin: pagination links and redirects elsewhere
(artifact archives are served from blob storage) are followed without it. Idempotent requests
are retried on 5xx; every request is retried when GitHub's rate limit refused it (429, or a 403
with ``retry-after`` or an exhausted quota), waiting as told, within a cap. A POST is never
retried after a 5xx: it may have created the comment. The loop and ``ClientOptions`` are the
platform client's too (``net.retries``); the classification here is GitHub's. Errors are
one-line ``GitHubError``s built from the method, the path, the status and GitHub's message,
never from headers.
"""

from __future__ import annotations

import io
import random
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from reconciler import __version__
from reconciler.clock import Clock
from reconciler.errors import GitHubAuthError, GitHubError
from reconciler.github.context import DEFAULT_API_URL, Token
from reconciler.net.retries import ClientOptions, Retry, retrying
from reconciler.retry import Backoff

PER_PAGE = 100
MAX_PAGES = 50  # 5,000 comments: a bound, not a real limit
ARCHIVE_LIMIT = 20 * 1024 * 1024  # bytes of an artifact zip we are willing to read
RATE_LIMIT_WAIT_CAP = 60.0  # seconds; longer waits fail instead of hanging the job


@dataclass(frozen=True)
class Comment:
    """An issue comment: its id, its author's login and its body."""

    id: int
    author: str
    body: str


@dataclass(frozen=True)
class PullRequest:
    """A pull request, as far as the plan review needs it."""

    number: int
    head_sha: str
    merge_commit_sha: str | None
    merged: bool
    state: str
    url: str = ""  # html_url, as GitHub sent it: untrusted, checked where it is written
    merged_by: str = ""  # the merger's login, as sent: untrusted
    title: str = ""  # as sent: untrusted


@dataclass(frozen=True)
class Artifact:
    """A workflow run's artifact."""

    id: int
    name: str
    expired: bool
    size: int
    archive_url: str


#: GitHub's retry behaviour: four tries, rate-limit waits up to a minute, 30 s timeouts.
GITHUB_OPTIONS = ClientOptions(
    backoff=Backoff(attempts=4),
    wait_cap=RATE_LIMIT_WAIT_CAP,
    connect_timeout=30.0,
    read_timeout=30.0,
)


class GitHub:
    """The REST calls of ``reconciler github``; an async context manager."""

    def __init__(
        self,
        repository: str,
        token: Token,
        *,
        clock: Clock,
        api_url: str = DEFAULT_API_URL,
        options: ClientOptions | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.repository = repository
        self._api = api_url.rstrip("/")
        self._origin = _origin(self._api)
        self._token = token
        self._clock = clock
        self._options = options or GITHUB_OPTIONS
        self._rng = random.Random(self._options.seed)  # jitter only  # noqa: S311
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(
                self._options.read_timeout, connect=self._options.connect_timeout
            ),
            follow_redirects=False,
            transport=transport,
            headers={
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
                "User-Agent": f"reconciler/{__version__}",
            },
        )

    async def __aenter__(self) -> GitHub:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    # --- issue comments -------------------------------------------------------------------

    async def comments(self, number: int) -> list[Comment]:
        """Every comment of issue or pull request ``number``, following the pagination."""
        items = await self._pages(f"/repos/{self.repository}/issues/{number}/comments")
        return [_comment(item) for item in items]

    async def create_comment(self, number: int, body: str) -> Comment:
        """Post a new comment on issue or pull request ``number``."""
        data = await self._json(
            "POST", f"/repos/{self.repository}/issues/{number}/comments", body={"body": body}
        )
        return _comment(data)

    async def update_comment(self, comment_id: int, body: str) -> Comment:
        """Replace the body of comment ``comment_id``."""
        data = await self._json(
            "PATCH",
            f"/repos/{self.repository}/issues/comments/{comment_id}",
            body={"body": body},
        )
        return _comment(data)

    # --- pull requests --------------------------------------------------------------------

    async def pull_request(self, number: int) -> PullRequest:
        """Pull request ``number``."""
        return _pull(await self._json("GET", f"/repos/{self.repository}/pulls/{number}"))

    async def pulls_of_commit(self, sha: str) -> list[PullRequest]:
        """The pull requests associated with commit ``sha`` (merged as it, or containing it)."""
        items = await self._pages(f"/repos/{self.repository}/commits/{sha}/pulls")
        return [_pull(item) for item in items]

    # --- artifacts ------------------------------------------------------------------------

    async def artifacts(self, run_id: int) -> list[Artifact]:
        """The artifacts of workflow run ``run_id``."""
        items = await self._pages(
            f"/repos/{self.repository}/actions/runs/{run_id}/artifacts", key="artifacts"
        )
        return [_artifact(item) for item in items]

    async def artifact_file(self, artifact: Artifact, member: str, limit: int) -> bytes | None:
        """One file of an artifact's zip archive, at most ``limit`` bytes; None if absent.

        The archive URL answers with a redirect to short-lived blob storage; that request goes
        without the token. Nothing is extracted to disk: the one member is read into memory.
        """
        if artifact.size > ARCHIVE_LIMIT:
            raise GitHubError(f"artifact {artifact.name!r} is larger than {ARCHIVE_LIMIT} bytes")
        response = await self._send("GET", artifact.archive_url)
        if response.status_code in (301, 302, 303, 307, 308):
            location = response.headers.get("location", "")
            if not location.startswith(("https://", "http://")):
                raise GitHubError(f"artifact {artifact.name!r}: redirect without a usable URL")
            response = await self._send("GET", location)
        self._check(response, "GET", artifact.archive_url)
        data = response.content
        if len(data) > ARCHIVE_LIMIT:
            raise GitHubError(f"artifact {artifact.name!r} is larger than {ARCHIVE_LIMIT} bytes")
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                try:
                    info = archive.getinfo(member)
                except KeyError:
                    return None
                if info.file_size > limit:
                    raise GitHubError(
                        f"artifact {artifact.name!r}: {member} is larger than {limit} bytes"
                    )
                with archive.open(info) as handle:
                    return handle.read(limit + 1)[:limit]
        except zipfile.BadZipFile:
            raise GitHubError(f"artifact {artifact.name!r} is not a zip archive") from None

    # --- plumbing -------------------------------------------------------------------------

    async def _pages(self, path: str, *, key: str | None = None) -> list[dict[str, Any]]:
        url: str | None = f"{self._api}{path}?per_page={PER_PAGE}"
        items: list[dict[str, Any]] = []
        for _ in range(MAX_PAGES):
            if url is None:
                return items
            response = await self._request("GET", url)
            data = _decode(response, "GET", path)
            page = data.get(key) if key and isinstance(data, dict) else data
            if not isinstance(page, list):
                raise GitHubError(f"GET {path}: expected a list, got {type(page).__name__}")
            items.extend(item for item in page if isinstance(item, dict))
            url = _next_link(response.headers.get("link", ""))
            if url is not None and _origin(url) != self._origin:
                raise GitHubError(f"GET {path}: the next page is on another host; not followed")
        raise GitHubError(f"GET {path}: more than {MAX_PAGES} pages")

    async def _json(self, method: str, path: str, *, body: Any = None) -> dict[str, Any]:
        response = await self._request(method, f"{self._api}{path}", body=body)
        data = _decode(response, method, path)
        if not isinstance(data, dict):
            raise GitHubError(f"{method} {path}: expected an object")
        return data

    async def _request(self, method: str, url: str, *, body: Any = None) -> httpx.Response:
        """Send with retries; raise ``GitHubError`` unless the answer is 2xx."""
        options = self._options
        path = urlsplit(url).path

        async def attempt(_number: int, last: bool) -> httpx.Response | Retry:
            try:
                response = await self._send(method, url, body=body)
            except httpx.TransportError as exc:
                what = f"{method} {path}: {type(exc).__name__}"
                if method == "POST" and not isinstance(exc, httpx.ConnectError):
                    raise GitHubError(what) from None
                return Retry(what)
            wait = _rate_limit_wait(response, self._clock.now().timestamp())
            if wait is not None and not last:
                if wait > options.wait_cap:
                    raise GitHubError(
                        f"{method} {path}: rate limited for {wait:.0f}s "
                        f"(more than {options.wait_cap:.0f}s)",
                        status_code=response.status_code,
                    )
                return Retry(f"{method} {path}", response, at_least=wait)
            if response.status_code >= 500 and method != "POST":
                return Retry(f"{method} {path}", response)
            self._check(response, method, url)
            return response

        def exhausted(last: Retry | None) -> Exception:
            if last is not None and last.response is not None:
                self._check(last.response, method, url)  # raises: the answer was not 2xx
            return GitHubError(last.what if last is not None else f"{method} {path}")

        return await retrying(
            attempt,
            backoff=options.backoff,
            rng=self._rng,
            sleep=self._clock.sleep,
            exhausted=exhausted,
        )

    async def _send(self, method: str, url: str, *, body: Any = None) -> httpx.Response:
        headers = {}
        if _origin(url) == self._origin:  # the token never leaves the API's origin
            headers["Authorization"] = f"Bearer {self._token.reveal()}"
        return await self._http.request(method, url, json=body, headers=headers)

    def _check(self, response: httpx.Response, method: str, url: str) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        path = urlsplit(url).path
        message = _message(response)
        where = f"{method} {path}: {status}{f' {message}' if message else ''}"
        if status == 401:
            raise GitHubAuthError(
                f"{where} (GitHub refused the token; check GITHUB_TOKEN)", status_code=status
            )
        if status == 403:
            raise GitHubAuthError(
                f"{where} (the token lacks a permission this needs; see the workflow's "
                "permissions:)",
                status_code=status,
            )
        raise GitHubError(where, status_code=status)


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc.lower()


def _decode(response: httpx.Response, method: str, path: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise GitHubError(f"{method} {path}: the answer is not JSON") from None


def _message(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return ""
    message = data.get("message") if isinstance(data, dict) else None
    if not isinstance(message, str):
        return ""
    return " ".join(message.split())[:200]


def _rate_limit_wait(response: httpx.Response, now: float) -> float | None:
    """Seconds to wait when GitHub's rate limit refused the request, else None.

    GitHub: a secondary rate limit answers 403 or 429, with ``retry-after`` or with
    ``x-ratelimit-remaining: 0`` and ``x-ratelimit-reset`` (epoch seconds).
    """
    if response.status_code not in (403, 429):
        return None
    headers = response.headers
    retry_after = headers.get("retry-after")
    if retry_after is not None:
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            return 60.0
    if headers.get("x-ratelimit-remaining") == "0":
        try:  # the quota comes back at x-ratelimit-reset (epoch seconds)
            return max(1.0, float(headers.get("x-ratelimit-reset", "")) - now)
        except ValueError:
            return 60.0
    if response.status_code == 429 or "rate limit" in _message(response).lower():
        return 60.0
    return None


def _next_link(header: str) -> str | None:
    for part in header.split(","):
        section = part.split(";")
        if len(section) < 2:
            continue
        target = section[0].strip()
        is_next = any(p.strip() in ('rel="next"', "rel=next") for p in section[1:])
        if is_next and target.startswith("<") and target.endswith(">"):
            return target[1:-1]
    return None


def _int(data: Mapping[str, Any], key: str) -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise GitHubError(f"unexpected answer: {key} is not a number")
    return value


def _comment(data: Mapping[str, Any]) -> Comment:
    user = data.get("user")
    login = user.get("login") if isinstance(user, dict) else None
    body = data.get("body")
    return Comment(
        id=_int(data, "id"),
        author=login if isinstance(login, str) else "",
        body=body if isinstance(body, str) else "",
    )


def _pull(data: Mapping[str, Any]) -> PullRequest:
    head = data.get("head")
    sha = head.get("sha") if isinstance(head, dict) else None
    merge = data.get("merge_commit_sha")
    merger = data.get("merged_by")
    login = merger.get("login") if isinstance(merger, dict) else None
    return PullRequest(
        number=_int(data, "number"),
        head_sha=sha if isinstance(sha, str) else "",
        merge_commit_sha=merge if isinstance(merge, str) else None,
        merged=bool(data.get("merged_at")),
        state=_str(data, "state"),
        url=_str(data, "html_url"),
        merged_by=login[:_FIELD_LIMIT] if isinstance(login, str) else "",
        title=_str(data, "title"),
    )


_FIELD_LIMIT = 1000  # characters kept of a string field; callers bound it further


def _str(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    return value[:_FIELD_LIMIT] if isinstance(value, str) else ""


def _artifact(data: Mapping[str, Any]) -> Artifact:
    name, url, size = data.get("name"), data.get("archive_download_url"), data.get("size_in_bytes")
    return Artifact(
        id=_int(data, "id"),
        name=name if isinstance(name, str) else "",
        expired=bool(data.get("expired")),
        size=size if isinstance(size, int) else 0,
        archive_url=url if isinstance(url, str) else "",
    )
