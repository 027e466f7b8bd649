"""YAML files to positioned documents: the only module that parses YAML.

A ``Document`` is one YAML document of a file with positions for every mapping and sequence.
``locate`` walks a JSON path through those nodes to a 1-based ``Location``. Syntax errors,
duplicate keys and unsupported tags become ``Diagnostic`` values (never exceptions), so a
caller can report every broken file at once.

Two loaders, one meaning. The reference is ruamel's round-trip loader (YAML 1.2, pure Python,
about 15 times slower than libyaml). The fast path (``reconciler.specs.fastyaml``) composes nodes
with libyaml through PyYAML's C parser and keeps them for positions; it only accepts files
whose meaning it can prove is the same (plain strings, null, booleans, simple numbers, no
tags, anchors, directives or duplicate keys, printable characters without tabs) and hands
everything else, including every file with an error, to the reference loader, so every
message and position is the reference loader's. ``tests/specs/test_fastyaml.py`` compares
the two.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.model import Diagnostic, Location, PathPart
from reconciler.specs import fastyaml

if TYPE_CHECKING:
    from ruamel.yaml.error import MarkedYAMLError

MAX_FILE_BYTES = 1_000_000


@dataclass(frozen=True)
class Document:
    """One YAML document: its plain-data content, and the tree that knows positions.

    ``node`` is ruamel's round-trip tree (reference loader) or libyaml's node (fast path).
    """

    file: str
    index: int
    data: Any
    node: Any

    def locate(self, path: Sequence[PathPart], *, key: bool = False) -> Location:
        """Return the position of the value at ``path`` (or of its key when ``key`` is True)."""
        return locate(self.file, self.node, path, key=key)


def locate(file: str, root: Any, path: Sequence[PathPart], *, key: bool = False) -> Location:
    """Walk ``path`` from ``root`` and return the closest known 1-based position.

    Scalars carry no position of their own in ruamel, so the parent's ``lc.value(k)`` or
    ``lc.item(i)`` is used (practices.md D1); a path that leaves the tree falls back to the
    deepest ancestor that has one. Nodes of the fast path are walked with the same rules.
    """
    if fastyaml.is_node(root):
        line, col = fastyaml.locate(root, path, key=key)
        return Location(file=file, line=line + 1, col=col + 1)
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.scalarstring import FoldedScalarString, LiteralScalarString

    line, col = _own_position(root)
    node = root
    indent = col
    for index, part in enumerate(path):
        last = index == len(path) - 1
        if isinstance(node, CommentedMap) and part in node:
            indent = node.lc.key(part)[1]
            pos = node.lc.key(part) if (last and key) else node.lc.value(part)
            line, col = pos[0], pos[1]
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
            line, col = node.lc.item(part)
            indent = col
            node = node[part]
        else:
            break
        if isinstance(node, CommentedMap | CommentedSeq) and not (last and key):
            line, col = _own_position(node, (line, col))
    if isinstance(node, LiteralScalarString | FoldedScalarString) and not key:
        # A block scalar's position is its "|" or ">" indicator; the text starts on the next
        # line, indented past its key (so a template's line n is n lines below the indicator).
        line, col = line + 1, indent + 2
    return Location(file=file, line=line + 1, col=col + 1)


def _own_position(node: Any, default: tuple[int, int] = (0, 0)) -> tuple[int, int]:
    lc = getattr(node, "lc", None)
    if lc is None or lc.line is None:
        return default
    return int(lc.line), int(lc.col)


def display_path(path: Path, root: Path | None = None) -> str:
    """Path as the user should read it: relative to ``root`` (or cwd) when inside it."""
    base = root or Path.cwd()
    try:
        return str(path.resolve().relative_to(_resolved(base)))
    except ValueError:
        return str(path)


def display_paths(paths: Sequence[Path], root: Path | None = None) -> list[str]:
    """``[display_path(p, root) for p in paths]``, resolving each folder once, not each file.

    ``Path.resolve`` walks every component of every path; the files of a specs folder share a
    handful of folders, so only a file that is itself a symbolic link is resolved whole.
    """
    base = _resolved(root or Path.cwd())
    folders: dict[Path, Path] = {}
    shown = []
    for path in paths:
        folder = folders.get(path.parent)
        if folder is None:
            folder = folders[path.parent] = path.parent.resolve()
        resolved = path.resolve() if path.is_symlink() else folder / path.name
        try:
            shown.append(str(resolved.relative_to(base)))
        except ValueError:
            shown.append(str(path))
    return shown


@functools.lru_cache(maxsize=16)
def _resolved(base: Path) -> Path:
    """``base.resolve()``, once per process for the root every file is shown relative to."""
    return base.resolve()


def load_file(
    path: Path, *, shown_as: str | None = None
) -> tuple[list[Document], list[Diagnostic]]:
    """Parse every document of one YAML file; problems come back as diagnostics."""
    name = shown_as or str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        return [], [Diagnostic(location=Location(file=name), message=f"cannot read file: {reason}")]
    if len(raw) > MAX_FILE_BYTES:
        message = f"file is {len(raw)} bytes; expected at most {MAX_FILE_BYTES}"
        return [], [Diagnostic(location=Location(file=name), message=message)]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        message = f"file is not UTF-8 (byte {exc.start}); expected UTF-8 text"
        return [], [Diagnostic(location=Location(file=name), message=message)]
    return load_text(text, name)


def load_text(text: str, file: str) -> tuple[list[Document], list[Diagnostic]]:
    """Parse YAML text that claims to come from ``file``."""
    fast = fastyaml.load(text)
    if fast is not None:
        return [Document(file=file, index=i, data=data, node=node) for i, data, node in fast], []
    return load_text_reference(text, file)


def load_text_reference(text: str, file: str) -> tuple[list[Document], list[Diagnostic]]:
    """Parse with ruamel's round-trip loader: the meaning and the messages of record."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    yaml = YAML(typ="rt", pure=True)
    yaml.allow_duplicate_keys = False
    documents: list[Document] = []
    try:
        for index, node in enumerate(yaml.load_all(text)):
            if node is None:
                continue
            documents.append(Document(file=file, index=index, data=_plain(node), node=node))
    except MarkedYAMLError as exc:
        return documents, [_yaml_diagnostic(file, exc)]
    except (YAMLError, RecursionError, ValueError, TypeError) as exc:
        message = f"cannot parse YAML: {type(exc).__name__}"
        return documents, [Diagnostic(location=Location(file=file), message=message)]
    return documents, []


