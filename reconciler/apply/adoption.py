"""Adoption: find the run an unresolved submit may have started, and take it over if alone.

Part of the never-twice protocol (docs/engine.md). A submit whose answer was lost (an
ambiguous POST, a process killed between intent and requestId, a runner that vanished after
pushing its intents) is resolved by querying the platform's records for the same process and
runtime from the intent onwards. A run is adopted only when it is provably the only one that
can be this submit's:

- runs the state already explains (its executionIds, current and past) are excluded;
- every *rival* (another execution of this state, on the same process and runtime, whose run
  is not identified yet: an intent, an unknown, a submit known only by requestId) is resolved
  first by its requestId; while one stays unidentified, its run and ours cannot be told apart,
  so nothing is adopted;
- a single remaining run is adopted only from a query made ``adopt_after`` seconds or more
  after the intent: before that, our own run's record may simply not exist yet (records
  appear once the runtime starts the run) and the single run would be someone else's.

Anything else stays ``unknown`` until a human says ``--adopt`` or ``--resubmit``. What this
cannot see: a run of the same process on the same runtime started outside this state (another
checkout, a person, a schedule) after the intent, while our own submit started nothing; the
two are indistinguishable on the platform (docs/engine.md, "Limits of adoption").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from reconciler.clock import Clock
from reconciler.errors import PlatformError, PlatformUnreachable
from reconciler.model import Adopted, Event, Meter, Phase, PlatformRecord, StateEntry, Unknown

# How long after its intent an unidentified sibling may still start its run: the runtime's
# queue discards a waiting run after 59 s by default; an hour leaves a wide margin.
RIVAL_HORIZON = timedelta(hours=1)
_UNIDENTIFIED = (Phase.INTENT, Phase.UNKNOWN, Phase.SUBMITTED)


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

    async def get_record(self, request_id: str, meter: Meter | None = ...) -> PlatformRecord | None:
        """The run's record by requestId, or None while it does not exist yet."""
        ...


@dataclass(frozen=True)
class Verdict:
    """Why a run was not adopted, and whether asking again later may change the answer."""

    message: str
    retry: bool


@dataclass(frozen=True)
class Found:
    """The run of an unresolved submit, adopted: ``entry`` is saved and ready to follow."""

    entry: StateEntry


Settlement = Found | Verdict  # what settling an unresolved submit came to


@dataclass(frozen=True)
class AdoptionPolicy:
    """How one apply looks for the runs of unresolved submits (seconds)."""

    clock_skew: float  # how far before an intent a matching run may have started
    adopt_after: float  # a lone run is adopted by query only this long after the intent
    wait: float  # how long one apply keeps asking about one submit
    delay: Callable[[int], float]  # the pause before the next query, by queries made


