"""``reconciler commit``: record the state and artifacts of an apply in git, and push them."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

import click

from reconciler.cli.base import SHARD_OPTION, ExitCode, cli, echo, settings_of
from reconciler.config.settings import Settings
from reconciler.errors import UserError
from reconciler.git.publish import Git, GitError, PushPolicy, commit_message, run_url
from reconciler.retry import Backoff
from reconciler.store.state import supersedes


@cli.command()
@click.option("--message", "-m", "subject", help="Subject line (default: one naming the apply).")
@click.option("--remote", help="Remote to push to (default: git.remote, origin).")
@click.option("--branch", help="Branch to push to (default: the checked-out branch).")
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
@SHARD_OPTION
@click.pass_context
def commit(
    ctx: click.Context,
    subject: str | None,
    remote: str | None,
    branch: str | None,
    attempts: int | None,
    push: bool,
    retry_delay: float,
    shard: tuple[int, int] | None,
) -> int:
    """Commit only this environment's state and artifacts, with trailers naming the apply.

    On a rejected push: fetch, rebuild the commit on top, retry with jittered backoff; never
    force. Stops, changing nothing, if another push recorded the same executions meanwhile.
    Run it after a failed apply too: failures belong in the record.
    """
    settings = settings_of(ctx)
    environment = settings.environment
    record = _apply_record(settings, shard)
    message = commit_message(
        subject or _subject(environment, record),
        "",
        _trailers(environment, record, os.environ),
    )
    paths = [
        settings.state_dir / environment,
        settings.artifacts_dir / environment,
        settings.state_dir / ".gitignore",  # keeps the apply lock out of history
    ]
    policy = None
    if push:
        policy = PushPolicy(
            remote=remote or settings.git.remote,
            branch=branch,
            attempts=attempts or settings.git.push_attempts,
            backoff=Backoff(base=retry_delay, cap=max(retry_delay, 30.0 * retry_delay)),
        )
    try:
        published = Git(settings.root).publish(
            paths,
            message,
            policy=policy,
            guarded=[settings.state_dir],
            supersedes=lambda _name, theirs, ours: supersedes(theirs, ours),
        )
    except GitError as exc:
        raise UserError(exc.message, hint=exc.hint) from None
    if published is None:
        echo(f"Nothing to commit: the state and artifacts of {environment} are already in git.")
        return ExitCode.OK
    where = f"pushed to {policy.remote}" if policy else "committed locally (not pushed)"
    tries = f" after {published.attempts} attempts" if published.attempts > 1 else ""
    echo(f"{published.commit[:12]}: {len(published.files)} file(s) {where}{tries}.")
    return ExitCode.OK


def _apply_record(settings: Settings, shard: tuple[int, int] | None) -> dict[str, Any]:
    folder = settings.artifacts_dir / settings.environment
    if shard:
        folder = folder / "shards" / f"{shard[0]}-of-{shard[1]}"
    path = folder / "apply.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: not a readable apply record ({exc})") from None
    return data if isinstance(data, dict) else {}


def _subject(environment: str, record: dict[str, Any]) -> str:
    outcomes = record.get("outcomes")
    if not isinstance(outcomes, dict):
        return f"reconciler: record state of {environment}"
    counts = ", ".join(f"{n} {o}" for o, n in outcomes.items() if isinstance(n, int) and n)
    shard = f" shard {record['shard']}" if record.get("shard") else ""
    return f"reconciler: apply {environment}{shard}: {counts or 'nothing ran'}"


def _trailers(
    environment: str, record: dict[str, Any], environ: Mapping[str, str]
) -> dict[str, str]:
    trailers = {"Reconciler-Environment": environment}
    if isinstance(record.get("planDigest"), str):
        trailers["Reconciler-Plan-Digest"] = record["planDigest"]
    reviewed = record.get("reviewed")
    if isinstance(reviewed, dict) and isinstance(reviewed.get("status"), str):
        trailers["Reconciler-Reviewed"] = reviewed["status"]
    outcomes = record.get("outcomes")
    if isinstance(outcomes, dict):
        trailers["Reconciler-Counts"] = " ".join(f"{o}={n}" for o, n in outcomes.items())
    if record.get("shard"):
        trailers["Reconciler-Shard"] = str(record["shard"])
    url = run_url(environ)
    if url:
        trailers["Reconciler-Run-URL"] = url
    return trailers
