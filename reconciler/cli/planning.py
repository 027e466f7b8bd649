"""Read-only commands: validate, plan, render, status. None needs credentials or network.

Each parses its options, calls its use case (``usecases.specs``, ``usecases.plan``,
``usecases.status``), prints and returns an exit code. The use cases that need the state store
or the wire format, the reports and the GitHub output are imported by the commands (and the
output formats) that use them, so ``validate`` of valid specs starts without them
(``tests/cli/test_lazy_imports.py``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from reconciler.cli.base import (
    SELECT_HELP,
    SHARD_OPTION,
    VAR_OPTION,
    ExitCode,
    add_secrets,
    cli,
    echo,
    echo_command,
    scrub,
    settings_of,
    spec_context,
)
from reconciler.cli.terminal import echo_painted, painter, text_width
from reconciler.errors import InvalidSpecs

if TYPE_CHECKING:
    from reconciler.config.settings import Settings
    from reconciler.model import Plan

FETCH_STATE_OPTION = click.option(
    "--fetch-state/--no-fetch-state",
    default=True,
    help="With git.stateBranch: fetch the state branch and merge it first (default: on).",
)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--output", type=click.Choice(["text", "github", "json"]), default="text", show_default=True
)
@VAR_OPTION
@click.pass_context
def validate(ctx: click.Context, paths: tuple[Path, ...], output: str) -> int:
    """Check spec files (default: the configured specs folder) against the schema."""
    from reconciler.usecases import specs as spec_usecases

    settings = settings_of(ctx)
    loaded = spec_usecases.validate(settings, paths, spec_context(ctx, settings), cwd=Path.cwd())
    if output != "json":  # property values taken as written (docs/specs.md)
        for notice in loaded.notices:
            echo(f"notice: {notice}", err=True)
    if output == "json":
        from reconciler.report import renderers as report

        echo(report.diagnostics_json(loaded.diagnostics, loaded.files).rstrip("\n"))
    elif output == "github" and loaded.diagnostics:
        from reconciler.github import workflow as github

        # Annotations (capped) name files from the repository root; the rest are listed.
        cwd, root = Path.cwd(), github.workspace(os.environ)
        for line in github.diagnostic_annotations(loaded.diagnostics, cwd=cwd, workspace=root):
            echo_command(line)
        for line in github.unannotated(loaded.diagnostics, cwd=cwd, workspace=root):
            echo(line)
    if loaded.diagnostics:
        if output == "text":
            raise InvalidSpecs(loaded.diagnostics)
        return ExitCode.ERROR
    if output == "text":
        echo(f"{loaded.files} file(s), {len(loaded.runs)} execution(s): all valid.")
    return ExitCode.OK


@cli.command()
@click.option(
    "--output", type=click.Choice(["text", "markdown", "json"]), default="text", show_default=True
)
@click.option(
    "--detailed-exitcode", is_flag=True, help="Exit 2 when changes are pending, 0 when none."
)
@click.option("--select", "select", multiple=True, help=SELECT_HELP)
@click.option(
    "--markdown-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the plan as markdown to this file (one plan, two renderings).",
)
@click.option(
    "--rerun",
    multiple=True,
    metavar="NAME|SELECTOR",
    help="Show the plan of apply --rerun: a new run of each selected execution whose last run "
    "failed, was aborted or discarded, or was rejected. Repeatable.",
)
@click.option(
    "--allow-empty-select",
    is_flag=True,
    help="A --select or --rerun selector that matches no execution is a notice, not an error.",
)
@click.option(
    "--check-secrets",
    is_flag=True,
    help="Also check that every secret the runs to send need is set here, as apply does before "
    "its first submit; exit 1 listing each missing one (names, never values).",
)
@SHARD_OPTION
@FETCH_STATE_OPTION
@click.option(
    "--reviewed-plan",
    "reviewed_plans",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Compare with plans reviewed on pull requests (files, or folders of them), execution "
    "by execution, as apply does; the comparison goes to stderr and the job summary.",
)
@click.option(
    "--refresh",
    is_flag=True,
    help="Also ask the platform, read-only, what `reconciler check` asks; its findings follow "
    'the plan (JSON: under "check"), and an error among them exits 1.',
)
@VAR_OPTION
@click.pass_context
def plan(
    ctx: click.Context,
    output: str,
    detailed_exitcode: bool,
    select: tuple[str, ...],
    markdown_file: Path | None,
    rerun: tuple[str, ...],
    allow_empty_select: bool,
    check_secrets: bool,
    shard: tuple[int, int] | None,
    fetch_state: bool,
    reviewed_plans: tuple[Path, ...],
    refresh: bool,
) -> int:
    """Show what apply would do, and why. Needs no credentials and no platform access."""
    from reconciler.github import workflow as github
    from reconciler.plan.planner import Selection
    from reconciler.report import renderers as report
    from reconciler.usecases.inputs import plan_requests, secret_values
    from reconciler.usecases.plan import make_plan, publish_plan

    settings = settings_of(ctx)
    _pull(settings, fetch_state)
    selection = Selection(patterns=select, shard=shard, rerun=rerun, allow_empty=allow_empty_select)
    the_plan = make_plan(settings, selection, spec_context(ctx, settings), cwd=Path.cwd())
    for notice in the_plan.notices:
        echo(f"notice: {notice}", err=True)
    add_secrets(secret_values(plan_requests(the_plan), os.environ))  # state may hold echoes
    renderers: dict[str, Callable[[Plan], str]] = {
        "text": lambda plan: report.plan_text(plan, width=text_width(), paint=painter()),
        "markdown": report.plan_markdown,
        "json": report.plan_json,
    }
    shown, failed = renderers[output](the_plan).rstrip("\n"), False
    if refresh:
        from reconciler.cli.check import refreshed

        shown, failed = refreshed(settings, the_plan, output, shown)
    echo_painted(shown)
    actions = github.Actions.from_env(os.environ, scrub)
    publish_plan(the_plan, markdown_file=markdown_file, actions=actions)
    if reviewed_plans:
        from reconciler.model.digest import plan_digest
        from reconciler.plan.review import compare_each
        from reconciler.usecases.reviewed import read_reviewed_plans

        review = compare_each(read_reviewed_plans(reviewed_plans), the_plan, plan_digest(the_plan))
        echo(review.text(), err=True)
        if actions is not None:
            actions.append_summary(f"\n{review.markdown()}\n")
            actions.set_outputs([("reviewed", review.status)])
    if check_secrets:
        _check_secrets(settings, the_plan)
    if failed:
        return ExitCode.ERROR
    return ExitCode.CHANGES if detailed_exitcode and the_plan.has_changes else ExitCode.OK


def _check_secrets(settings: Settings, the_plan: Plan) -> None:
    """``plan --check-secrets``: raise listing every missing secret, or say they are set."""
    from reconciler.config.secrets import SecretsMissing
    from reconciler.usecases.inputs import check_secrets

    found = check_secrets(settings, the_plan, os.environ)
    if found:
        raise SecretsMissing(found, what="apply would submit nothing (plan --check-secrets)")
    echo(f"check-secrets: {found.checked} secret(s) of the runs to send are set", err=True)


@cli.command()
@VAR_OPTION
@click.argument("name")
@click.pass_context
def render(ctx: click.Context, name: str) -> int:
    """Print the exact request body NAME would send (secrets as references) and its digest."""
    from reconciler.usecases import specs as spec_usecases

    settings = settings_of(ctx)
    body, digest = spec_usecases.request_body(
        settings, name, spec_context(ctx, settings), cwd=Path.cwd()
    )
    echo(json.dumps(body, indent=2, ensure_ascii=False))
    echo(f"digest: {digest}")
    return ExitCode.OK


@cli.command()
@click.option(
    "--output",
    type=click.Choice(["text", "markdown", "json"]),
    default="text",
    show_default=True,
    help="json: a stable shape for tools (docs/engine.md); markdown: for a job summary.",
)
@FETCH_STATE_OPTION
@click.pass_context
def status(ctx: click.Context, output: str, fetch_state: bool) -> int:
    """Show the recorded state of every execution."""
    from reconciler.report import status as shown
    from reconciler.usecases.inputs import secret_values
    from reconciler.usecases.status import status as recorded

    settings = settings_of(ctx)
    _pull(settings, fetch_state)
    environment, entries = recorded(settings)
    add_secrets(secret_values((entry.request for entry in entries.values()), os.environ))
    if output == "json":
        echo(shown.status_json(entries, environment).rstrip("\n"))
    elif output == "markdown":
        echo(shown.status_markdown(entries, environment).rstrip("\n"))
    else:
        echo_painted(shown.status_text(entries, environment, paint=painter()))
    return ExitCode.OK


def _pull(settings: Settings, fetch: bool) -> None:
    """With git.stateBranch: merge the state branch into the folders first (said on stderr)."""
    if not fetch or settings.git.state_branch is None:
        return
    from reconciler.usecases.statebranch import pull_state

    merged = pull_state(settings, os.environ)
    if merged is not None:
        echo(merged.text(), err=True)
