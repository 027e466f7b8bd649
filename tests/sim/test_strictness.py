"""The simulator refuses what the platform's schema does not allow (issue 17, platform fidelity).

A query body with an unknown key, a malformed filter and a property value that is not a
string get a 400 with the platform's Error body (§12.2), and start nothing; both documented
forms of an ExecutionRequest without properties (blocks empty, or left out) are accepted.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.sim.helpers import ORDERS, PROD_ATOM, PROD_ENV, Platform, validate

pytestmark = pytest.mark.anyio


def simple(operator: str, prop: str, *args: Any) -> dict[str, Any]:
    return {"operator": operator, "property": prop, "argument": list(args)}


def where(expression: Any, **extra: Any) -> dict[str, Any]:
    return {"QueryFilter": {"expression": expression}, **extra}


BY_ORDERS = simple("EQUALS", "processId", ORDERS)
SORT = {"sortField": [{"fieldName": "executionTime", "sortOrder": "DESC"}]}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {**where(BY_ORDERS), "QueryFilters": {}},
            "Invalid query: unknown key 'QueryFilters' in QueryConfig; expected 'QueryFilter' "
            "or 'QuerySort'.",
        ),
        (
            {"QueryFilter": {"expression": BY_ORDERS, "limit": 5}},
            "Invalid query: unknown key 'limit' in QueryFilter; expected 'expression'.",
        ),
        (
            where({**BY_ORDERS, "arguments": [ORDERS]}),
            "Invalid query: unknown key 'arguments' in a simple expression; expected 'operator' "
            "or 'property' or 'argument'.",
        ),
        (
            where({"operator": "and", "nestedExpression": [BY_ORDERS], "property": "status"}),
            "Invalid query: unknown key 'property' in a grouping expression; expected "
            "'operator' or 'nestedExpression'.",
        ),
        (
            where(BY_ORDERS, QuerySort={**SORT, "limit": 1}),
            "Invalid query: unknown key 'limit' in QuerySort; expected 'sortField'.",
        ),
        (
            where(BY_ORDERS, QuerySort={"sortField": [{"fieldName": "executionTime", "o": 1}]}),
            "Invalid query: unknown key 'o' in a sortField item; expected 'fieldName' or "
            "'sortOrder'.",
        ),
    ],
    ids=["config", "filter", "simple", "grouping", "sort", "sort field"],
)
async def test_a_query_with_an_unknown_key_is_400(
    platform: Platform, body: dict[str, Any], message: str
) -> None:
    async with platform.client() as client:
        response = await client.post("/ExecutionRecord/query", json=body)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"@type": "Error", "message": message}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            where({"operator": "EQUALS", "property": "processId", "argument": ORDERS}),
            f'Invalid query: argument of processId must be a list of strings, got "{ORDERS}".',
        ),
        (
            where(simple("GREATER_THAN", "inboundDocumentCount", 5)),
            "Invalid query: arguments of inboundDocumentCount must be strings, got 5.",
        ),
        (
            where(simple("EQUALS", "status", None)),
            "Invalid query: arguments of status must be strings, got null.",
        ),
        (
            where(simple("EQUALS", "status", True)),
            "Invalid query: arguments of status must be strings, got true.",
        ),
        (
            where({"operator": "EQUALS", "argument": [ORDERS]}),
            "Invalid query: a simple expression needs a property.",
        ),
        (
            where({"property": "processId", "argument": [ORDERS]}),
            "Invalid query: the expression on processId needs an operator.",
        ),
        (
            where(simple("STARTS_WITH", "processName", "Orders")),
            "Invalid query: unknown operator 'STARTS_WITH' for ExecutionRecord.",
        ),
        (
            where({"operator": "or", "nestedExpression": BY_ORDERS}),
            "Invalid query: nestedExpression must be a list of expressions.",
        ),
        (
            {"QueryFilter": {"expression": None}},
            "Invalid query: an expression must be an object.",
        ),
        ({"QueryFilter": [BY_ORDERS]}, "Invalid query: QueryFilter must be an object."),
        (
            where(BY_ORDERS, QuerySort={"sortField": {"fieldName": "executionTime"}}),
            "Invalid query: QuerySort.sortField must be a list of sort fields.",
        ),
        (
            where(
                BY_ORDERS, QuerySort={"sortField": [{"fieldName": "executionTime", "sortOrder": 1}]}
            ),
            "Invalid query: sortOrder must be ASC or DESC, not 1.",
        ),
    ],
    ids=[
        "bare-string argument",
        "number argument",
        "null argument",
        "boolean on a string property",
        "no property",
        "no operator",
        "unknown operator",
        "nested not a list",
        "null expression",
        "filter not an object",
        "sortField not a list",
        "sortOrder not a string",
    ],
)
async def test_a_malformed_filter_is_400(
    platform: Platform, body: dict[str, Any], message: str
) -> None:
    async with platform.client() as client:
        response = await client.post("/ExecutionRecord/query", json=body)
    assert response.status_code == 400
    assert response.json() == {"@type": "Error", "message": message}


async def test_typed_query_objects_and_boolean_arguments_on_boolean_properties(
    platform: Platform,
) -> None:
    """``@type`` may type any request object (§4); KRX sends ``active`` as a boolean (§13)."""
    typed = {
        "@type": "QueryConfig",
        "QueryFilter": {
            "@type": "QueryFilter",
            "expression": {
                "@type": "GroupingExpression",
                "operator": "and",
                "nestedExpression": [
                    {"@type": "SimpleExpression", **simple("EQUALS", "environmentId", PROD_ENV)},
                    simple("EQUALS", "active", True),
                ],
            },
        },
    }
    async with platform.client() as client:
        response = await client.post("/DeployedPackage/query", json=typed)
    assert response.status_code == 200, response.text
    validate("DeployedPackageQueryResponse", response.json())
    assert response.json()["numberOfResults"] == 3


# -- ExecutionRequest -----------------------------------------------------------------------

EMPTY_BLOCKS = {
    "DynamicProcessProperties": {
        "@type": "ExecutionRequestDynamicProcessProperties",
        "DynamicProcessProperty": [],
    },
    "ProcessProperties": {"@type": "ExecutionRequestProcessProperties", "ProcessProperty": []},
}


@pytest.mark.parametrize("blocks", [EMPTY_BLOCKS, {}], ids=["empty blocks", "left out"])
async def test_a_request_without_properties_may_send_the_blocks_empty_or_leave_them_out(
    platform: Platform, blocks: dict[str, Any]
) -> None:
    body = {"@type": "ExecutionRequest", "atomId": PROD_ATOM, "processId": ORDERS, **blocks}
    async with platform.client() as client:
        response = await client.post("/ExecutionRequest", json=body)
    assert response.status_code == 200, response.text
    echo = response.json()
    validate("ExecutionRequest", echo)
    # §5.3: the echo repeats what was sent, typed; nothing is invented when it was left out.
    sent = {k: echo[k] for k in EMPTY_BLOCKS if k in echo}
    assert sent == (EMPTY_BLOCKS if blocks else {})
    (run,) = platform.sim.runs
    assert run.submission.properties() == {"dynamic": {}, "process": {}}


async def test_an_xml_request_with_empty_blocks_is_accepted(platform: Platform) -> None:
    body = (
        f'<ExecutionRequest xmlns="http://api.platform.boomi.com/" processId="{ORDERS}" '
        f'atomId="{PROD_ATOM}"><DynamicProcessProperties/><ProcessProperties/></ExecutionRequest>'
    )
    async with platform.client() as client:
        response = await client.post(
            "/ExecutionRequest", content=body, headers={"Content-Type": "application/xml"}
        )
    assert response.status_code == 200, response.text
    assert {k: response.json()[k] for k in EMPTY_BLOCKS} == EMPTY_BLOCKS


def dynamic(**item: Any) -> dict[str, Any]:
    return {"DynamicProcessProperties": {"DynamicProcessProperty": [item]}}


def process(value: dict[str, Any], component: Any = "c1") -> dict[str, Any]:
    return {
        "ProcessProperties": {
            "ProcessProperty": [{"componentId": component, "ProcessPropertyValue": [value]}]
        }
    }


@pytest.mark.parametrize(
    ("blocks", "message"),
    [
        (
            dynamic(name="DRY_RUN", value=True),
            "Invalid request: DynamicProcessProperties.DynamicProcessProperty[0].value must be a "
            "string, got true.",
        ),
        (
            dynamic(name="LIMIT", value=1.5),
            "Invalid request: DynamicProcessProperties.DynamicProcessProperty[0].value must be a "
            "string, got 1.5.",
        ),
        (
            dynamic(name="EMPTY", value=None),
            "Invalid request: DynamicProcessProperties.DynamicProcessProperty[0].value must be a "
            "string, got null.",
        ),
        (
            dynamic(name=7, value="x"),
            "Invalid request: DynamicProcessProperties.DynamicProcessProperty[0].name must be a "
            "string, got 7.",
        ),
        (
            process({"key": "batch", "value": 500}),
            "Invalid request: ProcessProperties.ProcessProperty[0].ProcessPropertyValue[0].value "
            "must be a string, got 500.",
        ),
        (
            process({"key": ["k"], "value": "v"}),
            "Invalid request: ProcessProperties.ProcessProperty[0].ProcessPropertyValue[0].key "
            'must be a string, got ["k"].',
        ),
        (
            process({"key": "k", "value": "v"}, component=12),
            "Invalid request: ProcessProperties.ProcessProperty[0].componentId must be a "
            "string, got 12.",
        ),
        (
            process({"key": "k", "value": "v", "useDefault": "false"}),
            "Invalid request: ProcessProperties.ProcessProperty[0].ProcessPropertyValue[0]"
            '.useDefault must be true or false, got "false".',
        ),
    ],
    ids=[
        "boolean value",
        "number value",
        "null value",
        "number name",
        "number process value",
        "list key",
        "number componentId",
        "string flag",
    ],
)
async def test_a_property_that_is_not_a_string_is_400_and_starts_nothing(
    platform: Platform, blocks: dict[str, Any], message: str
) -> None:
    """§5.1: all values are strings on the wire; ``str(True)`` is never stored as ``"True"``."""
    body = {"atomId": PROD_ATOM, "processId": ORDERS, **blocks}
    async with platform.client() as client:
        response = await client.post("/ExecutionRequest", json=body)
    assert response.status_code == 400
    assert response.json() == {"@type": "Error", "message": message}
    assert platform.sim.runs == []


async def test_a_legacy_property_that_is_not_a_string_is_400(platform: Platform) -> None:
    body = {
        "atomId": PROD_ATOM,
        "processId": ORDERS,
        "ProcessProperties": {"ProcessProperty": [{"Name": "DRY_RUN", "Value": False}]},
    }
    async with platform.client() as client:
        response = await client.post("/executeProcess", json=body)
    assert response.status_code == 400
    assert response.json() == {
        "@type": "Error",
        "message": "Invalid request: ProcessProperties.ProcessProperty[0].Value must be a "
        "string, got false.",
    }
    assert platform.sim.runs == []


async def test_xml_flags_are_booleans_and_anything_else_is_400(platform: Platform) -> None:
    """XML carries every attribute as text: ``useDefault="false"`` is the boolean (xsd:boolean)."""

    def body(flag: str) -> str:
        return (
            f'<ExecutionRequest xmlns="http://api.platform.boomi.com/" processId="{ORDERS}" '
            f'atomId="{PROD_ATOM}"><ProcessProperties><ProcessProperty componentId="c1">'
            f'<ProcessPropertyValue key="k" value="v" useDefault="{flag}"/>'
            "</ProcessProperty></ProcessProperties></ExecutionRequest>"
        )

    headers = {"Content-Type": "application/xml"}
    async with platform.client() as client:
        ok = await client.post("/ExecutionRequest", content=body("false"), headers=headers)
        bad = await client.post("/ExecutionRequest", content=body("no"), headers=headers)
    assert ok.status_code == 200, ok.text
    value = ok.json()["ProcessProperties"]["ProcessProperty"][0]["ProcessPropertyValue"][0]
    assert value == {"@type": "", "key": "k", "value": "v", "useDefault": False}
    assert bad.json() == {
        "@type": "Error",
        "message": "Invalid request: ProcessProperties.ProcessProperty[0].ProcessPropertyValue[0]"
        '.useDefault must be true or false, got "no".',
    }
    assert len(platform.sim.runs) == 1
