"""The hostile-platform fault kinds: echo, echo_record, inject, poison and script (in-process)."""

from __future__ import annotations

import base64
import json
import urllib.parse
from collections.abc import Callable
from typing import Any
from xml.sax.saxutils import escape as xml_escape

import httpx
import pytest

from reconciler.sim.faults import FaultRule
from reconciler.sim.hostile import MARKER, PAYLOAD, POISON_DATE
from tests.sim.helpers import (
    INVENTORY,
    ORDERS,
    PROD_ATOM,
    Platform,
    request_id,
    unlimited_demo,
    validate,
)

pytestmark = pytest.mark.anyio

SECRET = 'hunter2 "quoted"\ttab  two spaces & <xml> +/='
RUN_WITH_SECRET = {
    "atomId": PROD_ATOM,
    "processId": ORDERS,
    "DynamicProcessProperties": {"DynamicProcessProperty": [{"name": "KEY", "value": SECRET}]},
}


def faults(platform: Platform, *rules: dict[str, Any]) -> None:
    platform.sim.set_faults([FaultRule.model_validate(rule) for rule in rules])


def admin(platform: Platform) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=platform.transport, base_url="http://sim.test/_sim")


async def final_record(platform: Platform, client: httpx.AsyncClient, rid: str) -> httpx.Response:
    platform.advance(30)
    return await client.get(f"/ExecutionRecord/async/{rid}")


def body_forms(raw: bytes) -> list[str]:
    text = raw.decode()
    return [
        text,
        json.dumps(text),
        urllib.parse.quote(text, safe=""),
        xml_escape(text),
        base64.b64encode(raw).decode(),
    ]


async def test_echo_quotes_the_request_body_in_every_encoding_and_runs_nothing(
    platform: Platform,
) -> None:
    faults(platform, {"endpoint": "executionRequest", "kind": "echo", "count": 1})
    raw = json.dumps(RUN_WITH_SECRET).encode()
    async with platform.client() as client:
        echoed = await client.post(
            "/ExecutionRequest", content=raw, headers={"Content-Type": "application/json"}
        )
        after = await client.post("/ExecutionRequest", json=RUN_WITH_SECRET)
    assert echoed.status_code == 400
    message = echoed.json()["message"]
    assert set(echoed.json()) == {"@type", "message"}
    for form in body_forms(raw):
        assert form in message
    assert after.status_code == 200
    assert len(platform.sim.runs) == 1  # the echoed submit had no effect
    assert platform.sim.faults.injected == {"executionRequest": {"echo:400": 1}}


async def test_echo_after_processing_with_another_status_and_on_a_get(
    platform: Platform,
) -> None:
    faults(
        platform,
        {"endpoint": "executionRequest", "kind": "echo", "status": 500, "processed": True},
        {"endpoint": "atom", "kind": "echo", "status": 403},
    )
    async with platform.client() as client:
        echoed = await client.post("/ExecutionRequest", json=RUN_WITH_SECRET)
        got = await client.get(f"/Atom/{PROD_ATOM}?x=1")
    assert echoed.status_code == 500
    assert SECRET.replace('"', '\\"').replace("\t", "\\t") in echoed.json()["message"]
    assert len(platform.sim.runs) == 1  # processed, then answered with the echo
    assert got.status_code == 403
    assert f"/Atom/{PROD_ATOM}?x=1" in got.json()["message"]


async def test_echo_record_ends_the_run_in_error_with_the_body_in_its_message(
    platform: Platform,
) -> None:
    faults(platform, {"endpoint": "executionRequest", "kind": "echo_record", "count": 1})
    async with platform.client() as client:
        submitted = await client.post("/ExecutionRequest", json=RUN_WITH_SECRET)
        assert submitted.status_code == 200
        rid = submitted.json()["requestId"]
        record = (await final_record(platform, client, rid)).json()["result"][0]
        normal = await request_id(client, ORDERS)
        other = (await final_record(platform, client, normal)).json()["result"][0]
    validate("ExecutionRecord", record)
    assert record["status"] == "ERROR"
    assert SECRET.replace('"', '\\"').replace("\t", "\\t") in record["message"]
    assert base64.b64encode(submitted.request.content).decode() in record["message"]
    assert other["status"] == "COMPLETE"  # count: 1
    assert platform.sim.runs[0].timeline.final_status == "ERROR"


async def test_echo_record_survives_a_runtime_coming_online_later(
    make_platform: Callable[..., Platform],
) -> None:
    platform = make_platform()
    platform.sim.set_runtime_status("demo-AB12CD", PROD_ATOM, online=False)
    faults(platform, {"endpoint": "executionRequest", "kind": "echo_record"})
    async with platform.client() as client:
        rid = await request_id(client, ORDERS)
        platform.sim.set_runtime_status("demo-AB12CD", PROD_ATOM, online=True)
        record = (await final_record(platform, client, rid)).json()["result"][0]
    assert record["status"] == "ERROR"
    assert record["message"].startswith("Invalid request: {")


