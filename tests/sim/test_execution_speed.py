"""``executionSpeed``: each execution of a process keeps its own speed across submissions.

The benchmark's fourth world needs runs whose durations follow the execution (a steadily slow
one stays slow in the next apply) instead of being drawn afresh per submission.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from reconciler.sim.world import WorldError, world_from_data
from tests.sim.helpers import ORDERS, PROD_ATOM, Platform, demo_data

pytestmark = pytest.mark.anyio


def world(speed: dict[str, Any] | None) -> dict[str, Any]:
    data = demo_data()
    data["accounts"][0]["rateLimit"] = 0
    for process in data["processes"]:
        if process["id"] == ORDERS:
            process["duration"] = {"distribution": "fixed", "value": 10}
            process["recordDelay"] = 1
            process["outcome"] = ["COMPLETE"]
            if speed is not None:
                process["executionSpeed"] = speed
    return data


async def durations(platform: Platform, requests: list[dict[str, str]]) -> list[float]:
    """Submit one run per property set, let them all finish, return their durations (s)."""
    async with platform.client() as client:
        ids = []
        for dynamic in requests:
            body = {
                "atomId": PROD_ATOM,
                "processId": ORDERS,
                "DynamicProcessProperties": {
                    "DynamicProcessProperty": [{"name": k, "value": v} for k, v in dynamic.items()]
                },
            }
            posted = await client.post("/ExecutionRequest", json=body)
            assert posted.status_code == 200, posted.text
            ids.append(posted.json()["requestId"])
        platform.advance(10_000)
        out = []
        for rid in ids:
            response = await client.get(f"/ExecutionRecord/async/{rid}")
            record = response.json()["result"][0]
            assert record["status"] == "COMPLETE"
            out.append(record["executionDuration"][1] / 1000)
    return out


async def test_the_same_execution_keeps_its_speed_across_submissions(
    make_platform: Callable[..., Platform],
) -> None:
    platform = make_platform(world_from_data(world({"sigma": 0.8, "key": "DPP_NAME"})))
    a1, b, a2, c = await durations(
        platform,
        [
            {"DPP_NAME": "a", "DPP_DATE": "2026-01-15"},
            {"DPP_NAME": "b", "DPP_DATE": "2026-01-15"},
            {"DPP_NAME": "a", "DPP_DATE": "2026-01-16"},  # the same execution, changed input
            {"DPP_NAME": "c", "DPP_DATE": "2026-01-15"},
        ],
    )
    assert a1 == a2  # a fixed duration times the execution's own factor, twice
    assert len({a1, b, c}) == 3  # three executions, three speeds
    assert 10.0 not in {a1, b, c}

    # Another simulator with the same world and seed draws the same speeds.
    again = make_platform(world_from_data(world({"sigma": 0.8, "key": "DPP_NAME"})))
    assert await durations(again, [{"DPP_NAME": "c"}, {"DPP_NAME": "a"}]) == [c, a1]


async def test_without_the_key_the_whole_request_is_the_identity(
    make_platform: Callable[..., Platform],
) -> None:
    platform = make_platform(world_from_data(world({"sigma": 0.8})))
    same1, other, same2 = await durations(
        platform,
        [{"DPP_NAME": "a", "X": "1"}, {"DPP_NAME": "a", "X": "2"}, {"X": "1", "DPP_NAME": "a"}],
    )
    assert same1 == same2
    assert same1 != other


async def test_without_execution_speed_durations_are_unchanged(
    make_platform: Callable[..., Platform],
) -> None:
    platform = make_platform(world_from_data(world(None)))
    assert await durations(platform, [{"DPP_NAME": "a"}, {"DPP_NAME": "b"}]) == [10.0, 10.0]


def test_a_speed_without_a_positive_sigma_is_rejected() -> None:
    with pytest.raises(WorldError, match="sigma"):
        world_from_data(world({"sigma": 0}))
