"""Git as the audit trail: publish state and artifacts, never overwriting anyone.

An edge (runs ``git``). ``reconciler commit`` uses it after an apply and, with durable intents,
the apply itself before each submit wave. A *publication* sets a few paths to their contents
in the working tree, in one commit on top of the branch, and pushes it:

- Only those paths change, whatever else the checkout holds: the commit is built with git's
  plumbing on a private index, so an apply writing state files meanwhile is never disturbed.
- A rejected push fetches the branch, rebuilds the same change on top of it, and retries with
  jittered backoff, a bounded number of times. It never force-pushes.
- Before rebuilding, each *state* file both sides changed is checked with ``supersedes``: our
  version may replace theirs only if theirs is an earlier step of the same run (our own intent,
  pushed before the submit). Anything else means another apply recorded that execution
  meanwhile; publishing stops and names it instead of overwriting. Artifacts that both sides
  wrote (the summary of "the last apply") keep our version.
"""

from __future__ import annotations

import hashlib
import os
import random
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.errors import GitError, StateConflict
from reconciler.files import is_partial_write
from reconciler.retry import Backoff

BOT_NAME = "github-actions[bot]"
BOT_EMAIL = "41898282+github-actions[bot]@users.noreply.github.com"

__all__ = [
    "Git",
    "GitError",
    "Published",
    "PushPolicy",
    "StateConflict",
    "Supersedes",
    "commit_message",
]

# (path, upstream bytes, our bytes) -> may ours replace theirs?
Supersedes = Callable[[str, bytes, bytes], bool]


@dataclass(frozen=True)
class PushPolicy:
    """Where to push and how persistently."""

    remote: str = "origin"
    branch: str | None = None  # None: the checked-out branch
    attempts: int = 5
    backoff: Backoff = field(default_factory=lambda: Backoff(base=1.0, cap=30.0))
    seed: int | None = None


@dataclass(frozen=True)
class Published:
    """A commit that reached the remote (or only the local branch, without a push)."""

    commit: str
    attempts: int
    files: tuple[str, ...]


