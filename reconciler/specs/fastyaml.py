"""The fast path of ``documents``: libyaml composes, Python checks the meaning is YAML 1.2's.

ruamel's pure-Python round-trip loader (the reference) takes about 15 times as long as libyaml
to read the specs of a large repository. Here PyYAML's C parser (libyaml) composes the node
tree, with a resolver that only records whether a scalar was plain, quoted or explicitly
tagged, and this module turns it into plain data the way the reference would (YAML 1.2 core
schema: ``yes``/``no``/``on``/``off`` are text, ``012`` is not octal) and keeps the nodes for
positions: their ``start_mark`` is the mark ruamel's ``lc`` records.

``load`` returns ``None`` (use the reference loader) whenever the meaning might differ or
anything is wrong: text libyaml and ruamel read differently (tabs, directives, byte-order
marks, Unicode line separators, non-printable characters), anchors and aliases (ruamel keeps
anchored scalars as special types), explicit tags, keys that are not text, merge keys,
duplicate keys, numbers beyond the simple decimal forms, integers longer than
``MAX_INT_CHARS``, timestamps, empty values (ruamel marks them at the next token, libyaml
after the indicator) and every syntax error. So a file with a problem is always parsed, and
reported, by the reference loader, whose composer holds the budgets (``documents``). Should an
alias ever get past the text check, a tree of more nodes than the text has characters (only
aliases make one) is handed over too, before it is expanded.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

try:  # PyYAML with libyaml; without it every file takes the reference loader.
    from yaml import YAMLError as _YAMLError  # type: ignore[import-untyped, unused-ignore]
    from yaml.cyaml import CParser as _CParser  # type: ignore[import-untyped, unused-ignore]
    from yaml.nodes import (  # type: ignore[import-untyped, unused-ignore]
        MappingNode as _MappingNode,
    )
    from yaml.nodes import Node as _Node  # type: ignore[import-untyped, unused-ignore]
    from yaml.nodes import ScalarNode as _ScalarNode  # type: ignore[import-untyped, unused-ignore]
    from yaml.nodes import (  # type: ignore[import-untyped, unused-ignore]
        SequenceNode as _SequenceNode,
    )

    AVAILABLE = True
except ImportError:  # pragma: no cover - PyYAML is a dependency; this guards a build without C
    AVAILABLE = False

PathPart = str | int

#: The longest integer a spec may write (the reference loader refuses longer ones, located).
MAX_INT_CHARS = 100

# Text that libyaml and ruamel might read differently, or that needs ruamel's types: any
# character outside printable ASCII/Unicode without tab, NEL, LS, PS and BOM; a carriage
# return outside CRLF; a directive (``%YAML 1.1`` switches ruamel to 1.1 booleans) or a
# document end marker (read differently after a block scalar by the two); a block
# scalar whose first line holds only spaces (ruamel rejects more indented lines after it,
# libyaml does not) or whose indicator is followed by "#" (libyaml takes it for a comment);
# an anchor or an alias. ``needs_reference`` asks what this one expression asks, in parts
# that each skip the text when a character they need is absent (a sixth of the time on
# generated specs; tests/specs/test_fastyaml.py checks that the two always agree).
_ODD_CHARACTER = (
    "[^\\n\\r\\x20-\\x7e\\xa0-\\u2027\\u202a-\\ud7ff\\ue000-\\ufefe\\uff00-\\ufffd"
    "\\U00010000-\\U0010ffff]"
)
_BLOCK = "[|>][-+0-9]*[ ]*(?:#[^\\n]*)?\\r?\\n +\\r?\\n|[|>][-+0-9]*#"
REFERENCE_ONLY = "|".join(  # compiled by the tests only: a large class costs start-up time
    [
        _ODD_CHARACTER,
        "\\r(?!\\n)",
        "^%",
        "^\\.\\.\\.",
        _BLOCK,
        "(?:^|[\\s\\[\\]{},:])[&*][^\\s\\[\\]{},]",
    ]
)
_ODD_ASCII = re.compile("[^\\n\\r\\x20-\\x7e]")
_LONE_CR = re.compile("\\r(?!\\n)")
_ODD_BLOCK = re.compile(_BLOCK)


def needs_reference(text: str) -> bool:
    """``re.search(REFERENCE_ONLY, text, re.MULTILINE) is not None``, in cheap parts."""
    return bool(
        (_ODD_ASCII.search(text) if text.isascii() else re.search(_ODD_CHARACTER, text))
        or ("\r" in text and _LONE_CR.search(text))
        or text.startswith(("%", "..."))
        or "\n%" in text
        or "\n..." in text
        or (("|" in text or ">" in text) and _ODD_BLOCK.search(text))
        or _has_anchor(text)
    )


def _has_anchor(text: str) -> bool:
    """An ``&`` or ``*`` after the start, a space or a flow indicator, before a name."""
    for mark in "&*":
        at = text.find(mark)
        while at >= 0:
            if (at == 0 or text[at - 1] in "[]{},:" or text[at - 1].isspace()) and at + 1 < len(
                text
            ):
                after = text[at + 1]
                if after not in "[]{}," and not after.isspace():
                    return True
            at = text.find(mark, at + 1)
    return False


# Plain scalars: what ruamel's YAML 1.2 resolver (VersionedResolver, version 1.2) gives a tag
# other than str; ``tests/specs/test_fastyaml.py`` checks these are ruamel's own patterns.
_TRUE = frozenset({"true", "True", "TRUE"})
_FALSE = frozenset({"false", "False", "FALSE"})
_NULL = frozenset({"", "~", "null", "Null", "NULL"})
_SIMPLE_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
_SIMPLE_FLOAT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)\.[0-9]+")
NOT_TEXT = re.compile(
    r"""^(?:
    [-+]?0b[0-1_]+
    |[-+]?0o?[0-7_]+
    |[-+]?[0-9_]+
    |[-+]?0x[0-9a-fA-F_]+
    |[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN)
    |[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
    |[0-9][0-9][0-9][0-9] -[0-9][0-9]? -[0-9][0-9]?
        (?:[Tt]|[ \t]+)[0-9][0-9]?
        :[0-9][0-9] :[0-9][0-9] (?:\.[0-9]*)?
        (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?
    |<<|=|!|&|\*
    )$""",
    re.VERBOSE,
)
_MAYBE_NOT_TEXT = frozenset("+-.0123456789<=!&*")

# Tags the resolver below gives; an explicit tag is any other string (compared by identity).
_PLAIN = "reconciler:plain"
_QUOTED = "reconciler:quoted"
_COLLECTION = "reconciler:collection"
_OTHER = "reconciler:other"


class _Unsupported(Exception):
    """The reference loader must decide this file."""


if AVAILABLE:

    class _Composer(_CParser):  # type: ignore[misc, unused-ignore]
        """libyaml's composer with a resolver that only says how each node was written."""

        def resolve(self, kind: type, value: Any, implicit: Any) -> str:  # noqa: ARG002
            if kind is _ScalarNode:
                if implicit[0]:
                    return _PLAIN
                return _QUOTED if implicit[1] else _OTHER
            return _COLLECTION if implicit else _OTHER

        def descend_resolver(self, current_node: Any, current_index: Any) -> None:  # noqa: ARG002
            return None

        def ascend_resolver(self) -> None:
            return None


def load(text: str) -> list[tuple[int, Any, Any]] | None:
    """``(index, data, node)`` of every non-empty document, or ``None``: use the reference."""
    if not AVAILABLE or needs_reference(text):
        return None
    documents: list[tuple[int, Any, Any]] = []
    budget = [len(text) + 1]  # nodes left: each written node takes a character at least
    try:
        composer = _Composer(text)
        index = 0
        while composer.check_node():
            node = composer.get_node()
            if type(node) is _ScalarNode and node.style in ("|", ">"):
                return None  # a block scalar as a document: not a spec, and read differently
            if not (type(node) is _ScalarNode and node.tag is _PLAIN and node.value == ""):
                data = _data(node, budget)
                if data is not None:
                    documents.append((index, data, node))
            index += 1
    except (_Unsupported, _YAMLError, RecursionError, ValueError, TypeError):
        return None
    return documents


def _data(node: Any, budget: list[int]) -> Any:
    kind = type(node)
    tag = node.tag
    if kind is _ScalarNode:
        if tag is _PLAIN and node.value:
            return plain_scalar(node.value)
        if tag is _QUOTED:
            return node.value
        raise _Unsupported
    if tag is not _COLLECTION:
        raise _Unsupported
    budget[0] -= len(node.value)
    if budget[0] < 0:
        raise _Unsupported  # more nodes than characters: an alias, for the guarded composer
    if kind is _SequenceNode:
        return [_data(item, budget) for item in node.value]
    mapping: dict[str, Any] = {}
    for key_node, value_node in node.value:
        if type(key_node) is not _ScalarNode:
            raise _Unsupported
        key = key_node.value
        key_tag = key_node.tag
        if key_tag is _PLAIN:
            if key in _NULL or key in _TRUE or key in _FALSE or _not_text(key):
                raise _Unsupported
        elif key_tag is not _QUOTED:
            raise _Unsupported
        if key in mapping or key == "<<":
            raise _Unsupported
        mapping[key] = _data(value_node, budget)
    return mapping


def _not_text(value: str) -> bool:
    return value[0] in _MAYBE_NOT_TEXT and NOT_TEXT.match(value) is not None


def plain_scalar(value: str) -> Any:
    """The value of a plain (unquoted, untagged) scalar, as ruamel's 1.2 loader gives it."""
    if value in _NULL:
        return None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    if value[0] not in _MAYBE_NOT_TEXT or NOT_TEXT.match(value) is None:
        return value
    if _SIMPLE_INT.fullmatch(value):
        if len(value) > MAX_INT_CHARS:
            raise _Unsupported  # the reference loader refuses it, at its line and column
        return int(value)
    if _SIMPLE_FLOAT.fullmatch(value):
        return float(value)
    raise _Unsupported


def is_node(value: object) -> bool:
    """True for a node of the fast path (as opposed to a ruamel tree or a plain value)."""
    return AVAILABLE and isinstance(value, _Node)


def locate(root: Any, path: Sequence[PathPart], *, key: bool = False) -> tuple[int, int]:
    """0-based (line, column) of ``path``, by the rules of ``documents.locate`` for ruamel.

    A mapping or sequence is at its start mark, a mapping's key and value at theirs (a null
    value at its key), an item at its own; a block scalar's position is its first line of
    text, indented past its key.
    """
    line, col = _own_position(root, (0, 0))
    node = root
    indent = col
    for index, part in enumerate(path):
        last = index == len(path) - 1
        kind = type(node)
        if kind is _MappingNode and (pair := _pair(node, part)) is not None:
            key_node, value_node = pair
            indent = key_node.start_mark.column
            null = (
                type(value_node) is _ScalarNode
                and value_node.tag is _PLAIN
                and (value_node.value in _NULL)
            )
            mark = key_node.start_mark if (last and key) or null else value_node.start_mark
            line, col = mark.line, mark.column
            node = value_node
        elif kind is _SequenceNode and isinstance(part, int) and 0 <= part < len(node.value):
            mark = node.value[part].start_mark
            line, col = mark.line, mark.column
            indent = col
            node = node.value[part]
        else:
            break
        if not (last and key):
            line, col = _own_position(node, (line, col))
    if type(node) is _ScalarNode and node.style in ("|", ">") and not key:
        line, col = line + 1, indent + 2
    return line, col


def written(root: Any, path: Sequence[PathPart]) -> str | None:
    """The text of the plain scalar at ``path`` when it is not read as text; else ``None``.

    What ``documents.Document.written`` answers for the reference loader: ``0755`` for a
    plain ``0755`` (read as 755), nothing for text, a quoted scalar, a collection or a path
    that leads nowhere.
    """
    node = root
    for part in path:
        kind = type(node)
        if kind is _MappingNode and (pair := _pair(node, part)) is not None:
            node = pair[1]
        elif kind is _SequenceNode and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
        else:
            return None
    if type(node) is not _ScalarNode or node.tag is not _PLAIN or not node.value:
        return None
    value: str = node.value
    return None if isinstance(plain_scalar(value), str) else value


def _pair(node: Any, part: PathPart) -> tuple[Any, Any] | None:
    if not isinstance(part, str):
        return None
    for pair in node.value:
        if pair[0].value == part:
            return pair  # type: ignore[no-any-return]
    return None


def _own_position(node: Any, default: tuple[int, int]) -> tuple[int, int]:
    if type(node) is _MappingNode or type(node) is _SequenceNode:
        mark = node.start_mark
        return int(mark.line), int(mark.column)
    return default
