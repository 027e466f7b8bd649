"""The one typed model of ``plan.json``, and its one strict, bounded parser.

Pure. A plan document (``plan --output json``) comes back as untrusted data: as a pull
request's artifact for the sticky comment (``github.comment``), and as ``--reviewed-plan`` for
the review at apply (``plan.review``). ``parse_plan_document`` reads it strictly and bounded:
at most ``PLAN_SIZE_LIMIT`` bytes; every name a valid execution name and listed once, every
action kind one of ``ActionKind``, every run digest of ``compute_digest``'s form, reasons and
field changes strings within the planner's bounds (``model.digest``). Anything else raises
``PlanDocumentError`` naming the field, what was expected and (cut, quoted, inert for a log)
what was found; each caller keeps that message or words its own. What a document says about
itself (counts, has-changes) is computed from its actions, never read; its digest is checked
against the actions with the same recipe as ``model.digest.plan_digest``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from typing import Literal

from reconciler.errors import UserError
from reconciler.model import ActionKind
from reconciler.model.digest import (
    CHANGE_LIMIT,
    CHANGES_LIMIT,
    REASON_LIMIT,
    RUN_DIGEST_PATTERN,
    PlanItem,
    cut,
    items_digest,
)
from reconciler.model.values import EXECUTION_NAME_PATTERN
from reconciler.outbound import log

# Bytes of a plan document read back. plan --output json takes about 700 bytes an action, so
# this admits about 48,000 executions while bounding what a hostile document can make us parse.
PLAN_SIZE_LIMIT = 32 * 1024 * 1024
#: An execution name: the spec language's pattern, from the model both layers share (``\Z``:
#: no line break after it). Environments follow it too.
NAME_PATTERN = re.compile(EXECUTION_NAME_PATTERN.removeprefix("^").removesuffix("$") + r"\Z")
NAME_WORDS = "lower-case letters, digits and dashes, starting with a letter, at most 63 characters"
ENV_PATTERN = NAME_PATTERN
DIGEST_PATTERN = re.compile(r"sha256:[0-9a-f]{64}\Z")

#: What the plan digest covers of one changing action (``model.digest.PlanItem``).
Item = PlanItem

#: Which part of a document a problem is in.
Part = Literal[
    "formatVersion",
    "size",
    "json",
    "object",
    "environment",
    "planDigest",
    "actions",
    "action",  # an entry that is not an object
    "action.name",  # not a name, or a name listed twice
    "action.action",
    "action.reason",
    "action.digest",
    "action.changes",
]


@dataclass(frozen=True)
class PlanAction:
    """One action of a plan document, as read (strings still untrusted)."""

    name: str
    action: ActionKind
    reason: str
    digest: str | None
    changes: tuple[str, ...]


@dataclass(frozen=True)
class PlanDocument:
    """A ``plan --output json`` document: its environment, stated digest and actions."""

    environment: str
    digest: str
    actions: tuple[PlanAction, ...]

    @property
    def has_changes(self) -> bool:
        """Whether any action may do work on the platform (computed, not read)."""
        return any(a.action.changes for a in self.actions)

    def counts(self) -> dict[str, int]:
        """How many actions of each kind, in the order of ``ActionKind`` (computed, not read)."""
        seen = Counter(a.action.value for a in self.actions)
        return {kind.value: seen[kind.value] for kind in ActionKind}

    @property
    def items(self) -> tuple[Item, ...]:
        """The ``PlanItem`` of every action that changes something, in order."""
        return tuple(
            PlanItem(a.name, a.action.value, a.digest, a.reason, a.changes)
            for a in self.actions
            if a.action.changes
        )

    def computed_digest(self) -> str:
        """The plan digest of these actions, by ``model.digest.plan_digest``'s recipe."""
        return items_digest(self.environment, self.items)

    @property
    def consistent(self) -> bool:
        """Whether the stated plan digest is the digest of the listed actions."""
        return self.digest == self.computed_digest()


class PlanDocumentError(UserError):
    """A plan document that is not one: which part, the problem, and the offending value.

    The message is ``<source>: <part>: <problem>``; ``line`` and ``col`` locate a JSON syntax
    error, ``detail`` is the decoder's own words, ``index`` the action's position.
    """

    def __init__(
        self,
        source: str,
        part: Part,
        problem: str,
        *,
        index: int | None = None,
        value: object = None,
        detail: str = "",
        line: int | None = None,
        col: int | None = None,
    ) -> None:
        super().__init__(f"{source}: {problem}")
        self.source, self.part, self.problem = source, part, problem
        self.index, self.value, self.detail = index, value, detail
        self.line, self.col = line, col


#: The ``formatVersion`` of ``plan --output json`` (``report.renderers.FORMAT_VERSION``).
PLAN_FORMAT_VERSION = 1


