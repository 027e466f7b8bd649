"""Issue 15: what the platform says is untrusted, and one run's bad answer is that run's alone.

The real engine, the real client and the real simulator (in process, on one virtual clock as
in ``test_engine_scheduling``), with a tamper from ``tests.boomi.hostile`` on the wire for the
answers the simulator cannot give: a status with a line break, a platform that echoes the
request body (and the secret in it) in an error or in a record, and a state that holds a
requestId written before ids were checked.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from reconciler.apply.engine import ApplyOptions, Engine
from reconciler.boomi.client import BoomiClient, ClientOptions
from reconciler.config.secrets import EnvSecrets
from reconciler.model import (
    Action,
    ActionKind,
    DesiredRun,
    Event,
    Location,
    Phase,
    Plan,
    ResolvedRequest,
    RunRequest,
    SecretRef,
    StateEntry,
)
from reconciler.outbound import NO_SECRETS, Redactor, variants
from reconciler.retry import Backoff
from reconciler.sim.app import create_app
from reconciler.sim.state import Simulator
from reconciler.sim.world import world_from_data
from reconciler.store.state import StateStore
from tests.apply.virtual_clock import VirtualClock
from tests.boomi.hostile import Answer, Echo, Poison, Tamper, in_record, poisoned_transport
from tests.sim.helpers import demo_data

WHEN = datetime(2026, 1, 15, 10, 0, 0, tzinfo=UTC)
ATOM = "3456789a-bcde-f012-3456-789abcdef012"


def _pid(process: str) -> str:
    return f"0000000{process[1]}-0000-4000-8000-00000000000{process[1]}"


def _simulator(clock: VirtualClock) -> Simulator:
    world: dict[str, Any] = demo_data()
    world["epoch"] = WHEN
    world["accounts"][0]["rateLimit"] = 0
    world["processes"] += [
        {
            "id": _pid(p),
            "name": f"Process {p}",
            "deployments": ["Production"],
            "duration": duration,
            "recordDelay": 0.1,
            "outcome": "COMPLETE",
        }
        for p, duration in (("p1", 1.0), ("p2", 5.0))
    ]
    return Simulator(world_from_data(world), time_scale=1000.0, clock=clock.monotonic)


def _client(
    sim: Simulator, clock: VirtualClock, tamper: Tamper, redactor: Redactor = NO_SECRETS
) -> BoomiClient:
    return BoomiClient(
        "http://sim/api/rest/v1",
        "demo-AB12CD",
        "BOOMI_TOKEN.demo@example.com",
        "0f8e2c1a-5b7d-4e3f-9a6c-2d1b0e9f8a7c",
        clock=clock,
        options=ClientOptions(rate_limit=1000, backoff=Backoff(base=0.001, cap=0.01), seed=1),
        transport=poisoned_transport(create_app(sim), tamper),
        redactor=redactor,
    )


def _action(name: str, process: str, secret: str | None = None) -> Action:
    dynamic: dict[str, str | SecretRef] = {"NAME": name}
    if secret:
        dynamic["DB_PASSWORD"] = SecretRef(secret=secret)
    request = RunRequest(process_id=_pid(process), atom_id=ATOM, dynamic_properties=dynamic)
    desired = DesiredRun(name=name, request=request, digest=f"v1:{name}", source=Location(file="x"))
    return Action(name=name, kind=ActionKind.SUBMIT, reason="test", desired=desired)


def _engine(
    store: StateStore, client: BoomiClient, clock: VirtualClock, environ: dict[str, str]
) -> tuple[Engine, list[Event]]:
    events: list[Event] = []
    options = ApplyOptions(
        concurrency=20, poll_initial=0.05, poll_max=0.5, adopt_after=1.0, record_timeout=5, seed=1
    )
    engine = Engine(
        client, store, clock, EnvSecrets(environ), options=options, progress=events.append
    )
    return engine, events


def _files(root: Path) -> list[str]:
    """The text of every file under ``root``."""
    return [p.read_text(encoding="utf-8") for p in root.rglob("*") if p.is_file()]


def _clock(store: StateStore) -> VirtualClock:
    return VirtualClock(WHEN, settle=store.settle)


@pytest.mark.anyio
async def test_a_record_out_of_shape_stops_its_own_run_and_no_other(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    clock = _clock(store)
    sim = _simulator(clock)
    # The victim's record says its status is two lines, the second a workflow command.
    poison = Poison(_pid("p1"), record=in_record(status="COMPLETE\n::error::pwned"))
    healthy = [_action(f"long-{i}", "p2") for i in range(10)]
    async with _client(sim, clock, poison) as client:
        engine, _ = _engine(store, client, clock, {})
        result = await engine.apply(Plan(actions=(_action("victim", "p1"), *healthy)))
    assert poison.hits == 1  # polling stopped at the first bad answer
    outcomes = {r.name: r for r in result.results}
    assert [outcomes[a.name].outcome for a in healthy] == ["success"] * 10
    victim = outcomes["victim"]
    assert victim.outcome == "pending"
    assert victim.message is not None
    assert "ExecutionRecord.status: expected a status word such as COMPLETE" in victim.message
    assert "\n" not in victim.message
    saved = StateStore(tmp_path).snapshot()["victim"]
    assert saved.phase is Phase.SUBMITTED  # its last good state: the next apply resumes it
    assert saved.status is None


@pytest.mark.anyio
async def test_a_request_id_on_record_that_is_not_an_id_never_reaches_a_url(
    tmp_path: Path,
) -> None:
    store = StateStore(tmp_path)
    clock = _clock(store)
    sim = _simulator(clock)
    seen: list[str] = []

    def watch(method: str, path: str, sent: bytes, status: int, body: bytes) -> Answer:
        seen.append(path)
        return status, body, None

    action = _action("legacy", "p1")
    assert action.desired is not None
    # A state written before ids were checked: the run was started, its requestId is forged.
    entry = StateEntry(
        name="legacy",
        digest=action.desired.digest,
        request=action.desired.request,
        phase=Phase.SUBMITTED,
        attempt_id="a-1",
        request_id="executionrecord-1\r\nX-Forged: 1",
        intent_at=WHEN,
        submitted_at=WHEN,
    )
    store.save(entry)
    resume = action.model_copy(update={"kind": ActionKind.RESUME, "current": entry})
    async with _client(sim, clock, watch) as client:
        started = await client.submit(ResolvedRequest(process_id=_pid("p1"), atom_id=ATOM))
        engine, _ = _engine(store, client, clock, {})
        first = (await engine.apply(Plan(actions=(resume,)))).results[0]
        assert first.outcome == "unknown"
        assert first.message is not None
        assert "the requestId on record is not an id like executionrecord-<uuid>" in first.message
        assert not any("X-Forged" in path or "async/executionrecord-1" in path for path in seen)
        unknown = StateStore(tmp_path).snapshot()["legacy"]
        assert unknown.phase is Phase.UNKNOWN
        # The next apply finds the run by query, and follows it by its executionId.
        await clock.sleep(2)
        again = action.model_copy(update={"kind": ActionKind.UNKNOWN, "current": unknown})
        second = (await engine.apply(Plan(actions=(again,)))).results[0]
    assert second.outcome == "success"
    assert sim.runs[0].request_id == started
    assert second.execution_id == sim.runs[0].execution_id
    assert len(sim.runs) == 1  # adopted, never submitted again


SECRETS = [
    pytest.param("Tr0ub4dor-and-3", id="raw"),  # appears as is in the echoed JSON
    pytest.param('pa"ss\tw<o>rd&1', id="json-escaped"),  # appears as pa\"ss\tw<o>rd&1
]


@pytest.mark.anyio
@pytest.mark.parametrize("shape", ["json", "xml", "text"])
@pytest.mark.parametrize("value", SECRETS)
async def test_a_secret_the_platform_echoes_is_stored_as_its_name(
    tmp_path: Path, shape: str, value: str
) -> None:
    store = StateStore(tmp_path)
    clock = _clock(store)
    sim = _simulator(clock)
    echo = Echo(rejected=_pid("p1"), failed=_pid("p2"), shape=shape)
    redactor = Redactor({"DB_PASSWORD": value})
    plan = Plan(
        actions=(
            _action("rejected", "p1", "DB_PASSWORD"),
            _action("failed", "p2", "DB_PASSWORD"),
        )
    )
    async with _client(sim, clock, echo, redactor) as client:
        engine, events = _engine(store, client, clock, {"DB_PASSWORD": value})
        result = await engine.apply(plan)
    outcomes = {r.name: r for r in result.results}
    assert outcomes["rejected"].outcome == "rejected"
    assert outcomes["failed"].outcome == "failure"
    for run in result.results:
        assert run.message is not None
        assert 'secret("DB_PASSWORD")' in run.message, run.message
    shown = [
        *(r.model_dump_json() for r in result.results),
        *(repr(e) for e in events),
        *_files(tmp_path),
    ]
    exact, either_case = variants(value)
    for text in shown:
        assert not [form for form in exact if form in text], text
        assert not [form for form in either_case if form.lower() in text.lower()], text
    saved = StateStore(tmp_path).snapshot()
    assert saved["failed"].status == "ERROR"
    assert 'secret("DB_PASSWORD")' in (saved["failed"].message or "")
