"""The ``commit`` use case: record one environment's state and artifacts in git, and push.

The commit names the apply it records (subject and trailers from ``apply.json``); on a
rejected push it fetches, rebuilds the commit on top and retries with jittered backoff, never
forcing, and stops changing nothing if another push recorded the same executions meanwhile.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.config.settings import Settings
from reconciler.errors import GitError, UserError
from reconciler.git.publish import Git, Published, PushPolicy, commit_message
from reconciler.github.context import GitHubContext
from reconciler.retry import Backoff
from reconciler.store.state import supersedes


@dataclass(frozen=True)
class CommitRequest:
    """The options of one ``reconciler commit``."""

    subject: str | None = None
    remote: str | None = None
    branch: str | None = None
    attempts: int | None = None
    push: bool = True
    retry_delay: float = 1.0
    shard: tuple[int, int] | None = None


@dataclass(frozen=True)
class Committed:
    """What was recorded: None when git already had it, and where it went."""

    published: Published | None
    policy: PushPolicy | None


def commit(settings: Settings, request: CommitRequest, environ: Mapping[str, str]) -> Committed:
    """Commit (and push) the state and artifacts of ``settings.environment``."""
    environment = settings.environment
    record = _apply_record(settings, request.shard)
    message = commit_message(
        request.subject or _subject(environment, record),
        "",
        _trailers(environment, record, GitHubContext.from_environ(environ).run_url),
    )
    paths = [
        settings.state_dir / environment,
        settings.artifacts_dir / environment,
        settings.state_dir / ".gitignore",  # keeps the apply lock out of history
    ]
    policy = None
    if request.push:
        delay = request.retry_delay
        policy = PushPolicy(
            remote=request.remote or settings.git.remote,
            branch=request.branch,
            attempts=request.attempts or settings.git.push_attempts,
            backoff=Backoff(base=delay, cap=max(delay, 30.0 * delay)),
        )
    try:
        published = Git(settings.root).publish(
            paths,
            message,
            policy=policy,
            guarded=[settings.state_dir],
            supersedes=lambda _name, theirs, ours: supersedes(theirs, ours),
        )
    except GitError as exc:
        raise UserError(exc.message, hint=exc.hint) from None
    return Committed(published=published, policy=policy)


def _apply_record(settings: Settings, shard: tuple[int, int] | None) -> dict[str, Any]:
    folder = settings.artifacts_dir / settings.environment
    if shard:
        folder = folder / "shards" / f"{shard[0]}-of-{shard[1]}"
    path = folder / "apply.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: not a readable apply record ({exc})") from None
    return data if isinstance(data, dict) else {}


def _subject(environment: str, record: dict[str, Any]) -> str:
    outcomes = record.get("outcomes")
    if not isinstance(outcomes, dict):
        return f"reconciler: record state of {environment}"
    counts = ", ".join(f"{n} {o}" for o, n in outcomes.items() if isinstance(n, int) and n)
    shard = f" shard {record['shard']}" if record.get("shard") else ""
    return f"reconciler: apply {environment}{shard}: {counts or 'nothing ran'}"


def _trailers(environment: str, record: dict[str, Any], url: str | None) -> dict[str, str]:
    trailers = {"Reconciler-Environment": environment}
    if isinstance(record.get("planDigest"), str):
        trailers["Reconciler-Plan-Digest"] = record["planDigest"]
    reviewed = record.get("reviewed")
    if isinstance(reviewed, dict) and isinstance(reviewed.get("status"), str):
        trailers["Reconciler-Reviewed"] = reviewed["status"]
    outcomes = record.get("outcomes")
    if isinstance(outcomes, dict):
        trailers["Reconciler-Counts"] = " ".join(f"{o}={n}" for o, n in outcomes.items())
    if record.get("shard"):
        trailers["Reconciler-Shard"] = str(record["shard"])
    if url:
        trailers["Reconciler-Run-URL"] = url
    return trailers
