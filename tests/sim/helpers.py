"""Helpers for simulator tests: a fake clock, in-process clients, worlds and OAS validation.

Schema deviations (the one place they are listed; boomi-platform-api.md §6.2, §5.1, §4, §7,
§12.2, §16). Responses are validated against ``data/boomi-openapi-subset.json`` (a verbatim copy
of ``shared/reference/boomi-openapi-subset.json``) except where live behaviour is known to differ:

1. ``GET /ExecutionRecord/async/{id}`` 200 is an ``AsyncOperationResult`` wrapper whose
   ``result[0]`` is the ExecutionRecord (OAS says a bare record). We validate ``result[0]``.
2. Long fields (``executionDuration``, ``inboundDocumentSize``, ``outboundDocumentSize``) are
   ``["Long", n]`` tuples in JSON (OAS says integer). We unwrap them before validating.
3. ExecutionRecord omits empty optional fields (``message``, ``launcherID``, ``reportKey``,
   ``originalExecutionId``, ``parentExecutionId``, ``topLevelExecutionId``, ``nodeId``,
   ``recordedDate`` while running) although the OAS lists them as required. We drop
   ``required`` from the ExecutionRecord schema.
4. The ExecutionRequest echo has no ``DynamicProcessProperties`` / ``ProcessProperties`` when
   the request had none (OAS lists them as required). We drop ``required`` there too.
5. Error bodies carry ``"@type": "Error"`` (OAS examples show ``{"message": …}``); there is
   no Error schema to validate against, so error bodies are compared exactly instead.
"""

from __future__ import annotations

import copy
import json
import textwrap
from pathlib import Path
from typing import Any

import httpx
import jsonschema

from reconciler.sim.app import Simulator, create_app
from reconciler.sim.world import World, demo_world, parse_world, world_from_data

OAS_PATH = Path(__file__).parent / "data" / "boomi-openapi-subset.json"

ACCOUNT = "demo-AB12CD"
USER = "BOOMI_TOKEN.demo@example.com"
TOKEN = "0f8e2c1a-5b7d-4e3f-9a6c-2d1b0e9f8a7c"
PROD_ATOM = "3456789a-bcde-f012-3456-789abcdef012"
DEV_ATOM = "2345678a-bcde-f012-3456-789abcdef012"
ORDERS = "789abcde-f012-3456-789a-bcdef0123456"
INVOICES = "89abcdef-0123-4567-89ab-cdef01234567"
INVENTORY = "9abcdef0-1234-5678-9abc-def012345678"
CUSTOMERS = "abcdef01-2345-6789-abcd-ef0123456789"
PROD_ENV = "1a2b3c4d-0000-4000-8000-000000000001"
DEV_ENV = "1a2b3c4d-0000-4000-8000-000000000002"
LONG_FIELDS = ("executionDuration", "inboundDocumentSize", "outboundDocumentSize")


class FakeClock:
    """A monotonic clock that only moves when told to (real seconds)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def world_yaml(text: str) -> World:
    """A world from inline YAML (dedented), via the real loader path."""
    return parse_world(textwrap.dedent(text), "test.yaml")


def demo_data() -> dict[str, Any]:
    """The demo world as a plain document, for tests that tweak one setting."""
    return demo_world().model_dump(by_alias=True, exclude_none=True, mode="json")


def demo_with(**changes: Any) -> World:
    """The demo world with top-level keys replaced (e.g. ``switches={...}``)."""
    data = demo_data()
    data.update(changes)
    return world_from_data(data)


def unlimited_demo(**changes: Any) -> World:
    """The demo world without a rate limit (fake clocks never refill the bucket)."""
    data = demo_data()
    data["accounts"][0]["rateLimit"] = 0
    data.update(changes)
    return world_from_data(data)


class Platform:
    """An in-process client of one simulator, logged in as the demo user, JSON by default."""

    def __init__(self, sim: Simulator, clock: FakeClock) -> None:
        self.sim = sim
        self.clock = clock
        self.transport = httpx.ASGITransport(app=create_app(sim))
        self.base = f"http://sim.test/api/rest/v1/{ACCOUNT}"

    def client(
        self,
        *,
        auth: tuple[str, str] | None = (USER, TOKEN),
        accept: str | None = "application/json",
    ) -> httpx.AsyncClient:
        headers = {"Accept": accept} if accept else {}
        return httpx.AsyncClient(
            transport=self.transport, base_url=self.base, auth=auth, headers=headers
        )

    def advance(self, sim_seconds: float) -> None:
        self.clock.advance(sim_seconds / self.sim.time_scale)


# -- polling helpers ------------------------------------------------------------------------


async def submit(
    client: httpx.AsyncClient, process: str, atom: str = PROD_ATOM, **extra: Any
) -> httpx.Response:
    return await client.post(
        "/ExecutionRequest", json={"atomId": atom, "processId": process, **extra}
    )


async def request_id(client: httpx.AsyncClient, process: str, atom: str = PROD_ATOM) -> str:
    response = await submit(client, process, atom)
    assert response.status_code == 200, response.text
    return str(response.json()["requestId"])


async def statuses_until_final(
    platform: Platform, client: httpx.AsyncClient, rid: str, step: float = 0.25
) -> list[str | None]:
    """Poll every ``step`` simulated seconds; the distinct statuses seen (None = 202)."""
    seen: list[str | None] = []
    for _ in range(400):
        response = await client.get(f"/ExecutionRecord/async/{rid}")
        status = None if response.status_code == 202 else response.json()["result"][0]["status"]
        if not seen or seen[-1] != status:
            seen.append(status)
        if status in {"COMPLETE", "COMPLETE_WARN", "ERROR", "ABORTED", "DISCARDED"}:
            return seen
        platform.advance(step)
    raise AssertionError(f"never final: {seen}")


# -- OAS validation ------------------------------------------------------------------------

_OAS: dict[str, Any] = json.loads(OAS_PATH.read_text(encoding="utf-8"))


def _relaxed() -> dict[str, Any]:
    oas = copy.deepcopy(_OAS)
    schemas = oas["components"]["schemas"]
    schemas["ExecutionRecord"].pop("required", None)  # deviation 3
    schemas["ExecutionRequest"].pop("required", None)  # deviation 4
    return oas


_RELAXED = _relaxed()


def validate(schema_name: str, body: Any) -> None:
    """Validate ``body`` against ``components/schemas/<schema_name>`` (deviations applied)."""
    body = copy.deepcopy(body)
    for record in _records_in(body):
        for field in LONG_FIELDS:  # deviation 2
            value = record.get(field)
            if isinstance(value, list):
                assert value[0] == "Long", value
                record[field] = value[1]
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": _RELAXED["components"]}
    jsonschema.validate(body, schema)


def _records_in(body: Any) -> list[dict[str, Any]]:
    if isinstance(body, dict):
        if body.get("@type") == "ExecutionRecord":
            return [body]
        return [r for item in body.get("result", []) for r in _records_in(item)]
    return []
