"""Every feature of the spec language, from real files on disk through the real CLI.

`reconciler validate` needs no simulator, so these tests run the CLI entry point in-process on a
workspace in tmp_path and compare whole output lines (file:line:col included).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.cli import main
from reconciler.config.settings import load_settings
from reconciler.model import RunMode, SecretRef
from reconciler.model.digest import compute_digest
from reconciler.specs.load import LoadResult, load_desired

ORDERS = "789abcde-f012-3456-789a-bcdef0123456"
ATOM = "3456789a-bcde-f012-3456-789abcdef012"
ATOM_PROD = "3456789a-bcde-f012-3456-789abcdef099"
COMPONENT = "456789ab-cdef-0123-4567-89abcdef0123"

CONFIG = f"""\
version: 1
defaultEnvironment: dev
templateEnv: [DEPLOY_REGION]
vars:
  tier: config
  owner: config
  region: config
aliases:
  processes:
    orders-sync: {ORDERS}
  runtimes:
    cloud: {ATOM}
environments:
  dev:
    vars: {{tier: dev}}
  prod:
    vars: {{tier: prod, owner: prod}}
    aliases:
      runtimes: {{cloud: {ATOM_PROD}}}
    platform: {{accountId: prod-ACCOUNT}}
"""

SET = """\
apiVersion: reconciler/v1
kind: ExecutionSet
metadata:
  name: orders
  labels: {team: orders}
  description: Nightly order sync, one run per region.
spec:
  defaults:
    process: orders-sync
    runtime: cloud
    vars: {owner: set, region: set}
    dynamicProperties:
      DPP_REGION: "{{ matrix.region | upper }}"
      DPP_WHO: "{{ vars.tier }}/{{ vars.owner }}/{{ vars.region }}/{{ name }}"
    policy: {run: always, timeout: 30m}
  matrix:
    region: [eu, us]
  executions:
    - name: "orders-{{ matrix.region }}"
      dependsOn: ["extract-{{ matrix.region }}"]
      labels: {tier: critical}
      processProperties:
        456789ab-cdef-0123-4567-89abcdef0123: {batchSize: 500}
    - name: "extract-{{ matrix.region }}"
      vars: {region: spec}
      policy:
        retries: {count: 2, on: [ERROR]}
        warnIsSuccess: false
