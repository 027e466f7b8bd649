"""State files as bytes: the canonical encoding, and a bounded, migrating decoder.

An edge's codec, pure. ``encode_entry`` writes sorted keys with a two-space indent, the
platform's text scrubbed of secrets by the given ``Redactor``. ``decode_entry`` reads what may
have come from a pull request (docs/security.md): a number of more than 18 digits, ``NaN`` or
nesting deep enough to exhaust the parser is a ``StateError`` naming the file (and the line),
never a crash. Older schema versions are
migrated in memory by pure functions; newer ones are refused.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, NoReturn

from pydantic import ValidationError

from reconciler.errors import StateError
from reconciler.model import Phase, StateEntry
from reconciler.outbound import NO_SECRETS, Redactor
from reconciler.store.redact import scrub_entry

Migration = Callable[[dict[str, Any]], dict[str, Any]]


def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    """Version 2 added ``revision``, which a version-1 entry lacks: it stays without one.

    ``revision`` is the spec revision a run was submitted for, which ``policy.promote``
    compares across environments; an entry without one is a run of no known revision. The
    version changed so that an older reconciler refuses a file with the new field by name
    ("written by a newer reconciler") rather than as an unknown field.
    """
    return data


def _v2_to_v3(data: dict[str, Any]) -> dict[str, Any]:
    """Version 3 added ``on_demand`` (entry and history): a deliberate re-run's reason.

    An older entry has none: none of its attempts was asked with ``apply --rerun``. As for
    version 2, the version changed so an older reconciler refuses the new field by name.
    """
    return data


def _v3_to_v4(data: dict[str, Any]) -> dict[str, Any]:
    """Version 4 added ``upstream``: the attempt of each dependency's run an attempt followed.

    An older entry has none: the planner then compares when the runs began
    (``plan.dependents``). As before, the version changed so an older reconciler refuses the
    new field by name.
    """
    return data


# Migration n turns a version-n document into version n+1. Append, never edit.
MIGRATIONS: tuple[Migration, ...] = (_v1_to_v2, _v2_to_v3, _v3_to_v4)
MIN_SCHEMA_VERSION = 1
SCHEMA_VERSION = MIN_SCHEMA_VERSION + len(MIGRATIONS)

#: The most digits a whole number in a state file may have (counts and milliseconds: int64).
MAX_DIGITS = 18


def encode_entry(entry: StateEntry, redactor: Redactor = NO_SECRETS) -> bytes:
    """Canonical bytes of one entry: sorted keys, two-space indent, trailing newline.

    The platform's text (``redact.PLATFORM_TEXT``, in the entry and its history) is scrubbed
    with ``redactor`` first.
    """
    entry = scrub_entry(entry, redactor)
    data = {"schemaVersion": SCHEMA_VERSION, **entry.model_dump(mode="json", exclude_none=True)}
    return (json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()


class _Refused(ValueError):
    """A token the decoder will not turn into a number."""

    def __init__(self, token: str, what: str) -> None:
        super().__init__(what)
        self.token = token
        self.what = what


def _whole(token: str) -> int:
    digits = len(token.lstrip("-"))
    if digits > MAX_DIGITS:
        raise _Refused(token, f"a number of {digits:,} digits")
    return int(token)


def _fraction(token: str) -> float:
    value = float(token) if len(token) <= 64 else float("inf")
    if not abs(value) <= 10.0**MAX_DIGITS:
        raise _Refused(token, f"the number {token[:24]}{'…' if len(token) > 24 else ''}")
    return value


def _constant(token: str) -> NoReturn:
    raise _Refused(token, f"the constant {token}")


def decode_entry(raw: bytes, source: str) -> StateEntry:
    """Parse, migrate and validate one state file's bytes."""
    try:
        data = json.loads(raw, parse_int=_whole, parse_float=_fraction, parse_constant=_constant)
    except _Refused as exc:
        raise StateError(
            f"{source}:{_line_of(raw, exc.token)}: {exc.what}; expected a whole number of at "
            f"most {MAX_DIGITS} digits"
        ) from None
    except RecursionError:
        raise StateError(
            f"{source}: arrays or objects nested too deeply to read; expected a state file "
            "(a JSON object a few levels deep)"
        ) from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        raise StateError(f"{source}: state file is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise StateError(f"{source}: state file must hold a JSON object")
    version = data.pop("schemaVersion", None)
    if not isinstance(version, int) or version < MIN_SCHEMA_VERSION:
        raise StateError(f"{source}: schemaVersion {version!r} is not a supported state version")
    if version > SCHEMA_VERSION:
        raise StateError(
            f"{source}: written by a newer reconciler (state schema {version}, this one reads "
            f"up to {SCHEMA_VERSION})",
            hint="upgrade reconciler to read it",
        )
    for migration in MIGRATIONS[version - MIN_SCHEMA_VERSION :]:
        data = migration(data)
    try:
        return StateEntry.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise StateError(f"{source}: field {field}: {first['msg']}") from None


def _line_of(raw: bytes, token: str) -> int:
    """The line of the first occurrence of ``token`` in ``raw`` (1 when not found)."""
    at = raw.find(token.encode("utf-8", "replace"))
    return raw.count(b"\n", 0, at) + 1 if at >= 0 else 1


def supersedes(theirs: bytes, ours: bytes) -> bool:
    """Whether our version of a state file may replace theirs.

    It may when theirs is the same or an earlier step of the same attempt (our own intent,
    pushed before the submit) or an attempt in our history; anything else was written by
    another apply, or is a later step than ours (a stale copy must never replace it).
    """
    if theirs == ours:
        return True
    return _order(theirs, ours) in ("same step", "later")


def later_step(theirs: bytes, ours: bytes) -> bool:
    """Whether ours is strictly later than theirs.

    Later: a later step of the same attempt, or an attempt whose history holds theirs. Equal
    steps, strangers and unreadable files are not.
    """
    return theirs != ours and _order(theirs, ours) == "later"


#: The order of the steps of one attempt: intent, then unknown (an ambiguous POST), submitted
#: (a requestId, or adopted), then a final status or a rejection.
_STEP = {Phase.INTENT: 0, Phase.UNKNOWN: 1, Phase.SUBMITTED: 2, Phase.REJECTED: 3, Phase.FINAL: 3}


def _order(theirs: bytes, ours: bytes) -> str:
    """How ours relates to theirs: ``later``, ``same step``, ``earlier`` or ``unrelated``."""
    try:
        old, new = decode_entry(theirs, "upstream"), decode_entry(ours, "local")
    except StateError:
        return "unrelated"
    if old.name != new.name:
        return "unrelated"
    if old.attempt_id == new.attempt_id:
        step_old, step_new = _STEP[old.phase], _STEP[new.phase]
        if step_new == step_old:
            return "same step"
        return "later" if step_new > step_old else "earlier"
    if old.attempt_id in {attempt.attempt_id for attempt in new.history}:
        return "later"
    return "unrelated"
