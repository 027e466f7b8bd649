"""Issue 17, case 9: an undefined template variable gets a did-you-mean, at its line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.conftest import ORDERS, PROD_ATOM, CliResult, build_tree

Run = Callable[..., CliResult]

SPEC = f"""\
apiVersion: reconciler/v1
kind: Execution
metadata:
  name: orders
spec:
  processId: {ORDERS}
  atomId: {PROD_ATOM}
  vars:
    region: eu
    batch: 5
  dynamicProperties:
    A: "{{{{ vars.regoin }}}}"
    B: "{{{{ varz.region }}}}"
    C: "{{{{ vars.nothing_like_it }}}}"
"""


def test_an_undefined_variable_names_the_closest_defined_one(workspace: Path, run_cli: Run) -> None:
    build_tree(workspace, {"specs/orders.yaml": SPEC})
    result = run_cli("validate")
    assert result.code == 1
    assert result.err.splitlines() == [
        "specs/orders.yaml:12:8: spec.dynamicProperties.A: undefined template variable "
        '"vars.regoin" (did you mean "vars.region"?); defined vars: batch, region',
        'specs/orders.yaml:13:8: spec.dynamicProperties.B: undefined template variable "varz" '
        '(did you mean "vars"?); expected one of: env, git, matrix, name, vars, secret()',
        "specs/orders.yaml:14:8: spec.dynamicProperties.C: undefined template variable "
        '"vars.nothing_like_it"; defined vars: batch, region',
        "error: 3 problems found",
    ]
