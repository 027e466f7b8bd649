"""Hostile-platform answers: what the opt-in hostile fault kinds make of a request.

Owns the answers of ``echo``, ``echo_record``, ``inject``, ``poison`` and ``script``
(``faults`` defines the rules, ``app`` calls in here) and the default hostile text.

A real platform may quote a request body in an error, put control characters or workflow
commands in a message, or send a record no schema allows; the simulator's faithful answers never
do. These functions build such answers from the rule and the faithful ``Reply``; they never run
unless a fault rule asks for them. Answers are JSON whatever the ``Accept`` header says.
Numbers too long for Python's ``int`` ↔ ``str`` limit and nesting deeper than the recursion
limit are spliced into the serialized body as text (``Reply.raw``).
"""

from __future__ import annotations

import base64
import json
import urllib.parse
from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from reconciler.sim import records
from reconciler.sim.endpoints import Reply
from reconciler.sim.faults import FaultRule
from reconciler.sim.state import Simulator

MARKER = "INJ-7e1f"
"""Appears in every piece of the default hostile text, so a harness can find what leaked."""

PAYLOAD = (
    f"{MARKER} start, cc @inj7e1f\n"
    f"::error title={MARKER}::{MARKER} forged annotation\n"
    f"::add-mask::{MARKER}\n"
    f"  ::warning::{MARKER} indented command\r\n"
    f"##[error]{MARKER} legacy command\n"
    f"\x1b]8;;https://evil.example/{MARKER}\x07{MARKER} OSC link\x1b]8;;\x07 "
    f"\x1b[31m{MARKER} CSI red\x1b[0m \x9b31m{MARKER} C1 CSI\x9b0m \x85\x07\x08\x7f\x00 "
    f"\u202e{MARKER} bidi\u202c\n"
    f"```\n</details></table><img src=x onerror=alert('{MARKER}')>"
    f"<script>alert('{MARKER}')</script> @inj7e1f @github/{MARKER}-team\n"
    f"```\n| {MARKER} | forged row |\n<!-- {MARKER} -->\n"
    f"<!-- reconciler-plan env=prod digest={MARKER} run=1 -->\n"
    f"::stop-commands::{MARKER}\n{MARKER} end\n```"
)
"""The default ``inject`` text: control characters, newlines, CSI/OSC/C1 escapes, workflow
commands (plain, indented, legacy ``##[``), fences (an odd number: the last one opens a block
nothing closes), HTML, a bidi override, @mentions and a forged plan-comment marker."""

POISON_DATE = "9999-12-31T23:59:59-12:00"

SPOILERS = frozenset({"echo_record", "inject", "poison"})
"""Kinds that process the request and then spoil the faithful answer (``spoil``)."""

_SPLICE = "\x00SPLICE\x00"


def echo_message(data: bytes) -> str:
    """An Error message quoting ``data`` as platforms do.

    Verbatim, JSON-escaped, URL-encoded, XML-escaped and in base64.
    """
    text = data.decode("utf-8", errors="replace")
    return (
        f"Invalid request: {text} (json: {json.dumps(text)}; "
        f"url: {urllib.parse.quote(text, safe='')}; xml: {xml_escape(text)}; "
        f"base64: {base64.b64encode(data).decode('ascii')})"
    )


def _processes_in(value: Any, out: list[str]) -> None:
    if isinstance(value, Mapping):
        if value.get("property") in ("processId", "executionId"):
            args = value.get("argument")
            if isinstance(args, list) and args and isinstance(args[0], str):
                out.append(f"{value['property']}={args[0]}")
        for item in value.values():
            _processes_in(item, out)
    elif isinstance(value, list):
        for item in value:
            _processes_in(item, out)


def subject(sim: Simulator, endpoint: str, account: str, arg: str, body: bytes) -> str | None:
    """The processId a request concerns, when it can be told (call with the lock held)."""
    if endpoint in ("executionRecordAsync", "cancelExecution"):
        table = sim.by_request if endpoint == "executionRecordAsync" else sim.by_execution
        run = table.get((account, arg))
        return run.process.id if run is not None else None
    if endpoint not in ("executionRequest", "executeProcess", "executionRecordQuery"):
        return None
    try:
        data = json.loads(body) if body.strip() else None
    except (ValueError, RecursionError):
        return None
    if endpoint != "executionRecordQuery":
        found = data.get("processId") if isinstance(data, dict) else None
        return found if isinstance(found, str) else None
    terms: list[str] = []
    _processes_in(data, terms)
    for term in terms:
        name, _, value = term.partition("=")
        if name == "processId":
            return value
        run = sim.by_execution.get((account, value))
        if run is not None:
            return run.process.id
    return None


