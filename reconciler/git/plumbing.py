"""One git checkout, and commits built without touching its working tree.

An edge (runs ``git``). ``Checkout`` runs git commands in a checkout, and builds commits with
git's plumbing on a private index: the bytes of some paths as they are now (regular files
only, read by ``worktree``, which refuses links and anything else), the subset that
differs from a commit, blobs written in one process, a commit on any parent. It moves the
branch and brings only the changed paths of index and working tree up to date, keeping work
staged or edited there. Pushing, integrating upstream changes and retrying are ``publish``'s.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.errors import GitError
from reconciler.git.worktree import WorkingFiles, deleted_under, posix_path

__all__ = ["BOT_EMAIL", "BOT_NAME", "Checkout", "commit_message", "posix_path"]

BOT_NAME = "github-actions[bot]"
BOT_EMAIL = "41898282+github-actions[bot]@users.noreply.github.com"


@dataclass
class Checkout:
    """One checkout, driven through the ``git`` command line."""

    root: Path
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    _format: str | None = field(default=None, init=False, repr=False)

    def run(
        self,
        *args: str,
        check: bool = True,
        stdin: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run one git command in the checkout; raise ``GitError`` on failure when ``check``.

        Text in and out (UTF-8; a byte that is not is replaced, never an exception).
        """
        done = self._exec(args, None if stdin is None else stdin.encode(), env)
        result = subprocess.CompletedProcess(
            done.args,
            done.returncode,
            done.stdout.decode("utf-8", "replace"),
            done.stderr.decode("utf-8", "replace"),
        )
        if check and result.returncode != 0:
            raise GitError(f"git {' '.join(args[:2])} failed: {last_line(result.stderr)}")
        return result

    def run_bytes(self, *args: str, stdin: bytes | None = None, check: bool = True) -> bytes:
        """Run git with bytes in and out: hostile text need not be UTF-8."""
        result = self._exec(args, stdin, None)
        if check and result.returncode != 0:
            said = result.stderr.decode("utf-8", "replace").strip().splitlines()
            command = next(a for a in args if not a.startswith("-"))
            raise GitError(f"git {command} failed: {said[-1] if said else 'no message'}")
        return result.stdout

    def _exec(
        self, args: Sequence[str], stdin: bytes | None, env: Mapping[str, str] | None
    ) -> subprocess.CompletedProcess[bytes]:
        merged = {**self.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", **(env or {})}
        try:
            return subprocess.run(  # noqa: S603 - fixed program, arguments are ours
                ["git", *args],  # noqa: S607 - git from PATH, as a user runs it
                cwd=self.root,
                env=merged,
                input=stdin,
                capture_output=True,
                timeout=300,
                check=False,
            )
        except FileNotFoundError:
            raise GitError("git is not installed or not on PATH") from None
        except subprocess.TimeoutExpired:
            raise GitError(f"git {args[0]} did not finish in 300s") from None

    def read_blobs(self, oids: Sequence[str]) -> dict[str, bytes]:
        """The bytes of each blob, read in one ``git cat-file --batch``."""
        if not oids:
            return {}
        out = self.run_bytes("cat-file", "--batch", stdin="".join(f"{o}\n" for o in oids).encode())
        blobs: dict[str, bytes] = {}
        at = 0
        for oid in oids:
            end = out.index(b"\n", at)
            header = out[at:end].split()
            if len(header) != 3 or header[0].decode() != oid:
                raise GitError(f"git cat-file answered {out[at:end][:80]!r} for {oid}")
            size = int(header[2])
            blobs[oid] = out[end + 1 : end + 1 + size]
            at = end + 1 + size + 1  # the content, then a line feed
        return blobs

    def toplevel(self) -> Path:
        """The repository's top folder (an error outside a git checkout)."""
        result = self.run("rev-parse", "--show-toplevel", check=False)
        if result.returncode != 0:
            raise GitError(f"{self.root} is not inside a git checkout")
        return Path(result.stdout.strip())

    def branch(self) -> str:
        """The checked-out branch; an error on a detached HEAD."""
        result = self.run("symbolic-ref", "--quiet", "--short", "HEAD", check=False)
        if result.returncode != 0:
            raise GitError(
                "HEAD is detached: no branch to push to",
                hint="check out the branch (actions/checkout does on push events) or pass --branch",
            )
        return result.stdout.strip()

    def head(self) -> str:
        """The commit checked out."""
        result = self.run("rev-parse", "--verify", "--quiet", "HEAD", check=False)
        if result.returncode != 0:
            raise GitError(f"the repository at {self.root} has no commit yet")
        return result.stdout.strip()

    def check_remote(self, remote: str) -> None:
        """An error naming the fix when ``remote`` is not configured."""
        if self.run("remote", "get-url", remote, check=False).returncode != 0:
            raise GitError(
                f"this checkout has no git remote named {remote!r}",
                hint="set git.remote in reconciler.yaml, or add the remote",
            )

    # -- building commits without touching the working tree ---------------------------------

    def _contents(self, top: Path, paths: Sequence[Path], base: str) -> dict[str, bytes | None]:
        """Every file under ``paths``: its bytes now, or None if it is gone (but was in base).

        Only regular files in real folders: a link, a device or a path outside the repository
        is refused (``worktree``), and then nothing is committed.
        """
        files = WorkingFiles(top)
        files.collect(paths)
        files.check()
        found = dict(files.found)
        if files.gone:  # deletions: files in base under a path that is now gone
            listed = self.run("ls-tree", "-r", "-z", "--name-only", "--full-tree", base).stdout
            for name in deleted_under(files.gone, listed.split("\0")):
                if name:
                    found.setdefault(name, None)
        return found

    def _changes(self, ours: Mapping[str, bytes | None], commit: str) -> dict[str, bytes | None]:
        """The subset of ``ours`` that differs from ``commit``."""
        theirs = self._blobs(commit, list(ours))
        changed: dict[str, bytes | None] = {}
        for name, data in ours.items():
            if data is None:
                if name in theirs:
                    changed[name] = None
            elif theirs.get(name) != self._hash(data):
                changed[name] = data
        return changed

    def _blobs(self, commit: str, names: Sequence[str]) -> dict[str, str]:
        if not names:
            return {}
        out = self.run("ls-tree", "-r", "-z", "--full-tree", commit).stdout
        wanted = set(names)
        blobs = {}
        for line in out.split("\0"):
            meta, _, name = line.partition("\t")
            if name in wanted:
                blobs[name] = meta.split()[2]
        return blobs

    def _hash(self, data: bytes) -> str:
        """The blob id git gives ``data`` (computed here: no process per file)."""
        if self._object_format() == "sha256":
            return hashlib.sha256(b"blob %d\0" % len(data) + data).hexdigest()
        return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()

    def _object_format(self) -> str:
        if self._format is None:
            shown = self.run("rev-parse", "--show-object-format", check=False)
            self._format = shown.stdout.strip() if shown.returncode == 0 else "sha1"
        return self._format

    def _write_blobs(self, contents: Sequence[bytes]) -> list[str]:
        """Store blobs in the object database, in one git process."""
        if not contents:
            return []
        with tempfile.TemporaryDirectory(prefix="reconciler-blobs-") as folder:
            files = []
            for index, data in enumerate(contents):
                path = Path(folder) / str(index)
                path.write_bytes(data)
                files.append(str(path))
            out = self.run(
                "hash-object", "-w", "--no-filters", "--stdin-paths", stdin="\n".join(files) + "\n"
            )
        return out.stdout.split()

    def _commit_on(self, parent: str, changes: Mapping[str, bytes | None], message: str) -> str:
        names = sorted(changes)
        written = [changes[n] for n in names if changes[n] is not None]
        blobs = iter(self._write_blobs([d for d in written if d is not None]))
        zero = "0" * len(self._hash(b""))
        lines = [  # NUL-terminated: no name can spell a second entry
            f"0 {zero}\t{n}" if changes[n] is None else f"100644 {next(blobs)}\t{n}" for n in names
        ]
        with tempfile.TemporaryDirectory(prefix="reconciler-index-") as folder:
            env = {"GIT_INDEX_FILE": str(Path(folder) / "index")}
            self.run("read-tree", parent, env=env)
            self.run("update-index", "-z", "--index-info", stdin="\0".join(lines) + "\0", env=env)
            tree = self.run("write-tree", env=env).stdout.strip()
        return self.run(
            "commit-tree", tree, "-p", parent, "-F", "-", stdin=message, env=self.identity()
        ).stdout.strip()

    def identity(self) -> dict[str, str]:
        """Who commits: the configured user, else the Actions bot (a fresh runner has none)."""
        if self.run("config", "user.email", check=False).stdout.strip():
            return {}
        return {
            "GIT_AUTHOR_NAME": BOT_NAME,
            "GIT_AUTHOR_EMAIL": BOT_EMAIL,
            "GIT_COMMITTER_NAME": BOT_NAME,
            "GIT_COMMITTER_EMAIL": BOT_EMAIL,
        }

    def _move_checkout(self, branch: str, commit: str) -> None:
        """Point the branch at ``commit`` and bring index and files up to date, keeping ours."""
        old = self.head()
        self.run("update-ref", f"refs/heads/{branch}", commit, old)
        if self.run("symbolic-ref", "--quiet", "HEAD", check=False).returncode != 0:
            self.run("update-ref", "HEAD", commit)  # detached HEAD with --branch
        moved = [n for n in self._diff_names(old, commit) if n]
        if not moved:
            return
        # Index entries of the changed paths only: other staged work stays staged.
        listing = "\0".join(moved) + "\0"
        self.run(
            "reset",
            "--quiet",
            "--pathspec-from-file=-",
            "--pathspec-file-nul",
            commit,
            stdin=listing,
        )
        # Files the upstream changed are brought into the working tree, unless edited here
        # (ours differ from ``old`` too, and already hold the committed bytes).
        edited = set(self.run("diff", "--name-only", "--no-renames", old).stdout.splitlines())
        behind = [n for n in moved if n not in edited]
        present = set(self._blobs(commit, behind))
        if present & set(behind):
            wanted = "\0".join(n for n in behind if n in present) + "\0"
            self.run(
                "checkout", commit, "--pathspec-from-file=-", "--pathspec-file-nul", stdin=wanted
            )
        top = self.toplevel()
        for name in behind:
            if name not in present:
                (top / name).unlink(missing_ok=True)

    def _diff_names(self, start: str, end: str) -> list[str]:
        return self.run("diff", "--name-only", "--no-renames", start, end).stdout.splitlines()


def last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


def commit_message(subject: str, body: str, trailers: Mapping[str, str]) -> str:
    """A commit message with git trailers (``Key: value`` lines after a blank line)."""
    parts = [subject.strip()]
    if body.strip():
        parts.append(body.strip())
    if trailers:
        parts.append("\n".join(f"{key}: {value}" for key, value in trailers.items()))
    return "\n\n".join(parts) + "\n"
