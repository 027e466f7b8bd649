"""The engine's scheduling: a bounded number of tasks, longest recorded run first, dependents
after their dependencies, and a submit still waiting for its permit dropped on interrupt.

The real engine, the real platform client and the real simulator (in process, over its ASGI
app), with the state store on a temporary folder. All three run on one virtual clock
(``virtual_clock``): no test waits for, or depends on, wall time.
"""

from __future__ import annotations

import asyncio
import gc
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.apply.engine import ApplyOptions, Engine
from reconciler.boomi.client import BoomiClient, ClientOptions
from reconciler.config.secrets import EnvSecrets
from reconciler.model import (
    Action,
    ActionKind,
    DesiredRun,
    Event,
    Final,
    Location,
    Notice,
    Phase,
    Plan,
    RunRequest,
    StateEntry,
)
from reconciler.retry import Backoff
from reconciler.sim.app import create_app
from reconciler.sim.faults import FaultRule
from reconciler.sim.state import Simulator
from reconciler.sim.world import world_from_data
from reconciler.store.state import StateStore
from tests.apply.virtual_clock import VirtualClock
from tests.sim.helpers import demo_data

WHEN = datetime(2026, 1, 15, 10, 0, 0, tzinfo=UTC)
ATOM = "3456789a-bcde-f012-3456-789abcdef012"  # the demo world's production runtime
PROCESSES = ("p1", "p2", "p3", "p4", "p9")


def _pid(process: str) -> str:
    return f"0000000{process[1]}-0000-4000-8000-00000000000{process[1]}"


def _clock(*stores: StateStore) -> VirtualClock:
    """A virtual clock whose time moves only once the stores' writes are on disk."""

    def settle() -> None:
        for store in stores:
            store.settle()

    return VirtualClock(WHEN, settle=settle)


def _simulator(clock: VirtualClock, durations: dict[str, float] | None = None) -> Simulator:
    world: dict[str, Any] = demo_data()
    world["epoch"] = WHEN  # the platform's timestamps on the engine's timeline
    world["accounts"][0]["rateLimit"] = 0  # no platform limit: only the order is under test
    world["processes"] += [
        {
            "id": _pid(p),
            "name": f"Process {p}",
            "deployments": ["Production"],
            "duration": (durations or {}).get(p, 0.5),
            "recordDelay": 0.1,
            "outcome": "COMPLETE",
        }
        for p in PROCESSES
    ]
    return Simulator(world_from_data(world), time_scale=1000.0, clock=clock.monotonic)


def _client(
    sim: Simulator, clock: VirtualClock, transport: httpx.AsyncBaseTransport | None = None
) -> BoomiClient:
    return BoomiClient(
        "http://sim/api/rest/v1",
        "demo-AB12CD",
        "BOOMI_TOKEN.demo@example.com",
        "0f8e2c1a-5b7d-4e3f-9a6c-2d1b0e9f8a7c",
        clock=clock,
        options=ClientOptions(rate_limit=1000, backoff=Backoff(base=0.001, cap=0.01), seed=1),
        transport=transport or httpx.ASGITransport(app=create_app(sim)),
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
    store: StateStore,
    client: BoomiClient,
    clock: VirtualClock,
    concurrency: int,
    progress: Any = None,
) -> Engine:
    options = ApplyOptions(concurrency=concurrency, poll_initial=0.001, poll_max=0.01, seed=1)
    return Engine(client, store, clock, EnvSecrets({}), options=options, progress=progress)


@pytest.mark.anyio
async def test_longest_recorded_run_goes_first_and_tasks_stay_bounded(tmp_path: Path) -> None:
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
    clock = _clock(store)
    platform = _simulator(clock)
    most_tasks = 0

    def tasks() -> int:
        return sum(1 for t in asyncio.all_tasks() if t.get_name() != "virtual-clock")

    def progress(_event: Event) -> None:
        nonlocal most_tasks
        most_tasks = max(most_tasks, tasks())

    before = tasks()
    async with _client(platform, clock) as client:
        engine = _engine(store, client, clock, concurrency=1, progress=progress)
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


def _alive(names: set[str]) -> list[str]:
    """Names of the actions and desired runs still in memory, of those named."""
    gc.collect()
    return sorted(
        o.name for o in gc.get_objects() if isinstance(o, Action | DesiredRun) and o.name in names
    )


