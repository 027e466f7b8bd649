"""The plan on a pull request: the sticky plan comment, and the reviewed plan at merge.

Plain functions over a REST client (``github.api.GitHub``, built from ``GitHubContext``) and
the job's step outputs (``workflow.Actions``, or None outside Actions). ``prepare_comment``
reads and renders the untrusted plan document without any network; ``post_comment`` keeps the
one comment per environment; ``fetch_reviewed_plan`` writes the plan reviewed on the pull
request merged as a commit. Messages and notices are the caller's to print.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from reconciler.errors import UserError
from reconciler.files import FileRefused, read_bounded, write_atomic
from reconciler.github.api import GitHub
from reconciler.github.comment import (
    SHA_PATTERN,
    CommentContext,
    PlanDocument,
    check_environment,
    parse_plan,
    render_comment,
)
from reconciler.github.context import URL_PATTERN
from reconciler.github.reviewed import (
    Found,
    Moved,
    NotFound,
    Upserted,
    find_reviewed_plan,
    head_moved,
    upsert_comment,
)
from reconciler.github.workflow import Actions
from reconciler.plan.document import PLAN_SIZE_LIMIT

__all__ = [
    "CommentRequest",
    "Found",
    "Moved",
    "NotFound",
    "PreparedComment",
    "Upserted",
    "check_sha",
    "fetch_reviewed_plan",
    "post_comment",
    "prepare_comment",
]


@dataclass(frozen=True)
class CommentRequest:
    """The options of one ``reconciler github comment``."""

    plan_path: Path
    number: int
    environment: str | None = None
    details_url: str | None = None
    run_id: int | None = None
    head_sha: str | None = None
    author: str | None = None  # None: any author's comment counts


@dataclass(frozen=True)
class PreparedComment:
    """The comment to post: the plan document read, its environment, the body rendered."""

    document: PlanDocument
    environment: str
    body: str


def check_sha(option: str, sha: str) -> str:
    """``sha`` if it is a full commit id, else a user error naming ``option``."""
    if not SHA_PATTERN.match(sha):
        raise UserError(f"{option} {sha!r}: expected 40 hexadecimal digits")
    return sha


def prepare_comment(request: CommentRequest) -> PreparedComment:
    """Check the options, read the plan document strictly and render the comment (no network)."""
    details_url, head_sha, path = request.details_url, request.head_sha, request.plan_path
    if details_url is not None and not URL_PATTERN.match(details_url):
        raise UserError(f"--details-url {details_url!r}: expected an http(s) URL")
    if head_sha is not None:
        check_sha("--head-sha", head_sha)
    try:
        data = read_bounded(path, limit=PLAN_SIZE_LIMIT)
    except FileRefused as exc:
        raise UserError(f"{path}: not a plan: the file {exc.reason}") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read the plan ({exc.strerror})") from None
    document = parse_plan(data, str(path))
    env = check_environment(request.environment or document.environment)
    if document.environment != env:
        raise UserError(f"{path}: the plan is for {document.environment}, not {env}")
    context = CommentContext(
        environment=env, run_id=request.run_id, head_sha=head_sha, details_url=details_url
    )
    body = render_comment(document, context)
    return PreparedComment(document=document, environment=env, body=body)


def post_comment(
    prepared: PreparedComment, request: CommentRequest, github: GitHub, actions: Actions | None
) -> Upserted | Moved:
    """Create or update the plan comment; ``Moved`` (nothing posted) if the head moved on."""

    async def work() -> Upserted | Moved:
        async with github:
            if request.head_sha is not None:
                moved = await head_moved(github, request.number, request.head_sha)
                if moved is not None:
                    return moved
            return await upsert_comment(
                github, request.number, prepared.environment, prepared.body, author=request.author
            )

    done = asyncio.run(work())
    if isinstance(done, Upserted) and actions is not None:
        actions.set_outputs([("comment-id", str(done.comment_id)), ("result", done.action)])
    return done


def fetch_reviewed_plan(
    github: GitHub,
    sha: str,
    environment: str,
    output_path: Path,
    *,
    artifact: str,
    author: str | None,
    actions: Actions | None,
) -> Found | NotFound:
    """Write the plan reviewed on the pull request merged as ``sha`` to ``output_path``.

    When there is none, writes nothing and says why (``NotFound``): applying without a
    reviewed plan is allowed. Either way the step outputs say what was found.
    """

    async def work() -> Found | NotFound:
        async with github:
            return await find_reviewed_plan(
                github, sha, environment, artifact=artifact, author=author
            )

    found = asyncio.run(work())
    if not isinstance(found, Found):
        if actions is not None:
            actions.set_outputs([("found", "false"), ("pr", str(found.pull or ""))])
        return found
    output_path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(output_path, found.plan)
    if actions is not None:
        actions.set_outputs(
            [
                ("found", "true"),
                ("pr", str(found.pull.number)),
                ("plan-digest", found.marker.digest or ""),
                ("path", str(output_path)),
            ]
        )
    return found
