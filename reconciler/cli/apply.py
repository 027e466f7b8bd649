"""Commands that talk to the platform: apply, cancel, and state repair."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from reconciler.apply.engine import ApplyOptions, Engine
from reconciler.cli.base import (
    SELECT_HELP,
    SHARD_OPTION,
    VAR_OPTION,
    ExitCode,
    Interrupted,
    cli,
    echo,
    load_plan,
    make_client,
    settings_of,
    spec_context,
)
from reconciler.cli.progress import ProgressDisplay
from reconciler.clock import SystemClock
from reconciler.config.secrets import EnvSecrets
from reconciler.config.settings import Settings
from reconciler.errors import UserError
from reconciler.git.journal import GitIntentJournal
from reconciler.git.publish import Git, GitError, PushPolicy, run_url
from reconciler.github import workflow as github
from reconciler.model import ApplyResult
from reconciler.model.digest import plan_digest
from reconciler.plan.planner import Selection
from reconciler.plan.review import Review, ReviewedPlan, compare, parse_reviewed
from reconciler.report import renderers as report
from reconciler.store.artifacts import write_apply_artifacts
from reconciler.store.state import StateStore, supersedes


def _adoptions(values: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    pairs = []
    for value in values:
        name, sep, execution_id = value.partition("=")
        if not sep or not name or not execution_id.startswith("execution-"):
            raise click.BadParameter(
                f"{value!r}: expected NAME=EXECUTION_ID, e.g. orders=execution-1234-2026.01.15",
                param_hint="--adopt",
            )
        pairs.append((name, execution_id))
    return tuple(pairs)


@cli.command()
@click.option("--select", "select", multiple=True, help=SELECT_HELP)
@SHARD_OPTION
@click.option(
    "--adopt",
    multiple=True,
    metavar="NAME=EXECUTION_ID",
    help="Record EXECUTION_ID as the run of NAME's unresolved submit, and follow it.",
)
@click.option(
    "--resubmit",
    multiple=True,
    metavar="NAME",
    help="Submit NAME again although its earlier submit is unresolved (it may run twice).",
)
@click.option(
    "--reviewed-plan",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The plan reviewed on the pull request (plan --output json): report whether this "
    "apply does the same, and what differs.",
)
@click.option(
    "--require-reviewed",
    is_flag=True,
    help="Apply nothing unless the plan matches --reviewed-plan.",
)
@click.option(
    "--durable-intents/--no-durable-intents",
    default=None,
    help="Commit and push each wave of intents before submitting it "
    "(default: git.durableIntents, on in GitHub Actions).",
)
@VAR_OPTION
@click.pass_context
def apply(
    ctx: click.Context,
    select: tuple[str, ...],
    shard: tuple[int, int] | None,
    adopt: tuple[str, ...],
    resubmit: tuple[str, ...],
    reviewed_plan: Path | None,
    require_reviewed: bool,
    durable_intents: bool | None,
) -> int:
    """Submit pending runs, poll them to a final status, save state and artifacts."""
    settings = settings_of(ctx)
    selection = Selection(patterns=select, adopt=_adoptions(adopt), resubmit=resubmit, shard=shard)
    reviewed = _read_reviewed(reviewed_plan) if reviewed_plan is not None else None
    if require_reviewed and reviewed is None:
        raise UserError("--require-reviewed needs --reviewed-plan FILE")
    actions = github.Actions.from_env(os.environ)
    store = StateStore(settings.state_dir, settings.environment)
    with store.lock(command="reconciler apply"):
        the_plan, store = load_plan(settings, selection, spec_context(ctx, settings))
        review = compare(reviewed, the_plan, plan_digest(the_plan))
        if actions is not None:  # a long table: folded in the log, opened on demand
            echo(github.group(f"reconciler plan ({the_plan.environment})"))
        echo(report.plan_text(the_plan))
        if actions is not None:
            echo(github.endgroup())
        if reviewed is not None:
            echo(review.text())
        if review.status == "differs" and require_reviewed:
            _set_outputs(actions, None, review, None)
            raise UserError(
                "the plan differs from the reviewed plan; nothing was applied",
                hint="plan again on a pull request and review it, or apply without "
                "--require-reviewed",
            )
        if not the_plan.has_changes:
            echo("Nothing to apply.")
            _set_outputs(actions, None, review, None)
            return ExitCode.OK
        client = make_client(settings, shards=shard[1] if shard else 1)
        progress = ProgressDisplay(
            sys.stderr,
            live=sys.stderr.isatty() and not os.environ.get("CI"),
            now=lambda: datetime.now(UTC),
        )
        durable = settings.git.durable(os.environ) if durable_intents is None else durable_intents
        journal = _journal(settings, store) if durable else None
        engine = Engine(
            client,
            store,
            SystemClock(),
            EnvSecrets(os.environ),
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
        if actions is not None:  # hide every secret value this apply resolves (practices A3)
            secrets = EnvSecrets(os.environ)
            for action in the_plan.actions:
                if action.desired is not None:
                    for value in secrets.values(action.desired.request):
                        echo(github.mask(value))
        try:
            result = _run_interruptible(engine.apply(the_plan), client.aclose)
        finally:
            progress.close()
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
        notes=review.markdown() if reviewed is not None else "",
    )
    echo("")
    echo(report.apply_text(result))
    if actions is not None:
        notes = f"\n{review.markdown()}\n" if reviewed is not None else ""
        actions.append_summary(report.summary_markdown(result, stats) + notes)
        failed = [
            (r.name, r.status or r.outcome.upper(), r.message or "")
            for r in result.results
            if r.outcome not in ("success", "skipped")
        ]
        for line in github.failed_run_annotations(failed):
            echo(line)
        _set_outputs(actions, result, review, summary_folder / "summary.md")
    return _apply_exit(result)


def _read_reviewed(path: Path) -> ReviewedPlan:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"{path}: cannot read the reviewed plan ({exc.strerror})") from None
    return parse_reviewed(text, str(path))


def _journal(settings: Settings, store: StateStore) -> GitIntentJournal:
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
    url = run_url(os.environ)
    return GitIntentJournal(
        git,
        store.path_for,
        environment=store.environment,
        policy=PushPolicy(remote=settings.git.remote, attempts=settings.git.push_attempts),
        guarded=[settings.state_dir],
        supersedes=lambda _name, theirs, ours: supersedes(theirs, ours),
        trailers={"Reconciler-Run-URL": url} if url else None,
    )


def _set_outputs(
    actions: github.Actions | None,
    result: ApplyResult | None,
    review: Review,
    summary: Path | None,
) -> None:
    if actions is None:
        return
    outputs = [(f"count-{o}", str(result.count(o) if result else 0)) for o in report.OUTCOMES]
    outputs += [("plan-digest", review.digest or ""), ("reviewed", review.status)]
    outputs.append(("summary-path", str(summary) if summary else ""))
    actions.set_outputs(outputs)


def _apply_exit(result: ApplyResult) -> ExitCode:
    if result.count("unknown"):
        return ExitCode.UNKNOWN
    if result.count("failure") or result.count("rejected"):
        return ExitCode.FAILED
    if result.count("pending"):
        return ExitCode.PENDING
    return ExitCode.OK


def _run_interruptible(work: Any, cleanup: Callable[[], Any]) -> ApplyResult:
    """Run the apply; SIGINT/SIGTERM cancel it (the engine saves state) and exit 130/143."""

    async def main() -> ApplyResult:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        received: list[int] = []

        def stop(signum: int) -> None:
            received.append(signum)
            if task is not None:
                task.cancel()

        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop, signum)
        try:
            return await work  # type: ignore[no-any-return]
        except asyncio.CancelledError:
            if received:
                raise Interrupted(received[0]) from None
            raise
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)
            await cleanup()

    return asyncio.run(main())
