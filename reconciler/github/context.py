"""The one reader of ``GITHUB_*``: what the GitHub Actions runner tells a job, as one value.

An edge. ``GitHubContext.from_environ`` reads every ``GITHUB_*`` variable the product uses, once,
from an environment mapping; everything else in the package receives plain values from it
(the git facts for templates, the run's URL for commit trailers, whether annotations are
wanted, where the summary and outputs go, the REST client's repository, token and API URL).
A test (``tests/github/test_context.py``) fails if any module outside ``reconciler.github``
names a ``GITHUB_`` variable. The token never shows in a repr.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from reconciler.errors import UserError
from reconciler.model.gitfacts import GitFacts

if TYPE_CHECKING:  # the REST client (httpx) is imported only when a command needs it
    from reconciler.clock import Clock
    from reconciler.github.api import GitHub

DEFAULT_API_URL = "https://api.github.com"
REPOSITORY_PATTERN = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+\Z")
URL_PATTERN = re.compile(r"https?://[^\s()<>\[\]\"'`]+\Z")
_PULL_REF = re.compile(r"^refs/pull/([0-9]+)/")


class Token:
    """A token that never shows itself in a repr, a log line or an error."""

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The value, for the Authorization header only."""
        return self._value

    def __repr__(self) -> str:
        return "Token('**********')"

    __str__ = __repr__


@dataclass(frozen=True)
class GitHubContext:
    """What the runner's environment says; empty strings where a variable is unset."""

    #: Every variable a GitHub token may arrive in (each scrubbed under its own name).
    TOKEN_VARIABLES: ClassVar[tuple[str, ...]] = ("GITHUB_TOKEN", "GH_TOKEN")

    in_actions: bool = False
    repository: str = ""
    token: str = field(default="", repr=False)
    api_url: str = ""
    server_url: str = ""
    run_id: str = ""
    run_attempt: str = ""
    sha: str = ""
    ref: str = ""
    ref_name: str = ""
    head_ref: str = ""
    actor: str = ""
    summary_path: Path | None = None
    output_path: Path | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> GitHubContext:
        """Read the runner's variables from ``environ`` (``GH_TOKEN`` stands in for the token)."""
        summary, output = environ.get("GITHUB_STEP_SUMMARY"), environ.get("GITHUB_OUTPUT")
        return cls(
            in_actions=environ.get("GITHUB_ACTIONS") == "true",
            repository=environ.get("GITHUB_REPOSITORY", ""),
            token=environ.get("GITHUB_TOKEN") or environ.get("GH_TOKEN") or "",
            api_url=environ.get("GITHUB_API_URL", ""),
            server_url=environ.get("GITHUB_SERVER_URL", ""),
            run_id=environ.get("GITHUB_RUN_ID", ""),
            run_attempt=environ.get("GITHUB_RUN_ATTEMPT", ""),
            sha=environ.get("GITHUB_SHA", ""),
            ref=environ.get("GITHUB_REF", ""),
            ref_name=environ.get("GITHUB_REF_NAME", ""),
            head_ref=environ.get("GITHUB_HEAD_REF", ""),
            actor=environ.get("GITHUB_ACTOR", ""),
            summary_path=Path(summary) if summary else None,
            output_path=Path(output) if output else None,
        )

    @property
    def run_url(self) -> str | None:
        """The GitHub Actions run's URL, when running in one."""
        if not (self.server_url and self.repository and self.run_id):
            return None
        url = f"{self.server_url}/{self.repository}/actions/runs/{self.run_id}"
        attempt = self.run_attempt
        return f"{url}/attempts/{attempt}" if attempt and attempt != "1" else url

    def git_facts(self) -> GitFacts | None:
        """The template git facts the runner gives, or None outside GitHub Actions."""
        if not self.in_actions:
            return None
        match = _PULL_REF.match(self.ref)
        # On pull_request events GITHUB_REF_NAME is "123/merge"; the branch is GITHUB_HEAD_REF.
        branch = self.head_ref or (self.ref_name if self.ref.startswith("refs/heads/") else "")
        return GitFacts(
            sha=self.sha,
            short_sha=self.sha[:7],
            branch=branch,
            pr_number=int(match.group(1)) if match else None,
            actor=self.actor,
            repository=self.repository,
        )

    def require_token(self) -> str:
        """The REST API token; a user error naming the fix when the job has none."""
        if not self.token:
            raise UserError(
                "GITHUB_TOKEN is not set",
                hint="pass the job's token in the step's env: (GITHUB_TOKEN: ${{ github.token }})",
            )
        return self.token

    def client(self, *, clock: Clock) -> GitHub:
        """A REST client for this job's repository, checked; call ``require_token`` first."""
        from reconciler.github.api import GitHub

        token = self.require_token()
        if not REPOSITORY_PATTERN.match(self.repository):
            raise UserError(
                f"GITHUB_REPOSITORY {self.repository!r}: expected owner/name",
                hint="it is set in every GitHub Actions job",
            )
        api_url = self.api_url or DEFAULT_API_URL
        if not URL_PATTERN.match(api_url):
            raise UserError(f"GITHUB_API_URL {api_url!r}: expected an http(s) URL")
        return GitHub(self.repository, Token(token), clock=clock, api_url=api_url)
