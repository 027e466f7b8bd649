"""reconciler: run Boomi integration processes the GitOps way.

Specs in git declare which processes to run with which properties; ``reconciler plan`` diffs
them against the state kept in git, ``reconciler apply`` submits what is pending through the
platform's ExecutionRequest API, polls each run to a final status and writes state and artifacts
back for the git history to audit.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
