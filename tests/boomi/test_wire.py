"""Every response variant boomi-platform-api.md lists parses to the same typed value."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from reconciler.boomi import wire
from reconciler.errors import ProtocolError
from reconciler.model import PlatformRecord, ResolvedRequest

RECORD = {
    "@type": "ExecutionRecord",
    "executionId": "execution-5e0c1d2a-7b3f-4a8e-9c6d-1f2e3a4b5c6d-2026.01.15",
    "account": "acme-AB12CD",
    "executionTime": "2026-01-15T10:04:12Z",
    "status": "COMPLETE",
    "executionType": "exec_manual",
    "processName": "Orders - Nightly Sync",
    "processId": "c7d2e8f4-1b3a-4d5e-8f90-a1b2c3d4e5f6",
    "atomName": "Prod Atom 01",
    "atomId": "3f6b0c2e-5a41-4c1e-9b7d-2f1a9c0e8d11",
    "inboundDocumentCount": 12,
    "executionDuration": ["Long", 5230],
    "inboundDocumentSize": ["Long", 48211],
    "recordedDate": "2026-01-15T10:04:17Z",
    "someFutureField": {"x": 1},
}

PARSED = PlatformRecord(
    execution_id="execution-5e0c1d2a-7b3f-4a8e-9c6d-1f2e3a4b5c6d-2026.01.15",
    status="COMPLETE",
    process_id="c7d2e8f4-1b3a-4d5e-8f90-a1b2c3d4e5f6",
    atom_id="3f6b0c2e-5a41-4c1e-9b7d-2f1a9c0e8d11",
    process_name="Orders - Nightly Sync",
    atom_name="Prod Atom 01",
    execution_time=datetime(2026, 1, 15, 10, 4, 12, tzinfo=UTC),
    recorded_date=datetime(2026, 1, 15, 10, 4, 17, tzinfo=UTC),
    duration_ms=5230,
)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            {
                "@type": "AsyncOperationResult",
                "responseStatusCode": 200,
                "numberOfResults": 1,
                "result": [RECORD],
            },
            id="wrapper (simulator default)",
        ),
        pytest.param({"@type": "QueryResult", "result": [RECORD]}, id="wrapper typed QueryResult"),
        pytest.param(RECORD, id="bare record (OAS shape)"),
        pytest.param({**RECORD, "executionDuration": 5230}, id="plain number for Long"),
        pytest.param({**RECORD, "executionDuration": "5230"}, id="quoted number for Long"),
    ],
)
def test_async_record_variants(body: dict[str, Any]) -> None:
    assert wire.parse_async_record(body) == PARSED


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"@type": "AsyncOperationResult", "responseStatusCode": 202}, id="202 body"),
        pytest.param({"responseStatusCode": 202, "result": []}, id="empty result"),
        pytest.param({"responseStatusCode": 200, "result": []}, id="200 but empty"),
    ],
)
def test_async_not_ready_variants(body: dict[str, Any]) -> None:
    assert wire.parse_async_record(body) is None


def test_unknown_status_is_kept_not_rejected() -> None:
    record = wire.parse_record({"executionId": "e", "status": "paused_for_lunch"})
    assert record.status == "PAUSED_FOR_LUNCH"


def test_async_error_code_in_wrapper_raises() -> None:
    with pytest.raises(ProtocolError, match="ExecutionRecord/async: boom"):
        wire.parse_async_record({"responseStatusCode": 500, "message": "boom"})


@pytest.mark.parametrize(
    ("content", "content_type", "expected"),
    [
        (
            b'{"@type": "Error", "message": "Process x is not deployed"}',
            "application/json",
            "Process x is not deployed",
        ),
        (b'{"message": "plain"}', "application/json", "plain"),
        (b'{"error": {"message": "nested"}}', "application/json", "nested"),
        (b"<error><message>from xml</message></error>", "application/xml", "from xml"),
        (
            b'<bns:Error xmlns:bns="http://api.platform.boomi.com/"><bns:message>ns</bns:message>'
            b"</bns:Error>",
            "application/xml",
            "ns",
        ),
        (b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html", "502 Bad Gateway"),
        (b"Service Unavailable", "text/plain", "Service Unavailable"),
        (b"", "text/plain", ""),
    ],
)
def test_error_message_variants(content: bytes, content_type: str, expected: str) -> None:
    assert wire.error_message(content, content_type) == expected


def test_request_body_matches_the_reference_shape() -> None:
    request = ResolvedRequest(
        process_id="c7d2e8f4-1b3a-4d5e-8f90-a1b2c3d4e5f6",
        atom_id="3f6b0c2e-5a41-4c1e-9b7d-2f1a9c0e8d11",
        dynamic_properties={"DPP_RUN_MODE": "full"},
        process_properties={"0a9b": {"9d8e": "42"}},
    )
    assert wire.execution_request_body(request) == {
        "@type": "ExecutionRequest",
        "atomId": "3f6b0c2e-5a41-4c1e-9b7d-2f1a9c0e8d11",
        "processId": "c7d2e8f4-1b3a-4d5e-8f90-a1b2c3d4e5f6",
        "DynamicProcessProperties": {
            "@type": "ExecutionRequestDynamicProcessProperties",
            "DynamicProcessProperty": [{"@type": "", "name": "DPP_RUN_MODE", "value": "full"}],
        },
        "ProcessProperties": {
            "@type": "ExecutionRequestProcessProperties",
            "ProcessProperty": [
                {
                    "@type": "",
                    "componentId": "0a9b",
                    "ProcessPropertyValue": [{"@type": "", "key": "9d8e", "value": "42"}],
                }
            ],
        },
    }
    minimal = ResolvedRequest(process_id="p", atom_id="a")
    # Both blocks are required by the official schema: sent empty, never omitted (issue 17).
    assert wire.execution_request_body(minimal) == {
        "@type": "ExecutionRequest",
        "atomId": "a",
        "processId": "p",
        "DynamicProcessProperties": {
            "@type": "ExecutionRequestDynamicProcessProperties",
            "DynamicProcessProperty": [],
        },
        "ProcessProperties": {"@type": "ExecutionRequestProcessProperties", "ProcessProperty": []},
    }


def test_resolved_request_repr_hides_property_values() -> None:
    request = ResolvedRequest(process_id="p", atom_id="a", dynamic_properties={"K": "hunter2"})
    assert "hunter2" not in repr(request)
    assert "hunter2" not in str(request)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (["Long", 5230], 5230),
        (5230, 5230),
        (5230.0, 5230),
        (" 42 ", 42),
        (float("nan"), None),  # JSON from a lenient encoder: not a duration
        (float("inf"), None),
        (1e400, None),  # Python reads 1e400 in JSON as inf
        (["Long", float("nan")], None),
        ("12.5", None),
        (True, None),
        (None, None),
    ],
)
def test_long_fields_accept_both_shapes_and_refuse_what_is_not_a_number(
    raw: object, expected: int | None
) -> None:
    assert wire.parse_long(raw) == expected


def test_a_record_with_a_nan_duration_is_read_without_one() -> None:
    body = json.loads('{"executionId": "e-1", "status": "COMPLETE", "executionDuration": NaN}')
    assert wire.parse_record(body).duration_ms is None
