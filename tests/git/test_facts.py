"""Git facts: from GitHub Actions variables, from a real local repository, or empty."""

from __future__ import annotations

import subprocess
from pathlib import Path

from reconciler.git.facts import GitFacts, git_facts


def test_facts_from_github_actions_pull_request() -> None:
    environ = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567",
        "GITHUB_REF": "refs/pull/42/merge",
        "GITHUB_REF_NAME": "42/merge",
        "GITHUB_HEAD_REF": "feature/x",
        "GITHUB_ACTOR": "octocat",
        "GITHUB_REPOSITORY": "acme/integrations",
    }
    assert git_facts(environ, Path("/nonexistent")) == GitFacts(
        sha="0123456789abcdef0123456789abcdef01234567",
        short_sha="0123456",
        branch="feature/x",
        pr_number=42,
        actor="octocat",
        repository="acme/integrations",
    )


def test_facts_from_github_actions_push() -> None:
    environ = {"GITHUB_ACTIONS": "true", "GITHUB_REF": "refs/heads/main", "GITHUB_REF_NAME": "main"}
    facts = git_facts(environ, Path("/nonexistent"))
    assert (facts.branch, facts.pr_number, facts.sha) == ("main", None, "")


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
    assert git_facts({}, tmp_path) == GitFacts(
        sha=sha,
        short_sha=sha[:7],
        branch="main",
        pr_number=None,
        actor="Ada",
        repository="acme/integrations",
    )


def test_no_repository_means_empty_facts(tmp_path: Path) -> None:
    assert git_facts({}, tmp_path) == GitFacts()
    assert GitFacts().as_context()["pr_number"] is None
