"""What the engine asks about runs: the record poll and the ExecutionRecord queries.

An edge, the read-only half of ``BoomiClient`` (a mixin it inherits): each question says
which request to send and how to read its answer (``wire``, ``records``); ``client`` sends it
through its one retried, paced, classified ``_read`` and scrubs what comes back. A query is
followed through ``queryMore`` up to ``MAX_PAGES`` pages. An id goes into a URL or a query
only once it has the shape of an id: a state written before ids were checked may hold one
that is not, and the platform cannot know it either (``RecordNotFound``, not asked).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

from reconciler.boomi import answers, fields, records, wire
from reconciler.boomi.ratelimit import FIRST, READ
from reconciler.errors import ProtocolError, RecordNotFound
from reconciler.model import Meter, PlatformRecord

__all__ = ["MAX_PAGES", "RecordQueries"]

MAX_PAGES = 200  # queryMore pages followed for one query (100 records each)
ROUND_PAGES = 2  # for one poll round: it asks for at most 100 runs


class RecordQueries:
    """The record poll and the queries; ``BoomiClient`` supplies ``_read`` and ``_scrub``."""

    _scrub: Callable[[str], str]

    async def _read(
        self,
        method: str,
        path: str,
        meter: Meter | None,
        parse: bool = True,
        priority: int = READ,
        **kwargs: Any,
    ) -> tuple[int, Any]:
        """The status and decoded body of a read (``BoomiClient._read``)."""
        raise NotImplementedError  # pragma: no cover - BoomiClient's

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
        # At most 100 ids: one page, or two if the platform pages early; more is not an answer
        # to this question (a ProtocolError: the round's runs fall back to their own polls).
        found = await self._all_pages(wire.executions_query(asked), meter, ROUND_PAGES)
        return records.answered(asked, found)

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

    async def _all_pages(
        self, body: Any, meter: Meter | None, most: int = 0
    ) -> list[PlatformRecord]:
        """Every record a QUERY finds, following queryMore up to ``most`` (``MAX_PAGES``) pages.

        A platform that hands out tokens forever is a ``ProtocolError``, not an endless loop.
        """
        path = "/ExecutionRecord/query"
        found, token = await self._page("POST", path, meter, json=body)
        pages, most = 1, most or MAX_PAGES
        while token:
            more = "/ExecutionRecord/queryMore"
            if pages >= most:
                raise ProtocolError(
                    f"POST {more}: still more records after {most} pages; the query was "
                    "not read to its end"
                )
            headers = {"Content-Type": "text/plain"}
            page, token = await self._page("POST", more, meter, content=token, headers=headers)
            found.extend(page)
            pages += 1
        return found

    async def _page(
        self, method: str, path: str, meter: Meter | None, priority: int = READ, **kwargs: Any
    ) -> tuple[list[PlatformRecord], str | None]:
        """One QueryResult page: its records and the next page's token."""
        _, body = await self._read(method, path, meter, priority=priority, **kwargs)
        return answers.parsed(path, lambda: wire.parse_query_result(body, self._scrub))
