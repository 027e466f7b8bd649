"""What `reconciler check` needs the simulator to express: privileges, runtime status, outside runs.

A user's ``privileges`` (world file) decide which endpoints answer 403; ``POST /_sim/runs``
starts a run as the platform's UI or a schedule would; a runtime's ``status`` shows on its Atom.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from reconciler.sim.world import WorldError, world_from_data
from tests.sim.helpers import (
    ACCOUNT,
    CUSTOMERS,
    ORDERS,
    PROD_ATOM,
    PROD_ENV,
    Platform,
    demo_data,
    submit,
)

pytestmark = pytest.mark.anyio

FORBIDDEN = {"@type": "Error", "message": "Access denied due to insufficient permissions."}
ATTACHED = {"QueryFilter": {"expression": {"operator": "EQUALS", "property": "atomId",
                                           "argument": [PROD_ATOM]}}}  # fmt: skip
DEPLOYED = {
    "QueryFilter": {
        "expression": {
            "operator": "and",
            "nestedExpression": [
                {"operator": "EQUALS", "property": "environmentId", "argument": [PROD_ENV]},
                {"operator": "EQUALS", "property": "componentId", "argument": [ORDERS]},
                {"operator": "EQUALS", "property": "componentType", "argument": ["process"]},
                {"operator": "EQUALS", "property": "active", "argument": ["true"]},
            ],
        }
    }
}


def _world(**user: Any) -> Any:
    data = demo_data()
    data["accounts"][0]["rateLimit"] = 0
    data["accounts"][0]["users"][0].update(user)
    return world_from_data(data)


async def _answers(platform: Platform) -> dict[str, int]:
    """The status of one call to each endpoint family, as the demo user."""
    async with platform.client() as client:
        return {
            "submit": (await submit(client, ORDERS)).status_code,
            "records": (await client.post("/ExecutionRecord/query", json={})).status_code,
            "atom": (await client.get(f"/Atom/{PROD_ATOM}")).status_code,
            "attachments": (
                await client.post("/EnvironmentAtomAttachment/query", json=ATTACHED)
            ).status_code,
            "packages": (await client.post("/DeployedPackage/query", json=DEPLOYED)).status_code,
        }


async def test_a_user_without_privileges_listed_may_use_every_endpoint(
    make_platform: Callable[..., Platform],
) -> None:
    platform = make_platform(_world())
    assert set((await _answers(platform)).values()) == {200}


@pytest.mark.parametrize(
    ("privileges", "expected"),
    [
        (
            ["API", "VIEW_RESULT", "ATOM_MANAGEMENT_READ_ONLY"],
            {"submit": 403, "records": 200, "atom": 200, "attachments": 200, "packages": 403},
        ),
        (
            ["API", "EXECUTE", "DEPLOY", "ATOM_MANAGEMENT"],
            {"submit": 200, "records": 403, "atom": 200, "attachments": 200, "packages": 200},
        ),
        (
            ["EXECUTE", "VIEW_RESULT", "ATOM_MANAGEMENT", "DEPLOY"],  # no API: nothing at all
            {"submit": 403, "records": 403, "atom": 403, "attachments": 403, "packages": 403},
        ),
    ],
)
async def test_an_endpoint_needs_api_and_its_own_privilege(
    make_platform: Callable[..., Platform], privileges: list[str], expected: dict[str, int]
) -> None:
    platform = make_platform(_world(privileges=privileges))
    assert await _answers(platform) == expected
    # A refused submit started nothing.
    assert len(platform.sim.runs) == (1 if expected["submit"] == 200 else 0)


async def test_a_denied_endpoint_answers_the_documented_403(
    make_platform: Callable[..., Platform],
) -> None:
    platform = make_platform(_world(privileges=["API"]))
    async with platform.client() as client:
        response = await client.post("/DeployedPackage/query", json=DEPLOYED)
    assert response.status_code == 403
    assert response.json() == FORBIDDEN


def test_an_unknown_privilege_is_a_located_world_error() -> None:
    data = demo_data()
    data["accounts"][0]["users"][0]["privileges"] = ["API", "EXECUTE_ALL"]
    with pytest.raises(WorldError) as info:
        world_from_data(data)
    message = str(info.value)
    assert "accounts[0].users[0].privileges[1]" in message
    assert "'EXECUTE_ALL'" in message
    assert "'ATOM_MANAGEMENT_READ_ONLY'" in message


@pytest.mark.parametrize("status", ["OFFLINE", "WARNING", "UNKNOWN"])
async def test_the_atom_shows_the_runtime_status_of_the_world(
    make_platform: Callable[..., Platform], status: str
) -> None:
    data = demo_data()
    data["accounts"][0]["rateLimit"] = 0
    data["runtimes"][0]["status"] = status
    platform = make_platform(world_from_data(data))
    async with platform.client() as client:
        atom = (await client.get(f"/Atom/{PROD_ATOM}")).json()
        queried = (
            await client.post(
                "/Atom/query",
                json={"QueryFilter": {"expression": {"operator": "EQUALS", "property": "status",
                                                     "argument": [status]}}},
            )
        ).json()  # fmt: skip
    assert atom["status"] == status
    assert [a["id"] for a in queried["result"]] == [PROD_ATOM]


async def test_a_run_started_outside_the_client_is_seen_by_query(platform: Platform) -> None:
    admin = httpx.AsyncClient(transport=platform.transport, base_url="http://sim.test/_sim")
    async with admin:
        started = await admin.post(
            "/runs",
            json={"processId": ORDERS, "atomId": PROD_ATOM, "executionType": "exec_sched"},
        )
        refused = await admin.post("/runs", json={"processId": CUSTOMERS, "atomId": PROD_ATOM})
        bad = await admin.post("/runs", json={"processId": ORDERS})
        listed = (await admin.get("/runs")).json()
    assert started.status_code == 200, started.text
    execution_id = started.json()["executionId"]
    assert started.json()["accountId"] == ACCOUNT
    assert refused.status_code == 400
    assert "is not deployed to an environment attached to" in refused.json()["error"]
    assert bad.status_code == 400
    assert [run["executionId"] for run in listed["runs"]] == [execution_id]
    platform.advance(2)  # past the record delay
    async with platform.client() as client:
        records = (await client.post("/ExecutionRecord/query", json={})).json()["result"]
    assert [(r["executionId"], r["executionType"]) for r in records] == [
        (execution_id, "exec_sched")
    ]
