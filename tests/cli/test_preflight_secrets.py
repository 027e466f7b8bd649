"""Issue 17, case 6: a missing secret is found before anything is sent, all at once.

With ``ERP_API_KEY`` unset, ``apply`` used to submit every other run and reject only the one
that needed it; neither ``validate`` nor ``plan`` said a word. Now ``apply`` checks every
secret of every run it would send before its first submit and, if any is missing, submits
nothing and lists them all (spec file:line, execution, secret name, how to provide it);
``plan --check-secrets`` reports the same without submitting. Runs the plan does not send
need no secrets. Values never appear, only names.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import (
    INVENTORY,
    INVOICES,
    ORDERS,
    PROD_ATOM,
    Admin,
    CliResult,
    build_tree,
    spec,
)

Run = Callable[..., CliResult]

CANARY = "canary-erp-5e1d-DO-NOT-LEAK"

ERP_SET = f"""\
apiVersion: reconciler/v1
kind: ExecutionSet
metadata:
  name: erp
spec:
  defaults:
    processId: {ORDERS}
    atomId: {PROD_ATOM}
    dynamicProperties:
      API_KEY: '{{{{ secret("ERP_API_KEY") }}}}'
  matrix:
    region: [eu, us]
  executions:
    - name: "erp-extract-{{{{ matrix.region }}}}"
    - name: "erp-load-{{{{ matrix.region }}}}"
      dependsOn: ["erp-extract-{{{{ matrix.region }}}}"]
      processProperties:
        {INVOICES}:
          token: '{{{{ secret("WAREHOUSE_TOKEN") }}}}'
"""

CRM = f"""\
apiVersion: reconciler/v1
kind: Execution
metadata:
  name: crm-sync
spec:
  processId: {ORDERS}
  atomId: {PROD_ATOM}
  dynamicProperties:
    CRM_KEY: '{{{{ secret("CRM_KEY") }}}}'
    MODE: full
