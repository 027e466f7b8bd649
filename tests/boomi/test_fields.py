"""Issue 15: every field read from the platform is checked for type, size and range.

The parsers of ``wire`` on the values of issue 15 item 6 and their neighbours: what is refused
(with the field named and what was expected), what is read as absent, and what is kept.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from reconciler.boomi import fields, wire
from reconciler.errors import ProtocolError
from reconciler.outbound import Redactor

EXECUTION = "execution-5e0c1d2a-7b3f-4a8e-9c6d-1f2e3a4b5c6d-2026.01.15"
REQUEST = "executionrecord-5e0c1d2a-7b3f-4a8e-9c6d-1f2e3a4b5c6d"


def _record(**changes: Any) -> dict[str, Any]:
    return {"executionId": EXECUTION, "status": "COMPLETE", **changes}


@pytest.mark.parametrize(
    "value",
    [
        "9999-12-31T23:59:59-12:00",  # year 10000 in UTC: OverflowError in astimezone
        "0001-01-01T00:00:00+01:00",  # year 0 in UTC
        "1969-12-31T23:59:59Z",
        "2026-13-01T00:00:00Z",
        "2026-01-15T10:04:12Z" + " " * 100,
        "7" * 5000,
        "",
        20260115,
        None,
    ],
)
def test_a_time_out_of_range_or_shape_is_read_as_absent(value: object) -> None:
    record = wire.parse_record(_record(executionTime=value, recordedDate=value))
    assert record.execution_time is None
    assert record.recorded_date is None


def test_times_in_range_are_read_in_utc() -> None:
    record = wire.parse_record(
        _record(executionTime="9999-12-31T11:59:59-12:00", recordedDate="1970-01-01T00:00:00Z")
    )
    assert record.execution_time == datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert record.recorded_date == datetime(1970, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7" * 5000, None),  # int() of more than 4,300 digits raises ValueError
        (["Long", "7" * 5000], None),
        (int("7" * 20), None),  # past a 64-bit Long
        (-1, None),
        (fields.MAX_DURATION_MS + 1, None),
        (1e300, None),
        (["Long", 5230], 5230),
        ("5230", 5230),
        (fields.MAX_DURATION_MS, fields.MAX_DURATION_MS),
    ],
)
def test_a_duration_is_bounded(value: object, expected: int | None) -> None:
    assert wire.parse_record(_record(executionDuration=value)).duration_ms == expected


@pytest.mark.parametrize(
    ("request_id", "flaw"),
    [
        ("9" * 5000, "got 5,000 characters"),
        (REQUEST + "\n", "got U+000A at position 53"),
        ("a" * 201, "got 201 characters"),
        ("../../cancelExecution/x", "got '/' at position 3"),
        ("..", "got '.' first"),
        ("executionrecord-1?x=1", "got '?' at position 18"),
        ("executionrecord-1#x", "got '#' at position 18"),
        ("executionrecord-1%2F", "got '%' at position 18"),
        ("executionrecord 1", "got U+0020 at position 16"),
        ("", "got an empty string"),
    ],
)
def test_a_request_id_out_of_shape_is_refused_naming_the_field(request_id: str, flaw: str) -> None:
    with pytest.raises(ProtocolError) as raised:
        wire.parse_request_id({"requestId": request_id})
    assert raised.value.message == (
        "ExecutionRequest.requestId: expected an id like executionrecord-<uuid> (at most 200 "
        f"letters, digits and . _ : -, starting with a letter or digit); {flaw}"
    )
    assert request_id[:20] not in raised.value.message or not request_id


@pytest.mark.parametrize("value", [9**50, ["executionrecord-1"], {"id": 1}, True])
def test_a_request_id_that_is_not_a_string_is_refused(value: object) -> None:
    with pytest.raises(ProtocolError, match="requestId: expected a string like execution"):
        wire.parse_request_id({"requestId": value})


def test_ids_of_other_shapes_in_the_safe_characters_are_kept() -> None:
    assert wire.parse_request_id({"requestId": REQUEST}) == REQUEST
    assert wire.parse_request_id({"requestId": "req:2026.01.15_A-1"}) == "req:2026.01.15_A-1"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"executionId": EXECUTION + "\n"}, "ExecutionRecord.executionId"),
        ({"executionId": "x/../y"}, "ExecutionRecord.executionId"),
        ({"executionId": 12}, "ExecutionRecord.executionId"),
        ({"status": "COMPLETE\n::error::x"}, "ExecutionRecord.status"),
        ({"status": "C" * 41}, "ExecutionRecord.status"),
        ({"status": ["COMPLETE"]}, "ExecutionRecord.status"),
    ],
)
def test_the_fields_a_run_is_keyed_on_are_refused_out_of_shape(
    changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(ProtocolError, match=f"^{field}: expected"):
        wire.parse_record(_record(**changes))


def test_optional_ids_and_names_out_of_shape_are_read_as_absent() -> None:
    record = wire.parse_record(
        _record(processId="p\n1", atomId="a" * 300, processName=["x"], atomName="A" * 600)
    )
    assert (record.process_id, record.atom_id, record.process_name) == (None, None, None)
    assert record.atom_name is not None
    assert len(record.atom_name) == fields.MAX_NAME
    assert record.atom_name.endswith("…")


def test_a_message_is_scrubbed_whole_and_then_cut() -> None:
    secret = "s3cr3t-" * 3
    redactor = Redactor({"DB_PASSWORD": secret})
    # The secret straddles the cut: cutting first would keep a piece the redactor cannot see.
    message = "x" * (fields.MAX_TEXT - 11) + " " + secret + "tail"
    record = wire.parse_record(_record(message=message), redactor.scrub)
    assert record.message is not None
    assert len(record.message) == fields.MAX_TEXT
    assert "s3cr" not in record.message
    assert record.message.endswith('x secret("D…')
    assert (
        wire.parse_record(_record(message="\ud800 lone"), redactor.scrub).message == "\ufffd lone"
    )


def test_an_id_holding_a_secret_is_refused() -> None:
    redactor = Redactor({"TOKEN": "executionrecord-hunter22"})
    with pytest.raises(ProtocolError, match="the id holds the value of a secret"):
        wire.parse_request_id({"requestId": "executionrecord-hunter22"}, redactor.scrub)


def test_bodies_are_bounded_in_depth_size_and_digits() -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(ProtocolError, match="nested deeper than 64 levels"):
        wire.decode_json(deep, "GET /x")
    just = b"[" * 64 + b"]" * 64
    assert wire.decode_json(just, "GET /x") is not None
    quoted = json.dumps({"message": "[" * 1000}).encode()  # brackets in a string are text
    assert wire.decode_json(quoted, "GET /x") == {"message": "[" * 1000}
    with pytest.raises(ProtocolError, match="a number too long to read"):
        wire.decode_json(b'{"requestId": ' + b"9" * 5000 + b"}", "POST /x")
    with pytest.raises(ProtocolError, match="larger than 8 MiB"):
        wire.decode_json(b" " * (fields.MAX_BODY + 1), "GET /x")
    with pytest.raises(wire.Unreadable, match="not JSON"):
        wire.decode_json(b'{"cut": ', "GET /x")


def test_a_query_page_with_anything_but_records_is_refused_whole() -> None:
    with pytest.raises(ProtocolError, match="something that is not a record"):
        wire.parse_query_result({"result": [_record(), "x"]})
    with pytest.raises(ProtocolError, match="1,001 records in one page"):
        wire.parse_query_result({"result": [_record()] * 1001})
    with pytest.raises(ProtocolError, match="queryToken: expected a token"):
        wire.parse_query_result({"result": [], "queryToken": "a\nb"})
    records, token = wire.parse_query_result({"result": [_record()], "queryToken": "abc=="})
    assert (len(records), token) == (1, "abc==")


def test_an_xml_error_body_with_a_dtd_is_not_parsed() -> None:
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><message>&b;&b;&b;</message>'
    )
    message = wire.error_message(laughs, "application/xml")
    assert "aaaaaaaaaa" not in message
    assert len(message) <= 500


def test_text_arrives_as_one_inert_line() -> None:
    message = "line one\n\x1b]0;retitled\x07\x1b[31mred\x1b[0m\ttab\x00\x08 end\u2028##[error]"
    record = wire.parse_record(_record(message=message, processName="a\x1b[2Jb"))
    assert record.message == "line one red tab end #\u2060#[error]"
    assert record.process_name == "a b"


def test_a_short_secret_inside_an_id_or_a_status_is_a_coincidence_a_long_one_an_echo() -> None:
    short = Redactor({"PIN": "42", "CODE": "ETE"}).scrub
    assert fields.identifier("executionrecord-9f3c2a42-1", "requestId", "x", short)
    assert fields.status("COMPLETE", "status", short) == "COMPLETE"
    long = Redactor({"KEY": "longsecret99"}).scrub
    for value in ("longsecret99", "executionrecord-longsecret99-1"):
        with pytest.raises(ProtocolError, match="holds the value of a secret"):
            fields.identifier(value, "requestId", "x", long)
