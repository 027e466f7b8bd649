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
from reconciler.config.secrets import EnvSecrets
from reconciler.config.settings import Settings
from reconciler.errors import GitError, UserError
from reconciler.git.journal import GitIntentJournal
from reconciler.git.publish import Git, PushPolicy
from reconciler.github.context import GitHubContext
from reconciler.github.workflow import workspace
from reconciler.model import ApplyResult, Plan
from reconciler.model.digest import plan_digest
from reconciler.outbound import Redactor
from reconciler.plan.planner import Selection
from reconciler.plan.review import Review, ReviewedPlan, compare
from reconciler.report import renderers as report
from reconciler.specs.expand import SpecContext
from reconciler.store.artifacts import spec_sources, write_apply_artifacts, write_noop_artifacts
from reconciler.store.state import StateStore, supersedes
from reconciler.usecases.inputs import (
    credential_values,
    load_plan,
    make_client,
    plan_requests,
    secret_values,
)

#: Runs the apply's coroutine to its end, then awaits the cleanup (closing the client).
Runner = Callable[[Coroutine[Any, Any, ApplyResult], Callable[[], Awaitable[None]]], ApplyResult]


class Listener(Protocol):
    """Hears what an apply decided before it submits anything."""

    def planned(self, plan: Plan, review: Review) -> None:
        """The plan about to be applied, and how it compares with the reviewed one."""

    def secrets(self, named: Mapping[str, str]) -> None:
        """Name → value of each secret this apply resolves (to scrub and mask its output)."""


@dataclass(frozen=True)
class ApplyRequest:
    """What to apply: the options of one ``reconciler apply``."""

    selection: Selection
    context: SpecContext
    reviewed: ReviewedPlan | None = None
    require_reviewed: bool = False
    durable_intents: bool | None = None  # None: git.durableIntents (on in GitHub Actions)


@dataclass(frozen=True)
class Applied:
    """What an apply did. ``result`` is None when nothing was applied (no changes)."""

    plan: Plan
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
    if request.require_reviewed and request.reviewed is None:
        raise UserError("--require-reviewed needs --reviewed-plan FILE")
    shard = request.selection.shard
    # Written from the engine's event loop: through the store's writer thread.
    store = StateStore(settings.state_dir, settings.environment, background=True, clock=clock)
    store.ignore_own_files()  # the lock and a kill -9's temp files are never history's
    with store.lock(command="reconciler apply"):
        the_plan, store = load_plan(
            settings, request.selection, request.context, cwd=cwd, store=store
        )
        review = compare(request.reviewed, the_plan, plan_digest(the_plan))
        listener.planned(the_plan, review)
        if review.status == "differs" and request.require_reviewed:
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
        # Every secret this apply resolves, and the tokens: scrubbed from what the platform
        # answers (on arrival), from state and artifacts (again before writing), and from
        # everything the caller prints (the listener hears them before the first submit).
        named = secret_values(plan_requests(the_plan), environ)
        redactor = Redactor({**credential_values(environ), **named})
        listener.secrets(named)
        store.redact_with(redactor)
        client = make_client(
            settings, environ, clock, shards=shard[1] if shard else 1, redactor=redactor
        )
        github = GitHubContext.from_environ(environ)
        durable = request.durable_intents
        if durable is None:
            durable = settings.git.durable(in_actions=github.in_actions)
        journal = _journal(settings, store, github.run_url) if durable else None
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
        try:
            result = run(engine.apply(the_plan), client.aclose)
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
            result, plan=the_plan, review=review, shard=shard, stats=stats
        ),
        notes=review.markdown() if request.reviewed is not None else "",
        redactor=redactor,
        sources=spec_sources(the_plan, cwd=cwd, root=workspace(environ)),
    )
    return Applied(
        plan=the_plan,
        review=review,
        result=result,
        stats=stats,
        summary_path=summary_folder / "summary.md",
    )


class ReviewMismatch(UserError):
    """``--require-reviewed`` and the plan differs from the reviewed one: nothing was applied."""

    def __init__(self, applied: Applied) -> None:
        super().__init__(
            "the plan differs from the reviewed plan; nothing was applied",
            hint="plan again on a pull request and review it, or apply without --require-reviewed",
        )
        self.applied = applied


def _journal(settings: Settings, store: StateStore, url: str | None) -> GitIntentJournal:
    git = Git(settings.root)
    try:  # say what is missing before anything is submitted
        git.toplevel()
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
        trailers={"Reconciler-Run-URL": url} if url else None,
    )
