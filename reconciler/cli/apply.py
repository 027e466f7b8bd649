"""``reconciler apply``: options in, the apply use case, the plan and results out, an exit code.

The use case (``usecases.apply``) does the work; this module parses options, prints, talks to
GitHub Actions (groups, masks, summary, outputs, annotations) and runs the engine's coroutine
with SIGINT/SIGTERM turned into cancellation.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from reconciler.cli.base import (
    SELECT_HELP,
    SHARD_OPTION,
    VAR_OPTION,
    ExitCode,
    Interrupted,
    add_secrets,
    cli,
    echo,
    echo_command,
    echo_mask,
    scrub,
    settings_of,
    spec_context,
)
from reconciler.cli.progress import ProgressDisplay
from reconciler.cli.terminal import echo_painted, echo_painted_lines, painter, text_width
from reconciler.clock import SystemClock
from reconciler.github import workflow as github
from reconciler.model import ApplyResult, Plan
from reconciler.plan.planner import Selection
from reconciler.plan.review import Review
from reconciler.report import renderers as report
from reconciler.usecases.apply import Applied, ApplyRequest, PlanMoved, ReviewMismatch
from reconciler.usecases.apply import apply as apply_plan
from reconciler.usecases.reviewed import read_reviewed_plans
from reconciler.usecases.statebranch import Merged


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
    "--rerun",
    multiple=True,
    metavar="NAME|SELECTOR",
    help="Submit a new run of each selected execution whose last run failed, was aborted or "
    "discarded, or was rejected, even with retries spent and the spec unchanged; recorded as "
    "a deliberate re-run. Repeatable. Refused for a run that succeeded or is still running.",
)
@click.option(
    "--allow-empty-select",
    is_flag=True,
    help="A --select or --rerun selector that matches no execution is a notice, not an error.",
)
@click.option(
    "--reviewed-plan",
    "reviewed_plans",
    multiple=True,
    type=click.Path(path_type=Path),
    help="A plan reviewed on a pull request (plan --output json), or a folder of them "
    "(github reviewed-plan --output-dir). Repeatable. Each change this apply sends is checked "
    "against them, execution by execution.",
)
@click.option(
    "--require-reviewed",
    is_flag=True,
    help="Apply nothing unless every change this apply sends was reviewed (--reviewed-plan).",
)
@click.option(
    "--expect-digest",
    metavar="sha256:HEX",
    help="Apply nothing unless the plan has this digest (the plan an approver saw).",
)
@click.option(
    "--expect-commit",
    metavar="SHA",
    help="Apply nothing unless the checkout is at this commit (the one that was planned).",
)
@click.option(
    "--allow-dirty",
    is_flag=True,
    help="Apply although specs/ or reconciler.yaml differ from the checked-out commit.",
)
@click.option(
    "--fetch-state/--no-fetch-state",
    default=True,
    help="With git.stateBranch: fetch the state branch and merge it first (default: on).",
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
    rerun: tuple[str, ...],
    allow_empty_select: bool,
    reviewed_plans: tuple[Path, ...],
    require_reviewed: bool,
    expect_digest: str | None,
    expect_commit: str | None,
    allow_dirty: bool,
    fetch_state: bool,
    durable_intents: bool | None,
) -> int:
    """Submit pending runs, poll them to a final status, save state and artifacts."""
    settings = settings_of(ctx)
    request = ApplyRequest(
        selection=Selection(
            patterns=select,
            adopt=_adoptions(adopt),
            resubmit=resubmit,
            shard=shard,
            rerun=rerun,
            allow_empty=allow_empty_select,
        ),
        context=spec_context(ctx, settings),
        reviewed=read_reviewed_plans(reviewed_plans),
        require_reviewed=require_reviewed,
        durable_intents=durable_intents,
        expect_digest=_digest_option(expect_digest),
        expect_commit=_commit_option(expect_commit),
        allow_dirty=allow_dirty,
        fetch_state=fetch_state,
    )
    actions = github.Actions.from_env(os.environ, scrub)
    clock = SystemClock()
    progress = ProgressDisplay(
        sys.stderr,
        live=sys.stderr.isatty() and not os.environ.get("CI"),
        now=lambda: datetime.now(UTC),
    )
    try:
        applied = apply_plan(
            settings,
            request,
            environ=os.environ,
            clock=clock,
            run=lambda work, cleanup: _run_interruptible(
                progress.alongside(work, clock.sleep), cleanup
            ),
            listener=_Listener(actions, shown_review=bool(request.reviewed), progress=progress),
            progress=progress,
            on_finished=progress.close,
            cwd=Path.cwd(),
        )
    except (ReviewMismatch, PlanMoved) as exc:
        _set_outputs(actions, exc.applied, None)
        raise
    if applied.result is None:
        echo("Nothing to apply.")
        _set_outputs(actions, applied, None)
        return ExitCode.OK
    result = applied.result
    echo("")
    paint = painter()
    echo_painted_lines(lambda: report.apply_lines(result, paint=paint))
    if actions is not None:
        notes = f"\n{applied.review.markdown()}\n" if request.reviewed else ""
        actions.append_summary(report.summary_markdown(result, applied.stats) + notes)
        failed = [
            (r.name, r.status or r.outcome.upper(), r.message or "")
            for r in result.results
            if r.outcome not in ("success", "skipped")
        ]
        for line in github.failed_run_annotations(failed):
            echo_command(line)
        _set_outputs(actions, applied, applied.summary_path)
    return _apply_exit(result)


class _Listener:
    """Prints the plan (folded in a GitHub log) and masks the apply's secret values there."""

    def __init__(
        self, actions: github.Actions | None, *, shown_review: bool, progress: ProgressDisplay
    ) -> None:
        self._actions = actions
        self._shown_review = shown_review
        self._progress = progress

    def planned(self, plan: Plan, review: Review) -> None:
        for notice in plan.notices:
            echo(f"notice: {notice}", err=True)
        if self._actions is not None:  # a long table: folded in the log, opened on demand
            echo_command(github.group(f"reconciler plan ({plan.environment})"))
        echo_painted(report.plan_text(plan, width=text_width(), paint=painter()))
        if self._actions is not None:
            echo_command(github.endgroup())
        if self._shown_review:
            echo(review.text())
        self._progress.planned(plan.environment, sum(1 for a in plan.actions if a.kind.changes))

    def pulled(self, merged: Merged) -> None:
        echo(merged.text(), err=True)

    def secrets(self, named: Mapping[str, str]) -> None:
        redactor = add_secrets(named)  # scrubbed from every later line, summary and log
        if self._actions is not None:  # and masked by the runner too, in every form (A3)
            for value in redactor.mask_values():
                echo_mask(value)