"""


def _workspace(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp_path


def _cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], where: Path, *args: str
) -> tuple[int, list[str], list[str]]:
    monkeypatch.chdir(where)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")  # git facts from these variables, not a repo
    monkeypatch.setenv("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567")
    monkeypatch.setenv("GITHUB_REF", "refs/pull/42/merge")
    monkeypatch.setenv("GITHUB_HEAD_REF", "feature/x")
    monkeypatch.setenv("DEPLOY_REGION", "west")
    monkeypatch.delenv("RECONCILER_ENV", raising=False)
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    code = exited.value.code
    return (
        (code if isinstance(code, int) else 0),
        captured.out.splitlines(),
        captured.err.splitlines(),
    )


def _load(root: Path, environment: str | None = None, **overrides: str) -> LoadResult:
    settings = load_settings(None, root, {"DEPLOY_REGION": "west"}, environment)
    context = settings.spec_context(
        {"DEPLOY_REGION": "west"}, git={"short_sha": "0123456"}, overrides=overrides
    )
    return load_desired([settings.specs_dir], root=root, context=context)


def test_set_with_matrix_defaults_aliases_and_precedence(tmp_path: Path) -> None:
    root = _workspace(tmp_path, {"reconciler.yaml": CONFIG, "specs/orders.yaml": SET})
    result = _load(root)
    assert result.diagnostics == []
    runs = {run.name: run for run in result.runs}
    assert sorted(runs) == ["extract-eu", "extract-us", "orders-eu", "orders-us"]
    orders = runs["orders-eu"]
    assert orders.request.process_id == ORDERS
    assert orders.request.atom_id == ATOM
    assert orders.request.dynamic_properties == {
        "DPP_REGION": "EU",
        "DPP_WHO": "dev/set/set/orders-eu",  # environment over config, set defaults over both
    }
    assert orders.request.process_properties == {COMPONENT: {"batchSize": "500"}}
    assert orders.depends_on == ("extract-eu",)
    assert orders.labels == {"team": "orders", "tier": "critical"}
    assert orders.description == "Nightly order sync, one run per region."
    assert orders.policy.run is RunMode.ALWAYS
    assert orders.policy.timeout == 1800.0
    assert str(orders.source) == "specs/orders.yaml:19:13"
    extract = runs["extract-us"]
    assert extract.request.dynamic_properties["DPP_WHO"] == "dev/set/spec/extract-us"
    assert extract.policy.retries.count == 2
    assert extract.policy.retries.on == ("ERROR",)
    assert extract.policy.warn_is_success is False
    assert extract.policy.timeout == 1800.0  # merged from defaults, key by key


def test_environment_selects_vars_and_aliases_and_var_wins(tmp_path: Path) -> None:
    root = _workspace(tmp_path, {"reconciler.yaml": CONFIG, "specs/orders.yaml": SET})
    result = _load(root, "prod", owner="cli", region="cli")
    assert result.diagnostics == []
    run = next(r for r in result.runs if r.name == "orders-eu")
    assert run.request.atom_id == ATOM_PROD
    assert run.request.dynamic_properties["DPP_WHO"] == "prod/cli/cli/orders-eu"


def test_list_and_map_process_properties_give_the_same_request(tmp_path: Path) -> None:
    head = "apiVersion: reconciler/v1\nkind: Execution\nmetadata: {name: a}\nspec:\n"
    head += f"  processId: {ORDERS}\n  atomId: {ATOM}\n"
    as_list = (
        head + f"  processProperties:\n    - componentId: {COMPONENT}\n      values: {{k: v}}\n"
    )
    as_map = head + f"  processProperties:\n    {COMPONENT.upper()}: {{k: v}}\n"
    digests = []
    for text in (as_list, as_map):
        path = tmp_path / "spec.yaml"
        path.write_text(text, encoding="utf-8")
        result = load_desired([path], root=tmp_path)
        assert result.diagnostics == []
        digests.append(result.runs[0].digest)
        assert result.runs[0].request.process_properties == {COMPONENT: {"k": "v"}}
    assert digests[0] == digests[1]


def test_existing_demo_specs_keep_their_digests() -> None:
    root = Path(__file__).resolve().parents[2]
    result = load_desired([root / "specs"], root=root)
    assert result.diagnostics == []
    names = [run.name for run in result.runs]
    assert {"orders-sync-eu", "invoices-export", "inventory-refresh"} <= set(names)
    for run in result.runs:
        assert run.digest == compute_digest(run.request)


def test_secret_git_and_env_in_the_template_context(tmp_path: Path) -> None:
    spec = (
        "apiVersion: reconciler/v1\nkind: Execution\nmetadata:\n  name: a\n  labels: {x: y}\n"
        "spec:\n  process: orders-sync\n  runtime: cloud\n  dynamicProperties:\n"
        "    TOKEN: \"{{ secret('API_TOKEN') }}\"\n"
        '    WHERE: "{{ env.DEPLOY_REGION }}@{{ git.short_sha }}"\n'
        "  policy: {run: manual, timeout: 90}\n"
    )
    root = _workspace(tmp_path, {"reconciler.yaml": CONFIG, "specs/a.yaml": spec})
    result = _load(root)
    assert result.diagnostics == []
    run = result.runs[0]
    assert run.request.dynamic_properties == {
        "TOKEN": SecretRef(secret="API_TOKEN"),
        "WHERE": "west@0123456",
    }
    assert run.policy.run is RunMode.MANUAL
    assert run.policy.timeout == 90.0


def test_validate_through_the_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    where = _workspace(tmp_path, {"reconciler.yaml": CONFIG, "specs/orders.yaml": SET})
    code, out, err = _cli(monkeypatch, capsys, where, "--env", "prod", "validate", "--var", "a=1")
    assert (code, out, err) == (0, ["1 file(s), 4 execution(s): all valid."], [])


BROKEN_SET = """\
apiVersion: reconciler/v1
kind: ExecutionSet
metadata:
  name: broken
