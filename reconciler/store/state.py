"""The state store: one JSON file per execution, written atomically, guarded by a lock.

An edge. Files live in ``<state dir>/<environment>/<name>.json`` so two branches touching
different executions never conflict in git. Each file carries ``schemaVersion`` (``codec``
encodes, and decodes within bounds); older versions are migrated in memory, newer ones are
refused. Writes go to a temp file in the same folder, are fsynced, renamed over the target and
the folder is fsynced (practices.md B2); an unchanged entry is not rewritten. The platform's text
is scrubbed of secrets by the store's ``Redactor`` before it is written. ``snapshot`` hands
readers a read-only mapping: only the engine holds the store itself.

The state folder came with the checkout, so it is hostile (docs/security.md): reads and writes
go through a ``paths.Tree``, which refuses a link, or anything but a folder, anywhere between
the state folder and the file, and a state file that is not a regular file or is over
``STATE_FILE_LIMIT``; each is a ``StateError`` naming the path.

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
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from reconciler.clock import Clock, SystemClock
from reconciler.errors import StateError
from reconciler.files import FileRefused, is_partial_write, read_bounded
from reconciler.model import StateEntry
from reconciler.outbound import NO_SECRETS, Redactor
from reconciler.store.codec import (
    MIGRATIONS,
    SCHEMA_VERSION,
    Migration,
    decode_entry,
    encode_entry,
    later_step,
    supersedes,
)
from reconciler.store.lock import HOLDER_NAME, LOCK_NAME, hold, unlock
from reconciler.store.paths import Tree
from reconciler.store.writer import Writer

if TYPE_CHECKING:
    import asyncio

__all__ = [
    "IGNORED",
    "LOCK_NAME",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "STATE_FILE_LIMIT",
    "Migration",
    "StateStore",
    "decode_entry",
    "encode_entry",
    "later_step",
    "supersedes",
]

IGNORED = f"# written by reconciler\n{LOCK_NAME}\n{HOLDER_NAME}\n.*.tmp\n.applies-*.jsonl\n"
#: The largest state file read: one execution's record is a few kilobytes.
STATE_FILE_LIMIT = 16 * 1024 * 1024


class StateStore:
    """The state of one environment."""

    def __init__(
        self,
        state_dir: Path,
        environment: str = "default",
        *,
        background: bool = False,
        clock: Clock | None = None,
        redactor: Redactor = NO_SECRETS,
    ) -> None:
        self.root = state_dir / environment
        self.environment = environment
        self.background = background
        self._clock = clock or SystemClock()
        self._redactor = redactor
        self._tree = Tree(state_dir)
        self._written: dict[str, bytes] = {}  # a digest of each file as last read or written
        self._entries: dict[str, StateEntry] = {}  # as last read or written by this store
        self._writer: Writer | None = None

    def redact_with(self, redactor: Redactor) -> None:
        """Scrub every entry written from now on with ``redactor`` (known once the plan is)."""
        self._redactor = redactor

    def path_for(self, name: str) -> Path:
        """The file that holds ``name``'s state."""
        return self.root / f"{name}.json"

    def snapshot(self) -> Mapping[str, StateEntry]:
        """Every entry, read now, as a read-only mapping."""
        if self._writer is not None:
            self._writer.wait_idle()
        entries: dict[str, StateEntry] = {}
        if not self._tree.folder(self.root):
            return MappingProxyType(entries)
        # os.scandir: Path.glob took longer than reading the files it found.
        try:
            names = sorted(e.name for e in os.scandir(self.root) if e.name.endswith(".json"))
        except OSError as exc:
            raise StateError(f"{self.root}: cannot list state files ({exc.strerror})") from None
        for path in (self.root / name for name in names):
            try:
                raw = read_bounded(path, limit=STATE_FILE_LIMIT)
            except FileRefused as exc:
                raise StateError(f"{path}: not a state file: it {exc.reason}") from None
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
            self._tree.write([(self.path_for(entry.name), data)])
        else:
            writer.put(self.path_for(entry.name), data, None)

    async def save_durable(self, entry: StateEntry) -> None:
        """Persist one entry and return once it is on disk (file and folder fsynced)."""
        data = self._changed(entry)
        writer = self._background()
        if writer is None:
            if data is not None:
                self._tree.write([(self.path_for(entry.name), data)])
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
        self._tree.remove([self.path_for(name)])

    def _changed(self, entry: StateEntry) -> bytes | None:
        """The entry's bytes if they differ from the file's (and remember them), else None."""
        data = encode_entry(entry, self._redactor)
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
            self._writer = Writer(loop, self._tree)
        self._writer.check()
        return self._writer

    def ignore_own_files(self) -> None:
        """Write the state folder's ``.gitignore``: the lock and a kill -9's temp files."""
        ignore = self._tree.root / ".gitignore"
        if not self._tree.check_file(ignore):
            self._tree.write([(ignore, IGNORED.encode())])

    @contextlib.contextmanager
    def lock(self, *, command: str, wait: float = 0.0) -> Iterator[None]:
        """Hold the checkout's apply lock; if another process holds it, say who (``lock``)."""
        with hold(self._tree, self._clock, command=command, wait=wait):
            self._remove_partial_writes()
            yield

    def _remove_partial_writes(self) -> None:
        """Temp files a killed writer left (with the lock held, no live writer has any)."""
        if not self._tree.folder(self.root):
            return
        try:
            leftovers = [e.name for e in os.scandir(self.root) if is_partial_write(e.name)]
        except OSError as exc:
            raise StateError(f"{self.root}: cannot list state files ({exc.strerror})") from None
        self._tree.remove([self.root / name for name in leftovers])

    def unlock(self) -> str:
        """Release a lock no live process holds; refuse (naming the holder) if one does."""
        return unlock(self._tree, self._clock)


def _digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()
