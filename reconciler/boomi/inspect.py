"""Read-only questions to the platform, for ``reconciler check``: runtimes, deployments, runs.

An edge beside ``client``, through which every call goes (``BoomiClient.read``: its retries,
rate limiter, timeouts, failure classification and scrubbing), and only in the documented read
shapes (boomi-platform-api.md §9, §13): ``GET /Atom/{id}``, ``EnvironmentAtomAttachment/query``
by ``atomId``, ``DeployedPackage/query`` (``environmentId``, ``componentId``, ``componentType``
``process``, ``active`` ``true``), ``ExecutionRecord/query`` and ``queryMore``. Nothing here can
start, change or cancel anything.

Every answer is a value: the facts asked for, or a ``Refused`` saying why there are none (an
HTTP status and the platform's words, or no answer at all). A 401, 403 or 404 is something to
report, never a crash. Bounded: each question is asked once (callers asking the same share one
request), at most ``max_requests`` requests in all, at most ``max_pages`` pages per query; after
a 401, or a platform that cannot be reached, nothing more is asked (repeated failed logins can
lock the account, §3).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, TypeVar
from urllib.parse import quote

from reconciler.boomi import answers, fields, wire
from reconciler.boomi.client import BoomiClient
from reconciler.errors import (
    AuthenticationError,
    PlatformError,
    PlatformUnreachable,
    ProtocolError,
)
from reconciler.model import PlatformRecord

__all__ = ["Inspector", "Refused", "Runs", "Runtime"]

T = TypeVar("T")
MAX_REQUESTS = 2_000  # requests one check may make in all
MAX_PAGES = 5  # pages read of one query (100 results each)

ATOM = "GET /Atom/{id}"
ATTACHMENTS = "POST /EnvironmentAtomAttachment/query"
DEPLOYED = "POST /DeployedPackage/query"
RECORDS = "POST /ExecutionRecord/query"


@dataclass(frozen=True)
class Refused:
    """No answer to a question: the endpoint asked, the HTTP status (None: no answer), why.

    ``final``: nothing more is asked of the platform (a 401, or a platform not reached).
    """

    endpoint: str
    status: int | None
    message: str
    final: bool = False

    @property
    def denied(self) -> bool:
        """Authenticated but not allowed (HTTP 403): a missing privilege, or another account."""
        return self.status == 403

    @property
    def rejected(self) -> bool:
        """The credentials were refused (HTTP 401)."""
        return self.status == 401


@dataclass(frozen=True)
class Runtime:
    """A runtime as ``GET /Atom/{id}`` shows it: its name and its status word."""

    atom_id: str
    name: str | None
    status: str

    @property
    def label(self) -> str:
        """``Prod Atom (3456789a-…)``, or the id alone when the platform gave no name."""
        return f"{self.name} ({self.atom_id})" if self.name else self.atom_id


@dataclass(frozen=True)
class Runs:
    """Runs of a process on a runtime since a moment, newest first; ``complete`` unless cut."""

    records: tuple[PlatformRecord, ...]
    complete: bool


class Inspector:
    """Asks the platform read-only questions through ``client``, each at most once."""

    def __init__(
        self,
        client: BoomiClient,
        *,
        max_requests: int = MAX_REQUESTS,
        max_pages: int = MAX_PAGES,
    ) -> None:
        self._client = client
        self._max_requests = max_requests
        self._max_pages = max_pages
        self._asked: dict[tuple[str, ...], asyncio.Task[Any]] = {}
        self._stop: Refused | None = None  # after a 401 or an unreachable platform
        self.requests = 0
        self.answered = 0  # questions the platform answered: the credentials work

    async def runtime(self, atom_id: str) -> Runtime | Refused:
        """The runtime ``atom_id`` (``GET /Atom/{id}``); a 404 is a ``Refused`` with 404."""
        if not fields.is_identifier(atom_id):
            return Refused(ATOM, None, f"{atom_id!r} is not an id; not asked")

        async def ask() -> Runtime:
            body = await self._get(f"/Atom/{quote(atom_id, safe='')}")
            name, status = answers.parsed("Atom", lambda: wire.parse_atom(body, self._scrub))
            return Runtime(atom_id, name, status)

        return await self._once(("atom", atom_id), ATOM, ask)

    async def environments(self, atom_id: str) -> tuple[str, ...] | Refused:
        """The ids of the environments the runtime is attached to (EnvironmentAtomAttachment)."""

        async def ask() -> tuple[str, ...]:
            found: list[str] = []
            path = "/EnvironmentAtomAttachment/query"
            body = await self._post(path, json=wire.attachments_query(atom_id))
            for page in range(self._max_pages):
                ids, token = answers.parsed(
                    path, partial(wire.parse_attachments, body, self._scrub)
                )
                found.extend(ids)
                if token is None or page + 1 == self._max_pages:
                    break
                body = await self._more("/EnvironmentAtomAttachment/queryMore", token)
            return tuple(dict.fromkeys(found))

        return await self._once(("attachments", atom_id), ATTACHMENTS, ask)

    async def deployed(self, environment_id: str, process_id: str) -> bool | Refused:
        """Whether an active deployment of the process is in the environment (DeployedPackage)."""

        async def ask() -> bool:
            path = "/DeployedPackage/query"
            body = await self._post(path, json=wire.deployed_query(environment_id, process_id))
            for page in range(self._max_pages):
                found, token = answers.parsed(
                    path, partial(wire.parse_deployed, body, process_id, environment_id)
                )
                if found:
                    return True
                if token is None or page + 1 == self._max_pages:
                    break
                body = await self._more("/DeployedPackage/queryMore", token)
            return False

        return await self._once(("deployed", environment_id, process_id), DEPLOYED, ask)

    async def runs(self, process_id: str, atom_id: str, since: datetime) -> Runs | Refused:
        """The runs of the process on the runtime started at or after ``since``, newest first.

        At most ``max_pages`` pages are read: ``complete`` is False when more were left.
        """

        async def ask() -> Runs:
            path = "/ExecutionRecord/query"
            body = await self._post(path, json=wire.runs_since_query(process_id, atom_id, since))
            records: list[PlatformRecord] = []
            for page in range(self._max_pages):
                got, token = answers.parsed(
                    path, partial(wire.parse_query_result, body, self._scrub)
                )
                records.extend(got)
                if token is None:
                    return Runs(tuple(records), complete=True)
                if page + 1 == self._max_pages:
                    break
                body = await self._more("/ExecutionRecord/queryMore", token)
            return Runs(tuple(records), complete=False)

        return await self._once(("runs", process_id, atom_id, since.isoformat()), RECORDS, ask)

    def cancel(self) -> None:
        """Stop every question still being asked (the check's time is up)."""
        for task in self._asked.values():
            task.cancel()

    # -- the machinery -----------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        return self._client.scrub(text)

    async def _once(
        self, key: tuple[str, ...], endpoint: str, ask: Callable[[], Awaitable[T]]
    ) -> T | Refused:
        """``ask()``'s answer, asked once for ``key``; every failure a ``Refused``."""
        task = self._asked.get(key)
        if task is None:
            task = asyncio.ensure_future(self._answer(endpoint, ask))
            self._asked[key] = task
        result: T | Refused = await asyncio.shield(task)
        return result

    async def _answer(self, endpoint: str, ask: Callable[[], Awaitable[T]]) -> T | Refused:
        if self._stop is not None:
            return Refused(endpoint, self._stop.status, self._stop.message, final=True)
        try:
            answer = await ask()
        except AuthenticationError as exc:
            refused = Refused(endpoint, exc.status_code, str(exc), final=exc.status_code == 401)
            if refused.final:
                self._stop = refused
            return refused
        except PlatformUnreachable as exc:
            self._stop = Refused(endpoint, None, str(exc), final=True)
            return self._stop
        except ProtocolError as exc:
            return Refused(endpoint, None, f"{endpoint}: unreadable answer: {exc}")
        except PlatformError as exc:
            return Refused(endpoint, exc.status_code, str(exc))
        except _Spent as exc:
            return Refused(endpoint, None, str(exc))
        self.answered += 1
        return answer

    def _count(self) -> None:
        if self.requests >= self._max_requests:
            raise _Spent(
                f"not asked: this check's budget of {self._max_requests:,} requests is spent"
            )
        self.requests += 1

    async def _get(self, path: str) -> Any:
        self._count()
        return await self._client.read("GET", path)

    async def _post(self, path: str, *, json: Any) -> Any:
        self._count()
        return await self._client.read("POST", path, json=json)

    async def _more(self, path: str, token: str) -> Any:
        self._count()
        headers = {"Content-Type": "text/plain"}
        return await self._client.read("POST", path, content=token, headers=headers)


class _Spent(Exception):
    """The request budget is spent: the question is not asked."""
