"""The check in the plan comment, through the emulated GitHub: the shipped comment workflow.

A pull request adds an execution whose process is not deployed where its runtime is attached;
the comment workflow (default branch, the repository's read-only check credentials) checks
the plan artifact on the platform and the comment shows the finding under the plan, for each
environment. Without those credentials the comment says what it could not check.
"""

from __future__ import annotations

import pytest

from reconciler.sim.serve import RunningSimulator
from tests.conftest import CUSTOMERS, PROD_ATOM, Admin
from tests.github.emulate.conftest import execution, seed
from tests.github.emulate.github import GitHubEmulator
from tests.github.emulate.test_scenarios import reviewed_pull

pytestmark = pytest.mark.slow

UNDEPLOYED = f"""\
apiVersion: reconciler/v1
kind: Execution
metadata:
  name: customers
spec:
  processId: {CUSTOMERS}
  atomId: {PROD_ATOM}
"""


def test_the_comment_shows_the_check_of_the_plan(
    github: GitHubEmulator, sim_server: RunningSimulator, sim: Admin
) -> None:
    endpoint = sim_server.endpoint
    github.secrets.update(
        BOOMI_CHECK_USERNAME=endpoint.username, BOOMI_CHECK_API_TOKEN=endpoint.token
    )
    seed(github, sim_server, {"specs/orders.yaml": execution("orders")})
    pull = reviewed_pull(github, {"specs/customers.yaml": UNDEPLOYED})
    bodies = {b.splitlines()[0].split()[1].split(":")[1]: b for b in
              (c["body"] for c in github.gh.comments_of(pull.number))}  # fmt: skip
    assert set(bodies) == {"test", "production"}
    for environment, body in bodies.items():
        plan, check = body.split(f"#### reconciler check: `{environment}`\n")
        assert "| + | `customers` | submit |" in plan
        assert "| `customers` | `specs/customers.yaml:4` | deployment | error | process " in check
        assert "1 passed every check" in check  # orders
    assert sim.submissions() == []  # read-only


def test_without_check_credentials_the_comment_says_what_was_not_checked(
    github: GitHubEmulator, sim_server: RunningSimulator, sim: Admin
) -> None:
    seed(github, sim_server, {"specs/orders.yaml": execution("orders")})
    pull = reviewed_pull(github, {"specs/customers.yaml": UNDEPLOYED})
    for comment in github.gh.comments_of(pull.number):
        assert "2 executions, none checked \\(no credentials\\)" in comment["body"]
    assert sim.stats()["total"] == 0
