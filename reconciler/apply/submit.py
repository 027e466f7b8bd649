"""Submitting one run, never twice: intent → POST → requestId, each saved before the next.

Part of the engine (docs/engine.md, "Never twice"). Before each POST an *intent* is saved, and
the POST waits until it is on disk; after it, the requestId. A submit whose answer is
ambiguous (timeout, reset, 5xx after sending) is saved as ``unknown`` and handed to adoption.
A submit that proves the platform cannot be reached at all (``PlatformUnreachable``: nothing
was sent) puts the state back as it was and stops the apply with one error, marking no run.
A POST in flight when the apply is interrupted is shielded so its requestId is still recorded
(for at most ``shield_seconds``); a submit still waiting for its rate-limit permit is simply
dropped, with nothing saved and nothing sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from reconciler.apply.adoption import Adoption
from reconciler.apply.journal import Batcher
from reconciler.apply.ports import Ledger, PlatformClient, SecretResolver
from reconciler.clock import Clock
from reconciler.errors import (
    AmbiguousSubmit,
    AuthenticationError,
    ConfigError,
    PlatformError,
    PlatformUnreachable,
    ReconcilerError,
    SubmitRejected,
)
from reconciler.model import (
    HISTORY_LIMIT,
    Ambiguous,
    DesiredRun,
    Event,
    Meter,
    NotSubmitted,
    Phase,
    Rejected,
    ResolvedRequest,
    StateEntry,
    Submitted,
)


class NotSent(Exception):
    """A submit stopped before its POST: nothing was sent, the state is as it was."""


class Submitter:
    """Submits the runs of one apply; ``on_permit`` hears when a POST got its permit."""

    def __init__(
        self,
        client: PlatformClient,
        clock: Clock,
        secrets: SecretResolver,
        ledger: Ledger,
        adoption: Adoption,
        *,
        progress: Callable[[Event], None],
        batcher: Batcher | None,
        on_permit: Callable[[str], None],
        shield_seconds: float,
    ) -> None:
        self._client = client
        self._clock = clock
        self._secrets = secrets
        self._ledger = ledger
        self._adoption = adoption
        self._progress = progress
        self._batcher = batcher
        self._on_permit = on_permit
        self._shield_seconds = shield_seconds

    async def submit(
        self, run: DesiredRun, previous: StateEntry | None, meter: Meter
    ) -> StateEntry:
        """Submit ``run``; the entry it ended in (submitted, rejected, unknown, adopted).

        Raises ``NotSent`` when the intent could not be recorded (nothing was sent).
        """
        upstream = _upstream(run, self._ledger.current())
        try:
            resolved = self._secrets.resolve(run.request)
        except ConfigError as exc:
            self._progress(NotSubmitted(run.name, str(exc)))
            now = self._clock.now()
            return _new_entry(run, previous, now, Phase.REJECTED, str(exc), upstream)
        intent = _new_entry(run, previous, self._clock.now(), Phase.INTENT, None, upstream)
        if self._batcher is not None:
            await self._make_durable(self._batcher, intent, previous)
        leaving = asyncio.Event()  # set once the rate limiter let the POST go
        task = asyncio.ensure_future(self._post(intent, previous, resolved, meter, leaving))
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
            with contextlib.suppress(asyncio.CancelledError):
                await _wait_at_most(self._clock, task, self._shield_seconds)
            if not task.done():
                task.cancel()
            raise

    async def _make_durable(
        self, batcher: Batcher, intent: StateEntry, previous: StateEntry | None
    ) -> None:
        """Save the intent and wait until the journal holds it (durable intents)."""
        await self._ledger.save_durable(intent)  # the journal records the file as it is on disk
        try:
            await batcher.add(intent)
        except asyncio.CancelledError:
            if batcher.withdraw(intent):  # never recorded, never sent: as if not begun
                self._ledger.discard(intent.name, previous)
            raise
        except ReconcilerError as exc:
            self._ledger.discard(intent.name, previous)
            self._progress(NotSubmitted(intent.name, str(exc)))
            raise NotSent(f"not submitted: the intent could not be recorded ({exc})") from None

    async def _post(
        self,
        intent: StateEntry,
        previous: StateEntry | None,
        request: ResolvedRequest,
        meter: Meter,
        leaving: asyncio.Event,
    ) -> StateEntry:
        name = intent.name

        async def save_intent() -> None:
            # The durable intent, written when the POST is about to leave (never before a
            # queue), with the time it really left; the POST waits until it is on disk.
            nonlocal intent
            leaving.set()
            self._on_permit(name)
            intent = await self._ledger.save_durable(
                intent.model_copy(update={"intent_at": self._clock.now()})
            )

        try:
            request_id = await self._client.submit(request, meter, save_intent)
        except PlatformUnreachable:
            self._ledger.discard(name, previous)  # nothing was sent: as if not begun
            raise
        except AuthenticationError as exc:
            self._ledger.save(
                intent.model_copy(update={"phase": Phase.REJECTED, "message": exc.message})
            )
            raise
        except AmbiguousSubmit as exc:
            self._progress(Ambiguous(name, exc.message))
            return await self._adoption.after_ambiguous(intent, exc.message, meter)
        except (SubmitRejected, PlatformError) as exc:
            self._progress(Rejected(name, exc.message))
            return self._ledger.save(
                intent.model_copy(update={"phase": Phase.REJECTED, "message": exc.message})
            )
        entry = intent.model_copy(
            update={
                "phase": Phase.SUBMITTED,
                "request_id": request_id,
                "submitted_at": self._clock.now(),
            }
        )
        self._progress(Submitted(name, request_id))
        return self._ledger.save(entry)


async def _wait_at_most(clock: Clock, task: asyncio.Future[StateEntry], seconds: float) -> None:
    """Wait until ``task`` is done or ``seconds`` have passed on ``clock``; never cancel it."""
    timer: asyncio.Future[Any] = asyncio.ensure_future(clock.sleep(seconds))
    waits: set[asyncio.Future[Any]] = {task, timer}
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        timer.cancel()


def _upstream(run: DesiredRun, state: Mapping[str, StateEntry]) -> dict[str, str] | None:
    """The attempt of each dependency's last run, which this run follows (``plan.dependents``)."""
    found = {
        dep: last[0]
        for dep in run.depends_on
        if (entry := state.get(dep)) is not None and (last := entry.last_run()) is not None
    }
    return found or None


def _new_entry(
    run: DesiredRun,
    previous: StateEntry | None,
    now: datetime,
    phase: Phase,
    message: str | None,
    upstream: dict[str, str] | None = None,
) -> StateEntry:
    # Attempts count the tries of one request since it last succeeded: a run after a success (a
    # follow-up of an upstream's new run, `run: always`) starts its retry budget afresh.
    counting = (
        previous is not None
        and previous.digest == run.digest
        and not (previous.phase is Phase.FINAL and run.policy.succeeded(previous.status))
    )
    history = (previous.as_attempt(), *previous.history)[:HISTORY_LIMIT] if previous else ()
    return StateEntry(
        name=run.name,
        digest=run.digest,
        request=run.request,
        phase=phase,
        attempt_id=str(uuid.uuid4()),
        intent_at=now,
        message=message,
        attempts=(previous.attempts + 1) if previous is not None and counting else 1,
        history=history,
        revision=run.revision or None,  # what policy.promote compares across environments
        on_demand=run.on_demand,  # a deliberate re-run (apply --rerun), recorded as such
        upstream=upstream,  # the dependencies' runs it follows (plan.dependents)
    )
