"""Every uncertain shape the simulator chooses, and the switch that picks the alternative.

One test per row of the table in docs/simulator.md ("Uncertain shapes") that is a world
switch, default first, then the variant; plus the admin routes that read and change switches
and record request bodies.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.sim.admin import RequestLog
from reconciler.sim.faults import FaultRule
from reconciler.sim.world import Switches, world_from_data
from tests.sim.helpers import ORDERS, PROD_ATOM, Platform, request_id, unlimited_demo, validate

pytestmark = pytest.mark.anyio

BY_ORDERS = {
    "QueryFilter": {
        "expression": {"operator": "EQUALS", "property": "processId", "argument": [ORDERS]}
    }
}


async def test_an_empty_query_matches_everything_by_default_and_can_be_refused(
    make_platform: Callable[..., Platform],
) -> None:
    """§9.1: GOSDK sends ``{"QueryFilter": {}}`` as "everything" (default); the OAS requires
    ``QueryFilter.expression`` (``emptyQuery: reject``)."""
    empties: list[dict[str, Any]] = [
        {"content": b""},
        {"json": {}},
        {"json": {"QueryFilter": {}}},
        {"json": {"QuerySort": {"sortField": [{"fieldName": "executionTime"}]}}},
    ]
    answers: dict[str, list[int]] = {}
    for mode in ("all", "reject"):
        platform = make_platform(unlimited_demo(switches={"emptyQuery": mode}))
        async with platform.client() as client:
            await request_id(client, ORDERS)
            platform.advance(2)
            statuses = []
            for empty in empties:
                response = await client.post("/ExecutionRecord/query", **empty)
                statuses.append(response.status_code)
                if response.status_code == 200:
                    assert response.json()["numberOfResults"] == 1
                else:
                    assert response.json() == {
                        "@type": "Error",
                        "message": "Invalid query: a QueryFilter with an expression is required.",
                    }
            filtered = await client.post("/ExecutionRecord/query", json=BY_ORDERS)
            assert filtered.json()["numberOfResults"] == 1
        answers[mode] = statuses
    assert answers == {"all": [200, 200, 200, 200], "reject": [400, 400, 400, 400]}


@pytest.mark.parametrize(
    ("accept", "content_type"),
    [("application/json", "application/json"), ("application/xml", "application/xml")],
)
async def test_the_empty_202_still_carries_the_negotiated_content_type(
    make_platform: Callable[..., Platform], accept: str, content_type: str
) -> None:
    """§6.3: a bare 202 may come with no envelope, but as an answer to a JSON (or XML) request."""
    platform = make_platform(unlimited_demo(switches={"asyncPending": "empty"}))
    async with platform.client(accept=accept) as client:
        rid = await request_id_any(client)
        pending = await client.get(f"/ExecutionRecord/async/{rid}")
    assert (pending.status_code, pending.content) == (202, b"")
    assert pending.headers["content-type"] == content_type
    assert pending.headers["content-length"] == "0"


async def request_id_any(client: httpx.AsyncClient) -> str:
    response = await client.post(
        "/ExecutionRequest",
        json={"atomId": PROD_ATOM, "processId": ORDERS},
        headers={"Accept": "application/json"},
    )
    return str(response.json()["requestId"])


async def test_the_async_record_wrapper_can_be_lean(
    make_platform: Callable[..., Platform],
) -> None:
    """§6.2: the wrapper's ``@type`` (Medium) and ``numberOfResults`` (Low-Medium) may be absent."""
    bodies = {}
    for mode in ("wrapper", "lean"):
        platform = make_platform(unlimited_demo(switches={"asyncRecord": mode}))
        async with platform.client() as client:
            rid = await request_id(client, ORDERS)
            platform.advance(1.5)
            bodies[mode] = (await client.get(f"/ExecutionRecord/async/{rid}")).json()
    assert {k for k in bodies["wrapper"] if k != "result"} == {
        "@type",
        "responseStatusCode",
        "numberOfResults",
    }
    assert {k for k in bodies["lean"] if k != "result"} == {"responseStatusCode"}
    for body in bodies.values():
        validate("ExecutionRecord", body["result"][0])


async def test_an_empty_query_result_may_carry_an_empty_list(
    make_platform: Callable[..., Platform],
) -> None:
    """§9.1: with no match, ``result`` may be missing (default) or ``[]`` (Medium)."""
    bodies = {}
    for mode in ("omit", "empty"):
        platform = make_platform(unlimited_demo(switches={"emptyResult": mode}))
        async with platform.client() as client:
            bodies[mode] = (await client.post("/ExecutionRecord/query", json=BY_ORDERS)).json()
    assert bodies == {
        "omit": {"@type": "QueryResult", "numberOfResults": 0},
        "empty": {"@type": "QueryResult", "numberOfResults": 0, "result": []},
    }
    validate("ExecutionRecordQueryResponse", bodies["empty"])