@pytest.mark.anyio
async def test_the_engine_lets_go_of_each_action_once_its_run_is_over(tmp_path: Path) -> None:
    # Memory grows with the runs in flight, not with every run of the apply (issue 18): the
    # caller hands the plan over, and a finished run's action and desired run are freed.
    store = StateStore(tmp_path)
    clock = _clock(store)
    platform = _simulator(clock)
    seen: dict[str, list[str]] = {}

    def progress(event: Event) -> None:
        if isinstance(event, Final):
            seen[event.name] = _alive({"a", "b", "c"})

    async with _client(platform, clock) as client:
        engine = _engine(store, client, clock, concurrency=1, progress=progress)
        result = await engine.apply(Plan(actions=tuple(_action(n, "p1") for n in "abc")))
    assert _submitted(platform) == ["a", "b", "c"]
    # When a run ends, its own action is still at work; those of the runs before it are gone.
    assert seen == {"a": ["a", "a", "b", "b", "c", "c"], "b": ["b", "b", "c", "c"], "c": ["c", "c"]}
    assert [r.name for r in result.results] == ["a", "b", "c"]
    assert StateStore(tmp_path).snapshot()["a"].phase is Phase.FINAL  # what resumes needs stays


@pytest.mark.anyio
async def test_dependents_start_when_their_dependency_succeeds(tmp_path: Path) -> None:
    first, second, third = _action("a", "p1"), _action("b", "p1"), _action("c", "p1")
    second = second.model_copy(update={"after": ("a",)})
    third = third.model_copy(update={"after": ("missing-from-apply", "b")})
    store = StateStore(tmp_path)
    clock = _clock(store)
    platform = _simulator(clock)
    async with _client(platform, clock) as client:
        engine = _engine(store, client, clock, concurrency=5)
        result = await engine.apply(Plan(actions=(third, second, first)))
    assert _submitted(platform) == ["a", "b", "c"]
    assert [r.outcome for r in result.results] == ["success"] * 3


@pytest.mark.anyio
async def test_interrupted_submit_still_waiting_for_its_permit_saves_and_sends_nothing(
    tmp_path: Path,
) -> None:
    store = StateStore(tmp_path)
    clock = _clock(store)
    platform = _simulator(clock)
    async with _client(platform, clock) as client:
        client.limiter.penalize(3600)  # a 503's Retry-After: no permit comes for an hour
        engine = _engine(store, client, clock, concurrency=5)
        plan = Plan(actions=(_action("a", "p1"), _action("b", "p1")))
        apply = asyncio.create_task(engine.apply(plan))
        await clock.sleep(1)  # the submits wait for their permit
        apply.cancel()
        with pytest.raises(asyncio.CancelledError):
            await apply
        # At once, not after the wait for a POST on the wire (shield_seconds = 10).
        assert clock.monotonic() == 1.0
    assert platform.runs == []
    assert not list(store.root.glob("*.json"))  # no intent: the next apply simply submits


@pytest.mark.anyio
async def test_a_first_apply_learns_which_processes_are_quick(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    clock = _clock(store)
    sim = _simulator(clock, {"p2": 50.0})  # p1 takes 0.5 s: once a run of each is seen, p2 leads
    actions = [_action(f"{p}-{i}", p) for i in range(1, 4) for p in ("p1", "p2")]
    async with _client(sim, clock) as client:
        engine = _engine(store, client, clock, concurrency=1)
        result = await engine.apply(Plan(actions=tuple(actions)))
    # Nothing known: plan order; p1 is then known to be quick, p2 unknown (so maybe long),
    # then known to be slow: both of its remaining runs go before p1's.
    assert _submitted(sim) == ["p1-1", "p2-1", "p2-2", "p2-3", "p1-2", "p1-3"]
    assert [r.outcome for r in result.results] == ["success"] * 6


def _processes(sim: Simulator) -> list[str]:
    return [name.split("-")[0] for name in _submitted(sim)]


@pytest.mark.anyio
async def test_a_first_apply_surveys_the_records_and_sends_the_slow_process_first(
    tmp_path: Path,
) -> None:
    store = StateStore(tmp_path)
    clock = _clock(store)
    sim = _simulator(clock, {"p2": 60.0})  # p1 takes 0.5 s; time is 1000 times faster
    actions = [_action(f"{p}-{i:02}", p) for i in range(40) for p in ("p1", "p2")]
    async with _client(sim, clock) as client:  # 1000 requests a second: the submits take 80 ms
        options = ApplyOptions(concurrency=100, lookahead=4, poll_initial=0.001, poll_max=0.01)
        engine = Engine(client, store, clock, EnvSecrets({}), options=options)
        result = await engine.apply(Plan(actions=tuple(actions)))
    order = _processes(sim)
    # Nothing known: the two take turns. The records soon show p1's runs finishing within a
    # second and p2's going on: every p2 run left goes before the rest of p1's.
    assert order[:2] == ["p1", "p2"]
    assert order[-20:] == ["p1"] * 20
    assert sim.counters.by_endpoint["executionRecordQuery"]["200"] >= 4  # a round, then more
    assert {r.outcome for r in result.results} == {"success"}
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "survey"]  # ended with it


