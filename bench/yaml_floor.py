"""The floor for ``reconciler plan``: read and YAML-parse the same files, nothing else.

Run as a script in a fresh interpreter (like the console script), so interpreter start-up is
in both timings. It uses the fastest loader available: PyYAML's ``CSafeLoader`` (libyaml), else
ruamel's C loader, else (no C loader installed) ruamel's pure-Python safe loader; the loader
used is printed as JSON so the harness can report it.

``--jobs P`` splits the files over P processes (the parent and P - 1 forked children, file
``i`` going to process ``i mod P``), so the floor can use as many processes as the plan does
(``RECONCILER_JOBS``); a child reports its document count through a pipe.

    python bench/yaml_floor.py SPECS_DIR [--jobs P]
"""

from __future__ import annotations

import json
import os
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


def _parse(load: Callable[[str], Iterator[Any]], files: list[Path]) -> int:
    documents = 0
    for path in files:
        for document in load(path.read_text(encoding="utf-8")):
            if document is not None:
                documents += 1
    return documents


def main(argv: list[str]) -> int:
    started = time.perf_counter()
    name, load = _loader()
    jobs = int(argv[argv.index("--jobs") + 1]) if "--jobs" in argv else 1
    root = Path(argv[0])
    files = sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    children = []
    for k in range(1, max(1, jobs)):
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            count = _parse(load, files[k::jobs])
            os.write(write, str(count).encode())
            os._exit(0)
        os.close(write)
        children.append((pid, read))
    documents = _parse(load, files[0 :: max(1, jobs)])
    for pid, read in children:
        with os.fdopen(read, "rb") as pipe:
            documents += int(pipe.read() or b"0")
        os.waitpid(pid, 0)
    elapsed = time.perf_counter() - started
    json.dump(
        {
            "loader": name,
            "files": len(files),
            "documents": documents,
            "jobs": max(1, jobs),
            "seconds": elapsed,
        },
        sys.stdout,
    )
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
