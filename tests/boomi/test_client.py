"""The real client against the real simulator: paging, rate limit, faults, every status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from reconciler.boomi.client import BoomiClient, ClientOptions
from reconciler.clock import SystemClock
from reconciler.errors import AmbiguousSubmit, AuthenticationError, SubmitRejected
from reconciler.model import ResolvedRequest, is_final_status
from reconciler.retry import Backoff
from reconciler.sim.app import Simulator, create_app
from reconciler.sim.world import parse_world

DEMO = (Path(__file__).resolve().parents[2] / "reconciler/sim/demo_world.yaml").read_text(
    encoding="utf-8"
)
ORDERS = "789abcde-f012-3456-789a-bcdef0123456"
ATOM = "3456789a-bcde-f012-3456-789abcdef012"
FAST = ClientOptions(rate_limit=1000, backoff=Backoff(base=0.001, cap=0.01, attempts=6), seed=1)


def _world(rate: str = "0", extra: str = "") -> Simulator:
    text = DEMO.replace("rateLimit: 10 ", f"rateLimit: {rate} ") + extra
    return Simulator(parse_world(text, "demo_world.yaml"), time_scale=1000.0)


def _client(sim: Simulator, options: ClientOptions = FAST, token: str | None = None) -> BoomiClient:
    transport = httpx.ASGITransport(app=create_app(sim))
    return BoomiClient(
        "http://sim/api/rest/v1",
        "demo-AB12CD",
        "BOOMI_TOKEN.demo@example.com",
        token or "0f8e2c1a-5b7d-4e3f-9a6c-2d1b0e9f8a7c",
        clock=SystemClock(),
        options=options,
        transport=transport,
    )


async def _stats(client: BoomiClient) -> dict[str, object]:
    async with httpx.AsyncClient(transport=client._http._transport) as admin:
        data = (await admin.get("http://sim/_sim/stats")).json()
    assert isinstance(data, dict)
    return data


@pytest.mark.anyio
async def test_query_pages_past_100_records() -> None:
    sim = _world()
    async with _client(sim) as client:
        request = ResolvedRequest(process_id=ORDERS, atom_id=ATOM)
        ids = [await client.submit(request) for _ in range(130)]
        assert len(set(ids)) == 130
        for request_id in ids:  # records exist once the (scaled) record delay has passed
            while await client.get_record(request_id) is None:
                pass
        now = datetime.now(UTC)
        records = await client.query_records(
            ORDERS, ATOM, now - timedelta(hours=1), now + timedelta(hours=1)
        )
        assert len(records) == 130
        assert len({r.execution_id for r in records}) == 130
        stats = await _stats(client)
        assert stats["requests"]["executionRecordQueryMore"] == {"200": 1}  # type: ignore[index]


@pytest.mark.anyio
async def test_client_stays_under_the_platform_rate_limit() -> None:
    sim = _world(rate="10")
    options = ClientOptions(rate_limit=10, backoff=FAST.backoff, seed=1)
    async with _client(sim, options) as client:
        request_id = await client.submit(ResolvedRequest(process_id=ORDERS, atom_id=ATOM))
        for _ in range(25):
            await client.get_record(request_id)
        stats = await _stats(client)
    assert stats["rateLimited"] == 0
    assert client.totals.statuses.get(503, 0) == 0


@pytest.mark.anyio
@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "error", "status": 503, "count": 3},
        {"kind": "error", "status": 500, "count": 2},
        {"kind": "error", "status": 504, "count": 2},
        {"kind": "malformed", "count": 2},
        {"kind": "slow", "delay": 0.05, "count": 2},
    ],
    ids=["503", "500", "504", "malformed", "slow"],
)
async def test_poll_faults_are_retried_to_a_final_status(fault: dict[str, object]) -> None:
    sim = _world()
    async with _client(sim) as client:
        request_id = await client.submit(ResolvedRequest(process_id=ORDERS, atom_id=ATOM))
        async with httpx.AsyncClient(transport=client._http._transport) as admin:
            rule = {"endpoint": "executionRecordAsync", **fault}
            (await admin.post("http://sim/_sim/faults", json={"faults": [rule]})).raise_for_status()
        record = None
        for _ in range(200):
            record = await client.get_record(request_id)
            if record is not None and is_final_status(record.status):
                break
        assert record is not None
        assert record.status == "COMPLETE"


@pytest.mark.anyio
async def test_submit_failures_are_classified() -> None:
    sim = _world()
    async with _client(sim) as client:
        with pytest.raises(SubmitRejected, match="is not deployed to an environment attached"):
            await client.submit(
                ResolvedRequest(process_id="abcdef01-2345-6789-abcd-ef0123456789", atom_id=ATOM)
            )
        async with httpx.AsyncClient(transport=client._http._transport) as admin:
            rule = {
                "endpoint": "executionRequest",
                "kind": "error",
                "status": 502,
                "processed": True,
                "count": 1,
            }
            (await admin.post("http://sim/_sim/faults", json={"faults": [rule]})).raise_for_status()
        with pytest.raises(AmbiguousSubmit, match="HTTP 502"):
            await client.submit(ResolvedRequest(process_id=ORDERS, atom_id=ATOM))
    async with _client(sim, token="wrong-token") as bad:
        with pytest.raises(AuthenticationError, match="credentials rejected for account"):
            await bad.submit(ResolvedRequest(process_id=ORDERS, atom_id=ATOM))
        assert bad.totals.calls == 1  # 401 is never retried
        assert "wrong-token" not in repr(bad)


SCRIPTED = """
    outcome:
      - ABORTED
      - DISCARDED
      - {status: ERROR, message: boom}
      - COMPLETE_WARN
"""


@pytest.mark.anyio
async def test_every_final_status_reaches_the_client() -> None:
    text = DEMO.replace("rateLimit: 10 ", "rateLimit: 0 ")
    marker = "  - id: 789abcde-f012-3456-789a-bcdef0123456\n"
    start = text.index(marker)
    outcome_at = text.index("    outcome:", start)
    end = text.index("\n", outcome_at)
    text = text[:outcome_at] + SCRIPTED.strip("\n") + text[end:]
    sim = Simulator(parse_world(text, "demo_world.yaml"), time_scale=1000.0)
    seen = []
    async with _client(sim) as client:
        for _ in range(4):
            request_id = await client.submit(ResolvedRequest(process_id=ORDERS, atom_id=ATOM))
            record = None
            while record is None or not is_final_status(record.status):
                record = await client.get_record(request_id)
            seen.append((record.status, record.message))
    assert seen == [
        ("ABORTED", None),
        ("DISCARDED", None),
        ("ERROR", "boom"),
        ("COMPLETE_WARN", None),
    ]
