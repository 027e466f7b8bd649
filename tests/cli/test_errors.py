"""Bad input: file:line:col, exit 1, no traceback, for validate, plan and apply alike."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ORDERS, PROD_ATOM, Admin, CliResult, build_tree, spec

Run = Callable[..., CliResult]

BROKEN_YAML = 'apiVersion: reconciler/v1\nkind: Execution\nmetadata:\n  name: "orders\n'
SCHEMA_VIOLATION = spec("orders", ORDERS, "not-a-guid")


@pytest.mark.parametrize("command", ["validate", "plan", "apply"])
def test_yaml_syntax_error(workspace: Path, sim: Admin, run_cli: Run, command: str) -> None:
    build_tree(workspace, {"specs/broken.yaml": BROKEN_YAML})
    result = run_cli(command)
    assert result.code == 1
    assert result.err.splitlines() == [
        "specs/broken.yaml:5:1: YAML syntax error: found unexpected end of stream; expected "
        "valid YAML",
        "error: 1 problem found",
    ]
    assert sim.submissions() == []


@pytest.mark.parametrize("command", ["validate", "plan", "apply"])
def test_schema_violation(workspace: Path, sim: Admin, run_cli: Run, command: str) -> None:
    build_tree(workspace, {"specs/orders.yaml": SCHEMA_VIOLATION})
    result = run_cli(command)
    assert result.code == 1
    assert result.err.splitlines() == [
        'specs/orders.yaml:7:11: spec.atomId: "not-a-guid" is not valid; expected a GUID like '
        "789abcde-f012-3456-789a-bcdef0123456 (8-4-4-4-12 hexadecimal digits)",
        "error: 1 problem found",
    ]
    assert not (workspace / "state" / "default").exists()


def test_validate_reports_all_files_and_formats(workspace: Path, run_cli: Run) -> None:
    build_tree(
        workspace,
        {"specs/broken.yaml": BROKEN_YAML, "specs/orders.yaml": SCHEMA_VIOLATION},
    )
    github = run_cli("validate", "--output", "github")
    assert github.code == 1
    assert github.out.splitlines() == [
        "::error file=specs/broken.yaml,line=5,col=1::YAML syntax error: found unexpected end "
        "of stream; expected valid YAML",
        '::error file=specs/orders.yaml,line=7,col=11::spec.atomId: "not-a-guid" is not valid; '
        "expected a GUID like 789abcde-f012-3456-789a-bcdef0123456 (8-4-4-4-12 hexadecimal "
        "digits)",
    ]
    as_json = run_cli("validate", "--output", "json")
    assert as_json.code == 1
    assert '"valid": false' in as_json.out


def test_validate_given_paths_and_missing_path(workspace: Path, run_cli: Run) -> None:
    build_tree(workspace, {"other/ok.yaml": spec("ok", ORDERS, PROD_ATOM)})
    ok = run_cli("validate", "other/ok.yaml")
    assert (ok.code, ok.out.strip()) == (0, "1 file(s), 1 execution(s): all valid.")
    missing = run_cli("validate", "nope.yaml")
    assert missing.code == 1
    assert (
        missing.err.splitlines()[0] == "nope.yaml:1:1: no such file or folder; expected spec files"
    )


def test_duplicate_names_point_at_both_places(workspace: Path, run_cli: Run) -> None:
    build_tree(
        workspace,
        {
            "specs/a.yaml": spec("orders", ORDERS, PROD_ATOM),
            "specs/b.yaml": spec("orders", ORDERS, PROD_ATOM),
        },
    )
    result = run_cli("plan")
    assert result.code == 1
    assert result.err.splitlines()[0] == (
        'specs/b.yaml:4:9: metadata.name: duplicate execution name "orders", first defined at '
        "specs/a.yaml:4:9; expected names unique across the repository"
    )


def test_bad_config_is_located(workspace: Path, run_cli: Run) -> None:
    text = (workspace / "reconciler.yaml").read_text(encoding="utf-8")
    (workspace / "reconciler.yaml").write_text(
        text.replace("  concurrency: 20", "  concurency: 20"), encoding="utf-8"
    )
    result = run_cli("plan")
    assert result.code == 1
    assert result.err.splitlines()[0] == (
        'reconciler.yaml:9:3: apply.concurency: unknown setting; did you mean "concurrency"?'
    )


def test_usage_error_exits_1_not_2(workspace: Path, run_cli: Run) -> None:
    result = run_cli("plan", "--bogus")
    assert result.code == 1
    assert "No such option '--bogus'" in result.err


@pytest.mark.parametrize("command", ["plan", "apply"])
def test_spec_problems_are_reported_before_a_broken_state(
    workspace: Path, sim: Admin, run_cli: Run, command: str
) -> None:
    # The state is read while the specs load; its error still waits for theirs.
    build_tree(
        workspace,
        {"specs/orders.yaml": SCHEMA_VIOLATION, "state/default/orders.json": "{not json"},
    )
    result = run_cli(command)
    assert result.code == 1
    assert result.err.splitlines()[-1] == "error: 1 problem found"
    assert "state file" not in result.err
    build_tree(workspace, {"specs/orders.yaml": spec("orders", ORDERS, PROD_ATOM)})
    result = run_cli(command)
    assert result.code == 1
    assert "state/default/orders.json: state file is not valid JSON" in result.err
    assert sim.submissions() == []


def test_bad_config_in_actions_is_annotated_like_bad_specs(
    workspace: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (workspace / "reconciler.yaml").read_text(encoding="utf-8")
    (workspace / "reconciler.yaml").write_text(
        text.replace("  concurrency: 20", "  concurency: 20"), encoding="utf-8"
    )
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    result = run_cli("plan")
    assert result.code == 1
    assert result.out == (
        "::error file=reconciler.yaml,line=9,col=3::apply.concurency: unknown setting; "
        'did you mean "concurrency"?\n'
    )
    assert result.err == (
        'reconciler.yaml:9:3: apply.concurency: unknown setting; did you mean "concurrency"?\n'
        "error: 1 problem found\n"
    )
