"""The async record and run lifecycles, offline runtimes, cancel and executeProcess (in-process)."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest

from tests.sim.helpers import (
    ACCOUNT,
    INVENTORY,
    INVOICES,
    ORDERS,
    PROD_ATOM,
    Platform,
    request_id,
    statuses_until_final,
    submit,
    unlimited_demo,
    validate,
    world_yaml,
)

pytestmark = pytest.mark.anyio

# -- async record and lifecycle ---------------------------------------------------------------


async def test_202_until_the_record_delay_then_the_wrapper(platform: Platform) -> None:
    async with platform.client() as client:
        rid = await request_id(client, ORDERS)
        pending = await client.get(f"/ExecutionRecord/async/{rid}")
        platform.advance(0.99)
        still = await client.get(f"/ExecutionRecord/async/{rid}")
        platform.advance(0.02)
        done = await client.get(f"/ExecutionRecord/async/{rid}")
    assert pending.status_code == 202
    assert pending.json() == {"@type": "AsyncOperationResult", "responseStatusCode": 202}
    assert still.status_code == 202
    assert done.status_code == 200
    body = done.json()
    assert (body["@type"], body["responseStatusCode"], body["numberOfResults"]) == (
        "AsyncOperationResult",
        200,
        1,
    )
    record = body["result"][0]
    validate("ExecutionRecord", record)
    assert record["status"] == "STARTED"
    assert re.fullmatch(r"execution-[0-9a-f-]{36}-\d{4}\.\d{2}\.\d{2}", record["executionId"])
    assert record["executionId"][10:46] != rid[16:], "executionId must not be derivable"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", record["executionTime"])
    assert "recordedDate" not in record
    assert "message" not in record
    assert record["executionDuration"] == ["Long", 10]  # running for 0.01 s so far


@pytest.mark.parametrize(
    ("process", "final", "message"),
    [
        (ORDERS, "COMPLETE", None),
        (
            INVOICES,
            "ERROR",
            "Connector error: SFTP host sftp.erp.example.com unreachable (connection timed out)",
        ),
        (INVENTORY, "COMPLETE_WARN", "2 of 340 documents had warnings"),
    ],
)
async def test_full_lifecycle_to_each_demo_final_status(
    platform: Platform, process: str, final: str, message: str | None
) -> None:
    async with platform.client() as client:
        rid = await request_id(client, process)
        seen = await statuses_until_final(platform, client, rid, step=0.05)
        record = (await client.get(f"/ExecutionRecord/async/{rid}")).json()["result"][0]
    assert seen == [None, "STARTED", "INPROCESS", final]
    validate("ExecutionRecord", record)
    assert record.get("message") == message
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", record["recordedDate"])
    assert record["executionDuration"][0] == "Long"
    assert record["executionDuration"][1] > 0
    assert record["processId"] == process
    assert record["atomId"] == PROD_ATOM
    assert record["atomName"] == "Prod Cloud Atom"
    assert record["account"] == ACCOUNT
    assert record["executionType"] == "exec_manual"


SCRIPTED = """\
seed: 11
accounts:
  - id: demo-AB12CD
    rateLimit: 0
    users: [{name: demo@example.com, token: 0f8e2c1a-5b7d-4e3f-9a6c-2d1b0e9f8a7c}]
environments: [{id: e1, name: Prod}]
runtimes:
  - {id: r1, name: Cluster, type: MOLECULE, environment: Prod, nodes: ["10_0_4_17", "10_0_4_18"]}
processes:
  - id: p1
    name: Scripted
    deployments: [Prod]
    recordDelay: 0.5
    enqueued: 1
    duration: {distribution: lognormal, median: 2, sigma: 0.5, max: 6}
    outcome:
      - COMPLETE
      - {status: ERROR, message: second run fails}
      - status: ABORTED
        steps:
          - {status: STARTED, seconds: 1}
          - {status: INPROCESS, seconds: 1}
          - {status: ABORTED_RECOVERING, seconds: 2}
      - DISCARDED
      - {status: COMPLETE, neverRecords: true}
