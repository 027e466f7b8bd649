"""Repair commands: cancel a running execution, release a stale lock."""

from __future__ import annotations

import asyncio

import click

from reconciler.cli.base import ExitCode, cli, echo, make_client, settings_of
from reconciler.errors import UserError
from reconciler.model import Phase
from reconciler.store.state import StateStore


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
