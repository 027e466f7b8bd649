"""Issue 17, case 1 and 3: a platform failure names the URL, the cause and the fix.

The real client against a real closed loopback port, a name in the reserved ``.invalid`` TLD,
a plain-TCP server spoken to in TLS, and the real simulator (for 404). Attempts are counted
(the client's meter), never timed.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from reconciler.boomi.client import BoomiClient, ClientOptions, check_address
from reconciler.clock import SystemClock
from reconciler.errors import (
    AmbiguousSubmit,
    AuthenticationError,
    ConfigError,
    PlatformUnreachable,
    SubmitRejected,
)
from reconciler.model import ResolvedRequest
from reconciler.retry import Backoff
from reconciler.sim.app import Simulator, create_app
from reconciler.sim.world import parse_world

ORDERS = "789abcde-f012-3456-789a-bcdef0123456"
ATOM = "3456789a-bcde-f012-3456-789abcdef012"
REQUEST = ResolvedRequest(process_id=ORDERS, atom_id=ATOM)
OPTIONS = ClientOptions(rate_limit=1000, backoff=Backoff(base=0.001, cap=0.01, attempts=8), seed=1)
DEMO = (Path(__file__).resolve().parents[2] / "reconciler/sim/demo_world.yaml").read_text(
    encoding="utf-8"
)


def closed_port() -> int:
    """A loopback port nothing listens on: bound, then closed."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def client(base_url: str, transport: httpx.AsyncBaseTransport | None = None) -> BoomiClient:
    return BoomiClient(
        base_url,
        "demo-AB12CD",
        "BOOMI_TOKEN.demo@example.com",
        "0f8e2c1a-5b7d-4e3f-9a6c-2d1b0e9f8a7c",
        clock=SystemClock(),
        options=OPTIONS,
        transport=transport,
    )


@pytest.fixture
async def not_tls() -> AsyncIterator[int]:
    """A server that answers anything in plain HTTP: a TLS handshake with it fails."""

    async def answer(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1]


@pytest.mark.anyio
async def test_a_refused_connection_is_tried_twice_then_named() -> None:
    port = closed_port()
    async with client(f"http://127.0.0.1:{port}/api/rest/v1") as boomi:
        with pytest.raises(PlatformUnreachable) as raised:
            await boomi.submit(REQUEST)
        assert boomi.totals.calls == 2  # one quick retry, not eight attempts
    message = str(raised.value)
    assert f"http://127.0.0.1:{port}/api/rest/v1: connection refused" in message
    assert "nothing was sent" in message
    assert "https://api.boomi.com/api/rest/v1" in message  # the fix: what the URL looks like


@pytest.mark.anyio
async def test_a_read_on_a_refused_connection_fails_as_fast() -> None:
    async with client(f"http://127.0.0.1:{closed_port()}/api/rest/v1") as boomi:
        with pytest.raises(PlatformUnreachable, match="connection refused"):
            await boomi.get_record("executionrecord-0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")
        assert boomi.totals.calls == 2


@pytest.mark.anyio
async def test_a_name_that_does_not_resolve_is_not_retried() -> None:
    async with client("http://reconciler-test.invalid/api/rest/v1") as boomi:
        with pytest.raises(PlatformUnreachable) as raised:
            await boomi.submit(REQUEST)
        assert boomi.totals.calls == 1
    assert "http://reconciler-test.invalid/api/rest/v1: name not resolved" in str(raised.value)


@pytest.mark.anyio
async def test_a_failed_tls_handshake_is_named_and_not_retried(not_tls: int) -> None:
    async with client(f"https://127.0.0.1:{not_tls}/api/rest/v1") as boomi:
        with pytest.raises(PlatformUnreachable) as raised:
            await boomi.submit(REQUEST)
        assert boomi.totals.calls == 1
    assert f"https://127.0.0.1:{not_tls}/api/rest/v1: TLS: " in str(raised.value)


@pytest.mark.anyio
async def test_a_reset_after_sending_stays_ambiguous() -> None:
    def reset(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadError("connection reset", request=request)

    async with client("http://platform.test/api/rest/v1", httpx.MockTransport(reset)) as boomi:
        with pytest.raises(AmbiguousSubmit, match="may or may not have started"):
            await boomi.submit(REQUEST)
        assert boomi.totals.calls == 1


@pytest.mark.anyio
async def test_a_404_off_the_api_names_the_url_and_what_to_check() -> None:
    sim = Simulator(parse_world(DEMO, "demo_world.yaml"), time_scale=1000.0)
    transport = httpx.ASGITransport(app=create_app(sim))
    async with client("http://sim/api/rest", transport) as boomi:
        with pytest.raises(SubmitRejected) as raised:  # this run only: never stops the others
            await boomi.submit(REQUEST)
        assert boomi.totals.calls == 1
    message = str(raised.value)
    assert message.startswith("HTTP 404 from http://sim/api/rest/demo-AB12CD/ExecutionRequest")
    assert "is the account id right (BOOMI_ACCOUNT_ID / platform.accountId)" in message
    assert "does the URL end in /api/rest/v1?" in message


@pytest.mark.parametrize(
    ("url", "account", "expected"),
    [
        ("https://api.boomi.com/api/rest/v1", "", "platform account id missing"),
        ("https://api.boomi.com/api/rest/v1", "acme/AB12", "a character an id does not"),
        ("https:///api/rest/v1", "acme-AB12CD", "has no http(s) scheme and host"),
        ("https://api.boomi.com:x/api/rest/v1", "acme-AB12CD", "cannot be read"),
        ("https://[::1/api/rest/v1", "acme-AB12CD", "cannot be read"),
        ("https://u:hunter2@api.boomi.com/api/rest/v1", "acme-AB12CD", "carries credentials"),
        ("https://api.boomi.com/api/rest/v1?x=1", "acme-AB12CD", "a query or a fragment"),
    ],
)
def test_an_address_that_cannot_work_is_refused_before_any_request(
    url: str, account: str, expected: str
) -> None:
    with pytest.raises(ConfigError, match=expected.replace("(", r"\(").replace(")", r"\)")) as e:
        check_address(url, account)
    assert "hunter2" not in str(e.value)


def test_a_good_address_passes() -> None:
    check_address("https://api.boomi.com/api/rest/v1", "acme-AB12CD")
    check_address("http://127.0.0.1:8080/proxy/api/rest/v1", "demo-AB12CD")


@pytest.mark.anyio
async def test_a_403_keeps_the_platform_message_and_the_privileges_hint() -> None:
    def denied(_: httpx.Request) -> httpx.Response:
        return httpx.Response(403, json={"message": "User lacks Execute on acme-AB12CD"})

    async with client("http://platform.test/api/rest/v1", httpx.MockTransport(denied)) as boomi:
        with pytest.raises(AuthenticationError) as raised:
            await boomi.submit(REQUEST)
    message = str(raised.value)
    assert "(HTTP 403: User lacks Execute on acme-AB12CD) at http://platform.test/api/rest/v1" in (
        message
    )
    assert "is the account id right" in message
    assert "API Access and Execute privileges" in message
