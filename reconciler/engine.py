"""Runs a plan: intent → POST → requestId → poll to a final status, saving every transition.

The orchestrator. It depends on the ``Protocol``s below, never on concrete classes, so the
consumer owns the interface and tests can hand it the real client pointed at the simulator.

Never twice (architecture.md): before each POST an *intent* is saved; after it, the
requestId. A process killed between the two leaves an intent that the next plan reports as
``unknown`` instead of submitting again; a submit whose answer is ambiguous (timeout, reset, 5xx
after sending) is saved as ``unknown`` too. A POST in flight when the apply is interrupted is
shielded so its requestId is still recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from reconciler.backoff import poll_interval
from reconciler.clock import Clock
from reconciler.errors import (
    AmbiguousSubmit,
    AuthenticationError,
    ConfigError,
    PlatformError,
    RecordNotFound,
    SubmitRejected,
)
from reconciler.model import (
    Action,
    ActionKind,
    ApplyResult,
    DesiredRun,
    Meter,
    Outcome,
    Phase,
    Plan,
    PlatformRecord,
    ResolvedRequest,
    RunRequest,
    RunResult,
    StateEntry,
    is_final_status,
    is_success_status,
)


class PlatformClient(Protocol):
    """What the engine needs from the platform."""

    async def submit(self, request: ResolvedRequest, meter: Meter | None = ...) -> str:
        """Start a run; return its requestId."""
        ...

    async def get_record(self, request_id: str, meter: Meter | None = ...) -> PlatformRecord | None:
        """The run's record, or None while it does not exist yet."""
        ...


class StateWriter(Protocol):
    """What the engine needs from the state store."""

    def save(self, entry: StateEntry) -> None:
        """Persist one entry atomically."""
        ...


class SecretResolver(Protocol):
    """Turns secret references into values at submit time."""

    def resolve(self, request: RunRequest) -> ResolvedRequest:
        """Return the request with secret values filled in."""
        ...


@dataclass(frozen=True)
class ApplyOptions:
    """Limits of one apply."""

    concurrency: int = 50
    poll_initial: float = 1.0
    poll_max: float = 15.0
    timeout: float = 3600.0
    shield_seconds: float = 10.0
    seed: int | None = None


Progress = Callable[[str, str], None]


