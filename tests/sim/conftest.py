"""Fixtures for simulator tests: the anyio backend, a fake clock and in-process platforms."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from reconciler.sim.app import Simulator
from reconciler.sim.world import World
from tests.sim.helpers import FakeClock, Platform, unlimited_demo


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_platform(clock: FakeClock) -> Callable[..., Platform]:
    def make(world: World | None = None, *, time_scale: float = 1.0) -> Platform:
        sim = Simulator(world or unlimited_demo(), time_scale=time_scale, clock=clock)
        return Platform(sim, clock)

    return make


@pytest.fixture
def platform(make_platform: Callable[..., Platform]) -> Platform:
    return make_platform()
