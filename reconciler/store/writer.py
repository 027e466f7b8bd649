"""The state store's writer thread: state files written in order, off the event loop.

An edge, used only by ``state.StateStore``. Saves of one file that wait together collapse
into the newest; writes somebody waits for (intents, before their POST) go first; each batch
is written with the store's ``paths.Tree`` (``files.write_atomic_many`` after checking that no
folder on the way is a link: each file's data flushed, renamed, then one fsync of the folder
per batch), after which its waiters are told. A failed write becomes a ``StateError`` naming
the path, raised by the next save.

The thread is woken once per turn of the event loop, not once per save: a save asks the loop
to wake it after the callbacks running now (``call_soon``), so the saves the loop makes in the
same instant (a wave of intents, the runs one poll round found final) share one batch and one
folder fsync. An intent's POST waits for its batch either way; nothing is sent in between.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.store.paths import Tree

if TYPE_CHECKING:
    import asyncio  # only for annotations: plan imports this module and needs no event loop


@dataclass
class _Pending:
    data: bytes
    remove: bool
    waiters: list[asyncio.Future[None]] = field(default_factory=list)


class Writer:
    """A thread that writes state files in order, so fsyncs never block the event loop.

    Saves of one file that wait together collapse into the newest. Writes somebody waits for
    (intents) go first; each batch is followed by one fsync of the folder, after which its
    waiters are told. A thread that has had nothing to do for a while ends; the next write
    starts another. It is not a daemon: the interpreter finishes its writes before it exits.
    """

    #: Writes nobody waits for, per batch: a batch is every such write queued when the thread
    #: wakes, up to this many, so an intent queued meanwhile waits for at most this many
    #: data flushes before its own batch.
    BATCH = 256
    IDLE = 1.0  # seconds without work before the thread ends (or a lost wake-up is written)

    def __init__(self, loop: asyncio.AbstractEventLoop, tree: Tree) -> None:
        self.loop = loop
        self._tree = tree
        self._closing = False  # end the thread as soon as it has nothing to do
        self._urgent_last = False
        self._ready = False  # woken: the loop's turn that queued the pending writes is over
        self._wake_asked = False  # a wake-up is scheduled on the loop
        self._cond = threading.Condition()
        self._pending: dict[Path, _Pending] = {}
        self._busy = False
        self._idle_waiters: list[asyncio.Future[None]] = []
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def put(
        self, path: Path, data: bytes, done: asyncio.Future[None] | None, *, remove: bool = False
    ) -> None:
        """Queue a write (or a removal) of ``path``; ``done`` is told once it is on disk."""
        with self._cond:
            item = self._pending.pop(path, None)  # re-inserted last: the newest goes last
            waiters = item.waiters if item is not None else []
            if done is not None:
                waiters.append(done)
            self._pending[path] = _Pending(data, remove, waiters)
            self._closing = False
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="state-writer")
                self._thread.start()
            if self._wake_asked:
                return
            self._wake_asked = True
        try:  # after the callbacks of this turn: the saves made with this one join its batch
            self.loop.call_soon(self._wake)
        except RuntimeError:  # the loop is closed: nobody else will queue anything now
            self._wake()

    def _wake(self) -> None:
        with self._cond:
            self._wake_asked = False
            self._ready = True
            self._cond.notify()

    def check(self) -> None:
        """Raise the error of a failed write (once written, state may be behind)."""
        if self.error is not None:
            raise self.error

    def when_idle(self, done: asyncio.Future[None]) -> None:
        """Tell ``done`` once every queued write is on disk; the thread then ends."""
        with self._cond:
            self._closing = True  # the thread writes what is left at once, then ends
            self._cond.notify_all()
            if not self._pending and not self._busy:
                self._finish(done, self.error)
                return
            self._idle_waiters.append(done)

    def wait_idle(self) -> None:
        """Block until every queued write is done (callers outside the event loop)."""
        with self._cond:
            self._ready = bool(self._pending)  # written now: this caller waits for them
            self._cond.notify_all()
            self._cond.wait_for(lambda: not self._pending and not self._busy)

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(
                    lambda: self._closing or (self._ready and bool(self._pending)), self.IDLE
                )  # after IDLE, pending writes whose wake-up never came are written too
                if not self._pending:
                    self._thread = None
                    self._ready = False  # else the next save would be taken before its turn ends
                    return
                batch = self._take()
                self._ready = bool(self._pending)  # the rest was queued before the wake-up too
                self._busy = True
            error = self._write(batch)
            with self._cond:
                self._busy = False
                if error is not None and self.error is None:
                    self.error = error
                for item in batch.values():
                    for done in item.waiters:
                        self._finish(done, error)
                if not self._pending:
                    for done in self._idle_waiters:
                        self._finish(done, self.error)
                    self._idle_waiters = []
                self._cond.notify_all()

    def _take(self) -> dict[Path, _Pending]:
        """The next batch: writes somebody waits for (intents) first.

        Never two such batches in a row while other writes wait: those would pile up in memory
        for as long as new intents keep coming.
        """
        urgent = [path for path, item in self._pending.items() if item.waiters]
        others = len(urgent) < len(self._pending)
        if urgent and not (self._urgent_last and others):
            paths = urgent
        else:
            paths = [path for path, item in self._pending.items() if not item.waiters]
            paths = paths[: self.BATCH]
        self._urgent_last = paths is urgent
        return {path: self._pending.pop(path) for path in paths}

    def _write(self, batch: dict[Path, _Pending]) -> BaseException | None:
        try:
            written = [(path, item.data) for path, item in batch.items() if not item.remove]
            if written:
                self._tree.write(written)
            removed = [path for path, item in batch.items() if item.remove]
            if removed:
                self._tree.remove(removed)
        except Exception as exc:  # handed to whoever waits, raised by the next save
            return exc
        return None

    def _finish(self, done: asyncio.Future[None], error: BaseException | None) -> None:
        def settle() -> None:
            if done.done():
                return
            if error is None:
                done.set_result(None)
            else:
                done.set_exception(error)

        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            self.loop.call_soon_threadsafe(settle)
