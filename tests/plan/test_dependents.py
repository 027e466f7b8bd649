"""Dependents follow their upstream (issue 17, case 5): every rule of ``plan.dependents``.

Pure planner cases: desired runs and state in, the whole action list (kind, reason, order)
out. ``T0`` is when a dependent last ran; ``T1`` is later.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from reconciler.model import (
    Attempt,
    DesiredRun,
    Location,
    Phase,
    Plan,
    RetryPolicy,
    RunMode,
    RunPolicy,
    RunRequest,
    StateEntry,
)
from reconciler.model.digest import compute_digest, compute_revision
from reconciler.plan.planner import Selection, build_plan

T0 = datetime(2026, 1, 15, 10, 0, 0, tzinfo=UTC)
T1 = T0 + timedelta(hours=1)


def _run(name: str, *deps: str, value: str = "1", **policy: object) -> DesiredRun:
    request = RunRequest(process_id="p", atom_id="a", dynamic_properties={"V": value})
    return DesiredRun(
        name=name,
        request=request,
        digest=compute_digest(request),
        source=Location(file="s.yaml"),
        depends_on=deps,
        policy=RunPolicy(**policy),  # type: ignore[arg-type]
    )


def _ran(
    run: DesiredRun, at: datetime = T0, status: str | None = "COMPLETE", **extra: object
) -> StateEntry:
    fields: dict[str, object] = {
        "name": run.name,
        "digest": run.digest,
        "request": run.request,
        "phase": Phase.FINAL,
        "attempt_id": f"{run.name}-{at:%H}",
        "intent_at": at,
        "submitted_at": at,
        "status": status,
    }
    fields.update(extra)
    return StateEntry.model_validate(fields)


def _actions(plan: Plan) -> list[tuple[str, str, str]]:
    return [(a.name, a.kind.value, a.reason) for a in plan.actions]


UP_TO_DATE = "up to date: ran 2026-01-15T10:00:00Z, ended COMPLETE"


def test_a_rerun_upstream_takes_its_whole_chain_along_in_dependency_order() -> None:
    a_old, a = _run("a", value="1"), _run("a", value="2")
    b, c = _run("b", "a"), _run("c", "b")
    state = {"a": _ran(a_old), "b": _ran(b), "c": _ran(c)}
    plan = build_plan([a, b, c], state)
    assert _actions(plan) == [
        ("a", "rerun", "request changed since the last run (dynamicProperties.V)"),
        ("b", "wait", "upstream a re-runs"),
        ("c", "wait", "upstream b re-runs"),
    ]
    assert [(x.after, x.follows) for x in plan.actions] == [
        ((), ()),
        (("a",), ("a",)),
        (("b",), ("b",)),
    ]
    assert plan.has_changes


def test_every_upstream_action_that_starts_a_run_is_followed() -> None:
    retried = _run("retried", retries=RetryPolicy(count=1))
    always = _run("always", run=RunMode.ALWAYS)
    new, rejected = _run("new"), _run("rejected")
    deps = [_run(f"after-{x.name}", x.name) for x in (retried, always, new, rejected)]
    state = {
        "retried": _ran(retried, status="ERROR"),
        "always": _ran(always),
        "rejected": _ran(rejected, phase=Phase.REJECTED, message="no"),
        **{d.name: _ran(d, at=T1) for d in deps},  # they ran after their upstream
    }
    plan = build_plan([retried, always, new, rejected, *deps], state)
    kinds = {a.name: (a.kind.value, a.reason) for a in plan.actions}
    assert {name: kinds[name] for name in kinds if name.startswith("after-")} == {
        "after-retried": ("wait", "upstream retried re-runs"),
        "after-always": ("wait", "upstream always re-runs"),
        "after-new": ("wait", "upstream new re-runs"),
        "after-rejected": ("wait", "upstream rejected re-runs"),
    }


def test_a_rerun_on_demand_is_followed() -> None:
    a, b = _run("a"), _run("b", "a")
    state = {"a": _ran(a, status="ERROR"), "b": _ran(b, at=T1)}
    assert _actions(build_plan([a, b], state))[1] == ("b", "noop", UP_TO_DATE.replace("10", "11"))
    plan = build_plan([a, b], state, selection=Selection(rerun=("a",)))
    assert _actions(plan) == [
        ("a", "rerun", "re-run on demand (--rerun): last run ended ERROR"),
        ("b", "wait", "upstream a re-runs"),
    ]


def test_the_follow_is_read_from_state_so_an_interrupted_apply_never_loses_it() -> None:
    a, b, c = _run("a"), _run("b", "a"), _run("c", "b")
    # a's new run began after b's last run: b has yet to follow, whatever became of that apply.
    state = {"a": _ran(a, at=T1), "b": _ran(b), "c": _ran(c)}
    plan = build_plan([a, b, c], state)
    assert _actions(plan) == [
        ("a", "noop", UP_TO_DATE.replace("10:", "11:")),
        ("b", "rerun", "upstream a re-ran since this last ran"),
        ("c", "wait", "upstream b re-runs"),
    ]
    # Once b has run after it, nothing is due.
    state["b"] = _ran(b, at=T1 + timedelta(minutes=5))
    state["c"] = _ran(c, at=T1 + timedelta(minutes=9))
    assert [x.kind.value for x in build_plan([a, b, c], state).actions] == ["noop"] * 3


def test_an_upstream_whose_new_run_failed_holds_its_dependents_back_until_it_succeeds() -> None:
    a, b, c = _run("a"), _run("b", "a"), _run("c", "b")
    state = {"a": _ran(a, at=T1, status="ERROR"), "b": _ran(b), "c": _ran(c)}
    plan = build_plan([a, b, c], state)
    assert _actions(plan) == [
        ("a", "noop", "up to date: ran 2026-01-15T11:00:00Z, ended ERROR"),
        ("b", "skip", "waits for dependencies that have not succeeded: a last ended ERROR"),
        (
            "c",
            "skip",
            "upstream b re-runs, but b does not run in this apply: follows once it has run",
        ),
    ]
    assert not plan.has_changes
    assert plan.actions[1].follows == ("a",)  # the plan JSON names it (report renders it)


def test_an_upstream_still_running_is_waited_for() -> None:
    a, b = _run("a"), _run("b", "a")
    running = _ran(a, at=T1, phase=Phase.SUBMITTED, status=None, request_id="r-9")
    plan = build_plan([a, b], {"a": running, "b": _ran(b)})
    assert _actions(plan)[1] == ("b", "wait", "upstream a re-runs")
    # One started before b's last run is nothing new for b.
    earlier = _ran(a, at=T0 - timedelta(hours=1), phase=Phase.SUBMITTED, status=None)
    assert build_plan([a, b], {"a": earlier, "b": _ran(b)}).actions[1].kind.value == "noop"


def test_a_rejected_submit_started_no_run_so_the_run_before_it_counts() -> None:
    a = _run("a", run=RunMode.MANUAL)  # not selected: its rejected submit is not retried
    b = _run("b", "a")
    before = Attempt(
        attempt_id="x", digest=a.digest, intent_at=T0 - timedelta(hours=1), request_id="r"
    )
    rejected = _ran(a, at=T1, phase=Phase.REJECTED, status=None, history=(before,))
    assert build_plan([a, b], {"a": rejected, "b": _ran(b)}).actions[1].kind.value == "noop"
    after = before.model_copy(update={"intent_at": T0 + timedelta(minutes=1)})
    rejected = rejected.model_copy(update={"history": (after,)})
    assert _actions(build_plan([a, b], {"a": rejected, "b": _ran(b)}))[1] == (
        "b",
        "skip",
        "waits for dependencies that have not succeeded: a has not run",
    )


def test_policies_that_do_not_follow() -> None:
    a_old, a = _run("a", value="1"), _run("a", value="2")
    off = _run("off", "a", follow_upstream=False)
    once = _run("once", "a", run=RunMode.ONCE)
    manual = _run("manual", "a", run=RunMode.MANUAL)
    always = _run("always", "a", run=RunMode.ALWAYS)
    runs = [a, off, once, manual, always]
    state = {"a": _ran(a_old), **{r.name: _ran(r) for r in runs[1:]}}
    plan = build_plan(runs, state)
    assert _actions(plan) == [
        ("a", "rerun", "request changed since the last run (dynamicProperties.V)"),
        (
            "always",
            "wait",
            "always policy: runs on every apply (ran 2026-01-15T10:00:00Z, ended COMPLETE); "
            "runs after a succeed",
        ),
        ("manual", "skip", "manual policy: runs only when selected by name"),
        ("off", "noop", UP_TO_DATE),
        ("once", "noop", "once policy: ran 2026-01-15T10:00:00Z, ended COMPLETE"),
    ]
    assert plan.notices == (
        "manual does not follow upstream a, which has a new run: its policy is manual; select "
        "it by name to run it (--select manual)",
    )
    selected = build_plan(runs, state, selection=Selection(patterns=("a", "manual")))
    assert _actions(selected)[1] == (
        "manual",
        "wait",
        "manual policy, selected (ran 2026-01-15T10:00:00Z, ended COMPLETE); runs after a succeed",
    )
    assert selected.notices == ()


def test_a_follow_whose_upstream_does_not_run_in_this_apply_is_held_back() -> None:
    x, a_old, a = _run("x"), _run("a", "x", value="1"), _run("a", "x", value="2")
    b = _run("b", "a")
    state = {"x": _ran(x, status="ERROR"), "a": _ran(a_old), "b": _ran(b)}
    plan = build_plan([x, a, b], state)
    assert _actions(plan) == [
        ("a", "skip", "waits for dependencies that have not succeeded: x last ended ERROR"),
        (
            "b",
            "skip",
            "upstream a re-runs, but a does not run in this apply: follows once it has run",
        ),
        ("x", "noop", "up to date: ran 2026-01-15T10:00:00Z, ended ERROR"),
    ]
    state["x"] = _ran(x)
    alone = build_plan([x, a, b], state, selection=Selection(patterns=("b",)))
    assert _actions(alone) == [
        ("b", "skip", "upstream a re-runs, but a is not selected: follows once it has run"),
    ]
    # Selected alone after its upstream ran, it follows at once.
    state["a"] = _ran(a, at=T1)
    assert _actions(build_plan([x, a, b], state, selection=Selection(patterns=("b",)))) == [
        ("b", "rerun", "upstream a re-ran since this last ran"),
    ]


def test_several_upstream_are_named_in_one_reason() -> None:
    a_old, a = _run("a", value="1"), _run("a", value="2")
    b, c = _run("b"), _run("c", "a", "b")
    state = {"a": _ran(a_old), "b": _ran(b, at=T1), "c": _ran(c)}
    assert _actions(build_plan([a, b, c], state))[2] == (
        "c",
        "wait",
        "upstream a re-runs; upstream b re-ran since this last ran",
    )
    d = _run("d", "a", "e")
    e_old, e = _run("e", value="1"), _run("e", value="2")
    state = {"a": _ran(a_old), "d": _ran(d), "e": _ran(e_old)}
    assert _actions(build_plan([a, d, e], state))[1] == ("d", "wait", "upstream a, e re-run")


def test_a_follow_up_passes_the_promotion_gate_like_any_run() -> None:
    revision = compute_revision("a" * 64, "b", {})
    a_old, a = _run("a", value="1"), _run("a", value="2")
    b = _run("b", "a", promote_after=("test",)).model_copy(update={"revision": revision})
    prod = {"a": _ran(a_old), "b": _ran(b, revision=revision)}
    failed = {"b": _ran(b, status="ERROR", revision=revision)}
    plan = build_plan([a, b], prod, environment="prod", promotion={"test": failed})
    assert _actions(plan)[1] == (
        "b",
        "skip",
        f"waits for promotion: revision {revision.split(':')[-1][:12]} has not succeeded in "
        "test (the last run there ended ERROR)",
    )
    passed = {"b": _ran(b, revision=revision)}
    plan = build_plan([a, b], prod, environment="prod", promotion={"test": passed})
    assert _actions(plan)[1][:2] == ("b", "wait")


def test_the_recorded_upstream_run_decides_even_within_one_second() -> None:
    a, b = _run("a"), _run("b", "a")
    # Both began in the same second (state keeps seconds): only the recorded attempt can tell.
    upstream = _ran(a, at=T0)
    followed = _ran(b, at=T0, upstream={"a": upstream.attempt_id})
    assert build_plan([a, b], {"a": upstream, "b": followed}).actions[1].kind.value == "noop"
    newer = upstream.model_copy(update={"attempt_id": "a-again"})
    assert _actions(build_plan([a, b], {"a": newer, "b": followed}))[1] == (
        "b",
        "rerun",
        "upstream a re-ran since this last ran",
    )
    # A recorded attempt wins over the clock either way: b followed a's run that began later.
    later = _ran(a, at=T1)
    after = _ran(b, at=T0, upstream={"a": later.attempt_id})
    assert build_plan([a, b], {"a": later, "b": after}).actions[1].kind.value == "noop"
