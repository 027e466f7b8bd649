"""Every shell and Python snippet of the README and docs/ runs, and prints what the page shows.

Each runs in its own copy of the example repository (``specs/`` and ``reconciler.yaml``,
committed to a fresh git repository), with the installed ``reconciler`` first on ``PATH`` and
the environment pointing at the session's simulator (the demo world), as a reader's would after
``. ./sim.env``.

- ``sh`` / ``bash``: the block runs as one script (``sh`` with ``sh``), as if pasted; it must
  exit 0 and print no traceback. A snippet that starts a simulator of its own must use that
  one: the environment's simulator stands in for a real account and must see no request.
- ``console``: each ``$ COMMAND`` runs in one bash session; the lines after it are its output
  (standard output, then standard error), line for line, where ``…`` stands for any text
  within a line, and a line of ``…`` alone for any number of lines. A command must exit 0
  unless the next command is ``echo $?``, which then shows its code.
- ``python``: runs with this interpreter and must exit 0.

A snippet that cannot run here (GitHub only, a real account, minutes of load) is marked in the
page: ``<!-- snippet: skip REASON -->``, and tests/docs/test_snippets.py requires the reason.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from reconciler.sim.serve import RunningSimulator
from tests.conftest import ROOT, git
from tests.docs.markdown import Snippet, all_snippets

BIN = Path(sys.executable).parent
TIMEOUT = 120.0
CRASH = re.compile(r"Traceback \(most recent call last\)|internal error")
RUNNABLE = [
    s
    for s in all_snippets()
    if s.lang in {"sh", "bash", "console", "python"} and s.skip_reason is None
]
# Shown as skipped, with the page's reason (pytest -rs lists them).
SKIPPED = [
    pytest.param(s, id=str(s), marks=pytest.mark.skip(reason=f"{s.where}: {s.skip_reason}"))
    for s in all_snippets()
    if s.lang in {"sh", "bash", "console", "python"} and s.skip_reason is not None
]


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A copy of the example repository, committed, with a local ``origin``."""
    repo = tmp_path / "example"
    repo.mkdir()
    shutil.copytree(ROOT / "specs", repo / "specs")
    shutil.copy2(ROOT / "reconciler.yaml", repo / "reconciler.yaml")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "specs", "reconciler.yaml")
    git(repo, "-c", "user.name=docs", "-c", "user.email=docs@example.com", "commit", "-qm", "s")
    return repo


def environment(sim_server: RunningSimulator) -> dict[str, str]:
    keep = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GITHUB_", "RUNNER_", "BOOMI_", "RECONCILER_", "PYTEST_"))
    }
    endpoint = sim_server.endpoint
    return {
        **keep,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "BOOMI_API_URL": endpoint.base_url,
        "BOOMI_ACCOUNT_ID": endpoint.account_id,
        "BOOMI_USERNAME": endpoint.username,
        "BOOMI_API_TOKEN": endpoint.token,
        "GIT_AUTHOR_NAME": "docs",
        "GIT_AUTHOR_EMAIL": "docs@example.com",
        "GIT_COMMITTER_NAME": "docs",
        "GIT_COMMITTER_EMAIL": "docs@example.com",
        "NO_COLOR": "1",
    }


def run(argv: list[str], cwd: Path, env: dict[str, str], log: Path) -> int:
    """Run ``argv`` in a session of its own, output to ``log``; kill what it leaves behind.

    Output goes to a file, not a pipe: a background process a snippet forgets would hold a
    pipe open, and the test would wait for it.
    """
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            return process.wait(timeout=TIMEOUT)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# -- console ------------------------------------------------------------------------------


def commands(text: str) -> list[tuple[str, list[str]]]:
    """``(command, shown output lines)`` pairs of a console block."""
    pairs: list[tuple[str, list[str]]] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        assert line.startswith("$ "), f"console output before any command: {line!r}"
        command = [line[2:]]
        index += 1
        heredoc = re.search(r"<<-?\s*'?(\w+)'?", line)
        while index < len(lines) and (command[-1].endswith("\\") or heredoc):
            command.append(lines[index])
            index += 1
            if heredoc and command[-1].strip() == heredoc[1]:
                heredoc = None
        output: list[str] = []
        while index < len(lines) and not lines[index].startswith("$ "):
            output.append(lines[index])
            index += 1
        pairs.append(("\n".join(command), output))
    return pairs


