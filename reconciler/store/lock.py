"""The checkout's apply lock: ``<state dir>/.reconciler.lock`` and the holder file beside it.

An edge, used by ``state.StateStore``. The OS releases the lock when its holder dies, so a lock
left by a killed apply is taken over on the next attempt; the holder file only explains who
holds a live one. The lock file must be a regular file in a real state folder: a folder, a link
or anything else in its place is refused by name (``paths.Tree``), before ``filelock`` opens it.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path

from filelock import FileLock, Timeout

from reconciler.clock import Clock
from reconciler.errors import StateError
from reconciler.files import read_bounded
from reconciler.store.paths import Tree, write_error

LOCK_NAME = ".reconciler.lock"
HOLDER_NAME = f"{LOCK_NAME}.holder"
_HOLDER_LIMIT = 64 * 1024
_UNLOCK_HINT = (
    "remove it (reconciler creates the lock file itself), or run `reconciler state unlock` "
    "once it is a plain file again"
)


@contextlib.contextmanager
def hold(tree: Tree, clock: Clock, *, command: str, wait: float = 0.0) -> Iterator[None]:
    """Hold the apply lock of the state folder ``tree.root``; if another process has it, say who."""
    lock_path = tree.root / LOCK_NAME
    tree.mkdir(tree.root)
    _check(tree, lock_path)
    lock = FileLock(str(lock_path), timeout=wait, thread_local=False)
    try:
        lock.acquire()
    except Timeout:
        raise StateError(
            "state is locked by another apply: "
            f"{describe_holder(tree.root / HOLDER_NAME, clock, wait=1.0)}",
            hint="wait for it to finish; if no such process is running, run "
            "`reconciler state unlock`",
        ) from None
    except OSError as exc:
        raise _lock_error(lock_path, exc) from None
    holder_path = tree.root / HOLDER_NAME
    written = False
    try:
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": clock.now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "command": command,
        }
        tree.write([(holder_path, (json.dumps(holder, sort_keys=True) + "\n").encode())])
        written = True
        yield
    finally:
        if written:  # never another file in its place (a link the write refused)
            with contextlib.suppress(OSError):
                holder_path.unlink()
        lock.release()


def unlock(tree: Tree, clock: Clock) -> str:
    """Release a lock no live process holds; refuse (naming the holder) if one does."""
    lock_path = tree.root / LOCK_NAME
    holder_path = tree.root / HOLDER_NAME
    if not tree.folder(tree.root) or not _check(tree, lock_path):
        return "No lock file; nothing to do."
    probe = FileLock(str(lock_path), timeout=0, thread_local=False)
    try:
        probe.acquire()
    except Timeout:
        raise StateError(
            f"the lock is held by a live process: {describe_holder(holder_path, clock)}",
            hint="wait for that apply to finish, or stop it (it saves state on SIGTERM)",
        ) from None
    except OSError as exc:
        raise _lock_error(lock_path, exc) from None
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


def describe_holder(path: Path, clock: Clock, wait: float = 0.0) -> str:
    """Who holds the lock, from the holder file.

    A holder writes that file right after it takes the lock, so an apply started in the same
    instant can find the lock taken and the file not there yet: ``wait`` gives it that moment.
    """
    deadline = clock.monotonic() + wait
    while True:
        try:
            holder = json.loads(read_bounded(path, limit=_HOLDER_LIMIT))
            return (
                f"pid {holder['pid']} on {holder['host']}, started {holder['started']} "
                f"({holder['command']})"
            )
        except (OSError, ValueError, KeyError, TypeError, RecursionError):
            if clock.monotonic() >= deadline:
                return "holder unknown"
        time.sleep(0.02)  # a pause, not a reading: the deadline is the clock's


def _check(tree: Tree, lock_path: Path) -> bool:
    """Whether the lock file exists; a ``StateError`` when something else stands in its place."""
    try:
        return tree.check_file(lock_path)
    except StateError as exc:
        raise StateError(f"the apply lock {exc.message}", hint=_UNLOCK_HINT) from None


def _lock_error(lock_path: Path, exc: OSError) -> StateError:
    written = write_error(exc)
    return StateError(
        f"cannot take the apply lock {lock_path} ({exc.strerror or exc.__class__.__name__})",
        hint=written.hint,
    )
