"""The leaf every layer shares: frozen value types, run statuses, progress events, digests.

Owns specs' run requests, desired runs, state entries, plan actions, run results, ``RunStatus``,
the typed progress events (``model.events``), the versioned fingerprint of a request and of a
plan (``model.digest``), the one dependency order shared by ``specs/`` and ``plan/``
(``model.order``) and the git facts templates read (``model.gitfacts``). Imports nothing from
``reconciler`` outside itself and does no I/O: time, files and the environment reach it as
values.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from reconciler.model.values import (
    HISTORY_LIMIT,
    Action,
    ActionKind,
    ApplyResult,
    Attempt,
    DesiredRun,
    Diagnostic,
    Frozen,
    Location,
    Locator,
    Meter,
    Outcome,
    PathPart,
    Phase,
    Plan,
    PlatformRecord,
    PropertyValue,
    ResolvedRequest,
    RetryPolicy,
    RunMode,
    RunPolicy,
    RunRequest,
    RunResult,
    RunStatus,
    SecretRef,
    SecretUse,
    StateEntry,
    dotted,
    is_final_status,
    json_path,
)

if TYPE_CHECKING:
    from reconciler.model.events import (
        WHOLE_APPLY,
        Adopted,
        Ambiguous,
        Event,
        Final,
        NoRecord,
        Notice,
        NotSubmitted,
        PollingStopped,
        Rejected,
        Retry,
        RunEvent,
        Skipped,
        StatusChanged,
        Submitted,
        TimedOut,
        Unknown,
    )

__all__ = [
    "HISTORY_LIMIT",
    "WHOLE_APPLY",
    "Action",
    "ActionKind",
    "Adopted",
    "Ambiguous",
    "ApplyResult",
    "Attempt",
    "DesiredRun",
    "Diagnostic",
    "Event",
    "Final",
    "Frozen",
    "Location",
    "Locator",
    "Meter",
    "NoRecord",
    "NotSubmitted",
    "Notice",
    "Outcome",
    "PathPart",
    "Phase",
    "Plan",
    "PlatformRecord",
    "PollingStopped",
    "PropertyValue",
    "Rejected",
    "ResolvedRequest",
    "Retry",
    "RetryPolicy",
    "RunEvent",
    "RunMode",
    "RunPolicy",
    "RunRequest",
    "RunResult",
    "RunStatus",
    "SecretRef",
    "SecretUse",
    "Skipped",
    "StateEntry",
    "StatusChanged",
    "Submitted",
    "TimedOut",
    "Unknown",
    "dotted",
    "is_final_status",
    "json_path",
]

#: The progress events, imported on first use (``__getattr__``): a dozen dataclasses only an
#: apply emits, which ``validate`` and ``plan`` should not pay for at start-up.
_EVENTS = frozenset(
    {
        "WHOLE_APPLY",
        "Adopted",
        "Ambiguous",
        "Event",
        "Final",
        "NoRecord",
        "Notice",
        "NotSubmitted",
        "PollingStopped",
        "Rejected",
        "Retry",
        "RunEvent",
        "Skipped",
        "StatusChanged",
        "Submitted",
        "TimedOut",
        "Unknown",
    }
)


def __getattr__(name: str) -> Any:
    """A progress event type (``model.events``), imported when first asked for."""
    if name in _EVENTS:
        value = getattr(importlib.import_module("reconciler.model.events"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
