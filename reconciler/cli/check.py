"""``reconciler check``: ask the platform, read-only, whether each execution can run.

Options in, the check use case (``usecases.check``), the report (``report.check``) out; in
GitHub Actions its markdown also goes to the job summary. Exit 1 when a finding would make the
apply fail (a process not deployed, a runtime offline, credentials or a privilege the apply
needs); with ``--strict`` also on warnings (drift) and on anything not checked (no credentials).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from reconciler.cli.base import (
    SELECT_HELP,
    VAR_OPTION,
    ExitCode,
    add_secrets,
    cli,
    echo,
    scrub,
    settings_of,
    spec_context,
)
from reconciler.cli.planning import FETCH_STATE_OPTION
from reconciler.cli.planning import _pull as pull_state_branch
from reconciler.clock import SystemClock
from reconciler.config.settings import Settings
from reconciler.github import workflow as github
from reconciler.model import Plan
from reconciler.plan.planner import Selection
from reconciler.report import check as report
from reconciler.usecases.check import CheckLimits, check_plan, check_plan_file
from reconciler.usecases.check import check as run_check
from reconciler.usecases.inputs import plan_requests, secret_values

STRICT_HELP = (
    "Exit 1 on warnings (runs outside git, a runtime with warnings) and on anything not "
    "checked (no credentials, a check the user may not read), not only on errors."
)
TIMEOUT_HELP = "Stop asking after this many seconds; what is left is reported as not checked."


@cli.command("check")
@click.option(
    "--output", type=click.Choice(["text", "markdown", "json"]), default="text", show_default=True
)
@click.option("--strict", is_flag=True, help=STRICT_HELP)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=CheckLimits.deadline,
    show_default=True,
    metavar="SECONDS",
    help=TIMEOUT_HELP,
)
@click.option(
    "--select",
    "select",
    multiple=True,
    help=SELECT_HELP.replace(
        "Selecting a manual execution by name runs it.", "Manual executions are checked too."
    ),
)
@click.option(
    "--plan",
    "plan_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Check the executions this plan document names (plan --output json, e.g. a pull "
    "request's artifact) instead of the specs: no spec is read and no template runs.",
)
@FETCH_STATE_OPTION
@VAR_OPTION
@click.pass_context
def check(
    ctx: click.Context,
    output: str,
    strict: bool,
    timeout: float,
    select: tuple[str, ...],
    plan_path: Path | None,
    fetch_state: bool,
) -> int:
    """Ask the platform (read-only) whether each execution can run, and what ran outside git.

    Per execution: the credentials and privileges work, the runtime exists and is online, the
    process is deployed to an environment attached to it, and which runs of it started since
    the last apply that git did not start. Without credentials it says what it could not
    check. Exit 1 on an error (with --strict: on any finding).
    """
    settings = settings_of(ctx)
    pull_state_branch(settings, fetch_state)
    limits = CheckLimits(deadline=timeout)
    if plan_path is not None:
        if select:
            raise click.UsageError("--select and --plan cannot be used together")
        found = check_plan_file(
            plan_path, settings, environ=os.environ, clock=SystemClock(), limits=limits
        )
    else:
        checked = run_check(
            settings,
            spec_context(ctx, settings),
            environ=os.environ,
            clock=SystemClock(),
            cwd=Path.cwd(),
            selection=Selection(patterns=select),
            limits=limits,
        )
        add_secrets(secret_values(plan_requests(checked.plan), os.environ))
        for notice in checked.plan.notices:
            echo(f"notice: {notice}", err=True)
        found = checked.report
    renderers = {
        "text": report.check_text,
        "markdown": report.check_markdown,
        "json": report.check_json,
    }
    echo(renderers[output](found).rstrip("\n"))
    actions = github.Actions.from_env(os.environ, scrub)
    if actions is not None:
        actions.append_summary(report.check_markdown(found))
    return ExitCode.ERROR if found.fails(strict=strict) else ExitCode.OK


def refreshed(settings: Settings, the_plan: Plan, output: str, shown: str) -> tuple[str, bool]:
    """``plan --refresh``: the plan as rendered, then the check of its executions.

    ``shown`` is the plan in ``output``'s format; in JSON the check goes under ``check``.
    Returns the text and whether the check found an error.
    """
    found = check_plan(the_plan, settings, environ=os.environ, clock=SystemClock())
    if output == "json":
        document = json.loads(shown)
        document["check"] = json.loads(report.check_json(found))
        shown = json.dumps(document, indent=2, ensure_ascii=False)
    elif output == "markdown":
        shown = f"{shown}\n\n{report.check_markdown(found, heading='####')}"
    else:
        shown = f"{shown}\n\n{report.check_text(found)}"
    return shown.rstrip("\n"), found.fails()
