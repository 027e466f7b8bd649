"""Repair commands: cancel a running execution, release a stale lock."""

from __future__ import annotations

import os
from pathlib import Path

import click

from reconciler.cli.base import ExitCode, cli, echo, settings_of, spec_context
from reconciler.clock import SystemClock
from reconciler.errors import UserError
from reconciler.usecases import status as usecase


@cli.command()
@click.argument("name")
@click.pass_context
def cancel(ctx: click.Context, name: str) -> int:
    """Cancel the running execution NAME on the platform."""
    settings = settings_of(ctx)

    def spec_names() -> list[str]:  # only for a name with no recorded run: a clearer refusal
        from reconciler.usecases.specs import execution_names

        return execution_names(settings, spec_context(ctx, settings), cwd=Path.cwd())

    execution_id = usecase.cancel(
        settings, name, environ=os.environ, clock=SystemClock(), spec_names=spec_names
    )
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


@state.command(name="pull")
@click.pass_context
def pull(ctx: click.Context) -> int:
    """Fetch git.stateBranch and merge this environment's state and artifacts into the folders."""
    from reconciler.usecases.statebranch import pull_state

    settings = settings_of(ctx)
    merged = pull_state(settings, os.environ, lock=True)
    if merged is None:
        raise UserError(
            "no git.stateBranch in reconciler.yaml: the state is on the checked-out branch"
        )
    echo(merged.text())
    return ExitCode.OK


@state.command(name="import")
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
@click.pass_context
def import_(ctx: click.Context, folder: Path) -> int:
    """Merge state and artifacts saved under FOLDER into this checkout.

    FOLDER mirrors the repository (state/ENV/..., artifacts/ENV/...), e.g. the workflow
    artifact of an apply whose push failed. A file is taken unless ours is newer.
    """
    from reconciler.usecases.statebranch import import_state

    echo(import_state(settings_of(ctx), folder, lock=True).text())
    return ExitCode.OK