def early(rule: FaultRule, request_text: bytes, error_variant: str) -> Reply:
    """The whole answer of ``echo``, ``inject`` with a status, or ``script``."""
    if rule.kind == "script":
        if rule.raw is not None:
            return Reply(rule.answer_status, None, raw=rule.raw.encode(), media=rule.content_type)
        if rule.body is None:
            return Reply(rule.answer_status, None, raw=b"", media=rule.content_type)
        text = json.dumps(rule.body, separators=(",", ":"))
        return Reply(rule.answer_status, None, raw=text.encode(), media=rule.content_type)
    message = echo_message(request_text) if rule.kind == "echo" else (rule.text or PAYLOAD)
    return Reply(rule.answer_status, records.error_body(message, error_variant))


def _records(body: dict[str, Any] | None) -> list[dict[str, Any]]:
    if body is None:
        return []
    if body.get("@type") == "ExecutionRecord":
        return [body]
    result = body.get("result")
    return [r for r in result if isinstance(r, dict)] if isinstance(result, list) else []


def spoil(
    rule: FaultRule, reply: Reply, sim: Simulator, account: str, request_text: bytes
) -> Reply | None:
    """The faithful ``reply`` spoilt as ``inject``/``poison``/``echo_record`` say.

    None when the answer has nothing the rule can spoil (a 202, a rejected submit); the caller
    then sends the faithful answer and takes the firing back.
    """
    if reply.status != 200 or reply.body is None:
        return None
    body = json.loads(json.dumps(reply.body))  # a private copy
    if rule.kind == "echo_record":
        return _echo_record(sim, account, body, request_text, reply)
    if rule.kind == "inject":
        return _inject(rule, body)
    return _poison(rule, body)


def _echo_record(
    sim: Simulator, account: str, body: dict[str, Any], request_text: bytes, reply: Reply
) -> Reply | None:
    request_id = body.get("requestId")
    run = sim.by_request.get((account, request_id)) if isinstance(request_id, str) else None
    if run is None:
        return None
    sim.force_outcome(run, "ERROR", echo_message(request_text))
    return reply


def _inject(rule: FaultRule, body: dict[str, Any]) -> Reply | None:
    text = rule.text or PAYLOAD
    changed = False
    if "requestId" in rule.fields and isinstance(body.get("requestId"), str):
        body["requestId"] = f"{body['requestId']}{text}"
        changed = True
    for record in _records(body):
        for name in rule.fields:
            if name == "requestId":
                continue
            current = record.get(name)
            record[name] = f"{current}{text}" if isinstance(current, str) else text
            changed = True
    return Reply(200, body) if changed else None


def _poison(rule: FaultRule, body: dict[str, Any]) -> Reply | None:
    target, size = rule.target or "", rule.poison_size
    splice: str | None = None
    if target.startswith("requestId"):
        if not isinstance(body.get("requestId"), str):
            return None
        if target == "requestIdNewline":
            body["requestId"] = body["requestId"] + "\nX-Injected: " + MARKER
        elif target == "requestIdHuge":
            body["requestId"] = "executionrecord-" + "9" * max(0, size - 16)
        else:
            body["requestId"], splice = _SPLICE, "9" * max(1, size)
        return _render(body, splice)
    found = _records(body)
    if not found:
        return None
    for record in found:
        if target == "date":
            record["executionTime"] = record["recordedDate"] = rule.text or POISON_DATE
        elif target == "digits":
            record["executionDuration"], splice = ["Long", _SPLICE], "9" * max(1, size)
        elif target == "digitString":
            record["executionDuration"] = "9" * max(1, size)
        elif target == "deep":
            record["message"], splice = _SPLICE, "[" * size + "]" * size
        else:  # huge
            record["message"] = _huge(size)
    return _render(body, splice)


def _huge(size: int) -> str:
    unit = f"{MARKER} huge message "
    return (unit * (size // len(unit) + 1))[:size]


def _render(body: dict[str, Any], splice: str | None) -> Reply:
    text = json.dumps(body, separators=(",", ":"))
    if splice is not None:
        text = text.replace(json.dumps(_SPLICE), splice)
    return Reply(200, None, raw=text.encode())
