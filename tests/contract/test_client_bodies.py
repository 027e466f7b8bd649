"""Every request body the client sends, checked against the official OpenAPI subset.

Deviations from the OpenAPI document, each with its reason (boomi-platform-api.md §16):
- ExecutionRequest lists DynamicProcessProperties and ProcessProperties as required, but live
  clients (Boomi's own scripts included) omit them when empty and the platform accepts that
  (§5.1): the minimal body is checked with those two removed from ``required``.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator

from reconciler.boomi import wire
from reconciler.model import ResolvedRequest

OAS = json.loads(
    (Path(__file__).resolve().parents[1] / "sim" / "data" / "boomi-openapi-subset.json").read_text(
        encoding="utf-8"
    )
)


def _validator(name: str, *, relax: tuple[str, ...] = ()) -> Draft7Validator:
    components = copy.deepcopy(OAS["components"])
    schema = components["schemas"][name]
    schema["required"] = [r for r in schema.get("required", []) if r not in relax]
    return Draft7Validator({"$ref": f"#/components/schemas/{name}", "components": components})


FULL = ResolvedRequest(
    process_id="789abcde-f012-3456-789a-bcdef0123456",
    atom_id="3456789a-bcde-f012-3456-789abcdef012",
    dynamic_properties={"DPP_RUN_DATE": "2026-01-15", "DPP_EMPTY": ""},
    process_properties={"456789ab-cdef-0123-4567-89abcdef0123": {"batchSize": "500"}},
)


def _errors(validator: Draft7Validator, body: Any) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]


def test_full_execution_request_matches_the_schema() -> None:
    assert _errors(_validator("ExecutionRequest"), wire.execution_request_body(FULL)) == []


def test_minimal_execution_request_matches_with_the_documented_deviation() -> None:
    body = wire.execution_request_body(ResolvedRequest(process_id="p", atom_id="a"))
    relaxed = _validator(
        "ExecutionRequest", relax=("DynamicProcessProperties", "ProcessProperties")
    )
    assert _errors(relaxed, body) == []
    # and the deviation is real: the strict schema would demand the empty blocks
    assert _errors(_validator("ExecutionRequest"), body) != []


@pytest.mark.parametrize(
    "body",
    [
        wire.records_query(
            "p", "a", datetime(2026, 1, 15, 10, tzinfo=UTC), datetime(2026, 1, 15, 11, tzinfo=UTC)
        ),
        wire.execution_query("execution-1-2026.01.15"),
        wire.recent_records_query("p", datetime(2026, 1, 8, 10, tzinfo=UTC)),
    ],
    ids=["adoption window", "by executionId", "durations survey"],
)
def test_queries_match_the_query_config_schema(body: dict[str, Any]) -> None:
    assert _errors(_validator("ExecutionRecordQueryConfig"), body) == []