async def test_recorded_date_is_absent_while_running_unless_switched(
    make_platform: Callable[..., Platform],
) -> None:
    """§7: "absent while running" is an assumption (Low); ``always`` dates the last change."""
    seen: dict[str, list[Any]] = {}
    for mode in ("final", "always"):
        platform = make_platform(unlimited_demo(switches={"recordedDate": mode}))
        async with platform.client() as client:
            rid = await request_id(client, ORDERS)
            platform.advance(1.5)
            running = (await client.get(f"/ExecutionRecord/async/{rid}")).json()["result"][0]
            platform.advance(10)
            final = (await client.get(f"/ExecutionRecord/async/{rid}")).json()["result"][0]
        assert running["status"] in ("STARTED", "INPROCESS")
        assert final["status"] == "COMPLETE"
        run = platform.sim.runs[0]
        ends = platform.sim.wall(run.timeline.ends_at or 0).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert final["recordedDate"] == ends
        seen[mode] = [running.get("recordedDate"), running["executionTime"]]
    assert seen["final"][0] is None
    assert seen["always"][0] is not None
    assert seen["always"][0] >= seen["always"][1]  # written at or after the run began


async def test_long_fields_can_be_plain_numbers(make_platform: Callable[..., Platform]) -> None:
    """§4: a client must accept ``["Long", n]`` (default) and a plain number."""
    records = {}
    for mode in ("tuple", "number"):
        platform = make_platform(unlimited_demo(switches={"longFields": mode}))
        async with platform.client() as client:
            rid = await request_id(client, ORDERS)
            platform.advance(10)
            records[mode] = (await client.get(f"/ExecutionRecord/async/{rid}")).json()["result"][0]
    fields = ("executionDuration", "inboundDocumentSize", "outboundDocumentSize")
    assert all(records["tuple"][f][0] == "Long" for f in fields)
    assert [records["number"][f] for f in fields] == [records["tuple"][f][1] for f in fields]
    validate("ExecutionRecord", records["number"])


# -- admin: switches and the request log ---------------------------------------------------


async def test_switches_can_be_read_and_changed_until_the_next_reset(platform: Platform) -> None:
    async with platform.client() as client:
        admin = httpx.AsyncClient(transport=platform.transport, base_url="http://sim.test/_sim")
        async with admin:
            before = (await admin.get("/switches")).json()["switches"]
            changed = await admin.post("/switches", json={"emptyQuery": "reject"})
            refused = await client.post("/ExecutionRecord/query", json={})
            bad = await admin.post("/switches", json={"emptyQuery": "none"})
            not_object = await admin.post("/switches", json=["emptyQuery"])
            await admin.post("/reset")
            after = (await admin.get("/switches")).json()["switches"]
    assert before["emptyQuery"] == "all"
    assert changed.json()["switches"] == {**before, "emptyQuery": "reject"}
    assert refused.status_code == 400
    assert bad.status_code == 400
    assert bad.json()["error"] == "emptyQuery: Input should be 'all' or 'reject'"
    assert not_object.status_code == 400
    assert after == before


async def test_every_request_body_is_recorded_as_received(platform: Platform) -> None:
    async with platform.client() as client:
        await client.post("/ExecutionRecord/query", json=BY_ORDERS)
        await client.post(
            "/ExecutionRecord/queryMore", content=b"tok", headers={"Content-Type": "text/plain"}
        )
        await client.get("/ExecutionRecord/async/executionrecord-x")
        await client.post("/Nope", content=b"?")
        admin = httpx.AsyncClient(transport=platform.transport, base_url="http://sim.test/_sim")
        async with admin:
            log = (await admin.get("/requests")).json()
            await admin.post("/reset")
            cleared = (await admin.get("/requests")).json()
    rows = [(r["method"], r["path"], r["endpoint"], r["contentType"]) for r in log["requests"]]
    assert rows == [
        ("POST", "/ExecutionRecord/query", "executionRecordQuery", "application/json"),
        ("POST", "/ExecutionRecord/queryMore", "executionRecordQueryMore", "text/plain"),
        ("GET", "/ExecutionRecord/async/executionrecord-x", "executionRecordAsync", ""),
        ("POST", "/Nope", "unknown", ""),
    ]
    assert log["requests"][0]["body"] == httpx.Request("POST", "/", json=BY_ORDERS).content.decode()
    assert log["requests"][1]["body"] == "tok"
    assert (log["total"], log["dropped"]) == (4, 0)
    assert (cleared["requests"], cleared["total"]) == ([], 0)