"""


async def test_scripted_sequence_cycles_per_submission(
    make_platform: Callable[..., Platform],
) -> None:
    platform = make_platform(world_yaml(SCRIPTED))
    async with platform.client() as client:
        runs, rids = [], []
        for _ in range(4):
            rids.append(await request_id(client, "p1", "r1"))
            runs.append(await statuses_until_final(platform, client, rids[-1]))
        rids += [await request_id(client, "p1", "r1") for _ in range(2)]
        platform.advance(1000)
        never = await client.get(f"/ExecutionRecord/async/{rids[4]}")
        sixth = (await client.get(f"/ExecutionRecord/async/{rids[5]}")).json()["result"][0]
        second = (await client.get(f"/ExecutionRecord/async/{rids[1]}")).json()["result"][0]
    assert runs == [
        [None, "ENQUEUED", "STARTED", "INPROCESS", "COMPLETE"],
        [None, "ENQUEUED", "STARTED", "INPROCESS", "ERROR"],
        [None, "STARTED", "INPROCESS", "ABORTED_RECOVERING", "ABORTED"],
        [None, "ENQUEUED", "DISCARDED"],
    ]
    assert never.status_code == 202
    assert sixth["status"] == "COMPLETE"  # the cycle starts again
    assert second["message"] == "second run fails"
    assert re.fullmatch(r"10_0_4_1[78]\[execution-.*\]", second["nodeId"])


async def test_durations_are_deterministic_per_seed_and_submission(
    make_platform: Callable[..., Platform],
) -> None:
    def ends(platform: Platform) -> list[float | None]:
        return [run.timeline.ends_at for run in platform.sim.runs]

    results = []
    for _ in range(2):
        platform = make_platform(world_yaml(SCRIPTED))
        async with platform.client() as client:
            for _ in range(3):
                await request_id(client, "p1", "r1")
        results.append(ends(platform))
    assert results[0] == results[1]
    assert len(set(results[0])) == 3


async def test_bare_record_and_empty_202_switches(make_platform: Callable[..., Platform]) -> None:
    world = unlimited_demo(
        switches={"asyncPending": "empty", "asyncRecord": "bare", "errorBody": "nested"}
    )
    platform = make_platform(world)
    async with platform.client() as client:
        rid = await request_id(client, ORDERS)
        pending = await client.get(f"/ExecutionRecord/async/{rid}")
        platform.advance(1.5)
        done = await client.get(f"/ExecutionRecord/async/{rid}")
        missing = await client.get("/ExecutionRecord/async/executionrecord-nope")
    assert (pending.status_code, pending.content) == (202, b"")
    assert done.json()["@type"] == "ExecutionRecord"
    validate("ExecutionRecord", done.json())
    assert missing.json() == {
        "error": {"message": "No execution request found with id executionrecord-nope."}
    }


async def test_unknown_request_id_is_404(platform: Platform) -> None:
    async with platform.client() as client:
        response = await client.get("/ExecutionRecord/async/executionrecord-unknown")
    assert response.status_code == 404
    assert response.json() == {
        "@type": "Error",
        "message": "No execution request found with id executionrecord-unknown.",
    }


# -- offline runtimes -------------------------------------------------------------------------

OFFLINE = """\
accounts:
  - id: demo-AB12CD
    rateLimit: 0
    users: [{name: demo@example.com, token: 0f8e2c1a-5b7d-4e3f-9a6c-2d1b0e9f8a7c}]
environments: [{id: e1, name: Prod}]
runtimes:
  - {id: later, name: Later, environment: Prod, status: OFFLINE, onlineAfter: 10}
  - {id: never, name: Never, environment: Prod, status: OFFLINE}
processes:
  - {id: p1, name: P, deployments: [Prod], duration: 1, recordDelay: 1}
