"""The state store: one JSON file per execution, written atomically, guarded by a lock.

An edge. Files live in ``<state dir>/<environment>/<name>.json`` so two branches touching
different executions never conflict in git. Each file carries ``schemaVersion``; older versions
are migrated in memory by pure functions, newer ones are refused. Writes go to a temp file in
the same folder, are fsynced, renamed over the target and the folder is fsynced
(practices.md B2); an unchanged entry is not rewritten. ``snapshot`` hands readers a read-only
mapping: only the engine holds the store itself.

Two ways to write, chosen by the caller, never guessed: by default ``save`` writes before it
returns. A store made with ``background=True`` (an apply's) writes from a writer thread so the
event loop never blocks: it writes in order (a newer save of a file that is still waiting
replaces the older one) and fsyncs the folder once per batch; ``save`` returns at once,
``save_durable`` returns once the entry is on disk, which is what an intent needs before its
POST leaves (never twice), and ``flush`` waits for every write. Such a store is written from
inside an event loop only; anything else is a bug and raises.

The store reads time only through its ``Clock`` (the lock holder's start time), and touches
nothing outside its folder except the lock and, when asked (:meth:`ignore_own_files`), the
``.gitignore`` that keeps the lock and temp files out of history.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from filelock import FileLock, Timeout
from pydantic import ValidationError

from reconciler.clock import Clock, SystemClock
from reconciler.errors import StateError
from reconciler.files import is_partial_write, write_atomic
from reconciler.model import StateEntry
from reconciler.store.writer import Writer

if TYPE_CHECKING:
    import asyncio

Migration = Callable[[dict[str, Any]], dict[str, Any]]

# Migration n turns a version-n document into version n+1. Append, never edit.
MIGRATIONS: tuple[Migration, ...] = ()
MIN_SCHEMA_VERSION = 1
SCHEMA_VERSION = MIN_SCHEMA_VERSION + len(MIGRATIONS)

LOCK_NAME = ".reconciler.lock"
IGNORED = f"# written by reconciler\n{LOCK_NAME}\n{LOCK_NAME}.holder\n.*.tmp\n"


def encode_entry(entry: StateEntry) -> bytes:
    """Canonical bytes of one entry: sorted keys, two-space indent, trailing newline."""
    data = {"schemaVersion": SCHEMA_VERSION, **entry.model_dump(mode="json", exclude_none=True)}
    return (json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()


def decode_entry(raw: bytes, source: str) -> StateEntry:
    """Parse, migrate and validate one state file's bytes."""
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StateError(f"{source}: state file is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise StateError(f"{source}: state file must hold a JSON object")
    version = data.pop("schemaVersion", None)
    if not isinstance(version, int) or version < MIN_SCHEMA_VERSION:
        raise StateError(f"{source}: schemaVersion {version!r} is not a supported state version")
    if version > SCHEMA_VERSION:
        raise StateError(
            f"{source}: written by a newer reconciler (state schema {version}, this one reads "
            f"up to {SCHEMA_VERSION})",
            hint="upgrade reconciler to read it",
        )
    for migration in MIGRATIONS[version - MIN_SCHEMA_VERSION :]:
        data = migration(data)
    try:
        return StateEntry.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise StateError(f"{source}: field {field}: {first['msg']}") from None


def supersedes(theirs: bytes, ours: bytes) -> bool:
    """Whether our version of a state file may replace theirs.

    It may when theirs is an earlier step of the same attempt (our own intent, pushed before
    the submit) or of an attempt in our history; anything else was written by another apply.
    """
    if theirs == ours:
        return True
    try:
        old, new = decode_entry(theirs, "upstream"), decode_entry(ours, "local")
    except StateError:
        return False
    lineage = {new.attempt_id, *(attempt.attempt_id for attempt in new.history)}
    return old.name == new.name and old.attempt_id in lineage


class StateStore:
    """The state of one environment."""

    def __init__(
        self,
        state_dir: Path,
        environment: str = "default",
        *,
        background: bool = False,
        clock: Clock | None = None,
    ) -> None:
        self.root = state_dir / environment
        self.environment = environment
        self.background = background
        self._clock = clock or SystemClock()
        self._lock_path = state_dir / LOCK_NAME
        self._written: dict[str, bytes] = {}  # a digest of each file as last read or written
        self._entries: dict[str, StateEntry] = {}  # as last read or written by this store
        self._writer: Writer | None = None

    def path_for(self, name: str) -> Path:
        """The file that holds ``name``'s state."""
        return self.root / f"{name}.json"

    def snapshot(self) -> Mapping[str, StateEntry]:
        """Every entry, read now, as a read-only mapping."""
        if self._writer is not None:
            self._writer.wait_idle()
        entries: dict[str, StateEntry] = {}
        if not self.root.is_dir():
            return MappingProxyType(entries)
        # os.scandir: Path.glob took longer than reading the files it found.
        try:
            names = sorted(e.name for e in os.scandir(self.root) if e.name.endswith(".json"))
        except OSError as exc:
            raise StateError(f"{self.root}: cannot list state files ({exc.strerror})") from None
        for path in (self.root / name for name in names):
            try:
                raw = path.read_bytes()
            except OSError as exc:
                raise StateError(f"{path}: cannot read state file ({exc.strerror})") from None
            entry = decode_entry(raw, str(path))
            if entry.name != path.stem:
                raise StateError(f"{path}: holds the state of {entry.name!r}, not {path.stem!r}")
            entries[entry.name] = entry
            self._written[entry.name] = _digest(raw)
        self._entries = dict(entries)
        return MappingProxyType(entries)

    def current(self) -> Mapping[str, StateEntry]:
        """Every entry as last read (:meth:`snapshot`) or written by this store; no I/O."""
        return MappingProxyType(self._entries)

    def save(self, entry: StateEntry) -> None:
        """Persist one entry atomically; skip the write when nothing changed.

        A background store queues the write for its writer thread (see :meth:`flush`).
        """
        data = self._changed(entry)
        if data is None:
            return
        writer = self._background()
        if writer is None:
            write_atomic(self.path_for(entry.name), data)
        else:
            writer.put(self.path_for(entry.name), data, None)

    async def save_durable(self, entry: StateEntry) -> None:
        """Persist one entry and return once it is on disk (file and folder fsynced)."""
        data = self._changed(entry)
        writer = self._background()
        if writer is None:
            if data is not None:
                write_atomic(self.path_for(entry.name), data)
            return
        if data is None:  # the same bytes are on disk already, or on their way there
            await self.flush()
            return
        import asyncio  # only apply writes durably; plan need not import it

        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        writer.put(self.path_for(entry.name), data, done)
        await done

    async def flush(self) -> None:
        """Return once every write queued so far is on disk; raise what a write raised.

        The writer thread then ends (a later save starts another).
        """
        if self._writer is None:
            return
        import asyncio  # only apply writes durably; plan need not import it

        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._writer.when_idle(done)
        await done

    def settle(self) -> None:
        """Block until every queued write is done (before the lock is released)."""
        if self._writer is not None:
            self._writer.wait_idle()

    def discard(self, name: str, previous: StateEntry | None) -> None:
        """Put back ``previous`` (or no file at all): an intent that was never sent."""
        if previous is not None:
            self.save(previous)
            return
        self._written.pop(name, None)
        self._entries.pop(name, None)
        writer = self._background()
        if writer is not None:
            writer.put(self.path_for(name), b"", None, remove=True)
            return
        with contextlib.suppress(FileNotFoundError):
            self.path_for(name).unlink()

    def _changed(self, entry: StateEntry) -> bytes | None:
        """The entry's bytes if they differ from the file's (and remember them), else None."""
        data = encode_entry(entry)
        self._entries[entry.name] = entry
        digest = _digest(data)
        if self._written.get(entry.name) == digest:
            return None
        self._written[entry.name] = digest
        return data

    def _background(self) -> Writer | None:
        """The writer thread of a background store (started on first use), else None."""
        if not self.background:
            return None
        import asyncio

        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError("a background StateStore is written from an event loop") from None
        if self._writer is None or self._writer.loop is not loop:
            if self._writer is not None:  # left by an earlier event loop
                self._writer.wait_idle()
                self._writer.check()
            self._writer = Writer(loop)
        self._writer.check()
        return self._writer

    def ignore_own_files(self) -> None:
        """Write the state folder's ``.gitignore``: the lock and a kill -9's temp files."""
        ignore = self._lock_path.parent / ".gitignore"
        if not ignore.exists():
            self._lock_path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(ignore, IGNORED.encode())

    @contextlib.contextmanager
    def lock(self, *, command: str, wait: float = 0.0) -> Iterator[None]:
        """Hold the checkout's apply lock; if another process holds it, say who.

        The OS releases the lock when its holder dies, so a lock left by a killed apply is
        taken over on the next attempt; the holder file only explains who holds a live one.
        """
        self._lock_path.parent.mkdir(parents=True, exist_ok=True)
        holder_path = self._lock_path.with_name(LOCK_NAME + ".holder")
        lock = FileLock(str(self._lock_path), timeout=wait, thread_local=False)
        try:
            lock.acquire()
        except Timeout:
            raise StateError(
                "state is locked by another apply: "
                f"{_describe_holder(holder_path, self._clock, wait=1.0)}",
                hint="wait for it to finish; if no such process is running, run "
                "`reconciler state unlock`",
            ) from None
        try:
            holder = {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "started": self._clock.now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "command": command,
            }
            write_atomic(holder_path, (json.dumps(holder, sort_keys=True) + "\n").encode())
            self._remove_partial_writes()
            yield
        finally:
            with contextlib.suppress(FileNotFoundError):
                holder_path.unlink()
            lock.release()

    def _remove_partial_writes(self) -> None:
        """Temp files a killed writer left (with the lock held, no live writer has any)."""
        if self.root.is_dir():
            for leftover in self.root.iterdir():
                if is_partial_write(leftover.name):
                    with contextlib.suppress(FileNotFoundError):
                        leftover.unlink()

    def unlock(self) -> str:
        """Release a lock no live process holds; refuse (naming the holder) if one does."""
        holder_path = self._lock_path.with_name(LOCK_NAME + ".holder")
        if not self._lock_path.exists():
            return "No lock file; nothing to do."
        probe = FileLock(str(self._lock_path), timeout=0, thread_local=False)
        try:
            probe.acquire()
        except Timeout:
            raise StateError(
                f"the lock is held by a live process: {_describe_holder(holder_path, self._clock)}",
                hint="wait for that apply to finish, or stop it (it saves state on SIGTERM)",
            ) from None
        try:
            stale = holder_path.exists()
            with contextlib.suppress(FileNotFoundError):
                holder_path.unlink()
        finally:
            probe.release()
        return (
            "Removed a stale lock left by a process that is gone."
            if stale
            else "The lock was free; nothing to do."
        )


def _describe_holder(path: Path, clock: Clock, wait: float = 0.0) -> str:
    """Who holds the lock, from the holder file.

    A holder writes that file right after it takes the lock, so an apply started in the same
    instant can find the lock taken and the file not there yet: ``wait`` gives it that moment.
    """
    deadline = clock.monotonic() + wait
    while True:
        try:
            holder = json.loads(path.read_text(encoding="utf-8"))
            return (
                f"pid {holder['pid']} on {holder['host']}, started {holder['started']} "
                f"({holder['command']})"
            )
        except (OSError, ValueError, KeyError, TypeError):
            if clock.monotonic() >= deadline:
                return "holder unknown"
        time.sleep(0.02)  # a pause, not a reading: the deadline is the clock's


def _digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()
