"""Read-only commands: validate, plan, render, status. None needs credentials or network.

The state store and the wire format are imported by the commands that use them, so
``validate`` starts without them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import click

from reconciler.cli.base import (
    SELECT_HELP,
    SHARD_OPTION,
    VAR_OPTION,
    ExitCode,
    cli,
    echo,
    load_plan,
    settings_of,
    spec_context,
)
from reconciler.errors import InvalidSpecs, UserError
from reconciler.files import write_atomic
from reconciler.github import workflow as github
from reconciler.model import ActionKind, Plan, PropertyValue, ResolvedRequest
from reconciler.model.digest import plan_digest
from reconciler.plan.planner import Selection
from reconciler.report import renderers as report
from reconciler.specs.load import load_desired, spec_paths


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--output", type=click.Choice(["text", "github", "json"]), default="text", show_default=True
)
@VAR_OPTION
@click.pass_context
def validate(ctx: click.Context, paths: tuple[Path, ...], output: str) -> int:
    """Check spec files (default: the configured specs folder) against the schema."""
    settings = settings_of(ctx)
    loaded = load_desired(
        spec_paths(paths, settings.specs_dir),
        root=Path.cwd(),
        context=spec_context(ctx, settings),
    )
    if output == "json":
        echo(report.diagnostics_json(loaded.diagnostics, loaded.files).rstrip("\n"))
    elif output == "github" and loaded.diagnostics:
        echo("\n".join(github.diagnostic_annotations(loaded.diagnostics)))
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
@SHARD_OPTION
@VAR_OPTION
@click.pass_context
def plan(
    ctx: click.Context,
    output: str,
    detailed_exitcode: bool,
    select: tuple[str, ...],
    markdown_file: Path | None,
    shard: tuple[int, int] | None,
) -> int:
    """Show what apply would do, and why. Needs no credentials and no network."""
    settings = settings_of(ctx)
    selection = Selection(patterns=select, shard=shard)
    the_plan, _ = load_plan(settings, selection, spec_context(ctx, settings))
    renderers: dict[str, Callable[[Plan], str]] = {
        "text": report.plan_text,
        "markdown": report.plan_markdown,
        "json": report.plan_json,
    }
    echo(renderers[output](the_plan).rstrip("\n"))
    if markdown_file is not None:
        try:
            write_atomic(markdown_file, report.plan_markdown(the_plan).encode("utf-8"))
        except OSError as exc:
            raise UserError(f"{markdown_file}: cannot write the plan ({exc.strerror})") from None
    actions = github.Actions.from_env(os.environ)
    if actions is not None:
        actions.append_summary(report.plan_markdown(the_plan))
        counts = {kind.value: the_plan.count(kind) for kind in ActionKind}
        digest = plan_digest(the_plan)
        actions.set_outputs(github.plan_outputs(digest, counts, the_plan.has_changes))
    return ExitCode.CHANGES if detailed_exitcode and the_plan.has_changes else ExitCode.OK


@cli.command()
@VAR_OPTION
@click.argument("name")
@click.pass_context
def render(ctx: click.Context, name: str) -> int:
    """Print the exact request body NAME would send (secrets as references) and its digest."""
    from reconciler.boomi.wire import execution_request_body

    settings = settings_of(ctx)
    loaded = load_desired(
        [settings.specs_dir], root=Path.cwd(), context=spec_context(ctx, settings)
    )
    if loaded.diagnostics:
        raise InvalidSpecs(loaded.diagnostics)
    run = next((r for r in loaded.runs if r.name == name), None)
    if run is None:
        names = ", ".join(r.name for r in loaded.runs[:20]) or "none"
        raise UserError(f"no execution named {name!r}", hint=f"expected one of: {names}")
    shown = ResolvedRequest.model_validate(
        {
            "process_id": run.request.process_id,
            "atom_id": run.request.atom_id,
            "dynamic_properties": {k: _shown(v) for k, v in run.request.dynamic_properties.items()},
            "process_properties": {
                c: {k: _shown(v) for k, v in values.items()}
                for c, values in run.request.process_properties.items()
            },
        }
    )
    echo(json.dumps(execution_request_body(shown), indent=2, ensure_ascii=False))
    echo(f"digest: {run.digest}")
    return ExitCode.OK


def _shown(value: PropertyValue) -> str:
    return value if isinstance(value, str) else f'{{{{ secret("{value.secret}") }}}}'


@cli.command()
@click.pass_context
def status(ctx: click.Context) -> int:
    """Show the recorded state of every execution."""
    from reconciler.store.state import StateStore

    settings = settings_of(ctx)
    store = StateStore(settings.state_dir, settings.environment)
    echo(report.status_text(store.snapshot(), store.environment))
    return ExitCode.OK
