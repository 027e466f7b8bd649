"""Runs a plan: intent → POST → requestId → poll to a final status, saving every transition.

The orchestrator. It depends on the ``Protocol``s below, never on concrete classes, so the
consumer owns the interface and tests hand it the real client pointed at the simulator.

Never twice (architecture.md): before each POST an *intent* is saved, and the POST waits until
it is on disk; after it, the requestId. A process killed between the two leaves an intent; a
submit whose answer is ambiguous (timeout, reset, 5xx after sending) is saved as ``unknown``.
Either is resolved at the next apply by querying the platform's records for the same process
and runtime after the intent: exactly one unexplained run is adopted, anything else stays
``unknown`` until a human says ``--adopt`` or ``--resubmit``. A POST in flight when the apply
is interrupted is shielded so its requestId is still recorded; a submit still waiting for its
turn is simply dropped.

At most ``concurrency`` actions run at once, each in a task of its own started when a slot is
free: first those whose dependencies are done, longest expected run first (the ``duration_ms``
the state recorded for the execution, else for its process, else what runs of its process took
earlier in this apply; an execution with nothing to go on counts as long), then in plan order.
At most ``lookahead`` submits wait for the rate limiter at once (without durable intents, whose
waves are one commit each): the order is decided when a permit is near, with what the apply
has learnt by then, not all at the start. While runs of processes with no known duration
wait, the platform's records of those processes are surveyed every five initial poll
intervals (``survey``). Once submitted, a run is polled to its final status by ``follow``.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from reconciler.apply import follow
from reconciler.apply.adoption import Adoption, RecordQuery, known_executions
from reconciler.apply.follow import Budgets, Follower, RecordSource
from reconciler.apply.journal import Batcher, IntentJournal
from reconciler.apply.schedule import NO_PERMIT, ReadyQueue, expected_seconds
from reconciler.apply.survey import RecentRecords, Survey
from reconciler.clock import Clock
from reconciler.errors import (
    AmbiguousSubmit,
    AuthenticationError,
    ConfigError,
    PlatformError,
    ReconcilerError,
    SubmitRejected,
)
from reconciler.model import (
    HISTORY_LIMIT,
    Action,
    ActionKind,
    ApplyResult,
    DesiredRun,
    Meter,
    Phase,
    Plan,
    ResolvedRequest,
    RunRequest,
    RunResult,
    StateEntry,
)
from reconciler.retry import poll_interval


class PlatformClient(RecordQuery, RecentRecords, RecordSource, Protocol):
    """What the engine needs from the platform."""

    async def submit(
        self,
        request: ResolvedRequest,
        meter: Meter | None = ...,
        before_send: Callable[[], Awaitable[None]] | None = ...,
    ) -> str:
        """Start a run; return its requestId. ``before_send`` is awaited right before each send."""
        ...


class StateWriter(Protocol):
    """What the engine needs from the state store."""

    def save(self, entry: StateEntry) -> None:
        """Persist one entry atomically; it may reach the disk a moment later (see ``flush``)."""
        ...

    async def save_durable(self, entry: StateEntry) -> None:
        """Persist one entry atomically and return once it is on disk."""
        ...

    async def flush(self) -> None:
        """Return once every entry saved so far is on disk."""
        ...

    def discard(self, name: str, previous: StateEntry | None) -> None:
        """Put back ``previous`` (or nothing): an intent that was never sent."""
        ...

    def current(self) -> Mapping[str, StateEntry]:
        """Every entry as last read or written: the whole state, this apply's saves included."""
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
    lookahead: int = 16  # submits waiting for a rate-limit permit at once
    poll_initial: float = 1.0
    poll_max: float = 15.0
    timeout: float = 3600.0  # following one run, unless its policy says otherwise
    record_timeout: float = 600.0  # waiting for a run's record to exist (the 202 phase)
    clock_skew: float = 120.0  # how far before an intent a matching run may have started
    adopt_after: float = 15.0  # a run is adopted by query only this long after the intent
    shield_seconds: float = 10.0
    seed: int | None = None
    journal_window: float = 0.25  # how long the first intent of a wave waits for the others


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
        journal: IntentJournal | None = None,
    ) -> None:
        self._client = client
        self._store = store
        self._clock = clock
        self._secrets = secrets
        self._options = options or ApplyOptions()
        self._progress = progress or (lambda _name, _message: None)
        self._rng = random.Random(self._options.seed)  # noqa: S311 - poll jitter only
        self._last: dict[str, StateEntry] = {}  # the last entry saved per name
        self._on_leave: Callable[[str], None] = lambda _name: None  # a submit got its permit
        self._adoption = Adoption(
            client,
            clock,
            self._save,
            self._progress,
            known=set(),
            clock_skew=self._options.clock_skew,
            adopt_after=self._options.adopt_after,
            entries=store.current,
        )
        self._batcher = (
            Batcher(journal, self._options.journal_window, clock.sleep) if journal else None
        )
        options = self._options
        self._follower = Follower(
            client,
            clock,
            Budgets(
                options.poll_initial, options.poll_max, options.timeout, options.record_timeout
            ),
            save=self._save,
            progress=self._progress,
            seen=lambda execution_id: self._adoption.known.add(execution_id),
            rng=self._rng,
        )

    async def apply(self, plan: Plan) -> ApplyResult:
        """Run every changing action of ``plan``; return how each one ended."""
        started = self._clock.now()
        self._adoption.known = known_executions(
            [*self._store.current().values(), *(a.current for a in plan.actions)]
        )
        todo = [a for a in plan.actions if a.kind.changes]
        try:
            results = await self._run_all(todo)
        except BaseException:
            with contextlib.suppress(Exception):  # the first error is the one to report
                await self._store.flush()
            raise
        await self._store.flush()
        return ApplyResult(
            environment=plan.environment,
            results=tuple(sorted(results, key=lambda r: r.name)),
            started_at=started,
            finished_at=self._clock.now(),
        )

    async def _run_all(self, todo: list[Action]) -> list[RunResult]:
        """Run ``todo`` with at most ``concurrency`` actions at once, dependencies first."""
        queue = ReadyQueue(todo, expected_seconds(todo, self._store.current().values()))
        running: set[asyncio.Task[RunResult]] = set()
        finished: list[asyncio.Task[RunResult]] = []
        unsent: set[str] = set()  # submits whose POST has no rate-limit permit yet
        wake = asyncio.Event()
        limit = self._options.concurrency
        # With durable intents each wave of intents is one commit: tasks start together, as
        # many as concurrency allows, so a wave is not cut to the lookahead.
        lookahead = limit if self._batcher is not None else max(1, self._options.lookahead)

        def on_done(task: asyncio.Task[RunResult]) -> None:  # O(1), unlike asyncio.wait
            finished.append(task)
            wake.set()

        def on_leave(name: str) -> None:
            unsent.discard(name)
            wake.set()

        self._on_leave = on_leave
        every = 5 * self._options.poll_initial
        submits = [a for a in todo if a.desired and a.kind not in NO_PERMIT]
        processes = len({a.desired.request.process_id for a in submits if a.desired})
        survey = Survey(
            self._client,
            queue,
            self._clock,
            budget=max(min(processes, 20), len(submits) // 10),  # queries: about 1 per 10 runs
            on_error=lambda message: self._progress("*", message),
        )
        learning = asyncio.create_task(survey.run(every), name="survey")
        self._follower.spare = len(todo) // 4
        try:
            # The first submits wait a moment for what the records say (a first round is a
            # query per process), never longer than a survey interval.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(survey.first.wait(), timeout=every)
            while True:
                for skipped in queue.skipped():
                    self._progress(skipped.name, skipped.message or "")
                while len(running) < limit and len(unsent) < lookahead and (action := queue.pop()):
                    if action.kind not in NO_PERMIT:
                        unsent.add(action.name)
                    task = asyncio.create_task(self._run(action), name=action.name)
                    task.add_done_callback(on_done)
                    running.add(task)
                self._follower.tail = not unsent and queue.drained()
                if not running:
                    return queue.results()
                await wake.wait()
                wake.clear()
                done, finished[:] = list(finished), []
                for task in done:
                    running.discard(task)
                    unsent.discard(task.get_name())
                for task in done:
                    queue.done(task.result())
        except asyncio.CancelledError:
            learning.cancel()  # its queries would go before the POSTs still to be recorded
            # Cancel every running action once: a second cancel would cut short the bounded
            # wait that lets a POST already on the wire record its requestId.
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            self._progress("*", "interrupted; state saved, the next apply resumes")
            raise
        except BaseException:
            learning.cancel()
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            raise
        finally:
            learning.cancel()
            await asyncio.gather(learning, return_exceptions=True)

    async def _run(self, action: Action) -> RunResult:
        meter = Meter()
        current = action.current
        if action.kind is ActionKind.UNKNOWN:
            assert current is not None  # noqa: S101 - unknown actions come from state
            return await self._resolve(action, current, meter)
        if action.kind is ActionKind.RESUME:
            assert current is not None  # noqa: S101 - the planner sets it for resume
            if action.adopt:
                current = self._adoption.adopt(current, action.adopt, "by --adopt")
            return await self._follower.follow(current, action, meter)
        assert action.desired is not None  # noqa: S101 - the planner sets it for submits
        run = action.desired
        while True:
            try:
                entry = await self._submit(run, current, meter)
            except _NotSent as exc:
                return RunResult(name=run.name, outcome="pending", message=str(exc))
            if entry.phase is not Phase.SUBMITTED:
                return follow.result(entry, follow.outcome(entry, run), meter)
            result = await self._follower.follow(entry, action, meter)
            retries = run.policy.retries
            final = self._last.get(entry.name)
            if not (
                result.outcome == "failure"
                and result.status in retries.on
                and final is not None
                and final.attempts <= retries.count
            ):
                return result
            self._progress(run.name, f"retry {final.attempts} of {retries.count}")
            current = final

    def _save(self, entry: StateEntry) -> StateEntry:
        self._store.save(entry)
        self._last[entry.name] = entry
        return entry

    async def _save_durable(self, entry: StateEntry) -> StateEntry:
        self._last[entry.name] = entry
        await self._store.save_durable(entry)
        return entry

    async def _submit(
        self, run: DesiredRun, previous: StateEntry | None, meter: Meter
    ) -> StateEntry:
        try:
            resolved = self._secrets.resolve(run.request)
        except ConfigError as exc:
            self._progress(run.name, f"not submitted: {exc}")
            return _new_entry(run, previous, self._clock.now(), Phase.REJECTED, str(exc))
        intent = _new_entry(run, previous, self._clock.now(), Phase.INTENT, None)
        if self._batcher is not None:
            await self._make_durable(intent, previous)
        leaving = asyncio.Event()  # set once the rate limiter let the POST go
        task = asyncio.ensure_future(self._post(intent, resolved, meter, leaving))
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            if not leaving.is_set() and self._batcher is None:
                # Still waiting for its turn: nothing saved, nothing sent. (A journaled intent
                # is recorded already: it goes on, as below, so it does not stay unexplained.)
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                raise
            # The POST may already be on the wire: let it finish (bounded) so its requestId is
            # recorded, then stop. If it does not finish, the intent stays and the next apply
            # resolves it by query rather than submitting again.
            # asyncio.wait (unlike wait_for) never cancels the task it waits for.
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait({task}, timeout=self._options.shield_seconds)
            if not task.done():
                task.cancel()
            raise

    async def _make_durable(self, intent: StateEntry, previous: StateEntry | None) -> None:
        """Save the intent and wait until the journal holds it (durable intents)."""
        assert self._batcher is not None  # noqa: S101 - only called with a journal
        await self._save_durable(intent)  # the journal records the file as it is on disk
        try:
            await self._batcher.add(intent)
        except asyncio.CancelledError:
            if self._batcher.withdraw(intent):  # never recorded, never sent: as if not begun
                self._store.discard(intent.name, previous)
            raise
        except ReconcilerError as exc:
            self._store.discard(intent.name, previous)
            self._progress(intent.name, f"not submitted: {exc}")
            raise _NotSent(f"not submitted: the intent could not be recorded ({exc})") from None

    async def _post(
        self, intent: StateEntry, request: ResolvedRequest, meter: Meter, leaving: asyncio.Event
    ) -> StateEntry:
        name = intent.name

        async def save_intent() -> None:
            # The durable intent, written when the POST is about to leave (never before a
            # queue), with the time it really left; the POST waits until it is on disk.
            nonlocal intent
            leaving.set()
            self._on_leave(name)
            intent = await self._save_durable(
                intent.model_copy(update={"intent_at": self._clock.now()})
            )

        try:
            request_id = await self._client.submit(request, meter, save_intent)
        except AuthenticationError as exc:
            self._save(intent.model_copy(update={"phase": Phase.REJECTED, "message": exc.message}))
            raise
        except AmbiguousSubmit as exc:
            self._progress(name, f"unknown: {exc.message}")
            return await self._adoption.after_ambiguous(
                intent, exc.message, meter, wait=self._adoption_wait, delay=self._delay
            )
        except (SubmitRejected, PlatformError) as exc:
            self._progress(name, f"rejected: {exc.message}")
            return self._save(
                intent.model_copy(update={"phase": Phase.REJECTED, "message": exc.message})
            )
        entry = intent.model_copy(
            update={
                "phase": Phase.SUBMITTED,
                "request_id": request_id,
                "submitted_at": self._clock.now(),
            }
        )
        self._progress(name, f"submitted as {request_id}")
        return self._save(entry)

    async def _resolve(self, action: Action, entry: StateEntry, meter: Meter) -> RunResult:
        """An ``unknown`` from an earlier apply: adopt the single matching run, or stay unknown."""
        found = await self._adoption.settle(
            entry, meter, wait=self._adoption_wait, delay=self._delay
        )
        if isinstance(found, StateEntry):
            return await self._follower.follow(found, action, meter)
        self._progress(entry.name, f"unknown: {found}")
        return follow.result(entry, "unknown", meter, message=found)

    @property
    def _adoption_wait(self) -> float:
        """How long one apply looks for the run of an unresolved submit."""
        return min(self._options.record_timeout, 30.0)

    def _delay(self, polls: int) -> float:
        return poll_interval(
            polls, initial=self._options.poll_initial, maximum=self._options.poll_max, rng=self._rng
        )


class _NotSent(Exception):
    """A submit stopped before its POST: nothing was sent, the state is as it was."""


def _new_entry(
    run: DesiredRun, previous: StateEntry | None, now: datetime, phase: Phase, message: str | None
) -> StateEntry:
    same_digest = previous is not None and previous.digest == run.digest
    history = (previous.as_attempt(), *previous.history)[:HISTORY_LIMIT] if previous else ()
    return StateEntry(
        name=run.name,
        digest=run.digest,
        request=run.request,
        phase=phase,
        attempt_id=str(uuid.uuid4()),
        intent_at=now,
        message=message,
        attempts=(previous.attempts + 1) if previous is not None and same_digest else 1,
        history=history,
    )
