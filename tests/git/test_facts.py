"""Git facts: as GitHub Actions gave them, from a real local repository, or empty."""

from __future__ import annotations

import subprocess
from pathlib import Path

from reconciler.git.facts import GitFacts, git_facts


def test_facts_given_by_github_actions_win_over_the_checkout(tmp_path: Path) -> None:
    given = GitFacts(sha="0" * 40, short_sha="0000000", branch="main")
    assert git_facts(tmp_path, actions=given) is given


def test_facts_from_a_local_repository(tmp_path: Path) -> None:
    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=tmp_path, capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    git("init", "-q", "-b", "main")
    git("config", "user.name", "Ada")
    git("config", "user.email", "ada@example.com")
    git("remote", "add", "origin", "git@github.com:acme/integrations.git")
    (tmp_path / "f").write_text("x", encoding="utf-8")
    git("add", "f")
    git("commit", "-q", "-m", "one")
    sha = git("rev-parse", "HEAD")
    assert git_facts(tmp_path) == GitFacts(
        sha=sha,
        short_sha=sha[:7],
        branch="main",
        pr_number=None,
        actor="Ada",
        repository="acme/integrations",
    )


def test_no_repository_means_empty_facts(tmp_path: Path) -> None:
    assert git_facts(tmp_path) == GitFacts()
    assert GitFacts().as_context()["pr_number"] is None
