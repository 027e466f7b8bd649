"""The virtual clock the engine tests run on: exact, ordered, and never waiting for wall time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from reconciler.clock import Clock
from tests.apply.virtual_clock import VirtualClock

START = datetime(2026, 1, 15, 10, 0, 0, tzinfo=UTC)


@pytest.mark.anyio
async def test_sleepers_wake_in_time_order_at_exact_virtual_times() -> None:
    clock: Clock = VirtualClock(START)
    woke: list[tuple[str, float]] = []

    async def nap(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append((name, clock.monotonic()))

    await asyncio.gather(nap("hour", 3600), nap("second", 1.5), nap("again", 1.5), nap("now", 0))
    assert woke == [("now", 0.0), ("second", 1.5), ("again", 1.5), ("hour", 3600.0)]
    assert clock.now() == datetime(2026, 1, 15, 11, 0, 0, tzinfo=UTC)


@pytest.mark.anyio
async def test_time_waits_while_any_task_can_run() -> None:
    clock = VirtualClock(START)
    spins = 0

    async def busy() -> None:
        nonlocal spins
        for _ in range(200):  # runnable all along: no timer may fire meanwhile
            spins += 1
            await asyncio.sleep(0)

    async def sleeper() -> float:
        await clock.sleep(1)
        return spins

    seen, _ = await asyncio.gather(sleeper(), busy())
    assert seen == 200


@pytest.mark.anyio
async def test_a_cancelled_sleep_neither_wakes_nor_moves_time() -> None:
    clock = VirtualClock(START)
    long = asyncio.create_task(clock.sleep(100))
    await asyncio.sleep(0)
    long.cancel()
    await asyncio.gather(long, return_exceptions=True)
    await clock.sleep(2)
    assert clock.monotonic() == 2.0


@pytest.mark.anyio
async def test_a_write_in_progress_holds_time_back() -> None:
    written: list[float] = []
    clock = VirtualClock(START, settle=lambda: written.append(clock.monotonic()))
    await clock.sleep(5)
    assert written  # asked to settle before the time moved
    assert written[-1] == 0.0
