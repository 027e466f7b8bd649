"""The git facts templates read as ``git.<field>``: a leaf value, so both edges can build it.

``git/facts`` builds it from a local checkout and ``github/context`` from a GitHub Actions
runner's variables; neither edge imports the other, and both hand the same type upwards.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


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
