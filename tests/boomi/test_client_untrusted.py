"""Issue 15: the client reads a bounded answer, builds no URL from an unchecked id, and lets no
secret the platform echoes out of it.

Wire faults the simulator cannot produce, so ``httpx.MockTransport`` plays the platform: a body
that never ends, a gzip header on garbage, tokens handed out forever, an error body that echoes
the request (and the secret in it). Everything else in these tests is the real client.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import httpx
import pytest

from reconciler.boomi import fields, queries
from reconciler.boomi.client import BoomiClient, ClientOptions
from reconciler.clock import SystemClock
from reconciler.errors import (
    AmbiguousSubmit,
    PlatformUnavailable,
    ProtocolError,
    RecordNotFound,
    SubmitRejected,
)
from reconciler.model import ResolvedRequest
from reconciler.outbound import NO_SECRETS, Redactor, variants
from reconciler.retry import Backoff

FAST = ClientOptions(rate_limit=1000, backoff=Backoff(base=0.001, cap=0.002, attempts=3), seed=1)
REQUEST = "executionrecord-5e0c1d2a-7b3f-4a8e-9c6d-1f2e3a4b5c6d"
EXECUTION = "execution-5e0c1d2a-7b3f-4a8e-9c6d-1f2e3a4b5c6d-2026.01.15"
Handler = Callable[[httpx.Request], httpx.Response]


def _client(handler: Handler, redactor: Redactor | None = None) -> BoomiClient:
    return BoomiClient(
        "http://platform/api/rest/v1",
        "acme-AB12CD",
        "BOOMI_TOKEN.user@example.com",
        "token",
        clock=SystemClock(),
        options=FAST,
        transport=httpx.MockTransport(handler),
        redactor=redactor if redactor is not None else NO_SECRETS,
    )


class Endless(httpx.AsyncByteStream):
    """A body that never ends: counts the chunks it was asked for."""

    def __init__(self) -> None:
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            self.sent += 1
            yield b'{"x": "' + b"a" * (1 << 20)


@pytest.mark.anyio
async def test_a_body_that_never_ends_is_read_no_further_than_the_cap() -> None:
    body = Endless()
    async with _client(lambda _request: httpx.Response(200, stream=body)) as client:
        with pytest.raises(ProtocolError, match="body is larger than 8 MiB"):
            await client.get_record(REQUEST)
    assert body.sent <= fields.MAX_BODY // (1 << 20) + 1


@pytest.mark.anyio
async def test_a_submit_answered_with_a_body_past_the_cap_is_ambiguous_not_a_crash() -> None:
    async with _client(lambda _request: httpx.Response(200, stream=Endless())) as client:
        with pytest.raises(AmbiguousSubmit, match="HTTP 200 but the response body is larger"):
            await client.submit(ResolvedRequest(process_id="p", atom_id="a"))


@pytest.mark.anyio
async def test_a_body_that_is_not_what_its_encoding_says_is_retried_then_unavailable() -> None:
    def garbage(_request: httpx.Request) -> httpx.Response:
        stream = httpx.ByteStream(b"not gzip")  # as a transport gives it: not decoded yet
        return httpx.Response(200, headers={"content-encoding": "gzip"}, stream=stream)

    async with _client(garbage) as client:
        with pytest.raises(
            PlatformUnavailable,
            match="no usable answer after 3 attempts; the last one: the body cannot be decoded",
        ):
            await client.get_record(REQUEST)
        with pytest.raises(AmbiguousSubmit, match="cannot be decoded"):
            await client.submit(ResolvedRequest(process_id="p", atom_id="a"))


@pytest.mark.anyio
async def test_a_platform_that_hands_out_tokens_forever_ends_in_a_protocol_error() -> None:
    pages = 0

    def forever(_request: httpx.Request) -> httpx.Response:
        nonlocal pages
        pages += 1
        return httpx.Response(200, json={"result": [], "queryToken": f"token-{pages}"})

    now = datetime(2026, 1, 15, tzinfo=UTC)
    async with _client(forever) as client:
        with pytest.raises(ProtocolError, match="still more records after 200 pages"):
            await client.query_records("p", "a", now, now)
    assert pages == queries.MAX_PAGES


@pytest.mark.anyio
async def test_a_poll_round_reads_two_pages_at_most() -> None:
    """A round asks for at most 100 runs: a platform paging on is not answering it."""
    pages = 0

    def forever(_request: httpx.Request) -> httpx.Response:
        nonlocal pages
        pages += 1
        return httpx.Response(200, json={"result": [], "queryToken": f"token-{pages}"})

    async with _client(forever) as client:
        with pytest.raises(ProtocolError, match="still more records after 2 pages"):
            await client.poll_executions([EXECUTION])
    assert pages == queries.ROUND_PAGES


@pytest.mark.anyio
@pytest.mark.parametrize(
    "bad", [REQUEST + "\n", "../../cancelExecution/" + EXECUTION, "a?b", "a" * 201, ""]
)
async def test_an_id_that_is_not_an_id_is_never_put_in_a_url(bad: str) -> None:
    sent: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(202)

    async with _client(record) as client:
        with pytest.raises(RecordNotFound, match="is not an id like executionrecord-<uuid>"):
            await client.get_record(bad)
        with pytest.raises(RecordNotFound, match="is not an id like execution-<uuid>"):
            await client.get_execution(bad)
        with pytest.raises(ProtocolError, match="expected an executionId like"):
            await client.cancel(bad)
        assert await client.get_record(REQUEST) is None
    assert [str(r.url) for r in sent] == [
        f"http://platform/api/rest/v1/acme-AB12CD/ExecutionRecord/async/{REQUEST}"
    ]


VALUES = [
    pytest.param("Tr0ub4dor-and-3", id="raw"),
    pytest.param('pa"ss\tw<o>rd&1', id="json-escaped"),
]


def _echo(shape: str) -> Handler:
    """A platform whose 400 says the request body back, in an error body of ``shape``."""

    def handle(request: httpx.Request) -> httpx.Response:
        text = "Invalid request: " + request.content.decode()
        if shape == "json":
            return httpx.Response(400, json={"@type": "Error", "message": text})
        if shape == "json-nested":
            return httpx.Response(400, json={"error": {"message": text}})
        if shape == "xml":
            escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            body = f"<error><message>{escaped}</message></error>"
            return httpx.Response(400, content=body, headers={"content-type": "application/xml"})
        if shape == "html":
            body = f"<html><body><pre>{text}</pre></body></html>"
            return httpx.Response(400, content=body, headers={"content-type": "text/html"})
        return httpx.Response(400, content=text, headers={"content-type": "text/plain"})

    return handle


@pytest.mark.anyio
@pytest.mark.parametrize("shape", ["json", "json-nested", "xml", "html", "text"])
@pytest.mark.parametrize("value", VALUES)
async def test_a_rejection_that_echoes_the_request_names_the_secret_not_its_value(
    shape: str, value: str
) -> None:
    request = ResolvedRequest(process_id="p", atom_id="a", dynamic_properties={"PW": value})
    redactor = Redactor({"DB_PASSWORD": value})
    async with _client(_echo(shape), redactor) as client:
        with pytest.raises(SubmitRejected) as raised:
            await client.submit(request)
    message = str(raised.value)
    assert 'secret("DB_PASSWORD")' in message, message
    exact, either_case = variants(value)
    assert not [form for form in exact if form in message]
    assert not [form for form in either_case if form.lower() in message.lower()]


@pytest.mark.anyio
async def test_a_record_that_echoes_a_secret_holds_its_name() -> None:
    value = 'pa"ss\tw<o>rd&1'
    echoed = json.dumps({"value": value})  # the property as the platform received it
    record = {
        "executionId": EXECUTION,
        "status": "ERROR",
        "message": f"Invalid property {echoed} (raw: {value})",
        "processName": f"Orders {value}",
    }

    def handle(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"responseStatusCode": 200, "result": [record]})

    async with _client(handle, Redactor({"DB_PASSWORD": value})) as client:
        found = await client.get_record(REQUEST)
    assert found is not None
    assert found.message == (
        'Invalid property {"value": "secret("DB_PASSWORD")"} (raw: secret("DB_PASSWORD"))'
    )
    assert found.process_name == 'Orders secret("DB_PASSWORD")'
