"""``python -m pip``, as the emulated runner sees it: installs checked, nothing downloaded.

The test environment already has reconciler installed from this checkout, which is the action's
checkout in the emulation; so installing the action's folder (or its lock file) is done. Any
other folder is checked as pip would (``Directory '.' is not installable``), and an install from
an index is an error: the emulation never uses the network. Each call is logged to
``EMULATE_PIP_LOG`` for the tests to read.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

VALUED = {"-r", "--requirement", "-c", "--constraint", "--cache-dir", "-i", "--index-url",
          "--extra-index-url", "--only-binary", "--no-binary", "--target", "--prefix",
          "--python-version", "--platform", "--progress-bar", "--root", "--src"}  # fmt: skip


def main(argv: list[str]) -> int:
    log = os.environ.get("EMULATE_PIP_LOG")
    if log:
        with Path(log).open("a", encoding="utf-8") as handle:
            handle.write(" ".join(argv) + "\n")
    action_root = Path(os.environ["EMULATE_ACTION_ROOT"]).resolve()
    if not argv or argv[0] != "install":
        return 0  # pip --version, pip cache ...: nothing to check
    args = argv[1:]
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg.startswith("-"):
            name = arg.split("=", 1)[0]
            if name in VALUED and "=" not in arg:
                value = args[i]
                i += 1
            else:
                value = arg.split("=", 1)[1] if "=" in arg else ""
            if name in ("-r", "--requirement", "-c", "--constraint") and not Path(value).is_file():
                print(f"ERROR: Could not open requirements file: {value}", file=sys.stderr)
                return 1
            continue
        path = Path(arg)
        if path.exists() or arg in (".", "./") or "/" in arg:
            if not path.is_dir():
                print(f"ERROR: Invalid requirement: '{arg}'", file=sys.stderr)
                return 1
            if path.resolve() == action_root:
                continue
            if not (path / "pyproject.toml").exists() and not (path / "setup.py").exists():
                print(
                    f"ERROR: Directory '{arg}' is not installable. Neither 'setup.py' nor "
                    "'pyproject.toml' found.",
                    file=sys.stderr,
                )
                return 1
            print(f"emulation: will not install {arg}: not the action's checkout", file=sys.stderr)
            return 1
        print(f"emulation: no installs from an index ({arg})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[3:] if sys.argv[1:3] == ["-m", "pip"] else sys.argv[1:]))
