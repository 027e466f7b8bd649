"""Atomic file writes and bounded reads: the one recipe every reader and writer uses.

A crash, a kill -9 or a full disk at any instant leaves either the old file or the new one,
never a torn mix (practices.md B2): temp file in the same folder, fsync, rename, fsync the folder.
Every file the tool reads from a checkout is hostile (docs/security.md): ``read_bounded`` reads
regular files only, never through a link unless the link stays inside a given root, and never
more than a limit, so ``/dev/zero``, a FIFO or a link to ``/etc`` is a clear refusal.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so a crash leaves either the old or the new file."""
    write_atomic_many([(path, data)])


#: What a file is written from: its bytes, or its pieces in order (a report too large to hold
#: whole: it is written as its pieces come).
Content = bytes | Iterable[bytes]


def write_atomic_many(items: Sequence[tuple[Path, Content]]) -> None:
    """``write_atomic`` for many files at once, with the same guarantee for each.

    Every temp file is written, then each one's data is flushed (``fdatasync`` on the open
    file: its bytes and size, not its times), then each is renamed, then each folder is
    fsynced once: the disk flushes the batch together, and a rename is never durable before
    the data it points at. Only once this returns is every file of the batch on disk. A file
    given in pieces is written piece by piece into its temp file; should producing a piece
    raise, no file of the batch is replaced.
    """
    temps: list[Path] = []
    fds: list[int] = []
    renamed = 0
    try:
        for folder in dict.fromkeys(path.parent for path, _ in items):
            folder.mkdir(parents=True, exist_ok=True)
        for path, data in items:
            fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            fds.append(fd)
            temps.append(Path(name))
            for piece in (data,) if isinstance(data, bytes) else data:
                view = memoryview(piece)
                while view:
                    view = view[os.write(fd, view) :]
        for fd in fds:
            _datasync(fd)
            os.fchmod(fd, 0o644)  # mkstemp makes 0600; git would record a mode change
        while fds:
            os.close(fds.pop())
        for temp, (path, _) in zip(temps, items, strict=False):
            temp.replace(path)
            renamed += 1
    except BaseException:
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        for temp in temps[renamed:]:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
        raise
    for folder in dict.fromkeys(path.parent for path, _ in items):
        fsync_folder(folder)


def _datasync(fd: int) -> None:
    """Flush a file's data and the metadata needed to read it back (its size), not its times."""
    sync = getattr(os, "fdatasync", None) or os.fsync  # macOS has no fdatasync
    sync(fd)


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


class FileRefused(OSError):
    """A file the tool will not read: not a regular file, a link, or over its size limit.

    ``reason`` says which, in words an error message can print after the path.
    """

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def read_bounded(path: Path, *, limit: int, root: Path | None = None) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them.

    Without ``root`` a symbolic link is refused. With ``root``, a path that passes through a
    link (the file itself or any folder above it) must resolve inside ``root`` (a specs
    repository may link one spec to another, never to ``/etc``), and nothing under
    ``root/.git`` is read, link or not. Raises ``FileRefused`` (non-regular, link, too large)
    or the ``OSError`` of the read.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    if root is not None:
        top, target = root.resolve(), path.resolve()
        if target.is_relative_to(top / ".git"):
            raise FileRefused(path, "is inside the repository's .git folder")
        if target != path.absolute() and not target.is_relative_to(top):
            how = "is a symbolic link" if path.is_symlink() else "is behind a folder link"
            raise FileRefused(path, f"{how} leading outside {root}")
        path = target
    elif path.is_symlink():
        raise FileRefused(path, "is a symbolic link; expected a regular file")
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == getattr(os, "ELOOP", -1) or path.is_symlink():
            raise FileRefused(path, "is a symbolic link; expected a regular file") from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FileRefused(path, f"is {kind(info.st_mode)}; expected a regular file")
        if info.st_size > limit:
            raise FileRefused(path, f"is {info.st_size:,} bytes; the limit is {limit:,}")
        chunks: list[bytes] = []
        size = 0
        while chunk := os.read(fd, min(1 << 20, limit + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:  # grew while being read
                raise FileRefused(path, f"is over {limit:,} bytes; the limit is {limit:,}")
        return b"".join(chunks)
    finally:
        os.close(fd)


def kind(mode: int) -> str:
    """What a file of ``mode`` (an ``lstat`` mode) is, in words an error message can print."""
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISREG(mode):
        return "a regular file"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"
