"""Auth and ExecutionRequest: validation, the echo shape, not-deployed (in-process)."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import Any

import pytest

from reconciler.sim.world import world_from_data
from tests.sim.helpers import (
    ACCOUNT,
    CUSTOMERS,
    DEV_ATOM,
    ORDERS,
    PROD_ATOM,
    TOKEN,
    USER,
    Platform,
    demo_data,
    request_id,
    submit,
    validate,
)

pytestmark = pytest.mark.anyio

FORBIDDEN = {"@type": "Error", "message": "Access denied due to insufficient permissions."}
UNAUTHORIZED = {"@type": "Error", "message": "Unauthorized: invalid or missing credentials."}


# -- auth -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "auth",
    [
        None,
        (USER, "wrong-token"),
        ("demo@example.com", TOKEN),
        ("BOOMI_TOKEN.nobody@example.com", TOKEN),
    ],
)
async def test_bad_or_missing_credentials_get_401(
    platform: Platform, auth: tuple[str, str] | None
) -> None:
    async with platform.client(auth=auth) as client:
        response = await submit(client, ORDERS)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/json"
    assert response.json() == UNAUTHORIZED
    assert platform.sim.runs == []


async def test_garbage_authorization_header_gets_401(platform: Platform) -> None:
    async with platform.client(auth=None) as client:
        for header in (
            "Bearer abc",
            "Basic !!!",
            "Basic " + base64.b64encode(b"no-colon").decode(),
        ):
            response = await client.get("/Atom/x", headers={"Authorization": header})
            assert response.status_code == 401


async def test_user_without_access_to_the_account_gets_403(
    make_platform: Callable[..., Platform],
) -> None:
    data = demo_data()
    data["accounts"].append(
        {
            "id": "other-ZZ9999",
            "rateLimit": 0,
            "users": [{"name": "o@example.com", "password": "pw"}],
        }
    )
    platform = make_platform(world_from_data(data))
    async with platform.client() as client:
        other = await client.get("http://sim.test/api/rest/v1/other-ZZ9999/Atom/x")
        unknown = await client.get("http://sim.test/api/rest/v1/nope-000000/Atom/x")
    assert other.status_code == 403
    assert other.json() == FORBIDDEN
    assert unknown.status_code == 403
    # A plain user name + password works for the account that has it.
    async with platform.client(auth=("o@example.com", "pw")) as client:
        ok = await client.post(
            "http://sim.test/api/rest/v1/other-ZZ9999/ExecutionRecord/query", json={}
        )
        denied = await client.post("/ExecutionRecord/query", json={})
    assert ok.status_code == 200
    assert denied.status_code == 403


# -- ExecutionRequest -----------------------------------------------------------------------


async def test_execution_request_echoes_the_request_with_typed_nested_objects(
    platform: Platform,
) -> None:
    body = {
        "@type": "ExecutionRequest",
        "atomId": PROD_ATOM,
        "processId": ORDERS,
        "DynamicProcessProperties": {
            "DynamicProcessProperty": [
                {"name": "DPP_RUN_MODE", "value": "full"},
                {"name": "DPP_BATCH", "value": "2026-01-15"},
            ]
        },
        "ProcessProperties": {
            "ProcessProperty": [
                {
                    "componentId": "0a9b8c7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d",
                    "ProcessPropertyValue": [{"key": "anything-goes", "value": "42"}],
                }
            ]
        },
    }
    async with platform.client() as client:
        response = await client.post("/ExecutionRequest", json=body)
    assert response.status_code == 200
    echo = response.json()
    validate("ExecutionRequest", echo)
    rid = echo["requestId"]
    assert re.fullmatch(r"executionrecord-[0-9a-f-]{36}", rid)
    assert echo == {
        "@type": "ExecutionRequest",
        "DynamicProcessProperties": {
            "@type": "ExecutionRequestDynamicProcessProperties",
            "DynamicProcessProperty": [
                {"@type": "", "name": "DPP_RUN_MODE", "value": "full"},
                {"@type": "", "name": "DPP_BATCH", "value": "2026-01-15"},
            ],
        },
        "ProcessProperties": {
            "@type": "ExecutionRequestProcessProperties",
            "ProcessProperty": [
                {
                    "@type": "",
                    "componentId": "0a9b8c7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d",
                    "ProcessPropertyValue": [{"@type": "", "key": "anything-goes", "value": "42"}],
                }
            ],
        },
        "processId": ORDERS,
        "atomId": PROD_ATOM,
        "requestId": rid,
        "recordUrl": f"http://sim.test/api/rest/v1/{ACCOUNT}/ExecutionRecord/async/{rid}",
    }
    (run,) = platform.sim.runs
    assert run.submission.properties() == {
        "dynamic": {"DPP_RUN_MODE": "full", "DPP_BATCH": "2026-01-15"},
        "process": {"0a9b8c7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d": {"anything-goes": "42"}},
    }


async def test_minimal_request_echo_has_no_property_objects(platform: Platform) -> None:
    async with platform.client() as client:
        echo = (await submit(client, ORDERS)).json()
    validate("ExecutionRequest", echo)
    assert set(echo) == {"@type", "processId", "atomId", "requestId", "recordUrl"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"processId": ORDERS}, "Invalid request: atomId is required."),
        ({"atomId": PROD_ATOM}, "Invalid request: processId is required."),
        ({"atomId": PROD_ATOM, "processId": "nope"}, "Process nope does not exist."),
        ({"atomId": "nope", "processId": ORDERS}, "Atom nope does not exist."),
        (
            {"atomId": PROD_ATOM, "processId": CUSTOMERS},
            f"Process {CUSTOMERS} is not deployed to an environment attached to Atom {PROD_ATOM}.",
        ),
        ([1, 2], "Invalid request: the body must be an ExecutionRequest object."),
    ],
)
async def test_rejected_requests_get_400_and_start_nothing(
    platform: Platform, body: Any, message: str
) -> None:
    async with platform.client() as client:
        response = await client.post("/ExecutionRequest", json=body)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"@type": "Error", "message": message}
    assert platform.sim.runs == []


async def test_unparseable_body_is_400(platform: Platform) -> None:
    async with platform.client() as client:
        response = await client.post(
            "/ExecutionRequest", content=b"{not json", headers={"Content-Type": "application/json"}
        )
    assert response.json() == {
        "@type": "Error",
        "message": "Invalid request: body is not valid JSON.",
    }


async def test_customers_runs_on_the_dev_atom(platform: Platform) -> None:
    async with platform.client() as client:
        response = await submit(client, CUSTOMERS, DEV_ATOM)
    assert response.status_code == 200


async def test_every_post_starts_a_new_run(platform: Platform) -> None:
    async with platform.client() as client:
        first = await request_id(client, ORDERS)
        second = await request_id(client, ORDERS)
    assert first != second
    assert len(platform.sim.runs) == 2