spec:
  defaults:
    process: order-sync
    runtime: cloud
  matrix:
    region: [eu, us]
  executions:
    - name: "a-{{ matrix.region }}"
    - name: b
    - name: "c-{{ matrix.zone }}"
"""

CYCLE = f"""\
apiVersion: reconciler/v1
kind: ExecutionSet
metadata:
  name: chain
spec:
  defaults:
    processId: {ORDERS}
    runtime: cloud
  executions:
    - name: a
      dependsOn: [b]
    - name: b
      dependsOn: [c]
    - name: c
      dependsOn: [a, orders-e]
    - name: d
      dependsOn: [a-eu]
      dynamicProperties:
        X: "{{{{ vars.nope }}}}"
        Y: |
          line one
          {{{{ vars.x + }}}}
"""


def test_every_error_class_is_located_through_the_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    where = _workspace(
        tmp_path,
        {
            "reconciler.yaml": CONFIG,
            "specs/broken.yaml": BROKEN_SET,
            "specs/chain.yaml": CYCLE,
        },
    )
    code, out, err = _cli(monkeypatch, capsys, where, "validate")
    assert code == 1
    # GITHUB_ACTIONS is set (for the git facts), so each problem is also an annotation (capped)
    assert len(out) == min(len(err) - 1, 10) + (len(err) - 1 > 10)
    assert all(line.startswith(("::error file=specs/", "::warning::")) for line in out)
    assert err == [
        'specs/broken.yaml:7:14: spec.defaults.process: unknown process alias "order-sync" '
        '(environment "dev"); did you mean "orders-sync"?',
        'specs/broken.yaml:13:13: spec.executions[1].name: "b" renders the same name "b" for '
        "matrix region=eu and region=us; expected a name template that uses every matrix axis, "
        'e.g. "b-{{ matrix.region }}"',
        "specs/broken.yaml:14:13: spec.executions[2].name: undefined template variable "
        '"matrix.zone"; defined matrix: region (the axes of the set\'s matrix)',
        "specs/chain.yaml:11:19: spec.executions[0].dependsOn[0]: dependency cycle a → b → c → a; "
        "expected dependsOn to form no cycle",
        'specs/chain.yaml:15:22: spec.executions[2].dependsOn[1]: unknown execution "orders-e"; '
        "expected the name of an execution defined in the specs",
        "specs/chain.yaml:19:12: spec.executions[3].dynamicProperties.X: undefined template "
        'variable "vars.nope"; defined vars: owner, region, tier',
        "specs/chain.yaml:22:11: spec.executions[3].dynamicProperties.Y: template syntax error: "
        "unexpected 'end of print statement'",
        "error: 7 problems found",
    ]
    github = _cli(monkeypatch, capsys, where, "validate", "--output", "github")
    assert github[0] == 1
    assert github[1][0].startswith("::error file=specs/broken.yaml,line=7,col=14::")
    code, out, _ = _cli(monkeypatch, capsys, where, "validate", "--output", "json")
    payload = json.loads("\n".join(out))
    assert (code, payload["formatVersion"], payload["valid"]) == (1, 1, False)
    assert payload["problems"][3]["path"] == "$.spec.executions[0].dependsOn[0]"


def test_unknown_environment_and_bad_var_are_usage_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    where = _workspace(tmp_path, {"reconciler.yaml": CONFIG, "specs/orders.yaml": SET})
    assert _cli(monkeypatch, capsys, where, "--env", "prd", "validate")[1:] == (
        [],
        ['error: unknown environment "prd"; did you mean "prod"?'],
    )
    code, _, err = _cli(monkeypatch, capsys, where, "validate", "--var", "no-dash=1")
    assert code == 1
    assert err == [
        "error: --var 'no-dash=1': expected KEY=VALUE with KEY a variable name; e.g. --var "
        "run_date=2026-01-15"
    ]
