"""The plan on a pull request: the sticky plan comment, and the reviewed plan at merge.

Plain functions over a REST client (``github.api.GitHub``, built from ``GitHubContext``) and
the job's step outputs (``workflow.Actions``, or None outside Actions). ``prepare_comment``
reads and renders the untrusted plan document without any network; ``post_comment`` keeps the
one comment per environment; ``fetch_reviewed_plan`` writes the plan reviewed on the pull
request merged as a commit. Messages and notices are the caller's to print.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from reconciler.config.settings import Settings
from reconciler.errors import GitError, GitHubError, UserError
from reconciler.files import write_atomic
from reconciler.git.plumbing import Checkout
from reconciler.github.api import GitHub
from reconciler.github.applied import read_apply, read_reviewed
from reconciler.github.comment import (
    SHA_PATTERN,
    CommentContext,
    PlanDocument,
    check_environment,
    parse_plan,
    render_comment,
)
from reconciler.github.context import URL_PATTERN
from reconciler.github.merged import Collection, collect, write_collection
from reconciler.github.outcome import (
    ApplyFacts,
    PullReview,
    is_apply_comment,
    render_apply_comment,
)
from reconciler.github.reviewed import (
    Found,
    Moved,
    NotFound,
    Upserted,
    find_reviewed_plan,
    head_moved,
    plan_comment,
    upsert_comment,
)
from reconciler.github.workflow import Actions
from reconciler.plan.document import DIGEST_PATTERN
from reconciler.report.check import parse_check_document
from reconciler.usecases.reviewed import read_plan_file
from reconciler.usecases.statebranch import last_applied

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
    check_path: Path | None = None  # a check document (check --output json) to show too


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
    document = parse_plan(read_plan_file(path, "plan"), str(path))
    env = check_environment(request.environment or document.environment)
    if document.environment != env:
        raise UserError(f"{path}: the plan is for {document.environment}, not {env}")
    context = CommentContext(
        environment=env, run_id=request.run_id, head_sha=head_sha, details_url=details_url
    )
    check = None
    if request.check_path is not None:
        check_path = request.check_path
        check = parse_check_document(read_plan_file(check_path, "check"), str(check_path))
        if check.environment != env:
            raise UserError(f"{check_path}: the check is for {check.environment}, not {env}")
    body = render_comment(document, context, check=check)
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
                github,
                request.number,
                prepared.body,
                mine=plan_comment(prepared.environment),
                author=request.author,
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
    artifacts: Sequence[str],
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
                github, sha, environment, artifacts=artifacts, author=author
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


# --- every pull request merged since the last apply ---------------------------------------

MAX_COMMITS = 200  # merged commits walked at most, newest first: a bound on API calls


@dataclass(frozen=True)
class CollectRequest:
    """The options of ``reconciler github reviewed-plan --output-dir``."""

    root: Path  # the checkout whose history is walked
    tip: str
    since: str | None  # None: the tip's pull request only (unless ``everything``)
    output_dir: Path
    environment: str
    artifacts: tuple[str, ...]
    author: str | None
    max_commits: int = MAX_COMMITS
    everything: bool = False  # since is None: every merge of the tip's history (no apply yet)


@dataclass(frozen=True)
class Collected:
    """What ``collect_reviewed_plans`` found and wrote."""

    collection: Collection
    commits: int  # merged commits walked
    cut: bool  # the range held more than ``max_commits``: the oldest are not covered
    written: list[Path]


def merged_commits(
    root: Path, since: str | None, tip: str, limit: int, *, everything: bool = False
) -> tuple[list[str], bool]:
    """The first-parent commits of ``since..tip``, oldest first, at most the newest ``limit``.

    First parent only: on the default branch each is a merge (or squash, or direct push), the
    commits a merged branch brought in are not. True as the second value when cut. Without
    ``since``: the tip alone, or with ``everything`` the tip's whole first-parent history.
    """
    git = _checkout(root)
    _known(git, "--sha", tip)
    if since is None and everything:
        listed = git.run(
            "rev-list", "--first-parent", f"--max-count={limit + 1}", tip
        ).stdout.split()
        return list(reversed(listed[:limit])), len(listed) > limit
    if since is None:
        return [tip], False
    _known(git, "--since", since)
    if not _ancestor(git, since, tip):
        raise UserError(
            f"--since {since[:12]} is not an ancestor of --sha {tip[:12]}: "
            "the history was rewritten, or the commits are swapped"
        )
    listed = git.run(
        "rev-list", "--first-parent", f"--max-count={limit + 1}", f"{since}..{tip}"
    ).stdout.split()
    return list(reversed(listed[:limit])), len(listed) > limit


def since_applied(
    settings: Settings, environ: Mapping[str, str], tip: str
) -> tuple[str | None, str | None]:
    """Where the merges to collect begin: the last apply's specs commit, and a note if none.

    The specs commit of the environment's newest recorded apply (``statebranch.last_applied``:
    the state branch, or the checkout's history). None, with a note saying why, when no apply
    is recorded yet or the one recorded is not in the tip's history: then every merge of the
    tip's history is read (``CollectRequest.everything``), bounded by ``max_commits``.
    """
    last = last_applied(settings, environ)
    env = settings.environment
    only = "every merge in the history of the tip is read"
    if last is None:
        return None, f"no apply of {env} is recorded yet: {only}"
    git = _checkout(settings.root)
    _known(git, "--sha", tip)
    if not _exists(git, last):  # applied from a commit never pushed, or a deleted branch
        return None, (
            f"the last apply of {env} ran from {last[:12]}, which this checkout does not have: "
            f"{only}"
        )
    if not _ancestor(git, last, tip):
        return None, (
            f"the last apply of {env} ran from {last[:12]}, which is not in the history of "
            f"{tip[:12]}: {only}"
        )
    return last, None


def _exists(git: Checkout, sha: str) -> bool:
    found = git.run("cat-file", "-e", f"{sha}^{{commit}}", check=False)
    return found.returncode == 0


def _checkout(root: Path) -> Checkout:
    git = Checkout(root)
    if git.run("rev-parse", "--git-dir", check=False).returncode != 0:
        raise UserError(f"{root} is not inside a git checkout; the merged commits come from git")
    return git


def _known(git: Checkout, what: str, sha: str) -> None:
    if git.run("cat-file", "-e", f"{sha}^{{commit}}", check=False).returncode != 0:
        raise UserError(
            f"{what} {sha}: no such commit in this checkout",
            hint="fetch the whole history (actions/checkout with fetch-depth: 0)",
        )


def _ancestor(git: Checkout, since: str, tip: str) -> bool:
    ancestor = git.run("merge-base", "--is-ancestor", since, tip, check=False)
    if ancestor.returncode not in (0, 1):
        raise GitError(f"git merge-base failed: {ancestor.stderr.strip()[:200]}")
    return ancestor.returncode == 0


def collect_reviewed_plans(
    request: CollectRequest, github: GitHub, actions: Actions | None
) -> Collected:
    """Write the reviewed plan of every pull request merged in the range to the folder.

    Step outputs: ``found`` (any plan), ``count``, ``prs`` (space separated), ``missing``
    (commits no reviewed plan covers) and ``path``.
    """
    commits, cut = merged_commits(
        request.root,
        request.since,
        request.tip,
        request.max_commits,
        everything=request.everything,
    )

    async def work() -> Collection:
        async with github:
            return await collect(
                github,
                commits,
                request.environment,
                artifacts=request.artifacts,
                author=request.author,
            )

    collection = asyncio.run(work())
    written = write_collection(
        collection,
        request.output_dir,
        since=request.since,
        tip=request.tip,
        cut_at=request.max_commits if cut else None,
    )
    if actions is not None:
        numbers = [str(r.found.pull.number) for r in collection.reviewed]
        actions.set_outputs(
            [
                ("found", "true" if numbers else "false"),
                ("count", str(len(numbers))),
                ("prs", " ".join(numbers)),
                ("missing", str(len(collection.missing))),
                ("path", str(request.output_dir)),
            ]
        )
    return Collected(collection, len(commits), cut, written)


# --- the apply's outcome on the merged pull requests --------------------------------------


@dataclass(frozen=True)
class ApplyCommentRequest:
    """The options of ``reconciler github apply-comment``."""

    record_path: Path
    environment: str
    junit_path: Path | None = None  # None: junit.xml beside the record, when there is one
    summary_path: Path | None = None
    reviewed_dir: Path | None = None
    numbers: tuple[int, ...] = ()
    run_url: str | None = None
    commit: str | None = None
    expect_digest: str | None = None
    author: str | None = None


@dataclass(frozen=True)
class PreparedApplyComment:
    """The bodies to post, one per pull request (none: nothing to comment on)."""

    bodies: dict[int, str]


def prepare_apply_comment(request: ApplyCommentRequest) -> PreparedApplyComment:
    """Check the options, read the apply's files and render each comment (no network)."""
    if request.run_url is not None and not URL_PATTERN.match(request.run_url):
        raise UserError(f"--run-url {request.run_url!r}: expected an http(s) URL")
    if request.commit is not None:
        check_sha("--sha", request.commit)
    expect = request.expect_digest
    if expect is not None and not DIGEST_PATTERN.match(expect):
        raise UserError(f"--expect-digest {expect!r}: expected sha256: and 64 hexadecimal digits")
    reviews = read_reviewed(request.reviewed_dir) if request.reviewed_dir is not None else {}
    numbers = sorted(set(reviews) | set(request.numbers))
    if not numbers:
        return PreparedApplyComment(bodies={})
    junit = request.junit_path
    if junit is None and (request.record_path.parent / "junit.xml").exists():
        junit = request.record_path.parent / "junit.xml"
    files = read_apply(request.record_path, junit, request.summary_path)
    if expect is not None and files.record.plan_digest != expect:
        raise UserError(
            f"{request.record_path}: the apply record is for plan "
            f"{files.record.plan_digest or 'unknown'}, not {expect} (an earlier apply's "
            "record?): nothing posted"
        )
    facts = ApplyFacts(
        environment=request.environment,
        record=files.record,
        issues=files.issues,
        pulls=tuple(numbers),
        run_url=request.run_url,
        commit=request.commit,
        summary=files.summary,
    )
    return PreparedApplyComment(
        bodies={n: render_apply_comment(facts, n, reviews.get(n, PullReview())) for n in numbers}
    )


def post_apply_comments(
    prepared: PreparedApplyComment,
    environment: str,
    github: GitHub,
    *,
    author: str | None,
    actions: Actions | None,
) -> dict[int, Upserted | GitHubError]:
    """Create or update each pull request's apply comment; a failure on one spares the rest.

    Step output ``commented``: the pull requests whose comment is now up to date.
    """

    async def work() -> dict[int, Upserted | GitHubError]:
        done: dict[int, Upserted | GitHubError] = {}
        async with github:
            for number, body in prepared.bodies.items():
                try:
                    done[number] = await upsert_comment(
                        github,
                        number,
                        body,
                        mine=lambda text: is_apply_comment(text, environment),
                        author=author,
                    )
                except GitHubError as exc:
                    done[number] = exc
        return done

    done = asyncio.run(work())
    if actions is not None:
        posted = [str(n) for n, what in done.items() if isinstance(what, Upserted)]
        actions.set_outputs([("commented", " ".join(posted))])
    return done
