"""Bytes and JSON of the platform's execution API ↔ typed values.

Pure: no httpx, no I/O. Request bodies are built exactly as boomi-platform-api.md §5 shows;
responses are parsed leniently, accepting every variant the reference lists: the async record in
its ``AsyncOperationResult`` wrapper or bare (§6.2), a 200 whose wrapper says it is not ready,
``["Long", n]`` or plain numbers (§4), unknown fields and unknown status values, and error
bodies as ``{"@type": "Error", "message"}``, ``{"message"}``, ``{"error": {"message"}}``, XML
or plain text (§12.2). camelCase wire names appear only in this module.

Lenient is not trusting: every field read is checked by ``fields`` (shape, size, range), a body
is refused past ``fields.MAX_BODY`` bytes or ``fields.MAX_DEPTH`` levels, and every parser
either returns a typed value or raises ``ProtocolError``, nothing else (a property test holds
it to that). Each parser takes the caller's ``scrub`` (a ``Redactor.scrub``): every string it
returns has been through it, so a secret the platform echoes never leaves this module.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree

from reconciler.boomi import fields
from reconciler.boomi.fields import Scrub
from reconciler.errors import ProtocolError
from reconciler.model import PlatformRecord, ResolvedRequest
from reconciler.outbound import unchanged

_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_SHORT = 500  # characters kept of an error body that is plain text or HTML


class Unreadable(ProtocolError):
    """A body that is not JSON at all (cut short, garbled): asking again may get a good one."""


def execution_request_body(request: ResolvedRequest) -> dict[str, Any]:
    """The JSON body of ``POST /ExecutionRequest`` (§5.2), both property blocks always present.

    The official schema lists ``DynamicProcessProperties`` and ``ProcessProperties`` as required
    (OAS ``ExecutionRequest``), so a request without properties sends them empty, in the typed
    shape of the §5.3 echo. Live clients omit them and the platform accepts that (§5.1); sending
    them costs nothing and keeps every body valid against the schema (``tests/contract``).
    """
    return {
        "@type": "ExecutionRequest",
        "atomId": request.atom_id,
        "processId": request.process_id,
        "DynamicProcessProperties": {
            "@type": "ExecutionRequestDynamicProcessProperties",
            "DynamicProcessProperty": [
                {"@type": "", "name": name, "value": value}
                for name, value in request.dynamic_properties.items()
            ],
        },
        "ProcessProperties": {
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
        },
    }


def decode_json(content: bytes, what: str) -> Any:
    """Parse a JSON body or raise ``ProtocolError`` naming ``what`` was being read (if said).

    ``Unreadable`` when the bytes are not JSON; a plain ``ProtocolError`` when they are JSON
    that no platform sends: larger than ``MAX_BODY``, nested deeper than ``MAX_DEPTH``, or a
    number of more digits than Python reads (4,300).
    """
    at = f"{what}: " if what else ""
    if len(content) > fields.MAX_BODY:
        raise ProtocolError(f"{at}the response body is larger than {_mib(fields.MAX_BODY)}")
    deep = f"{at}the response body is nested deeper than {fields.MAX_DEPTH} levels"
    if fields.nesting_exceeds(content):
        raise ProtocolError(deep)
    try:
        return json.loads(content)
    except RecursionError:
        raise ProtocolError(deep) from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise Unreadable(f"{at}the platform sent a body that is not JSON") from None
    except ValueError:  # int() refuses more than 4,300 digits
        raise ProtocolError(f"{at}the response body holds a number too long to read") from None


def parse_request_id(body: Any, scrub: Scrub = unchanged) -> str:
    """The ``requestId`` of an ExecutionRequest response (§5.3), checked for its shape."""
    if not isinstance(body, dict) or body.get("requestId") is None:
        raise ProtocolError("ExecutionRequest: the response carries no requestId")
    return fields.identifier(
        body["requestId"], "ExecutionRequest.requestId", fields.REQUEST_ID, scrub
    )


def parse_async_record(body: Any, scrub: Scrub = unchanged) -> PlatformRecord | None:
    """A 200 from ``ExecutionRecord/async``: the record, or None when it says "not yet" (§6.2)."""
    if not isinstance(body, dict):
        raise ProtocolError("ExecutionRecord/async: expected a JSON object")
    code = body.get("responseStatusCode")
    if isinstance(code, int) and not isinstance(code, bool) and code >= 400:
        code = code if code < 1000 else None
        message = error_message_from_json(body, scrub) or f"responseStatusCode {code}"
        raise ProtocolError(f"ExecutionRecord/async: {message}", status_code=code)
    if "result" in body:
        result = body.get("result") or []
        if code == 202 or not result:
            return None
        if not isinstance(result, list) or not isinstance(result[0], dict):
            raise ProtocolError("ExecutionRecord/async: result is not a list of records")
        return parse_record(result[0], scrub)
    if "executionId" in body or "status" in body:
        return parse_record(body, scrub)
    if code == 202:
        return None
    raise ProtocolError("ExecutionRecord/async: neither a record nor a result wrapper")


def parse_record(data: Mapping[str, Any], scrub: Scrub = unchanged) -> PlatformRecord:
    """One ExecutionRecord object (§7); every field but executionId and status is optional.

    Those two must have their documented shape (else ``ProtocolError``); an optional field out
    of shape or range is read as absent.
    """
    if "executionId" not in data or "status" not in data:
        raise ProtocolError("ExecutionRecord: executionId and status are required")
    execution_id = fields.identifier(
        data["executionId"], "ExecutionRecord.executionId", fields.EXECUTION_ID, scrub
    )
    return PlatformRecord(
        execution_id=execution_id,
        status=fields.status(data["status"], "ExecutionRecord.status", scrub),
        process_id=fields.optional_identifier(data.get("processId"), scrub),
        atom_id=fields.optional_identifier(data.get("atomId"), scrub),
        process_name=fields.text(data.get("processName"), scrub, fields.MAX_NAME),
        atom_name=fields.text(data.get("atomName"), scrub, fields.MAX_NAME),
        execution_time=fields.moment(data.get("executionTime")),
        recorded_date=fields.moment(data.get("recordedDate")),
        duration_ms=fields.duration(data.get("executionDuration")),
        message=fields.text(data.get("message"), scrub),
    )


def parse_query_result(
    body: Any, scrub: Scrub = unchanged
) -> tuple[list[PlatformRecord], str | None]:
    """A ``QueryResult`` page (§9): its records and the token of the next page, if any.

    A page holding anything but records is refused whole: dropping the odd one could leave a
    single candidate where there were two, and adoption would take the wrong run.
    """
    if not isinstance(body, dict):
        raise ProtocolError("ExecutionRecord/query: expected a JSON object")
    raw = body.get("result") or []
    if not isinstance(raw, list):
        raise ProtocolError("ExecutionRecord/query: result is not a list")
    if len(raw) > fields.MAX_PAGE:
        raise ProtocolError(
            f"ExecutionRecord/query: {len(raw):,} records in one page (at most "
            f"{fields.MAX_PAGE:,} expected)"
        )
    if not all(isinstance(item, dict) for item in raw):
        raise ProtocolError("ExecutionRecord/query: result holds something that is not a record")
    token = fields.query_token(body.get("queryToken"), "ExecutionRecord/query.queryToken")
    return [parse_record(item, scrub) for item in raw], token


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


def executions_query(execution_ids: Sequence[str]) -> dict[str, Any]:
    """The QUERY for several runs by executionId: an ``or`` of ``EQUALS`` (§9.1)."""
    terms = [_equals("executionId", execution_id) for execution_id in execution_ids]
    return {"QueryFilter": {"expression": {"operator": "or", "nestedExpression": terms}}}


def _equals(name: str, value: str) -> dict[str, Any]:
    return {"operator": "EQUALS", "property": name, "argument": [value]}


def error_message(content: bytes, content_type: str, scrub: Scrub = unchanged) -> str:
    """The human message of an error body in any of the shapes of §12.2, scrubbed, then cut.

    The whole text is scrubbed before anything is cut from it, so a cut never leaves part of
    a secret that the redactor would no longer recognise.
    """
    text = content[: fields.MAX_BODY].decode("utf-8", errors="replace").strip()
    if not text:
        return ""
    if "json" in content_type or text.startswith("{"):
        try:
            message = error_message_from_json(decode_json(content, "error body"), scrub)
        except ProtocolError:
            message = None
        if message:
            return message
    if text.startswith("<"):
        message = _xml_message(text)
        if message is not None:
            return fields.text(message, scrub) or ""
        return fields.text(_strip_tags(scrub(text)), scrub, _SHORT) or ""
    return fields.text(text, scrub, _SHORT) or ""


def _xml_message(text: str) -> str | None:
    """The ``message`` element of an XML error body, or None (no DTD, hence no entities)."""
    if "<!" in text:
        return None  # a DOCTYPE or an ENTITY: not what the platform sends, and not parsed
    try:
        root = ElementTree.fromstring(text)  # noqa: S314 - no DTD, so no entity expansion
    except ElementTree.ParseError:
        return None
    for element in root.iter():
        named = element.tag.rsplit("}", 1)[-1] == "message"
        if named and element.text and element.text.strip():
            return element.text.strip()
    return None


def error_message_from_json(body: Any, scrub: Scrub = unchanged) -> str | None:
    """``message`` or ``error.message`` of a JSON error body, scrubbed, then cut."""
    if not isinstance(body, dict):
        return None
    message = body.get("message")
    if not (isinstance(message, str) and message):
        nested = body.get("error")
        message = nested.get("message") if isinstance(nested, dict) else None
    return fields.text(message, scrub)


def parse_long(value: Any) -> int | None:
    """``["Long", n]``, a number, or a numeric string → int (§4); see ``fields.long_value``."""
    return fields.long_value(value)


def parse_time(value: Any) -> datetime | None:
    """A platform timestamp in UTC, or None; see ``fields.moment``."""
    return fields.moment(value)


def format_time(moment: datetime) -> str:
    """A UTC timestamp in the platform's format."""
    return moment.astimezone(UTC).strftime(_TIME_FORMAT)


