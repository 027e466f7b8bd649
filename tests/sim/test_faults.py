"""Rate limiting, every fault kind, XML negotiation and the admin API (in-process)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from xml.etree import ElementTree as ET

import httpx
import pytest

from reconciler.sim.app import ConnectionDropped
from reconciler.sim.faults import FaultInjector, FaultRule
from reconciler.sim.world import demo_world
from tests.sim.helpers import (
    ACCOUNT,
    INVOICES,
    ORDERS,
    PROD_ATOM,
    Platform,
    demo_data,
    unlimited_demo,
)

pytestmark = pytest.mark.anyio

NS = {"bns": "http://api.platform.boomi.com/"}
RATE_LIMITED = {
    "@type": "Error",
    "message": (
        "The Boomi server is currently unavailable or your account's rate limits have been "
        "exceeded. Retry later."
    ),
}
RUN = {"atomId": PROD_ATOM, "processId": ORDERS}


def admin(platform: Platform) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=platform.transport, base_url="http://sim.test/_sim")


async def test_rate_limit_is_a_per_account_token_bucket(
    make_platform: Callable[..., Platform],
) -> None:
    platform = make_platform(demo_world())  # 10 requests per second
    async with platform.client() as client:
        codes = [(await client.get(f"/Atom/{PROD_ATOM}")).status_code for _ in range(12)]
        limited = await client.post("/ExecutionRequest", json=RUN)
        platform.clock.advance(0.1)  # one token back
        after = [(await client.post("/ExecutionRequest", json=RUN)).status_code for _ in range(2)]
    assert codes == [200] * 10 + [503] * 2
    assert limited.status_code == 503
    assert limited.json() == RATE_LIMITED
    assert after == [200, 503]
    assert len(platform.sim.runs) == 1  # rate-limited POSTs were not processed
    async with admin(platform) as a:
        stats = (await a.get("/stats")).json()
    assert stats["rateLimited"] == 4
    assert stats["requests"]["atom"] == {"200": 10, "503": 2}


async def test_a_503_burst_rejects_before_processing(platform: Platform) -> None:
    async with admin(platform) as a:
        installed = await a.post(
            "/faults",
            json={
                "faults": [
                    {"endpoint": "executionRequest", "kind": "error", "status": 503, "count": 2}
                ]
            },
        )
        assert installed.json()["faults"][0]["count"] == 2
        async with platform.client() as client:
            codes = [
                (await client.post("/ExecutionRequest", json=RUN)).status_code for _ in range(3)
            ]
            poll_ok = (await client.post("/ExecutionRecord/query", json={})).status_code
        stats = (await a.get("/stats")).json()
    assert codes == [503, 503, 200]
    assert poll_ok == 200
    assert len(platform.sim.runs) == 1
    assert stats["faults"] == {"executionRequest": {"error:503": 2}}
    assert stats["faultsInjected"] == 2


async def test_a_500_after_processing_still_creates_the_run(platform: Platform) -> None:
    platform.sim.set_faults(
        [
            FaultRule.model_validate(
                {
                    "endpoint": "executionRequest",
                    "kind": "error",
                    "status": 500,
                    "processed": True,
                    "count": 1,
                }
            )
        ]
    )
    async with platform.client() as client:
        response = await client.post("/ExecutionRequest", json=RUN)
    assert response.status_code == 500
    assert response.json() == {
        "@type": "Error",
        "message": "An internal server error occurred. Please try again later.",
    }
    assert len(platform.sim.runs) == 1


async def test_slow_responses_answer_normally(platform: Platform) -> None:
    platform.sim.set_faults([FaultRule.model_validate({"kind": "slow", "delay": 0.01, "count": 1})])
    async with platform.client() as client:
        response = await client.get(f"/Atom/{PROD_ATOM}")
    assert response.status_code == 200
    assert platform.sim.faults.injected == {"atom": {"slow": 1}}


async def test_malformed_bodies_are_truncated_after_processing(platform: Platform) -> None:
    platform.sim.set_faults(
        [
            FaultRule.model_validate(
                {"endpoint": "executionRequest", "kind": "malformed", "count": 1}
            )
        ]
    )
    async with platform.client() as client:
        response = await client.post("/ExecutionRequest", json=RUN)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    with pytest.raises(ValueError, match=r"Unterminated|Expecting"):
        response.json()
    assert len(platform.sim.runs) == 1


async def test_dropped_connection_in_process_raises_after_processing(platform: Platform) -> None:
    platform.sim.set_faults(
        [FaultRule.model_validate({"endpoint": "executionRequest", "kind": "drop", "count": 1})]
    )
    async with platform.client() as client:
        with pytest.raises(ConnectionDropped):
            await client.post("/ExecutionRequest", json=RUN)
        second = await client.post("/ExecutionRequest", json=RUN)
    assert second.status_code == 200
    assert len(platform.sim.runs) == 2
    async with admin(platform) as a:
        stats = (await a.get("/stats")).json()
    assert stats["requests"]["executionRequest"] == {"dropped": 1, "200": 1}


def test_fault_rates_are_deterministic_per_seed() -> None:
    rule = FaultRule.model_validate({"kind": "error", "rate": 0.3})
    draws = []
    for _ in range(2):
        injector = FaultInjector([rule], seed=5)
        draws.append([injector.pick("atom") is not None for _ in range(200)])
    assert draws[0] == draws[1]
    assert 30 < sum(draws[0]) < 90
    skip = FaultInjector(
        [FaultRule.model_validate({"kind": "drop", "after": 2, "count": 1})], seed=0
    )
    assert [skip.pick("atom") is not None for _ in range(5)] == [False, False, True, False, False]


async def test_faults_from_the_world_file_and_bad_fault_plans(
    make_platform: Callable[..., Platform],
) -> None:
    platform = make_platform(
        unlimited_demo(
            faults=[
                {"endpoint": "executionRecordAsync", "kind": "error", "status": 504, "count": 1}
            ]
        )
    )
    async with platform.client() as client:
        response = await client.get("/ExecutionRecord/async/executionrecord-x")
    assert response.status_code == 504
    async with admin(platform) as a:
        bad = await a.post("/faults", json=[{"endpoint": "nope", "kind": "drop"}])
    assert bad.status_code == 400
    assert bad.json()["error"].startswith("0.endpoint: Value error, unknown endpoint 'nope'")


# -- XML -----------------------------------------------------------------------------------


async def test_xml_is_the_default_response_format(platform: Platform) -> None:
    async with platform.client(accept=None) as client:
        posted = await client.post("/ExecutionRequest", json=RUN)
        root = ET.fromstring(posted.text)
        rid = root.get("requestId")
        pending = await client.get(f"/ExecutionRecord/async/{rid}")
        platform.advance(30)
        done = await client.get(
            f"/ExecutionRecord/async/{rid}", headers={"Accept": "application/xml"}
        )
        query = await client.post("/ExecutionRecord/query", json={})
        atom = await client.get(f"/Atom/{PROD_ATOM}")
        cancel = await client.post("/cancelExecution/execution-nope")
    assert posted.headers["content-type"] == "application/xml"
    assert root.tag == "{http://api.platform.boomi.com/}ExecutionRequest"
    assert root.get("processId") == ORDERS
    assert rid is not None
    assert rid.startswith("executionrecord-")
    assert ET.fromstring(pending.text).get("responseStatusCode") == "202"
    result = ET.fromstring(done.text)
    assert result.tag == "{http://api.platform.boomi.com/}AsyncOperationResult"
    assert result.findtext("bns:result/bns:status", namespaces=NS) == "COMPLETE"
    assert str(result.findtext("bns:result/bns:executionDuration", namespaces=NS)).isdigit()
    item = result.find("bns:result", NS)
    assert item is not None
    assert item.get("{http://www.w3.org/2001/XMLSchema-instance}type") == "bns:ExecutionRecord"
    listing = ET.fromstring(query.text)
    assert listing.get("numberOfResults") == "1"
    assert listing.findtext("bns:result/bns:processId", namespaces=NS) == ORDERS
    assert ET.fromstring(atom.text).get("status") == "ONLINE"
    # Errors stay JSON by default (§12.2 simulator default); xmlErrors switches them.
    assert cancel.headers["content-type"] == "application/json"


async def test_xml_request_bodies_and_xml_errors(make_platform: Callable[..., Platform]) -> None:
    platform = make_platform(unlimited_demo(switches={"xmlErrors": True}))
    body = (
        '<ExecutionRequest xmlns="http://api.platform.boomi.com/"'
        f' processId="{INVOICES}" atomId="{PROD_ATOM}">'
        "<DynamicProcessProperties>"
        '<DynamicProcessProperty name="DPP_RUN_MODE" value="full"/>'
        "</DynamicProcessProperties>"
        '<ProcessProperties><ProcessProperty componentId="c1">'
        '<ProcessPropertyValue key="k" value="v"/>'
        "</ProcessProperty></ProcessProperties>"
        "</ExecutionRequest>"
    )
    async with platform.client(accept="application/json") as client:
        response = await client.post(
            "/ExecutionRequest", content=body, headers={"Content-Type": "application/xml"}
        )
    async with platform.client(accept=None) as client:
        error = await client.post(
            "/ExecutionRequest", content="<Nope/>", headers={"Content-Type": "application/xml"}
        )
        ok = await client.post("/cancelExecution/" + platform.sim.runs[0].execution_id)
    assert response.status_code == 200
    assert response.json()["DynamicProcessProperties"]["DynamicProcessProperty"] == [
        {"@type": "", "name": "DPP_RUN_MODE", "value": "full"}
    ]
    assert platform.sim.runs[0].submission.properties() == {
        "dynamic": {"DPP_RUN_MODE": "full"},
        "process": {"c1": {"k": "v"}},
    }
    assert error.status_code == 400
    assert error.text.endswith(
        "<error><message>Invalid request: expected an ExecutionRequest element, got Nope."
        "</message></error>"
    )
    assert ok.status_code == 202
    assert ok.text.endswith(
        "<response><message>Operation completed successfully.</message></response>"
    )


# -- admin ---------------------------------------------------------------------------------


async def test_admin_submissions_runs_and_reset(platform: Platform) -> None:
    dpp = {"DynamicProcessProperties": {"DynamicProcessProperty": [{"name": "a", "value": "1"}]}}
    async with platform.client() as client:
        for extra in (dpp, dpp, {}):
            await client.post("/ExecutionRequest", json={**RUN, **extra})
        platform.advance(1.5)
    async with admin(platform) as a:
        submissions = (await a.get("/submissions")).json()
        runs = (await a.get("/runs")).json()
        reset = await a.post("/reset")
        after = (await a.get("/submissions")).json()
        stats = (await a.get("/stats")).json()
    first = submissions["submissions"][0]
    assert set(first) == {
        "index",
        "accountId",
        "requestId",
        "executionId",
        "processId",
        "atomId",
        "properties",
        "submittedAt",
        "simTime",
        "legacy",
    }
    assert first["properties"] == {"dynamic": {"a": "1"}, "process": {}}
    assert first["accountId"] == ACCOUNT
    assert submissions["counts"] == [
        {
            "processId": ORDERS,
            "atomId": PROD_ATOM,
            "properties": {"dynamic": {"a": "1"}, "process": {}},
            "count": 2,
        },
        {
            "processId": ORDERS,
            "atomId": PROD_ATOM,
            "properties": {"dynamic": {}, "process": {}},
            "count": 1,
        },
    ]
    assert [(r["recorded"], r["final"], r["finalStatus"]) for r in runs["runs"]] == [
        (True, False, "COMPLETE")
    ] * 3
    assert {r["status"] for r in runs["runs"]} <= {"STARTED", "INPROCESS"}
    assert set(runs["runs"][0]) == {
        "index",
        "accountId",
        "requestId",
        "executionId",
        "processId",
        "atomId",
        "status",
        "recorded",
        "final",
        "finalStatus",
        "endsAt",
    }
    assert reset.json() == {"reset": True, "world": "initial"}
    assert after == {"submissions": [], "counts": []}
    assert stats == {
        "requests": {},
        "total": 0,
        "rateLimited": 0,
        "faults": {},
        "faultsInjected": 0,
    }


async def test_admin_reset_with_a_new_world(platform: Platform) -> None:
    data: dict[str, Any] = demo_data()
    data["accounts"][0]["users"][0]["token"] = "new-token"
    async with admin(platform) as a:
        replaced = await a.post("/reset", json=data)
        bad = await a.post("/reset", json={"accounts": []})
    assert replaced.json() == {"reset": True, "world": "posted"}
    assert platform.sim.world.accounts[0].users[0].token == "new-token"
    assert bad.status_code == 400
    assert bad.json() == {
        "error": "reset: accounts: Tuple should have at least 1 item after validation, not 0"
    }
    async with platform.client() as client:
        assert (await client.get(f"/Atom/{PROD_ATOM}")).status_code == 401
