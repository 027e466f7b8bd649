"""Outputs people read (issue 16, case 8), through the real CLI.

Every validation problem reaches the job log (ten annotations, the rest listed); annotations
and JUnit test cases name files from the repository root (``GITHUB_WORKSPACE``) when the tool
runs in a subfolder (the action's ``working-directory``); every JUnit test case carries its
spec's ``file`` and ``line``; an apply with nothing to do replaces the last apply's report.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from xml.etree import ElementTree

import pytest

from tests.conftest import (
    CONFIG,
    INVENTORY,
    ORDERS,
    PROD_ATOM,
    Admin,
    CliResult,
    build_tree,
    cli_in,
    spec,
)

Run = Callable[..., CliResult]


def _bad(name: str) -> str:
    return spec(name, ORDERS, "nope")  # atomId on line 7, column 11: not a GUID


def _cases(junit: Path) -> dict[str, ElementTree.Element]:
    root = ElementTree.fromstring(junit.read_text(encoding="utf-8"))
    return {case.get("name", ""): case for case in root.iter("testcase")}


def _name_line(path: Path, name: str) -> int:
    """The line of ``name: <name>`` in a spec: where it declares the execution."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return lines.index(f"  name: {name}") + 1


@pytest.fixture
def in_actions(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """GitHub Actions, the workspace being the repository root; returns the step summary."""
    summary = workspace.parent / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_WORKSPACE", str(workspace))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_OUTPUT", str(workspace.parent / "output.txt"))
    return summary


def test_validate_annotates_ten_problems_and_lists_the_other_five(
    workspace: Path, in_actions: Path, run_cli: Run
) -> None:
    build_tree(workspace, {f"specs/s{i:02}.yaml": _bad(f"s{i:02}") for i in range(15)})
    message = (
        'spec.atomId: "nope" is not valid; expected a GUID like '
        "789abcde-f012-3456-789a-bcdef0123456 (8-4-4-4-12 hexadecimal digits)"
    )
    result = run_cli("validate", "--output", "github")
    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[:10] == [
        f"::error file=specs/s{i:02}.yaml,line=7,col=11::{message}" for i in range(10)
    ]
    assert lines[10] == "::warning::5 more problems, not annotated; listed in the job log"
    assert lines[11:] == [f"specs/s{i:02}.yaml:7:11: {message}" for i in range(10, 15)]


def test_plan_with_fifteen_problems_keeps_every_one_in_the_log(
    workspace: Path, in_actions: Path, run_cli: Run
) -> None:
    build_tree(workspace, {f"specs/s{i:02}.yaml": _bad(f"s{i:02}") for i in range(15)})
    result = run_cli("plan")
    assert result.code == 1
    assert len([line for line in result.out.splitlines() if line.startswith("::error ")]) == 10
    assert [line.split(":")[0] for line in result.err.splitlines()[:15]] == [
        f"specs/s{i:02}.yaml" for i in range(15)
    ]


def test_unannotated_problems_are_one_inert_line_each(
    workspace: Path, in_actions: Path, run_cli: Run
) -> None:
    files = {f"specs/s{i:02}.yaml": _bad(f"s{i:02}") for i in range(10)}
    files["specs/z.yaml"] = spec("z", ORDERS, PROD_ATOM).replace(
        "spec:\n", 'spec:\n  "a\\n::add-mask::x\\n##[group]": 1\n'
    )
    build_tree(workspace, files)
    result = run_cli("validate", "--output", "github")
    assert result.code == 1
    listed = result.out.splitlines()[11:]
    assert len(listed) == 1, result.out
    assert listed[0].startswith("specs/z.yaml:6:3: spec.a ::add-mask::x #\u2060#[group]: unknown")
    assert "##[" not in result.out


