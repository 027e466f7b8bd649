"""The floor for ``reconciler plan``: read and YAML-parse the same files, nothing else.

Run as a script in a fresh interpreter (like the console script), so interpreter start-up is
in both timings. It uses the fastest loader available: PyYAML's ``CSafeLoader`` (libyaml), else
ruamel's C loader, else (no C loader installed) ruamel's pure-Python safe loader; the loader
used is printed as JSON so the harness can report it.

    python bench/yaml_floor.py SPECS_DIR
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any


def _loader() -> tuple[str, Callable[[str], Iterator[Any]]]:
    try:
        import yaml  # type: ignore[import-untyped, unused-ignore]

        if getattr(yaml, "__with_libyaml__", False):
            c_loader = yaml.CSafeLoader

            def load_pyyaml(text: str) -> Iterator[Any]:
                documents: Iterator[Any] = yaml.load_all(text, Loader=c_loader)
                return documents

            return "pyyaml.CSafeLoader", load_pyyaml
    except ImportError:
        pass
    from ruamel.yaml import YAML

    fast = YAML(typ="safe")  # picks ruamel's C parser when ruamel.yaml.clib(z) is installed
    name = "ruamel.safe (C)" if fast.Parser.__module__.startswith("_ruamel") else "ruamel.safe"
    return name, fast.load_all


def main(argv: list[str]) -> int:
    started = time.perf_counter()
    name, load = _loader()
    root = Path(argv[0])
    files = sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    documents = 0
    for path in files:
        for document in load(path.read_text(encoding="utf-8")):
            if document is not None:
                documents += 1
    elapsed = time.perf_counter() - started
    json.dump(
        {"loader": name, "files": len(files), "documents": documents, "seconds": elapsed},
        sys.stdout,
    )
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
