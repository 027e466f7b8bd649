"""Where spec files are, how their names are shown, and how they are read without a reader.

Pure but for the file system's metadata and one bounded read. ``iter_yaml_files`` expands
folders into their YAML entries (anything but a folder, so a pipe or a device is refused by
name, never skipped); ``display_path(s)`` shows a path relative to the root the user works in
(a link leading outside shown where it lies); ``read_regular`` is what ``documents`` reads
with when its caller gives no reader: the refusals of ``reconciler.files.read_bounded``, which
the pure core may not import (the command line passes that one, through ``SpecContext.read``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from reconciler.files import read_bounded

MAX_FILE_BYTES = 1_000_000

#: Reads a file's bytes, or raises ``OSError`` (``reconciler.files.FileRefused`` carries a
#: ``reason``); the command line passes ``read_bounded``, tests may pass their own.
Reader = Callable[[Path], bytes]


def display_path(path: Path, root: Path | None = None) -> str:
    """Path as the user should read it: relative to ``root`` (or cwd) when inside it."""
    base = _resolved(root or Path.cwd())
    own = path.absolute().parent.resolve() / path.name  # a link leading out: where it lies
    for candidate in (path.resolve(), own):
        if candidate.is_relative_to(base):
            return str(candidate.relative_to(base))
    return str(path)


def display_paths(paths: Sequence[Path], root: Path | None = None) -> list[str]:
    """``[display_path(p, root) for p in paths]``, resolving each folder once, not each file.

    ``Path.resolve`` walks every component of every path; the files of a specs folder share a
    handful of folders, so only a file that is itself a symbolic link is resolved whole.
    """
    base = _resolved(root or Path.cwd())
    folders: dict[Path, Path] = {}
    shown = []
    for path in paths:
        folder = folders.get(path.parent)
        if folder is None:
            folder = folders[path.parent] = path.parent.resolve()
        own = folder / path.name
        resolved = path.resolve() if path.is_symlink() else own
        for candidate in (resolved, own):  # a link leading out is shown where it lies
            if candidate.is_relative_to(base):
                shown.append(str(candidate.relative_to(base)))
                break
        else:
            shown.append(str(path))
    return shown


@functools.lru_cache(maxsize=16)
def _resolved(base: Path) -> Path:
    """``base.resolve()``, once per process for the root every file is shown relative to."""
    return base.resolve()


def read_regular(path: Path, *, limit: int = MAX_FILE_BYTES, root: Path | None = None) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit``; a link only inside ``root``.

    What ``load_file`` reads with when the caller gives no reader: ``files.read_bounded``, the
    one bounded reader (a device, a pipe, a folder, a link leading elsewhere, a file over the
    limit are each refused with a reason, as ``FileRefused``).
    """
    return read_bounded(path, limit=limit, root=root)


def iter_yaml_files(paths: Iterable[Path]) -> list[Path]:
    """Expand folders into their ``*.yaml``/``*.yml`` entries, sorted; keep files as given.

    Every entry with such a name that is not a folder is kept, so a named pipe, a device or a
    link leading out of the repository is refused by the reader, by name, never skipped.
    """
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted(
                    p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and not p.is_dir()
                )
            )
        else:
            found.append(path)
    return found
