"""YAML files to positioned documents: the only module that parses YAML.

A ``Document`` is one YAML document of a file with positions for every mapping and sequence.
``locate`` walks a JSON path through those nodes to a 1-based ``Location``. Syntax errors,
duplicate keys and unsupported tags become ``Diagnostic`` values (never exceptions), so a
caller can report every broken file at once.

Every input is bounded before it can cost anything (docs/specs.md, "Limits"): a file is read
by the caller's reader (``reconciler.files.read_bounded`` from the command line, else
``sources.read_regular``: regular files of at most ``MAX_FILE_BYTES``), and the reference
loader's composer refuses, at the line and column where they are written, the tags outside
YAML's core schema (``!!binary``, ``!!set``, ``!!python/...``), integers of more than
``MAX_INT_CHARS`` characters, aliases of a node that contains them, aliases that expand a
file past ``ALIAS_MIN_NODES`` nodes and ``ALIAS_RATIO`` times the nodes written (the billion
laughs), and files of more than ``REFERENCE_MAX_NODES`` nodes (it reads a hundred times
slower than libyaml).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.model import Diagnostic, Location, PathPart, dotted
from reconciler.specs import fastyaml
from reconciler.specs.fastyaml import MAX_INT_CHARS
from reconciler.specs.sources import MAX_FILE_BYTES, Reader, read_regular

if TYPE_CHECKING:
    from ruamel.yaml.error import MarkedYAMLError

# Aliases may expand a file to ALIAS_MIN_NODES nodes, or to ALIAS_RATIO times the nodes (and
# aliases) it writes, never past ALIAS_MAX_NODES: the 342-byte billion laughs (9^9 strings)
# stops at the alias that crosses 100,000, in milliseconds.
ALIAS_MIN_NODES = 100_000
ALIAS_RATIO = 10
ALIAS_MAX_NODES = 1_000_000
# The reference loader reads about 10,000 nodes a second (libyaml a hundred times more): a file
# it must read (the fast path declined it) may write at most this many, so 1 MB of flow list
# behind one tab is refused in a second instead of read for two minutes.
REFERENCE_MAX_NODES = 10_000
CORE_TAGS = ("str", "int", "float", "bool", "null", "seq", "map")
_CORE_TAGS = frozenset(f"tag:yaml.org,2002:{name}" for name in CORE_TAGS)
_INT_TAG = "tag:yaml.org,2002:int"
_STR_TAG = "tag:yaml.org,2002:str"


@dataclass(frozen=True)
class Document:
    """One YAML document: its plain-data content, and the tree that knows positions.

    ``node`` is ruamel's round-trip tree (reference loader) or libyaml's node (fast path).
    """

    file: str
    index: int
    data: Any
    node: Any
    #: The reference loader's record of how each scalar that YAML reads as something other
    #: than text (a number, a boolean, a null, a date) is written, by its 0-based position.
    typed: Mapping[tuple[int, int], str] = field(default_factory=dict)

    def locate(self, path: Sequence[PathPart], *, key: bool = False) -> Location:
        """Return the position of the value at ``path`` (or of its key when ``key`` is True)."""
        return locate(self.file, self.node, path, key=key)

    def written(self, path: Sequence[PathPart]) -> str | None:
        """The text of the scalar at ``path`` as written, when YAML reads it as other than text.

        ``0755`` gives ``"0755"`` (YAML reads 755), ``1.50`` gives ``"1.50"``, ``True`` gives
        ``"True"``; text (quoted or not), a mapping, a list, the document itself and a path
        that leads nowhere give ``None``. Both loaders answer alike (tests/specs/
        test_fastyaml.py).
        """
        if not path:
            return None
        if fastyaml.is_node(self.node):
            return fastyaml.written(self.node, path)
        from ruamel.yaml.comments import CommentedMap, CommentedSeq

        node = self.node
        for part in path[:-1]:
            node = _child(node, part)
            if node is None:
                return None
        last = path[-1]
        if isinstance(node, CommentedMap) and (found := _pair_position(node, last)):
            position = found[1]
        elif isinstance(node, CommentedSeq) and isinstance(last, int) and 0 <= last < len(node):
            position = node.lc.item(last)
        else:
            return None
        if isinstance(node[last], CommentedMap | CommentedSeq):
            return None
        return self.typed.get((int(position[0]), int(position[1])))


def locate(file: str, root: Any, path: Sequence[PathPart], *, key: bool = False) -> Location:
    """Walk ``path`` from ``root`` and return the closest known 1-based position.

    Scalars carry no position of their own in ruamel, so the parent's ``lc.value(k)`` or
    ``lc.item(i)`` is used (practices.md D1); a path that leaves the tree falls back to the
    deepest ancestor that has one. A null value is shown at its key, and a key a merge
    (``<<``) brought in where the merged mapping writes it. Nodes of the fast path are walked
    with the same rules.
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
        if isinstance(node, CommentedMap) and (found := _pair_position(node, part)):
            indent = found[0][1]
            # An empty value (``KEY:``) is marked by ruamel at the next token, often the next
            # line: a null is shown at its key, on its own line.
            pos = found[0] if (last and key) or node[part] is None else found[1]
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


