"""The digests: what makes two runs "the same run", and two plans "the same plan".

Pure. A run's digest is a sha256 over canonical JSON (sorted keys, no whitespace, UTF-8) of
exactly the fields that define a run: the process, the runtime and every property value after
templating. A secret contributes its name, never its value. Reformatting a spec, reordering keys
or editing comments cannot change the digest. The digest carries a version prefix so a future
change to what it covers is visible in state instead of silently re-running everything.

A run's revision (``compute_revision``) names the spec as written, not the request: the
templates before rendering, aliases before resolving, the spec's own variables, the name and
the matrix combination. It is the same in every environment, which the digest is not (each
environment has its own runtimes and values), so "this revision succeeded in test" can be
checked in prod (``policy.promote``).

A plan's digest (``plan_digest``) names everything a reviewer is shown about each action that
does something: its name, kind, run digest, reason and field changes (version 2; version 1
left the reason and the changes out, so a pull request's own plan artifact could show invented
changes under a matching digest). The field changes and reasons are bounded here and in the
planner (``CHANGE_*``, ``REASON_LIMIT``), and a plan document read back is held to the same
bounds (``plan.document``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from json.encoder import encode_basestring as _text
from typing import Any, NamedTuple

from reconciler.model import Plan, PropertyValue, RunRequest, SecretRef

DIGEST_VERSION = 1
#: What a spec revision covers (``compute_revision``).
REVISION_VERSION = 1
#: What a plan digest covers: 2 added each action's reason and field changes.
PLAN_DIGEST_VERSION = 2
#: A run digest as ``compute_digest`` writes it (any version).
RUN_DIGEST_PATTERN = re.compile(r"v[0-9]{1,4}:sha256:[0-9a-f]{64}\Z")

#: Characters of one value in a field-change line (``diff_requests``), of one whole line, and
#: how many lines one action lists; characters of one reason (the planner cuts longer ones).
CHANGE_VALUE_LIMIT = 1_000
CHANGE_LIMIT = 4_096
CHANGES_LIMIT = 1_000
REASON_LIMIT = 4_096


def cut(text: str, limit: int) -> str:
    """``text``, or its first ``limit - 1`` characters and an ellipsis when it is longer."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


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


def source_digest(written: Mapping[str, Any]) -> str:
    """A sha256 (hex) of plain data as written in a spec: canonical JSON, sorted keys.

    The first half of a revision (``compute_revision``): what one execution item of a spec
    says, before anything of an environment (its variables, aliases, ``--var``, git facts) is
    added, hashed once per item rather than once per matrix combination.
    """
    payload = {"revisionVersion": REVISION_VERSION, "spec": written}
    text = json.dumps(
        payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def compute_revision(source: str, name: str, matrix: Mapping[str, Any]) -> str:
    """Return ``v1:sha256:<hex>``: the revision of one execution, the same in every environment.

    ``source`` is the ``source_digest`` of its item's request fields as written (templates
    unrendered, aliases unresolved, the spec's own ``vars``); ``name`` and ``matrix`` tell
    the executions of one item apart. Changing what an execution sends, in the spec, makes a
    new revision; changing an environment's variables or aliases does not.
    """
    text = json.dumps(
        [source, name, dict(matrix)],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return f"v{REVISION_VERSION}:sha256:{hashlib.sha256(text.encode('utf-8')).hexdigest()}"


def short_revision(revision: str | None) -> str:
    """The first 12 hex digits of a revision, for reasons; a malformed one says so."""
    if revision is None or not RUN_DIGEST_PATTERN.match(revision):
        return "(unreadable)"
    return revision.rsplit(":", 1)[1][:12]


class PlanItem(NamedTuple):
    """What the plan digest covers of one action that changes something."""

    name: str
    action: str
    run: str | None  # the digest of the run it submits or follows
    reason: str
    changes: tuple[str, ...]


def plan_items(plan: Plan) -> list[PlanItem]:
    """The ``PlanItem`` of every action that changes something, in plan order."""
    items = []
    for action in plan.actions:
        if not action.kind.changes:
            continue
        run = action.desired.digest if action.desired is not None else None
        current = action.current.digest if action.current is not None else None
        items.append(
            PlanItem(action.name, action.kind.value, run or current, action.reason, action.changes)
        )
    return items


def plan_digest(plan: Plan) -> str:
    """Return ``sha256:<hex>`` naming what a plan would do and says, for review on a pull request.

    Covers the environment and, for every action that changes something, its name, kind,
    the digest of the run it submits or follows, its reason and its field changes: all a
    plan comment shows of it. Timings, formatting and the entries that do nothing are outside
    it, so the plan shown on a pull request and the plan computed at merge have the same
    digest exactly when they would do the same things for the reasons shown.
    """
    return items_digest(plan.environment, plan_items(plan))


def items_digest(environment: str, items: Iterable[PlanItem]) -> str:
    """The plan digest's recipe over the ``PlanItem`` of each changing action.

    One recipe for a plan computed here (``plan_digest``) and for a plan document read back
    (``plan.document.PlanDocument.computed_digest``), so the two can never drift apart.
    """
    payload = {
        "planDigestVersion": PLAN_DIGEST_VERSION,
        "environment": environment,
        "actions": [
            [item.name, item.action, item.run, item.reason, list(item.changes)] for item in items
        ],
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return f"sha256:{hashlib.sha256(text.encode('utf-8')).hexdigest()}"


def diff_requests(old: RunRequest, new: RunRequest) -> tuple[str, ...]:
    """Field-level differences between two requests, as ``field: old → new`` lines.

    Bounded: each value cut at ``CHANGE_VALUE_LIMIT`` characters, each line at
    ``CHANGE_LIMIT``, and at most ``CHANGES_LIMIT`` lines (the last says how many more).
    """
    before = _flatten(canonical_request(old))
    after = _flatten(canonical_request(new))
    changes = []
    for key in sorted(before.keys() | after.keys()):
        if before.get(key) != after.get(key):
            line = f"{key}: {_show(before.get(key))} → {_show(after.get(key))}"
            changes.append(cut(line, CHANGE_LIMIT))
    if len(changes) > CHANGES_LIMIT:
        more = len(changes) - CHANGES_LIMIT + 1
        changes[CHANGES_LIMIT - 1 :] = [f"… {more} more fields changed"]
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
        return cut(f'secret("{value["secret"]}")', CHANGE_VALUE_LIMIT)
    return cut(json.dumps(value, ensure_ascii=False), CHANGE_VALUE_LIMIT)
