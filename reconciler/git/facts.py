"""Git facts for the template context: sha, branch, pull-request number, actor, repository.

An edge. Inside GitHub Actions the caller passes the facts the runner gives
(``github.context.GitHubContext.git_facts``, as a plain ``GitFacts``); elsewhere they come from
the local repository through ``git`` subprocesses. A fact that cannot be found is an empty
string (``pr_number``: ``None``), never an error: a spec folder need not be a git repository,
and ``git`` need not be installed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from reconciler.model.gitfacts import GitFacts

__all__ = ["GitFacts", "git_facts"]

_GIT_TIMEOUT_S = 5.0
_REMOTE = re.compile(r"(?:github\.com[:/])([^/]+/[^/]+?)(?:\.git)?/?$")


def git_facts(cwd: Path, *, actions: GitFacts | None = None) -> GitFacts:
    """The facts of the checkout at ``cwd``: ``actions`` when GitHub Actions gave them, else git."""
    if actions is not None:
        return actions
    return _from_repository(cwd)


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