class Adoption:
    """Resolves unknown submits for one apply; the runs it knows grow as runs are recorded."""

    def __init__(
        self,
        client: RecordQuery,
        clock: Clock,
        save: Callable[[StateEntry], StateEntry],
        progress: Callable[[Event], None],
        *,
        known: Iterable[str],
        policy: AdoptionPolicy,
        entries: Callable[[], Mapping[str, StateEntry]] = dict,
    ) -> None:
        self._client = client
        self._clock = clock
        self._save = save
        self._progress = progress
        self._known = set(known)  # executionIds the state explains
        self._skew = timedelta(seconds=policy.clock_skew)
        self._adopt_after = timedelta(seconds=policy.adopt_after)
        self._wait = policy.wait
        self._delay = policy.delay
        self._entries = entries
        self._identified: set[str] = set()  # requestIds of rivals whose run is known

    def explain(self, execution_id: str) -> None:
        """``execution_id`` is now some entry's run: never adopt it for another."""
        self._known.add(execution_id)

    async def after_ambiguous(self, intent: StateEntry, message: str, meter: Meter) -> StateEntry:
        """After an ambiguous submit: save ``unknown``, then look for its run for a while."""
        entry = self._save(intent.model_copy(update={"phase": Phase.UNKNOWN, "message": message}))
        try:
            found = await self.settle(entry, meter)
        except PlatformUnreachable:
            why = f"{message}; not looked for: the platform stopped answering (the next apply does)"
            self._progress(Unknown(entry.name, why))
            self._save(entry.model_copy(update={"message": why}))
            raise
        if isinstance(found, Found):
            return found.entry
        self._progress(Unknown(entry.name, found.message))
        return self._save(entry.model_copy(update={"message": f"{message}; {found.message}"}))

    async def settle(self, entry: StateEntry, meter: Meter) -> Settlement:
        """Ask :meth:`find` until it adopts, the answer cannot change, or the wait is up.

        The budget is at least ``adopt_after``, so a run that is alone can be adopted in this
        apply; the last query is made after the deadline, never just before it.
        """
        start = self._clock.monotonic()
        deadline = start + max(self._wait, self._adopt_after.total_seconds())
        # Wall times are whole seconds (as the platform records them): the intent may be up to
        # a second younger than ``now - intent_at`` says. The wait is timed on the monotonic
        # clock from the youngest the intent can be.
        age = (self._clock.now() - entry.intent_at).total_seconds() - 1.0
        ready_at = start + max(0.0, self._adopt_after.total_seconds() - max(0.0, age))
        polls = 0
        while True:
            found = await self.find(entry, meter, early=self._clock.monotonic() < ready_at)
            if isinstance(found, StateEntry):
                return Found(found)
            remaining = deadline - self._clock.monotonic()
            if not found.retry or remaining <= 0:
                return found
            await self._clock.sleep(min(self._delay(polls), remaining + 0.01))
            polls += 1

    async def find(self, entry: StateEntry, meter: Meter, *, early: bool) -> StateEntry | Verdict:
        """Adopt the one run that can only be this submit's, or say why not.

        ``early``: less than ``adopt_after`` since the intent, so a lone run is not adopted yet.
        """
        asked_at = self._clock.now()
        since = entry.intent_at - self._skew
        try:
            records = await self._client.query_records(
                entry.request.process_id, entry.request.atom_id, since, asked_at + self._skew, meter
            )
        except PlatformUnreachable:
            raise  # the whole apply stops: asking again cannot help
        except PlatformError as exc:
            return Verdict(
                f"could not query the platform's records ({exc.message}); the next apply asks "
                "again",
                retry=True,
            )
        candidates = [r for r in records if r.execution_id not in self._known]
        if not candidates:
            found_none = _none_found("no run of this process on this runtime", entry, since)
            return Verdict(found_none, retry=True)
        rivals = await self._unidentified_rivals(entry, meter)
        candidates = [r for r in candidates if r.execution_id not in self._known]
        ids = ", ".join(r.execution_id for r in candidates[:5])
        choose = f"say which with --adopt {entry.name}=EXECUTION_ID, or --resubmit {entry.name}"
        if rivals:
            names = ", ".join(sorted(r.name for r in rivals)[:5])
            return Verdict(
                f"{_runs(len(candidates))} ({ids}) could be this submit's or that of {names} "
                f"(same process and runtime, run not identified yet); {choose}",
                retry=True,
            )
        if len(candidates) > 1:
            return Verdict(f"{len(candidates)} runs could be this submit ({ids}); {choose}", False)
        if not candidates:  # every candidate was a rival's run
            return Verdict(_none_found("no unexplained run", entry, since), retry=True)
        if early:
            # Our own run's record may not exist yet: the one run seen could be someone else's.
            return Verdict(
                f"one run ({ids}) so far, too soon after the submit to know it is this one",
                retry=True,
            )
        return self.adopt(entry, candidates[0].execution_id, "by query")

    async def _unidentified_rivals(self, entry: StateEntry, meter: Meter) -> list[StateEntry]:
        """Siblings on the same process and runtime whose run is still unidentified.

        Those without a requestId cannot be looked up: they are all returned, at no cost.
        Otherwise siblings known by requestId are looked up (once each; a run found joins
        ``known``) until the first one whose record does not exist yet.
        """
        rivals = [other for other in self._entries().values() if _is_rival(other, entry)]
        blind = [other for other in rivals if not other.request_id]
        if blind:
            return blind
        for other in rivals:
            assert other.request_id is not None  # noqa: S101 - the blind ones returned above
            if other.request_id in self._identified:
                continue
            try:
                record = await self._client.get_record(other.request_id, meter)
            except PlatformUnreachable:
                raise
            except PlatformError:
                record = None
            if record is None:
                return [other]
            self._known.add(record.execution_id)
            self._identified.add(other.request_id)
        return []

    def adopt(self, entry: StateEntry, execution_id: str, how: str) -> StateEntry:
        """Record ``execution_id`` as the run of ``entry``'s submit, and follow it."""
        self._known.add(execution_id)
        adopted = entry.model_copy(
            update={
                "phase": Phase.SUBMITTED,
                "execution_id": execution_id,
                "adopted": True,
                "message": None,
                "submitted_at": entry.submitted_at or entry.intent_at,
            }
        )
        self._progress(Adopted(entry.name, execution_id, how))
        return self._save(adopted)


def _is_rival(other: StateEntry, entry: StateEntry) -> bool:
    return (
        other.name != entry.name
        and other.execution_id is None
        and other.phase in _UNIDENTIFIED
        and other.request.process_id == entry.request.process_id
        and other.request.atom_id == entry.request.atom_id
        and other.intent_at >= entry.intent_at - RIVAL_HORIZON
    )


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


def _none_found(what: str, entry: StateEntry, since: datetime) -> str:
    """What it means that no run was found, and what the user can do (issue #17)."""
    name = entry.name
    return (
        f"{what} since {_ts(since)}: the submit of {_ts(entry.intent_at)} left no requestId, "
        "and either it started nothing or its run has not started yet (a record appears once "
        "the runtime starts the run); look on the platform for a run of this process since "
        f"then: if there is one, say --adopt {name}=EXECUTION_ID; if none started, say "
        f"--resubmit {name}"
    )


def _runs(count: int) -> str:
    return "1 run" if count == 1 else f"{count} runs"


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
