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
from reconciler.errors import GitHubError, UserError
from reconciler.github import workflow as github
from reconciler.github.api import GitHub
from reconciler.github.comment import check_environment
from reconciler.github.context import GitHubContext
from reconciler.github.merged import MISSING_FILE
from reconciler.github.reviewed import plan_artifacts
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
@click.option(
    "--check",
    "check_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also show this read-only check (check --output json) below the plan.",
)
def comment(
    plan_path: Path,
    number: int,
    environment: str | None,
    details_url: str | None,
    run_id: int | None,
    head_sha: str | None,
    author: str,
    check_path: Path | None,
) -> int:
    """Create or update, in place, the pull request's plan comment for one environment."""
    request = usecase.CommentRequest(
        plan_path,
        number,
        environment,
        details_url,
        run_id,
        head_sha,
        author or None,
        check_path=check_path,
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
@click.option(
    "--sha", required=True, help="The commit on the default branch being applied (the tip)."
)
@click.option(
    "--output",
    "output_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the plan reviewed on the pull request merged as --sha to this file.",
)
@click.option(
    "--output-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Write the plan of every pull request merged since --since to this folder "
    "(pr-N.json, pr-N.meta.json, missing.meta.json).",
)
@click.option(
    "--since",
    help="With --output-dir: the last commit applied (excluded); the first-parent commits "
    "after it, up to --sha, are read. Without it, only --sha's pull request.",
)
@click.option(
    "--since-applied",
    is_flag=True,
    help="With --output-dir: since the specs commit of the environment's last recorded apply "
    "(on the state branch, or in this checkout's history).",
)
@click.option(
    "--max-commits",
    type=click.IntRange(1, 1000),
    default=usecase.MAX_COMMITS,
    show_default=True,
    help="With --output-dir: read at most this many merged commits, the newest.",
)
@click.option("--environment", help="Environment (default: --env, then the configured one).")
@click.option(
    "--artifact",
    help="Name of the plan run's artifact holding plan.json "
    "(default: reconciler-plan-ENV, then reconciler-plan).",
)
@AUTHOR_OPTION
@click.pass_context
def reviewed_plan(
    ctx: click.Context,
    sha: str,
    output_path: Path | None,
    output_dir: Path | None,
    since: str | None,
    since_applied: bool,
    max_commits: int,
    environment: str | None,
    artifact: str | None,
    author: str,
) -> int:
    """Fetch the plans reviewed on the merged pull requests, for apply --reviewed-plan.

    For each pull request: its plan comment (the digest and the plan run) and that run's plan
    artifact, checked to be the plan the comment showed. With --output, the one pull request
    merged as SHA; with --output-dir, every one merged since --since. When a plan is missing
    it says why and exits 0: the apply then names what no review covers (and refuses, with
    --require-reviewed).
    """
    usecase.check_sha("--sha", sha)
    if (output_path is None) == (output_dir is None):
        raise UserError("expected one of --output FILE (one pull request) or --output-dir DIR")
    if since is not None and since_applied:
        raise UserError("expected --since SHA or --since-applied, not both")
    if since is not None:
        usecase.check_sha("--since", since)
    if (since is not None or since_applied) and output_dir is None:
        raise UserError("--since and --since-applied need --output-dir: they read every merge")
    settings = settings_of(ctx)
    env = check_environment(environment or settings.environment)
    artifacts = plan_artifacts(env, artifact)
    context = GitHubContext.from_environ(os.environ)
    actions = github.Actions.of(context, scrub)
    if output_dir is not None:
        if since_applied:
            settings = settings.model_copy(update={"environment": env})
            since, note = usecase.since_applied(settings, os.environ, sha)
            if note is not None:
                _notice(context, "notice", note)
        request = usecase.CollectRequest(
            settings.root,
            sha,
            since,
            output_dir,
            env,
            artifacts,
            author or None,
            max_commits,
            everything=since_applied and since is None,
        )
        return _collect(request, context, actions)
    assert output_path is not None  # noqa: S101 - checked above
    found = usecase.fetch_reviewed_plan(
        _client(context),
        sha,
        env,
        output_path,
        artifacts=artifacts,
        author=author or None,
        actions=actions,
    )
    if not isinstance(found, usecase.Found):
        _notice(context, "notice", f"no reviewed plan: {found.reason}; apply runs without one")
        return ExitCode.OK
    _found(context, found, env, output_path)
    return ExitCode.OK


def _collect(
    request: usecase.CollectRequest, context: GitHubContext, actions: github.Actions | None
) -> int:
    folder, env = request.output_dir, request.environment
    done = usecase.collect_reviewed_plans(request, _client(context), actions)
    for item in done.collection.reviewed:
        number = item.found.pull.number
        _found(context, item.found, env, folder / f"pr-{number}.json")
    for missing in done.collection.missing:
        _notice(
            context,
            "notice",
            f"no reviewed plan for commit {missing.commit[:12]}: {missing.reason}",
        )
    since = f"since {request.since[:12]}" if request.since else f"as {request.tip[:12]}"
    if done.cut:
        _notice(
            context,
            "warning",
            f"more than {request.max_commits} commits merged {since}: only the newest "
            f"{request.max_commits} were read, no review of the older ones is collected",
        )
    found = len(done.collection.reviewed)
    uncovered = len(done.collection.missing)
    echo(
        f"{found} reviewed plan{'s' if found != 1 else ''} ({env}) of {done.commits} merged "
        f"commit{'s' if done.commits != 1 else ''} {since} written to {folder}"
        + (f"; {uncovered} without one, listed in {folder / MISSING_FILE}" if uncovered else "")
    )
    return ExitCode.OK


def _found(context: GitHubContext, found: usecase.Found, env: str, path: Path) -> None:
    echo(
        f"reviewed plan of pull request #{found.pull.number} ({env}, {found.marker.digest or ''}, "
        f"plan run {found.marker.run_id}) written to {path}"
    )
    if found.stale:
        _notice(
            context,
            "warning",
            f"the plan comment of #{found.pull.number} is for an earlier commit of the pull "
            "request than the one merged; the apply will show what differs",
        )


@github_group.command(name="apply-comment")
@click.option(
    "--record",
    "record_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The apply's record (default: the artifacts folder's ENV/apply.json).",
)
@click.option(
    "--junit",
    "junit_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The apply's JUnit report, for the runs that did not succeed "
    "(default: junit.xml beside the record, when there is one).",
)
@click.option(
    "--summary",
    "summary_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The apply's summary.md, shown folded in the comment.",
)
@click.option(
    "--reviewed-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="The folder reviewed-plan --output-dir wrote: every pull request it names is told.",
)
@click.option(
    "--pr",
    "numbers",
    multiple=True,
    type=click.IntRange(1),
    help="A pull request to tell as well (repeatable).",
)
@click.option("--environment", help="Environment (default: --env, then the configured one).")
@click.option("--run-url", help="The apply run's URL (default: this GitHub Actions run's).")
@click.option("--sha", "commit", help="The commit of the specs the apply ran from, to show.")
@click.option(
    "--expect-digest",
    help="Post nothing (exit 1) unless the record is for this plan digest: not an older apply's.",
)
@AUTHOR_OPTION
@click.pass_context
def apply_comment(
    ctx: click.Context,
    record_path: Path | None,
    junit_path: Path | None,
    summary_path: Path | None,
    reviewed_dir: Path | None,
    numbers: tuple[int, ...],
    environment: str | None,
    run_url: str | None,
    commit: str | None,
    expect_digest: str | None,
    author: str,
) -> int:
    """Post the apply's outcome to each merged pull request it covered.

    One comment per pull request and environment, updated in place by later applies: the
    counts by outcome, every run that failed, was rejected, is unknown, unsent or still
    running with its message, the review's status, the plan digest and the apply run. With
    no pull request to tell, it says so and exits 0.
    """
    settings = settings_of(ctx)
    env = check_environment(environment or settings.environment)
    context = GitHubContext.from_environ(os.environ)
    request = usecase.ApplyCommentRequest(
        record_path=record_path or settings.artifacts_dir / env / "apply.json",
        environment=env,
        junit_path=junit_path,
        summary_path=summary_path,
        reviewed_dir=reviewed_dir,
        numbers=numbers,
        run_url=run_url or context.run_url,
        commit=commit,
        expect_digest=expect_digest,
        author=author or None,
    )
    prepared = usecase.prepare_apply_comment(request)
    if not prepared.bodies:
        _notice(context, "notice", f"no pull request to tell about this apply ({env})")
        return ExitCode.OK
    prepared = usecase.PreparedApplyComment(
        bodies={n: scrub(body) for n, body in prepared.bodies.items()}  # a sink like any other
    )
    done = usecase.post_apply_comments(
        prepared, env, _client(context), author=author or None,
        actions=github.Actions.of(context, scrub),
    )  # fmt: skip
    failed = [(n, what) for n, what in done.items() if not isinstance(what, usecase.Upserted)]
    for number, what in done.items():
        if isinstance(what, usecase.Upserted):
            extra = f" ({what.duplicates} older duplicate(s) left alone)" if what.duplicates else ""
            echo(f"apply comment {what.action} on pull request #{number} ({env}){extra}")
    if failed:
        number, error = failed[0]
        more = f" (and {len(failed) - 1} more pull request(s))" if len(failed) > 1 else ""
        raise GitHubError(
            f"the apply comment could not be posted on pull request #{number}{more}: {error}"
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