"""

FILES = {
    "specs/erp.yaml": ERP_SET,
    "specs/crm.yaml": CRM,
    "specs/inventory.yaml": spec("inventory", INVENTORY, PROD_ATOM, {"WAREHOUSE": "AMS"}),
}

MISSING = [
    'specs/crm.yaml:9:14: crm-sync: spec.dynamicProperties.CRM_KEY: secret("CRM_KEY") is not '
    "set; expected the environment variable CRM_KEY",
    "specs/erp.yaml:10:16: erp-extract-eu: spec.defaults.dynamicProperties.API_KEY: "
    'secret("ERP_API_KEY") is not set; expected the environment variable ERP_API_KEY',
    "specs/erp.yaml:10:16: erp-extract-us: spec.defaults.dynamicProperties.API_KEY: "
    'secret("ERP_API_KEY") is not set; expected the environment variable ERP_API_KEY',
    "specs/erp.yaml:10:16: erp-load-eu: spec.defaults.dynamicProperties.API_KEY: "
    'secret("ERP_API_KEY") is not set; expected the environment variable ERP_API_KEY',
    "specs/erp.yaml:10:16: erp-load-us: spec.defaults.dynamicProperties.API_KEY: "
    'secret("ERP_API_KEY") is not set; expected the environment variable ERP_API_KEY',
    f"specs/erp.yaml:19:18: erp-load-eu: spec.executions[1].processProperties.{INVOICES}.token: "
    'secret("WAREHOUSE_TOKEN") is not set; expected the environment variable WAREHOUSE_TOKEN',
    f"specs/erp.yaml:19:18: erp-load-us: spec.executions[1].processProperties.{INVOICES}.token: "
    'secret("WAREHOUSE_TOKEN") is not set; expected the environment variable WAREHOUSE_TOKEN',
]

HOW = (
    "set each as an environment variable of that name where apply runs (in GitHub Actions: "
    "env: NAME: ${{ secrets.NAME }} on the apply step)"
)


@pytest.fixture
def secrets_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ERP_API_KEY", "WAREHOUSE_TOKEN", "CRM_KEY"):
        monkeypatch.delenv(name, raising=False)


def _run_files(root: Path) -> list[str]:
    folder = root / "state" / "default"
    return sorted(p.name for p in folder.glob("*.json")) if folder.is_dir() else []


@pytest.mark.usefixtures("secrets_unset")
def test_apply_submits_nothing_and_lists_every_missing_secret(
    workspace: Path, sim: Admin, run_cli: Run
) -> None:
    build_tree(workspace, FILES)
    result = run_cli("apply")
    assert result.code == 1
    assert result.err.splitlines() == [
        *MISSING,
        f"error: 3 secrets missing for 5 executions the plan sends; nothing was submitted; {HOW}",
    ]
    assert "Plan (default): 4 to submit, 2 waiting on dependencies." in result.out
    assert sim.submissions() == []  # not even the runs that need no secret
    assert sim.stats()["total"] == 0  # nor any other request: checked before the first one
    assert _run_files(workspace) == []  # no intent, no rejected entry: as if never applied


@pytest.mark.usefixtures("secrets_unset")
def test_plan_check_secrets_reports_the_same_and_submits_nothing(
    workspace: Path, sim: Admin, run_cli: Run
) -> None:
    build_tree(workspace, FILES)
    quiet = run_cli("plan")
    assert quiet.code == 0
    assert quiet.err == ""  # plan alone needs no secret values (it runs on pull requests)
    checked = run_cli("plan", "--check-secrets", "--detailed-exitcode")
    assert checked.code == 1  # a missing secret outranks "changes pending" (2)
    assert checked.out == quiet.out  # the same plan, then the list
    assert checked.err.splitlines() == [
        *MISSING,
        "error: 3 secrets missing for 5 executions the plan sends; apply would submit nothing "
        f"(plan --check-secrets); {HOW}",
    ]
    assert sim.submissions() == []


def test_every_secret_set_passes_the_preflight_and_values_never_show(
    workspace: Path, sim: Admin, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("ERP_API_KEY", "WAREHOUSE_TOKEN", "CRM_KEY"):
        monkeypatch.setenv(name, f"{CANARY}-{name}")
    build_tree(workspace, FILES)
    checked = run_cli("plan", "--check-secrets")
    assert checked.code == 0
    assert checked.err == "check-secrets: 3 secret(s) of the runs to send are set\n"
    applied = run_cli("apply")
    assert applied.code == 0, applied.err
    assert len(sim.submissions()) == 6
    for result in (checked, applied):
        assert CANARY not in result.out + result.err


def test_runs_the_plan_does_not_send_need_no_secrets(
    workspace: Path, sim: Admin, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ERP_API_KEY", CANARY)
    monkeypatch.setenv("WAREHOUSE_TOKEN", CANARY)
    monkeypatch.setenv("CRM_KEY", CANARY)
    build_tree(workspace, FILES)
    assert run_cli("apply").code == 0
    for name in ("ERP_API_KEY", "WAREHOUSE_TOKEN"):
        monkeypatch.delenv(name)
    # Only crm-sync changes: the erp runs are noop, so their secrets are not needed.
    build_tree(workspace, {"specs/crm.yaml": CRM.replace("MODE: full", "MODE: delta")})
    checked = run_cli("plan", "--check-secrets")
    assert checked.code == 0, checked.err
    assert checked.err == "check-secrets: 1 secret(s) of the runs to send are set\n"
    applied = run_cli("apply")
    assert applied.code == 0, applied.err
    assert len(sim.submissions()) == 7


@pytest.mark.usefixtures("secrets_unset")
def test_a_selection_checks_only_the_runs_it_sends(
    workspace: Path, sim: Admin, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM_KEY", CANARY)
    build_tree(workspace, FILES)
    applied = run_cli("apply", "--select", "crm-sync", "--select", "inventory")
    assert applied.code == 0, applied.err
    assert sorted(s["processId"] for s in sim.submissions()) == sorted([ORDERS, INVENTORY])


def test_an_empty_secret_is_named_as_empty(
    workspace: Path, sim: Admin, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GitHub Actions gives a secret the repository does not define as an empty string: it
    # used to be sent as an empty value.
    monkeypatch.setenv("ERP_API_KEY", "")
    monkeypatch.setenv("WAREHOUSE_TOKEN", CANARY)
    monkeypatch.setenv("CRM_KEY", CANARY)
    build_tree(workspace, FILES)
    result = run_cli("apply")
    assert result.code == 1
    empty = (
        'secret("ERP_API_KEY") is set but empty; expected a value in the environment variable '
        "ERP_API_KEY (a GitHub secret the repository or environment does not define reads as "
        "empty)"
    )
    assert result.err.splitlines() == [
        *(
            f"specs/erp.yaml:10:16: {name}: spec.defaults.dynamicProperties.API_KEY: {empty}"
            for name in ("erp-extract-eu", "erp-extract-us", "erp-load-eu", "erp-load-us")
        ),
        f"error: 1 secret missing for 4 executions the plan sends; nothing was submitted; {HOW}",
    ]
    assert CANARY not in result.out + result.err
    assert sim.submissions() == []
    assert _run_files(workspace) == []
