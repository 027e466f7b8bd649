"""The leaf every layer shares: frozen value types, run statuses, progress events, digests.

Owns specs' run requests, desired runs, state entries, plan actions, run results, ``RunStatus``
and the typed progress events (``model.events``), and the versioned fingerprint of a request
(``model.digest``). Imports nothing from ``reconciler`` and does no I/O: time, files and the
environment reach it as values.
"""

from __future__ import annotations

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
    StateEntry,
    dotted,
    is_final_status,
    json_path,
)

__all__ = [
    "HISTORY_LIMIT",
    "Action",
    "ActionKind",
    "ApplyResult",
    "Attempt",
    "DesiredRun",
    "Diagnostic",
    "Frozen",
    "Location",
    "Locator",
    "Meter",
    "Outcome",
    "PathPart",
    "Phase",
    "Plan",
    "PlatformRecord",
    "PropertyValue",
    "ResolvedRequest",
    "RetryPolicy",
    "RunMode",
    "RunPolicy",
    "RunRequest",
    "RunResult",
    "RunStatus",
    "SecretRef",
    "StateEntry",
    "dotted",
    "is_final_status",
    "json_path",
]
