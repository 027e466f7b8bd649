"""Every request body the client builds, checked against the official OpenAPI subset as it is.

No deviations: the client sends ``DynamicProcessProperties`` and ``ProcessProperties`` even
when empty, as the schema requires (issue 17), so nothing is relaxed. The bodies of a whole
apply, as the simulator received them, are checked in ``test_recorded_apply``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from reconciler.boomi import wire
from reconciler.model import ResolvedRequest
from tests.contract import oas

FULL = ResolvedRequest(
    process_id="789abcde-f012-3456-789a-bcdef0123456",
    atom_id="3456789a-bcde-f012-3456-789abcdef012",
    dynamic_properties={"DPP_RUN_DATE": "2026-01-15", "DPP_EMPTY": ""},
    process_properties={"456789ab-cdef-0123-4567-89abcdef0123": {"batchSize": "500"}},
)


@pytest.mark.parametrize(
    "request_",
    [
        FULL,
        ResolvedRequest(process_id="p", atom_id="a"),
        ResolvedRequest(process_id="p", atom_id="a", dynamic_properties={"K": "v"}),
        ResolvedRequest(process_id="p", atom_id="a", process_properties={"c": {"k": "v"}}),
    ],
    ids=["both kinds", "no properties", "dynamic only", "process only"],
)
def test_execution_requests_match_the_schema_as_it_is(request_: ResolvedRequest) -> None:
    assert (
        oas.errors(oas.component("ExecutionRequest"), wire.execution_request_body(request_)) == []
    )


def test_the_schema_check_is_not_vacuous() -> None:
    """The body the client sent before issue 17 (blocks left out) fails the same check."""
    old = {"@type": "ExecutionRequest", "atomId": "a", "processId": "p"}
    assert oas.errors(oas.component("ExecutionRequest"), old) == [
        "[]: 'DynamicProcessProperties' is a required property",
        "[]: 'ProcessProperties' is a required property",
    ]
    bare = {"QueryFilter": {"expression": {"operator": "EQUALS", "property": "x", "argument": "y"}}}
    assert oas.errors(oas.component("ExecutionRecordQueryConfig"), bare) != []


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
    assert oas.errors(oas.component("ExecutionRecordQueryConfig"), body) == []


def test_the_repository_copy_is_the_reference_verbatim() -> None:
    if not oas.REFERENCE.is_file():
        pytest.skip(f"no reference beside the repository ({oas.REFERENCE})")
    assert oas.COPY.read_bytes() == oas.REFERENCE.read_bytes()
