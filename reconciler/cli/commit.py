"""``reconciler commit``: record the state and artifacts of an apply in git, and push them."""

from __future__ import annotations

import os

import click

from reconciler.cli.base import ExitCode, _parse_shard, cli, echo, settings_of
from reconciler.usecases.commit import CommitRequest
from reconciler.usecases.commit import commit as commit_state


@cli.command()
@click.option("--message", "-m", "subject", help="Subject line (default: one naming the apply).")
@click.option("--remote", help="Remote to push to (default: git.remote, origin).")
@click.option(
    "--branch",
    help="Branch to push to (default: git.stateBranch, else the checked-out branch).",
)
@click.option(
    "--attempts",
    type=click.IntRange(1, 20),
    help="Pushes to try before giving up (default: git.pushAttempts, 5).",
)
@click.option("--push/--no-push", default=True, show_default=True, help="Push after committing.")
@click.option(
    "--retry-delay",
    type=click.FloatRange(0.0, 60.0),
    default=1.0,
    show_default=True,
    hidden=True,  # the backoff base in seconds; tests make it small
)
@click.option(
    "--allow-dirty",
    is_flag=True,
    help="Commit although specs/ or reconciler.yaml differ from the checked-out commit.",
)
@click.option(
    "--shard",
    callback=_parse_shard,
    metavar="K/N",
    help="Name the apply of shard K of N (apply --shard K/N): the subject and trailers come "
    "from its apply.json (artifacts/ENV/shards/K-of-N/); the commit still holds the "
    "environment's whole state and artifacts.",
)
@click.pass_context
def commit(
    ctx: click.Context,
    subject: str | None,
    remote: str | None,
    branch: str | None,
    attempts: int | None,
    push: bool,
    retry_delay: float,
    allow_dirty: bool,
    shard: tuple[int, int] | None,
) -> int:
    """Commit only this environment's state and artifacts, with trailers naming the apply.

    On a rejected push: fetch, rebuild the commit on top, retry with jittered backoff; never
    force. Stops, changing nothing, if another push recorded the same executions meanwhile.
    Run it after a failed apply too: failures belong in the record.
    """
    settings = settings_of(ctx)
    request = CommitRequest(
        subject, remote, branch, attempts, push, retry_delay, shard, allow_dirty=allow_dirty
    )
    done = commit_state(settings, request, os.environ)
    if done.published is None:
        echo(
            f"Nothing to commit: the state and artifacts of {settings.environment} "
            "are already in git."
        )
        return ExitCode.OK
    published, policy = done.published, done.policy
    on = f" on {done.branch}" if done.branch else ""
    where = f"pushed to {policy.remote}{on}" if policy else f"committed locally{on} (not pushed)"
    tries = f" after {published.attempts} attempts" if published.attempts > 1 else ""
    applies = f", recording {done.applies} applies" if done.applies > 1 else ""
    echo(f"{published.commit[:12]}: {len(published.files)} file(s) {where}{tries}{applies}.")
    return ExitCode.OK
