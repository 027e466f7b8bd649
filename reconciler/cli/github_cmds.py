"""``reconciler github``: the plan comment on a pull request, and the reviewed plan at merge.

Both commands talk to the GitHub REST API with ``GITHUB_TOKEN`` for ``GITHUB_REPOSITORY`` at
``GITHUB_API_URL`` (the variables every Actions job has). The token is masked in the job log
before anything else is printed, and no message ever contains it.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TypeVar

import click

from reconciler.cli.base import ExitCode, cli, echo, settings_of
from reconciler.clock import SystemClock
from reconciler.errors import UserError
from reconciler.files import write_atomic
from reconciler.github import workflow as github
from reconciler.github.api import DEFAULT_API_URL, GitHub, Token
from reconciler.github.comment import (
    SHA_PATTERN,
    CommentContext,
    check_environment,
    parse_plan,
    render_comment,
)
from reconciler.github.reviewed import (
    Found,
    NotFound,
    find_reviewed_plan,
    head_moved,
    upsert_comment,
)

T = TypeVar("T")

BOT = "github-actions[bot]"
_REPOSITORY = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+\Z")
_URL = re.compile(r"https?://[^\s()<>\[\]\"'`]+\Z")

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
    if details_url is not None and not _URL.match(details_url):
        raise UserError(f"--details-url {details_url!r}: expected an http(s) URL")
    if head_sha is not None and not SHA_PATTERN.match(head_sha):
        raise UserError(f"--head-sha {head_sha!r}: expected 40 hexadecimal digits")
    try:
        data = plan_path.read_bytes()
    except OSError as exc:
        raise UserError(f"{plan_path}: cannot read the plan ({exc.strerror})") from None
    document = parse_plan(data, str(plan_path))
    env = check_environment(environment or document.environment)
    if document.environment != env:
        raise UserError(f"{plan_path}: the plan is for {document.environment}, not {env}")
    body = render_comment(
        document,
        CommentContext(environment=env, run_id=run_id, head_sha=head_sha, details_url=details_url),
    )
    gh = _client(os.environ)
    actions = github.Actions.from_env(os.environ)

    async def work() -> str:
        async with gh:
            if head_sha is not None:
                moved = await head_moved(gh, number, head_sha)
                if moved is not None:
                    return (
                        f"pull request #{number} is now at {moved.head_sha[:12]}, not "
                        f"{head_sha[:12]}: this plan is not posted (the newer one will be)"
                    )
            done = await upsert_comment(gh, number, env, body, author=author or None)
        if actions is not None:
            actions.set_outputs([("comment-id", str(done.comment_id)), ("result", done.action)])
        extra = f" ({done.duplicates} older duplicate(s) left alone)" if done.duplicates else ""
        return f"plan comment {done.action} on pull request #{number} ({env}){extra}"

    message = _run(work)
    echo(message)
    if not document.consistent:
        _notice(
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
    if not SHA_PATTERN.match(sha):
        raise UserError(f"--sha {sha!r}: expected 40 hexadecimal digits")
    env = check_environment(environment or settings_of(ctx).environment)
    gh = _client(os.environ)

    async def work() -> Found | NotFound:
        async with gh:
            return await find_reviewed_plan(gh, sha, env, artifact=artifact, author=author or None)

    found = _run(work)
    actions = github.Actions.from_env(os.environ)
    if not isinstance(found, Found):
        _notice("notice", f"no reviewed plan: {found.reason}; apply runs without one")
        if actions is not None:
            actions.set_outputs([("found", "false"), ("pr", str(found.pull or ""))])
        return ExitCode.OK
    output_path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(output_path, found.plan)
    digest = found.marker.digest or ""
    echo(
        f"reviewed plan of pull request #{found.pull.number} ({env}, {digest}, plan run "
        f"{found.marker.run_id}) written to {output_path}"
    )
    if found.stale:
        _notice(
            "warning",
            f"the plan comment of #{found.pull.number} is for an earlier commit of the pull "
            "request than the one merged; the apply will show what differs",
        )
    if actions is not None:
        actions.set_outputs(
            [
                ("found", "true"),
                ("pr", str(found.pull.number)),
                ("plan-digest", digest),
                ("path", str(output_path)),
            ]
        )
    return ExitCode.OK


def _client(environ: Mapping[str, str]) -> GitHub:
    value = environ.get("GITHUB_TOKEN") or environ.get("GH_TOKEN") or ""
    if not value:
        raise UserError(
            "GITHUB_TOKEN is not set",
            hint="pass the job's token in the step's env: (GITHUB_TOKEN: ${{ github.token }})",
        )
    if environ.get("GITHUB_ACTIONS") == "true":
        echo(github.mask(value))  # first, before anything could echo it
    repository = environ.get("GITHUB_REPOSITORY", "")
    if not _REPOSITORY.match(repository):
        raise UserError(
            f"GITHUB_REPOSITORY {repository!r}: expected owner/name",
            hint="it is set in every GitHub Actions job",
        )
    api_url = environ.get("GITHUB_API_URL") or DEFAULT_API_URL
    if not _URL.match(api_url):
        raise UserError(f"GITHUB_API_URL {api_url!r}: expected an http(s) URL")
    return GitHub(repository, Token(value), clock=SystemClock(), api_url=api_url)


def _run(work: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await work()

    return asyncio.run(main())


def _notice(level: str, message: str) -> None:
    if os.environ.get("GITHUB_ACTIONS") == "true":
        echo(github.annotation(level, message, title="reconciler github"))
    else:
        echo(f"{level}: {message}", err=True)
