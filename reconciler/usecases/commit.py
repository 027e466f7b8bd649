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
from reconciler.usecases.applies import Applied, AppliesLog
from reconciler.usecases.apply import checked_out
from reconciler.usecases.statebranch import pull_state, state_branch

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
    allow_dirty: bool = False


@dataclass(frozen=True)
class Committed:
    """What was recorded: None when git already had it, and where it went."""

    published: Published | None
    policy: PushPolicy | None
    branch: str | None = None  # the state branch, when state lives on one
    applies: int = 0  # applies the commit recorded


def commit(settings: Settings, request: CommitRequest, environ: Mapping[str, str]) -> Committed:
    """Commit (and push) the state and artifacts of ``settings.environment``.

    With ``git.stateBranch`` the commit goes on that branch (pulled first, so the folders
    hold every file it has: nothing there is deleted by a commit from a fresh checkout) and
    the checkout never moves; otherwise on the checked-out branch.
    """
    environment = settings.environment
    checked_out(settings, environ, allow_dirty=request.allow_dirty)
    record = _apply_record(settings, request.shard)
    log = AppliesLog(settings.state_dir, environment)
    applies = log.read()
    message = commit_message(
        request.subject or _subject(environment, record, len(applies)),
        _body(applies),
        _trailers(environment, record, applies, GitHubContext.from_environ(environ).run_url),
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
    branch = state_branch(settings, environ)
    try:
        if branch is not None:  # the folders must hold every file of the branch first
            pull_state(settings, environ, fetch=request.push, lock=True)
        publish = (
            branch.publish if branch is not None else Git(settings.root, dict(environ)).publish
        )
        published = publish(
            paths,
            message,
            policy=policy,
            guarded=[settings.state_dir],
            supersedes=lambda _name, theirs, ours: supersedes(theirs, ours),
        )
    except GitError as exc:
        raise UserError(exc.message, hint=exc.hint) from None
    if published is not None or not applies:
        log.clear()
    return Committed(
        published=published,
        policy=policy,
        branch=branch.branch if branch else None,
        applies=len(applies),
    )


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


def _subject(environment: str, record: ApplyRecord, applies: int) -> str:
    if record.outcomes is None:
        return f"reconciler: record state of {environment}"
    counts = ", ".join(f"{n} {o}" for o, n in record.outcomes.items() if n)
    shard = f" shard {record.shard}" if record.shard else ""
    more = f" (and {applies - 1} earlier applies)" if applies > 1 else ""
    return f"reconciler: apply {environment}{shard}: {counts or 'nothing ran'}{more}"


def _body(applies: list[Applied]) -> str:
    if len(applies) < 2:
        return ""
    return f"The {len(applies)} applies since the last commit:\n" + "\n".join(
        a.line() for a in applies
    )


def _trailers(
    environment: str, record: ApplyRecord, applies: list[Applied], url: str | None
) -> dict[str, str]:
    trailers = {"Reconciler-Environment": environment}
    newest = applies[-1] if applies else None
    if newest is not None and newest.specs_commit:
        trailers["Reconciler-Specs-Commit"] = newest.specs_commit
    if record.plan_digest is not None:
        trailers["Reconciler-Plan-Digest"] = record.plan_digest
    if record.reviewed is not None:
        trailers["Reconciler-Reviewed"] = record.reviewed
    if record.outcomes is not None:
        trailers["Reconciler-Counts"] = " ".join(f"{o}={n}" for o, n in record.outcomes.items())
    if record.shard:
        trailers["Reconciler-Shard"] = record.shard
    if newest is not None and newest.reviewers:
        numbers = [r.split()[0].lstrip("#") for r in newest.reviewers if r.startswith("#")]
        if numbers:
            trailers["Reconciler-Pull-Requests"] = " ".join(numbers)
    if newest is not None and newest.actor:
        trailers["Reconciler-Actor"] = newest.actor
    reruns = sorted({name for applied in applies for name in applied.reruns})
    if reruns:  # deliberate re-runs (apply --rerun), named for the audit trail
        trailers["Reconciler-Reruns"] = " ".join(reruns)[:1000]
    if applies:
        trailers["Reconciler-Applies"] = str(len(applies))
    url = url or (newest.run_url if newest else None)
    if url:
        trailers["Reconciler-Run-URL"] = url
    return trailers
