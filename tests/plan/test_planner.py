"""One action per name, each with its whole reason asserted."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from reconciler.model import (
    ActionKind,
    DesiredRun,
    Location,
    Phase,
    RunRequest,
    StateEntry,
)
from reconciler.model.digest import (
    CHANGE_LIMIT,
    CHANGE_VALUE_LIMIT,
    CHANGES_LIMIT,
    REASON_LIMIT,
    compute_digest,
    plan_digest,
)
from reconciler.plan.document import parse_plan_document
from reconciler.plan.planner import build_plan
from reconciler.report.renderers import plan_json

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
            "the submit of 2026-01-15T10:00:00Z may or may not have started a run (ReadTimeout); "
            "apply looks for the run by query and adopts a single match, otherwise it waits for "
            "--adopt NAME=EXECUTION_ID or --resubmit NAME",
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
            "or may not have started a run; apply looks for the run by query and adopts a "
            "single match, otherwise it waits for --adopt NAME=EXECUTION_ID or --resubmit NAME",
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


def _with(run: DesiredRun, **update: object) -> DesiredRun:
    return run.model_copy(update=update)


def test_policies_once_always_manual_and_retries() -> None:
    from reconciler.model import RetryPolicy, RunMode, RunPolicy
    from reconciler.plan.planner import Selection

    once = _with(_run("once", "2"), policy=RunPolicy(run=RunMode.ONCE))
    always = _with(_run("always"), policy=RunPolicy(run=RunMode.ALWAYS))
    manual = _with(_run("manual"), policy=RunPolicy(run=RunMode.MANUAL))
    retried = _with(_run("retried"), policy=RunPolicy(retries=RetryPolicy(count=2)))
    exhausted = _with(_run("exhausted"), policy=RunPolicy(retries=RetryPolicy(count=1)))
    ended = {"submitted_at": T0, "execution_time": T0}
    state = {
        "once": _entry(_run("once", "1"), Phase.FINAL, status="COMPLETE", **ended),
        "always": _entry(always, Phase.FINAL, status="COMPLETE", **ended),
        "retried": _entry(retried, Phase.FINAL, status="ERROR", attempts=1, **ended),
        "exhausted": _entry(exhausted, Phase.FINAL, status="ERROR", attempts=2, **ended),
    }
    plan = build_plan([once, always, manual, retried, exhausted], state)
    assert _reasons(plan) == [
        (
            "always",
            "rerun",
            "always policy: runs on every apply (ran 2026-01-15T10:00:00Z, ended COMPLETE)",
        ),
        ("exhausted", "noop", "up to date: ran 2026-01-15T10:00:00Z, ended ERROR"),
        ("manual", "skip", "manual policy: runs only when selected by name"),
        (
            "once",
            "noop",
            "once policy: ran 2026-01-15T10:00:00Z, ended COMPLETE; the spec "
            "changed since, which a once policy ignores",
        ),
        (
            "retried",
            "retry",
            "ran 2026-01-15T10:00:00Z, ended ERROR; retry 1 of 2 (the policy "
            "retries ERROR, ABORTED, DISCARDED)",
        ),
    ]
    selected = build_plan([manual], {}, selection=Selection(patterns=("manual",)))
    assert _reasons(selected) == [("manual", "submit", "never run")]


def test_dependencies_wait_or_skip() -> None:
    a = _run("a")
    b = _with(_run("b"), depends_on=("a",))
    c = _with(_run("c"), depends_on=("b",))
    failed = _run("failed")
    d = _with(_run("d"), depends_on=("failed",))
    state = {"failed": _entry(failed, Phase.FINAL, status="ERROR", submitted_at=T0)}
    plan = build_plan([a, b, c, failed, d], state)
    assert _reasons(plan) == [
        ("a", "submit", "never run"),
        ("b", "wait", "never run; runs after a succeed"),
        ("c", "wait", "never run; runs after b succeed"),
        ("d", "skip", "waits for dependencies that have not succeeded: failed last ended ERROR"),
        ("failed", "noop", "up to date: ran 2026-01-15T10:00:00Z, ended ERROR"),
    ]
    assert [x.after for x in plan.actions] == [(), ("a",), ("b",), (), ()]


def test_dependency_that_succeeded_before_does_not_hold_back() -> None:
    a = _run("a")
    b = _with(_run("b"), depends_on=("a",))
    state = {"a": _entry(a, Phase.FINAL, status="COMPLETE", submitted_at=T0)}
    assert [x.kind for x in build_plan([a, b], state).actions] == [
        ActionKind.NOOP,
        ActionKind.SUBMIT,
    ]


def test_selection_by_glob_label_and_state() -> None:
    from reconciler.plan.planner import Selection

    runs = [
        _with(_run("orders-eu"), labels={"team": "sales"}),
        _run("orders-us"),
        _run("invoices"),
    ]
    state = {"invoices": _entry(runs[2], Phase.FINAL, status="ERROR", submitted_at=T0)}

    def names(*patterns: str) -> list[str]:
        return [a.name for a in build_plan(runs, state, selection=Selection(patterns)).actions]

    assert names("orders-*") == ["orders-eu", "orders-us"]
    assert names("label:team=sales") == ["orders-eu"]
    assert names("label:team") == ["orders-eu"]
    assert names("state:failed") == ["invoices"]
    assert names("state:changed") == ["orders-eu", "orders-us"]
    assert names() == ["invoices", "orders-eu", "orders-us"]


def test_adopt_and_resubmit_resolve_unknown() -> None:
    from reconciler.plan.planner import Selection

    run = _run("x")
    state = {"x": _entry(run, Phase.UNKNOWN, message="ReadTimeout")}
    adopt = build_plan([run], state, selection=Selection(adopt=(("x", "execution-1"),)))
    (action,) = adopt.actions
    assert (action.kind, action.adopt) == (ActionKind.RESUME, "execution-1")
    assert action.reason == "adopting execution-1 as the run of the unresolved submit (--adopt)"
    (again,) = build_plan([run], state, selection=Selection(resubmit=("x",))).actions
    assert again.kind is ActionKind.SUBMIT
    assert again.reason == (
        "submitting again as asked (--resubmit); the earlier submit stays unresolved"
    )


def test_shards_partition_every_execution_and_keep_chains_together() -> None:
    from reconciler.plan.planner import Selection, shard_of

    runs = [_run(f"r{i}") for i in range(40)]
    runs[1] = _with(runs[1], depends_on=("r0",))
    runs[2] = _with(runs[2], depends_on=("r1",))
    runs[30] = _with(runs[30], depends_on=("r2",))
    wanted = {r.name: r for r in runs}
    shards = shard_of(wanted, 3)
    assert shards == shard_of(wanted, 3)  # deterministic
    assert len({shards["r0"], shards["r1"], shards["r2"], shards["r30"]}) == 1
    seen: list[str] = []
    for k in (1, 2, 3):
        plan = build_plan(runs, {}, selection=Selection(shard=(k, 3)))
        seen.extend(a.name for a in plan.actions)
        assert plan.actions, "every shard gets some of 40 executions"
    assert sorted(seen) == sorted(wanted)


def test_plan_digest_names_what_would_change_and_nothing_else() -> None:
    done = _run("done")
    finished = {"done": _entry(done, Phase.FINAL, status="COMPLETE", submitted_at=T0)}
    base = plan_digest(build_plan([_run("a"), done], finished))
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", base)
    # Same changes, other no-op entries around them: same digest.
    assert plan_digest(build_plan([_run("a")], {})) == base
    assert plan_digest(build_plan([_run("a"), done, _run("b")], finished)) != base
    assert plan_digest(build_plan([_run("a", "2"), done], finished)) != base
    assert plan_digest(build_plan([_run("a"), done], finished, environment="prod")) != base
    assert plan_digest(build_plan([done], finished)) != base


def test_reasons_and_changes_are_bounded_so_the_plan_reads_back_as_a_reviewed_plan() -> None:
    # A platform message becomes part of a reason, a templated value part of a change line;
    # the plan digest covers both, and a plan document read back is held to the same bounds.
    rejected = _run("rejected")
    old = RunRequest(
        process_id="p", atom_id="a", dynamic_properties={f"K{i:04d}": "x" for i in range(1500)}
    )
    new = RunRequest(
        process_id="p",
        atom_id="a",
        dynamic_properties={f"K{i:04d}": "y" * 2_000 for i in range(1500)},
    )
    changed = DesiredRun(
        name="changed", request=new, digest=compute_digest(new), source=Location(file="s.yaml")
    )
    state = {
        "rejected": _entry(rejected, Phase.REJECTED, message="boom " * 50_000),
        "changed": _entry(
            changed, Phase.FINAL, digest=compute_digest(old), request=old, status="COMPLETE"
        ),
    }
    plan = build_plan([rejected, changed], state)
    by_name = {a.name: a for a in plan.actions}
    assert len(by_name["rejected"].reason) == REASON_LIMIT
    assert by_name["rejected"].reason.endswith("…")
    changes = by_name["changed"].changes
    assert len(changes) == CHANGES_LIMIT
    assert changes[-1] == f"… {1500 - CHANGES_LIMIT + 1} more fields changed"
    assert max(len(c) for c in changes) <= CHANGE_LIMIT
    assert changes[0] == f'dynamicProperties.K0000: "x" → "{"y" * (CHANGE_VALUE_LIMIT - 2)}…'
    document = parse_plan_document(plan_json(plan), "plan.json")
    assert document.digest == plan_digest(plan) == document.computed_digest()
