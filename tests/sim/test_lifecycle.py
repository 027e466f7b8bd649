"""The pure timeline: phases on a virtual clock, durations, cancel."""

from __future__ import annotations

from reconciler.sim.lifecycle import cancel_timeline, draw_duration, plan_timeline, rng_for
from reconciler.sim.world import Duration, Process


def process(**fields: object) -> Process:
    return Process.model_validate({"id": "p", "name": "P", **fields})


def test_default_walk_with_queue() -> None:
    timeline = plan_timeline(
        process(duration=4, recordDelay=1, enqueued=2, outcome="COMPLETE", message="m"),
        available_at=10.0,
        seed=1,
        index=0,
        ordinal=0,
    )
    assert [(p.status, p.at) for p in timeline.phases] == [
        ("ENQUEUED", 11.0),
        ("STARTED", 13.0),
        ("INPROCESS", 13.4),
        ("COMPLETE", 17.0),
    ]
    assert timeline.status_at(10.99) is None
    assert timeline.status_at(11.0) == "ENQUEUED"
    assert timeline.status_at(16.9) == "INPROCESS"
    assert timeline.is_final(17.0)
    assert not timeline.is_final(16.99)
    assert timeline.duration_ms(15.0) == 2000
    assert timeline.duration_ms(99.0) == 4000
    assert timeline.message == "m"


def test_never_available_means_no_record() -> None:
    timeline = plan_timeline(process(), available_at=None, seed=1, index=0, ordinal=0)
    assert timeline.record_at is None
    assert timeline.status_at(1e9) is None
    assert not timeline.is_final(1e9)


def test_cancel_before_and_during_the_run() -> None:
    timeline = plan_timeline(
        process(duration=10, recordDelay=1), available_at=0.0, seed=1, index=0, ordinal=0
    )
    during = cancel_timeline(timeline, 5.0)
    assert [p.status for p in during.phases] == ["STARTED", "INPROCESS", "ABORTED"]
    assert during.status_at(5.0) == "ABORTED"
    assert during.duration_ms(50.0) == 4000
    before = cancel_timeline(timeline, 0.5)
    assert [(p.status, p.at) for p in before.phases] == [("ABORTED", 0.5)]
    assert before.has_record(0.5)


def test_distributions_respect_their_bounds_and_seed() -> None:
    lognormal = Duration(distribution="lognormal", median=2.0, sigma=1.5, max=6.0, min=0.5)
    draws = [draw_duration(lognormal, rng_for(3, i)) for i in range(300)]
    assert all(0.5 <= d <= 6.0 for d in draws)
    assert draws == [draw_duration(lognormal, rng_for(3, i)) for i in range(300)]
    uniform = Duration(distribution="uniform", min=2.0, max=5.0)
    assert all(2.0 <= draw_duration(uniform, rng_for(0, i)) <= 5.0 for i in range(100))
    assert draw_duration(Duration(distribution="fixed", value=3.0), rng_for(0, 0)) == 3.0