@pytest.mark.anyio
async def test_a_new_workspace_learns_from_the_runs_the_account_made_before(
    tmp_path: Path,
) -> None:
    first, second = StateStore(tmp_path / "a"), StateStore(tmp_path / "b")
    clock = _clock(first, second)
    sim = _simulator(clock, {"p2": 60.0})
    before = [_action(f"old{p}-{i}", p) for i in range(4) for p in ("p1", "p2")]
    actions = [_action(f"{p}-{i:02}", p) for i in range(10) for p in ("p1", "p2")]
    async with _client(sim, clock) as client:
        await _engine(first, client, clock, 100).apply(Plan(actions=tuple(before)))
        queries = sim.counters.by_endpoint["executionRecordQuery"]["200"]
        options = ApplyOptions(concurrency=100, poll_initial=0.05, poll_max=0.1)  # waits 0.25 s
        engine = Engine(client, second, clock, EnvSecrets({}), options=options)
        await engine.apply(Plan(actions=tuple(actions)))
    # The first round, before any submit, finds both processes settled by their history.
    assert _processes(sim)[8:] == ["p2"] * 10 + ["p1"] * 10
    assert sim.counters.by_endpoint["executionRecordQuery"]["200"] == queries + 2


class _Queries(httpx.AsyncBaseTransport):
    """The simulator's app, and the filter of every QUERY sent to it, by what it asks."""

    def __init__(self, sim: Simulator) -> None:
        self._app = httpx.ASGITransport(app=create_app(sim))
        self.survey = 0  # runs of a process (the survey)
        self.poll = 0  # runs by executionId (poll rounds, or one run's own query)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/ExecutionRecord/query"):
            text = (await request.aread()).decode()
            if '"processId"' in text:
                self.survey += 1
            elif '"executionId"' in text:
                self.poll += 1
        return await self._app.handle_async_request(request)


