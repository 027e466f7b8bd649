"""ExecutionRecord QUERY / queryMore (the §9 grammar and paging) and the runtime lookups."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.sim.helpers import (
    ACCOUNT,
    CUSTOMERS,
    DEV_ATOM,
    DEV_ENV,
    INVENTORY,
    INVOICES,
    ORDERS,
    PROD_ATOM,
    PROD_ENV,
    Platform,
    unlimited_demo,
    validate,
)

pytestmark = pytest.mark.anyio


def simple(operator: str, prop: str, *args: Any) -> dict[str, Any]:
    return {"operator": operator, "property": prop, "argument": list(args)}


def where(expression: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"QueryFilter": {"expression": expression}, **extra}


async def run_some(platform: Platform, client: httpx.AsyncClient) -> list[dict[str, Any]]:
    """Orders, Invoices, Inventory on Prod, Customers on Dev, one second apart; all final."""
    for process, atom in (
        (ORDERS, PROD_ATOM),
        (INVOICES, PROD_ATOM),
        (INVENTORY, PROD_ATOM),
        (CUSTOMERS, DEV_ATOM),
    ):
        response = await client.post(
            "/ExecutionRequest", json={"atomId": atom, "processId": process}
        )
        assert response.status_code == 200
        platform.advance(1)
    platform.advance(10)
    body = (await client.post("/ExecutionRecord/query", json={})).json()
    return list(body["result"])


async def ids(client: httpx.AsyncClient, body: dict[str, Any]) -> list[str]:
    response = await client.post("/ExecutionRecord/query", json=body)
    assert response.status_code == 200, response.text
    validate("ExecutionRecordQueryResponse", response.json())
    return [r["processId"] for r in response.json().get("result", [])]


async def test_query_grammar(platform: Platform) -> None:
    async with platform.client() as client:
        records = await run_some(platform, client)
        times = [r["executionTime"] for r in records]
        assert [r["processId"] for r in records] == [ORDERS, INVOICES, INVENTORY, CUSTOMERS]
        assert await ids(client, where(simple("EQUALS", "status", "ERROR"))) == [INVOICES]
        assert await ids(client, where(simple("NOT_EQUALS", "atomId", PROD_ATOM))) == [CUSTOMERS]
        assert await ids(client, where(simple("LIKE", "processName", "%- Nightly%"))) == [ORDERS]
        assert await ids(client, where(simple("LIKE", "processName", "Inv%"))) == [
            INVOICES,
            INVENTORY,
        ]
        assert await ids(client, where(simple("CONTAINS", "processName", "Merge"))) == [CUSTOMERS]
        assert await ids(client, where(simple("NOT_CONTAINS", "processName", "In"))) == [
            ORDERS,
            CUSTOMERS,
        ]
        assert await ids(client, where(simple("IS_NOT_NULL", "message"))) == [INVOICES, INVENTORY]
        assert await ids(client, where(simple("IS_NULL", "message"))) == [ORDERS, CUSTOMERS]
        assert await ids(client, where(simple("BETWEEN", "executionTime", times[1], times[2]))) == [
            INVOICES,
            INVENTORY,
        ]
        assert await ids(client, where(simple("GREATER_THAN", "executionTime", times[2]))) == [
            CUSTOMERS
        ]
        assert await ids(
            client, where(simple("GREATER_THAN_OR_EQUAL", "executionTime", times[2]))
        ) == [INVENTORY, CUSTOMERS]
        assert await ids(client, where(simple("LESS_THAN", "executionTime", times[1]))) == [ORDERS]
        assert await ids(
            client, where(simple("LESS_THAN_OR_EQUAL", "executionTime", times[1]))
        ) == [ORDERS, INVOICES]
        assert await ids(client, where(simple("GREATER_THAN", "inboundDocumentCount", "50"))) == [
            INVENTORY,
            CUSTOMERS,
        ]
        assert await ids(
            client, where(simple("EQUALS", "executionId", records[0]["executionId"]))
        ) == [ORDERS]
        nested = {
            "operator": "or",
            "nestedExpression": [
                {
                    "operator": "and",
                    "nestedExpression": [
                        simple("EQUALS", "processId", ORDERS),
                        simple("EQUALS", "atomId", PROD_ATOM),
                    ],
                },
                simple("EQUALS", "status", "COMPLETE_WARN"),
            ],
        }
        assert await ids(client, where(nested)) == [ORDERS, INVENTORY]
        newest_first = {
            "QuerySort": {"sortField": [{"fieldName": "executionTime", "sortOrder": "DESC"}]}
        }
        assert await ids(client, newest_first) == [CUSTOMERS, INVENTORY, INVOICES, ORDERS]
        assert await ids(client, {"QueryFilter": {}}) == [ORDERS, INVOICES, INVENTORY, CUSTOMERS]
        empty = (
            await client.post(
                "/ExecutionRecord/query", json=where(simple("EQUALS", "status", "DISCARDED"))
            )
        ).json()
    assert empty == {"@type": "QueryResult", "numberOfResults": 0}


async def test_records_appear_in_queries_only_once_recorded(platform: Platform) -> None:
    async with platform.client() as client:
        await client.post("/ExecutionRequest", json={"atomId": PROD_ATOM, "processId": ORDERS})
        before = (await client.post("/ExecutionRecord/query", json={})).json()
        platform.advance(1.5)
        after = (await client.post("/ExecutionRecord/query", json={})).json()
    assert before["numberOfResults"] == 0
    assert after["numberOfResults"] == 1
    assert after["result"][0]["status"] in ("STARTED", "INPROCESS")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            where(simple("EQUALS", "requestId", "x")),
            "Invalid query: unknown property 'requestId' for ExecutionRecord.",
        ),
        (
            where(simple("STARTS_WITH", "status", "x")),
            "Invalid query: unknown operator 'STARTS_WITH' for ExecutionRecord.",
        ),
        (
            where(simple("BETWEEN", "executionTime", "2026-01-01T00:00:00Z")),
            "Invalid query: operator BETWEEN on executionTime takes 2 argument(s), got 1.",
        ),
        (
            where(simple("IS_NULL", "message", "x")),
            "Invalid query: operator IS_NULL on message takes 0 argument(s), got 1.",
        ),
        (
            where(simple("EQUALS", "status")),
            "Invalid query: operator EQUALS on status takes 1 argument(s), got 0.",
        ),
        (
            where(simple("GREATER_THAN", "executionTime", "yesterday")),
            "Invalid query: executionTime needs a date yyyy-MM-ddTHH:mm:ssZ, got 'yesterday'.",
        ),
        (
            where({"operator": "AND", "nestedExpression": []}),
            "Invalid query: grouping operator must be 'and' or 'or', not 'AND'.",
        ),
        (
            {"QuerySort": {"sortField": [{"fieldName": "bogus"}]}},
            "Invalid query: cannot sort ExecutionRecord by 'bogus'.",
        ),
        ([], "Invalid query: the body must be a QueryConfig object."),
    ],
)
async def test_bad_filters_are_400(platform: Platform, body: Any, message: str) -> None:
    async with platform.client() as client:
        response = await client.post("/ExecutionRecord/query", json=body)
    assert response.status_code == 400
    assert response.json() == {"@type": "Error", "message": message}


async def test_paging_across_more_than_100_records(make_platform: Callable[..., Platform]) -> None:
    platform = make_platform(unlimited_demo())
    async with platform.client() as client:
        for _ in range(230):
            await client.post("/ExecutionRequest", json={"atomId": PROD_ATOM, "processId": ORDERS})
            platform.advance(0.01)
        platform.advance(2)
        first = (
            await client.post(
                "/ExecutionRecord/query", json=where(simple("EQUALS", "processId", ORDERS))
            )
        ).json()
        # Raw token, text/plain (OAS form).
        second = (
            await client.post(
                "/ExecutionRecord/queryMore",
                content=first["queryToken"],
                headers={"Content-Type": "text/plain"},
            )
        ).json()
        # JSON-quoted token with surrounding whitespace, JSON content type (CICD form).
        third = (
            await client.post(
                "/ExecutionRecord/queryMore",
                content=f' "{second["queryToken"]}"\n',
                headers={"Content-Type": "application/json"},
            )
        ).json()
        reused = await client.post("/ExecutionRecord/queryMore", content=first["queryToken"])
    validate("ExecutionRecordQueryResponse", first)
    validate("ExecutionRecordQueryResponse", second)
    assert (first["numberOfResults"], second["numberOfResults"], third["numberOfResults"]) == (
        100,
        100,
        30,
    )
    assert "queryToken" in second
    assert "queryToken" not in third
    seen = [r["executionId"] for page in (first, second, third) for r in page["result"]]
    assert seen == [run.execution_id for run in platform.sim.runs]
    assert reused.status_code == 400
    assert reused.json() == {"@type": "Error", "message": "Invalid query token."}


async def test_number_of_results_can_be_the_total(make_platform: Callable[..., Platform]) -> None:
    platform = make_platform(unlimited_demo(switches={"numberOfResults": "total", "pageSize": 2}))
    async with platform.client() as client:
        for _ in range(3):
            await client.post("/ExecutionRequest", json={"atomId": PROD_ATOM, "processId": ORDERS})
        platform.advance(2)
        first = (await client.post("/ExecutionRecord/query", json={})).json()
    assert first["numberOfResults"] == 3
    assert len(first["result"]) == 2


# -- runtime / deployment lookups ---------------------------------------------------------------


async def test_atom_get_and_query(platform: Platform) -> None:
    async with platform.client() as client:
        atom = await client.get(f"/Atom/{PROD_ATOM}")
        missing = await client.get("/Atom/nope")
        by_name = await client.post("/Atom/query", json=where(simple("EQUALS", "name", "Dev Atom")))
    validate("Atom", atom.json())
    assert {k: atom.json()[k] for k in ("@type", "id", "name", "status", "type")} == {
        "@type": "Atom",
        "id": PROD_ATOM,
        "name": "Prod Cloud Atom",
        "status": "ONLINE",
        "type": "CLOUD",
    }
    assert missing.status_code == 404
    validate("AtomQueryResponse", by_name.json())
    assert [a["id"] for a in by_name.json()["result"]] == [DEV_ATOM]


async def test_deployment_precheck_chain(platform: Platform) -> None:
    """The KRX pre-check (§13): attachment by atomId, then active DeployedPackage in that env."""
    async with platform.client() as client:
        attachments = (
            await client.post(
                "/EnvironmentAtomAttachment/query",
                json=where(simple("EQUALS", "atomId", PROD_ATOM)),
            )
        ).json()
        validate("EnvironmentAtomAttachmentQueryResponse", attachments)
        (attachment,) = attachments["result"]
        assert attachment["environmentId"] == PROD_ENV
        packages_query = where(
            {
                "operator": "and",
                "nestedExpression": [
                    {"operator": "EQUALS", "property": "environmentId", "argument": [PROD_ENV]},
                    {"operator": "EQUALS", "property": "componentType", "argument": ["process"]},
                    {"operator": "EQUALS", "property": "active", "argument": [True]},
                ],
            }
        )
        packages = (await client.post("/DeployedPackage/query", json=packages_query)).json()
        customers = (
            await client.post(
                "/DeployedPackage/query",
                json=where(simple("EQUALS", "componentName", "Customers - Merge")),
            )
        ).json()
        one = await client.get(f"/DeployedPackage/{customers['result'][0]['deploymentId']}")
        envs = (await client.post("/Environment/query", json={})).json()
        env = await client.get(f"/Environment/{DEV_ENV}")
    validate("DeployedPackageQueryResponse", packages)
    assert sorted(p["componentId"] for p in packages["result"]) == sorted(
        [ORDERS, INVOICES, INVENTORY]
    )
    assert [p["environmentId"] for p in customers["result"]] == [DEV_ENV]
    validate("DeployedPackage", one.json())
    validate("EnvironmentQueryResponse", envs)
    assert env.json() == {
        "@type": "Environment",
        "id": DEV_ENV,
        "name": "Development",
        "classification": "TEST",
    }


async def test_unknown_paths_and_methods(platform: Platform) -> None:
    async with platform.client() as client:
        unknown = await client.get("/NoSuchObject/1")
        wrong_method = await client.get("/ExecutionRequest")
    assert unknown.status_code == 404
    assert unknown.json() == {
        "@type": "Error",
        "message": f"Unknown endpoint: GET /api/rest/v1/{ACCOUNT}/NoSuchObject/1",
    }
    assert wrong_method.status_code == 405
