"""What a commit may record from the working tree: regular files, read without following links.

An edge, used by ``plumbing.Checkout``. A commit records the state and artifacts the tool
wrote; the checkout around them came from a pull request and is hostile (docs/security.md). So
the folders are walked with ``os.scandir`` without following links, every file is read with
``files.read_bounded`` (no root: a link is refused, whatever it points at), and anything that is
not a regular file in a real folder under the repository is refused by name: a symbolic link
(to a file or a folder, here or in a parent such as ``artifacts`` itself), a device, a named
pipe, a socket, a path outside the repository or inside ``.git``, a name git could misread (a
control character). One refusal stops the whole commit: nothing is committed or pushed.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.errors import GitError
from reconciler.files import FileRefused, is_partial_write, kind, read_bounded

#: The largest file a commit records: GitHub refuses a push with a file over 100 MB.
COMMIT_FILE_LIMIT = 100 * 1000 * 1000
#: Refused paths named in the error; the rest are counted.
_NAMED = 10


@dataclass
class WorkingFiles:
    """The files under some paths of a working tree, and the paths refused on the way."""

    top: Path
    found: dict[str, bytes | None] = field(default_factory=dict)  # None: gone (a deletion)
    gone: list[str] = field(default_factory=list)  # git names whose files may all be gone
    refused: dict[str, str] = field(default_factory=dict)  # git name -> why

    def collect(self, paths: Iterable[Path]) -> None:
        """Read every regular file under ``paths``; note what is gone and what is refused."""
        for path in paths:
            try:
                rel = posix_path(os.path.relpath(path, self.top))
            except ValueError:  # another drive
                rel = ".."
            if rel in (".", "..") or rel.startswith("../"):
                self.refused[str(path)] = f"is outside the repository {self.top}"
                continue
            if ".git" in rel.split("/"):
                self.refused[rel] = "is inside .git"
                continue
            info = self._through_parents(rel)
            if info is None:  # the path, or a folder above it, is gone
                self.gone.append(rel)
                continue
            self._visit(rel, info)

    def check(self) -> None:
        """Raise ``GitError`` naming every refused path; nothing is committed then."""
        if not self.refused:
            return
        names = sorted(self.refused)
        listed = "; ".join(f"{name} {self.refused[name]}" for name in names[:_NAMED])
        more = f"; and {len(names) - _NAMED} more" if len(names) > _NAMED else ""
        raise GitError(
            f"refusing to commit: {listed}{more}. A commit records only regular files that "
            "reconciler writes under the state and artifacts folders; nothing was committed or "
            "pushed",
            hint="remove those paths (git rm them if they are tracked) and run reconciler "
            "commit again",
        )

    def _through_parents(self, rel: str) -> os.stat_result | None:
        """``rel``'s own lstat, once every folder above it is a real folder; None if gone."""
        parts = rel.split("/")
        for depth in range(1, len(parts) + 1):
            name = "/".join(parts[:depth])
            try:
                info = os.lstat(self.top / name)
            except FileNotFoundError:
                return None
            except NotADirectoryError:  # a parent that is not a folder: refused below already
                return None
            if depth == len(parts):
                return info
            if stat.S_ISLNK(info.st_mode):
                self.refused[name] = "is a symbolic link; expected a folder"
                return None
            if not stat.S_ISDIR(info.st_mode):
                self.refused[name] = f"is {kind(info.st_mode)}; expected a folder"
                return None
        return None  # pragma: no cover - the loop returns at the last part

    def _visit(self, rel: str, info: os.stat_result) -> None:
        """Read ``rel`` (a file) or every file below it (a folder), refusing anything else."""
        pending = [(rel, info)]
        while pending:
            name, info = pending.pop()
            if not _plain_name(name):
                self.refused[ascii(name)] = "has a control character in its name"
            elif stat.S_ISDIR(info.st_mode):
                try:
                    with os.scandir(self.top / name) as entries:
                        children = [
                            (f"{name}/{e.name}", e.stat(follow_symlinks=False)) for e in entries
                        ]
                except OSError as exc:
                    self.refused[name] = f"cannot be listed ({exc.strerror})"
                    continue
                pending.extend(sorted(children, reverse=True))
            elif stat.S_ISREG(info.st_mode):
                if not is_partial_write(name.rsplit("/", 1)[-1]):  # a kill -9's leftover
                    self._read(name)
            elif stat.S_ISLNK(info.st_mode):
                self.refused[name] = "is a symbolic link; expected a regular file or a folder"
            else:
                self.refused[name] = f"is {kind(info.st_mode)}; expected a regular file"
            if stat.S_ISDIR(info.st_mode) and name == rel:
                self.gone.append(rel)  # files of base under it that are no longer here

    def _read(self, name: str) -> None:
        try:
            self.found[name] = read_bounded(self.top / name, limit=COMMIT_FILE_LIMIT)
        except FileRefused as exc:
            self.refused[name] = exc.reason
        except OSError as exc:
            self.refused[name] = f"cannot be read ({exc.strerror})"


def deleted_under(gone: Sequence[str], listed: Iterable[str]) -> list[str]:
    """The names of ``listed`` (a tree) that are one of ``gone`` or under one of them."""
    prefixes = tuple(g.rstrip("/") + "/" for g in gone)
    exact = set(gone)
    return [name for name in listed if name in exact or name.startswith(prefixes)]


def _plain_name(name: str) -> bool:
    """No control characters: git's line-based input would read them as a second entry."""
    return all(ord(c) >= 0x20 and c != "\x7f" and not 0xDC80 <= ord(c) <= 0xDCFF for c in name)


def posix_path(path: str) -> str:
    """``path`` with ``/`` separators, as git names files."""
    return path.replace(os.sep, "/")