@pytest.mark.anyio
@pytest.mark.parametrize(("concurrency", "budget"), [(500, 400 // 20), (50, 2 * 5)])
async def test_the_survey_spends_one_query_per_twenty_runs_or_two_rounds_when_slots_bind(
    tmp_path: Path, concurrency: int, budget: int
) -> None:
    # Five processes whose runs (1,000 s) outlast the submits (400 at 1000/s): none settles,
    # and a round every 5 ms would make hundreds of queries. With every run going at once the
    # records are the only news (400 // 20 queries); when the slots bind, the apply sees runs
    # end all along and the survey takes two rounds (2 x 5 processes).
    store = StateStore(tmp_path)
    clock = _clock(store)
    sim = _simulator(clock, dict.fromkeys(PROCESSES, 1000.0))
    actions = [_action(f"{p}-{i:02}", p) for i in range(80) for p in PROCESSES]
    queries = _Queries(sim)
    async with _client(sim, clock, queries) as client:
        await _engine(store, client, clock, concurrency).apply(Plan(actions=tuple(actions)))
    assert queries.survey == budget
    assert queries.survey + queries.poll == sim.counters.by_endpoint["executionRecordQuery"]["200"]


@pytest.mark.anyio
@pytest.mark.parametrize("slow_after", [0, 2], ids=["first round", "a later round"])
async def test_an_apply_interrupted_during_a_survey_round_leaves_nothing_behind(
    tmp_path: Path, slow_after: int
) -> None:
    store = StateStore(tmp_path)
    clock = _clock(store)
    sim = _simulator(clock, {"p1": 1000.0, "p2": 1000.0})
    # A query that hangs (in real time, which the virtual clock does not wait for) until the
    # apply is interrupted: rounds are every 0.1 s, runs take 1 s, the interrupt comes at 0.3 s.
    rule = FaultRule(endpoint="executionRecordQuery", kind="slow", delay=300, after=slow_after)
    sim.set_faults([rule])
    actions = [_action(f"{p}-{i}", p) for i in range(20) for p in ("p1", "p2")]
    async with _client(sim, clock) as client:
        options = ApplyOptions(concurrency=100, poll_initial=0.02, poll_max=0.05)
        engine = Engine(client, store, clock, EnvSecrets({}), options=options)
        apply = asyncio.create_task(engine.apply(Plan(actions=tuple(actions))))
        await clock.sleep(0.3)  # the first round waits 0.1 s at most; then submits go
        answered = sim.counters.by_endpoint.get("executionRecordQuery", {}).get("200", 0)
        assert answered == slow_after  # the rounds before the slow one, and no more
        apply.cancel()
        with pytest.raises(asyncio.CancelledError):
            await apply
        leftover = [t.get_name() for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert "survey" not in leftover
    assert not set(leftover) & {a.name for a in actions}
    saved = {e.name: e for e in StateStore(tmp_path).snapshot().values()}
    # Every run the platform started is in the state with its requestId; nothing else is.
    started = set(_submitted(sim))
    assert started  # the submits did not wait for the hanging round
    assert {n for n, e in saved.items() if e.request_id} == started
    assert all(e.phase in (Phase.SUBMITTED, Phase.FINAL) for e in saved.values())


@pytest.mark.anyio
async def test_the_runs_of_one_process_alone_cost_no_survey(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    clock = _clock(store)
    sim = _simulator(clock)
    actions = [_action(f"p1-{i}", "p1") for i in range(5)]
    async with _client(sim, clock) as client:
        result = await _engine(store, client, clock, 10).apply(Plan(actions=tuple(actions)))
    assert "executionRecordQuery" not in sim.counters.by_endpoint
    assert {r.outcome for r in result.results} == {"success"}


@pytest.mark.anyio
async def test_a_failed_survey_is_reported_once_and_the_apply_goes_on(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    clock = _clock(store)
    sim = _simulator(clock)
    # A token allowed to run processes but not to query their records.
    sim.set_faults([FaultRule(endpoint="executionRecordQuery", kind="error", status=403)])
    actions = [_action(f"{p}-{i}", p) for i in range(3) for p in ("p1", "p2")]
    said: list[Event] = []
    async with _client(sim, clock) as client:
        engine = _engine(store, client, clock, 10, said.append)
        result = await engine.apply(Plan(actions=tuple(actions)))
    notices = [e for e in said if isinstance(e, Notice)]
    assert [e.message.split(" (")[0] for e in notices] == [
        "durations not surveyed further: access denied to account demo-AB12CD"
    ]
    assert sim.counters.by_endpoint["executionRecordQuery"] == {"403": 2}  # one round only
    assert {r.outcome for r in result.results} == {"success"}
    finals = sorted(e.name for e in said if e.final)
    assert finals == sorted(a.name for a in actions)  # each run ended once, by a Final
    assert all(isinstance(e, Final) for e in said if e.final)


async def _polls_of(
    tmp_path: Path, actions: list[Action], durations: dict[str, float]
) -> dict[str, int]:
    store = StateStore(tmp_path)
    clock = _clock(store)
    sim = _simulator(clock, durations)
    async with _client(sim, clock) as client:
        options = ApplyOptions(concurrency=100, poll_initial=0.01, poll_max=0.5, seed=3)
        engine = Engine(client, store, clock, EnvSecrets({}), options=options)
        result = await engine.apply(Plan(actions=tuple(actions)))
    assert {r.outcome for r in result.results} == {"success"}
    return {r.name: r.polls for r in result.results}


@pytest.mark.anyio
async def test_the_last_run_of_an_apply_is_polled_more_often_within_a_budget(
    tmp_path: Path,
) -> None:
    # Runs of 2 s, polls from 0.01 s growing to 0.5 s: about 13 polls each. Twenty of them
    # end together: at least ten are followed until the end, nothing is shortened.
    crowd = await _polls_of(
        tmp_path / "crowd", [_action(f"p2-{i:02}", "p2", 10**6) for i in range(20)], {"p2": 2e3}
    )
    # One of them after 59 quick runs: alone at the end, its pauses are shortened (cap 0.05 s)
    # while the apply's budget lasts: 60 // 4 = 15 pauses (without it, about 40 polls).
    quick = [_action(f"p1-{i:02}", "p1", 500) for i in range(59)]
    alone = await _polls_of(
        tmp_path / "alone", [*quick, _action("p2-00", "p2", 10**6)], {"p2": 2e3}
    )
    usual = max(crowd.values())
    assert min(crowd.values()) >= usual - 2  # the crowd, as the plain backoff has it
    assert usual + 3 <= alone["p2-00"] <= usual + 15 + 2, (crowd, alone["p2-00"])


@pytest.mark.anyio
async def test_only_lookahead_submits_wait_for_a_permit(tmp_path: Path) -> None:
    names = {f"s{i:02}" for i in range(20)}
    store = StateStore(tmp_path)
    clock = _clock(store)
    platform = _simulator(clock)
    async with _client(platform, clock) as client:
        client.limiter.penalize(0.3)  # no permit for a while: tasks pile up if they can
        options = ApplyOptions(concurrency=100, lookahead=3, poll_initial=0.001, poll_max=0.01)
        engine = Engine(client, store, clock, EnvSecrets({}), options=options)
        apply = asyncio.create_task(
            # Durations known from the state: nothing to survey before the first submit.
            engine.apply(Plan(actions=tuple(_action(n, "p1", 1_000) for n in sorted(names))))
        )
        await clock.sleep(0.15)
        waiting = {task.get_name() for task in asyncio.all_tasks()} & names
        result = await apply
    assert waiting == {"s00", "s01", "s02"}  # the first three in plan order, and no more
    assert len(result.results) == 20
    assert {r.outcome for r in result.results} == {"success"}