def _pair_position(node: Any, key: PathPart) -> tuple[Any, Any] | None:
    """The 0-based positions of ``key`` and of its value in a ruamel mapping, or None.

    A key a merge (``<<: *base``) brought in is where the merged mapping writes it (the first
    that has it, as YAML's merge takes it); ruamel records no position for it in ``node``.
    """
    from ruamel.yaml.comments import CommentedMap, merge_attrib

    if key not in node:
        return None
    data = node.lc.data or {}  # None on a mapping written only by merges (``<<: *base``)
    if key in data:
        return node.lc.key(key), node.lc.value(key)
    for source in getattr(node, merge_attrib, ()):
        if isinstance(source, CommentedMap) and (found := _pair_position(source, key)):
            return found
    return None


def _child(node: Any, part: PathPart) -> Any:
    """The mapping value or list item at ``part`` of a ruamel tree, or None."""
    if isinstance(node, dict):
        return node.get(part) if isinstance(part, str) else None
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return node[part]
    return None


def _own_position(node: Any, default: tuple[int, int] = (0, 0)) -> tuple[int, int]:
    lc = getattr(node, "lc", None)
    if lc is None or lc.line is None:
        return default
    return int(lc.line), int(lc.col)


def load_file(
    path: Path, *, shown_as: str | None = None, read: Reader | None = None
) -> tuple[list[Document], list[Diagnostic]]:
    """Parse every document of one YAML file; problems come back as diagnostics.

    ``read`` reads the bytes (``reconciler.files.read_bounded`` with the repository as root,
    from the command line); without it, ``read_regular`` does, with the same refusals.
    """
    name = shown_as or str(path)
    try:
        raw = (read or read_regular)(path)
    except OSError as exc:
        reason = getattr(exc, "reason", None) or exc.strerror or type(exc).__name__
        return [], [Diagnostic(location=Location(file=name), message=f"cannot read file: {reason}")]
    return load_bytes(raw, name)


def load_bytes(raw: bytes, file: str) -> tuple[list[Document], list[Diagnostic]]:
    """Parse the bytes of a file shown as ``file``: UTF-8 YAML of at most ``MAX_FILE_BYTES``."""
    if len(raw) > MAX_FILE_BYTES:
        message = f"file is {len(raw):,} bytes; expected at most {MAX_FILE_BYTES:,}"
        return [], [Diagnostic(location=Location(file=file), message=message)]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        message = f"file is not UTF-8 (byte {exc.start}); expected UTF-8 text"
        return [], [Diagnostic(location=Location(file=file), message=message)]
    return load_text(text, file)


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
    yaml.Composer = _guarded_composer()
    documents: list[Document] = []
    try:
        for index, node in enumerate(yaml.load_all(text)):
            if node is None:
                continue
            typed = yaml.composer.typed  # this document's, as its composer recorded them
            documents.append(
                Document(file=file, index=index, data=_plain(node), node=node, typed=typed)
            )
    except Refused as exc:
        return documents, [Diagnostic(location=exc.at(file), message=exc.message)]
    except MarkedYAMLError as exc:
        return documents, [_yaml_diagnostic(file, exc)]
    except (YAMLError, RecursionError, ValueError, TypeError) as exc:
        message = f"cannot parse YAML: {type(exc).__name__}"
        return documents, [Diagnostic(location=Location(file=file), message=message)]
    return documents, []


