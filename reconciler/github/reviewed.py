"""The plan on a pull request: keeping one sticky comment, and finding what was reviewed.

An edge over ``api`` and ``comment``. ``upsert_comment`` finds the comment whose first line is
a marker (this environment's plan comment, ``comment.find_marker``, or its apply comment,
``outcome.is_apply_comment``: text shown below cannot make one), written by the expected
author (anyone can paste a marker into a comment of their own; only ours counts), and updates
it in place or creates it: repeated runs leave exactly one.
``find_reviewed_plan`` goes from a commit on the default branch to the pull request merged as
it; ``plan_of_pull`` from a merged pull request to its plan comment, to the plan artifact of
the run the comment names (``plan_artifacts``: the environment's own name first), and checks that
the artifact is the plan the comment showed (same digest, digest consistent with its actions,
which the digest covers with their reasons and field changes). Whatever is missing is a
``NotFound`` with a reason, not an error: applying without a reviewed plan is allowed, and the
apply then says ``reviewed: none``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from reconciler.errors import GitHubError, UserError
from reconciler.github.api import Comment, GitHub, PullRequest
from reconciler.github.comment import PLAN_SIZE_LIMIT, Marker, find_marker, parse_plan

PLAN_MEMBER = "plan.json"
LEGACY_ARTIFACT = "reconciler-plan"  # the plan artifact's name before one per environment


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


def plan_comment(environment: str) -> Callable[[str], bool]:
    """Whether a comment body is this environment's plan comment (its marker line)."""
    return lambda body: find_marker(body, environment) is not None


def _ours(
    comments: list[Comment], mine: Callable[[str], bool], author: str | None
) -> list[Comment]:
    return [c for c in comments if mine(c.body) and (author is None or c.author == author)]


async def upsert_comment(
    github: GitHub,
    number: int,
    body: str,
    *,
    mine: Callable[[str], bool],
    author: str | None,
) -> Upserted:
    """Update the comment on ``number`` that ``mine`` recognises, in place, or create it.

    ``mine`` reads a marker (the plan comment's per environment, ``plan_comment``, or the
    apply comment's, ``outcome.apply_comment``); only a comment by ``author`` counts.
    """
    found = _ours(await github.comments(number), mine, author)
    if found:
        return await _update(github, found, body)
    try:
        created = await github.create_comment(number, body)
    except GitHubError as exc:
        if exc.status_code is None or exc.status_code < 500:
            raise
        # A 5xx after a POST may still have created it: look before trying again.
        found = _ours(await github.comments(number), mine, author)
        if found:
            return await _update(github, found, body)
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


def plan_artifacts(environment: str, artifact: str | None) -> tuple[str, ...]:
    """The plan artifact's names to look for, in order.

    ``artifact`` if given; else the environment's own (``reconciler-plan-<env>``: a pull
    request carries one plan per environment), then the name plan runs used before there was
    one per environment (``reconciler-plan``).
    """
    if artifact:
        return (artifact,)
    return (f"{LEGACY_ARTIFACT}-{environment}", LEGACY_ARTIFACT)


async def merged_pull(github: GitHub, sha: str) -> PullRequest | None:
    """The pull request merged as commit ``sha`` (or, alone, merged containing it), if any."""
    return _merged_as(await github.pulls_of_commit(sha), sha)


async def find_reviewed_plan(
    github: GitHub,
    sha: str,
    environment: str,
    *,
    artifacts: Sequence[str],
    author: str | None,
) -> Found | NotFound:
    """The plan reviewed on the pull request merged as ``sha``, or why there is none."""
    pull = await merged_pull(github, sha)
    if pull is None:
        return NotFound(f"no merged pull request for commit {sha[:12]}")
    return await plan_of_pull(github, pull, environment, artifacts=artifacts, author=author)


async def plan_of_pull(
    github: GitHub,
    pull: PullRequest,
    environment: str,
    *,
    artifacts: Sequence[str],
    author: str | None,
) -> Found | NotFound:
    """The plan reviewed on merged pull request ``pull``, or why there is none.

    ``artifacts``: the names to try, in order (``plan_artifacts``); the first one the plan
    run still has is read, and must hold the plan the comment showed.
    """
    where = f"pull request #{pull.number}"
    mine = _ours(await github.comments(pull.number), plan_comment(environment), author)
    if not mine:
        by = f" by {author}" if author else ""
        return NotFound(f"{where} has no plan comment for {environment}{by}", pull.number)
    marker = find_marker(mine[0].body, environment)
    if marker is None or marker.digest is None or marker.run_id is None:
        return NotFound(f"{where}: its plan comment records no reviewed digest", pull.number)
    try:
        listed = await github.artifacts(marker.run_id)
    except GitHubError as exc:
        if exc.status_code != 404:
            raise
        return NotFound(f"{where}: plan run {marker.run_id} no longer exists", pull.number)
    usable = {a.name: a for a in reversed(listed) if not a.expired}
    chosen = next((usable[name] for name in artifacts if name in usable), None)
    names = " or ".join(repr(name) for name in artifacts)
    if chosen is None:
        return NotFound(
            f"{where}: artifact {names} of plan run {marker.run_id} is missing or expired",
            pull.number,
        )
    artifact = chosen.name
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
