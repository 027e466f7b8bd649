"""A ``dependsOn`` chain far deeper than Python's recursion limit validates and plans.

Through the real CLI, in this process (whose recursion limit is the default 1,000): each step
depends on the next, so the first name in sorted order sits at the top of a 10,000-deep chain.
A cycle in the same repository is still reported exactly as before, by both commands.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ORDERS, PROD_ATOM, CliResult, build_tree

STEPS = 10_000


def _chain(steps: int) -> str:
    lines = [
        "apiVersion: reconciler/v1",
        "kind: ExecutionSet",
        "metadata: {name: chain}",
        "spec:",
        f"  defaults: {{processId: {ORDERS}, atomId: {PROD_ATOM}}}",
        "  executions:",
    ]
    for i in range(steps):
        lines.append(f"    - name: step-{i:05d}")
        if i + 1 < steps:
            lines.append(f"      dependsOn: [step-{i + 1:05d}]")
    return "\n".join(lines) + "\n"


CYCLE = f"""\
apiVersion: reconciler/v1
kind: ExecutionSet
metadata: {{name: loop}}
spec:
  defaults: {{processId: {ORDERS}, atomId: {PROD_ATOM}}}
  executions:
    - name: loop-a
      dependsOn: [loop-b]
    - name: loop-b
      dependsOn: [loop-c]
    - name: loop-c
      dependsOn: [loop-a]
"""


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    build_tree(
        tmp_path,
        {"reconciler.yaml": "platform: {accountId: acme-1}\n", "specs/chain.yaml": _chain(STEPS)},
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_chain_deeper_than_the_recursion_limit_validates_and_plans(
    repo: Path, run_cli: Callable[..., CliResult]
) -> None:
    assert sys.getrecursionlimit() < STEPS  # else this test proves nothing
    checked = run_cli("validate")
    assert checked.code == 0, checked.err
    assert f"{STEPS} execution(s): all valid." in checked.out + checked.err
    planned = run_cli("plan", "--output", "json")
    assert planned.code == 0, planned.err
    actions = {item["name"]: item for item in json.loads(planned.out)["actions"]}
    assert len(actions) == STEPS
    assert actions[f"step-{STEPS - 1:05d}"]["action"] == "submit"
    first = actions["step-00000"]
    assert first["action"] == "wait"
    assert first["reason"] == "never run; runs after step-00001 succeed"


def test_a_cycle_is_reported_as_before_beside_a_long_chain(
    repo: Path, run_cli: Callable[..., CliResult]
) -> None:
    build_tree(repo, {"specs/loop.yaml": CYCLE})
    expected = (
        "specs/loop.yaml:8:19: spec.executions[0].dependsOn[0]: dependency cycle "
        "loop-a → loop-b → loop-c → loop-a; expected dependsOn to form no cycle"
    )
    for command in ("validate", "plan"):
        result = run_cli(command)
        assert result.code == 1, (command, result.err)
        assert result.err.splitlines() == [expected, "error: 1 problem found"], command
