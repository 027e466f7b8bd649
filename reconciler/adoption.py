"""Adoption: find the run an unresolved submit may have started, and take it over if alone.

Part of the never-twice protocol (docs/engine.md). A submit whose answer was lost (an
ambiguous POST, a process killed between intent and requestId, a runner that vanished after
pushing its intents) is resolved by querying the platform's records for the same process and
runtime from the intent onwards. Runs the state already explains are excluded; exactly one
unexplained run is adopted, anything else stays ``unknown`` until a human says ``--adopt`` or
``--resubmit``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Protocol

from reconciler.clock import Clock
from reconciler.errors import PlatformError
from reconciler.model import Meter, Phase, PlatformRecord, StateEntry


class RecordQuery(Protocol):
    """What adoption needs from the platform."""

    async def query_records(
        self,
        process_id: str,
        atom_id: str,
        since: datetime,
        until: datetime,
        meter: Meter | None = ...,
    ) -> list[PlatformRecord]:
        """Runs of a process on a runtime that started in a window."""
        ...


class Adoption:
    """Resolves unknown submits for one apply; ``known`` grows as runs are recorded."""

    def __init__(
        self,
        client: RecordQuery,
        clock: Clock,
        save: Callable[[StateEntry], StateEntry],
        progress: Callable[[str, str], None],
        *,
        known: set[str],
        clock_skew: float,
    ) -> None:
        self._client = client
        self._clock = clock
        self._save = save
        self._progress = progress
        self.known = known
        self._skew = timedelta(seconds=clock_skew)

    async def after_ambiguous(
        self,
        intent: StateEntry,
        message: str,
        meter: Meter,
        *,
        wait: float,
        delay: Callable[[int], float],
    ) -> StateEntry:
        """After an ambiguous submit: save ``unknown``, then look for the run for ``wait`` s."""
        entry = self._save(intent.model_copy(update={"phase": Phase.UNKNOWN, "message": message}))
        # Records appear only once the runtime has started the run: give it the record delay.
        deadline = self._clock.monotonic() + wait
        polls = 0
        while True:
            found = await self.find(entry, meter)
            if isinstance(found, StateEntry):
                return found
            # Several candidates stay ambiguous however long we wait; none may yet appear.
            if not found.startswith("no run") or self._clock.monotonic() >= deadline:
                self._progress(entry.name, f"unknown: {found}")
                return self._save(entry.model_copy(update={"message": f"{message}; {found}"}))
            await self._clock.sleep(delay(polls))
            polls += 1

    async def find(self, entry: StateEntry, meter: Meter) -> StateEntry | str:
        """Adopt the single unexplained run since the intent, or say why not."""
        since = entry.intent_at - self._skew
        until = self._clock.now() + self._skew
        try:
            records = await self._client.query_records(
                entry.request.process_id, entry.request.atom_id, since, until, meter
            )
        except PlatformError as exc:
            return f"could not query the platform's records ({exc.message})"
        candidates = [r for r in records if r.execution_id not in self.known]
        if len(candidates) == 1:
            return self.adopt(entry, candidates[0].execution_id, "by query")
        if not candidates:
            return (
                f"no run of this process on this runtime since {_ts(since)}; if none started, "
                f"say --resubmit {entry.name}"
            )
        ids = ", ".join(r.execution_id for r in candidates[:5])
        return (
            f"{len(candidates)} runs could be this submit ({ids}); say which with "
            f"--adopt {entry.name}=EXECUTION_ID, or --resubmit {entry.name}"
        )

    def adopt(self, entry: StateEntry, execution_id: str, how: str) -> StateEntry:
        """Record ``execution_id`` as the run of ``entry``'s submit, and follow it."""
        self.known.add(execution_id)
        adopted = entry.model_copy(
            update={
                "phase": Phase.SUBMITTED,
                "execution_id": execution_id,
                "adopted": True,
                "message": None,
                "submitted_at": entry.submitted_at or entry.intent_at,
            }
        )
        self._progress(entry.name, f"adopted {execution_id} {how}")
        return self._save(adopted)


def known_executions(entries: Iterable[StateEntry | None]) -> set[str]:
    """Every executionId the state explains: current runs and their histories."""
    known: set[str] = set()
    for entry in entries:
        if entry is None:
            continue
        if entry.execution_id:
            known.add(entry.execution_id)
        known.update(a.execution_id for a in entry.history if a.execution_id)
    return known


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
