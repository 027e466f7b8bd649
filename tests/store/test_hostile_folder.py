"""A hostile state folder, through the real CLI: each case a clear error naming the path.

The checkout comes from a pull request, so ``state/`` may hold anything: a state file nested
100,000 deep, a number of 5,000 digits, 50 MB, a link; the lock may be a folder or a link;
``state`` itself a file or a link; the folder read-only. ``plan``, ``status`` and ``apply``
each end with exit 1 and a message naming the path and what was expected, never exit 70, never
a write through a link.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ORDERS, PROD_ATOM, Admin, CliResult, build_tree, read_state, spec

Run = Callable[..., CliResult]
COMMANDS = ("plan", "status", "apply")


@pytest.fixture
def repo(workspace: Path, sim: Admin) -> Path:
    """A workspace with one spec, ``o``, not applied yet."""
    build_tree(workspace, {"specs/o.yaml": spec("o", ORDERS, PROD_ATOM)})
    return workspace


def refused(result: CliResult, *parts: str) -> None:
    assert result.code == 1, (result.code, result.out, result.err)
    assert "internal error" not in result.err
    for part in parts:
        assert part in result.err, result.err


def state_file(repo: Path, text: str, name: str = "o") -> Path:
    path = repo / "state" / "default" / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("command", COMMANDS)
def test_a_state_file_nested_100k_deep_is_a_clear_error(
    repo: Path, run_cli: Run, command: str
) -> None:
    path = state_file(repo, "[" * 100_000 + "]" * 100_000)

    result = run_cli(command)

    refused(result, str(path), "nested too deeply", "expected a state file")
    assert not (repo / "artifacts").exists()


@pytest.mark.parametrize("digits", [5_000, 4_000, 19])
@pytest.mark.parametrize("command", COMMANDS)
def test_a_huge_number_in_a_state_file_is_a_clear_error_with_its_line(
    repo: Path, sim: Admin, run_cli: Run, command: str, digits: int
) -> None:
    """5,000 digits broke ``json`` (exit 70); 4,000 parsed, then overflowed a float in apply."""
    assert run_cli("apply").code == 0
    data = read_state(repo, "o")
    data["duration_ms"] = "HUGE"
    data["digest"] = "changed"  # so apply reruns it, and reads every field on the way
    text = json.dumps(data, indent=2, sort_keys=True).replace('"HUGE"', "9" * digits)
    path = state_file(repo, text)
    line = text[: text.index("9" * digits)].count("\n") + 1

    result = run_cli(command)

    refused(result, f"{path}:{line}: a number of {digits:,} digits", "at most 18 digits")


@pytest.mark.parametrize("token", ["NaN", "-Infinity", "1e999"])
def test_a_number_json_cannot_bound_is_refused(repo: Path, run_cli: Run, token: str) -> None:
    path = state_file(repo, '{\n  "schemaVersion": 1,\n  "duration_ms": ' + token + "\n}\n")

    refused(run_cli("plan"), f"{path}:3: ", "expected a whole number")


@pytest.mark.parametrize("command", COMMANDS)
def test_a_50_mb_state_file_is_refused_before_it_is_read(
    repo: Path, run_cli: Run, command: str
) -> None:
    path = state_file(repo, "")
    os.truncate(path, 50 * 1024 * 1024)  # sparse: the size alone is refused

    result = run_cli(command)

    refused(result, str(path), "is 52,428,800 bytes; the limit is 16,777,216")


@pytest.mark.parametrize("command", COMMANDS)
def test_a_state_file_that_is_a_link_is_refused(
    repo: Path, sim: Admin, run_cli: Run, tmp_path: Path, command: str
) -> None:
    assert run_cli("apply").code == 0
    outside = tmp_path / "elsewhere.json"
    path = repo / "state/default/o.json"
    path.rename(outside)
    path.symlink_to(outside)

    result = run_cli(command)

    refused(result, str(path), "is a symbolic link; expected a regular file")


@pytest.mark.parametrize("folder", ["state", "state/default"])
@pytest.mark.parametrize("command", COMMANDS)
def test_a_file_where_the_state_folder_belongs_is_a_clear_error(
    repo: Path, run_cli: Run, command: str, folder: str
) -> None:
    """It used to read as "no state at all": a plan that would run everything again."""
    (repo / folder).parent.mkdir(parents=True, exist_ok=True)
    (repo / folder).write_text("not a folder\n", encoding="utf-8")

    result = run_cli(command)

    refused(result, f"{repo / folder}: is a regular file; expected a folder")


@pytest.mark.parametrize("folder", ["state", "state/default"])
@pytest.mark.parametrize("command", COMMANDS)
def test_a_state_folder_that_is_a_link_is_refused_and_nothing_written_through_it(
    repo: Path, run_cli: Run, tmp_path: Path, command: str, folder: str
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (repo / folder).parent.mkdir(parents=True, exist_ok=True)
    (repo / folder).symlink_to(elsewhere, target_is_directory=True)

    result = run_cli(command)

    refused(result, f"{repo / folder}: is a symbolic link; expected a folder")
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("kind", ["folder", "link"])
@pytest.mark.parametrize("command", [("apply",), ("state", "unlock")])
def test_a_lock_that_is_not_a_plain_file_is_refused_and_its_target_untouched(
    repo: Path, sim: Admin, run_cli: Run, tmp_path: Path, kind: str, command: tuple[str, ...]
) -> None:
    lock = repo / "state" / ".reconciler.lock"
    lock.parent.mkdir(parents=True)
    victim = tmp_path / "victim"
    victim.write_text("precious\n", encoding="utf-8")
    if kind == "folder":
        lock.mkdir()
    else:
        lock.symlink_to(victim)

    result = run_cli(*command)

    what = "a folder" if kind == "folder" else "a symbolic link"
    refused(result, f"the apply lock {lock}: is {what}; expected a regular file")
    assert victim.read_text(encoding="utf-8") == "precious\n"
    assert sim.submissions() == []


def test_a_lock_holder_file_that_is_a_link_is_refused_and_left_alone(
    repo: Path, sim: Admin, run_cli: Run, tmp_path: Path
) -> None:
    holder = repo / "state" / ".reconciler.lock.holder"
    holder.parent.mkdir(parents=True)
    victim = tmp_path / "victim"
    victim.write_text("precious\n", encoding="utf-8")
    holder.symlink_to(victim)

    result = run_cli("apply")

    refused(result, f"{holder}: is a symbolic link; expected a regular file")
    assert victim.read_text(encoding="utf-8") == "precious\n"
    assert holder.is_symlink()
    assert sim.submissions() == []


def skip_if_read_only_is_writable(tmp_path: Path) -> None:
    """Root (or CAP_DAC_OVERRIDE, as in many CI containers) writes into a 0555 folder anyway."""
    probe = tmp_path / "read-only-probe"
    probe.mkdir()
    probe.chmod(0o555)
    try:
        (probe / "x").write_text("x", encoding="utf-8")
    except PermissionError:
        return
    finally:
        probe.chmod(0o755)
    pytest.skip(f"uid {os.geteuid()} writes into a read-only folder (root or CAP_DAC_OVERRIDE)")


def test_a_read_only_state_folder_is_a_clear_error(
    repo: Path, sim: Admin, run_cli: Run, tmp_path: Path
) -> None:
    skip_if_read_only_is_writable(tmp_path)
    state = repo / "state"
    (state / "default").mkdir(parents=True)
    for folder in (state / "default", state):
        folder.chmod(0o555)
    try:
        result = run_cli("apply")
    finally:
        for folder in (state, state / "default"):
            folder.chmod(0o755)

    refused(result, str(state), "(Permission denied)", "can write")
    assert sim.submissions() == []


def test_a_read_only_environment_folder_stops_the_apply_with_a_clear_error(
    repo: Path, sim: Admin, run_cli: Run, tmp_path: Path
) -> None:
    """The lock is taken (``state`` is writable), then the first intent cannot be written."""
    skip_if_read_only_is_writable(tmp_path)
    folder = repo / "state" / "default"
    folder.mkdir(parents=True)
    folder.chmod(0o555)
    try:
        result = run_cli("apply")
    finally:
        folder.chmod(0o755)

    refused(result, f"{folder}: cannot be written (Permission denied)")
    assert sim.submissions() == []  # the intent is written before the POST: nothing was sent


@pytest.mark.parametrize("target", ["artifacts", "artifacts/default", "artifacts/default/runs"])
def test_apply_never_writes_artifacts_through_a_folder_link(
    repo: Path, run_cli: Run, tmp_path: Path, target: str
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (repo / target).parent.mkdir(parents=True, exist_ok=True)
    (repo / target).symlink_to(elsewhere, target_is_directory=True)

    result = run_cli("apply")

    refused(result, f"{repo / target}: is a symbolic link; expected a folder")
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("name", ["summary.md", "junit.xml", "apply.json"])
def test_apply_never_writes_an_artifact_over_a_link(
    repo: Path, run_cli: Run, tmp_path: Path, name: str
) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious\n", encoding="utf-8")
    link = repo / "artifacts" / "default" / name
    link.parent.mkdir(parents=True)
    link.symlink_to(victim)

    result = run_cli("apply")

    refused(result, f"{link}: is a symbolic link; expected a regular file")
    assert victim.read_text(encoding="utf-8") == "precious\n"
    assert link.is_symlink()
