"""`reconciler render NAME`: the exact body, secrets as references, and the digest."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.specs.load import load_desired
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
  dynamicProperties:
    DATE: "{{{{ vars.d }}}}"
    KEY: '{{{{ secret("ORDERS_KEY") }}}}'
  vars: {{d: "2026-01-15"}}
"""


def test_render_prints_body_and_digest(
    workspace: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORDERS_KEY", "never-shown")
    build_tree(workspace, {"specs/o.yaml": SPEC})
    result = run_cli("render", "orders", "--var", "d=2026-02-01")
    assert result.code == 0, result.err
    digest = load_desired([workspace / "specs"], root=workspace).runs[0].digest
    assert "never-shown" not in result.out
    body, last = result.out.rsplit("\n", 2)[0], result.out.splitlines()[-1]
    assert last.startswith("digest: v1:sha256:")
    assert last != f"digest: {digest}"  # --var changed a value, so the digest too
    assert body.splitlines() == [
        "{",
        '  "@type": "ExecutionRequest",',
        f'  "atomId": "{PROD_ATOM}",',
        f'  "processId": "{ORDERS}",',
        '  "DynamicProcessProperties": {',
        '    "@type": "ExecutionRequestDynamicProcessProperties",',
        '    "DynamicProcessProperty": [',
        "      {",
        '        "@type": "",',
        '        "name": "DATE",',
        '        "value": "2026-02-01"',
        "      },",
        "      {",
        '        "@type": "",',
        '        "name": "KEY",',
        '        "value": "{{ secret(\\"ORDERS_KEY\\") }}"',
        "      }",
        "    ]",
        "  },",
        '  "ProcessProperties": {',
        '    "@type": "ExecutionRequestProcessProperties",',
        '    "ProcessProperty": []',
        "  }",
        "}",
    ]
    plain = run_cli("render", "orders")
    assert plain.out.splitlines()[-1] == f"digest: {digest}"


def test_render_unknown_name(workspace: Path, run_cli: Run) -> None:
    build_tree(workspace, {"specs/o.yaml": SPEC})
    result = run_cli("render", "nope")
    assert result.code == 1
    assert result.err.strip() == "error: no such execution: nope; expected one of: orders"
