"""The simulator's server libraries are an optional extra, and only ``sim serve`` needs them.

Each check runs the real console entry point in a fresh interpreter whose imports of starlette
and uvicorn fail as they do when the ``sim`` extra is not installed (a ``sitecustomize`` on
``PYTHONPATH`` puts a finder first on ``sys.meta_path`` that raises ``ModuleNotFoundError``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.cli.base import COMMANDS
from tests.conftest import ORDERS, PROD_ATOM, ROOT, build_tree, spec

BLOCKER = """\
import sys


class _NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {"starlette", "uvicorn"}:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _NotInstalled())
"""

EVERY_MODULE_BUT_THE_SIMULATOR = """\
import importlib, pkgutil, reconciler
names = [m.name for m in pkgutil.walk_packages(reconciler.__path__, "reconciler.")]
for name in names:
    if not name.startswith("reconciler.sim"):
        importlib.import_module(name)
print(len(names))
"""


@pytest.fixture
def without_sim(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    blocker = tmp_path / "blocker"
    build_tree(blocker, {"sitecustomize.py": BLOCKER})
    repo = tmp_path / "repo"
    build_tree(
        repo,
        {
            "reconciler.yaml": "platform: {accountId: acme-1}\n",
            "specs/orders.yaml": spec("orders", ORDERS, PROD_ATOM, {"DAY": "{{ name }}"}),
        },
    )
    path = os.pathsep.join([str(blocker), str(ROOT)])
    return repo, {**os.environ, "PYTHONPATH": path}


def _run(
    env: dict[str, str], cwd: Path, *args: str, code: str | None = None
) -> subprocess.CompletedProcess[str]:
    command = ["-c", code] if code else ["-m", "reconciler", *args]
    return subprocess.run(
        [sys.executable, *command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_the_blocker_blocks(without_sim: tuple[Path, dict[str, str]]) -> None:
    repo, env = without_sim
    done = _run(env, repo, code="import starlette")
    assert done.returncode == 1
    assert "ModuleNotFoundError: No module named 'starlette'" in done.stderr


def test_sim_serve_says_how_to_install_the_extra(
    without_sim: tuple[Path, dict[str, str]],
) -> None:
    repo, env = without_sim
    done = _run(env, repo, "sim", "serve", "--port", "0")
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == (
        "error: the simulator needs uvicorn, which is not installed; install it with: "
        "pip install 'boomi-reconciler[sim]'\n"
    )


def test_nothing_else_needs_the_simulator_libraries(
    without_sim: tuple[Path, dict[str, str]],
) -> None:
    repo, env = without_sim
    imported = _run(env, repo, code=EVERY_MODULE_BUT_THE_SIMULATOR)
    assert imported.returncode == 0, imported.stderr
    assert int(imported.stdout) > 60
    for name in sorted(COMMANDS):
        helped = _run(env, repo, name, "--help")
        assert helped.returncode == 0, (name, helped.stderr)
    checked = _run(env, repo, "validate")
    assert checked.returncode == 0, checked.stderr
    planned = _run(env, repo, "plan")
    assert planned.returncode == 0, planned.stderr
    assert "Plan (default): 1 to submit." in planned.stdout
    assert "Traceback" not in checked.stderr + planned.stderr
