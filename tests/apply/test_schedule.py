"""The ready queue learns, during an apply, which processes are quick: from the runs it sees
finish and from what the platform's records say (``survey``).

Pure: ``ReadyQueue`` with real ``Action`` and ``RunResult`` values, no engine and no clock.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from reconciler.apply.schedule import Estimate, ReadyQueue, expected_seconds
from reconciler.model import (
    Action,
    ActionKind,
    DesiredRun,
    Location,
    Phase,
    RunRequest,
    RunResult,
    StateEntry,
)

ATOM = "3456789a-bcde-f012-3456-789abcdef012"


def _action(name: str, process: str) -> Action:
    request = RunRequest(process_id=process, atom_id=ATOM)
    desired = DesiredRun(name=name, request=request, digest=f"v1:{name}", source=Location(file="x"))
    return Action(name=name, kind=ActionKind.SUBMIT, reason="test", desired=desired)


def _done(queue: ReadyQueue, name: str, duration_ms: int | None) -> None:
    queue.done(RunResult(name=name, outcome="success", duration_ms=duration_ms))


def _drain(queue: ReadyQueue) -> list[str]:
    names = []
    while (action := queue.pop()) is not None:
        names.append(action.name)
    return names


def test_runs_of_a_process_seen_to_be_quick_go_after_unknown_ones() -> None:
    todo = [_action(f"{p}{i}", p) for i in range(1, 4) for p in ("quick", "slow", "mid")]
    queue = ReadyQueue(todo, {})
    first = queue.pop()
    assert first is not None
    assert first.name == "quick1"  # nothing known: plan order
    _done(queue, "quick1", 2_000)
    assert queue.expected("quick2") == 2.0
    assert math.isinf(queue.expected("slow1"))
    second, third = queue.pop(), queue.pop()
    assert second is not None
    assert third is not None
    assert [second.name, third.name] == ["slow1", "mid1"]
    _done(queue, "mid1", 30_000)
    _done(queue, "slow1", 90_000)
    assert _drain(queue) == ["slow2", "slow3", "mid2", "mid3", "quick2", "quick3"]


def test_recorded_durations_outrank_what_the_apply_sees() -> None:
    todo = [_action("a", "p"), _action("b", "p"), _action("c", "q")]
    queue = ReadyQueue(todo, {"b": 5.0, "c": math.inf})
    assert [a.name for a in [queue.pop()] if a] == ["a"]  # unknown (inf) before b's 5 s
    _done(queue, "a", 600_000)  # p's runs now look long, but b's own record says 5 s
    assert queue.expected("b") == 5.0
    assert _drain(queue) == ["c", "b"]


def test_a_run_without_duration_teaches_nothing() -> None:
    queue = ReadyQueue([_action("a", "p"), _action("b", "p"), _action("c", "q")], {})
    assert [a.name for a in [queue.pop()] if a] == ["a"]
    _done(queue, "a", None)  # failed before it ran
    assert math.isinf(queue.expected("b"))
    assert _drain(queue) == ["c", "b"]  # both still unknown: q's turn, then p's


def test_unknown_processes_take_turns_in_plan_order() -> None:
    todo = [_action(f"{p}{i}", p) for p in ("p", "q", "r") for i in range(1, 4)]
    queue = ReadyQueue(todo, {})
    assert _drain(queue) == ["p1", "q1", "r1", "p2", "q2", "r2", "p3", "q3", "r3"]


def test_what_the_records_say_orders_the_processes_and_settles_the_survey() -> None:
    todo = [_action(f"{p}{i}", p) for p in ("quick", "slow", "mid") for i in range(1, 4)]
    queue = ReadyQueue(todo, {})
    assert queue.unsettled() == ["quick", "slow", "mid"]
    queue.learn("quick", Estimate(ms=1_000, settled=True))
    queue.learn("mid", Estimate(ms=20_000, settled=True))
    queue.learn("slow", Estimate(ms=60_000, settled=False))  # a lower bound: still surveyed
    assert queue.unsettled() == ["slow"]
    assert queue.expected("slow2") == 60.0
    assert _drain(queue) == [f"{p}{i}" for p in ("slow", "mid", "quick") for i in (1, 2, 3)]
    assert queue.unsettled() == []  # nothing waits: nothing left to learn for


def test_the_records_outrank_the_runs_seen_finishing() -> None:
    todo = [_action(f"{p}{i}", p) for p in ("p", "q") for i in range(1, 3)]
    queue = ReadyQueue(todo, {})
    assert [queue.pop(), queue.pop()] == [todo[0], todo[2]]
    _done(queue, "p1", 1_000)  # the quick one finished first: p looks quick...
    queue.learn("p", Estimate(ms=50_000, settled=False))  # ...its records say otherwise
    queue.learn("q", Estimate(ms=5_000, settled=True))
    assert _drain(queue) == ["p2", "q2"]


def test_processes_with_recorded_durations_are_not_surveyed() -> None:
    queue = ReadyQueue([_action("a", "p"), _action("b", "q")], {"a": 5.0})
    assert queue.unsettled() == ["q"]


def test_one_process_alone_is_not_surveyed() -> None:
    queue = ReadyQueue([_action(f"a{i}", "p") for i in range(3)], {})
    assert queue.unsettled() == []  # nothing to order p's runs against
    both = ReadyQueue([_action("a", "p"), _action("b", "p"), _action("c", "q")], {"c": 5.0})
    assert both.unsettled() == ["p"]  # p's runs are ordered against c's 5 s
    assert [a.name for a in [both.pop()] if a] == ["a"]
    assert [a.name for a in [both.pop()] if a] == ["b"]  # p unknown, so long: before c
    assert both.unsettled() == []  # p has nothing waiting any more


def _entry(name: str, process: str, duration_ms: int) -> StateEntry:
    return StateEntry(
        name=name,
        digest="v1:old",
        request=RunRequest(process_id=process, atom_id=ATOM),
        phase=Phase.FINAL,
        attempt_id=f"old-{name}",
        intent_at=datetime(2026, 1, 15, tzinfo=UTC),
        duration_ms=duration_ms,
    )


def test_a_last_duration_is_pulled_towards_its_process() -> None:
    state = [_entry("a", "p", 9_000), _entry("b", "p", 4_000), _entry("c", "p", 1_000)]
    todo = [
        _action("a", "p").model_copy(update={"current": state[0]}),  # one slow run of a p
        _action("new", "p"),  # never ran: its process's median
        _action("other", "q"),  # nothing known at all
    ]
    expected = expected_seconds(todo, state)
    assert expected["a"] == pytest.approx(6.0)  # sqrt(9 s x 4 s), not 9 s
    assert expected["new"] == 4.0
    assert math.isinf(expected["other"])


def test_what_a_process_takes_can_grow_as_the_apply_sees_more() -> None:
    todo = [_action(n, "p") for n in ("p1", "p2", "p3")]
    todo += [_action("ten", "q"), _action("five", "r")]
    queue = ReadyQueue(todo, {"ten": 10.0, "five": 5.0})
    assert [a.name for a in [queue.pop(), queue.pop()] if a] == ["p1", "p2"]  # unknown: long
    _done(queue, "p1", 1_000)  # p looks quick...
    after = queue.pop()
    assert after is not None
    assert after.name == "ten"
    _done(queue, "p2", 100_000)  # ...then slow: the median is 50.5 s, above five's 5 s
    assert queue.expected("p3") == 50.5
    assert _drain(queue) == ["p3", "five"]


def test_the_survey_asks_first_about_the_processes_with_most_runs_waiting() -> None:
    todo = [_action("a1", "few"), *(_action(f"b{i}", "many") for i in range(3))]
    todo += [_action("c1", "mid"), _action("c2", "mid")]
    resume = Action(
        name="r1",
        kind=ActionKind.RESUME,
        reason="test",
        desired=_action("r1", "few").desired,
        current=_entry("r1", "few", 1_000),
    )
    queue = ReadyQueue([*todo, resume], {})
    assert queue.unsettled() == ["many", "mid", "few"]  # the resume waits for no permit


def test_an_unsettled_estimate_never_hides_what_the_apply_saw_finish() -> None:
    todo = [_action(f"{p}{i}", p) for p in ("p", "q") for i in range(1, 4)]
    queue = ReadyQueue(todo, {})
    assert [queue.pop(), queue.pop()] == [todo[0], todo[3]]
    _done(queue, "p1", 30_000)
    queue.learn("p", Estimate(ms=0.5, settled=False))  # runs that had only just started
    queue.learn("q", Estimate(ms=10_000, settled=False))
    assert queue.expected("p2") == 30.0  # what p1 took, not the near-zero lower bound
    assert _drain(queue) == ["p2", "p3", "q2", "q3"]
    assert queue.drained()
