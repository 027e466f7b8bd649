"""What a process's records say about how long its runs take (``survey.estimate``).

Pure: real ``PlatformRecord`` values as the wire module parses them, no platform.
"""

from __future__ import annotations

import math
import statistics
from datetime import UTC, datetime, timedelta

from hypothesis import example, given, settings
from hypothesis import strategies as st

from reconciler.apply.schedule import Estimate
from reconciler.apply.survey import estimate, observations
from reconciler.model import PlatformRecord

NOW = datetime(2026, 1, 15, 10, 0, 0, tzinfo=UTC)


def _record(
    status: str,
    duration_ms: int | None = None,
    *,
    execution_time: datetime | None = None,
    recorded_date: datetime | None = None,
) -> PlatformRecord:
    return PlatformRecord(
        execution_id=f"execution-{status}-{duration_ms}",
        status=status,
        duration_ms=duration_ms,
        execution_time=execution_time,
        recorded_date=recorded_date,
    )


def test_finished_runs_give_their_durations_and_running_ones_their_age() -> None:
    started = NOW - timedelta(seconds=40)
    records = [
        _record("COMPLETE", 12_000),
        _record("ERROR", 0, execution_time=started, recorded_date=started + timedelta(seconds=3)),
        _record("INPROCESS", 7_000),  # the platform says how long it has run
        _record("STARTED", 0, execution_time=started),  # it does not: the time since it started
        _record("INPROCESS"),  # nothing to tell its age by: left out
        _record("STARTED", 0, execution_time=NOW),  # just started (whole seconds): no news
        _record("COMPLETE", None, execution_time=NOW + timedelta(seconds=5)),  # clock skew
        _record("COMPLETE", -5),  # nonsense: left out
        _record("COMPLETE", 10**30),  # absurd: counts as the longest a survey looks back
    ]
    assert observations(records, NOW) == [
        (12_000, True),
        (3_000.0, True),
        (7_000, False),
        (40_000.0, False),
        (7 * 24 * 3600 * 1000, True),
    ]


def test_half_the_runs_seen_finishing_settles_the_median() -> None:
    seen = [(1_000.0, True), (2_000.0, True), (3_000.0, True), (50_000.0, False)]
    assert estimate(seen) == Estimate(ms=2_000.0, settled=True)


def test_runs_still_going_leave_the_runs_at_risk_as_they_are_passed() -> None:
    # Two runs still going at 1 s and 2 s, then four finishes: the survival curve is 3/4 at
    # 5 s and 1/2 at 6 s (four at risk after the two left), not 5/6, 4/6, 1/2 (at 7 s).
    seen = [(1_000.0, False), (2_000.0, False)] + [(float(t), True) for t in (5e3, 6e3, 7e3, 8e3)]
    assert estimate(seen) == Estimate(ms=6_000.0, settled=True)


def test_one_or_two_finishes_settle_nothing() -> None:
    # A quick failure from yesterday, or one finish after runs still going: not a median.
    for seen in ([(2_000.0, True)], [(1e3, False), (2e3, False), (3e3, False), (9e3, True)]):
        found = estimate(seen)
        assert found is not None
        assert not found.settled


def test_runs_still_going_count_towards_the_median_not_as_finishes() -> None:
    # One quick finish and three runs going for 10 s each: the median is not known yet, and
    # the estimate is far above the one finish (ln 2 x 31 s over 2).
    seen = [(1_000.0, True), (10_000.0, False), (10_000.0, False), (10_000.0, False)]
    found = estimate(seen)
    assert found is not None
    assert not found.settled
    assert found.ms == math.log(2) * 31_000 / 2


def test_at_equal_times_a_finish_counts_before_a_run_still_going() -> None:
    seen = [(5_000.0, False), (5_000.0, True), (5_000.0, True), (5_000.0, True)]
    assert estimate(seen) == Estimate(ms=5_000.0, settled=True)


def test_nothing_seen_says_nothing() -> None:
    assert estimate([]) is None


durations = st.lists(st.integers(min_value=1, max_value=10**7), min_size=1, max_size=60)


@settings(deadline=None)  # Fraction products: no wall-clock budget on a loaded runner
@given(st.lists(st.integers(min_value=1, max_value=10**7), min_size=3, max_size=60))
@example(list(range(1, 25)))  # a float product stays above 1/2 here where the exact one is 1/2
def test_with_every_run_finished_it_is_the_plain_median(values: list[int]) -> None:
    found = estimate([(float(v), True) for v in values])
    assert found == Estimate(ms=statistics.median_low(values), settled=True)


@settings(deadline=None)
@given(durations, st.integers(min_value=1, max_value=10**6))
def test_runs_going_on_longer_never_make_a_process_look_quicker(
    values: list[int], more: int
) -> None:
    seen = [(float(v), i % 3 == 0) for i, v in enumerate(values)]
    later = [(ms + more if not done else ms, done) for ms, done in seen]
    before, after = estimate(seen), estimate(later)
    assert before is not None
    assert after is not None
    if before.settled == after.settled:  # the same kind of estimate: it can only grow
        assert after.ms >= before.ms
    else:  # runs going on longer can only unsettle a median, never settle one
        assert before.settled
