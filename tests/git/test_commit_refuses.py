"""``reconciler commit`` records regular files only: links, devices and odd names are refused.

A pull request controls the checkout. Each case here plants something in (or around) the state
and artifacts folders, runs the real ``commit`` against a bare ``origin``, and checks that the
command names the path, exits non-zero, and that the target's bytes reached no object of the
remote.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Admin, CliResult, build_tree, git
from tests.git.conftest import IDENTITY, everything_in

Run = Callable[..., CliResult]
CANARY = "AUTHORIZATION: basic Y2FuYXJ5LXRva2VuLTcxMzM="  # as actions/checkout leaves it


@pytest.fixture
def applied(workspace: Path, origin: Path, sim: Admin, run_cli: Run) -> Path:
    """A checkout after a successful apply: state and artifacts written, not yet committed."""
    git(workspace, "config", "http.https://github.com/.extraheader", CANARY)
    assert run_cli("apply").code == 0
    return workspace


def refused(result: CliResult, origin: Path, head: str, name: str, why: str) -> None:
    assert result.code == 1, (result.code, result.out, result.err)
    assert name in result.err, result.err
    assert why in result.err, result.err
    assert "nothing was committed or pushed" in result.err
    assert git(origin, "rev-parse", "main").strip() == head
    assert CANARY.encode() not in everything_in(origin)
    assert b"canary-bytes" not in everything_in(origin)


def test_a_link_to_the_git_config_is_refused_and_nothing_is_pushed(
    applied: Path, origin: Path, run_cli: Run
) -> None:
    head = git(origin, "rev-parse", "main").strip()
    (applied / "artifacts/default/notes.md").symlink_to("../../.git/config")

    result = run_cli("commit")

    refused(result, origin, head, "artifacts/default/notes.md", "is a symbolic link")
    assert git(applied, "rev-parse", "HEAD").strip() == head  # the checkout did not move


def test_a_link_to_a_file_outside_the_repository_is_refused(
    applied: Path, origin: Path, run_cli: Run, tmp_path: Path
) -> None:
    head = git(origin, "rev-parse", "main").strip()
    outside = tmp_path / "hostname"
    outside.write_text("canary-bytes\n", encoding="utf-8")
    (applied / "state/default/x").symlink_to(outside)
    (applied / "state/default/y.json").symlink_to("/etc/hostname")

    result = run_cli("commit")

    refused(result, origin, head, "state/default/x", "is a symbolic link")
    assert "state/default/y.json" in result.err  # every refused path is named


@pytest.mark.parametrize("folder", ["artifacts/default", "artifacts", "state/default/runs"])
def test_a_folder_that_is_a_link_is_refused(
    applied: Path, origin: Path, run_cli: Run, tmp_path: Path, folder: str
) -> None:
    head = git(origin, "rev-parse", "main").strip()
    elsewhere = tmp_path / "elsewhere"
    build_tree(elsewhere, {"summary.md": "canary-bytes\n", "default/summary.md": "canary-bytes\n"})
    link = applied / folder
    if link.exists():
        link.rename(tmp_path / "moved-away")
    link.symlink_to(elsewhere, target_is_directory=True)

    result = run_cli("commit")

    refused(result, origin, head, folder, "is a symbolic link")


def test_a_folder_link_into_git_is_refused(applied: Path, origin: Path, run_cli: Run) -> None:
    head = git(origin, "rev-parse", "main").strip()
    (applied / "artifacts/default").rename(applied / "artifacts/moved")
    (applied / "artifacts/default").symlink_to("../.git", target_is_directory=True)

    result = run_cli("commit")

    refused(result, origin, head, "artifacts/default", "is a symbolic link")


def test_a_named_pipe_is_refused(applied: Path, origin: Path, run_cli: Run) -> None:
    head = git(origin, "rev-parse", "main").strip()
    os.mkfifo(applied / "state/default/pipe.json")

    result = run_cli("commit")

    refused(result, origin, head, "state/default/pipe.json", "is a named pipe")


def test_a_name_that_would_spell_a_second_index_entry_is_refused(
    applied: Path, origin: Path, run_cli: Run
) -> None:
    """A newline in a name once let a pull request stage any path (a workflow) with any blob."""
    head = git(origin, "rev-parse", "main").strip()
    evil = applied / "evil.yml"
    evil.write_text("on: push\n# canary-bytes\n", encoding="utf-8")
    blob = git(applied, "hash-object", "-w", str(evil)).strip()
    evil.unlink()
    # A folder whose name ends a line and starts an entry for .github/workflows/evil.yml.
    planted = applied / "artifacts/default" / f"x\n100644 {blob}\t.github/workflows/evil.yml"
    planted.parent.mkdir(parents=True)
    planted.write_text("x", encoding="utf-8")

    result = run_cli("commit")

    refused(result, origin, head, "artifacts/default/", "control character")
    assert ".github" not in git(origin, "ls-tree", "-r", "--name-only", "main")


def test_a_state_folder_outside_the_repository_is_refused(
    workspace: Path, origin: Path, sim: Admin, run_cli: Run, tmp_path: Path
) -> None:
    config = (workspace / "reconciler.yaml").read_text(encoding="utf-8")
    outside = tmp_path / "outside-state"
    (workspace / "reconciler.yaml").write_text(
        config.replace("state: state", f"state: {outside}"), encoding="utf-8"
    )
    git(workspace, *IDENTITY, "commit", "-q", "-am", "state elsewhere")
    git(workspace, "push", "-q", "origin", "main")
    head = git(origin, "rev-parse", "main").strip()
    why = f"state: {str(outside)!r} is not a folder inside the repository"

    applied, committed = run_cli("apply"), run_cli("commit")

    for result in (applied, committed):  # refused from the configuration on: nothing written
        assert result.code == 1
        assert why in result.err, result.err
    assert not outside.exists()
    assert sim.submissions() == []
    assert git(origin, "rev-parse", "main").strip() == head


def test_the_tools_own_files_still_commit_after_a_refusal_is_cleared(
    applied: Path, origin: Path, run_cli: Run
) -> None:
    link = applied / "artifacts/default/notes.md"
    link.symlink_to("../../.git/config")
    assert run_cli("commit").code == 1
    link.unlink()

    result = run_cli("commit")

    assert result.code == 0, result.err
    committed = git(origin, "show", "--name-only", "--format=", "main").split()
    assert "state/default/o.json" in committed
    assert CANARY.encode() not in everything_in(origin)
