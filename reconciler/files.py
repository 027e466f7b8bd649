"""Atomic file writes: the one recipe every writer of state and artifacts uses.

A crash, a kill -9 or a full disk at any instant leaves either the old file or the new one,
never a torn mix (practices.md B2): temp file in the same folder, fsync, rename, fsync the folder.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so a crash leaves either the old or the new file."""
    write_atomic_many([(path, data)])


def write_atomic_many(items: Sequence[tuple[Path, bytes]]) -> None:
    """``write_atomic`` for many files at once, with the same guarantee for each.

    Every temp file is written first, then each is fsynced, then renamed, then each folder is
    fsynced once: the disk flushes the batch together instead of once per file.
    """
    temps: list[Path] = []
    renamed = 0
    try:
        for path, data in items:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            temps.append(Path(name))
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
        for temp in temps:
            fd = os.open(temp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            temp.chmod(0o644)  # mkstemp makes 0600; git would record a mode change
        for temp, (path, _) in zip(temps, items, strict=False):
            temp.replace(path)
            renamed += 1
    except BaseException:
        for temp in temps[renamed:]:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
        raise
    for folder in dict.fromkeys(path.parent for path, _ in items):
        fsync_folder(folder)


def is_partial_write(name: str) -> bool:
    """A temp file of these writers, left behind by a kill -9 (``.NAME.XXXXXXXX.tmp``)."""
    return name.startswith(".") and name.endswith(".tmp")


def fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable."""
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
