"""The ``commit`` use case: record one environment's state and artifacts in git, and push.

The commit names the apply it records (subject and trailers from ``apply.json``); on a
rejected push it fetches, rebuilds the commit on top and retries with jittered backoff, never
forcing, and stops changing nothing if another push recorded the same executions meanwhile.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from reconciler.config.settings import Settings
from reconciler.errors import GitError, UserError
from reconciler.files import FileRefused, read_bounded
from reconciler.git.publish import Git, Published, PushPolicy, commit_message
from reconciler.github.context import GitHubContext
from reconciler.plan.document import PLAN_SIZE_LIMIT
from reconciler.report.apply_record import ApplyRecord, parse_apply_record
from reconciler.retry import Backoff
from reconciler.store.state import supersedes

#: apply.json holds counts, digests and the review's differences (a name each): the cap of a
#: reviewed plan is ample.
APPLY_RECORD_LIMIT = PLAN_SIZE_LIMIT


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


def _apply_record(settings: Settings, shard: tuple[int, int] | None) -> ApplyRecord:
    folder = settings.artifacts_dir / settings.environment
    if shard:
        folder = folder / "shards" / f"{shard[0]}-of-{shard[1]}"
    path = folder / "apply.json"
    try:
        text = read_bounded(path, limit=APPLY_RECORD_LIMIT).decode("utf-8")
    except FileNotFoundError:
        return ApplyRecord()
    except FileRefused as exc:
        raise UserError(f"{path}: not an apply record: the file {exc.reason}") from None
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: not a readable apply record ({exc})") from None
    return parse_apply_record(text, str(path))


def _subject(environment: str, record: ApplyRecord) -> str:
    if record.outcomes is None:
        return f"reconciler: record state of {environment}"
    counts = ", ".join(f"{n} {o}" for o, n in record.outcomes.items() if n)
    shard = f" shard {record.shard}" if record.shard else ""
    return f"reconciler: apply {environment}{shard}: {counts or 'nothing ran'}"


def _trailers(environment: str, record: ApplyRecord, url: str | None) -> dict[str, str]:
    trailers = {"Reconciler-Environment": environment}
    if record.plan_digest is not None:
        trailers["Reconciler-Plan-Digest"] = record.plan_digest
    if record.reviewed is not None:
        trailers["Reconciler-Reviewed"] = record.reviewed
    if record.outcomes is not None:
        trailers["Reconciler-Counts"] = " ".join(f"{o}={n}" for o, n in record.outcomes.items())
    if record.shard:
        trailers["Reconciler-Shard"] = record.shard
    if url:
        trailers["Reconciler-Run-URL"] = url
    return trailers
