"""The simulator's mutable state and the platform operations on it.

Owns ``Simulator``: the current world, the virtual clock (``time_scale`` over an injected
monotonic clock), accepted runs, runtime online times, per-account token buckets, the fault
injector, query tokens and request counters. Operations raise ``SimError(status, message)``
for platform-level rejections; turning them into HTTP is ``app``'s job. Every method takes the
lock, so tests on another thread can read state while uvicorn serves requests.
"""

from __future__ import annotations

import json
import math
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from reconciler.sim.faults import FaultInjector, FaultRule
from reconciler.sim.lifecycle import Timeline, cancel_timeline, force_final, plan_timeline
from reconciler.sim.world import Process, Runtime, World


class SimError(Exception):
    """A platform-level rejection: HTTP ``status`` with an Error ``message``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class Submission:
    """The parts of an accepted ExecutionRequest the simulator keeps."""

    atom_id: str
    process_id: str
    dynamic: tuple[tuple[str, str], ...]
    process_properties: tuple[tuple[str, str, str], ...]
    """(componentId, key, value) triples."""
    echo: dict[str, Any]
    """The request body as the response echoes it (§5.3), without requestId/recordUrl."""

    def canonical(self) -> str:
        """Canonical JSON of the properties (for "how often was this exact run submitted")."""
        return json.dumps(self.properties(), sort_keys=True, separators=(",", ":"))

    def properties(self) -> dict[str, Any]:
        """Properties as plain data: ``{"dynamic": {...}, "process": {componentId: {...}}}``."""
        process: dict[str, dict[str, str]] = {}
        for component, key, value in self.process_properties:
            process.setdefault(component, {})[key] = value
        return {"dynamic": dict(self.dynamic), "process": process}


@dataclass(slots=True)
class Run:
    """One accepted submission and its (re-plannable) timeline."""

    index: int
    ordinal: int
    account: str
    request_id: str
    execution_id: str
    process: Process
    runtime: Runtime
    submission: Submission
    submitted_at: float
    submitted_wall: datetime
    timeline: Timeline
    legacy: bool = False
    forced: tuple[str, str] | None = None
    """(final status, message) imposed by an ``echo_record`` fault, kept across re-planning."""
    execution_type: str | None = None
    """The record's ``executionType`` when not the process's (a run started by ``/_sim/runs``)."""


@dataclass(slots=True)
class _Bucket:
    tokens: float
    last: float


@dataclass(slots=True)
class QueryPage:
    """What a query token remembers: the matched ids and how far the client has read."""

    kind: str
    account: str
    keys: list[str]
    offset: int


@dataclass(frozen=True, slots=True)
class Page:
    """One page of query results: keys into the queried collection, and the next token."""

    kind: str
    keys: list[str]
    token: str | None
    total: int


@dataclass(slots=True)
class Counters:
    """Request counts for ``GET /_sim/stats``."""

    by_endpoint: dict[str, dict[str, int]] = field(default_factory=dict)
    rate_limited: int = 0

    def count(self, endpoint: str, status: str) -> None:
        """Add one request to ``endpoint`` answered with ``status``."""
        per = self.by_endpoint.setdefault(endpoint, {})
        per[status] = per.get(status, 0) + 1


class Simulator:
    """The simulated platform: world, clock, runs and counters."""

    def __init__(
        self,
        world: World,
        *,
        time_scale: float = 1.0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.time_scale = time_scale
        self.clock = clock or time.monotonic
        self.lock = threading.RLock()
        self.initial_world = world
        self._install(world)

    def _install(self, world: World) -> None:
        self.world = world
        self.start = self.clock()
        self.epoch = world.epoch or datetime.now(UTC).replace(microsecond=0)
        if self.epoch.tzinfo is None:
            self.epoch = self.epoch.replace(tzinfo=UTC)
        self.runs: list[Run] = []
        self.by_request: dict[tuple[str, str], Run] = {}
        self.by_execution: dict[tuple[str, str], Run] = {}
        self.ordinals: dict[tuple[str, str], int] = {}
        self.online_at: dict[tuple[str, str], float | None] = {}
        for runtime in world.runtimes:
            key = (world.account_of(runtime), runtime.id)
            if runtime.status in ("ONLINE", "WARNING"):
                self.online_at[key] = 0.0
            else:
                self.online_at[key] = runtime.online_after
        self.buckets: dict[str, _Bucket] = {}
        self.faults = FaultInjector(world.faults, world.seed)
        self.pages: dict[str, QueryPage] = {}
        self.counters = Counters()

    # -- clock --------------------------------------------------------------------------

    def now(self) -> float:
        """Simulated seconds since start (or the last reset)."""
        return (self.clock() - self.start) * self.time_scale

    def wall(self, t: float) -> datetime:
        """The timestamp shown for simulated time ``t``: epoch + *real* elapsed time.

        Timestamps follow real time (simulated seconds divided by the time scale) so a client
        correlating by its own wall clock (§9.3) still finds runs when time is scaled.
        """
        return self.epoch + timedelta(seconds=t / self.time_scale)

    # -- admin --------------------------------------------------------------------------

    def reset(self, world: World | None = None) -> None:
        """Drop all runs, counters, tokens and fault state; optionally replace the world."""
        with self.lock:
            self._install(world or self.initial_world)

    def set_faults(self, rules: Sequence[FaultRule]) -> None:
        """Replace the fault plan (counters of the old plan are forgotten)."""
        with self.lock:
            self.faults = FaultInjector(rules, self.world.seed)

    def set_runtime_status(self, account: str, atom_id: str, online: bool) -> None:
        """Bring a runtime online (pending runs start now) or take it offline."""
        with self.lock:
            key = (account, atom_id)
            if key not in self.online_at:
                raise SimError(404, f"Atom {atom_id} does not exist.")
            now = self.now()
            if not online:
                self.online_at[key] = None
                return
            self.online_at[key] = now
            for run in self.runs:
                if (run.account, run.runtime.id) == key and run.timeline.record_at is None:
                    run.timeline = self._plan(run, max(run.submitted_at, now))

    # -- access control -----------------------------------------------------------------

    def take_token(self, account: str) -> bool:
        """Take one request from the account's token bucket (real seconds, §12.3)."""
        with self.lock:
            spec = next((a for a in self.world.accounts if a.id == account), None)
            if spec is None or spec.rate_limit == 0:
                return True
            capacity = float(spec.rate_limit_burst or max(1, math.ceil(spec.rate_limit)))
            now = self.clock()
            bucket = self.buckets.setdefault(account, _Bucket(capacity, now))
            bucket.tokens = min(capacity, bucket.tokens + (now - bucket.last) * spec.rate_limit)
            bucket.last = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return True
            self.counters.rate_limited += 1
            return False

    def runtime_online(self, account: str, atom_id: str, t: float) -> bool:
        """True when the runtime is online at simulated time ``t``."""
        online = self.online_at.get((account, atom_id))
        return online is not None and t >= online

    # -- runs ---------------------------------------------------------------------------

    def submit(
        self,
        account: str,
        submission: Submission,
        *,
        legacy: bool = False,
        execution_type: str | None = None,
    ) -> Run:
        """Validate and accept an ExecutionRequest (§5.4); the run starts its timeline.

        Raises:
            SimError: 400 for unknown/undeployed process or runtime; 410 for an offline
                runtime when the world rejects those.
        """
        with self.lock:
            world = self.world
            process = world.process(account, submission.process_id)
            if process is None:
                raise SimError(400, f"Process {submission.process_id} does not exist.")
            runtime = world.runtime(account, submission.atom_id)
            if runtime is None:
                raise SimError(400, f"Atom {submission.atom_id} does not exist.")
            if not world.is_deployed(account, process, runtime):
                raise SimError(
                    400,
                    f"Process {process.id} is not deployed to an environment attached to "
                    f"Atom {runtime.id}.",
                )
            now = self.now()
            online = self.runtime_online(account, runtime.id, now)
            if not online and world.switches.offline_runtime == "reject":
                raise SimError(410, f"Atom {runtime.id} is currently offline.")
            ordinal = self.ordinals.get((account, process.id), 0)
            self.ordinals[(account, process.id)] = ordinal + 1
            wall = self.wall(now)
            run = Run(
                index=len(self.runs),
                ordinal=ordinal,
                account=account,
                request_id=f"executionrecord-{uuid.uuid4()}",
                # §6.5: the executionId uuid is *not* the requestId's; clients must read it.
                execution_id=f"execution-{uuid.uuid4()}-{wall:%Y.%m.%d}",
                process=process,
                runtime=runtime,
                submission=submission,
                submitted_at=now,
                submitted_wall=wall,
                timeline=Timeline(None, (), None, None, process.documents),
                legacy=legacy,
                execution_type=execution_type,
            )
            online_at = self.online_at.get((account, runtime.id))
            if online_at is not None:
                run.timeline = self._plan(run, max(now, online_at))
            self.runs.append(run)
            self.by_request[(account, run.request_id)] = run
            self.by_execution[(account, run.execution_id)] = run
            return run

    def _plan(self, run: Run, available_at: float) -> Timeline:
        timeline = plan_timeline(
            run.process,
            available_at=available_at,
            seed=self.world.seed,
            index=run.index,
            ordinal=run.ordinal,
            dynamic=run.submission.dynamic,
        )
        return force_final(timeline, *run.forced) if run.forced else timeline

    def force_outcome(self, run: Run, status: str, message: str) -> None:
        """Make ``run`` end with ``status`` and ``message`` (hostile ``echo_record`` fault)."""
        with self.lock:
            run.forced = (status, message)
            run.timeline = force_final(run.timeline, status, message)

    def run_for_request(self, account: str, request_id: str) -> Run:
        """The run of a requestId (ExecutionRequest, not legacy executeProcess).

        Raises:
            SimError: 404 for an unknown requestId (§6.5 simulator default).
        """
        with self.lock:
            run = self.by_request.get((account, request_id))
            if run is None or run.legacy:
                raise SimError(404, f"No execution request found with id {request_id}.")
            return run

    def cancel(self, account: str, execution_id: str) -> None:
        """Cancel a run (cancelExecution, §11): the run ends ABORTED.

        Raises:
            SimError: 404 unknown id, 400 already final, 410 runtime offline.
        """
        with self.lock:
            run = self.by_execution.get((account, execution_id))
            now = self.now()
            if run is None:
                raise SimError(404, f"Execution {execution_id} does not exist.")
            if run.timeline.is_final(now):
                raise SimError(
                    400, f"Execution {execution_id} has already finished and cannot be cancelled."
                )
            if not self.runtime_online(account, run.runtime.id, now):
                raise SimError(
                    410,
                    f"Unable to cancel execution {execution_id}: "
                    f"Atom {run.runtime.id} is not running.",
                )
            run.timeline = cancel_timeline(run.timeline, now)

    def visible_runs(self, account: str, t: float) -> list[Run]:
        """Runs of ``account`` whose record exists at ``t`` (what QUERY can see, §9.3)."""
        with self.lock:
            return [r for r in self.runs if r.account == account and r.timeline.has_record(t)]

    # -- query paging -------------------------------------------------------------------

    def new_page(self, kind: str, account: str, keys: list[str]) -> Page:
        """First page of ``keys`` (and a queryToken when more remain)."""
        with self.lock:
            return self._page(QueryPage(kind, account, keys, 0))

    def next_page(self, token: str, account: str) -> Page:
        """The next page for a queryToken.

        Raises:
            SimError: 400 for an unknown or exhausted token.
        """
        with self.lock:
            page = self.pages.pop(token, None)
            if page is None or page.account != account:
                raise SimError(400, "Invalid query token.")
            return self._page(page)

    def _page(self, page: QueryPage) -> Page:
        size = self.world.switches.page_size
        keys = page.keys[page.offset : page.offset + size]
        page.offset += size
        if page.offset >= len(page.keys):
            return Page(page.kind, keys, None, len(page.keys))
        # Opaque to clients (§9.2): nothing in it can be parsed or derived.
        token = uuid.uuid4().hex + uuid.uuid4().hex
        self.pages[token] = page
        return Page(page.kind, keys, token, len(page.keys))
