"""The ``apply`` use case: under the lock, plan, check the review, run the engine, save artifacts.

A plain function: the caller hands it the settings, the environment mapping, the clock, how to
run a coroutine (the CLI's runner turns SIGINT/SIGTERM into cancellation), and a listener that
hears the plan before anything is submitted. It returns what happened as a value; the CLI
renders it and chooses the exit code.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from reconciler.apply.engine import ApplyOptions, Engine, Progress
from reconciler.clock import Clock
from reconciler.config.secrets import EnvSecrets, SecretsMissing
from reconciler.config.settings import Settings
from reconciler.errors import GitError, UserError
from reconciler.git.journal import GitIntentJournal
from reconciler.git.publish import Git, PushPolicy
from reconciler.github.context import GitHubContext
from reconciler.github.workflow import workspace
from reconciler.model import ApplyResult, Notice, Plan
from reconciler.model.digest import plan_digest
from reconciler.outbound import Redactor
from reconciler.plan.planner import Selection
from reconciler.plan.review import Review, Reviewed, compare_each
from reconciler.report import renderers as report
from reconciler.specs.expand import SpecContext
from reconciler.store.artifacts import spec_sources, write_apply_artifacts, write_noop_artifacts
from reconciler.store.state import StateStore, supersedes
from reconciler.usecases.applies import AppliesLog
from reconciler.usecases.inputs import (
    check_secrets,
    credential_values,
    load_plan,
    make_client,
    plan_requests,
    secret_values,
)
from reconciler.usecases.statebranch import Merged, pull_state, state_branch

#: Runs the apply's coroutine to its end, then awaits the cleanup (closing the client).
Runner = Callable[[Coroutine[Any, Any, ApplyResult], Callable[[], Awaitable[None]]], ApplyResult]


class Listener(Protocol):
    """Hears what an apply decided before it submits anything."""

    def planned(self, plan: Plan, review: Review) -> None:
        """The plan about to be applied, and how it compares with the reviewed one."""

    def secrets(self, named: Mapping[str, str]) -> None:
        """Name → value of each secret this apply resolves (to scrub and mask its output)."""

    def pulled(self, merged: Merged) -> None:
        """What was merged from the state branch before planning."""


@dataclass(frozen=True)
class ApplyRequest:
    """What to apply: the options of one ``reconciler apply``."""

    selection: Selection
    context: SpecContext
    #: The plans reviewed on the pull requests merged since the last apply (``compare_each``);
    #: one plan compares by digest first.
    reviewed: tuple[Reviewed, ...] = ()
    require_reviewed: bool = False
    durable_intents: bool | None = None  # None: git.durableIntents (on in GitHub Actions)
    expect_digest: str | None = None  # refuse unless the plan has this digest
    expect_commit: str | None = None  # refuse unless the checkout is at this commit
    allow_dirty: bool = False  # apply specs that differ from the checked-out commit
    fetch_state: bool = True  # with git.stateBranch: fetch and merge it first


@dataclass(frozen=True)
class Applied:
    """What an apply did. ``result`` is None when nothing was applied (no changes).

    ``plan`` is None once the engine ran: an apply lets go of its plan, so the desired run of
    an execution is freed as soon as its run is over (memory grows with the runs in flight).
    """

    plan: Plan | None
    review: Review
    result: ApplyResult | None = None
    stats: Mapping[str, object] | None = None
    summary_path: Path | None = None


def apply(
    settings: Settings,
    request: ApplyRequest,
    *,
    environ: Mapping[str, str],
    clock: Clock,
    run: Runner,
    listener: Listener,
    progress: Progress | None = None,
    on_finished: Callable[[], None] = lambda: None,
    cwd: Path,
) -> Applied:
    """Apply the plan of ``request``; see the module docstring. Raises ``UserError``s."""
    shard = request.selection.shard
    specs_commit = checked_out(settings, environ, allow_dirty=request.allow_dirty)
    if request.expect_commit is not None and specs_commit != request.expect_commit:
        raise UserError(
            f"the checkout is at {_short(specs_commit)}, not {_short(request.expect_commit)} "
            "(--expect-commit): the branch moved since the plan; nothing was applied",
            hint="the run for the newer commit applies it; or plan again",
        )
    # Written from the engine's event loop: through the store's writer thread.
    store = StateStore(settings.state_dir, settings.environment, background=True, clock=clock)
    store.ignore_own_files()  # the lock and a kill -9's temp files are never history's
    with store.lock(command="reconciler apply"):
        if request.fetch_state:
            pulled = pull_state(settings, environ)
            if pulled is not None:
                listener.pulled(pulled)
        the_plan, store = load_plan(
            settings, request.selection, request.context, cwd=cwd, store=store
        )
        digest = plan_digest(the_plan)
        review = compare_each(request.reviewed, the_plan, digest)
        listener.planned(the_plan, review)
        if request.expect_digest is not None and digest != request.expect_digest:
            raise PlanMoved(Applied(plan=the_plan, review=review), request.expect_digest, digest)
        if request.require_reviewed and review.uncovered:
            raise ReviewMismatch(Applied(plan=the_plan, review=review))
        if not the_plan.has_changes:  # a fresh report, not the last apply's published again
            written = write_noop_artifacts(
                settings.artifacts_dir / store.environment,
                the_plan,
                review=review,
                at=clock.now(),
                shard=shard,
                sources=spec_sources(the_plan, cwd=cwd, root=workspace(environ)),
            )
            return Applied(plan=the_plan, review=review, summary_path=written[0])
        # Preflight: every secret of every run this apply may send, before the first submit
        # (and before any request): one missing means nothing is sent, and all are listed.
        missing = check_secrets(settings, the_plan, environ)
        if missing:
            raise SecretsMissing(missing, what="nothing was submitted")
        # Every secret this apply resolves, and the tokens: scrubbed from what the platform
        # answers (on arrival), from state and artifacts (again before writing), and from
        # everything the caller prints (the listener hears them before the first submit).
        named = secret_values(plan_requests(the_plan), environ)
        redactor = Redactor({**credential_values(environ), **named})
        listener.secrets(named)
        store.redact_with(redactor)
        client = make_client(
            settings,
            environ,
            clock,
            shards=shard[1] if shard else 1,
            redactor=redactor,
            # A request waiting long for its answer is said (a silent host, issue #17).
            waiting=None if progress is None else lambda line: progress(Notice(line)),
        )
        github = GitHubContext.from_environ(environ)
        durable = request.durable_intents
        if durable is None:
            durable = settings.git.durable(in_actions=github.in_actions)
        trailers = {"Reconciler-Specs-Commit": specs_commit} if specs_commit else {}
        if github.run_url:
            trailers["Reconciler-Run-URL"] = github.run_url
        journal = _journal(settings, store, environ, trailers) if durable else None
        secrets = EnvSecrets(environ, reserved=settings.reserved_secrets)
        engine = Engine(
            client,
            store,
            clock,
            secrets,
            options=ApplyOptions(
                concurrency=settings.apply.concurrency,
                poll_initial=settings.apply.poll_initial,
                poll_max=settings.apply.poll_max,
                timeout=settings.apply.timeout,
                record_timeout=settings.apply.record_timeout,
                adopt_after=settings.apply.adopt_after,
            ),
            progress=progress,
            journal=journal,
        )
        # What the artifacts and the applies log need of the plan, taken now: then the plan
        # is the engine's alone, which frees each action as its run ends.
        sources = spec_sources(the_plan, cwd=cwd, root=workspace(environ))
        outline = report.PlanOutline.of(the_plan, digest)
        reruns = [a.name for a in the_plan.actions if a.desired is not None and a.desired.on_demand]
        applying = engine.apply(the_plan)
        del the_plan
        try:
            result = run(applying, client.aclose)
        finally:
            on_finished()
            store.settle()  # even when interrupted twice: every state write lands under the lock
        entries = store.current()  # what the engine saved: no second read of every file
    stats: dict[str, object] = {
        "HTTP calls": client.totals.calls,
        "retries": client.totals.retries,
        "503 responses": client.totals.statuses.get(503, 0),
        "rate-limit wait": f"{client.limiter.waited:.1f}s",
    }
    if journal is not None:
        stats["intent commits pushed"] = len(journal.commits)
    folder = settings.artifacts_dir / store.environment
    summary_folder = folder / "shards" / f"{shard[0]}-of-{shard[1]}" if shard else folder
    write_apply_artifacts(
        folder,
        result,
        entries,
        stats,
        summary_folder=summary_folder,
        record_json=report.apply_record_json(
            result, plan=outline, review=review, shard=shard, stats=stats
        ),
        notes=review.markdown() if request.reviewed else "",
        redactor=redactor,
        sources=sources,
    )
    AppliesLog(settings.state_dir, settings.environment).append(
        specs_commit=specs_commit,
        plan_digest=review.digest,
        reviewed=review.status,
        reviewers=review.reviewers,
        counts={o: result.count(o) for o in report.OUTCOMES if result.count(o)},
        shard=f"{shard[0]}/{shard[1]}" if shard else None,
        run_url=github.run_url,
        actor=github.actor or None,
        at=clock.now(),
        reruns=reruns,
    )
    return Applied(
        plan=None,
        review=review,
        result=result,
        stats=stats,
        summary_path=summary_folder / "summary.md",
    )


class ReviewMismatch(UserError):
    """``--require-reviewed`` and a change nobody reviewed: nothing was applied."""

    def __init__(self, applied: Applied) -> None:
        review = applied.review
        hint = (
            "review these changes on a pull request, or apply without --require-reviewed "
            "(the workflows: the allow-unreviewed input, with a reason)"
        )
        named = "; ".join(review.uncovered[:10])
        more = len(review.uncovered) - 10
        if review.status == "none":
            message = (
                "--require-reviewed: no reviewed plan was given; nothing was applied: "
                f"{named}{f'; and {more} more' if more > 0 else ''}"
            )
            hint = "pass the reviewed plans (--reviewed-plan FILE or FOLDER)"
        else:
            message = (
                "--require-reviewed: not every change was reviewed; nothing was applied: "
                f"{named}{f'; and {more} more' if more > 0 else ''}"
            )
        super().__init__(message, hint=hint)
        self.applied = applied


class PlanMoved(UserError):
    """``--expect-digest`` and the plan computed now is another one: nothing was applied."""

    def __init__(self, applied: Applied, expected: str, digest: str) -> None:
        super().__init__(
            f"the plan is {digest}, not {expected} (--expect-digest): the state or the specs "
            "changed since that plan was shown; nothing was applied",
            hint="plan again and approve the new plan",
        )
        self.applied = applied


def checked_out(settings: Settings, environ: Mapping[str, str], *, allow_dirty: bool) -> str | None:
    """The commit the specs are applied from; a ``UserError`` if they differ from it.

    None outside a git checkout (nothing to compare with). The specs folder and the
    configuration file must match the checked-out commit unless ``allow_dirty``: state
    recorded from specs that are in no commit could not be traced back to them.
    """
    git = Git(settings.root, dict(environ))
    try:
        git.toplevel()
        head = git.head()
    except GitError:
        return None
    if allow_dirty:
        return head
    paths = [str(settings.specs_dir)]
    if settings.config_file is not None:
        paths.append(str(settings.config_file))
    changed = git.run(
        "status", "--porcelain", "-z", "--untracked-files=all", "--", *paths, check=False
    )
    names = [entry[3:] for entry in changed.stdout.split("\0") if len(entry) > 3]
    if changed.returncode == 0 and names:
        listed = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        raise UserError(
            f"the specs differ from the checked-out commit {head[:12]} ({listed}); nothing was "
            "applied: the state would record runs of specs that are in no commit",
            hint="commit them first, or pass --allow-dirty",
        )
    return head


def _short(commit: str | None) -> str:
    return commit[:12] if commit else "no commit"


def _journal(
    settings: Settings, store: StateStore, environ: Mapping[str, str], trailers: dict[str, str]
) -> GitIntentJournal:
    git = Git(settings.root, dict(environ))
    try:  # say what is missing before anything is submitted
        git.toplevel()
        if settings.git.state_branch is None:
            git.head()
        git.check_remote(settings.git.remote)
    except GitError as exc:
        raise UserError(
            f"durable intents: {exc.message}",
            hint="they commit and push intents before submitting; or pass --no-durable-intents "
            "(see docs/github-actions.md)",
        ) from None
    return GitIntentJournal(
        git,
        store.path_for,
        environment=store.environment,
        policy=PushPolicy(remote=settings.git.remote, attempts=settings.git.push_attempts),
        guarded=[settings.state_dir],
        supersedes=lambda _name, theirs, ours: supersedes(theirs, ours),
        trailers=trailers,
        state_branch=state_branch(settings, environ),
    )