def test_the_request_log_is_bounded_in_count_and_size() -> None:
    log = RequestLog(limit=2, body_limit=4)
    for i in range(3):
        log.record("POST", f"/p{i}", "", "e", "acct", "text/plain", b"0123456789"[: 3 + i])
    snapshot = log.snapshot()
    assert [(r["path"], r["body"], r["size"], r["truncated"]) for r in snapshot["requests"]] == [
        ("/p1", "0123", 4, False),
        ("/p2", "0123", 5, True),
    ]
    assert (snapshot["total"], snapshot["dropped"], snapshot["limit"]) == (3, 1, 2)


@pytest.mark.parametrize(
    ("mode", "body"),
    [
        ("typed", {"@type": "Error", "message": "Process nope does not exist."}),
        ("untyped", {"message": "Process nope does not exist."}),
        ("nested", {"error": {"message": "Process nope does not exist."}}),
    ],
)
async def test_error_bodies_take_each_documented_shape(
    make_platform: Callable[..., Platform], mode: str, body: dict[str, Any]
) -> None:
    """§12.2: observed ``@type: Error`` (default), the OAS examples' bare ``message``, and
    DOC-INTRO's nested ``error.message``."""
    platform = make_platform(unlimited_demo(switches={"errorBody": mode}))
    async with platform.client() as client:
        response = await client.post(
            "/ExecutionRequest", json={"atomId": PROD_ATOM, "processId": "nope"}
        )
    assert (response.status_code, response.json()) == (400, body)


async def test_the_execution_type_is_chosen_per_process(
    make_platform: Callable[..., Platform],
) -> None:
    """§7: API runs are "very probably" ``exec_manual`` (default); a world can say otherwise."""
    data = unlimited_demo().model_dump(by_alias=True, exclude_none=True, mode="json")
    data["processes"][0]["executionType"] = "exec_remote"
    platform = make_platform(world_from_data(data))
    async with platform.client() as client:
        rid = await request_id(client, ORDERS)
        platform.advance(1.5)
        record = (await client.get(f"/ExecutionRecord/async/{rid}")).json()["result"][0]
    assert record["executionType"] == "exec_remote"


@pytest.mark.parametrize(
    ("endpoint", "status", "message"),
    [
        ("executionRequest", 403, "Simulated fault (HTTP 403)."),  # §5.4: per-condition status
        ("executionRequest", 410, "Simulated fault (HTTP 410)."),  # §5.4: runtime offline
        ("executionRequest", 429, "Simulated fault (HTTP 429)."),  # §12.1: undocumented 429
        ("executionRecordAsync", 410, "Simulated fault (HTTP 410)."),  # §6.5: expired requestId
    ],
)
async def test_statuses_the_reference_leaves_open_are_fault_rules(
    platform: Platform, endpoint: str, status: int, message: str
) -> None:
    """Where only the status is in doubt, a fault rule answers it (rejected before any effect)."""
    rule = {"endpoint": endpoint, "kind": "error", "status": status, "count": 1}
    platform.sim.set_faults([FaultRule.model_validate(rule)])
    async with platform.client() as client:
        if endpoint == "executionRequest":
            response = await client.post(
                "/ExecutionRequest", json={"atomId": PROD_ATOM, "processId": ORDERS}
            )
            assert platform.sim.runs == []
        else:
            response = await client.get("/ExecutionRecord/async/executionrecord-x")
    assert (response.status_code, response.json()) == (
        status,
        {"@type": "Error", "message": message},
    )


def test_every_switch_is_in_the_table_of_uncertain_shapes_and_every_one_named_there_exists() -> (
    None
):
    doc = (Path(__file__).parents[2] / "docs" / "simulator.md").read_text(encoding="utf-8")
    table = doc.split("## Uncertain shapes", 1)[1].split("\n## ", 1)[0]
    named = re.findall(r"switch `(\w+): ([\w<>]+)`", table)
    for key, value in named:
        if value != "<n>":
            Switches.model_validate({key: {"true": True}.get(value, value)})  # raises if unknown
    fields = {f.alias or name for name, f in Switches.model_fields.items()}
    assert {key for key, _ in named} == fields
