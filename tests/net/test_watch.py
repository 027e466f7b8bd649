"""The watch over requests on the wire: the "waiting for" line, and when a host is silent.

On the virtual clock: time moves only when every task waits, so the lines are exact.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from reconciler.net.watch import Watch
from tests.apply.virtual_clock import VirtualClock

URL = "https://user:pass@api.example.com/api/rest/v1/acme-AB12CD/ExecutionRequest?x=1#f"
SHOWN = "https://api.example.com/api/rest/v1/acme-AB12CD/ExecutionRequest"


@pytest.mark.anyio
async def test_the_oldest_request_waiting_is_said_every_third_of_the_read_timeout() -> None:
    clock = VirtualClock(datetime(2026, 1, 15, tzinfo=UTC))
    lines: list[str] = []
    watch = Watch(clock, read_timeout=60, report=lines.append)
    first = watch.sent(URL)
    await clock.sleep(5)
    watch.sent("https://api.example.com/api/rest/v1/acme-AB12CD/ExecutionRecord/query")
    await clock.sleep(36)  # the ticker wakes at 20 s and 40 s
    watch.answered(first)
    await clock.sleep(20)  # at 60 s the second has waited 55 s
    await watch.aclose()
    assert lines == [
        f"waiting for {SHOWN}: no answer for 20 s (read timeout 60 s); 1 more request waiting",
        f"waiting for {SHOWN}: no answer for 40 s (read timeout 60 s); 1 more request waiting",
        "waiting for https://api.example.com/api/rest/v1/acme-AB12CD/ExecutionRecord/query: "
        "no answer for 55 s (read timeout 60 s)",
    ]


@pytest.mark.anyio
async def test_a_short_wait_is_not_said() -> None:
    clock = VirtualClock(datetime(2026, 1, 15, tzinfo=UTC))
    lines: list[str] = []
    watch = Watch(clock, read_timeout=1.5, report=lines.append)
    assert watch.every == 0.5
    key = watch.sent(URL)
    await clock.sleep(0.4)
    watch.answered(key)
    await clock.sleep(2)
    await watch.aclose()
    assert lines == []


def test_two_requests_in_a_row_without_an_answer_make_the_host_silent() -> None:
    clock = VirtualClock(datetime(2026, 1, 15, tzinfo=UTC))
    watch = Watch(clock, read_timeout=60)  # no report: no ticker, no event loop needed
    assert not watch.unanswered_one(watch.sent(URL))
    assert not watch.silent
    watch.answered(watch.sent(URL))  # any answer: the host is not silent
    watch.ended(watch.sent(URL))  # not connected: says nothing either way
    assert not watch.unanswered_one(watch.sent(URL))
    assert watch.unanswered_one(watch.sent(URL))
    assert watch.silent
