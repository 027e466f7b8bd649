"""Poll rounds: the runs an apply follows share one QUERY per round, and nothing is lost by it.

The real engine, client and simulator on one virtual clock (``virtual_clock``), with the
shipped polling options (1 s growing to 15 s) and the platform's rate limit: the simulator's
counters say how many calls an apply made, so calls per execution are counted, not timed.
Where the simulator cannot spoil an answer the way a test needs (a round's records duplicated,
a run nobody asked for), a transport between client and simulator rewrites the real answer.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.apply.engine import ApplyOptions, Engine
from reconciler.boomi.client import BoomiClient, ClientOptions
from reconciler.config.secrets import EnvSecrets
from reconciler.model import Action, ActionKind, DesiredRun, Event, Location, Plan, RunRequest
from reconciler.sim.app import create_app
from reconciler.sim.state import Simulator
from reconciler.sim.world import world_from_data
from reconciler.store.state import StateStore
from tests.apply.virtual_clock import VirtualClock
from tests.sim.helpers import demo_data

WHEN = datetime(2026, 1, 15, 10, 0, 0, tzinfo=UTC)
ATOM = "3456789a-bcde-f012-3456-789abcdef012"  # the demo world's production runtime
FOREIGN = "execution-0badf00d-0000-4000-8000-000000000000-2026.01.15"


def _pid(n: int) -> str:
    return f"0000000{n}-0000-4000-8000-00000000000{n}"


def _simulator(clock: VirtualClock, durations: dict[int, float]) -> Simulator:
    world: dict[str, Any] = demo_data()
    world["epoch"] = WHEN
    world["processes"] += [
        {
            "id": _pid(n),
            "name": f"Process {n}",
            "deployments": ["Production"],
            "duration": seconds,
            "recordDelay": 1.0,
            "outcome": "COMPLETE",
        }
        for n, seconds in durations.items()
    ]
    return Simulator(world_from_data(world), time_scale=1.0, clock=clock.monotonic)


def _action(name: str, process: int) -> Action:
    request = RunRequest(process_id=_pid(process), atom_id=ATOM, dynamic_properties={"N": name})
    desired = DesiredRun(name=name, request=request, digest=f"v1:{name}", source=Location(file="x"))
    return Action(name=name, kind=ActionKind.SUBMIT, reason="test", desired=desired)


async def _apply(
    store: StateStore,
    sim: Simulator,
    clock: VirtualClock,
    actions: list[Action],
    concurrency: int,
    transport: httpx.AsyncBaseTransport | None = None,
    progress: Any = None,
) -> Any:
    client = BoomiClient(
        "http://sim/api/rest/v1",
        "demo-AB12CD",
        "BOOMI_TOKEN.demo@example.com",
        "0f8e2c1a-5b7d-4e3f-9a6c-2d1b0e9f8a7c",
        clock=clock,
        options=ClientOptions(seed=1),  # the shipped pace: 8 requests a second
        transport=transport or httpx.ASGITransport(app=create_app(sim)),
    )
    async with client:
        options = ApplyOptions(concurrency=concurrency, seed=1)  # polls 1 s growing to 15 s
        engine = Engine(client, store, clock, EnvSecrets({}), options=options, progress=progress)
        return await engine.apply(Plan(actions=tuple(actions)))


def _calls(sim: Simulator) -> dict[str, int]:
    return {k: sum(v.values()) for k, v in sim.counters.by_endpoint.items()}


@pytest.mark.anyio
@pytest.mark.parametrize(("concurrency", "processes"), [(50, 1), (50, 3), (200, 3)])
async def test_an_apply_of_200_executions_costs_at_most_2_2_calls_each(
    tmp_path: Path, concurrency: int, processes: int
) -> None:
    store = StateStore(tmp_path)
    clock = VirtualClock(WHEN, settle=store.settle)
    durations = {1: 40.0, 2: 10.0, 3: 90.0}
    sim = _simulator(clock, {n: durations[n] for n in range(1, processes + 1)})
    actions = [_action(f"r{i:03}", 1 + i % processes) for i in range(200)]
    result = await _apply(store, sim, clock, actions, concurrency)
    assert {r.outcome for r in result.results} == {"success"}
    calls = _calls(sim)
    assert calls["executionRequest"] == 200  # every run submitted once
    # One POST and one GET per run, and the rounds' queries (and the survey's, with several
    # processes) shared: one GET per run each poll made about 5 calls per run.
    assert sum(calls.values()) / 200 <= 2.2, calls
    assert calls["executionRecordAsync"] <= 200 * 1.05, calls


class _Spoiler(httpx.AsyncBaseTransport):
    """The simulator, with every poll round's answer spoiled in one way."""

    def __init__(self, sim: Simulator, how: str) -> None:
        self._app = httpx.ASGITransport(app=create_app(sim))
        self._how = how
        self.spoiled = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._app.handle_async_request(request)
        sent = (await request.aread()).decode()
        if not request.url.path.endswith("/query") or '"or"' not in sent:
            return response
        body = json.loads(await response.aread())
        result = body.get("result", [])
        if self._how == "duplicates":  # each run twice, the copy saying it is over
            body["result"] = [*result, *({**r, "status": "COMPLETE"} for r in result)]
        elif self._how == "foreign":  # a run nobody asked for, over, instead of ours
            body["result"] = [{**r, "executionId": FOREIGN, "status": "COMPLETE"} for r in result]
        elif self._how == "types":
            body["result"] = [*result, "not a record"]
        elif self._how == "missing":
            body["result"] = []
        self.spoiled += 1
        return httpx.Response(200, json=body)


