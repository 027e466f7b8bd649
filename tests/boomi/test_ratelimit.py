"""The rate limiter: no reservations, no bursts after a stall, penalties for all, POSTs first."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from datetime import UTC, datetime

import pytest

from reconciler.boomi.client import BoomiClient, ClientOptions
from reconciler.boomi.ratelimit import READ, SUBMIT, RateLimiter
from reconciler.clock import SystemClock
from reconciler.model import ResolvedRequest
from reconciler.retry import Backoff
from reconciler.sim.serve import RunningSimulator
from tests.conftest import ORDERS, PROD_ATOM, Admin
from tests.sim.helpers import demo_data


class SteppedClock:
    """Virtual time that moves only when the test says; sleepers wake when their time comes."""

    def __init__(self) -> None:
        self.t = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._ids = itertools.count()

    def now(self) -> datetime:
        return datetime(2026, 1, 15, tzinfo=UTC)

    def monotonic(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.t + max(0.0, seconds), next(self._ids), future))
        await future

    async def advance(self, seconds: float) -> None:
        """Move time on in one jump (a stalled loop wakes up late), then let tasks run."""
        self.t += seconds
        while self._sleepers and self._sleepers[0][0] <= self.t:
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done():
                future.set_result(None)
        for _ in range(20):
            await asyncio.sleep(0)


def _max_in_window(times: list[float], window: float) -> int:
    """The most events in any half-open window of ``window`` seconds."""
    times = sorted(times)
    return max(
        sum(1 for t in times[i:] if t < start + window - 1e-9) for i, start in enumerate(times)
    )


async def _take(limiter: RateLimiter, clock: SteppedClock, log: list[float], prio: int) -> None:
    await limiter.acquire(prio)
    log.append(clock.t)


@pytest.mark.anyio
async def test_a_stalled_loop_never_releases_a_burst() -> None:
    clock = SteppedClock()
    limiter = RateLimiter(10.0, clock)  # one permit every 0.1 s
    granted: list[float] = []
    tasks = [asyncio.create_task(_take(limiter, clock, granted, READ)) for _ in range(40)]
    await clock.advance(0)
    for _ in range(30):  # 0.3 s of a healthy loop
        await clock.advance(0.01)
    before = len(granted)
    await clock.advance(2.0)  # the loop was busy for 2 s: 20 permits "fell due" meanwhile
    assert len(granted) - before <= 2
    while not all(task.done() for task in tasks):
        await clock.advance(0.01)
    assert len(granted) == 40
    # Never more than two in any 0.1 s: a bucket of the same rate with a burst of 2 takes all.
    assert _max_in_window(granted, 0.1) <= 2
    # And no more than the rate over any longer stretch either.
    assert _max_in_window(granted, 1.0) <= 11


@pytest.mark.anyio
async def test_a_penalty_holds_back_every_waiter_even_those_already_waiting() -> None:
    clock = SteppedClock()
    limiter = RateLimiter(10.0, clock)
    granted: list[float] = []
    tasks = [asyncio.create_task(_take(limiter, clock, granted, READ)) for _ in range(10)]
    await clock.advance(0)
    first = len(granted)
    assert 1 <= first <= 2
    limiter.penalize(1.5)  # a 503 with Retry-After: 1.5
    while not all(task.done() for task in tasks):
        await clock.advance(0.01)
    assert all(t >= 1.5 - 1e-9 for t in granted[first:])
    assert limiter.penalties == 1


@pytest.mark.anyio
async def test_submits_take_the_next_permit_before_waiting_reads() -> None:
    clock = SteppedClock()
    limiter = RateLimiter(10.0, clock)
    order: list[str] = []

    async def take(what: str, prio: int) -> None:
        await limiter.acquire(prio)
        order.append(what)

    tasks = [asyncio.create_task(take(f"read{i}", READ)) for i in range(5)]
    await clock.advance(0)
    tasks += [asyncio.create_task(take(f"post{i}", SUBMIT)) for i in range(3)]
    while not all(task.done() for task in tasks):
        await clock.advance(0.01)
    served_reads = [w for w in order[:2] if w.startswith("read")]  # before the posts arrived
    rest = order[len(served_reads) :]
    assert rest[:3] == ["post0", "post1", "post2"]
    assert sorted(rest[3:]) == rest[3:]
    assert len(order) == 8


@pytest.mark.anyio
async def test_a_cancelled_waiter_gives_its_turn_to_the_next() -> None:
    clock = SteppedClock()
    limiter = RateLimiter(10.0, clock)
    granted: list[float] = []
    first = [asyncio.create_task(_take(limiter, clock, granted, READ)) for _ in range(2)]
    await clock.advance(0)
    assert len(granted) == 2  # a fresh limiter lets the first two go together
    doomed = asyncio.create_task(_take(limiter, clock, granted, READ))
    later = asyncio.create_task(_take(limiter, clock, granted, READ))
    await clock.advance(0)
    doomed.cancel()
    await clock.advance(0.1)
    assert later.done()
    assert granted[-1] == pytest.approx(0.1)
    assert all(task.done() for task in first)
    assert limiter.waited == pytest.approx(0.1)


@pytest.mark.anyio
async def test_no_503_over_loopback_when_the_event_loop_stalls(
    sim: Admin, sim_server: RunningSimulator
) -> None:
    # The platform's bucket: 40 requests/s, a burst of 40. The client keeps 90 reads waiting
    # (2.25 s of permits) and its loop then stalls for 1.5 s: 60 permits' worth of time.
    world = demo_data()
    world["accounts"][0]["rateLimit"] = 40
    sim.reset(world)
    endpoint = sim_server.endpoint
    options = ClientOptions(rate_limit=40, backoff=Backoff(base=0.01, cap=0.05, attempts=3))
    async with BoomiClient(
        endpoint.base_url,
        endpoint.account_id,
        endpoint.username,
        endpoint.token,
        clock=SystemClock(),
        options=options,
    ) as client:
        request_id = await client.submit(ResolvedRequest(process_id=ORDERS, atom_id=PROD_ATOM))
        reads = [asyncio.create_task(client.get_record(request_id)) for _ in range(90)]
        await asyncio.sleep(0.3)
        time.sleep(1.5)  # noqa: ASYNC251 - the point: the loop is stalled (fsyncs, a busy CPU)
        await asyncio.gather(*reads)
        assert client.totals.statuses.get(503, 0) == 0
        assert client.limiter.penalties == 0
    assert sim.stats()["rateLimited"] == 0
