"""PURE. The apply's floors: what no client could beat on the runs the platform actually made.

An apply of N executions against a platform with a rate limit ``r`` (requests per second) and
``c`` slots (``apply.concurrency``: runs followed at once) cannot finish before

    max(longest run, Σ run lengths ÷ c, minimum calls ÷ r)

where a run's length is the time from its POST to its final status (record delay + duration).
The first term: some run takes that long. The second: c slots, each busy for a run's whole
length. The third: every call costs one token of the account's bucket.

The minimum calls (``min_calls``) are counted for the best polling possible, batched:

- one ``POST /ExecutionRequest`` per execution;
- one ``GET /ExecutionRecord/async/{requestId}`` per execution: only the async record turns a
  ``requestId`` into an ``executionId`` (nothing else names the run);
- poll rounds every ``poll`` seconds (the configured ``pollMax``: the poller must notice a
  final status within it), each following every run it has an ``executionId`` for and has not
  yet seen final with ``ExecutionRecord/query`` (an OR of ``executionId``s): ``⌈k ÷ 100⌉``
  calls for ``k`` such runs, a page holding 100 records (``queryMore`` for the next ones).

The poller does not know when runs end; it is otherwise as frugal as possible: it reads a
run's async record at the first round after the record exists (a run that is already final
then costs nothing more), and polls all runs in the same rounds so that they share pages. The
rounds are counted on the tool's own submission times (when runs were in flight is a fact of
the apply; any good client has them in flight at about the same times). A client that knew
every run's end would need just 2 calls per execution; ``2 + query calls ÷ N`` is what
batched polling costs on top.

The *order floor* is the best any client could do with the submission order the tool chose:
run ``i`` is submitted no earlier than ``i ÷ r`` (POSTs alone at the rate limit) and no earlier
than a slot frees, and holds its slot for its length (list scheduling on ``c`` slots); and, as
the floor, never less than the minimum calls ÷ r.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

PAGE = 100  # records per ExecutionRecord/query page (boomi-platform-api.md §9)


@dataclass(frozen=True)
class Span:
    """One run as the platform made it, in real seconds after the apply's first POST."""

    submitted: float
    record_delay: float
    length: float  # POST to final status

    @property
    def recorded(self) -> float:
        return self.submitted + self.record_delay

    @property
    def ends(self) -> float:
        return self.submitted + self.length


def query_calls(spans: Sequence[Span], poll: float, page: int = PAGE) -> int:
    """Query calls of the batched poller above: rounds at ``k * poll`` (k >= 1)."""
    if poll <= 0:
        raise ValueError("poll must be positive")
    # Run i's async record is read at round a_i (the first round at or after its record);
    # it is followed by query at rounds a_i + 1 .. e_i, e_i being the first round at or
    # after its end (if e_i > a_i).
    delta: dict[int, int] = {}
    for span in spans:
        first = max(1, math.ceil(span.recorded / poll - 1e-9))
        last = max(1, math.ceil(span.ends / poll - 1e-9))
        if last > first:
            delta[first + 1] = delta.get(first + 1, 0) + 1
            delta[last + 1] = delta.get(last + 1, 0) - 1
    calls = following = 0
    previous = None
    for round_no in sorted(delta):
        if previous is not None and following:
            calls += (round_no - previous) * math.ceil(following / page)
        following += delta[round_no]
        previous = round_no
    return calls


def order_floor(spans: Sequence[Span], concurrency: int, rate: float | None) -> float:
    """List scheduling of the runs, in the tool's submission order, on ``concurrency`` slots."""
    free = [0.0] * min(concurrency, max(1, len(spans)))
    ordered = sorted(spans, key=lambda s: s.submitted)
    end = 0.0
    for i, span in enumerate(ordered):
        slot = heapq.heappop(free)
        start = max(slot, i / rate if rate else 0.0)
        heapq.heappush(free, start + span.length)
        end = max(end, start + span.length)
    return end


def apply_floor(
    spans: Sequence[Span], *, concurrency: int, rate: float | None, poll: float
) -> dict[str, Any]:
    """The floor of an apply of these runs, its terms and which one binds."""
    n = len(spans)
    longest = max(s.length for s in spans)
    slots = sum(s.length for s in spans) / concurrency
    queries = query_calls(spans, poll)
    min_calls = 2 * n + queries
    calls = min_calls / rate if rate else 0.0
    terms = {"longest run": longest, "slots": slots, "calls": calls}
    binding = max(terms, key=terms.__getitem__)
    return {
        "seconds": round(terms[binding], 3),
        "binding": binding,
        "longest_run_seconds": round(longest, 3),
        "sum_of_runs_seconds": round(sum(s.length for s in spans), 3),
        "slots_seconds": round(slots, 3),
        "min_calls": min_calls,
        "min_query_calls": queries,
        "min_calls_per_execution": round(min_calls / n, 3),
        "min_calls_seconds": round(calls, 3),
        # The order's own bound, never below what the calls alone take.
        "order_floor_seconds": round(max(order_floor(spans, concurrency, rate), calls), 3),
        "model": "max(longest run, sum of run lengths / concurrency, min calls / rate); min "
        "calls = 2 per execution + batched query rounds every pollMax (bench/floors.py)",
    }