@pytest.mark.anyio
@pytest.mark.parametrize("how", ["duplicates", "foreign", "types", "missing"])
async def test_a_spoiled_round_answer_is_never_taken_for_a_run_over_or_gone(
    tmp_path: Path, how: str
) -> None:
    store = StateStore(tmp_path)
    clock = VirtualClock(WHEN, settle=store.settle)
    sim = _simulator(clock, {1: 40.0})
    spoiler = _Spoiler(sim, how)
    said: list[Event] = []
    actions = [_action(f"r{i:02}", 1) for i in range(20)]
    result = await _apply(store, sim, clock, actions, 20, spoiler, said.append)
    assert spoiler.spoiled  # rounds were asked, and spoiled
    assert {r.outcome for r in result.results} == {"success"}
    # Each run ended once, at its own end, with its own executionId: nothing was believed early.
    finals = [e for e in said if e.final]
    assert sorted(e.name for e in finals) == [a.name for a in actions]
    ran = {run.submission.properties()["dynamic"]["N"]: run for run in sim.runs}
    assert len(sim.runs) == len(ran) == 20  # nothing submitted twice
    for entry in StateStore(tmp_path).snapshot().values():
        assert entry.execution_id == ran[entry.name].execution_id
        assert entry.status == "COMPLETE"
        assert (entry.duration_ms or 0) >= 40_000


@pytest.mark.anyio
async def test_rounds_are_spread_so_a_finished_run_is_noticed_within_a_fraction_of_pause_max(
    tmp_path: Path,
) -> None:
    # The shipped concurrency, runs ending all along (10 s to 90 s, polls 1 s growing to
    # 15 s): the budget is spent evenly, not in bursts then droughts of one round every 15 s,
    # so a run is seen final about a third of a longest interval after it ended, on average.
    store = StateStore(tmp_path)
    clock = VirtualClock(WHEN, settle=store.settle)
    sim = _simulator(clock, {1: 40.0, 2: 10.0, 3: 90.0})
    actions = [_action(f"r{i:03}", 1 + i % 3) for i in range(300)]
    seen: dict[str, float] = {}

    def progress(event: Event) -> None:
        if getattr(event, "final", False):
            seen[event.name] = clock.monotonic()

    result = await _apply(store, sim, clock, actions, 50, progress=progress)
    assert {r.outcome for r in result.results} == {"success"}
    by_execution = {run.execution_id: run for run in sim.runs}
    late = []
    for r in result.results:
        assert r.execution_id is not None
        ended = by_execution[r.execution_id].timeline.ends_at
        assert ended is not None
        late.append(seen[r.name] - ended)
    assert min(late) >= 0  # never before the run ended
    assert sum(late) / len(late) <= 5.0, sorted(late)[-10:]  # a third of pause_max (15 s)
    assert sum(_calls(sim).values()) / 300 <= 2.2, _calls(sim)
