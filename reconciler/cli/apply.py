"""Commands that talk to the platform: apply, cancel, and state repair."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import click

from reconciler import github, report
from reconciler.artifacts import write_apply_artifacts
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
from reconciler.clock import SystemClock
from reconciler.engine import ApplyOptions, Engine
from reconciler.errors import UserError
from reconciler.model import ApplyResult, Phase
from reconciler.planner import Selection
from reconciler.progress import ProgressDisplay
from reconciler.secrets import EnvSecrets
from reconciler.state import StateStore


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
@VAR_OPTION
@click.pass_context
def apply(
    ctx: click.Context,
    select: tuple[str, ...],
    shard: tuple[int, int] | None,
    adopt: tuple[str, ...],
    resubmit: tuple[str, ...],
) -> int:
    """Submit pending runs, poll them to a final status, save state and artifacts."""
    settings = settings_of(ctx)
    selection = Selection(patterns=select, adopt=_adoptions(adopt), resubmit=resubmit, shard=shard)
    store = StateStore(settings.state_dir, settings.environment)
    with store.lock(command="reconciler apply"):
        the_plan, store = load_plan(settings, selection, spec_context(ctx, settings))
        echo(report.plan_text(the_plan))
        if not the_plan.has_changes:
            echo("Nothing to apply.")
            return ExitCode.OK
        client = make_client(settings, shards=shard[1] if shard else 1)
        progress = ProgressDisplay(
            sys.stderr,
            live=sys.stderr.isatty() and not os.environ.get("CI"),
            now=lambda: datetime.now(UTC),
        )
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
            ),
            progress=progress,
        )
        actions = github.Actions.from_env(os.environ)
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
        entries = store.snapshot()
    stats = {
        "HTTP calls": client.totals.calls,
        "retries": client.totals.retries,
        "503 responses": client.totals.statuses.get(503, 0),
        "rate-limit wait": f"{client.limiter.waited:.1f}s",
    }
    write_apply_artifacts(settings.artifacts_dir / store.environment, result, entries, stats)
    echo("")
    echo(report.apply_text(result))
    if actions is not None:
        actions.append_summary(report.summary_markdown(result, stats))
        failed = [
            (r.name, r.status or r.outcome.upper(), r.message or "")
            for r in result.results
            if r.outcome not in ("success", "skipped")
        ]
        for line in github.failed_run_annotations(failed):
            echo(line)
        outcomes = ("success", "failure", "rejected", "unknown", "pending", "skipped")
        actions.set_outputs([(f"count-{o}", str(result.count(o))) for o in outcomes])  # type: ignore[arg-type]
    return _apply_exit(result)


@cli.command()
@click.argument("name")
@click.pass_context
def cancel(ctx: click.Context, name: str) -> int:
    """Cancel the running execution NAME on the platform."""
    settings = settings_of(ctx)
    store = StateStore(settings.state_dir, settings.environment)
    entry = store.snapshot().get(name)
    if entry is None or entry.phase is not Phase.SUBMITTED:
        what = "has no recorded state" if entry is None else f"is {entry.phase.value}"
        raise UserError(f"{name} {what}; only a submitted, unfinished run can be cancelled")
    client = make_client(settings)

    async def run() -> str:
        try:
            execution_id = entry.execution_id
            if execution_id is None and entry.request_id:
                record = await client.get_record(entry.request_id)
                execution_id = record.execution_id if record else None
            if execution_id is None:
                raise UserError(
                    f"{name} has no executionId yet (the platform has not started it)",
                    hint="try again in a moment",
                )
            await client.cancel(execution_id)
            return execution_id
        finally:
            await client.aclose()

    execution_id = asyncio.run(run())
    echo(f"Cancel requested for {name} ({execution_id}); the next apply records how it ended.")
    return ExitCode.OK


@cli.group()
def state() -> None:
    """Inspect and repair the state directory."""


@state.command()
@click.pass_context
def unlock(ctx: click.Context) -> int:
    """Release the apply lock if no live process holds it."""
    settings = settings_of(ctx)
    echo(StateStore(settings.state_dir, settings.environment).unlock())
    return ExitCode.OK


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
