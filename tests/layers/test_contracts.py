"""The import contracts bite: a module that breaks a layer, the pure core or the simulator's
independence makes ``lint-imports`` fail, including a module added after the contracts were
written.

Each check runs ``lint-imports`` with the project's own configuration on a copy of the package,
so the real tree is never touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("layers")
    shutil.copytree(
        ROOT / "reconciler", where / "reconciler", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", where / "pyproject.toml")
    return where


def lint_imports(where: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(where)}  # the copy, not the installed package
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=where,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def contract_lines(output: str) -> dict[str, str]:
    """``{contract name: KEPT or BROKEN}`` from lint-imports' summary."""
    found = {}
    for line in output.splitlines():
        for verdict in ("KEPT", "BROKEN"):
            if f" {verdict}" in line:
                found[line.split(f" {verdict}")[0].strip()] = verdict
    return found


def test_the_tree_as_it_is_keeps_every_contract(copy: Path) -> None:
    done = lint_imports(copy)
    assert done.returncode == 0, done.stdout + done.stderr
    verdicts = contract_lines(done.stdout)
    assert len(verdicts) >= 5
    assert set(verdicts.values()) == {"KEPT"}


def test_new_modules_that_break_a_rule_fail_the_gate(copy: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(copy, broken)
    package = broken / "reconciler"
    # A new module in a pure package that does I/O (covered by the wildcard, not by a list).
    (package / "plan" / "fetcher.py").write_text('"""New."""\n\nimport httpx  # noqa\n')
    # A new leaf module that reaches up into an edge.
    (package / "model" / "cache.py").write_text(
        '"""New."""\n\nfrom reconciler.store import state  # noqa\n'
    )
    # A new top-level module that was given no layer.
    (package / "extra.py").write_text('"""New."""\n')
    # The simulator borrowing the client's types.
    (package / "sim" / "borrowed.py").write_text(
        '"""New."""\n\nfrom reconciler.model import RunStatus  # noqa\n'
    )
    # The pure core reading the clock.
    (package / "report" / "stamp.py").write_text(
        '"""New."""\n\nfrom reconciler.clock import SystemClock  # noqa\n'
    )

    done = lint_imports(broken)

    assert done.returncode != 0
    out = done.stdout + done.stderr
    assert "reconciler.extra" in out  # not in any layer: the layers contract is exhaustive
    verdicts = contract_lines(done.stdout)
    assert verdicts["the pure core does no I/O"] == "BROKEN"
    assert "reconciler.plan.fetcher -> httpx" in out
    assert "reconciler.report.stamp -> reconciler.clock" in out
    assert verdicts["the simulator shares no code with the rest of the package"] == "BROKEN"
    assert "reconciler.sim.borrowed -> reconciler.model" in out


def test_a_leaf_importing_an_edge_breaks_the_layers(copy: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(copy, broken)
    (broken / "reconciler" / "model" / "cache.py").write_text(
        '"""New."""\n\nfrom reconciler.store import state  # noqa\n'
    )

    done = lint_imports(broken)

    assert done.returncode != 0
    verdicts = contract_lines(done.stdout)
    layers = next(name for name in verdicts if name.startswith("layers"))
    assert verdicts[layers] == "BROKEN"
    assert "reconciler.model.cache -> reconciler.store" in done.stdout