def line_matches(shown: str, printed: str) -> bool:
    pattern = ".*".join(re.escape(part) for part in shown.rstrip().split("…"))
    return re.fullmatch(pattern, printed.rstrip()) is not None


def output_matches(shown: list[str], printed: list[str]) -> bool:
    """``shown`` is ``printed`` line for line, ``…`` alone standing for any number of lines."""

    @cache
    def match(i: int, j: int) -> bool:
        if i == len(shown):
            return j == len(printed)
        if shown[i].strip() == "…":
            return match(i + 1, j) or (j < len(printed) and match(i, j + 1))
        return j < len(printed) and line_matches(shown[i], printed[j]) and match(i + 1, j + 1)

    return match(0, 0)


def console_script(pairs: list[tuple[str, list[str]]], out: Path) -> str:
    """One bash script: each command's output and exit code to files; ``$?`` carried on."""
    parts = []
    for number, (command, _) in enumerate(pairs):
        parts.append(
            f"{{ {command}\n}} >{out}/{number}.out 2>{out}/{number}.err\n"
            f"__rc=$?; echo $__rc >{out}/{number}.rc; (exit $__rc)\n"
        )
    return "".join(parts)


def check_console(snippet: Snippet, cwd: Path, env: dict[str, str], tmp: Path) -> None:
    pairs = commands(snippet.text)
    out = tmp / "console"
    out.mkdir()
    script = tmp / "snippet.bash"
    script.write_text(console_script(pairs, out), encoding="utf-8")
    run(["bash", str(script)], cwd, env, tmp / "snippet.log")
    for number, (command, shown) in enumerate(pairs):
        code_file = out / f"{number}.rc"
        assert code_file.exists(), f"{snippet.where}: `{command}` never ran (or never ended)"
        code = int(code_file.read_text())
        printed = [
            *(out / f"{number}.out").read_text(encoding="utf-8").splitlines(),
            *(out / f"{number}.err").read_text(encoding="utf-8").splitlines(),
        ]
        text = "\n".join(printed)
        where = f"{snippet.where}: `$ {command}`"
        assert not CRASH.search(text), f"{where} crashed:\n{text}"
        shows_code = number + 1 < len(pairs) and pairs[number + 1][0].strip() == "echo $?"
        assert code == 0 or shows_code, f"{where} exited {code}:\n{text}"
        assert output_matches(shown, printed), (
            f"{where}: the page shows\n" + "\n".join(shown) + "\n--- it printed ---\n" + text
        )


# -- the tests ----------------------------------------------------------------------------


def test_there_are_snippets_to_run() -> None:
    assert {s.lang for s in RUNNABLE} >= {"sh", "console", "python"}


@pytest.mark.parametrize("snippet", [*RUNNABLE, *SKIPPED], ids=str)
def test_snippet_runs(
    snippet: Snippet, example: Path, tmp_path: Path, sim_server: RunningSimulator, sim: Any
) -> None:
    env = environment(sim_server)
    if snippet.lang == "console":
        check_console(snippet, example, env, tmp_path)
        return
    suffix, shell = {"sh": (".sh", "sh"), "bash": (".bash", "bash"), "python": (".py", "")}[
        snippet.lang
    ]
    script = tmp_path / f"snippet{suffix}"
    script.write_text(snippet.text, encoding="utf-8")
    argv = [sys.executable, str(script)] if snippet.lang == "python" else [shell, str(script)]
    log = tmp_path / "snippet.log"
    code = run(argv, example, env, log)
    printed = log.read_text(encoding="utf-8", errors="replace")
    assert code == 0, f"{snippet.where}: exited {code}:\n{printed}"
    assert not CRASH.search(printed), f"{snippet.where}: crashed:\n{printed}"
    if "reconciler sim serve" in snippet.text:
        assert sim.submissions() == [], (
            f"{snippet.where} started a simulator, yet the runs reached the platform of the "
            f"environment (BOOMI_API_URL set before the snippet ran):\n{printed}"
        )
        for name in ("orders-sync-eu", "invoices-export", "inventory-refresh"):
            state = example / "state" / "default" / f"{name}.json"
            assert state.exists(), f"{snippet.where}: no run of {name}:\n{printed}"
