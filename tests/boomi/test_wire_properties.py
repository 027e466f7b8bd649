"""Issue 15: every parser of a platform answer returns a valid typed value or raises
``ProtocolError``, never anything else, whatever the platform sends.

Property tests over the strategies of ``tests.boomi.strategies`` (arbitrary JSON, the
documented shapes, the poison values of item 6, a planted secret): the pure parsers of
``wire``, then the real client over ``httpx.MockTransport`` answering whole HTTP answers.
Bounded (``EXAMPLES`` each, 300 unless ``WIRE_EXAMPLES`` says otherwise) to keep the fast
tier fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from datetime import UTC, datetime
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings

from reconciler.boomi import fields, wire
from reconciler.boomi.client import BoomiClient, ClientOptions
from reconciler.clock import SystemClock
from reconciler.errors import PlatformError, ProtocolError
from reconciler.model import PlatformRecord, ResolvedRequest
from reconciler.outbound import terminal
from reconciler.retry import Backoff
from tests.boomi import strategies as hostile

EXAMPLES = int(os.environ.get("WIRE_EXAMPLES", "300"))
PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
SCRUB = hostile.CANARY_REDACTOR.scrub


def _clean(text: str | None, limit: int) -> None:
    if text is None:
        return
    assert len(text) <= limit
    assert not any("\ud800" <= c <= "\udfff" for c in text)
    assert terminal(text) == text  # no escape sequence, no control but line breaks and tabs
    assert not any(form in text for form in hostile.CANARY_FORMS), text


def _valid(record: PlatformRecord) -> None:
    assert fields.is_identifier(record.execution_id)
    assert record.status == fields.status(record.status, "status")
    for moment in (record.execution_time, record.recorded_date):
        assert moment is None or (moment.tzinfo == UTC and 1970 <= moment.year <= 9999)
    assert record.duration_ms is None or 0 <= record.duration_ms <= fields.MAX_DURATION_MS
    for some_id in (record.process_id, record.atom_id):
        assert some_id is None or fields.is_identifier(some_id)
    _clean(record.message, fields.MAX_TEXT)
    _clean(record.process_name, fields.MAX_NAME)
    _clean(record.atom_name, fields.MAX_NAME)


@PROPERTY
@given(hostile.records)
def test_a_record_is_valid_or_a_protocol_error(body: dict[str, Any]) -> None:
    try:
        record = wire.parse_record(body, SCRUB)
    except ProtocolError:
        return
    _valid(record)


@PROPERTY
@given(hostile.async_bodies)
def test_an_async_answer_is_a_record_none_or_a_protocol_error(body: Any) -> None:
    try:
        record = wire.parse_async_record(body, SCRUB)
    except ProtocolError as exc:
        _clean(exc.message, 10_000)
        return
    if record is not None:
        _valid(record)


@PROPERTY
@given(hostile.submit_bodies)
def test_a_submit_answer_is_a_request_id_or_a_protocol_error(body: Any) -> None:
    try:
        request_id = wire.parse_request_id(body, SCRUB)
    except ProtocolError:
        return
    assert fields.is_identifier(request_id)


@PROPERTY
@given(hostile.query_pages)
def test_a_query_page_is_records_and_a_token_or_a_protocol_error(body: Any) -> None:
    try:
        records, token = wire.parse_query_result(body, SCRUB)
    except ProtocolError:
        return
    for record in records:
        _valid(record)
    assert token is None or (token.isascii() and token.isprintable() and " " not in token)


@PROPERTY
@given(hostile.error_bodies)
def test_an_error_body_gives_a_short_scrubbed_message(pair: tuple[bytes, str]) -> None:
    content, content_type = pair
    message = wire.error_message(content, content_type, SCRUB)
    _clean(message, fields.MAX_TEXT)


@PROPERTY
@given(hostile.raw_bodies)
def test_any_body_decodes_or_is_a_protocol_error(content: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        wire.decode_json(content, "GET /x")


async def _ask(status: int, content_type: str, body: bytes) -> None:
    def answer(_request: httpx.Request) -> httpx.Response:
        headers = {"content-type": content_type} if content_type else {}
        return httpx.Response(status, headers=headers, stream=httpx.ByteStream(body))

    options = ClientOptions(rate_limit=10**6, backoff=Backoff(base=0, cap=0, attempts=2), seed=1)
    async with BoomiClient(
        "http://platform/api/rest/v1",
        "acme-AB12CD",
        "user",
        "token",
        clock=SystemClock(),
        options=options,
        transport=httpx.MockTransport(answer),
        redactor=hostile.CANARY_REDACTOR,
    ) as client:
        when = datetime(2026, 1, 15, tzinfo=UTC)
        calls = (
            client.submit(ResolvedRequest(process_id="p", atom_id="a")),
            client.get_record("executionrecord-1"),
            client.get_execution("execution-1"),
            client.query_records("p", "a", when, when),
            client.recent_records("p", when),
        )
        for call in calls:
            try:
                got = await call
            except PlatformError as exc:
                _clean(exc.message, 20_000)
                continue
            for record in got if isinstance(got, list) else [got]:
                if isinstance(record, PlatformRecord):
                    _valid(record)
                else:
                    assert record is None or fields.is_identifier(record)


@PROPERTY
@given(hostile.answers)
def test_the_client_returns_or_raises_a_platform_error_whatever_the_answer(
    answer: tuple[int, str, bytes],
) -> None:
    asyncio.run(_ask(*answer))
