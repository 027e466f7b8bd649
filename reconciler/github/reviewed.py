"""The plan on a pull request: keeping one sticky comment, and finding what was reviewed.

An edge over ``api`` and ``comment``. ``upsert_comment`` finds the comment whose first line is
this environment's marker (``comment.find_marker``: plan text shown below it cannot make one),
written by the expected author (anyone can paste a marker into a comment of their own; only
ours counts), and updates it in place or creates it: repeated runs leave exactly one.
``find_reviewed_plan`` goes from a commit on the default branch to the pull request merged as
it, to its plan comment, to the plan artifact of the run the comment names, and checks that
the artifact is the plan the comment showed (same digest, digest consistent with its actions,
which the digest covers with their reasons and field changes). Whatever is missing is a
``NotFound`` with a reason, not an error: applying without a reviewed plan is allowed, and the
apply then says ``reviewed: none``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from reconciler.errors import GitHubError, UserError
from reconciler.github.api import Comment, GitHub, PullRequest
from reconciler.github.comment import PLAN_SIZE_LIMIT, Marker, find_marker, parse_plan

PLAN_MEMBER = "plan.json"


@dataclass(frozen=True)
class Upserted:
    """What ``upsert_comment`` did."""

    action: Literal["created", "updated", "unchanged"]
    comment_id: int
    duplicates: int = 0  # further comments with our marker, left alone


@dataclass(frozen=True)
class Moved:
    """The pull request's head is no longer the commit the plan was made for."""

    head_sha: str


async def head_moved(github: GitHub, number: int, head_sha: str) -> Moved | None:
    """``Moved`` when pull request ``number``'s head is not ``head_sha`` (a newer plan follows)."""
    pull = await github.pull_request(number)
    return None if pull.head_sha == head_sha else Moved(head_sha=pull.head_sha)


def _ours(comments: list[Comment], environment: str, author: str | None) -> list[Comment]:
    return [
        c
        for c in comments
        if find_marker(c.body, environment) is not None and (author is None or c.author == author)
    ]


async def upsert_comment(
    github: GitHub, number: int, environment: str, body: str, *, author: str | None
) -> Upserted:
    """Update this environment's plan comment on ``number`` in place, or create it."""
    mine = _ours(await github.comments(number), environment, author)
    if mine:
        return await _update(github, mine, body)
    try:
        created = await github.create_comment(number, body)
    except GitHubError as exc:
        if exc.status_code is None or exc.status_code < 500:
            raise
        # A 5xx after a POST may still have created it: look before trying again.
        mine = _ours(await github.comments(number), environment, author)
        if mine:
            return await _update(github, mine, body)
        created = await github.create_comment(number, body)
    return Upserted(action="created", comment_id=created.id)


async def _update(github: GitHub, mine: list[Comment], body: str) -> Upserted:
    target = mine[0]
    if target.body == body:
        return Upserted(action="unchanged", comment_id=target.id, duplicates=len(mine) - 1)
    await github.update_comment(target.id, body)
    return Upserted(action="updated", comment_id=target.id, duplicates=len(mine) - 1)


@dataclass(frozen=True)
class Found:
    """The reviewed plan: the pull request, the comment's marker and the plan document."""

    pull: PullRequest
    marker: Marker
    plan: bytes
    stale: bool  # the comment is for an earlier head of the pull request


@dataclass(frozen=True)
class NotFound:
    """Why there is no reviewed plan for the commit."""

    reason: str
    pull: int | None = None


async def find_reviewed_plan(
    github: GitHub,
    sha: str,
    environment: str,
    *,
    artifact: str,
    author: str | None,
) -> Found | NotFound:
    """The plan reviewed on the pull request merged as ``sha``, or why there is none."""
    pull = _merged_as(await github.pulls_of_commit(sha), sha)
    if pull is None:
        return NotFound(f"no merged pull request for commit {sha[:12]}")
    where = f"pull request #{pull.number}"
    mine = _ours(await github.comments(pull.number), environment, author)
    if not mine:
        by = f" by {author}" if author else ""
        return NotFound(f"{where} has no plan comment for {environment}{by}", pull.number)
    marker = find_marker(mine[0].body, environment)
    if marker is None or marker.digest is None or marker.run_id is None:
        return NotFound(f"{where}: its plan comment records no reviewed digest", pull.number)
    try:
        artifacts = await github.artifacts(marker.run_id)
    except GitHubError as exc:
        if exc.status_code != 404:
            raise
        return NotFound(f"{where}: plan run {marker.run_id} no longer exists", pull.number)
    chosen = next((a for a in artifacts if a.name == artifact and not a.expired), None)
    if chosen is None:
        return NotFound(
            f"{where}: artifact {artifact!r} of plan run {marker.run_id} is missing or expired",
            pull.number,
        )
    data = await github.artifact_file(chosen, PLAN_MEMBER, PLAN_SIZE_LIMIT)
    if data is None:
        return NotFound(f"{where}: artifact {artifact!r} has no {PLAN_MEMBER}", pull.number)
    try:
        document = parse_plan(data, f"{artifact}/{PLAN_MEMBER}")
    except UserError as exc:
        return NotFound(f"{where}: {exc}", pull.number)
    if document.digest != marker.digest:
        return NotFound(
            f"{where}: the artifact's plan is not the plan the comment shows "
            f"(comment {marker.digest}, artifact {document.digest})",
            pull.number,
        )
    if not document.consistent:
        return NotFound(
            f"{where}: the artifact's plan digest {document.digest} is not the digest of the "
            "actions it lists (altered, or written by a version of reconciler whose digest "
            "covers other fields)",
            pull.number,
        )
    if document.environment != environment:
        return NotFound(
            f"{where}: the artifact's plan is for {document.environment}, not {environment}",
            pull.number,
        )
    stale = marker.head_sha is not None and marker.head_sha != pull.head_sha
    return Found(pull=pull, marker=marker, plan=data, stale=stale)


def _merged_as(pulls: list[PullRequest], sha: str) -> PullRequest | None:
    merged = [p for p in pulls if p.merged]
    exact = [p for p in merged if p.merge_commit_sha == sha]
    if exact:
        return exact[0]
    return merged[0] if len(merged) == 1 else None
