"""The reviewed plans of every pull request merged since the last apply, written to a folder.

An edge over ``api`` and ``reviewed``. An apply works on the tip of the branch, whatever commit
triggered it, so it covers every merge since the last apply, not one: ``collect`` goes over
the commits that were merged (the caller lists them from git, first parent only, oldest first),
finds the pull request merged as each (a rebase merge makes several commits of one pull
request: it is read once), and reads its reviewed plan exactly as ``reviewed`` does for one
commit, with the same checks. ``write_collection`` writes what was found to a folder that
``apply --reviewed-plan DIR`` reads:

- ``pr-<N>.json``: the plan reviewed on pull request N, byte for byte the plan artifact;
- ``pr-<N>.meta.json``: ``{"number", "url", "mergedBy", "headSha", "title", "commit",
  "planDigest"}`` about it, every value GitHub sent held to its form (a URL, a login, a commit
  id, a one-line title of at most 200 characters) or null;
- ``missing.meta.json``: the commits with no pull request, or whose pull request has no usable
  plan, each with the reason, so the apply can name what no review covers (named ``.meta.json``
  because ``apply --reviewed-plan DIR`` reads every other ``*.json`` there as a plan).

Everything else GitHub sent stays out of the folder.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.errors import UserError
from reconciler.files import write_atomic_many
from reconciler.github.api import GitHub, PullRequest
from reconciler.github.comment import DIGEST_PATTERN, SHA_PATTERN
from reconciler.github.context import URL_PATTERN
from reconciler.github.reviewed import Found, NotFound, merged_pull, plan_of_pull
from reconciler.outbound import cut, one_line

MISSING_FILE = "missing.meta.json"
PLAN_FILE = re.compile(r"pr-([1-9][0-9]{0,9})(\.meta)?\.json\Z")
TITLE_LIMIT = 200
URL_LIMIT = 500
_LOGIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?\Z")


@dataclass(frozen=True)
class Missing:
    """A merged commit no reviewed plan covers, and why; ``pull`` when it has a pull request."""

    commit: str
    reason: str
    pull: int | None = None


@dataclass(frozen=True)
class Reviewed:
    """A pull request merged in the range, with its reviewed plan."""

    commit: str  # the first commit of the range it was merged as
    found: Found


@dataclass(frozen=True)
class Collection:
    """What ``collect`` found over a range of merged commits."""

    reviewed: tuple[Reviewed, ...]
    missing: tuple[Missing, ...]


async def collect(
    github: GitHub,
    commits: Sequence[str],
    environment: str,
    *,
    artifacts: Sequence[str],
    author: str | None,
) -> Collection:
    """The reviewed plan of the pull request merged as each of ``commits``, or why there is none.

    One pull request is read once, at the first of its commits. Its full record is fetched
    (the list of a commit's pull requests leaves out who merged it).
    """
    reviewed: list[Reviewed] = []
    missing: list[Missing] = []
    seen: set[int] = set()
    for sha in commits:
        listed = await merged_pull(github, sha)
        if listed is None:
            missing.append(Missing(sha, f"no merged pull request for commit {sha[:12]}"))
            continue
        if listed.number in seen:
            continue
        seen.add(listed.number)
        pull = await github.pull_request(listed.number)
        got = await plan_of_pull(github, pull, environment, artifacts=artifacts, author=author)
        if isinstance(got, NotFound):
            missing.append(Missing(sha, got.reason, pull.number))
        else:
            reviewed.append(Reviewed(sha, got))
    return Collection(tuple(reviewed), tuple(missing))


def pull_meta(pull: PullRequest, commit: str, digest: str | None) -> dict[str, Any]:
    """``pr-<N>.meta.json``: what GitHub says about the pull request, each value checked."""
    url = pull.url if URL_PATTERN.match(pull.url) and len(pull.url) <= URL_LIMIT else None
    title = cut(one_line(pull.title, invisible=True), TITLE_LIMIT) or None
    return {
        "number": pull.number,
        "url": url,
        "mergedBy": pull.merged_by if _LOGIN.match(pull.merged_by) else None,
        "headSha": pull.head_sha if SHA_PATTERN.match(pull.head_sha) else None,
        "title": title,
        "commit": commit if SHA_PATTERN.match(commit) else None,
        "planDigest": digest if digest and DIGEST_PATTERN.match(digest) else None,
    }


def write_collection(
    collection: Collection, folder: Path, *, since: str | None, tip: str, cut_at: int | None
) -> list[Path]:
    """Write the plans, their metadata and ``missing.meta.json`` to ``folder``; the paths written.

    The folder's earlier ``pr-*.json``, ``pr-*.meta.json`` and ``missing.meta.json`` are removed
    first, so it holds exactly this collection (nothing else in it is touched).
    ``cut_at``: the walk stopped after that many commits (the older ones are not covered).
    """
    if folder.is_symlink():
        raise UserError(f"{folder}: is a symbolic link; expected a folder for the reviewed plans")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for entry in folder.iterdir():
            if PLAN_FILE.match(entry.name) or entry.name == MISSING_FILE:
                entry.unlink()
        items: list[tuple[Path, bytes]] = []
        for item in collection.reviewed:
            number = item.found.pull.number
            meta = pull_meta(item.found.pull, item.commit, item.found.marker.digest)
            items.append((folder / f"pr-{number}.json", item.found.plan))
            items.append((folder / f"pr-{number}.meta.json", _json(meta)))
        missing = {
            "since": since,
            "tip": tip,
            "cutAt": cut_at,
            "commits": [
                {"commit": m.commit, "pullRequest": m.pull, "reason": m.reason}
                for m in collection.missing
            ],
        }
        items.append((folder / MISSING_FILE, _json(missing)))
        write_atomic_many(items)
    except OSError as exc:
        where = exc.filename or folder
        raise UserError(f"{where}: cannot write the reviewed plans ({exc.strerror})") from None
    return [path for path, _ in items]


def _json(data: object) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode()