def _digest_option(value: str | None) -> str | None:
    if value is None:
        return None
    if not re.fullmatch(r"sha256:[0-9a-f]{64}", value):
        raise click.BadParameter("expected sha256: and 64 hex digits", param_hint="--expect-digest")
    return value


def _commit_option(value: str | None) -> str | None:
    if value is None:
        return None
    if not re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", value):
        raise click.BadParameter(
            "expected a full commit id (40 hex digits)", param_hint="--expect-commit"
        )
    return value


def _set_outputs(actions: github.Actions | None, applied: Applied, summary: Path | None) -> None:
    if actions is None:
        return
    result, review = applied.result, applied.review
    outputs = [(f"count-{o}", str(result.count(o) if result else 0)) for o in report.OUTCOMES]
    outputs += [("plan-digest", review.digest or ""), ("reviewed", review.status)]
    outputs.append(("summary-path", str(summary) if summary else ""))
    actions.set_outputs(outputs)


def _apply_exit(result: ApplyResult) -> ExitCode:
    if result.count("unknown"):
        return ExitCode.UNKNOWN
    if result.count("unsent"):  # nothing was sent for them: an error, not a run's outcome
        return ExitCode.ERROR
    if result.count("failure") or result.count("rejected"):
        return ExitCode.FAILED
    if result.count("pending"):
        return ExitCode.PENDING
    return ExitCode.OK


def _run_interruptible(
    work: Coroutine[Any, Any, ApplyResult], cleanup: Callable[[], Awaitable[None]]
) -> ApplyResult:
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
            return await work
        except asyncio.CancelledError:
            if received:
                raise Interrupted(received[0]) from None
            raise
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)
            await cleanup()

    return asyncio.run(main())
