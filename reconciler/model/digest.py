"""The digest: what makes two runs "the same run".

Pure. A sha256 over canonical JSON (sorted keys, no whitespace, UTF-8) of exactly the fields
that define a run: the process, the runtime and every property value after templating. A secret
contributes its name, never its value. Reformatting a spec, reordering keys or editing comments
cannot change the digest. The digest carries a version prefix so a future change to what it
covers is visible in state instead of silently re-running everything.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from json.encoder import encode_basestring as _text
from typing import Any

from reconciler.model import Plan, PropertyValue, RunRequest, SecretRef

DIGEST_VERSION = 1


def canonical_request(request: RunRequest) -> dict[str, Any]:
    """The request as plain data, secrets as ``{"secret": NAME}``, in a stable shape."""
    return {
        "processId": request.process_id,
        "atomId": request.atom_id,
        "dynamicProperties": {k: _value(v) for k, v in request.dynamic_properties.items()},
        "processProperties": {
            component: {k: _value(v) for k, v in values.items()}
            for component, values in request.process_properties.items()
        },
    }


def canonical_text(request: RunRequest) -> str:
    """The digest's input: ``{"digestVersion": 1, "request": ...}`` as canonical JSON.

    Exactly ``json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``
    (a test compares the two), written out for the one shape a request has: a general JSON
    encoder took three times as long, and every run of every plan is digested.
    """
    dynamic = _members(request.dynamic_properties)
    components = ",".join(
        f"{_text(component)}:{{{_members(request.process_properties[component])}}}"
        for component in sorted(request.process_properties)
    )
    return (
        f'{{"digestVersion":{DIGEST_VERSION},"request":{{"atomId":{_text(request.atom_id)},'
        f'"dynamicProperties":{{{dynamic}}},"processId":{_text(request.process_id)},'
        f'"processProperties":{{{components}}}}}}}'
    )


def _members(values: Mapping[str, PropertyValue]) -> str:
    return ",".join(
        f"{_text(key)}:{_text(value) if isinstance(value, str) else _secret(value)}"
        for key, value in sorted(values.items())
    )


def _secret(value: SecretRef) -> str:
    return f'{{"secret":{_text(value.secret)}}}'


def compute_digest(request: RunRequest) -> str:
    """Return ``v1:sha256:<hex>`` for a request."""
    text = canonical_text(request)
    return f"v{DIGEST_VERSION}:sha256:{hashlib.sha256(text.encode('utf-8')).hexdigest()}"


def plan_items(plan: Plan) -> list[tuple[str, str, str | None]]:
    """``(name, action, run digest)`` of every action that changes something, in plan order."""
    items = []
    for action in plan.actions:
        if not action.kind.changes:
            continue
        run = action.desired.digest if action.desired is not None else None
        current = action.current.digest if action.current is not None else None
        items.append((action.name, action.kind.value, run or current))
    return items


def plan_digest(plan: Plan) -> str:
    """Return ``sha256:<hex>`` naming what a plan would do, for review on a pull request.

    Covers the environment and, for every action that changes something, its name, its kind
    and the digest of the run it submits or follows. Reasons, timings, formatting and no-op
    entries are outside it, so the plan shown on a pull request and the plan computed at
    merge have the same digest exactly when they would do the same things.
    """
    return items_digest(plan.environment, plan_items(plan))


def items_digest(environment: str, items: Iterable[tuple[str, str, str | None]]) -> str:
    """The plan digest's recipe over ``(name, action, run digest)`` of the changing actions.

    One recipe for a plan computed here (``plan_digest``) and for a plan document read back
    (``plan.document.PlanDocument.computed_digest``), so the two can never drift apart.
    """
    payload = {"environment": environment, "actions": [list(item) for item in items]}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return f"sha256:{hashlib.sha256(text.encode('utf-8')).hexdigest()}"


def diff_requests(old: RunRequest, new: RunRequest) -> tuple[str, ...]:
    """Field-level differences between two requests, as ``field: old → new`` lines."""
    before = _flatten(canonical_request(old))
    after = _flatten(canonical_request(new))
    changes = []
    for key in sorted(before.keys() | after.keys()):
        if before.get(key) != after.get(key):
            changes.append(f"{key}: {_show(before.get(key))} → {_show(after.get(key))}")
    return tuple(changes)


def _value(value: PropertyValue) -> Any:
    return value if isinstance(value, str) else {"secret": value.secret}


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, dict) and "secret" not in data:
        out: dict[str, Any] = {}
        for key, value in data.items():
            out.update(_flatten(value, f"{prefix}.{key}" if prefix else key))
        return out
    return {prefix: data}


def _show(value: Any) -> str:
    if value is None:
        return "(absent)"
    if isinstance(value, dict):
        return f'secret("{value["secret"]}")'
    return json.dumps(value, ensure_ascii=False)