class Refused(Exception):
    """YAML the guarded composer will not compose, at a 0-based mark (line, column)."""

    def __init__(self, mark: Any, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.line = int(getattr(mark, "line", 0))
        self.col = int(getattr(mark, "column", 0))

    def at(self, file: str) -> Location:
        """Where the refused node (or alias) starts in ``file``, 1-based."""
        return Location(file=file, line=self.line + 1, col=self.col + 1)


@functools.cache
def _guarded_composer() -> Any:
    """The reference composer (ruamel's) with this module's budgets and refusals, built once."""
    from ruamel.yaml.composer import Composer
    from ruamel.yaml.events import AliasEvent
    from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

    class GuardedComposer(Composer):
        """Counts the nodes aliases add, and refuses what ``documents`` says it refuses."""

        def __init__(self, loader: Any = None) -> None:
            super().__init__(loader)
            self.written = 0  # nodes and aliases written in the file so far
            self.expanded = 0  # nodes of the file once every alias is expanded
            self.sizes: dict[int, int] = {}  # id(node) -> its nodes, expanded (one document)
            self.done: set[int] = set()  # ids of the document's nodes composed whole
            self.path: list[PathPart | None] = []  # where the node being composed is, for messages
            # (line, column) -> the text of each scalar not read as text (``Document.typed``)
            self.typed: dict[tuple[int, int], str] = {}

        def compose_document(self) -> Any:
            self.sizes, self.done = {}, set()  # a node's id is only its own in its document
            self.typed = {}
            return super().compose_document()

        def compose_node(self, parent: Any, index: Any) -> Any:
            event = self.parser.peek_event()
            part = index.value if type(index) is ScalarNode else index
            self.path.append(part if part is None or isinstance(part, str | int) else "?")
            try:
                if isinstance(event, AliasEvent):
                    node = super().compose_node(parent, index)
                    self.alias(node, event)
                    return node
                if self.written >= REFERENCE_MAX_NODES:
                    raise Refused(event.start_mark, self.field() + _too_many_message())
                tag = getattr(event, "ctag", None)
                if tag is not None and str(tag) != "!" and str(tag) not in _CORE_TAGS:
                    raise Refused(event.start_mark, self.field() + _tag_message(tag))
                node = super().compose_node(parent, index)
                if (
                    type(node) is ScalarNode
                    and len(node.value) > MAX_INT_CHARS
                    and str(node.tag) == _INT_TAG
                ):
                    message = self.field() + _int_message(len(node.value))
                    raise Refused(node.start_mark, message)
                if type(node) is ScalarNode and str(node.tag) != _STR_TAG:
                    mark = node.start_mark
                    self.typed[(int(mark.line), int(mark.column))] = str(node.value)
            finally:
                self.path.pop()
            self.written += 1
            self.expanded += 1
            self.done.add(id(node))
            return node

        def alias(self, node: Any, event: Any) -> None:
            if id(node) not in self.done:
                raise Refused(
                    event.start_mark,
                    f"{self.field()}YAML alias *{_shown(event.anchor)} refers to a node that "
                    "contains it; expected an alias of a node written before it",
                )
            self.written += 1
            self.expanded += self.size(node)
            limit = min(ALIAS_MAX_NODES, max(ALIAS_MIN_NODES, ALIAS_RATIO * self.written))
            if self.expanded > limit:
                raise Refused(
                    event.start_mark,
                    f"{self.field()}YAML alias *{_shown(event.anchor)}: alias expansion over "
                    f"{limit:,} nodes ({self.written:,} nodes written); expected aliases to "
                    f"expand a file to at most {ALIAS_MIN_NODES:,} nodes, or {ALIAS_RATIO} times "
                    "the nodes it writes",
                )

        def field(self) -> str:
            """The dotted path of the node being composed, and ": " (nothing at the root)."""
            parts: list[PathPart] = [part for part in self.path if part is not None]
            return f"{_shown(dotted(parts), 120)}: " if parts else ""

        def size(self, node: Any) -> int:
            known = self.sizes.get(id(node))
            if known is None:
                kind = type(node)
                if kind is MappingNode:
                    known = 1 + sum(self.size(k) + self.size(v) for k, v in node.value)
                elif kind is SequenceNode:
                    known = 1 + sum(self.size(item) for item in node.value)
                else:
                    known = 1
                self.sizes[id(node)] = known
            return known

    return GuardedComposer


def _tag_message(tag: Any) -> str:
    handle, suffix = getattr(tag, "handle", None), getattr(tag, "suffix", None)
    written = f"{handle}{suffix}" if handle else f"!<{suffix if suffix is not None else tag}>"
    core = ", ".join(f"!!{name}" for name in CORE_TAGS)
    return (
        f'unsupported YAML tag "{_shown(written)}"; expected plain YAML values (the only tags '
        f"allowed are YAML's core {core})"
    )


def _too_many_message() -> str:
    return (
        f"over {REFERENCE_MAX_NODES:,} YAML nodes in a file that needs the full YAML reader "
        "(anchors, tags, tabs, dates, empty values and syntax errors do); expected at most "
        f"{REFERENCE_MAX_NODES:,} in such a file (split it, or keep it to plain YAML)"
    )


def _int_message(length: int) -> str:
    return (
        f"integer of {length:,} characters; expected at most {MAX_INT_CHARS} (quote it to "
        "keep it as text)"
    )


def _shown(text: object, limit: int = 60) -> str:
    """``text`` for a message: control characters escaped, at most ``limit`` characters."""
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text)[: limit + 1])
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


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
