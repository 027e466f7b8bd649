"""The ``history`` use case: every run of one execution, read back from git.

State files are committed after each apply (``reconciler commit``) and, with durable intents,
before each submit; so the git log of ``state/<env>/<name>.json`` is the execution's audit
trail. This reads that log on the branch where state lives (``git.stateBranch``, fetched from
``git.remote``; else the checked-out HEAD), decodes each version, and folds the versions into
one row per run (an attempt: its ``attempt_id``):

- started, ended, status, attempts and digest come from the newest version of the attempt;
- specs commit, plan digest, review, pull requests, actor and run URL are the trailers of the
  apply that started it: the oldest commit of the attempt that carries each one (a run a later
  apply only polled to its end keeps the plan it was submitted under); the actor falls back to
  the commit's author;
- an attempt that was never committed as the current one (two applies between commits) still
  shows, from the ``history`` of a later version;
- a version that cannot be read (too large, not JSON, a newer schema, another execution's)
  is a row of its own saying so, and a commit that removed the file is one too: history is
  shown, never refused, because a bad old version is exactly what an audit must see.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from difflib import get_close_matches
from pathlib import Path

from reconciler.config.settings import Settings
from reconciler.errors import GitError, StateError, UserError
from reconciler.git.history import FileHistory, FileVersion
from reconciler.git.publish import Git
from reconciler.git.statebranch import StateBranch
from reconciler.model import Attempt, Phase, RunRequest, StateEntry
from reconciler.model.values import EXECUTION_NAME_PATTERN
from reconciler.store.state import STATE_FILE_LIMIT, decode_entry

__all__ = ["History", "Run", "history"]

_NAME = re.compile(EXECUTION_NAME_PATTERN.removesuffix("$") + r"\Z")
_NUMBER = re.compile(r"[0-9]{1,9}")


@dataclass(frozen=True)
class Run:
    """One run of the execution, as git recorded it (None: not recorded)."""

    attempt_id: str | None  # None for a version that could not be read, or a removal
    status: str  # the final status, else the phase; "unreadable" or "removed"
    phase: str | None
    started: datetime | None
    ended: datetime | None
    attempts: int | None
    digest: str | None
    request_id: str | None
    execution_id: str | None
    message: str | None
    specs_commit: str | None
    plan_digest: str | None
    reviewed: str | None
    pull_requests: tuple[int, ...]
    actor: str | None
    run_url: str | None
    commit: str  # the newest commit that recorded this run
    committed_at: datetime
    commits: tuple[str, ...]  # every commit that recorded it, newest first
    source: str  # "state": a committed version; "history": an earlier attempt; "unreadable"
    problem: str | None = None  # why a version is unreadable


@dataclass(frozen=True)
class History:
    """Every run of one execution recorded in git, newest first (at most ``limit``)."""

    name: str
    environment: str
    ref: str  # "HEAD", or the state branch as "<remote>/<branch>"
    path: str  # the state file, relative to the repository's top
    runs: tuple[Run, ...]
    total: int  # runs found; more than len(runs) when --limit cut the list
    cut: bool  # the file changed in more commits than are read (git.history.MAX_COMMITS)
    requests: tuple[RunRequest, ...]  # every request read, for the secrets they name


def history(settings: Settings, name: str, *, limit: int) -> History:
    """The runs of ``name`` in ``settings.environment``, newest first."""
    if not _NAME.fullmatch(name):
        raise UserError(
            f"{name!r} is not an execution name; expected lowercase letters, digits and '-', "
            "starting with a letter (at most 63)"
        )
    git = FileHistory(settings.root)
    try:
        top = git.toplevel()
        folder = _relative(settings.state_dir / settings.environment, top)
        path = f"{folder}/{name}.json"
        ref, shown = _ref(git, settings)
        listed = git.commits(ref, path)
        if not listed.versions:
            known = [n.removesuffix(".json") for n in git.names_in(ref, folder)]
            close = get_close_matches(name, [n for n in known if _NAME.fullmatch(n)], n=3)
            raise UserError(
                f"no such execution in state history: {name!r} ({path} on {shown})",
                hint=f"did you mean {', '.join(close)}?" if close else "",
            )
        versions = list(git.with_data(listed.versions, path, limit=STATE_FILE_LIMIT))
    except GitError as exc:
        raise UserError(exc.message, hint=exc.hint) from None
    runs, requests = _fold(name, path, versions)
    return History(
        name=name,
        environment=settings.environment,
        ref=shown,
        path=path,
        runs=tuple(runs[:limit]),
        total=len(runs),
        cut=listed.cut,
        requests=tuple(requests),
    )


def _relative(folder: Path, top: Path) -> str:
    try:
        return folder.resolve().relative_to(top.resolve()).as_posix()
    except ValueError:
        raise UserError(
            f"{folder}: the state folder is outside the git checkout at {top}",
            hint="history is read from git; keep state inside the repository",
        ) from None


def _ref(git: FileHistory, settings: Settings) -> tuple[str, str]:
    """The commit to walk, and how to name it: the state branch when there is one, else HEAD."""
    branch = settings.git.state_branch
    if not branch:
        return git.head(), "HEAD"
    remote = settings.git.remote
    git.check_remote(remote)
    commit = StateBranch(Git(git.root, dict(git.environ)), remote, branch).fetch()
    if commit is None:
        raise UserError(
            f"no state branch yet: {remote!r} has no branch {branch!r} (git.stateBranch)",
            hint="reconciler commit creates it after the first apply",
        )
    return commit, f"{remote}/{branch}"


def _fold(name: str, path: str, versions: list[FileVersion]) -> tuple[list[Run], list[RunRequest]]:
    """One row per run, in commit order (newest first): clocks of runners may disagree."""
    decoded = [(version, *_decode(name, path, version)) for version in versions]
    runs: dict[str, list[tuple[FileVersion, StateEntry]]] = {}
    for version, entry, _ in decoded:
        if entry is not None:
            runs.setdefault(entry.attempt_id, []).append((version, entry))
    rows: list[Run] = []
    placed: set[str] = set()
    for version, entry, problem in decoded:
        if entry is None:
            rows.append(_odd(version, problem))
            continue
        if entry.attempt_id not in placed:
            placed.add(entry.attempt_id)
            rows.append(_row(runs[entry.attempt_id]))
        for attempt in entry.history:  # newest first; never a committed version of its own
            if attempt.attempt_id not in runs and attempt.attempt_id not in placed:
                placed.add(attempt.attempt_id)
                rows.append(_from_history(version, attempt))
    requests = [entry.request for _, entry, _ in decoded if entry is not None]
    return rows, requests


def _decode(name: str, path: str, version: FileVersion) -> tuple[StateEntry | None, str | None]:
    if version.removed:
        return None, None
    if version.data is None:
        return None, f"{path} at {version.commit[:12]} {version.refused}"
    try:
        entry = decode_entry(version.data, f"{path} at {version.commit[:12]}")
    except StateError as exc:
        return None, str(exc)
    if entry.name != name:
        return None, f"{path} at {version.commit[:12]} holds the state of {entry.name!r}"
    return entry, None


def _row(entries: list[tuple[FileVersion, StateEntry]]) -> Run:
    newest_version, newest = entries[0]
    trailers = _started_by(entries)
    final = newest.phase is Phase.FINAL
    return Run(
        attempt_id=newest.attempt_id,
        status=(newest.status or "final") if final else newest.phase.value,
        phase=newest.phase.value,
        started=newest.intent_at,
        ended=newest.finished_at,
        attempts=newest.attempts,
        digest=newest.digest,
        request_id=newest.request_id,
        execution_id=newest.execution_id,
        message=newest.message,
        specs_commit=trailers.get("Reconciler-Specs-Commit"),
        plan_digest=trailers.get("Reconciler-Plan-Digest"),
        reviewed=trailers.get("Reconciler-Reviewed"),
        pull_requests=_numbers(trailers.get("Reconciler-Pull-Requests", "")),
        actor=trailers.get("Reconciler-Actor") or trailers.get("author"),
        run_url=trailers.get("Reconciler-Run-URL"),
        commit=newest_version.commit,
        committed_at=newest_version.committed_at,
        commits=tuple(version.commit for version, _ in entries),
        source="state",
    )


def _started_by(entries: list[tuple[FileVersion, StateEntry]]) -> Mapping[str, str]:
    """Each trailer as the oldest commit of the run that carries it says; the first author."""
    found: dict[str, str] = {}
    for version, _ in reversed(entries):
        for key, value in version.trailers.items():
            found.setdefault(key, value)
        if version.author:
            found.setdefault("author", version.author)
    return found


def _from_history(version: FileVersion, attempt: Attempt) -> Run:
    return Run(
        attempt_id=attempt.attempt_id,
        status=attempt.status or "-",
        phase=None,
        started=attempt.intent_at,
        ended=attempt.finished_at,
        attempts=None,
        digest=attempt.digest,
        request_id=attempt.request_id,
        execution_id=attempt.execution_id,
        message=attempt.message,
        specs_commit=None,
        plan_digest=None,
        reviewed=None,
        pull_requests=(),
        actor=None,
        run_url=None,
        commit=version.commit,
        committed_at=version.committed_at,
        commits=(version.commit,),
        source="history",
    )


def _odd(version: FileVersion, problem: str | None) -> Run:
    """A row for a commit whose version is not a run: removed, or unreadable (``problem``)."""
    return Run(
        attempt_id=None,
        status="removed" if problem is None else "unreadable",
        phase=None,
        started=None,
        ended=None,
        attempts=None,
        digest=None,
        request_id=None,
        execution_id=None,
        message=None,
        specs_commit=version.trailers.get("Reconciler-Specs-Commit"),
        plan_digest=version.trailers.get("Reconciler-Plan-Digest"),
        reviewed=version.trailers.get("Reconciler-Reviewed"),
        pull_requests=_numbers(version.trailers.get("Reconciler-Pull-Requests", "")),
        actor=version.trailers.get("Reconciler-Actor") or version.author or None,
        run_url=version.trailers.get("Reconciler-Run-URL"),
        commit=version.commit,
        committed_at=version.committed_at,
        commits=(version.commit,),
        source="removed" if problem is None else "unreadable",
        problem=problem,
    )


def _numbers(text: str) -> tuple[int, ...]:
    """Pull-request numbers from ``12 15`` (or ``#12, #15``); anything else is dropped."""
    tokens = text.replace(",", " ").split()
    return tuple(int(t.lstrip("#")) for t in tokens if _NUMBER.fullmatch(t.lstrip("#")))