def _yaml_diagnostic(file: str, exc: MarkedYAMLError) -> Diagnostic:
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    problem = (exc.problem or exc.context or "invalid YAML").strip()
    if "found duplicate key" in str(exc):
        key = _duplicate_key(str(exc))
        problem = f'duplicate key "{key}"' if key else "duplicate key"
        hint = "each key may appear once in a mapping"
    elif "could not determine a constructor" in problem or "tag" in problem:
        hint = "expected plain YAML without custom tags"
    else:
        hint = "expected valid YAML"
    message = f"YAML syntax error: {problem}; {hint}"
    return Diagnostic(location=Location(file=file, line=line, col=col), message=message)


def _duplicate_key(text: str) -> str:
    marker = 'found duplicate key "'
    start = text.find(marker)
    if start < 0:
        return ""
    start += len(marker)
    end = text.find('"', start)
    return text[start:end] if end > start else ""


def _plain(node: Any) -> Any:
    """Convert a ruamel tree into plain dicts, lists and scalars (what JSON Schema validates)."""
    if isinstance(node, dict):  # CommentedMap is a dict
        return {_plain_key(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):  # and CommentedSeq a list
        return [_plain(item) for item in node]
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    # Timestamps, binary and other YAML types are not part of any schema: keep them as text so
    # validation reports a clear type error instead of crashing.
    return str(node)


def _plain_key(key: Any) -> Any:
    return key if isinstance(key, str) else str(key)


def iter_yaml_files(paths: Iterable[Path]) -> list[Path]:
    """Expand folders into their ``*.yaml``/``*.yml`` files, sorted; keep files as given."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
            )
        else:
            found.append(path)
    return found
