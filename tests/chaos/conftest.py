"""The chaos harness's simulator, shared by the short chaos tests of one session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chaos.harness import Simulator, serving, serving_elsewhere


@pytest.fixture(scope="session")
def chaos_sim() -> Iterator[Simulator]:
    """A simulator in a thread; every scenario resets it with its own world."""
    with serving() as sim:
        yield sim


@pytest.fixture(scope="session")
def chaos_sim_elsewhere() -> Iterator[Simulator]:
    """A simulator in a process of its own, for scenarios that run the CLI in this one."""
    with serving_elsewhere() as sim:
        yield sim
