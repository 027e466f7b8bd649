"""One action per name, each with its whole reason asserted."""

from __future__ import annotations

from datetime import UTC, datetime

from reconciler.digest import compute_digest
from reconciler.model import (
    ActionKind,
    DesiredRun,
    Location,
    Phase,
    RunRequest,
    StateEntry,
)
from reconciler.planner import build_plan

T0 = datetime(2026, 1, 15, 10, 0, 0, tzinfo=UTC)


def _run(name: str, value: str = "1") -> DesiredRun:
    request = RunRequest(process_id="p", atom_id="a", dynamic_properties={"V": value})
    return DesiredRun(
        name=name, request=request, digest=compute_digest(request), source=Location(file="s.yaml")
    )


def _entry(run: DesiredRun, phase: Phase, **extra: object) -> StateEntry:
    fields: dict[str, object] = {
        "name": run.name,
        "digest": run.digest,
        "request": run.request,
        "phase": phase,
        "attempt_id": "a-1",
        "intent_at": T0,
    }
    fields.update(extra)
    return StateEntry.model_validate(fields)


def _reasons(plan: object) -> list[tuple[str, str, str]]:
    return [(a.name, a.kind.value, a.reason) for a in plan.actions]  # type: ignore[attr-defined]


def test_every_action_kind_with_its_reason() -> None:
    done = _run("done")
    changed_old = _run("changed", "1")
    changed_new = _run("changed", "2")
    running = _run("running")
    lost = _run("lost")
    rejected = _run("rejected")
    ambiguous = _run("ambiguous")
    state = {
        "done": _entry(
            done,
            Phase.FINAL,
            request_id="r1",
            execution_id="execution-1",
            status="COMPLETE",
            submitted_at=T0,
            execution_time=T0,
        ),
        "changed": _entry(changed_old, Phase.FINAL, status="ERROR", submitted_at=T0),
        "running": _entry(
            running, Phase.SUBMITTED, request_id="executionrecord-9", submitted_at=T0
        ),
        "lost": _entry(lost, Phase.INTENT),
        "rejected": _entry(rejected, Phase.REJECTED, message="Process p is not deployed"),
        "ambiguous": _entry(ambiguous, Phase.UNKNOWN, message="ReadTimeout"),
        "gone": _entry(_run("gone"), Phase.FINAL, status="COMPLETE"),
    }
    desired = [done, changed_new, running, lost, rejected, ambiguous, _run("new")]
    plan = build_plan(desired, state)
    assert _reasons(plan) == [
        (
            "ambiguous",
            "unknown",
            "the submit of 2026-01-15T10:00:00Z may or may not have started a run: ReadTimeout",
        ),
        ("changed", "rerun", "request changed since the last run (dynamicProperties.V)"),
        ("done", "noop", "up to date: ran 2026-01-15T10:00:00Z, ended COMPLETE (execution-1)"),
        (
            "gone",
            "orphan",
            "in state but no spec defines it; left alone (delete its state file to forget it)",
        ),
        (
            "lost",
            "unknown",
            "a submit began 2026-01-15T10:00:00Z but its requestId was never recorded; it may "
            "or may not have started a run, so it is not submitted again automatically",
        ),
        ("new", "submit", "never run"),
        (
            "rejected",
            "submit",
            "the last submit was rejected, nothing ran: Process p is not deployed; "
            "submitting again",
        ),
        (
            "running",
            "resume",
            "submitted 2026-01-15T10:00:00Z as executionrecord-9; not final yet",
        ),
    ]
    changed = next(a for a in plan.actions if a.name == "changed")
    assert changed.changes == ('dynamicProperties.V: "1" → "2"',)
    assert plan.has_changes


def test_changed_spec_while_running_resumes_first() -> None:
    old, new = _run("x", "1"), _run("x", "2")
    state = {"x": _entry(old, Phase.SUBMITTED, request_id="r", submitted_at=T0)}
    (action,) = build_plan([new], state).actions
    assert action.kind is ActionKind.RESUME
    assert action.reason == (
        "submitted 2026-01-15T10:00:00Z as r; not final yet; the spec changed since, so it runs "
        "again once this run has finished"
    )


def test_nothing_to_do_has_no_changes() -> None:
    run = _run("x")
    state = {"x": _entry(run, Phase.FINAL, status="ERROR", submitted_at=T0)}
    plan = build_plan([run], state)
    assert not plan.has_changes
    assert _reasons(plan) == [("x", "noop", "up to date: ran 2026-01-15T10:00:00Z, ended ERROR")]
