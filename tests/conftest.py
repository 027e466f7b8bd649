"""Fixtures: the simulator on loopback, a git workspace with specs, and the CLI runner.

Also the two tiers of the gate. Every test is marked ``fast`` or ``slow`` here, by where it
lives (``SLOW``), so a new test is in a tier the day it is written: ``make test-fast`` runs
``-m fast``, ``make test-slow`` runs ``-m slow``, and together they are the whole suite.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.cli import main
from reconciler.sim.serve import RunningSimulator, start_in_thread
from reconciler.sim.world import demo_world

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"

# The slow tier, by path under tests/ (a folder or a file): whole-program runs in subprocesses
# (e2e, the benchmark's quick mode), the fault-injection scenarios (chaos) and the forked
# worker pools of the parallel loader (about 3 s a test). Measured on two idle cores: 42 of 560
# tests and 60 % of the suite's time. Also the same apply under every simulator variant
# (contract/test_variants.py: 11 applies, about 20 s).
SLOW = (
    "e2e",
    "chaos",
    "bench_smoke",
    "specs/test_parallel.py",
    "github/emulate/test_scenarios.py",
    "github/emulate/test_scenarios_more.py",
    "contract/test_variants.py",
    "docs/test_shell_snippets.py",
    "github/emulate/test_check_comment.py",
)


def tier_of(path: Path) -> str:
    """``slow`` for a test file under one of ``SLOW``, else ``fast``."""
    path = path.resolve()
    if not path.is_relative_to(TESTS):
        return "fast"
    parts = path.relative_to(TESTS).parts
    slow = any(parts[: len(p.split("/"))] == tuple(p.split("/")) for p in SLOW)
    return "slow" if slow else "fast"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(tier_of(item.path))


# Simulated time runs this much faster than real time: a 3 s run takes 60 ms.
TIME_SCALE = 50.0

CONFIG = """\
version: 1
specs: specs
state: state
artifacts: artifacts
platform:
  url: https://api.boomi.com/api/rest/v1
  accountId: demo-AB12CD
apply:
  concurrency: 20
  rateLimit: 10
  pollInitial: 0.05
  pollMax: 0.2
  timeout: 30
  recordTimeout: 2
  adoptAfter: 0.3
"""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def sim_server() -> Iterator[RunningSimulator]:
    """One simulator for the session, serving the demo world over real HTTP on loopback."""
    with start_in_thread(demo_world(), time_scale=TIME_SCALE) as running:
        yield running


class Admin:
    """The simulator's admin endpoint, as tests read it."""

    def __init__(self, url: str) -> None:
        self.url = url

    def reset(self, world: dict[str, Any] | None = None) -> None:
        response = httpx.post(f"{self.url}/reset", json=world or {})
        response.raise_for_status()

    def submissions(self) -> list[dict[str, Any]]:
        data = httpx.get(f"{self.url}/submissions").json()
        items = data["submissions"] if isinstance(data, dict) else data
        assert isinstance(items, list)
        return items

    def stats(self) -> dict[str, Any]:
        data = httpx.get(f"{self.url}/stats").json()
        assert isinstance(data, dict)
        return data


@pytest.fixture
def sim(sim_server: RunningSimulator) -> Admin:
    """The session simulator, reset to the demo world with no runs and zeroed counters."""
    admin = Admin(sim_server.endpoint.admin_url)
    admin.reset()
    return admin


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True, timeout=30
    )
    return result.stdout


def build_tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def spec(name: str, process: str, atom: str, dynamic: dict[str, str] | None = None) -> str:
    lines = [
        "apiVersion: reconciler/v1",
        "kind: Execution",
        "metadata:",
        f"  name: {name}",
        "spec:",
        f"  processId: {process}",
        f"  atomId: {atom}",
    ]
    if dynamic:
        lines.append("  dynamicProperties:")
        lines.extend(f'    {k}: "{v}"' for k, v in dynamic.items())
    return "\n".join(lines) + "\n"


ORDERS = "789abcde-f012-3456-789a-bcdef0123456"
INVOICES = "89abcdef-0123-4567-89ab-cdef01234567"
INVENTORY = "9abcdef0-1234-5678-9abc-def012345678"
CUSTOMERS = "abcdef01-2345-6789-abcd-ef0123456789"
PROD_ATOM = "3456789a-bcde-f012-3456-789abcdef012"


@pytest.fixture(autouse=True)
def _private_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each test's compile and plan cache (``store.cache``) is its worker's, not ~/.cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "xdg-cache"))
    monkeypatch.delenv("RECONCILER_CACHE_DIR", raising=False)
    monkeypatch.delenv("RECONCILER_NO_CACHE", raising=False)
    monkeypatch.delenv("CI", raising=False)  # CI turns the cache off; a test sets it to see that


@pytest.fixture
def workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sim_server: RunningSimulator
) -> Path:
    """A git repository with reconciler.yaml, pointed at the simulator through the environment."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    build_tree(root, {"reconciler.yaml": CONFIG, "specs/.keep": ""})
    endpoint = sim_server.endpoint
    monkeypatch.setenv("BOOMI_API_URL", endpoint.base_url)
    monkeypatch.setenv("BOOMI_ACCOUNT_ID", endpoint.account_id)
    monkeypatch.setenv("BOOMI_USERNAME", endpoint.username)
    monkeypatch.setenv("BOOMI_API_TOKEN", endpoint.token)
    monkeypatch.chdir(root)
    return root


@dataclass(frozen=True)
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture(autouse=True)
def _no_terminal_width(monkeypatch: pytest.MonkeyPatch) -> None:
    """Output as a pipe gets it: pytest-xdist's workers set ``COLUMNS=80``, which the CLI reads
    as a terminal's width (cli/terminal.py); a test that wants a width sets it."""
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("LINES", raising=False)


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run the real CLI entry point in-process, through its error boundary."""

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        try:
            main(list(args))
        except SystemExit as exit_:
            code = exit_.code
        else:  # pragma: no cover - main always exits
            code = 0
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err, captured.err
        assert "Traceback" not in captured.out, captured.out
        return CliResult(code=int(code or 0), out=captured.out, err=captured.err)

    return run


def cli_in(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], where: Path, *args: str
) -> tuple[int, list[str]]:
    """The real CLI run in ``where``, outside GitHub Actions: exit code and stderr lines.

    Standard output is printed again, so a test can still read it from ``capsys``.
    """
    monkeypatch.chdir(where)
    monkeypatch.delenv("RECONCILER_ENV", raising=False)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    code = exited.value.code
    print(captured.out, end="")
    return (code if isinstance(code, int) else 0), captured.err.splitlines()


def set_faults(admin: Admin, faults: list[dict[str, Any]]) -> None:
    response = httpx.post(f"{admin.url}/faults", json={"faults": faults})
    response.raise_for_status()


def read_state(root: Path, name: str, environment: str = "default") -> dict[str, Any]:
    """One execution's state file, parsed."""
    path = root / "state" / environment / f"{name}.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data