class Engine:
    """Executes the changing actions of a plan against one platform and one state store."""

    def __init__(
        self,
        client: PlatformClient,
        store: StateWriter,
        clock: Clock,
        secrets: SecretResolver,
        *,
        options: ApplyOptions | None = None,
        progress: Progress | None = None,
    ) -> None:
        self._client = client
        self._store = store
        self._clock = clock
        self._secrets = secrets
        self._options = options or ApplyOptions()
        self._progress = progress or (lambda _name, _message: None)
        self._rng = random.Random(self._options.seed)  # noqa: S311 - poll jitter only
        self._stopping = False

    async def apply(self, plan: Plan) -> ApplyResult:
        """Run every submit, rerun and resume of ``plan``; return how each one ended."""
        started = self._clock.now()
        limit = asyncio.Semaphore(self._options.concurrency)
        todo = [a for a in plan.actions if a.kind.changes]
        tasks = [asyncio.create_task(self._guarded(action, limit)) for action in todo]
        interrupted = False
        try:
            results = list(await asyncio.gather(*tasks))
        except asyncio.CancelledError:
            interrupted = True
            self._stopping = True
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        finally:
            if interrupted:
                self._progress("*", "interrupted; state saved, the next apply resumes")
        return ApplyResult(
            environment=plan.environment,
            results=tuple(sorted(results, key=lambda r: r.name)),
            started_at=started,
            finished_at=self._clock.now(),
        )

    async def _guarded(self, action: Action, limit: asyncio.Semaphore) -> RunResult:
        async with limit:
            return await self._run(action)

    async def _run(self, action: Action) -> RunResult:
        meter = Meter()
        if action.kind is ActionKind.RESUME:
            assert action.current is not None  # noqa: S101 - the planner sets it for resume
            return await self._poll(action.name, action.current, meter, polls=0)
        assert action.desired is not None  # noqa: S101 - the planner sets it for submits
        entry = await self._submit(action, action.desired, meter)
        if entry.phase is not Phase.SUBMITTED:
            return _result(entry, _outcome(entry), meter)
        return await self._poll(action.name, entry, meter, polls=0)

    async def _submit(self, action: Action, run: DesiredRun, meter: Meter) -> StateEntry:
        previous = action.current
        try:
            resolved = self._secrets.resolve(run.request)
        except ConfigError as exc:
            self._progress(run.name, f"not submitted: {exc}")
            return _entry(run, previous, self._clock.now(), Phase.REJECTED, str(exc))
        intent = _entry(run, previous, self._clock.now(), Phase.INTENT, None)
        self._store.save(intent)
        task = asyncio.ensure_future(self._post(intent, resolved, meter))
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            # The POST may already be on the wire: let it finish (bounded) so its requestId is
            # recorded, then stop. If it does not finish, the intent stays and the next plan
            # reports the execution as unknown rather than submitting it again.
            with contextlib.suppress(asyncio.CancelledError, asyncio.TimeoutError, Exception):
                await asyncio.wait_for(task, self._options.shield_seconds)
            raise

    async def _post(self, intent: StateEntry, request: ResolvedRequest, meter: Meter) -> StateEntry:
        name = intent.name
        try:
            request_id = await self._client.submit(request, meter)
        except SubmitRejected as exc:
            entry = intent.model_copy(update={"phase": Phase.REJECTED, "message": exc.message})
            self._store.save(entry)
            self._progress(name, f"rejected: {exc.message}")
            return entry
        except AuthenticationError as exc:
            self._store.save(
                intent.model_copy(update={"phase": Phase.REJECTED, "message": exc.message})
            )
            raise
        except AmbiguousSubmit as exc:
            entry = intent.model_copy(update={"phase": Phase.UNKNOWN, "message": exc.message})
            self._store.save(entry)
            self._progress(name, f"unknown: {exc.message}")
            return entry
        except PlatformError as exc:
            entry = intent.model_copy(update={"phase": Phase.REJECTED, "message": exc.message})
            self._store.save(entry)
            self._progress(name, f"not submitted: {exc.message}")
            return entry
        entry = intent.model_copy(
            update={
                "phase": Phase.SUBMITTED,
                "request_id": request_id,
                "submitted_at": self._clock.now(),
            }
        )
        self._store.save(entry)
        self._progress(name, f"submitted as {request_id}")
        return entry

    async def _poll(self, name: str, entry: StateEntry, meter: Meter, *, polls: int) -> RunResult:
        assert entry.request_id is not None  # noqa: S101 - only submitted entries are polled
        began = self._clock.monotonic()
        waited_for_record = 0.0
        while True:
            try:
                record = await self._client.get_record(entry.request_id, meter)
            except RecordNotFound as exc:
                entry = entry.model_copy(update={"phase": Phase.UNKNOWN, "message": exc.message})
                self._store.save(entry)
                self._progress(name, f"unknown: {exc.message}")
                return _result(entry, "unknown", meter, polls=polls + 1)
            except PlatformError as exc:
                self._progress(name, f"still pending, polling stopped: {exc.message}")
                return _result(entry, "pending", meter, polls=polls + 1, message=exc.message)
            polls += 1
            elapsed = self._clock.monotonic() - began
            if record is None:
                waited_for_record = elapsed
            else:
                entry = self._record(entry, record)
                if entry.phase is Phase.FINAL:
                    self._progress(name, f"{entry.status} ({entry.execution_id})")
                    return _result(entry, _outcome(entry), meter, polls, waited_for_record)
            if elapsed >= self._options.timeout:
                message = f"still {entry.status or 'waiting for its record'} after the timeout"
                self._progress(name, f"{message}; resumable")
                return _result(entry, "pending", meter, polls, waited_for_record, message)
            delay = poll_interval(
                polls - 1,
                initial=self._options.poll_initial,
                maximum=self._options.poll_max,
                rng=self._rng,
            )
            await self._clock.sleep(min(delay, max(0.0, self._options.timeout - elapsed) + 0.01))

    def _record(self, entry: StateEntry, record: PlatformRecord) -> StateEntry:
        final = is_final_status(record.status)
        update: dict[str, object] = {
            "status": record.status,
            "execution_id": record.execution_id,
            "execution_time": record.execution_time,
            "message": record.message,
        }
        if final:
            update.update(
                phase=Phase.FINAL,
                finished_at=record.recorded_date or self._clock.now(),
                duration_ms=record.duration_ms,
            )
        new = entry.model_copy(update=update)
        if new != entry:
            self._store.save(new)
            if not final and new.status != entry.status:
                self._progress(entry.name, f"{record.status} ({record.execution_id})")
        return new


def _entry(
    run: DesiredRun, previous: StateEntry | None, now: datetime, phase: Phase, message: str | None
) -> StateEntry:
    return StateEntry(
        name=run.name,
        digest=run.digest,
        request=run.request,
        phase=phase,
        attempt_id=str(uuid.uuid4()),
        intent_at=now,
        message=message,
        attempts=(previous.attempts + 1) if previous else 1,
    )


def _outcome(entry: StateEntry) -> Outcome:
    if entry.phase is Phase.FINAL:
        return "success" if is_success_status(entry.status) else "failure"
    if entry.phase is Phase.REJECTED:
        return "rejected"
    if entry.phase in (Phase.UNKNOWN, Phase.INTENT):
        return "unknown"
    return "pending"


def _result(
    entry: StateEntry,
    outcome: Outcome,
    meter: Meter,
    polls: int = 0,
    waited_for_record: float = 0.0,
    message: str | None = None,
) -> RunResult:
    return RunResult(
        name=entry.name,
        outcome=outcome,
        status=entry.status,
        message=message or entry.message,
        request_id=entry.request_id,
        execution_id=entry.execution_id,
        duration_ms=entry.duration_ms,
        polls=polls,
        http_calls=meter.calls,
        waited_for_record_s=round(waited_for_record, 3),
        started_at=entry.execution_time,
        finished_at=entry.finished_at,
    )


def summarize(results: Sequence[RunResult]) -> Mapping[Outcome, int]:
    """Count results per outcome."""
    counts: dict[Outcome, int] = {}
    for result in results:
        counts[result.outcome] = counts.get(result.outcome, 0) + 1
    return counts
