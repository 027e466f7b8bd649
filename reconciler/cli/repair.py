"""Repair commands: cancel a running execution, release a stale lock."""

from __future__ import annotations

import os

import click

from reconciler.cli.base import ExitCode, cli, echo, settings_of
from reconciler.clock import SystemClock
from reconciler.usecases import status as usecase


@cli.command()
@click.argument("name")
@click.pass_context
def cancel(ctx: click.Context, name: str) -> int:
    """Cancel the running execution NAME on the platform."""
    execution_id = usecase.cancel(settings_of(ctx), name, environ=os.environ, clock=SystemClock())
    echo(f"Cancel requested for {name} ({execution_id}); the next apply records how it ended.")
    return ExitCode.OK


@cli.group()
def state() -> None:
    """Inspect and repair the state directory."""


@state.command()
@click.pass_context
def unlock(ctx: click.Context) -> int:
    """Release the apply lock if no live process holds it."""
    echo(usecase.unlock(settings_of(ctx)))
    return ExitCode.OK
