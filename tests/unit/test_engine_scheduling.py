"""The engine's scheduling: a bounded number of tasks, longest recorded run first, dependents
after their dependencies, and a submit still waiting for its permit dropped on interrupt.

The real engine, the real platform client and the real simulator (in process, over its ASGI
app), with the state store on a temporary folder.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.backoff import Backoff
from reconciler.boomi.client import BoomiClient, ClientOptions
from reconciler.clock import SystemClock
from reconciler.engine import ApplyOptions, Engine
from reconciler.model import (
    Action,
    ActionKind,
    DesiredRun,
    Location,
    Phase,
    Plan,
    RunRequest,
    StateEntry,
)
from reconciler.secrets import EnvSecrets
from reconciler.sim.app import create_app
from reconciler.sim.state import Simulator
from reconciler.sim.world import world_from_data
from reconciler.state import StateStore
from tests.sim.helpers import demo_data

WHEN = datetime(2026, 1, 15, 10, 0, 0, tzinfo=UTC)
ATOM = "3456789a-bcde-f012-3456-789abcdef012"  # the demo world's production runtime
PROCESSES = ("p1", "p2", "p3", "p4", "p9")


def _pid(process: str) -> str:
    return f"0000000{process[1]}-0000-4000-8000-00000000000{process[1]}"


def _simulator() -> Simulator:
    world: dict[str, Any] = demo_data()
    world["accounts"][0]["rateLimit"] = 0  # no platform limit: only the order is under test
    world["processes"] += [
        {
            "id": _pid(p),
            "name": f"Process {p}",
            "deployments": ["Production"],
            "duration": 0.5,
            "recordDelay": 0.1,
            "outcome": "COMPLETE",
        }
        for p in PROCESSES
    ]
    return Simulator(world_from_data(world), time_scale=1000.0)


@pytest.fixture
def platform() -> Simulator:
    return _simulator()


def _client(sim: Simulator) -> BoomiClient:
    return BoomiClient(
        "http://sim/api/rest/v1",
        "demo-AB12CD",
        "BOOMI_TOKEN.demo@example.com",
        "0f8e2c1a-5b7d-4e3f-9a6c-2d1b0e9f8a7c",
        clock=SystemClock(),
        options=ClientOptions(rate_limit=1000, backoff=Backoff(base=0.001, cap=0.01), seed=1),
        transport=httpx.ASGITransport(app=create_app(sim)),
    )


def _submitted(sim: Simulator) -> list[str]:
    """Names of the executions the platform ran, in the order their POSTs arrived."""
    return [run.submission.properties()["dynamic"]["NAME"] for run in sim.runs]


def _action(name: str, process: str, duration_ms: int | None = None) -> Action:
    request = RunRequest(process_id=_pid(process), atom_id=ATOM, dynamic_properties={"NAME": name})
    desired = DesiredRun(name=name, request=request, digest=f"v1:{name}", source=Location(file="x"))
    current = None
    if duration_ms is not None:
        current = StateEntry(
            name=name,
            digest="v1:old",
            request=request,
            phase=Phase.FINAL,
            attempt_id=f"old-{name}",
            request_id=f"executionrecord-old-{name}",
            execution_id=f"execution-old-{name}",
            status="COMPLETE",
            intent_at=WHEN,
            duration_ms=duration_ms,
        )
    kind = ActionKind.RERUN if current else ActionKind.SUBMIT
    return Action(name=name, kind=kind, reason="test", desired=desired, current=current)


def _engine(
    store: StateStore, client: BoomiClient, concurrency: int, progress: Any = None
) -> Engine:
    options = ApplyOptions(concurrency=concurrency, poll_initial=0.001, poll_max=0.01, seed=1)
    return Engine(client, store, SystemClock(), EnvSecrets({}), options=options, progress=progress)


@pytest.mark.anyio
async def test_longest_recorded_run_goes_first_and_tasks_stay_bounded(
    tmp_path: Path, platform: Simulator
) -> None:
    actions = [
        _action("a-short", "p1", 1_000),
        _action("b-new", "p9"),  # no history at all: may be long, goes first
        _action("c-long", "p2", 90_000),
        _action("d-new-of-p2", "p2"),  # never run, but its process takes about 90 s
        _action("e-mid", "p3", 20_000),
        *[_action(f"z{i:02}", "p4", 500) for i in range(20)],
    ]
    store = StateStore(tmp_path)
    for action in actions:
        if action.current is not None:
            store.save(action.current)
    most_tasks = 0

    def progress(_name: str, _message: str) -> None:
        nonlocal most_tasks
        most_tasks = max(most_tasks, len(asyncio.all_tasks()))

    before = len(asyncio.all_tasks())
    async with _client(platform) as client:
        engine = _engine(store, client, concurrency=1, progress=progress)
        result = await engine.apply(Plan(actions=tuple(actions)))

    ran = _submitted(platform)
    assert ran[:5] == ["b-new", "c-long", "d-new-of-p2", "e-mid", "a-short"]
    assert ran[5:] == [f"z{i:02}" for i in range(20)]  # ties: plan order
    assert [r.outcome for r in result.results] == ["success"] * 25
    # One task per running action (and its shielded POST, and the limiter's gate), never one
    # per action up front: 25 actions would make it 25 or more.
    assert most_tasks <= before + 3
    saved = StateStore(tmp_path).snapshot()  # flushed before apply returned
    assert all(entry.phase is Phase.FINAL for entry in saved.values())
    assert saved["c-long"].execution_id == next(
        run.execution_id
        for run in platform.runs
        if run.submission.properties()["dynamic"]["NAME"] == "c-long"
    )


@pytest.mark.anyio
async def test_dependents_start_when_their_dependency_succeeds(
    tmp_path: Path, platform: Simulator
) -> None:
    first, second, third = _action("a", "p1"), _action("b", "p1"), _action("c", "p1")
    second = second.model_copy(update={"after": ("a",)})
    third = third.model_copy(update={"after": ("missing-from-apply", "b")})
    async with _client(platform) as client:
        engine = _engine(StateStore(tmp_path), client, concurrency=5)
        result = await engine.apply(Plan(actions=(third, second, first)))
    assert _submitted(platform) == ["a", "b", "c"]
    assert [r.outcome for r in result.results] == ["success"] * 3


@pytest.mark.anyio
async def test_interrupted_submit_still_waiting_for_its_permit_saves_and_sends_nothing(
    tmp_path: Path, platform: Simulator
) -> None:
    store = StateStore(tmp_path)
    async with _client(platform) as client:
        client.limiter.penalize(3600)  # a 503's Retry-After: no permit comes for an hour
        engine = _engine(store, client, concurrency=5)
        plan = Plan(actions=(_action("a", "p1"), _action("b", "p1")))
        apply = asyncio.create_task(engine.apply(plan))
        for _ in range(20):
            await asyncio.sleep(0)
        apply.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(apply, 5)  # at once, not after the wait for a POST on the wire
    assert platform.runs == []
    assert not list(store.root.glob("*.json"))  # no intent: the next apply simply submits
