"""What the apply engine needs from its edges, and the limits of one apply.

The consumer owns the interface: these ``Protocol``s say what the engine and its parts use of
the platform client, the state store and the secret resolver, so tests hand them the real
client pointed at the simulator and the real store on a temporary folder. ``engine``
re-exports them. ``Ledger`` is one apply's view of the state writer: every save goes through
it, and it remembers the last entry saved per name (the retry decision reads it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from reconciler.apply.adoption import RecordQuery
from reconciler.apply.follow import RecordSource
from reconciler.apply.survey import RecentRecords
from reconciler.model import Meter, ResolvedRequest, RunRequest, StateEntry


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


class Ledger:
    """What one apply saved: every save goes to the store, the last one per name is kept."""

    def __init__(self, store: StateWriter) -> None:
        self._store = store
        self._last: dict[str, StateEntry] = {}

    def save(self, entry: StateEntry) -> StateEntry:
        """Save ``entry`` (it reaches the disk a moment later) and return it."""
        self._store.save(entry)
        self._last[entry.name] = entry
        return entry

    async def save_durable(self, entry: StateEntry) -> StateEntry:
        """Save ``entry`` and return it once it is on disk."""
        self._last[entry.name] = entry
        await self._store.save_durable(entry)
        return entry

    def discard(self, name: str, previous: StateEntry | None) -> None:
        """Put back ``previous`` (or nothing): an intent that was never sent."""
        self._store.discard(name, previous)

    def last(self, name: str) -> StateEntry | None:
        """The last entry this apply saved for ``name``."""
        return self._last.get(name)

    def current(self) -> Mapping[str, StateEntry]:
        """The whole state, this apply's saves included."""
        return self._store.current()
