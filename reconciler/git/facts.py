"""Git facts for the template context: sha, branch, pull-request number, actor, repository.

An edge. Inside GitHub Actions the facts come from the runner's environment variables
(``GITHUB_SHA``, ``GITHUB_REF``, ``GITHUB_HEAD_REF``, ``GITHUB_ACTOR``, ``GITHUB_REPOSITORY``);
elsewhere from the local repository through ``git`` subprocesses. A fact that cannot be found
is an empty string (``pr_number``: ``None``), never an error: a spec folder need not be a git
repository, and ``git`` need not be installed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

_GIT_TIMEOUT_S = 5.0
_PULL_REF = re.compile(r"^refs/pull/([0-9]+)/")
_REMOTE = re.compile(r"(?:github\.com[:/])([^/]+/[^/]+?)(?:\.git)?/?$")


@dataclass(frozen=True)
class GitFacts:
    """What templates can read as ``git.<field>``."""

    sha: str = ""
    short_sha: str = ""
    branch: str = ""
    pr_number: int | None = None
    actor: str = ""
    repository: str = ""

    def as_context(self) -> dict[str, Any]:
        """Plain data for the template context."""
        return asdict(self)


def git_facts(environ: Mapping[str, str], cwd: Path) -> GitFacts:
    """The facts of the checkout at ``cwd``: from GitHub Actions when there, else from git."""
    if environ.get("GITHUB_ACTIONS") == "true":
        return _from_actions(environ)
    return _from_repository(cwd)


def _from_actions(environ: Mapping[str, str]) -> GitFacts:
    sha = environ.get("GITHUB_SHA", "")
    ref = environ.get("GITHUB_REF", "")
    match = _PULL_REF.match(ref)
    # On pull_request events GITHUB_REF_NAME is "123/merge"; the branch is GITHUB_HEAD_REF.
    branch = environ.get("GITHUB_HEAD_REF") or (
        environ.get("GITHUB_REF_NAME", "") if ref.startswith("refs/heads/") else ""
    )
    return GitFacts(
        sha=sha,
        short_sha=sha[:7],
        branch=branch,
        pr_number=int(match.group(1)) if match else None,
        actor=environ.get("GITHUB_ACTOR", ""),
        repository=environ.get("GITHUB_REPOSITORY", ""),
    )


def _from_repository(cwd: Path) -> GitFacts:
    git = shutil.which("git")
    if git is None:
        return GitFacts()
    sha = _git(git, cwd, "rev-parse", "HEAD")
    if not sha:
        return GitFacts()
    branch = _git(git, cwd, "symbolic-ref", "--quiet", "--short", "HEAD")
    remote = _git(git, cwd, "config", "--get", "remote.origin.url")
    match = _REMOTE.search(remote)
    return GitFacts(
        sha=sha,
        short_sha=sha[:7],
        branch=branch,
        pr_number=None,
        actor=_git(git, cwd, "config", "--get", "user.name"),
        repository=match.group(1) if match else "",
    )


def _git(git: str, cwd: Path, *args: str) -> str:
    try:
        completed = subprocess.run(  # noqa: S603 - fixed argv, no shell
            [git, *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError, UnicodeDecodeError):
        return ""
    return completed.stdout.strip() if completed.returncode == 0 else ""
