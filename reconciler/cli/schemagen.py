"""Write ``schemas/execution.v1.json`` from the pydantic models.

Run as ``python -m reconciler.cli.schemagen``.

An edge (it writes one file). The models in ``spec_model`` are the source of truth; this only
serialises ``generate_schema()`` canonically, so ``tests/specs/test_schema_sync.py`` can compare
the committed file byte for byte. ``--check`` exits 1 when the committed file is stale.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from reconciler.specs.language import generate_schema

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "schemas" / "execution.v1.json"


def schema_text() -> str:
    """The schema exactly as committed: two-space indent, UTF-8, trailing newline."""
    return json.dumps(generate_schema(), indent=2, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Write the schema (or, with ``--check``, report whether the committed one is current)."""
    args = list(sys.argv[1:] if argv is None else argv)
    check = "--check" in args
    paths = [a for a in args if a != "--check"]
    target = Path(paths[0]) if paths else DEFAULT_PATH
    text = schema_text()
    if check:
        current = target.read_text(encoding="utf-8") if target.is_file() else ""
        if current != text:
            sys.stderr.write(f"{target} is stale; run: python -m reconciler.cli.schemagen\n")
            return 1
        return 0
    target.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