async def test_inject_as_an_error_message(platform: Platform) -> None:
    faults(platform, {"endpoint": "executionRequest", "kind": "inject", "status": 400})
    async with platform.client() as client:
        response = await client.post("/ExecutionRequest", json=RUN_WITH_SECRET)
    assert response.status_code == 400
    assert response.json()["message"] == PAYLOAD
    assert len(platform.sim.runs) == 0
    for piece in ("\x1b]8;;", "\x1b[31m", "\x9b", "\n::error title=", "::add-mask::", "```"):
        assert piece in PAYLOAD
    assert "<script>" in PAYLOAD
    assert "@inj7e1f" in PAYLOAD


async def test_inject_into_record_fields_and_the_request_id(platform: Platform) -> None:
    faults(
        platform,
        {
            "endpoint": "executionRecordAsync",
            "kind": "inject",
            "fields": ["message", "status", "executionId"],
            "count": 1,
        },
        {"endpoint": "executionRequest", "kind": "inject", "fields": ["requestId"], "count": 1},
    )
    async with platform.client() as client:
        injected = (await client.post("/ExecutionRequest", json=RUN_WITH_SECRET)).json()
        rid = platform.sim.runs[0].request_id
        platform.advance(0.5)
        pending = await client.get(f"/ExecutionRecord/async/{rid}")  # 202: nothing to spoil
        record = (await final_record(platform, client, rid)).json()["result"][0]
        clean = (await client.get(f"/ExecutionRecord/async/{rid}")).json()["result"][0]
    assert injected["requestId"] == rid + PAYLOAD
    assert pending.status_code == 202
    assert record["message"] == PAYLOAD
    assert record["status"] == "COMPLETE" + PAYLOAD
    assert record["executionId"] == platform.sim.runs[0].execution_id + PAYLOAD
    assert clean["status"] == "COMPLETE"  # count: 1, and the 202 did not use it up
    assert platform.sim.faults.injected == {
        "executionRecordAsync": {"inject": 1},
        "executionRequest": {"inject": 1},
    }


async def test_inject_into_query_results_with_own_text(platform: Platform) -> None:
    faults(platform, {"endpoint": "executionRecordQuery", "kind": "inject", "text": "\x1b]0;x\x07"})
    async with platform.client() as client:
        rid = await request_id(client, ORDERS)
        await final_record(platform, client, rid)
        result = (await client.post("/ExecutionRecord/query", json={})).json()
    assert result["result"][0]["message"] == "\x1b]0;x\x07"


@pytest.mark.parametrize(
    ("target", "size", "check"),
    [
        ("date", None, lambda rec: rec["executionTime"] == POISON_DATE == rec["recordedDate"]),
        ("digitString", 5000, lambda rec: rec["executionDuration"] == "9" * 5000),
        ("huge", 3000, lambda rec: len(rec["message"]) == 3000 and MARKER in rec["message"]),
    ],
)
async def test_poisoned_records(
    platform: Platform, target: str, size: int | None, check: Callable[[dict[str, Any]], bool]
) -> None:
    faults(platform, {"endpoint": "executionRecordAsync", "kind": "poison", "target": target,
                      "size": size})  # fmt: skip
    async with platform.client() as client:
        rid = await request_id(client, ORDERS)
        record = (await final_record(platform, client, rid)).json()["result"][0]
    assert check(record)


async def test_poison_with_numbers_and_nesting_no_json_library_reads(platform: Platform) -> None:
    faults(
        platform,
        {"endpoint": "executionRecordAsync", "kind": "poison", "target": "digits", "count": 1},
        {"endpoint": "executionRecordAsync", "kind": "poison", "target": "deep", "count": 1},
    )
    async with platform.client() as client:
        rid = await request_id(client, ORDERS)
        digits = await final_record(platform, client, rid)
        deep = await client.get(f"/ExecutionRecord/async/{rid}")
    assert '"executionDuration":["Long",' + "9" * 5000 + "]" in digits.text
    with pytest.raises(ValueError, match="digits"):
        digits.json()  # Python's int limit (4,300 digits)
    assert '"message":' + "[" * 100_000 + "]" * 100_000 in deep.text
    with pytest.raises(RecursionError):
        deep.json()


@pytest.mark.parametrize(
    ("target", "size", "check"),
    [
        ("requestIdNewline", None, lambda rid: "\nX-Injected: " in rid),
        ("requestIdHuge", 100_000, lambda rid: len(rid) == 100_000),
    ],
)
async def test_poisoned_request_ids(
    platform: Platform, target: str, size: int | None, check: Callable[[str], bool]
) -> None:
    faults(platform, {"endpoint": "executionRequest", "kind": "poison", "target": target,
                      "size": size})  # fmt: skip
    async with platform.client() as client:
        response = await client.post("/ExecutionRequest", json=RUN_WITH_SECRET)
    assert response.status_code == 200
    assert check(response.json()["requestId"])
    assert len(platform.sim.runs) == 1  # the run exists under its real requestId


