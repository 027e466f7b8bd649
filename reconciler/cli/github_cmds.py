"""``reconciler github``: the plan comment on a pull request, and the reviewed plan at merge.

Options, printing and exit codes only; the work is ``usecases.pull_request``. Both commands
talk to the GitHub REST API with the job's token, repository and API URL (read by
``github.context``, the variables every Actions job has). The token is masked in the job log
before anything else is printed, and no message ever contains it.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import click

from reconciler.cli.base import ExitCode, cli, echo, echo_command, echo_mask, scrub, settings_of
from reconciler.clock import SystemClock
from reconciler.github import workflow as github
from reconciler.github.api import GitHub
from reconciler.github.comment import check_environment
from reconciler.github.context import GitHubContext
from reconciler.usecases import pull_request as usecase

BOT = "github-actions[bot]"

AUTHOR_OPTION = click.option(
    "--author",
    default=BOT,
    show_default=True,
    help="Only a comment by this login counts as the plan comment ('' for any author).",
)


@cli.group(name="github")
def github_group() -> None:
    """The plan on a pull request: the sticky comment, and the reviewed plan at merge."""


@github_group.command()
@click.option(
    "--plan",
    "plan_path",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="The plan to show (plan --output json), e.g. from the pull request's artifact.",
)
@click.option("--pr", "number", required=True, type=click.IntRange(1), help="Pull request number.")
@click.option(
    "--environment", help="Environment the comment is for (default: the plan's environment)."
)
@click.option("--details-url", help="Where the full plan is: the plan run, with its artifact.")
@click.option(
    "--run-id", type=click.IntRange(1), help="The workflow run that made the plan (its artifact)."
)
@click.option(
    "--head-sha",
    help="The commit the plan was made for; nothing is posted if the pull request moved on.",
)
@AUTHOR_OPTION
def comment(
    plan_path: Path,
    number: int,
    environment: str | None,
    details_url: str | None,
    run_id: int | None,
    head_sha: str | None,
    author: str,
) -> int:
    """Create or update, in place, the pull request's plan comment for one environment."""
    request = usecase.CommentRequest(
        plan_path, number, environment, details_url, run_id, head_sha, author or None
    )
    prepared = usecase.prepare_comment(request)
    prepared = dataclasses.replace(prepared, body=scrub(prepared.body))  # a sink like any other
    context = GitHubContext.from_environ(os.environ)
    gh = _client(context)
    done = usecase.post_comment(prepared, request, gh, github.Actions.of(context, scrub))
    env = prepared.environment
    if isinstance(done, usecase.Moved):
        echo(
            f"pull request #{number} is now at {done.head_sha[:12]}, not "
            f"{(head_sha or '')[:12]}: this plan is not posted (the newer one will be)"
        )
    else:
        extra = f" ({done.duplicates} older duplicate(s) left alone)" if done.duplicates else ""
        echo(f"plan comment {done.action} on pull request #{number} ({env}){extra}")
    if not prepared.document.consistent:
        _notice(
            context,
            "warning",
            f"{plan_path}: the plan's digest does not match its actions; "
            "the comment says so and records no digest",
        )
    return ExitCode.OK


@github_group.command(name="reviewed-plan")
@click.option("--sha", required=True, help="The commit on the default branch being applied.")
@click.option(
    "--output",
    "output_path",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Where to write the reviewed plan (for apply --reviewed-plan). Not written if none.",
)
@click.option("--environment", help="Environment (default: --env, then the configured one).")
@click.option(
    "--artifact",
    default="reconciler-plan",
    show_default=True,
    help="Name of the plan run's artifact holding plan.json.",
)
@AUTHOR_OPTION
@click.pass_context
def reviewed_plan(
    ctx: click.Context,
    sha: str,
    output_path: Path,
    environment: str | None,
    artifact: str,
    author: str,
) -> int:
    """Fetch the plan reviewed on the pull request merged as SHA, for apply --reviewed-plan.

    Finds the pull request, its plan comment (the digest and the plan run), and that run's
    plan artifact, and checks the artifact is the plan the comment showed. When any of that is
    missing it says why, writes nothing and exits 0: the apply then reports "reviewed: none"
    (or refuses, with --require-reviewed).
    """
    usecase.check_sha("--sha", sha)
    env = check_environment(environment or settings_of(ctx).environment)
    context = GitHubContext.from_environ(os.environ)
    gh = _client(context)
    found = usecase.fetch_reviewed_plan(
        gh,
        sha,
        env,
        output_path,
        artifact=artifact,
        author=author or None,
        actions=github.Actions.of(context, scrub),
    )
    if not isinstance(found, usecase.Found):
        _notice(context, "notice", f"no reviewed plan: {found.reason}; apply runs without one")
        return ExitCode.OK
    echo(
        f"reviewed plan of pull request #{found.pull.number} ({env}, {found.marker.digest or ''}, "
        f"plan run {found.marker.run_id}) written to {output_path}"
    )
    if found.stale:
        _notice(
            context,
            "warning",
            f"the plan comment of #{found.pull.number} is for an earlier commit of the pull "
            "request than the one merged; the apply will show what differs",
        )
    return ExitCode.OK


def _client(context: GitHubContext) -> GitHub:
    token = context.require_token()
    if context.in_actions:
        echo_mask(token)  # first, before anything could echo it
    return context.client(clock=SystemClock())


def _notice(context: GitHubContext, level: str, message: str) -> None:
    if context.in_actions:
        echo_command(github.annotation(level, message, title="reconciler github"))
    else:
        echo(f"{level}: {message}", err=True)
