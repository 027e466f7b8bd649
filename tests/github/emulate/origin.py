"""A GitHub-hosted repository, emulated: a bare origin whose ``main`` is protected.

The pre-receive hook answers a push to ``refs/heads/main`` with GitHub's own GH006 lines, as
branch protection with "require a pull request" does for the job's ``GITHUB_TOKEN``. GitHub
itself (merging a pull request, the test arranging the repository) pushes with
``BYPASS`` set in its environment, which the hook lets through. Pull requests are the refs
GitHub keeps: ``refs/pull/N/head`` and the test merge ``refs/pull/N/merge``.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

BYPASS = "EMULATE_GITHUB_BYPASS"
REJECT_STATE = "reject-state-commits"  # a file in the bare repository (reject_state_commits)
GH006 = "remote: error: GH006: Protected branch update failed for refs/heads/main."

HOOK = f"""#!/bin/sh
# Branch protection on main, as GitHub answers the job's token (GH006).
while read -r old new ref; do
  if [ "$ref" = "refs/heads/main" ] && [ "${{{BYPASS}:-}}" != "1" ]; then
    echo "error: GH006: Protected branch update failed for refs/heads/main." >&2
    echo "error: Changes must be made through a pull request." >&2
    exit 1
  fi
  if [ "$ref" = "refs/heads/reconciler/state" ] && [ -f "${{GIT_DIR:-.}}/{REJECT_STATE}" ] \\
     && git log -1 --format=%B "$new" | grep -q '^Reconciler-Counts:'; then
    echo "error: GH013: Repository rule violations found for refs/heads/reconciler/state." >&2
    echo "error: - Cannot update this protected ref." >&2
    exit 1
  fi
done
exit 0
"""

IDENTITY = {
    "GIT_AUTHOR_NAME": "GitHub",
    "GIT_AUTHOR_EMAIL": "noreply@github.com",
    "GIT_COMMITTER_NAME": "GitHub",
    "GIT_COMMITTER_EMAIL": "noreply@github.com",
}


def git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """git as GitHub's own side runs it: its identity, the protection bypassed."""
    full = {**os.environ, **IDENTITY, BYPASS: "1", **(env or {})}
    result = subprocess.run(
        ["git", *args], cwd=cwd, env=full, capture_output=True, text=True, timeout=60, check=False
    )
    if result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} in {cwd}: {result.stderr}")
    return result.stdout


@dataclass
class PullRequest:
    number: int
    branch: str
    head: str
    base: str
    merge: str  # the test merge commit GitHub builds for the pull_request event
    merged_as: str | None = None
    files: dict[str, str | None] = field(default_factory=dict)


class Origin:
    """The bare repository and a working clone GitHub's side edits through."""

    def __init__(self, root: Path, *, protected: bool = True) -> None:
        self.bare = root / "origin.git"
        self.work = root / "github-side"
        git(root, "init", "-q", "--bare", "-b", "main", str(self.bare))
        git(self.bare, "config", "uploadpack.allowAnySHA1InWant", "true")
        if protected:
            hook = self.bare / "hooks" / "pre-receive"
            hook.write_text(HOOK, encoding="utf-8")
            hook.chmod(0o755)
        git(root, "clone", "-q", str(self.bare), str(self.work))
        self.pulls: dict[int, PullRequest] = {}
        self.next_number = 1

    @property
    def url(self) -> str:
        return f"file://{self.bare}"

    def reject_state_commits(self, on: bool) -> None:
        """While on, the hook refuses a push of ``reconciler commit`` to the state branch (a
        commit with ``Reconciler-Counts``), as a ruleset would, while durable intents still
        land: the apply submits, then cannot save what it did."""
        flag = self.bare / REJECT_STATE
        if on:
            flag.write_text("on\n", encoding="utf-8")
        else:
            flag.unlink(missing_ok=True)

    def rev(self, ref: str) -> str:
        return git(self.bare, "rev-parse", ref).strip()

    def has(self, ref: str) -> bool:
        done = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", ref], cwd=self.bare, capture_output=True
        )
        return done.returncode == 0

    def show(self, ref: str, path: str) -> str:
        return git(self.bare, "show", f"{ref}:{path}")

    def log(self, ref: str, *args: str) -> str:
        return git(self.bare, "log", *args, ref)

    def _write(self, files: Mapping[str, str | None]) -> None:
        for name, text in files.items():
            path = self.work / name
            if text is None:
                path.unlink()
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        git(self.work, "add", "-A")

    def seed(self, files: dict[str, str], message: str = "initial commit") -> str:
        """The first commit of main, pushed as the repository's creator."""
        self._write(files)
        git(self.work, "commit", "-q", "-m", message)
        git(self.work, "push", "-q", "origin", "HEAD:refs/heads/main")
        return self.rev("refs/heads/main")

    def open_pull(self, files: dict[str, str | None], title: str = "change") -> PullRequest:
        """A pull request against main: its head and its test merge, as GitHub keeps them."""
        number = self.next_number
        self.next_number += 1
        branch = f"change-{number}"
        git(self.work, "fetch", "-q", "origin", "main")
        git(self.work, "checkout", "-q", "-B", branch, "origin/main")
        self._write(files)
        git(self.work, "commit", "-q", "-m", f"{title} (#{number})")
        head = git(self.work, "rev-parse", "HEAD").strip()
        git(
            self.work,
            "push",
            "-q",
            "origin",
            f"HEAD:refs/heads/{branch}",
            f"HEAD:refs/pull/{number}/head",
        )
        pull = PullRequest(number, branch, head, self.rev("refs/heads/main"), "", files=files)
        self.refresh_merge(pull)
        self.pulls[number] = pull
        return pull

    def refresh_merge(self, pull: PullRequest) -> None:
        """GitHub's test merge of the head into the current main (``refs/pull/N/merge``)."""
        git(self.work, "checkout", "-q", "--detach", self.rev("refs/heads/main"))
        git(self.work, "merge", "-q", "--no-ff", "-m", f"Merge {pull.head} into main", pull.head)
        pull.merge = git(self.work, "rev-parse", "HEAD").strip()
        pull.base = self.rev("refs/heads/main")
        git(self.work, "push", "-q", "-f", "origin", f"HEAD:refs/pull/{pull.number}/merge")

    def merge(self, pull: PullRequest) -> str:
        """Merge the pull request (a merge commit on main), as the merge button does."""
        git(self.work, "fetch", "-q", "origin", "main")
        git(self.work, "checkout", "-q", "--detach", "origin/main")
        git(
            self.work, "merge", "-q", "--no-ff",
            "-m", f"Merge pull request #{pull.number} from acme/{pull.branch}", pull.head,
        )  # fmt: skip
        sha = git(self.work, "rev-parse", "HEAD").strip()
        git(self.work, "push", "-q", "origin", "HEAD:refs/heads/main")
        pull.merged_as = sha
        return sha

    def push_ref(self, sha: str, ref: str) -> None:
        """A ref GitHub itself creates (a merge queue's branch), bypassing protection."""
        git(self.work, "push", "-q", "-f", "origin", f"{sha}:{ref}")

    def push_direct(self, files: dict[str, str | None], message: str) -> str:
        """A commit pushed to main by an administrator (bypassing protection)."""
        git(self.work, "fetch", "-q", "origin", "main")
        git(self.work, "checkout", "-q", "--detach", "origin/main")
        self._write(files)
        git(self.work, "commit", "-q", "-m", message)
        git(self.work, "push", "-q", "origin", "HEAD:refs/heads/main")
        return git(self.work, "rev-parse", "HEAD").strip()
