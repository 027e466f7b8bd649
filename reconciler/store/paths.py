"""Where the store reads and writes: real folders under one root, never through a link.

An edge, used by the state store, its lock and writer, and the artifacts. The checkout came
from a pull request (docs/security.md): ``state`` or ``artifacts/default`` could be a link to
``.git`` or to ``~``, a file could sit where a folder belongs, the folder could be read-only.
A ``Tree`` checks, with ``os.lstat`` and without following anything, every folder from its
root down to the file before a write (folders found real are remembered) and the file itself,
and turns each of those cases, and the ``OSError`` of the write, into a ``StateError`` naming
the path and what was expected. Writes themselves are ``files.write_atomic_many``'s.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Sequence
from pathlib import Path

from reconciler.errors import StateError
from reconciler.files import Content, fsync_folder, is_partial_write, kind, write_atomic_many

#: What the state and artifacts folders must be, said once for every error about them.
_HINT = (
    "the state and artifacts folders must be real folders (not links) that the user running "
    "reconciler can write; reconciler never writes through a link"
)


class Tree:
    """The folder ``root`` and everything the store writes below it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._real: set[Path] = set()  # folders found real, so a save lstats only its file

    def folder(self, folder: Path) -> bool:
        """Whether ``folder`` exists; every step from the root to it must be a real folder.

        Raises ``StateError`` for a link or for something else where a folder belongs.
        """
        if folder in self._real:
            return True
        for step in self._steps(folder):
            if not _is(step, stat.S_ISDIR, "a folder"):
                return False
        self._real.add(folder)
        return True

    def check_file(self, path: Path) -> bool:
        """Whether ``path`` exists as a regular file in real folders (``StateError`` otherwise)."""
        return self.folder(path.parent) and _is(path, stat.S_ISREG, "a regular file")

    def mkdir(self, folder: Path) -> None:
        """Create ``folder`` (and its parents) under the root, after checking what exists."""
        if self.folder(folder):
            return
        created = []  # the folders this call makes, deepest first
        probe = folder
        while not os.path.lexists(probe) and probe != probe.parent:
            created.append(probe)
            probe = probe.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for made in created:  # a new folder's entry is durable only once its parent is synced:
                fsync_folder(made.parent)  # else an intent in it could vanish in a power cut
        except OSError as exc:
            raise write_error(exc) from None
        self.folder(folder)

    def write(self, items: Sequence[tuple[Path, Content]]) -> None:
        """Write each file atomically, once its folders and the file itself pass the checks.

        A file's content is its bytes or its pieces (``files.write_atomic_many``).
        """
        for folder in dict.fromkeys(path.parent for path, _ in items):
            self.mkdir(folder)
        for path, _ in items:
            self.check_file(path)
        try:
            write_atomic_many(items)
        except OSError as exc:
            raise write_error(exc) from None

    def remove(self, paths: Sequence[Path]) -> None:
        """Remove files (gone already is fine), then make that durable per folder."""
        try:
            for path in paths:
                if self.check_file(path):
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()
            for folder in dict.fromkeys(path.parent for path in paths):
                if self.folder(folder):
                    fsync_folder(folder)
        except OSError as exc:
            raise write_error(exc) from None

    def _steps(self, folder: Path) -> list[Path]:
        """The root and each folder below it down to ``folder``."""
        if not folder.is_relative_to(self.root):
            raise ValueError(f"{folder} is not under {self.root}")  # a caller's bug
        if ".." in folder.relative_to(self.root).parts:  # under it in text only
            raise StateError(f"{folder}: refusing a path that leaves {self.root} through '..'")
        steps = [self.root]
        for part in folder.relative_to(self.root).parts:
            steps.append(steps[-1] / part)
        return steps


def write_error(exc: OSError) -> StateError:
    """The ``StateError`` for a failed write: the path (a temp file's folder), and why."""
    where = Path(exc.filename) if exc.filename else None
    if where is not None and is_partial_write(where.name):
        where = where.parent  # the folder refused a new file
    reason = exc.strerror or exc.__class__.__name__
    return StateError(f"{where or 'state'}: cannot be written ({reason})", hint=_HINT)


def _is(path: Path, test: Callable[[int], bool], expected: str) -> bool:
    """Whether ``path`` exists, never followed; a ``StateError`` if it is not ``expected``."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise StateError(f"{path}: cannot be read ({exc.strerror})", hint=_HINT) from None
    if not test(info.st_mode):  # a link too: ``kind`` says "a symbolic link"
        raise StateError(f"{path}: is {kind(info.st_mode)}; expected {expected}", hint=_HINT)
    return True
