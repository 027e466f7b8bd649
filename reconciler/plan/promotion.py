"""Promotion: a revision runs here only after it succeeded in the environments it names.

Pure. ``policy.promote.after`` lists environments in order (``RunPolicy.promote_after``). In an
environment the list does not name, a run that would start (``submit``, ``rerun``, ``retry``)
needs its revision (``DesiredRun.revision``: the spec as written, the same everywhere) to
have ended successfully, as the execution's policy counts success, in every named
environment; in a named one, in those named before it. Without that it is ``skip``ped with
a reason that starts with ``PROMOTION_WAIT`` and says what is missing where; with it, the
reason says where it was promoted from. The other environments' state arrives as read-only
mappings, read from their state files by the caller.

A named environment is where a revision earns its promotion, so there a new revision runs
even when its request did not change (an unused variable edited, an alias written as an id):
otherwise it would never run there, and every later environment would wait for it forever.
Under a ``once`` policy any revision that succeeded promotes, since later changes are
ignored by design.
"""

from __future__ import annotations

from collections.abc import Mapping

from reconciler.model import Action, ActionKind, DesiredRun, Phase, RunMode, StateEntry
from reconciler.model.digest import cut, short_revision

#: How the reason of every run held back by promotion starts.
PROMOTION_WAIT = "waits for promotion"
_SHOWN = 64  # characters of a status or message from another environment's state


def promote(
    actions: Mapping[str, Action],
    environment: str,
    sources: Mapping[str, Mapping[str, StateEntry]],
) -> dict[str, Action]:
    """``actions`` with every promotion rule applied in ``environment``.

    ``sources`` maps an environment to its recorded state; one that is missing has no runs.
    """
    out: dict[str, Action] = {}
    for name, action in actions.items():
        run = action.desired
        if run is not None and run.policy.promote_after:
            action = _earn(action, run, environment)
            if action.kind.submits:
                action = _gate(action, run, environment, sources)
        out[name] = action
    return out


def _earn(action: Action, run: DesiredRun, environment: str) -> Action:
    """In a named environment, a ``noop`` of an older revision becomes a ``rerun``."""
    entry = action.current
    if (
        environment not in run.policy.promote_after
        or action.kind is not ActionKind.NOOP
        or run.policy.run is not RunMode.ON_CHANGE
        or entry is None
        or entry.phase is not Phase.FINAL
        or entry.revision == run.revision
    ):
        return action
    before = (
        f"was revision {short_revision(entry.revision)}"
        if entry.revision
        else "recorded no revision"
    )
    reason = (
        f"revision {short_revision(run.revision)} has not run here (the last run here {before}; "
        f"ended {_shown(entry.status)}); runs again, though the request is unchanged, so that "
        "it can be promoted"
    )
    return action.model_copy(update={"kind": ActionKind.RERUN, "reason": reason})


def _gate(
    action: Action,
    run: DesiredRun,
    environment: str,
    sources: Mapping[str, Mapping[str, StateEntry]],
) -> Action:
    """Skip the run unless its revision succeeded in every environment it must come from."""
    needed = run.policy.promotion_sources(environment)
    if not needed:
        return action
    missing = [
        problem
        for source in needed
        if (problem := _missing(run, sources.get(source, {}).get(run.name), source))
    ]
    revision = short_revision(run.revision)
    if missing:
        reason = f"{PROMOTION_WAIT}: revision {revision} {'; '.join(missing)}"
        return action.model_copy(update={"kind": ActionKind.SKIP, "reason": reason, "after": ()})
    where = ", ".join(needed)
    if run.policy.run is RunMode.ONCE:
        reason = f"{action.reason}; promoted from {where} (once policy: a run succeeded there)"
    else:
        reason = f"{action.reason}; promoted from {where} (revision {revision} succeeded there)"
    return action.model_copy(update={"reason": reason})


def _missing(run: DesiredRun, entry: StateEntry | None, source: str) -> str | None:
    """What keeps ``run``'s revision from being promoted from ``source``; None when nothing."""
    if entry is None:
        return f"has not run in {source} yet"
    if run.policy.run is not RunMode.ONCE and entry.revision != run.revision:
        last = (
            f"was revision {short_revision(entry.revision)}"
            if entry.revision
            else "recorded no revision"
        )
        return f"has not run in {source} yet (the last run there {last}; {_last(entry)})"
    if entry.phase is Phase.FINAL and run.policy.succeeded(entry.status):
        return None
    if entry.phase is Phase.SUBMITTED:
        return f"is still running in {source}"
    return f"has not succeeded in {source} (the last run there {_last(entry)})"


def _last(entry: StateEntry) -> str:
    """How the last run of another environment ended, in a few words."""
    if entry.phase is Phase.FINAL:
        return f"ended {_shown(entry.status)}"
    if entry.phase is Phase.REJECTED:
        return "was rejected"
    if entry.phase is Phase.SUBMITTED:
        return "is still running"
    return "is an unresolved submit"


def _shown(text: str | None) -> str:
    return cut(text, _SHOWN) if text else "with no status"
