"""``reconciler history NAME``: every run of one execution, read back from git.

Parses the options, calls ``usecases.history``, prints one of the renderings in
``history_render`` and returns an exit code. Reads git only: no credentials, no network but
the fetch of the state branch when ``git.stateBranch`` is set.
"""

from __future__ import annotations

import os

import click

from reconciler.cli.base import ExitCode, add_secrets, cli, echo, settings_of


@cli.command()
@click.argument("name")
@click.option(
    "--limit",
    type=click.IntRange(1, 10_000),
    default=20,
    show_default=True,
    help="Show at most this many runs, the newest.",
)
@click.option(
    "--output", type=click.Choice(["text", "markdown", "json"]), default="text", show_default=True
)
@click.pass_context
def history(ctx: click.Context, name: str, limit: int, output: str) -> int:
    """Every run of execution NAME recorded in git: when, specs commit, plan, outcome, who.

    Reads the git log of the execution's state file, on the state branch (git.stateBranch,
    fetched from git.remote) or else on HEAD, one row per run, newest first. A version that
    cannot be read is listed as unreadable, never skipped.
    """
    from reconciler.cli import history_render as render
    from reconciler.usecases.history import history as read_history
    from reconciler.usecases.inputs import secret_values

    found = read_history(settings_of(ctx), name, limit=limit)
    add_secrets(secret_values(found.requests, os.environ))  # state may hold echoes of them
    if output == "json":
        echo(render.history_json(found).rstrip("\n"))
    elif output == "markdown":
        echo(render.history_markdown(found).rstrip("\n"))
    else:
        echo(render.history_text(found))
    return ExitCode.OK
