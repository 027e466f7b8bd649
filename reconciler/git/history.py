"""One file's history in git, as plain data: each commit that changed it, its trailers, its bytes.

An edge (runs ``git``). ``reconciler history`` reads a state file's versions from here. Git is
the audit trail, and what it holds came from whoever could push: messages, trailers and file
versions are hostile text. So every read is plumbing with fixed shapes:

- ``git log -z`` with NUL between fields and records (git itself stops a message at a NUL, so
  no message can spell a second field), output read as bytes and decoded leniently, each field
  cut at ``FIELD_LIMIT`` characters;
- one field per trailer key (``%(trailers:key=…,valueonly,unfold)``), so a value cannot pose
  as another key;
- file versions through ``git cat-file``: sizes first (``--batch-check``), then the bytes of
  those under the caller's limit, by object id (``--batch``, length-prefixed), in one process
  per page of commits rather than one ``git show`` each.

Nothing here decodes a state file or knows what a run is: that is the use case's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from reconciler.errors import GitError
from reconciler.git.plumbing import Checkout

__all__ = ["MAX_COMMITS", "TRAILER_KEYS", "FileHistory", "FileVersion"]

#: The trailers read from each commit (``commit`` and durable intents write them).
TRAILER_KEYS = (
    "Reconciler-Environment",
    "Reconciler-Specs-Commit",
    "Reconciler-Plan-Digest",
    "Reconciler-Reviewed",
    "Reconciler-Counts",
    "Reconciler-Run-URL",
    "Reconciler-Actor",
    "Reconciler-Pull-Requests",
    "Reconciler-Applies",
    "Reconciler-Intents",
)
#: The most commits of one file read: years of applies; older ones are reported as cut.
MAX_COMMITS = 5000
#: The longest subject, author or trailer value kept, in characters.
FIELD_LIMIT = 500
#: Commits whose file versions are read with one ``git cat-file`` process.
PAGE = 200

_FIELDS = (
    "%H",
    "%ct",
    "%aN",
    "%s",
    *(f"%(trailers:key={key},valueonly,unfold,separator=%x1f)" for key in TRAILER_KEYS),
)
_OBJECT_ID = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")


@dataclass(frozen=True)
class FileVersion:
    """One commit that changed the file, and the file as that commit left it.

    ``data`` is None when the commit removed the file (``removed``) or the version was not
    read (``refused`` says why: too large, or not a file).
    """

    commit: str
    committed_at: datetime
    author: str
    subject: str
    trailers: dict[str, str] = field(default_factory=dict)
    data: bytes | None = None
    removed: bool = False
    refused: str | None = None


@dataclass(frozen=True)
class Listed:
    """The commits of one file, newest first, without their versions yet."""

    versions: tuple[FileVersion, ...]
    cut: bool  # more than MAX_COMMITS commits changed the file


@dataclass
class FileHistory(Checkout):
    """Reads one checkout's history of a file at a commit (HEAD, or the state branch's tip)."""

    def names_in(self, ref: str, folder: str) -> list[str]:
        """The file names directly in ``folder`` at ``ref`` (none when it is not there)."""
        listed = self.run_bytes(
            "ls-tree", "-z", "--name-only", f"{ref}:{_plain(folder)}", check=False
        )
        return [n.decode("utf-8", "replace") for n in listed.split(b"\0") if n]

    def commits(self, ref: str, path: str) -> Listed:
        """Every commit reachable from ``ref`` that changed ``path``, newest first."""
        out = self.run_bytes(
            "--literal-pathspecs",
            "log",
            "-z",
            "--encoding=UTF-8",
            f"--max-count={MAX_COMMITS + 1}",
            "--format=" + "%x00".join(_FIELDS),
            ref,
            "--",
            _plain(path),
        )
        values = out.decode("utf-8", "replace").split("\0")
        if values and values[-1] == "":
            values.pop()  # the terminator of the last record
        width = len(_FIELDS)
        if len(values) % width:
            raise GitError(f"git log of {path} is not in the shape asked for")
        versions = [_version(values[at : at + width]) for at in range(0, len(values), width)]
        return Listed(tuple(versions[:MAX_COMMITS]), cut=len(versions) > MAX_COMMITS)

    def with_data(
        self, versions: Sequence[FileVersion], path: str, *, limit: int
    ) -> Iterator[FileVersion]:
        """``versions`` with the file's bytes at each, read a page at a time (up to ``limit``)."""
        for start in range(0, len(versions), PAGE):
            page = versions[start : start + PAGE]
            yield from self._page(page, _plain(path), limit)

    def _page(self, page: Sequence[FileVersion], path: str, limit: int) -> list[FileVersion]:
        names = "".join(f"{v.commit}:{path}\n" for v in page).encode()
        checked = self.run_bytes("cat-file", "--batch-check", stdin=names).decode(
            "utf-8", "replace"
        )
        lines = checked.splitlines()
        if len(lines) != len(page):
            raise GitError(f"git cat-file listed {len(lines)} versions of {path}, not {len(page)}")
        wanted: dict[int, str] = {}
        done: list[FileVersion] = []
        for index, (version, line) in enumerate(zip(page, lines, strict=True)):
            parts = line.split()
            if line.endswith(" missing") or len(parts) != 3:
                done.append(replace(version, removed=True))
            elif parts[1] != "blob":
                done.append(replace(version, refused=f"is a {parts[1]}, not a file"))
            elif int(parts[2]) > limit:
                size = int(parts[2])
                done.append(replace(version, refused=f"is {size:,} bytes, over {limit:,}"))
            else:
                wanted[index] = parts[0]
                done.append(version)
        blobs = self.read_blobs(list(dict.fromkeys(wanted.values())))
        for index, oid in wanted.items():
            done[index] = replace(done[index], data=blobs[oid])
        return done


def _version(values: Sequence[str]) -> FileVersion:
    commit, seconds, author, subject, *trailers = values
    if not _OBJECT_ID.fullmatch(commit) or not seconds.isdigit() or len(seconds) > 12:
        raise GitError(f"git log answered {commit[:80]!r} where a commit id was expected")
    found = {}
    for key, value in zip(TRAILER_KEYS, trailers, strict=True):
        first = value.split("\x1f")[0].strip()
        if first:
            found[key] = first[:FIELD_LIMIT]
    return FileVersion(
        commit=commit,
        # A crafted commit may claim any date: shown, capped at the last second of year 9999.
        committed_at=datetime.fromtimestamp(min(int(seconds), _LAST_SECOND), UTC),
        author=author[:FIELD_LIMIT],
        subject=subject[:FIELD_LIMIT],
        trailers=found,
    )


_LAST_SECOND = 253_402_300_799  # 9999-12-31T23:59:59Z


def _plain(path: str) -> str:
    """``path`` for git's line-based input: never a line break or a NUL in it."""
    if any(c in path for c in "\n\r\0"):
        raise GitError(f"{path!r}: a path with a line break cannot be read from git")
    return path
