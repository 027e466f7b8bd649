"""A specs-only repository on an emulated GitHub, with this checkout as the action.

The repository is what a team would create: reconciler.yaml (two environments, state on the
branch ``reconciler/state``), specs/, and the example workflows copied in with ``uses: ./``
replaced by the action pinned by commit, as docs/github-actions.md tells them to. ``main`` is
protected. The platform is the simulator; its credentials are environment secrets of ``test``
and ``production`` (production has required reviewers).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reconciler.sim.serve import RunningSimulator
from tests.conftest import ORDERS, PROD_ATOM, ROOT
from tests.github.conftest import FakeGitHub
from tests.github.emulate.github import Environment, GitHubEmulator
from tests.github.emulate.origin import Origin

ACTION = "acme/reconciler"
ACTION_SHA = "0123456789abcdef0123456789abcdef01234567"
WORKFLOWS = ROOT / ".github" / "workflows"


def config(sim: RunningSimulator, *, state_branch: str | None = "reconciler/state") -> str:
    endpoint = sim.endpoint
    git = f"git:\n  stateBranch: {state_branch}\n" if state_branch else ""
    return f"""\
version: 1
specs: specs
state: state
artifacts: artifacts
platform:
  url: {endpoint.base_url}
  accountId: {endpoint.account_id}
apply:
  concurrency: 20
  rateLimit: 10
  pollInitial: 0.05
  pollMax: 0.2
  timeout: 30
  recordTimeout: 2
  adoptAfter: 0.3
{git}environments:
  test:
    vars: {{env: test}}
  production:
    vars: {{env: production}}
"""


def execution(name: str, value: str = "1") -> str:
    """A spec whose submission names its environment and a value a pull request changes."""
    return f"""\
apiVersion: reconciler/v1
kind: Execution
metadata:
  name: {name}
spec:
  processId: {ORDERS}
  atomId: {PROD_ATOM}
  dynamicProperties:
    ENV: "{{{{ vars.env }}}}"
    NAME: "{name}"
    VALUE: "{value}"
"""


def copied_workflows(
    names: tuple[str, ...] = ("plan", "comment", "apply", "drift", "sharded"),
) -> dict[str, str]:
    """The shipped example workflows, with the action pinned as a user pins it."""
    files = {}
    for name in names:
        text = (WORKFLOWS / f"reconcile-{name}.yml").read_text(encoding="utf-8")
        text = re.sub(r"uses: \./$", f"uses: {ACTION}@{ACTION_SHA} # v1.0.0", text, flags=re.M)
        files[f".github/workflows/reconcile-{name}.yml"] = text
    return files


@pytest.fixture
def github(
    tmp_path: Path, gh: FakeGitHub, sim_server: RunningSimulator, monkeypatch: pytest.MonkeyPatch
) -> GitHubEmulator:
    """The emulated GitHub with an empty protected repository (seed it with ``seed``)."""
    for name in ("BOOMI_API_URL", "BOOMI_ACCOUNT_ID", "BOOMI_USERNAME", "BOOMI_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    root = tmp_path / "github"
    root.mkdir()
    origin = Origin(root)
    em = GitHubEmulator(root, origin, gh, ROOT, ACTION)
    endpoint = sim_server.endpoint
    creds = {"BOOMI_USERNAME": endpoint.username, "BOOMI_API_TOKEN": endpoint.token}
    em.environments = {
        "test": Environment(secrets=dict(creds)),
        "production": Environment(secrets=dict(creds), reviewers=True),
    }
    return em


def seed(em: GitHubEmulator, sim: RunningSimulator, specs: dict[str, str], **kwargs: object) -> str:
    """The repository's first commit: config, specs, the example workflows."""
    files = {"reconciler.yaml": config(sim, **kwargs), "README.md": "# our Boomi schedules\n"}  # type: ignore[arg-type]
    files.update(copied_workflows())
    files.update(specs)
    return em.origin.seed(files)