def test_annotations_name_files_from_the_repository_root_in_a_working_directory(
    workspace: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The action's ``working-directory: sub``: config and specs in a subfolder."""
    build_tree(workspace, {"sub/reconciler.yaml": CONFIG, "sub/specs/o.yaml": _bad("o")})
    sub = workspace / "sub"
    monkeypatch.setenv("GITHUB_WORKSPACE", str(workspace))
    code, _ = cli_in(monkeypatch, capsys, sub, "validate", "--output", "github")
    assert code == 1
    assert capsys.readouterr().out.startswith("::error file=sub/specs/o.yaml,line=7,col=11::")
    # A workspace that does not hold the specs: the path stays as the tool shows it.
    monkeypatch.setenv("GITHUB_WORKSPACE", str(workspace / "elsewhere"))
    code, _ = cli_in(monkeypatch, capsys, sub, "validate", "--output", "github")
    assert capsys.readouterr().out.startswith("::error file=specs/o.yaml,line=7,col=11::")


def test_junit_cases_carry_their_specs_file_and_line(
    workspace: Path, sim: Admin, run_cli: Run
) -> None:
    build_tree(
        workspace,
        {
            "specs/o.yaml": spec("o", ORDERS, PROD_ATOM),
            "specs/more/i.yaml": "# inventory\n\n" + spec("i", INVENTORY, PROD_ATOM),
        },
    )
    result = run_cli("apply", "--no-durable-intents")
    assert result.code == 0, result.err
    cases = _cases(workspace / "artifacts" / "default" / "junit.xml")
    assert {name: (c.get("file"), c.get("line")) for name, c in cases.items()} == {
        "o": ("specs/o.yaml", str(_name_line(workspace / "specs/o.yaml", "o"))),
        "i": ("specs/more/i.yaml", str(_name_line(workspace / "specs/more/i.yaml", "i"))),
    }
    assert cases["i"].get("line") == "6"


def test_junit_files_are_relative_to_the_repository_root_in_a_working_directory(
    workspace: Path,
    sim: Admin,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    build_tree(
        workspace, {"sub/reconciler.yaml": CONFIG, "sub/specs/o.yaml": spec("o", ORDERS, PROD_ATOM)}
    )
    sub = workspace / "sub"
    monkeypatch.setenv("GITHUB_WORKSPACE", str(workspace))
    code, err = cli_in(monkeypatch, capsys, sub, "apply", "--no-durable-intents")
    assert code == 0, err
    junit = sub / "artifacts" / "default" / "junit.xml"
    assert _cases(junit)["o"].get("file") == "sub/specs/o.yaml"
    # Nothing to do: the fresh report names the same file.
    code, err = cli_in(monkeypatch, capsys, sub, "apply", "--no-durable-intents")
    assert code == 0, err
    assert _cases(junit)["o"].get("file") == "sub/specs/o.yaml"


def test_a_noop_apply_replaces_the_last_report(workspace: Path, sim: Admin, run_cli: Run) -> None:
    build_tree(
        workspace,
        {
            "specs/o.yaml": spec("o", ORDERS, PROD_ATOM),
            "specs/i.yaml": spec("i", INVENTORY, PROD_ATOM),
        },
    )
    folder = workspace / "artifacts" / "default"
    assert run_cli("apply", "--no-durable-intents").code == 0
    first = (folder / "junit.xml").read_text(encoding="utf-8")
    assert "<skipped" not in first
    again = run_cli("apply", "--no-durable-intents")
    assert again.code == 0
    assert again.out.rstrip().endswith("Nothing to apply.")
    assert len(sim.submissions()) == 2  # nothing submitted the second time
    root = ElementTree.fromstring((folder / "junit.xml").read_text(encoding="utf-8"))
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("skipped"), suite.get("failures")) == ("2", "2", "0")
    cases = _cases(folder / "junit.xml")
    for name in ("i", "o"):
        skipped = cases[name].find("skipped")
        assert skipped is not None
        assert skipped.get("message", "").startswith("up to date: ")
        assert cases[name].get("file") == f"specs/{name}.yaml"
    summary = (folder / "summary.md").read_text(encoding="utf-8")
    assert "Nothing ran: nothing to do (2 up to date)." in summary
    record = json.loads((folder / "apply.json").read_text(encoding="utf-8"))
    assert set(record["outcomes"].values()) == {0}
    assert record["actions"] == {"noop": 2}


def test_a_noop_shard_writes_its_own_report(workspace: Path, sim: Admin, run_cli: Run) -> None:
    build_tree(workspace, {"specs/o.yaml": spec("o", ORDERS, PROD_ATOM)})
    assert run_cli("apply", "--no-durable-intents").code == 0
    again = run_cli("apply", "--no-durable-intents", "--shard", "1/1")
    assert again.code == 0, again.err
    shard = workspace / "artifacts" / "default" / "shards" / "1-of-1"
    record = json.loads((shard / "apply.json").read_text(encoding="utf-8"))
    assert record["shard"] == "1/1"
    assert _cases(shard / "junit.xml")["o"].find("skipped") is not None


def test_plan_annotations_name_files_from_the_repository_root_in_a_working_directory(
    workspace: Path, in_actions: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_tree(workspace, {"sub/reconciler.yaml": CONFIG, "sub/specs/o.yaml": _bad("o")})
    monkeypatch.chdir(workspace / "sub")
    result = run_cli("plan")
    assert result.code == 1
    assert result.out.startswith("::error file=sub/specs/o.yaml,line=7,col=11::")
    assert result.err.startswith("specs/o.yaml:7:11: ")  # the log names it as the tool shows it
