"""The runner's files: GITHUB_OUTPUT, GITHUB_ENV, GITHUB_PATH, and the workflow commands."""

from __future__ import annotations

import re
from pathlib import Path

COMMAND = re.compile(r"^::([a-z-]+)(?: ([^:]*))?::(.*)$")


def read_pairs(path: Path) -> dict[str, str]:
    """``name=value`` lines and ``name<<DELIM`` blocks, as the runner reads them."""
    values: dict[str, str] = {}
    if not path.exists():
        return values
    lines = path.read_text(encoding="utf-8").split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.strip():
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body: list[str] = []
            while i < len(lines) and lines[i] != delimiter:
                body.append(lines[i])
                i += 1
            if i >= len(lines):
                raise AssertionError(f"{path.name}: {name}: no closing delimiter {delimiter!r}")
            i += 1
            values[name] = "\n".join(body)
            continue
        name, sep, value = line.partition("=")
        if not sep:
            raise AssertionError(f"{path.name}: invalid line {line!r}")
        values[name] = value
    return values


def read_paths(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def commands(log: str) -> list[tuple[str, str, str]]:
    """The workflow commands a step printed: (command, parameters, message)."""
    found = []
    for line in log.splitlines():
        match = COMMAND.match(line)
        if match:
            found.append((match[1], match[2] or "", match[3]))
    return found
