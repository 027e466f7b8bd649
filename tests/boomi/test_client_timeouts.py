"""Issue 17, case 2, in the client: requests that get no answer, and a host gone silent.

The real client and the in-process simulator, behind a small transport that plays the one wire
fault the simulator cannot produce in-process: no answer. For the paths it is told, it forwards
the request first when asked (so the simulator really takes a submit), then raises
``httpx.ReadTimeout``, as httpx does when the read timeout runs out. The simulator's own
counters say what reached it; nothing is timed.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from reconciler.boomi.client import BoomiClient, ClientOptions
from reconciler.clock import SystemClock
from reconciler.errors import AmbiguousSubmit, PlatformUnavailable, PlatformUnreachable
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
BASE = "http://sim/api/rest/v1"


class NoAnswer(httpx.AsyncBaseTransport):
    """The simulator, except that requests to ``paths`` get no answer."""

    def __init__(self, paths: tuple[str, ...], *, forward: bool = False) -> None:
        self.sim = Simulator(parse_world(DEMO, "demo_world.yaml"), time_scale=1000.0)
        self._inner = httpx.ASGITransport(app=create_app(self.sim))
        self._paths = paths
        self._forward = forward
        self.unanswered: list[str] = []
        self.hold: asyncio.Event | None = None  # the second unanswered waits for it, if set
        self.holding = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not request.url.path.endswith(self._paths):
            return await self._inner.handle_async_request(request)
        if self._forward:
            await self._inner.handle_async_request(request)  # taken, its answer lost
        self.unanswered.append(f"{request.method} {request.url.path}")
        if self.hold is not None and len(self.unanswered) == 2:
            self.holding.set()
            await self.hold.wait()
        raise httpx.ReadTimeout("timed out", request=request)


def client(transport: NoAnswer) -> BoomiClient:
    return BoomiClient(
        BASE,
        "demo-AB12CD",
        "BOOMI_TOKEN.demo@example.com",
        "0f8e2c1a-5b7d-4e3f-9a6c-2d1b0e9f8a7c",
        clock=SystemClock(),
        options=OPTIONS,
        transport=transport,
    )


@pytest.mark.anyio
async def test_a_submit_that_gets_no_answer_is_ambiguous_and_never_sent_again() -> None:
    transport = NoAnswer(("/ExecutionRequest",), forward=True)
    async with client(transport) as boomi:
        with pytest.raises(AmbiguousSubmit) as raised:
            await boomi.submit(REQUEST)
        assert boomi.totals.calls == 1
    assert str(raised.value) == (
        f"POST /ExecutionRequest: no answer within 60 s after the request was sent to {BASE}/"
        "demo-AB12CD/ExecutionRequest; the run may or may not have started"
    )
    assert transport.sim.counters.by_endpoint["executionRequest"] == {"200": 1}


@pytest.mark.anyio
async def test_two_requests_in_a_row_without_an_answer_stop_every_later_call_unsent() -> None:
    transport = NoAnswer(("/ExecutionRequest", "/ExecutionRecord/query"))
    sent: list[str] = []

    async def before_send() -> None:
        sent.append("intent")

    async with client(transport) as boomi:
        with pytest.raises(AmbiguousSubmit):
            await boomi.submit(REQUEST, before_send=before_send)
        with pytest.raises(PlatformUnreachable) as raised:
            await boomi.get_execution("execution-0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d-2026.01.15")
        with pytest.raises(PlatformUnreachable):
            await boomi.submit(REQUEST, before_send=before_send)
        with pytest.raises(PlatformUnreachable):
            await boomi.get_record("executionrecord-0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")
        assert boomi.totals.calls == 2
    assert transport.unanswered == [
        "POST /api/rest/v1/demo-AB12CD/ExecutionRequest",
        "POST /api/rest/v1/demo-AB12CD/ExecutionRecord/query",
    ]
    assert sent == ["intent"]  # the refused submit saved no intent: nothing was sent
    assert transport.sim.counters.by_endpoint == {}
    assert str(raised.value) == (
        f"the platform at {BASE} does not answer: 2 requests in a row got no answer within 60 s "
        "after they were sent (the last: POST /ExecutionRecord/query; the connections were "
        "accepted); nothing more is sent to it. Is the platform up, and is nothing in between "
        "(a proxy, a firewall) holding requests? If it is only slow, raise platform.readTimeout "
        "(now 60 s)"
    )


@pytest.mark.anyio
async def test_a_read_that_hangs_twice_while_the_host_answers_others_stops_that_call() -> None:
    transport = NoAnswer(("/ExecutionRecord/query",))
    transport.hold = asyncio.Event()
    async with client(transport) as boomi:
        request_id = await boomi.submit(REQUEST)
        query = asyncio.create_task(
            boomi.get_execution("execution-0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d-2026.01.15")
        )
        await transport.holding.wait()  # its first attempt got no answer; the second waits
        await boomi.get_record(request_id)  # answered: the host is not silent
        transport.hold.set()
        with pytest.raises(PlatformUnavailable) as raised:
            await query
        await boomi.get_record(request_id)  # still sent and answered: not silent
    assert len(transport.unanswered) == 2  # tried once more, never eight times
    assert str(raised.value) == (
        "POST /ExecutionRecord/query: no answer within 60 s after the request was sent, twice "
        f"({BASE}/demo-AB12CD/ExecutionRecord/query); if the platform is only slow, raise "
        "platform.readTimeout (now 60 s)"
    )