@dataclass
class Git:
    """One checkout, driven through the ``git`` command line."""

    root: Path
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    sleep: Callable[[float], None] = time.sleep
    _format: str | None = field(default=None, init=False, repr=False)

    def run(
        self,
        *args: str,
        check: bool = True,
        stdin: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run one git command in the checkout; raise ``GitError`` on failure when ``check``."""
        merged = {**self.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", **(env or {})}
        try:
            result = subprocess.run(  # noqa: S603 - fixed program, arguments are ours
                ["git", *args],  # noqa: S607 - git from PATH, as a user runs it
                cwd=self.root,
                env=merged,
                input=stdin,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
        except FileNotFoundError:
            raise GitError("git is not installed or not on PATH") from None
        except subprocess.TimeoutExpired:
            raise GitError(f"git {args[0]} did not finish in 300s") from None
        if check and result.returncode != 0:
            raise GitError(f"git {' '.join(args[:2])} failed: {_last_line(result.stderr)}")
        return result

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

    def publish(
        self,
        paths: Sequence[Path],
        message: str,
        *,
        policy: PushPolicy | None,
        guarded: Sequence[Path] = (),
        supersedes: Supersedes | None = None,
        base: str | None = None,
        update_checkout: bool = True,
    ) -> Published | None:
        """Commit ``paths`` as they are in the working tree on top of ``base`` and push it.

        ``policy=None`` commits without pushing. ``guarded`` folders hold state: a file there
        that changed upstream too is a conflict unless ``supersedes`` says ours replaces theirs.
        ``update_checkout`` moves the local branch (and index) to the published commit. Returns
        None when the paths already match ``base``.
        """
        top = self.toplevel()
        if top.resolve() != self.root.resolve():  # git paths below are relative to the top
            at_top = Git(top, self.environ, self.sleep)
            return at_top.publish(
                paths,
                message,
                policy=policy,
                guarded=guarded,
                supersedes=supersedes,
                base=base,
                update_checkout=update_checkout,
            )
        branch = (policy.branch if policy else None) or self.branch()
        base = base or self.head()
        ours = self._contents(top, paths, base)
        changes = self._changes(ours, base)
        if not changes:
            return None
        commit = self._commit_on(base, changes, message)
        attempts = 0
        if policy is not None:
            commit, attempts = self._push(
                commit, base, changes, message, branch, policy, top, guarded, supersedes
            )
        if update_checkout:
            self._move_checkout(branch, commit)
        return Published(commit=commit, attempts=attempts, files=tuple(sorted(changes)))

    # -- building commits without touching the working tree ---------------------------------

    def _contents(self, top: Path, paths: Sequence[Path], base: str) -> dict[str, bytes | None]:
        """Every file under ``paths``: its bytes now, or None if it is gone (but was in base)."""
        found: dict[str, bytes | None] = {}
        prefixes = []
        for path in paths:
            rel = _posix(os.path.relpath(path, top))
            if path.is_file():
                found[rel] = path.read_bytes()
                continue
            prefixes.append(rel.rstrip("/") + "/")
            if path.is_dir():
                for file in sorted(path.rglob("*")):
                    if file.is_file() and not is_partial_write(file.name):  # a kill -9's leftover
                        found[_posix(os.path.relpath(file, top))] = file.read_bytes()
            else:
                prefixes.append(rel)
        if prefixes:  # deletions: files in base under a path that is now gone
            listed = self.run("ls-tree", "-r", "--name-only", "--full-tree", base).stdout
            for name in listed.splitlines():
                if name in prefixes or name.startswith(tuple(prefixes)):
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
        out = self.run("ls-tree", "-r", "--full-tree", commit).stdout
        wanted = set(names)
        blobs = {}
        for line in out.splitlines():
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
        lines = [
            f"0 {zero}\t{n}" if changes[n] is None else f"100644 {next(blobs)}\t{n}" for n in names
        ]
        with tempfile.TemporaryDirectory(prefix="reconciler-index-") as folder:
            env = {"GIT_INDEX_FILE": str(Path(folder) / "index")}
            self.run("read-tree", parent, env=env)
            self.run("update-index", "--index-info", stdin="\n".join(lines) + "\n", env=env)
            tree = self.run("write-tree", env=env).stdout.strip()
        identity = {}
        if not self.run("config", "user.email", check=False).stdout.strip():
            identity = {
                "GIT_AUTHOR_NAME": BOT_NAME,
                "GIT_AUTHOR_EMAIL": BOT_EMAIL,
                "GIT_COMMITTER_NAME": BOT_NAME,
                "GIT_COMMITTER_EMAIL": BOT_EMAIL,
            }
        return self.run(
            "commit-tree", tree, "-p", parent, "-F", "-", stdin=message, env=identity
        ).stdout.strip()

    # -- pushing ----------------------------------------------------------------------------

    def _push(
        self,
        commit: str,
        base: str,
        changes: dict[str, bytes | None],
        message: str,
        branch: str,
        policy: PushPolicy,
        top: Path,
        guarded: Sequence[Path],
        supersedes: Supersedes | None,
    ) -> tuple[str, int]:
        prefixes = [_posix(os.path.relpath(g, top)).rstrip("/") + "/" for g in guarded]
        rng = random.Random(policy.seed)  # noqa: S311 - retry jitter only
        last = ""
        for attempt in range(policy.attempts):
            upstream = self._fetch(policy.remote, branch)
            if upstream is not None and not self._is_ancestor(upstream, commit):
                self._check_conflicts(base, upstream, changes, prefixes, supersedes)
                base = upstream
                rebuilt = self._changes(changes, upstream)
                if not rebuilt:
                    return upstream, attempt + 1  # upstream already holds exactly our change
                commit = self._commit_on(upstream, rebuilt, message)
            pushed = self.run("push", policy.remote, f"{commit}:refs/heads/{branch}", check=False)
            if pushed.returncode == 0:  # keep the remote-tracking branch truthful
                self.run(
                    "update-ref", f"refs/remotes/{policy.remote}/{branch}", commit, check=False
                )
                return commit, attempt + 1
            last = pushed.stderr
            if attempt + 1 < policy.attempts:
                self.sleep(policy.backoff.delay(attempt, rng))
        raise GitError(
            f"push to {policy.remote}/{branch} still rejected after {policy.attempts} attempts "
            f"({_push_reason(last)})",
            hint="nothing is lost: the files are here; run reconciler commit again later",
        )

    def _fetch(self, remote: str, branch: str) -> str | None:
        fetched = self.run("fetch", "--quiet", remote, f"refs/heads/{branch}", check=False)
        if fetched.returncode != 0:
            return None
        return self.run("rev-parse", "FETCH_HEAD").stdout.strip()

    def _is_ancestor(self, older: str, newer: str) -> bool:
        return self.run("merge-base", "--is-ancestor", older, newer, check=False).returncode == 0

    def _check_conflicts(
        self,
        base: str,
        upstream: str,
        changes: Mapping[str, bytes | None],
        prefixes: Sequence[str],
        supersedes: Supersedes | None,
    ) -> None:
        fork = self.run("merge-base", base, upstream, check=False).stdout.strip() or base
        out = self.run("diff", "--name-only", "--no-renames", fork, upstream).stdout
        theirs = {line for line in out.splitlines() if line}
        clash = []
        for name in sorted(theirs & changes.keys()):
            if not any(name.startswith(p) for p in prefixes):
                continue  # an artifact: ours is the newer account of the last apply
            shown = self.run("show", f"{upstream}:{name}", check=False)
            ours = changes[name]
            if (
                shown.returncode == 0
                and ours is not None
                and supersedes is not None
                and supersedes(name, shown.stdout.encode(), ours)
            ):
                continue
            clash.append(name)
        if clash:
            raise StateConflict(clash)

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


def _posix(path: str) -> str:
    return path.replace(os.sep, "/")


def _push_reason(stderr: str) -> str:
    """The line of a failed push's output that says why: the remote's words, or git's."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    said = [line for line in lines if line.startswith("remote:") and line != "remote:"]
    rejected = [line.lstrip("! ") for line in lines if line.startswith("!")]
    return (said or rejected or lines or ["no message"])[-1]


def _last_line(text: str) -> str:
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
