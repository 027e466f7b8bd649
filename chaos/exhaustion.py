"""Resource exhaustion at the spec boundary: every case of issue #15 through the real CLI.

Each case is a checkout whose one spec file (or link) is hostile: the billion laughs, printf
widths through the mapping form, ``tojson`` with a huge indent, a macro that calls itself
twice, nested loops (over ``range`` and over a list), integers of 5,000 digits, a 50 MB
file, 990 KB that only the slow YAML reader takes, ``/dev/zero``. ``reconciler validate``
and ``reconciler plan`` run on each as subprocesses (with an address-space limit, so a
regression cannot take the machine down); every run must end within ``LIMIT_SECONDS`` with
exit 1 and a located error (``file:line:col:``), never exit 70 or a traceback.
``exhaustion(workdir)`` returns what it measured, ``violations`` listing every case that broke
the contract.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from chaos.harness import RECONCILER

LIMIT_SECONDS = 5.0
TIMEOUT_SECONDS = 60.0  # a run still going then is killed, and counted as a violation
MEMORY_BYTES = 3 << 30  # RLIMIT_AS of each run: a MemoryError, not a swapping machine
CONFIG = "version: 1\nspecs: specs\nstate: state\nartifacts: artifacts\n"
HEADER = """\
apiVersion: reconciler/v1
kind: Execution
metadata:
  name: exhausted
spec:
  processId: 789abcde-f012-3456-789a-bcdef0123456
  atomId: 3456789a-bcde-f012-3456-789abcdef012
"""
_LOCATED = re.compile(r"^(?:specs/\S+|/dev/zero):\d+:\d+: ", re.MULTILINE)


def _template(text: str, vars_: str = "") -> str:
    """A spec whose one property is ``text`` (single-quoted YAML), with ``vars_`` if given."""
    quoted = text.replace("'", "''")
    return (
        HEADER
        + f"  dynamicProperties:\n    P: '{quoted}'\n"
        + (f"  vars: {vars_}\n" if vars_ else "")
    )


def _laughs() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{', '.join(['*' + previous] * 9)}]")
    return "\n".join(lines) + "\n"


_LIST = "{l: [" + ", ".join(str(i) for i in range(1000)) + "]}"

#: name -> what to put in the checkout: spec text, or a callable given the spec's path.
CASES: dict[str, str | Callable[[Path], None]] = {
    "alias_bomb": _laughs(),
    "wide_format_mapping": _template('{{ "%(a)02999999999d" % {"a": 1} }}'),
    "tojson_indent": _template("{{ vars | tojson(indent=999999999) }}", "{a: [1, 2]}"),
    "exponential_macro": _template(
        "{% macro f(n) %}{% if n %}{{ f(n-1) }}{{ f(n-1) }}{% else %}x{% endif %}{% endmacro %}"
        "{{ f(40) }}"
    ),
    "nested_loops_range": _template(
        "{% for a in range(10**6) %}{% for b in range(10**6) %}x{% endfor %}{% endfor %}"
    ),
    "nested_loops_list": _template(
        "{% for a in vars.l %}{% for b in vars.l %}{% for c in vars.l %}{% for d in vars.l %}"
        "{% endfor %}{% endfor %}{% endfor %}{% endfor %}",
        _LIST,
    ),
    "int_hex_5000_digits": HEADER + "  vars: {n: 0x" + "f" * 5000 + "}\n",
    "int_decimal_5000_digits": HEADER + "  vars: {n: " + "9" * 5000 + "}\n",
    "huge_file": lambda path: _sparse(path, 50 << 20),
    # 990 KB of flow list behind one empty value: the slow reference loader, capped in nodes
    "slow_yaml_under_the_cap": HEADER
    + "  vars:\n    empty:\n    l: ["
    + ", ".join(["1"] * 330_000)
    + "]\n",
    "dev_zero_link": lambda path: path.symlink_to("/dev/zero"),
}


def _sparse(path: Path, size: int) -> None:
    with path.open("wb") as handle:
        handle.write(HEADER.encode())
        handle.truncate(size)


def _limit_memory() -> None:  # pragma: no cover - runs in the child, before exec
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))


def _environment() -> dict[str, str]:
    drop = ("GITHUB_ACTIONS", "CI", "RECONCILER_ENV")
    return {k: v for k, v in os.environ.items() if k not in drop} | {"RECONCILER_JOBS": "1"}


def _run(checkout: Path, env: Mapping[str, str], *args: str) -> dict[str, Any]:
    began = time.monotonic()
    try:
        done = subprocess.run(
            [RECONCILER, *args],
            cwd=checkout,
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
            preexec_fn=_limit_memory if sys.platform != "win32" else None,
        )
        code, err = done.returncode, done.stderr
    except subprocess.TimeoutExpired as expired:
        code = -9
        err = expired.stderr.decode() if isinstance(expired.stderr, bytes) else ""
    seconds = time.monotonic() - began
    first = next((line for line in err.splitlines() if line.strip()), "")
    return {
        "command": " ".join(args),
        "code": code,
        "seconds": round(seconds, 3),
        "located": bool(_LOCATED.search(err)),
        "internal": "Traceback" in err or "internal error" in err,
        "error": first[:300],
    }


def exhaustion(workdir: Path) -> dict[str, Any]:
    """Run every case through ``validate`` and ``plan``; what each did, and the violations."""
    env = _environment()
    runs: list[dict[str, Any]] = []
    for name, make in CASES.items():
        checkout = workdir / name
        (checkout / "specs").mkdir(parents=True, exist_ok=True)
        (checkout / "reconciler.yaml").write_text(CONFIG, encoding="utf-8")
        spec = checkout / "specs" / f"{name}.yaml"
        if isinstance(make, str):
            spec.write_text(make, encoding="utf-8")
        else:
            make(spec)
        commands: list[tuple[str, ...]] = [("validate",), ("plan",)]
        if name == "dev_zero_link":
            commands.insert(0, ("validate", "/dev/zero"))
        for command in commands:
            runs.append({"case": name, **_run(checkout, env, *command)})
        if spec.is_file() and not spec.is_symlink():
            spec.unlink()  # the 50 MB file (sparse, but not everywhere)
    violations = [
        f"{run['case']} ({run['command']}): {why}" for run in runs for why in _broken(run)
    ]
    return {
        "limitSeconds": LIMIT_SECONDS,
        "cases": runs,
        "slowestSeconds": max(run["seconds"] for run in runs),
        "violations": violations,
    }


def _broken(run: Mapping[str, Any]) -> list[str]:
    why = []
    if run["code"] != 1:
        why.append(f"exit {run['code']} (expected 1)")
    if run["internal"]:
        why.append("traceback or internal error")
    if not run["located"]:
        why.append("no located error (file:line:col)")
    if run["seconds"] > LIMIT_SECONDS:
        why.append(f"took {run['seconds']:.1f} s (limit {LIMIT_SECONDS:g} s)")
    return why


if __name__ == "__main__":  # pragma: no cover - python -m chaos.exhaustion DIR
    import json
    import tempfile

    with tempfile.TemporaryDirectory(prefix="exhaustion-") as folder:
        result = exhaustion(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(folder))
    print(json.dumps(result, indent=2))
    raise SystemExit(1 if result["violations"] else 0)
