"""Every query body ``reconciler check`` sends, checked against the official OpenAPI subset.

No deviation: the lookups of boomi-platform-api.md §13 and the runs query of §9 validate as
the schema stands (``active`` is sent as the string ``"true"``: arguments are strings there).
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

OAS = json.loads(
    (Path(__file__).resolve().parents[1] / "sim" / "data" / "boomi-openapi-subset.json").read_text(
        encoding="utf-8"
    )
)
ATOM = "3456789a-bcde-f012-3456-789abcdef012"
PROCESS = "789abcde-f012-3456-789a-bcdef0123456"
ENVIRONMENT = "1a2b3c4d-0000-4000-8000-000000000001"


def _errors(schema: str, body: Any) -> list[str]:
    components = copy.deepcopy(OAS["components"])
    validator = Draft7Validator(
        {"$ref": f"#/components/schemas/{schema}", "components": components}
    )
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]


@pytest.mark.parametrize(
    ("schema", "body"),
    [
        ("EnvironmentAtomAttachmentQueryConfig", wire.attachments_query(ATOM)),
        ("DeployedPackageQueryConfig", wire.deployed_query(ENVIRONMENT, PROCESS)),
        (
            "ExecutionRecordQueryConfig",
            wire.runs_since_query(PROCESS, ATOM, datetime(2026, 1, 15, 10, tzinfo=UTC)),
        ),
    ],
    ids=["attachments of a runtime", "active deployment", "runs since"],
)
def test_check_queries_match_their_query_config_schema(schema: str, body: dict[str, Any]) -> None:
    assert _errors(schema, body) == []


def test_the_deployment_query_is_the_documented_one() -> None:
    terms = wire.deployed_query(ENVIRONMENT, PROCESS)["QueryFilter"]["expression"]
    assert terms["operator"] == "and"
    assert [(t["property"], t["operator"], t["argument"]) for t in terms["nestedExpression"]] == [
        ("environmentId", "EQUALS", [ENVIRONMENT]),
        ("componentId", "EQUALS", [PROCESS]),
        ("componentType", "EQUALS", ["process"]),
        ("active", "EQUALS", ["true"]),
    ]