def _strip_tags(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text)).strip()


def _mib(size: int) -> str:
    return f"{size // (1024 * 1024)} MiB"


# -- read-only lookups (``inspect``, for reconciler check; §9, §13) ------------------------


def attachments_query(atom_id: str) -> dict[str, Any]:
    """The QUERY for the environments a runtime is attached to (EnvironmentAtomAttachment)."""
    return {"QueryFilter": {"expression": _equals("atomId", atom_id)}}


def deployed_query(environment_id: str, process_id: str) -> dict[str, Any]:
    """The QUERY for an active deployment of a process in an environment (DeployedPackage, §13)."""
    terms = [
        _equals("environmentId", environment_id),
        _equals("componentId", process_id),
        _equals("componentType", "process"),
        _equals("active", "true"),
    ]
    return {"QueryFilter": {"expression": {"operator": "and", "nestedExpression": terms}}}


def runs_since_query(process_id: str, atom_id: str, since: datetime) -> dict[str, Any]:
    """The QUERY for the runs of a process on a runtime since ``since``, newest first (§9)."""
    return _runs_query(
        [
            _equals("processId", process_id),
            _equals("atomId", atom_id),
            _started("GREATER_THAN_OR_EQUAL", format_time(since)),
        ],
        "DESC",
    )


def parse_atom(body: Any, scrub: Scrub = unchanged) -> tuple[str | None, str]:
    """An Atom object (``GET /Atom/{id}``, §13): its name and its status word.

    The status is one upper-case word (``ONLINE``, ``OFFLINE``, ``WARNING``, ``UNKNOWN`` or one
    not documented yet); an Atom without one is a ``ProtocolError``.
    """
    if not isinstance(body, dict):
        raise ProtocolError("Atom: expected a JSON object")
    if body.get("status") is None:
        raise ProtocolError("Atom: the runtime's status is missing")
    name = fields.text(body.get("name"), scrub, fields.MAX_NAME)
    return name, fields.status(body["status"], "Atom.status", scrub)


