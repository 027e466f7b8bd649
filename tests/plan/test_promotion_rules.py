"""The promotion rules of ``plan.promotion``, one state of the source environment at a time."""

from __future__ import annotations

from datetime import UTC, datetime

from reconciler.model import (
    DesiredRun,
    Location,
    Phase,
    Plan,
    RunMode,
    RunPolicy,
    RunRequest,
    StateEntry,
)
from reconciler.model.digest import compute_digest, compute_revision
from reconciler.plan.planner import build_plan

T0 = datetime(2026, 1, 15, 10, 0, 0, tzinfo=UTC)
R1 = compute_revision("a" * 64, "o", {})
R2 = compute_revision("b" * 64, "o", {})


def _run(
    revision: str = R1, value: str = "1", after: tuple[str, ...] = ("test",), **policy: object
) -> DesiredRun:
    request = RunRequest(process_id="p", atom_id="a", dynamic_properties={"V": value})
    return DesiredRun(
        name="o",
        request=request,
        digest=compute_digest(request),
        source=Location(file="s.yaml"),
        revision=revision,
        policy=RunPolicy(promote_after=after, **policy),  # type: ignore[arg-type]
    )


def _entry(run: DesiredRun, phase: Phase = Phase.FINAL, **extra: object) -> StateEntry:
    fields: dict[str, object] = {
        "name": run.name,
        "digest": run.digest,
        "request": run.request,
        "phase": phase,
        "attempt_id": "a-1",
        "intent_at": T0,
        "revision": run.revision,
        "status": "COMPLETE" if phase is Phase.FINAL else None,
    }
    fields.update(extra)
    return StateEntry.model_validate(fields)


def _one(plan: Plan) -> tuple[str, str]:
    (action,) = plan.actions
    return action.kind.value, action.reason


def _in(env: str, run: DesiredRun, **sources: StateEntry) -> tuple[str, str]:
    state = {name: {"o": entry} for name, entry in sources.items()}
    return _one(build_plan([run], {}, environment=env, promotion=state))


SHORT1 = R1.rsplit(":", 1)[1][:12]
SHORT2 = R2.rsplit(":", 1)[1][:12]
WAIT = f"waits for promotion: revision {SHORT1}"


def test_what_the_source_environment_recorded() -> None:
    run = _run()
    assert _in("prod", run) == ("skip", f"{WAIT} has not run in test yet")
    assert _in("prod", run, test=_entry(run)) == (
        "submit",
        f"never run; promoted from test (revision {SHORT1} succeeded there)",
    )
    warned = _entry(run, status="COMPLETE_WARN")
    assert _in("prod", run, test=warned)[0] == "submit"  # warnIsSuccess: true by default
    strict = _run(warn_is_success=False)
    assert _in("prod", strict, test=_entry(strict, status="COMPLETE_WARN")) == (
        "skip",
        f"{WAIT} has not succeeded in test (the last run there ended COMPLETE_WARN)",
    )
    assert _in("prod", run, test=_entry(run, Phase.SUBMITTED)) == (
        "skip",
        f"{WAIT} is still running in test",
    )
    assert _in("prod", run, test=_entry(run, Phase.REJECTED, message="no")) == (
        "skip",
        f"{WAIT} has not succeeded in test (the last run there was rejected)",
    )
    assert _in("prod", run, test=_entry(run, Phase.UNKNOWN)) == (
        "skip",
        f"{WAIT} has not succeeded in test (the last run there is an unresolved submit)",
    )
    other = _entry(run, revision=R2, status="ERROR")
    assert _in("prod", run, test=other) == (
        "skip",
        f"{WAIT} has not run in test yet (the last run there was revision {SHORT2}; ended ERROR)",
    )


def test_a_hostile_source_state_is_shown_bounded() -> None:
    run = _run()
    forged = _entry(run, revision="x" * 10_000, status="Z" * 10_000)
    kind, reason = _in("prod", run, test=forged)
    assert kind == "skip"
    assert reason == (
        f"{WAIT} has not run in test yet (the last run there was revision (unreadable); ended "
        f"{'Z' * 63}…)"
    )


def test_an_ordered_chain_gates_each_stage_by_the_ones_before() -> None:
    run = _run(after=("dev", "test"))
    assert _in("dev", run) == ("submit", "never run")
    assert _in("test", run) == ("skip", f"{WAIT} has not run in dev yet")
    assert _in("test", run, dev=_entry(run)) == (
        "submit",
        f"never run; promoted from dev (revision {SHORT1} succeeded there)",
    )
    assert _in("prod", run, dev=_entry(run)) == ("skip", f"{WAIT} has not run in test yet")
    assert _in("prod", run) == (
        "skip",
        f"{WAIT} has not run in dev yet; has not run in test yet",
    )
    assert _in("prod", run, dev=_entry(run), test=_entry(run)) == (
        "submit",
        f"never run; promoted from dev, test (revision {SHORT1} succeeded there)",
    )


def test_a_new_revision_runs_again_where_it_is_promoted_from() -> None:
    new = _run(revision=R2)
    old = _entry(new, revision=R1)  # same request, older revision
    plan = build_plan([new], {"o": old}, environment="test")
    assert _one(plan) == (
        "rerun",
        f"revision {SHORT2} has not run here (the last run here was revision {SHORT1}; ended "
        "COMPLETE); runs again, though the request is unchanged, so that it can be promoted",
    )
    # Not where it is promoted to, and not when the revision ran here already.
    assert _one(build_plan([new], {"o": old}, environment="prod"))[0] == "noop"
    assert _one(build_plan([new], {"o": _entry(new)}, environment="test"))[0] == "noop"
    # A once policy ignores changes: it neither runs again nor needs this revision elsewhere.
    once = _run(revision=R2, run=RunMode.ONCE)
    assert _one(build_plan([once], {"o": old}, environment="test"))[0] == "noop"
    assert _in("prod", once, test=_entry(once, revision=R1)) == (
        "submit",
        "never run; promoted from test (once policy: a run succeeded there)",
    )


def test_retries_and_dependencies_see_the_gate() -> None:
    run = _run()
    retrying = _run(retries={"count": 1})
    plan = build_plan(
        [retrying], {"o": _entry(retrying, status="ERROR")}, environment="prod", promotion={}
    )
    assert _one(plan) == ("skip", f"{WAIT} has not run in test yet")
    request = RunRequest(process_id="p", atom_id="a")
    after = DesiredRun(
        name="z",
        request=request,
        digest=compute_digest(request),
        source=Location(file="s.yaml"),
        depends_on=("o",),
    )
    plan = build_plan([run, after], {}, environment="prod")
    reasons = {a.name: (a.kind.value, a.reason) for a in plan.actions}
    assert reasons == {
        "o": ("skip", f"{WAIT} has not run in test yet"),
        "z": ("skip", "waits for dependencies that have not succeeded: o has not run"),
    }
