"""The store's second guard against a secret echoed by the platform: scrub before writing.

An edge's helper, pure. Platform text arrives scrubbed already (``boomi/``); the state store and
the artifacts scrub again with the apply's ``Redactor`` (``outbound``), so a path that skipped
the first guard still writes no secret. Structured data is scrubbed before it is rendered (a
``secret("NAME")`` replacement inside rendered JSON or an XML attribute would break the file),
and the rendered text is checked once more in a way that keeps it valid: Markdown as text, XML
in its text and attribute values only (the replacement's quotes escaped), JSON by scrubbing its
string values (never its keys) and serialising again.
"""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

from reconciler.model import ApplyResult, Attempt, RunResult, StateEntry
from reconciler.outbound import NO_SECRETS, Redactor, holds_secret

__all__ = [
    "NO_SECRETS",
    "PLATFORM_TEXT",
    "Redactor",
    "scrub_entry",
    "scrub_json",
    "scrub_result",
    "scrub_xml",
]

#: The text fields of a state entry, an attempt and a run result that came from the platform:
#: free text is scrubbed inside; an id or a status is replaced whole, and only when it holds a
#: secret of ``SECRET_IN_ID`` characters (a short secret occurs in ids by chance, and an id
#: scrubbed inside would no longer name its run).
PLATFORM_TEXT = ("request_id", "execution_id", "status", "message")
_WHOLE = ("request_id", "execution_id", "status")

_Model = TypeVar("_Model", StateEntry, Attempt, RunResult)
_MARKER = re.compile(r'secret\("([^"<>&\\]*)"\)')


def _scrubbed(model: _Model, redactor: Redactor) -> _Model:
    update = {}
    for name in PLATFORM_TEXT:
        value = getattr(model, name)
        if not isinstance(value, str):
            continue
        if name in _WHOLE:
            if holds_secret(value, redactor.scrub):
                update[name] = redactor.scrub(value)
        elif (clean := redactor.scrub(value)) != value:
            update[name] = clean
    return model.model_copy(update=update) if update else model


def scrub_entry(entry: StateEntry, redactor: Redactor) -> StateEntry:
    """``entry`` with every platform text field, its history's too, scrubbed."""
    if not redactor:
        return entry
    history = tuple(_scrubbed(attempt, redactor) for attempt in entry.history)
    entry = _scrubbed(entry, redactor)
    if history != entry.history:
        entry = entry.model_copy(update={"history": history})
    return entry


def scrub_result(result: ApplyResult, redactor: Redactor) -> ApplyResult:
    """``result`` with the platform text of every run scrubbed."""
    if not redactor:
        return result
    runs = tuple(_scrubbed(run, redactor) for run in result.results)
    return result.model_copy(update={"results": runs}) if runs != result.results else result


def scrub_xml(text: str, redactor: Redactor) -> str:
    """Rendered XML, scrubbed in its text and attribute values only.

    Never a tag or attribute name, never a number; a replacement's quotes are escaped so an
    attribute stays closed.
    """
    if not redactor or redactor.scrub(text) == text:
        return text

    def value(match: re.Match[str]) -> str:
        segment = match.group(0)
        if _NUMBER.fullmatch(segment):
            return segment
        clean = redactor.scrub(segment)
        return segment if clean == segment else _MARKER.sub(r"secret(&quot;\1&quot;)", clean)

    return _XML_VALUE.sub(value, text)


_XML_VALUE = re.compile(r'(?<==")[^"]*(?=")|(?<=>)[^<]+(?=<)')
_NUMBER = re.compile(r"[0-9.]+")


def scrub_json(text: str, redactor: Redactor, *, indent: int = 2) -> str:
    """Rendered JSON, scrubbed: every string value in it (keys are ours), then serialised."""
    if not redactor or redactor.scrub(text) == text:
        return text
    data = json.loads(text)
    return json.dumps(_scrub_strings(data, redactor), indent=indent, ensure_ascii=False) + "\n"


_WORD = re.compile(r"[A-Za-z0-9._:+/=-]+")


def _scrub_value(value: str, redactor: Redactor) -> str:
    """Free text scrubbed inside; one word (an id, a digest, a status) replaced whole or kept.

    Replaced only when it is a secret or holds one of ``SECRET_IN_ID`` characters or more.
    """
    if _WORD.fullmatch(value):
        return redactor.scrub(value) if holds_secret(value, redactor.scrub) else value
    return redactor.scrub(value)


def _scrub_strings(data: Any, redactor: Redactor) -> Any:
    """Every string in a JSON document scrubbed (iteratively: no depth limit to hit)."""
    root: list[Any] = [data]
    stack: list[tuple[list[Any] | dict[str, Any], Any]] = [(root, 0)]
    while stack:
        parent, key = stack.pop()
        value = parent[key]
        if isinstance(value, str):
            parent[key] = _scrub_value(value, redactor)
        elif isinstance(value, list):
            stack.extend((value, index) for index in range(len(value)))
        elif isinstance(value, dict):  # keys are the renderer's own names: never renamed
            stack.extend((value, k) for k in value)
    return root[0]
