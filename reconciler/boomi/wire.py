"""Bytes and JSON of the platform's execution API ↔ typed values.

Pure: no httpx, no I/O. Request bodies are built exactly as boomi-platform-api.md §5 shows;
responses are parsed leniently, accepting every variant the reference lists: the async record in
its ``AsyncOperationResult`` wrapper or bare (§6.2), a 200 whose wrapper says it is not ready,
``["Long", n]`` or plain numbers (§4), unknown fields and unknown status values, and error
bodies as ``{"@type": "Error", "message"}``, ``{"message"}``, ``{"error": {"message"}}``, XML
or plain text (§12.2). camelCase wire names appear only in this module.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree

from reconciler.errors import ProtocolError
from reconciler.model import PlatformRecord, ResolvedRequest

_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def execution_request_body(request: ResolvedRequest) -> dict[str, Any]:
    """The JSON body of ``POST /ExecutionRequest`` (§5.2); empty property blocks are omitted."""
    body: dict[str, Any] = {
        "@type": "ExecutionRequest",
        "atomId": request.atom_id,
        "processId": request.process_id,
    }
    if request.dynamic_properties:
        body["DynamicProcessProperties"] = {
            "@type": "ExecutionRequestDynamicProcessProperties",
            "DynamicProcessProperty": [
                {"@type": "", "name": name, "value": value}
                for name, value in request.dynamic_properties.items()
            ],
        }
    if request.process_properties:
        body["ProcessProperties"] = {
            "@type": "ExecutionRequestProcessProperties",
            "ProcessProperty": [
                {
                    "@type": "",
                    "componentId": component,
                    "ProcessPropertyValue": [
                        {"@type": "", "key": key, "value": value} for key, value in values.items()
                    ],
                }
                for component, values in request.process_properties.items()
            ],
        }
    return body


def decode_json(content: bytes, what: str) -> Any:
    """Parse a JSON body or raise ``ProtocolError`` naming what was being read."""
    try:
        return json.loads(content)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ProtocolError(f"{what}: the platform sent a body that is not JSON") from None


def parse_request_id(body: Any) -> str:
    """The ``requestId`` of an ExecutionRequest response (§5.3)."""
    request_id = body.get("requestId") if isinstance(body, dict) else None
    if not isinstance(request_id, str) or not request_id:
        raise ProtocolError("ExecutionRequest: the response carries no requestId")
    return request_id


def parse_async_record(body: Any) -> PlatformRecord | None:
    """A 200 from ``ExecutionRecord/async``: the record, or None when it says "not yet" (§6.2)."""
    if not isinstance(body, dict):
        raise ProtocolError("ExecutionRecord/async: expected a JSON object")
    code = body.get("responseStatusCode")
    if isinstance(code, int) and code >= 400:
        message = error_message_from_json(body) or f"responseStatusCode {code}"
        raise ProtocolError(f"ExecutionRecord/async: {message}", status_code=code)
    if "result" in body:
        result = body.get("result") or []
        if code == 202 or not result:
            return None
        if not isinstance(result, list) or not isinstance(result[0], dict):
            raise ProtocolError("ExecutionRecord/async: result is not a list of records")
        return parse_record(result[0])
    if "executionId" in body or "status" in body:
        return parse_record(body)
    if code == 202:
        return None
    raise ProtocolError("ExecutionRecord/async: neither a record nor a result wrapper")


def parse_record(data: Mapping[str, Any]) -> PlatformRecord:
    """One ExecutionRecord object (§7); every field but executionId and status is optional."""
    execution_id = data.get("executionId")
    status = data.get("status")
    if not isinstance(execution_id, str) or not isinstance(status, str):
        raise ProtocolError("ExecutionRecord: executionId and status are required")
    return PlatformRecord(
        execution_id=execution_id,
        status=status.strip().upper(),
        process_id=_text(data.get("processId")),
        atom_id=_text(data.get("atomId")),
        process_name=_text(data.get("processName")),
        atom_name=_text(data.get("atomName")),
        execution_time=parse_time(data.get("executionTime")),
        recorded_date=parse_time(data.get("recordedDate")),
        duration_ms=parse_long(data.get("executionDuration")),
        message=_text(data.get("message")),
    )


def parse_query_result(body: Any) -> tuple[list[PlatformRecord], str | None]:
    """A ``QueryResult`` page (§9): its records and the token of the next page, if any."""
    if not isinstance(body, dict):
        raise ProtocolError("ExecutionRecord/query: expected a JSON object")
    raw = body.get("result") or []
    if not isinstance(raw, list):
        raise ProtocolError("ExecutionRecord/query: result is not a list")
    token = body.get("queryToken")
    records = [parse_record(item) for item in raw if isinstance(item, dict)]
    return records, token if isinstance(token, str) and token else None


def records_query(
    process_id: str, atom_id: str, since: datetime, until: datetime
) -> dict[str, Any]:
    """The QUERY that finds runs of one process on one runtime in a window, oldest first (§9.3)."""
    return _runs_query(
        [
            _equals("processId", process_id),
            _equals("atomId", atom_id),
            _started("BETWEEN", format_time(since), format_time(until)),
        ],
        "ASC",
    )


def recent_records_query(process_id: str, since: datetime) -> dict[str, Any]:
    """The QUERY for the runs of one process since ``since``, on any runtime, newest first (§9)."""
    return _runs_query(
        [
            _equals("processId", process_id),
            _started("GREATER_THAN_OR_EQUAL", format_time(since)),
        ],
        "DESC",
    )


def _runs_query(terms: list[dict[str, Any]], order: str) -> dict[str, Any]:
    """All of ``terms``, sorted by ``executionTime`` (``ASC`` or ``DESC``, §9.1)."""
    return {
        "QueryFilter": {"expression": {"operator": "and", "nestedExpression": terms}},
        "QuerySort": {"sortField": [{"fieldName": "executionTime", "sortOrder": order}]},
    }


def _started(operator: str, *moments: str) -> dict[str, Any]:
    return {"operator": operator, "property": "executionTime", "argument": list(moments)}


def execution_query(execution_id: str) -> dict[str, Any]:
    """The QUERY that finds one run by its executionId (there is no GET by id, §2)."""
    return {"QueryFilter": {"expression": _equals("executionId", execution_id)}}


def _equals(name: str, value: str) -> dict[str, Any]:
    return {"operator": "EQUALS", "property": name, "argument": [value]}


def error_message(content: bytes, content_type: str) -> str:
    """The human message of an error body in any of the shapes of §12.2."""
    text = content.decode("utf-8", errors="replace").strip()
    if not text:
        return ""
    if "json" in content_type or text.startswith("{"):
        try:
            message = error_message_from_json(json.loads(text))
        except json.JSONDecodeError:
            message = None
        if message:
            return message
    if text.startswith("<"):
        try:
            root = ElementTree.fromstring(text)  # noqa: S314 - platform responses, no entities
        except ElementTree.ParseError:
            root = None
        if root is not None:
            for element in root.iter():
                if element.tag.rsplit("}", 1)[-1] == "message" and element.text:
                    return element.text.strip()
        return _strip_tags(text)
    return text[:500]


def error_message_from_json(body: Any) -> str | None:
    """``message`` or ``error.message`` of a JSON error body."""
    if not isinstance(body, dict):
        return None
    message = body.get("message")
    if isinstance(message, str) and message:
        return message
    nested = body.get("error")
    if isinstance(nested, dict) and isinstance(nested.get("message"), str):
        return str(nested["message"])
    return None


def parse_long(value: Any) -> int | None:
    """``["Long", n]``, a number, or a numeric string → int (§4)."""
    if isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
        value = value[1]
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) else None  # JSON may carry NaN or 1e400
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value.strip())
    return None


def parse_time(value: Any) -> datetime | None:
    """A platform timestamp ``yyyy-MM-ddTHH:mm:ssZ`` (tolerating fractions and offsets)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def format_time(moment: datetime) -> str:
    """A UTC timestamp in the platform's format."""
    return moment.astimezone(UTC).strftime(_TIME_FORMAT)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _strip_tags(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text)).strip()[:500]