def parse_plan_document(data: bytes | str, source: str) -> PlanDocument:
    """Read a plan document strictly; ``PlanDocumentError`` naming ``source`` if it is not one.

    Checked in this order: size, JSON, an object, ``formatVersion`` (absent or 1),
    ``environment``, ``planDigest`` a string, ``actions`` a list, each action, and last
    ``planDigest``'s form.
    """
    if len(data) > PLAN_SIZE_LIMIT:
        raise PlanDocumentError(
            source, "size", f"larger than {PLAN_SIZE_LIMIT} bytes; not a plan document"
        )
    try:
        doc = json.loads(data)
    except json.JSONDecodeError as exc:
        raise PlanDocumentError(
            source, "json", f"not JSON ({exc})", detail=exc.msg, line=exc.lineno, col=exc.colno
        ) from None
    except UnicodeDecodeError as exc:
        raise PlanDocumentError(source, "json", f"not JSON ({exc})", detail=str(exc)) from None
    except (RecursionError, ValueError):  # nested too deep; a number of thousands of digits
        raise PlanDocumentError(
            source, "json", "not a plan document: nested too deeply or a number too long to read"
        ) from None
    if not isinstance(doc, dict):
        raise PlanDocumentError(source, "object", "expected a plan document (a JSON object)")
    version = doc.get("formatVersion", PLAN_FORMAT_VERSION)  # older documents may lack it
    if type(version) is not int or version != PLAN_FORMAT_VERSION:
        raise PlanDocumentError(
            source,
            "formatVersion",
            f"formatVersion: expected {PLAN_FORMAT_VERSION} (a plan written by this reconciler)",
            value=version,
        )
    environment, digest, actions = doc.get("environment"), doc.get("planDigest"), doc.get("actions")
    if not isinstance(environment, str) or not ENV_PATTERN.match(environment):
        raise PlanDocumentError(
            source, "environment", "environment: expected an environment name", value=environment
        )
    bad_digest = PlanDocumentError(
        source, "planDigest", "planDigest: expected sha256:<64 hex digits>", value=digest
    )
    if not isinstance(digest, str):
        raise bad_digest
    if not isinstance(actions, list):
        raise PlanDocumentError(source, "actions", "actions: expected a list", value=actions)
    parsed = tuple(_action(item, index, source) for index, item in enumerate(actions))
    _check_unique(parsed, source)
    if not DIGEST_PATTERN.match(digest):
        raise bad_digest
    return PlanDocument(environment=environment, digest=digest, actions=parsed)


def _action(item: object, index: int, source: str) -> PlanAction:
    where = f"actions[{index}]"

    def bad(part: Part, problem: str, value: object) -> PlanDocumentError:
        return PlanDocumentError(source, part, f"{where}{problem}", index=index, value=value)

    if not isinstance(item, dict):
        raise bad("action", ": expected an object", item)
    name, kind, reason = item.get("name"), item.get("action"), item.get("reason", "")
    digest, changes = item.get("digest"), item.get("changes", [])
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        problem = f".name: expected an execution name ({NAME_WORDS}), got {shown(name)}"
        raise bad("action.name", problem, name)
    try:
        action = ActionKind(kind) if isinstance(kind, str) else None
    except ValueError:
        action = None
    if action is None:
        kinds = ", ".join(k.value for k in ActionKind)
        raise bad("action.action", f".action: expected one of {kinds}", kind)
    if not isinstance(reason, str):
        raise bad("action.reason", ".reason: expected a string", reason)
    if len(reason) > REASON_LIMIT:
        raise bad("action.reason", f".reason: longer than {REASON_LIMIT} characters", reason)
    if digest is not None and not (isinstance(digest, str) and RUN_DIGEST_PATTERN.match(digest)):
        problem = f".digest: expected a run digest (v1:sha256:<64 hex digits>), got {shown(digest)}"
        raise bad("action.digest", problem, digest)
    if not isinstance(changes, list) or not all(isinstance(c, str) for c in changes):
        raise bad("action.changes", ".changes: expected a list of strings", changes)
    if len(changes) > CHANGES_LIMIT:
        raise bad("action.changes", f".changes: more than {CHANGES_LIMIT} lines", changes)
    for number, change in enumerate(changes):
        if len(change) > CHANGE_LIMIT:
            problem = f".changes[{number}]: longer than {CHANGE_LIMIT} characters"
            raise bad("action.changes", problem, change)
    return PlanAction(name, action, reason, digest, tuple(changes))


def _check_unique(actions: tuple[PlanAction, ...], source: str) -> None:
    """Each name once: a second row for a name could hide, beside a harmless one, what it does."""
    first: dict[str, int] = {}
    for index, action in enumerate(actions):
        earlier = first.setdefault(action.name, index)
        if earlier != index:
            problem = (
                f"actions[{index}].name: {action.name} is listed twice (also actions[{earlier}])"
            )
            raise PlanDocumentError(source, "action.name", problem, index=index, value=action.name)


def shown(value: object) -> str:
    """A found value for an error message: a string quoted, cut and inert for a log; else a type."""
    if isinstance(value, str):
        return log(repr(cut(value, 60)))
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "a list" if isinstance(value, list) else "an object"