"""


async def test_offline_runtime_queues_until_it_comes_online(
    make_platform: Callable[..., Platform],
) -> None:
    platform = make_platform(world_yaml(OFFLINE))
    async with platform.client() as client:
        later = await request_id(client, "p1", "later")
        never = await request_id(client, "p1", "never")
        platform.advance(9)
        assert (await client.get(f"/ExecutionRecord/async/{later}")).status_code == 202
        atom = (await client.get("/Atom/later")).json()
        assert atom["status"] == "OFFLINE"
        platform.advance(2.5)
        assert (await client.get(f"/ExecutionRecord/async/{later}")).status_code == 200
        assert (await client.get("/Atom/later")).json()["status"] == "ONLINE"
        platform.advance(100)
        assert (await client.get(f"/ExecutionRecord/async/{never}")).status_code == 202
        # The admin API brings a runtime online; queued runs start from that moment.
        admin = httpx.AsyncClient(transport=platform.transport, base_url="http://sim.test/_sim")
        async with admin:
            flipped = await admin.post("/runtimes/never", json={"status": "ONLINE"})
        assert flipped.json() == {"atomId": "never", "status": "ONLINE"}
        platform.advance(1.01)
        assert (await client.get(f"/ExecutionRecord/async/{never}")).status_code == 200


async def test_offline_runtime_can_be_rejected_with_410(
    make_platform: Callable[..., Platform],
) -> None:
    world = world_yaml(OFFLINE + "switches: {offlineRuntime: reject}\n")
    platform = make_platform(world)
    async with platform.client() as client:
        response = await submit(client, "p1", "never")
    assert response.status_code == 410
    assert response.json() == {"@type": "Error", "message": "Atom never is currently offline."}
    assert platform.sim.runs == []


# -- cancel ---------------------------------------------------------------------------------


async def test_cancel_ends_the_run_aborted(platform: Platform) -> None:
    async with platform.client() as client:
        rid = await request_id(client, ORDERS)
        platform.advance(1.5)
        record = (await client.get(f"/ExecutionRecord/async/{rid}")).json()["result"][0]
        cancelled = await client.post(f"/cancelExecution/{record['executionId']}")
        after = (await client.get(f"/ExecutionRecord/async/{rid}")).json()["result"][0]
        again = await client.post(f"/cancelExecution/{record['executionId']}")
        unknown = await client.post("/cancelExecution/execution-nope-2026.01.01")
    assert cancelled.status_code == 202
    assert cancelled.json() == {"message": "Operation completed successfully."}
    assert after["status"] == "ABORTED"
    assert "recordedDate" in after
    validate("ExecutionRecord", after)
    assert again.status_code == 400
    assert (
        again.json()["message"]
        == f"Execution {record['executionId']} has already finished and cannot be cancelled."
    )
    assert unknown.status_code == 404


async def test_cancel_on_an_offline_runtime_is_an_error(
    make_platform: Callable[..., Platform],
) -> None:
    platform = make_platform(world_yaml(OFFLINE))
    async with platform.client() as client:
        await request_id(client, "p1", "never")
        execution_id = platform.sim.runs[0].execution_id
        response = await client.post(f"/cancelExecution/{execution_id}")
    assert response.status_code == 410
    assert (
        response.json()["message"]
        == f"Unable to cancel execution {execution_id}: Atom never is not running."
    )


# -- legacy executeProcess ----------------------------------------------------------------------


async def test_execute_process_returns_nothing_but_runs(platform: Platform) -> None:
    body = {
        "ProcessProperties": {
            "@type": "ProcessProperties",
            "ProcessProperty": [{"@type": "", "Name": "priority", "Value": "medium"}],
        },
        "processName": "Orders - Nightly Sync",
        "atomId": PROD_ATOM,
    }
    async with platform.client() as client:
        response = await client.post("/executeProcess", json=body)
        platform.advance(1.5)
        query = (await client.post("/ExecutionRecord/query", json={})).json()
    assert (response.status_code, response.content) == (200, b"")
    (run,) = platform.sim.runs
    assert run.legacy
    assert run.submission.properties() == {"dynamic": {"priority": "medium"}, "process": {}}
    assert query["result"][0]["processId"] == ORDERS