async def test_poisoned_request_id_as_a_huge_number(platform: Platform) -> None:
    faults(platform, {"endpoint": "executionRequest", "kind": "poison",
                      "target": "requestIdDigits", "size": 6000})  # fmt: skip
    async with platform.client() as client:
        response = await client.post("/ExecutionRequest", json=RUN_WITH_SECRET)
    assert '"requestId":' + "9" * 6000 + "," in response.text


async def test_script_serves_given_answers_for_the_next_calls_of_one_process(
    platform: Platform,
) -> None:
    faults(
        platform,
        {"endpoint": "executionRecordAsync", "kind": "script", "process": ORDERS,
         "status": 202, "body": {"weird": [1, None]}, "count": 2},
        {"endpoint": "executionRecordAsync", "kind": "script", "process": ORDERS,
         "raw": "not json \x00", "contentType": "text/plain", "count": 1},
        {"endpoint": "executionRequest", "kind": "script", "process": INVENTORY,
         "status": 500, "raw": "", "processed": True, "count": 1},
    )  # fmt: skip
    async with platform.client() as client:
        rid = await request_id(client, ORDERS)
        platform.advance(30)
        answers = [await client.get(f"/ExecutionRecord/async/{rid}") for _ in range(4)]
        inventory = await client.post(
            "/ExecutionRequest", json={"atomId": PROD_ATOM, "processId": INVENTORY}
        )
    assert [a.status_code for a in answers] == [202, 202, 200, 200]
    assert answers[0].json() == {"weird": [1, None]}
    assert answers[2].text == "not json \x00"
    assert answers[2].headers["content-type"].startswith("text/plain")
    assert answers[3].json()["result"][0]["status"] == "COMPLETE"
    assert inventory.status_code == 500
    assert inventory.content == b""
    assert len(platform.sim.runs) == 2  # processed: the INVENTORY run exists
    async with admin(platform) as a:
        stats = (await a.get("/stats")).json()
    assert stats["faults"] == {
        "executionRecordAsync": {"script:202": 2, "script:200": 1},
        "executionRequest": {"script:500": 1},
    }


async def test_process_matching_on_queries(platform: Platform) -> None:
    faults(platform, {"endpoint": "executionRecordQuery", "kind": "script", "process": ORDERS,
                      "body": {"@type": "QueryResult", "numberOfResults": 0}})  # fmt: skip

    def by_process(process: str) -> dict[str, Any]:
        term = {"operator": "EQUALS", "property": "processId", "argument": [process]}
        return {"QueryFilter": {"expression": {"operator": "and", "nestedExpression": [term]}}}

    async with platform.client() as client:
        rid = await request_id(client, ORDERS)
        await final_record(platform, client, rid)
        scripted = (await client.post("/ExecutionRecord/query", json=by_process(ORDERS))).json()
        other = (await client.post("/ExecutionRecord/query", json=by_process(INVENTORY))).json()
        unfiltered = (await client.post("/ExecutionRecord/query", json={})).json()
    assert scripted == {"@type": "QueryResult", "numberOfResults": 0}
    assert other == {"@type": "QueryResult", "numberOfResults": 0}  # faithful: no such runs
    assert unfiltered["numberOfResults"] == 1  # no process named: the rule does not match


@pytest.mark.parametrize(
    ("rule", "error"),
    [
        ({"kind": "poison", "target": "nope"}, "target: 'nope' is not a poison"),
        ({"kind": "inject", "fields": ["nope"]}, "fields: unknown nope"),
        ({"kind": "script", "body": {}, "raw": ""}, "body or raw, not both"),
        ({"kind": "echo", "status": 200}, "a echo fault answers 400-599"),
        ({"kind": "error", "status": 99}, "greater than or equal to 100"),
        ({"kind": "script", "status": 101}, "a script answers 200-599"),
    ],
)
async def test_bad_hostile_rules_are_refused(
    platform: Platform, rule: dict[str, Any], error: str
) -> None:
    async with admin(platform) as a:
        response = await a.post("/faults", json=[rule])
    assert response.status_code == 400
    assert error in response.json()["error"]


async def test_hostile_rules_from_a_world_file(make_platform: Callable[..., Platform]) -> None:
    platform = make_platform(
        unlimited_demo(
            faults=[{"endpoint": "executionRecordAsync", "kind": "poison", "target": "date"}]
        )
    )
    async with platform.client() as client:
        rid = await request_id(client, ORDERS)
        record = (await final_record(platform, client, rid)).json()["result"][0]
    assert record["executionTime"] == POISON_DATE


async def test_a_script_with_a_bodiless_status_sends_no_body(platform: Platform) -> None:
    faults(platform, {"endpoint": "executionRequest", "kind": "script", "status": 204,
                      "raw": '{"requestId": "x"}'})  # fmt: skip
    async with platform.client() as client:
        response = await client.post("/ExecutionRequest", json=RUN_WITH_SECRET)
    assert response.status_code == 204
    assert response.content == b""
