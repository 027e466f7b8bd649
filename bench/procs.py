"""Subprocesses of the harness: timed commands, the simulator, the printed form of each command.

Every measured command is the real console script (or a fresh interpreter) in its own process,
started by ``bench/launch.py``, which times it and reads its CPU time and peak RSS from
``os.wait4`` (its own and those of the children it reaped: the plan's forked workers count).
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench import workload

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Timed:
    """One finished subprocess."""

    code: int
    seconds: float
    cpu_seconds: float
    max_rss_mb: float
    stdout: str
    stderr: str


def run_timed(
    args: Sequence[str], *, cwd: Path, env: dict[str, str] | None = None, timeout: float = 3600
) -> Timed:
    """Run a command through ``bench/launch.py``: its wall time, CPU time and peak RSS.

    The launcher forks the command from a small interpreter, so the harness's own memory is
    in no peak RSS (see its docstring), and times the command alone.
    """
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.TemporaryDirectory() as folder,
    ):
        report = Path(folder) / "report.json"
        launcher = [sys.executable, "-I", "-S", str(ROOT / "bench" / "launch.py"), str(report)]
        proc = subprocess.Popen(
            [*launcher, *args],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=err,
            start_new_session=True,  # a timeout ends the launcher and the command by group
        )
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise RuntimeError(f"timed out after {timeout:g} s: {shlex.join(args)}") from None
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
        if not report.is_file():
            raise RuntimeError(f"the launcher failed ({proc.returncode}): {stderr[-2000:]}")
        measured = json.loads(report.read_text(encoding="utf-8"))
        return Timed(
            code=measured["code"],
            seconds=measured["seconds"],
            cpu_seconds=measured["cpu_seconds"],
            max_rss_mb=measured["max_rss_kb"] / 1024,
            stdout=stdout,
            stderr=stderr,
        )


def base_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of every subprocess: no CI integrations, no terminal tricks."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GITHUB_", "BOOMI_", "RECONCILER_"))
    }
    env.update({"CI": "1", "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}"})
    env.update(extra or {})
    return env


def reconciler(*args: str) -> list[str]:
    """The real console script."""
    return [str(BIN / "reconciler"), *args]


def shown(args: Sequence[str], *, where: str, env: Mapping[str, str] | None = None) -> str:
    """A command as printed beside its figure: ``(where) VAR=1 prog args`` with short paths."""
    words = []
    for arg in args:
        if arg == sys.executable:
            words.append("python")
        elif arg.startswith(str(BIN) + os.sep):
            words.append(Path(arg).name)
        elif arg.startswith(str(ROOT) + os.sep):
            words.append(str(Path(arg).relative_to(ROOT)))
        else:
            words.append(arg)
    prefix = " ".join(f"{k}={v}" for k, v in sorted((env or {}).items()))
    text = shlex.join(words)
    return f"({where}) {prefix + ' ' if prefix else ''}{text}"


@dataclass(frozen=True)
class Sim:
    """A simulator served by ``reconciler sim serve`` in its own process."""

    proc: subprocess.Popen[str]
    env: dict[str, str]  # BOOMI_* variables
    admin: str
    scale: float

    def reset(self, world: dict[str, Any]) -> None:
        httpx.post(f"{self.admin}/reset", json=world, timeout=60).raise_for_status()

    def get(self, what: str) -> dict[str, Any]:
        response = httpx.get(f"{self.admin}/{what}", timeout=120)
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data


@contextmanager
def simulator(world: dict[str, Any], scale: float, folder: Path) -> Iterator[Sim]:
    """Serve ``world`` on a free loopback port at ``scale``; stop it (by its pid) afterwards."""
    folder.mkdir(parents=True, exist_ok=True)
    path = workload.write_world(folder / f"world-{scale:g}.json", world)
    proc = subprocess.Popen(
        [
            *reconciler("sim", "serve"),
            *("--world", str(path), "--port", "0", "--time-scale", f"{scale:g}"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=base_env(),
    )
    try:
        assert proc.stdout is not None
        env: dict[str, str] = {}
        while len(env) < 4:
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError("the simulator exited before it was ready")
            key, _, value = line.strip().partition("=")
            env[key] = value
        origin = env["BOOMI_API_URL"].removesuffix("/api/rest/v1")
        yield Sim(proc=proc, env=env, admin=f"{origin}/_sim", scale=scale)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def account_calls(stats: dict[str, Any]) -> dict[str, int]:
    """Requests to the platform API by endpoint (the admin API is not counted by the sim)."""
    return {
        endpoint: sum(statuses.values())
        for endpoint, statuses in stats["requests"].items()
        if endpoint != "unknown"
    }
