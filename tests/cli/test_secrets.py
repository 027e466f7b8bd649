"""A secret canary set in the environment appears in no file and no line of output."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import INVOICES, ORDERS, PROD_ATOM, Admin, CliResult, build_tree

Run = Callable[..., CliResult]

CANARY = "canary-7f3a9c-DO-NOT-LEAK"

SECRET_SPEC = f"""\
apiVersion: reconciler/v1
kind: Execution
metadata:
  name: orders
spec:
  processId: {ORDERS}
  atomId: {PROD_ATOM}
  dynamicProperties:
    API_KEY: '{{{{ secret("ORDERS_API_KEY") }}}}'
    PLAIN: visible
"""


def _all_text(root: Path) -> str:
    return "\n".join(
        p.read_text(encoding="utf-8", errors="replace")
        for p in root.rglob("*")
        if p.is_file() and ".git" not in p.parts
    )


def test_secret_reaches_the_platform_and_nothing_else(
    workspace: Path, sim: Admin, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORDERS_API_KEY", CANARY)
    failing = SECRET_SPEC.replace("name: orders", "name: invoices").replace(ORDERS, INVOICES)
    build_tree(workspace, {"specs/orders.yaml": SECRET_SPEC, "specs/invoices.yaml": failing})
    outputs = [run_cli("plan"), run_cli("plan", "--output", "json"), run_cli("apply")]
    outputs += [run_cli("status"), run_cli("plan", "--output", "markdown")]
    assert outputs[2].code == 3
    for result in outputs:
        assert CANARY not in result.out + result.err
    assert CANARY not in _all_text(workspace)
    state = json.loads((workspace / "state/default/orders.json").read_text(encoding="utf-8"))
    assert state["request"]["dynamic_properties"]["API_KEY"] == {"secret": "ORDERS_API_KEY"}
    # The platform did receive the value: the secret was resolved at submit time.
    sent = json.dumps(sim.submissions())
    assert CANARY in sent


def test_missing_secret_stops_the_apply_before_it_submits(
    workspace: Path, sim: Admin, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ORDERS_API_KEY", raising=False)
    build_tree(workspace, {"specs/orders.yaml": SECRET_SPEC})
    assert run_cli("plan").code == 0  # plan needs no secret values
    result = run_cli("apply")
    assert result.code == 1  # the preflight (tests/cli/test_preflight_secrets.py)
    assert (
        'specs/orders.yaml:9:14: orders: spec.dynamicProperties.API_KEY: secret("ORDERS_API_KEY") '
        "is not set; expected the environment variable ORDERS_API_KEY" in result.err
    )
    assert sim.submissions() == []
