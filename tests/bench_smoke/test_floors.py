"""The apply's floor model (``bench/floors.py``) on runs small enough to count by hand."""

from __future__ import annotations

import pytest

from bench.floors import Span, apply_floor, order_floor, query_calls


def test_a_run_final_by_its_first_round_costs_no_query() -> None:
    # Record at 0.5, final at 0.9: the async GET at round 1 (t=1.0) already sees it final.
    assert query_calls([Span(0.0, 0.5, 0.9)], poll=1.0) == 0


def test_a_long_run_is_queried_every_round_until_a_round_sees_it_final() -> None:
    # Record at 0.5 (async GET at round 1), final at 3.5: queried at rounds 2, 3 and 4.
    assert query_calls([Span(0.0, 0.5, 3.5)], poll=1.0) == 3


def test_runs_in_flight_together_share_pages_of_a_hundred() -> None:
    same = [Span(0.0, 0.5, 3.5)] * 150  # 150 runs followed in rounds 2..4: 2 pages each
    assert query_calls(same, poll=1.0) == 6
    apart = [Span(0.0, 0.5, 2.5), Span(10.0, 0.5, 2.5)]  # never together: 2 rounds each
    assert query_calls(apart, poll=1.0) == 4


def test_order_floor_is_list_scheduling_on_the_slots() -> None:
    runs = [Span(0.0, 0.1, 3.0), Span(0.1, 0.1, 1.0), Span(0.2, 0.1, 1.0)]
    # One slot: 3 + 1 + 1. Two slots: the short ones follow each other beside the long one.
    assert order_floor(runs, concurrency=1, rate=None) == pytest.approx(5.0)
    assert order_floor(runs, concurrency=2, rate=None) == pytest.approx(3.0)
    # Rate 1/s: run i is not submitted before i seconds.
    assert order_floor(runs, concurrency=3, rate=1.0) == pytest.approx(3.0)
    late_long = [Span(0.0, 0.1, 1.0), Span(0.1, 0.1, 1.0), Span(0.2, 0.1, 3.0)]
    assert order_floor(late_long, concurrency=3, rate=1.0) == pytest.approx(5.0)


@pytest.mark.parametrize(
    ("concurrency", "rate", "binding", "seconds"),
    [
        (1000, 100.0, "longest run", 40.0),  # slots: 4,900 / 1,000; calls: 2,000 / 100
        (50, 100.0, "slots", 98.0),  # 900 runs of 1 s and 100 of 40 s on 50 slots
        (1000, 10.0, "calls", 200.0),  # 2,000 calls at 10 per second
    ],
)
def test_the_floor_is_the_largest_term(
    concurrency: int, rate: float, binding: str, seconds: float
) -> None:
    runs = [Span(i * 0.01, 0.5, 1.0) for i in range(900)] + [Span(0.0, 0.5, 40.0)] * 100
    floor = apply_floor(runs, concurrency=concurrency, rate=rate, poll=100.0)
    # Every run is final by the first round (t = 100 s): its async GET is its last call.
    assert floor["min_query_calls"] == 0
    assert floor["min_calls"] == 2000
    assert floor["min_calls_per_execution"] == 2.0
    assert floor["longest_run_seconds"] == 40.0
    assert floor["sum_of_runs_seconds"] == 4900.0
    assert floor["binding"] == binding
    assert floor["seconds"] == pytest.approx(seconds)


def test_query_rounds_raise_the_calls_floor() -> None:
    # 300 runs in flight from 0.5 s to 10 s, polled every second: async GETs at round 1,
    # queries at rounds 2..10 (final at 10.0 is seen by round 10), 3 pages each.
    runs = [Span(0.0, 0.5, 10.0)] * 300
    floor = apply_floor(runs, concurrency=1000, rate=100.0, poll=1.0)
    assert floor["min_query_calls"] == 27
    assert floor["min_calls"] == 627
    assert floor["min_calls_per_execution"] == 2.09
    # 300 POSTs at 100/s end by 3 s: the runs end by 13 s; the 627 calls take 6.27 s.
    assert floor["order_floor_seconds"] == pytest.approx(12.99)


def test_the_order_floor_is_never_below_the_calls() -> None:
    runs = [Span(0.0, 0.1, 0.2)] * 1000  # POSTs alone: 10 s; POST and async GET: 20 s
    assert apply_floor(runs, concurrency=50, rate=100.0, poll=1.0)["order_floor_seconds"] == 20.0
