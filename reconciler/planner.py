"""Desired runs + state → a plan: one action per execution name, each with its reason.

Pure. No clock, no files, no network: the state arrives as a read-only mapping and the plan is
a value that ``plan`` renders and ``apply`` executes unchanged. Every action carries a reason a
human can act on, ``noop`` included.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from reconciler.digest import diff_requests
from reconciler.model import Action, ActionKind, DesiredRun, Phase, Plan, StateEntry


def build_plan(
    desired: Iterable[DesiredRun], state: Mapping[str, StateEntry], *, environment: str = "default"
) -> Plan:
    """Decide what to do for every name found in the specs or in the state."""
    actions: list[Action] = []
    wanted = {run.name: run for run in desired}
    for name in sorted(wanted.keys() | state.keys()):
        run = wanted.get(name)
        entry = state.get(name)
        if run is None:
            assert entry is not None  # noqa: S101 - the name came from one of the two maps
            actions.append(_orphan(entry))
        elif entry is None:
            actions.append(
                Action(name=name, kind=ActionKind.SUBMIT, reason="never run", desired=run)
            )
        else:
            actions.append(_decide(run, entry))
    return Plan(actions=tuple(actions), environment=environment)


def _decide(run: DesiredRun, entry: StateEntry) -> Action:
    changed = entry.digest != run.digest
    if entry.phase in (Phase.INTENT, Phase.UNKNOWN):
        return Action(
            name=run.name,
            kind=ActionKind.UNKNOWN,
            reason=_unknown_reason(entry),
            desired=run,
            current=entry,
        )
    if entry.phase is Phase.SUBMITTED:
        reason = f"submitted {_when(entry.submitted_at)} as {entry.request_id}; not final yet"
        if changed:
            reason += "; the spec changed since, so it runs again once this run has finished"
        return Action(
            name=run.name, kind=ActionKind.RESUME, reason=reason, desired=run, current=entry
        )
    if changed:
        changes = diff_requests(entry.request, run.request)
        what = ", ".join(c.split(":", 1)[0] for c in changes) or "request"
        return Action(
            name=run.name,
            kind=ActionKind.RERUN,
            reason=f"request changed since the last run ({what})",
            desired=run,
            current=entry,
            changes=changes,
        )
    if entry.phase is Phase.REJECTED:
        reason = f"the last submit was rejected, nothing ran: {entry.message}; submitting again"
        return Action(
            name=run.name, kind=ActionKind.SUBMIT, reason=reason, desired=run, current=entry
        )
    reason = f"up to date: ran {_when(entry.execution_time or entry.submitted_at)}"
    reason += f", ended {entry.status}"
    if entry.execution_id:
        reason += f" ({entry.execution_id})"
    return Action(name=run.name, kind=ActionKind.NOOP, reason=reason, desired=run, current=entry)


def _unknown_reason(entry: StateEntry) -> str:
    if entry.phase is Phase.INTENT:
        return (
            f"a submit began {_when(entry.intent_at)} but its requestId was never recorded; "
            "it may or may not have started a run, so it is not submitted again automatically"
        )
    detail = f": {entry.message}" if entry.message else ""
    return f"the submit of {_when(entry.intent_at)} may or may not have started a run{detail}"


def _orphan(entry: StateEntry) -> Action:
    return Action(
        name=entry.name,
        kind=ActionKind.ORPHAN,
        reason="in state but no spec defines it; left alone (delete its state file to forget it)",
        current=entry,
    )


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else "at an unknown time"