def parse_attachments(body: Any, scrub: Scrub = unchanged) -> tuple[list[str], str | None]:
    """An EnvironmentAtomAttachment QueryResult page: the environment ids, and the next token."""
    items, token = _lookup_page(body, "EnvironmentAtomAttachment/query")
    ids = [fields.optional_identifier(item.get("environmentId"), scrub) for item in items]
    return [i for i in ids if i is not None], token


def parse_deployed(body: Any, process_id: str, environment_id: str) -> tuple[bool, str | None]:
    """A DeployedPackage QueryResult page: whether it holds an active deployment of the process.

    The query asked for exactly that; each result is checked again (a platform that ignored a
    term must not turn "not deployed" into "deployed"). ``active`` may be a boolean or a
    string.
    """
    items, token = _lookup_page(body, "DeployedPackage/query")
    found = any(
        item.get("componentId") == process_id
        and item.get("environmentId") in (None, environment_id)
        and item.get("active") in (True, "true")
        for item in items
    )
    return found, token


def _lookup_page(body: Any, what: str) -> tuple[list[dict[str, Any]], str | None]:
    """A QueryResult page of objects (§9 paging): the objects, and the next page's token."""
    if not isinstance(body, dict):
        raise ProtocolError(f"{what}: expected a JSON object")
    raw = body.get("result") or []
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise ProtocolError(f"{what}: result is not a list of objects")
    if len(raw) > fields.MAX_PAGE:
        raise ProtocolError(
            f"{what}: {len(raw):,} results in one page (at most {fields.MAX_PAGE:,} expected)"
        )
    return raw, fields.query_token(body.get("queryToken"), f"{what}.queryToken")
