"""Runs a plan: intent → POST → requestId → poll to a final status, saving every transition.

The orchestrator. It depends on the ``Protocol``s of ``ports`` (re-exported here), never on
concrete classes, so the consumer owns the interface and tests hand it the real client
pointed at the simulator.

Each apply composes its parts afresh, each given what it needs at construction: the
``Dispatch`` (which action runs when, ``dispatch``), a ``Submitter`` (never twice, ``submit``),
``Adoption`` (unresolved submits, ``adoption``) and a ``Follower`` (polling, ``follow``). This
module decides what one action does: submit and follow it (again, while its retry policy says
so), resume following it, or resolve an ``unknown`` from an earlier apply by query: exactly one
unexplained run is adopted, anything else stays ``unknown`` until a human says ``--adopt`` or
``--resubmit``. Every step is reported as a typed event (``reconciler.model.events``).

At most ``concurrency`` actions run at once: first those whose dependencies are done, longest
expected run first (the ``duration_ms`` the state recorded for the execution, else for its
process, else what runs of its process took earlier in this apply; an execution with nothing
to go on counts as long), then in plan order.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable, Iterable

from reconciler.apply import follow
from reconciler.apply.adoption import Adoption, AdoptionPolicy, Found, known_executions
from reconciler.apply.dispatch import Dispatch
from reconciler.apply.follow import Budgets, Follower, Pace
from reconciler.apply.journal import Batcher, IntentJournal
from reconciler.apply.ports import (
    ApplyOptions,
    Ledger,
    PlatformClient,
    SecretResolver,
    StateWriter,
)
from reconciler.apply.schedule import NO_PERMIT, ReadyQueue, expected_seconds
from reconciler.apply.submit import NotSent, Submitter
from reconciler.apply.survey import Survey
from reconciler.clock import Clock
from reconciler.errors import PlatformUnreachable
from reconciler.model import (
    Action,
    ActionKind,
    ApplyResult,
    Event,
    Meter,
    Phase,
    Plan,
    Retry,
    RunResult,
    StateEntry,
    Unknown,
)
from reconciler.retry import poll_interval

__all__ = [
    "ApplyOptions",
    "Engine",
    "PlatformClient",
    "Progress",
    "SecretResolver",
    "StateWriter",
]

Progress = Callable[[Event], None]


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
        self._progress: Progress = progress or (lambda _event: None)
        self._rng = random.Random(self._options.seed)  # noqa: S311 - poll jitter only
        self._batcher = (
            Batcher(journal, self._options.journal_window, clock.sleep) if journal else None
        )

    async def apply(self, plan: Plan) -> ApplyResult:
        """Run every changing action of ``plan``; return how each one ended.

        The engine keeps no action past its run: once a run is final and its state saved,
        its desired run can be freed (a caller that lets go of ``plan`` too keeps the memory
        of an apply to the runs in flight and the compact results).
        """
        started = self._clock.now()
        environment = plan.environment
        todo = [a for a in plan.actions if a.kind.changes]
        del plan
        names = [a.name for a in todo]
        known = known_executions([*self._store.current().values(), *(a.current for a in todo)])
        try:
            results = await self._run_all(todo, known)  # takes the actions: todo is emptied
        except PlatformUnreachable as exc:  # the apply stops: say what it leaves behind
            with contextlib.suppress(Exception):
                await self._store.flush()
            entries = self._store.current()
            left = [entries[name] for name in names if name in entries]
            raise PlatformUnreachable(exc.message + left_behind(left)) from None
        except BaseException:
            with contextlib.suppress(Exception):  # the first error is the one to report
                await self._store.flush()
            raise
        await self._store.flush()
        return ApplyResult(
            environment=environment,
            results=tuple(sorted(results, key=lambda r: r.name)),
            started_at=started,
            finished_at=self._clock.now(),
        )

    async def _run_all(self, todo: list[Action], known: set[str]) -> list[RunResult]:
        """Compose this apply's parts, then run ``todo`` through them.

        The queue takes the actions and ``todo`` is emptied: each action is then held only
        until its run is over.
        """
        options, clock, progress = self._options, self._clock, self._progress
        queue = ReadyQueue(todo, expected_seconds(todo, self._store.current().values()))
        count = len(todo)
        submits = sum(1 for a in todo if a.desired and a.kind not in NO_PERMIT)
        processes = len(
            {a.desired.request.process_id for a in todo if a.desired and a.kind not in NO_PERMIT}
        )
        todo.clear()
        # With durable intents each wave of intents is one commit: tasks start together, as
        # many as concurrency allows, so a wave is not cut to the lookahead.
        limit = options.concurrency
        lookahead = limit if self._batcher is not None else max(1, options.lookahead)
        dispatch = Dispatch(queue, clock, concurrency=limit, lookahead=lookahead, progress=progress)
        ledger = Ledger(self._store)
        policy = AdoptionPolicy(
            clock_skew=options.clock_skew,
            adopt_after=options.adopt_after,
            wait=min(options.record_timeout, 30.0),  # how long one apply looks for a run
            delay=self._delay,
        )
        adoption = Adoption(
            self._client, clock, ledger.save, progress, known=known, policy=policy,
            entries=ledger.current,
        )  # fmt: skip
        budgets = Budgets(
            options.poll_initial, options.poll_max, options.timeout, options.record_timeout
        )
        survey = Survey(
            self._client,
            queue,
            clock,
            budget=_survey_budget(processes, submits, limit),
            progress=progress,
        )
        follower = Follower(
            self._client, clock, budgets, Pace(backlog=dispatch, spare=count // 4),
            save=ledger.save, progress=progress, seen=adoption.explain, rng=self._rng,
            also_spent=lambda: survey.spent,
        )  # fmt: skip
        submitter = Submitter(
            self._client, clock, self._secrets, ledger, adoption, progress=progress,
            batcher=self._batcher, on_permit=dispatch.permitted,
            shield_seconds=options.shield_seconds,
        )  # fmt: skip
        actions = _Actions(ledger, adoption, follower, submitter, progress)
        try:
            return await dispatch.run(actions.run, survey, every=5 * options.poll_initial)
        finally:
            await follower.stop()  # no poll round outlives the apply

    def _delay(self, polls: int) -> float:
        return poll_interval(
            polls, initial=self._options.poll_initial, maximum=self._options.poll_max, rng=self._rng
        )


def _survey_budget(processes: int, submits: int, concurrency: int) -> int:
    """Queries the durations survey may make (``survey``).

    When every run can go at once, nothing finishes while the submits take the rate limit's
    permits: the records are the only news, so about one query per 20 runs. When the slots
    bind, runs end all along and the apply sees them end: two rounds' worth.
    """
    per_round = min(processes, 20)
    if concurrency >= submits:
        return max(per_round, submits // 20)
    return 2 * per_round


def left_behind(saved: Iterable[StateEntry]) -> str:
    """What an apply stopped by an unreachable platform leaves, and what the next one does."""
    entries = list(saved)
    unresolved = sorted(e.name for e in entries if e.phase in (Phase.INTENT, Phase.UNKNOWN))
    following = sorted(e.name for e in entries if e.phase is Phase.SUBMITTED)
    text = ""
    if unresolved:
        text += (
            f"; {_count(unresolved, 'submit')} got no answer and may have started a run "
            f"({_names(unresolved)}): the next apply looks for the runs on the platform and "
            "adopts each one it can tell apart; for any other, check the platform, then say "
            "--adopt NAME=EXECUTION_ID or --resubmit NAME"
        )
    if following:
        text += (
            f"; {_count(following, 'run')} submitted and not final yet ({_names(following)}): "
            "the next apply follows them"
        )
    return text


def _count(names: list[str], what: str) -> str:
    return f"1 {what}" if len(names) == 1 else f"{len(names)} {what}s"


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:5])
    return f"{shown} and {len(names) - 5} more" if len(names) > 5 else shown


class _Actions:
    """What one action of an apply does, with the parts composed for that apply."""

    def __init__(
        self,
        ledger: Ledger,
        adoption: Adoption,
        follower: Follower,
        submitter: Submitter,
        progress: Progress,
    ) -> None:
        self._ledger = ledger
        self._adoption = adoption
        self._follower = follower
        self._submitter = submitter
        self._progress = progress

    async def run(self, action: Action) -> RunResult:
        """Take ``action`` as far as this apply can: to a final status, or say why not."""
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
                entry = await self._submitter.submit(run, current, meter)
            except NotSent as exc:
                return RunResult(name=run.name, outcome="unsent", message=str(exc))
            if entry.phase is not Phase.SUBMITTED:
                return follow.result(entry, follow.outcome(entry, run), meter)
            result = await self._follower.follow(entry, action, meter)
            retries = run.policy.retries
            final = self._ledger.last(entry.name)
            if not (
                result.outcome == "failure"
                and result.status in retries.on
                and final is not None
                and final.attempts <= retries.count
            ):
                return result
            self._progress(Retry(run.name, final.attempts, retries.count))
            current = final

    async def _resolve(self, action: Action, entry: StateEntry, meter: Meter) -> RunResult:
        """An ``unknown`` from an earlier apply: adopt the single matching run, or stay unknown."""
        settled = await self._adoption.settle(entry, meter)
        if isinstance(settled, Found):
            return await self._follower.follow(settled.entry, action, meter)
        self._progress(Unknown(entry.name, settled.message))
        return follow.result(entry, "unknown", meter, message=settled.message)
