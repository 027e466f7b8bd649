"""The rendering cache of ``render``: equal inputs, one rendering.

Pure. A template's output follows from its source and the values it reads from its context
(the sandbox, its filters and ``secret()`` are pure), so outputs are kept by
``(source, frozen values read)``. What a template reads comes from its syntax tree; a frozen
value carries its type (``1``, ``1.0``, ``True`` and ``"1"`` never share an entry) and a float
its ``repr`` (``0.0 == -0.0``, but they print differently). Failures are never kept.
``tests/specs/test_sandbox.py`` checks a cached rendering against a fresh one on generated
templates and contexts.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from jinja2 import nodes

Reads = tuple[tuple[str, str | None], ...]
MAX_ENTRIES = 65536


class Cache(Protocol):
    """A store of signed bytes that outlives the process (``reconciler.store.cache``).

    ``fingerprint`` names the code that makes the entries; every key built here includes it.
    """

    fingerprint: str

    def get(self, kind: str, key: str) -> bytes | None:
        """The payload kept for ``(kind, key)``, or None."""

    def put(self, kind: str, key: str, payload: bytes) -> None:
        """Keep ``payload`` for ``(kind, key)`` (or not: a cache may drop anything)."""

    def maybe_prune(self) -> None:
        """Keep the store within its bounds."""


_MISSING = ("missing",)
_RENDERED: dict[tuple[Any, ...], str] = {}


def reads(tree: nodes.Template) -> Reads:
    """Every ``(name, key)`` the template can read from its context; ``key`` None: all of it.

    A name the template only reads as ``name.key`` or ``name["key"]`` contributes those keys;
    a name it reads any other way (``vars | tojson``, ``vars[k]``, a loop over it) contributes
    its whole value. Names the template assigns itself (loop variables, ``set``) are counted
    too: a read too many only makes a key more specific, a read too few would be a wrong
    output, and telling them apart costs a compiler pass.
    """
    loads = Counter(node.name for node in tree.find_all(nodes.Name) if node.ctx == "load")
    keys: dict[str, set[str]] = {name: set() for name in loads}
    keyed: Counter[str] = Counter()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        inner = getattr(node, "node", None)
        if not (isinstance(inner, nodes.Name) and inner.ctx == "load"):
            continue
        if isinstance(node, nodes.Getattr):
            keys[inner.name].add(str(node.attr))
        elif (
            isinstance(node, nodes.Getitem)
            and isinstance(node.arg, nodes.Const)
            and isinstance(node.arg.value, str)
        ):
            keys[inner.name].add(node.arg.value)
        else:
            continue
        keyed[inner.name] += 1
    found: list[tuple[str, str | None]] = []
    for name in sorted(loads):
        if keyed[name] == loads[name]:
            found.extend((name, key) for key in sorted(keys[name]))
        else:
            found.append((name, None))
    return tuple(found)


def is_reads(value: object) -> bool:
    """Whether ``value`` has the shape of ``Reads`` (a kept entry's, before it is trusted)."""
    return isinstance(value, tuple) and all(
        isinstance(item, tuple)
        and len(item) == 2
        and isinstance(item[0], str)
        and (item[1] is None or isinstance(item[1], str))
        for item in value
    )


class _Uncacheable(Exception):
    """A context value whose rendering might not follow from its frozen form."""


def _freeze(value: Any) -> Any:
    """A hashable stand-in for a context value, equal only for values that render alike.

    Tagged with the type (``1``, ``1.0``, ``True`` and ``"1"`` differ), floats by ``repr``
    (``0.0 == -0.0`` but they print differently); only the types YAML, JSON and the command
    line produce.
    """
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return (kind, value)
    if kind is float:
        return (kind, repr(value))
    if kind is list or kind is tuple:
        return (kind, tuple(_freeze(item) for item in value))
    if kind is dict:
        return (kind, tuple((_freeze(k), _freeze(v)) for k, v in value.items()))
    raise _Uncacheable


def key(source: str, read: Reads, context: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """Where the output of ``source`` over ``context`` is kept; None: not to be kept."""
    parts: list[Any] = [source]
    try:
        for name, item in read:
            value = context.get(name, _MISSING)
            if item is not None and type(value) is dict:
                value = value.get(item, _MISSING)
            parts.append(_MISSING if value is _MISSING else _freeze(value))
    except _Uncacheable:
        return None
    return tuple(parts)


def values_digest(
    read: Iterable[tuple[str, str | None]],
    outside: Mapping[str, Mapping[str, Mapping[str, Any]]],
) -> str | None:
    """A digest of the values ``read`` finds in ``outside``; None: a value cannot be frozen.

    ``outside`` maps a context name to the mappings it is drawn from outside the spec file
    (``vars``: the configuration's and ``--var``'s); names not in it (``matrix``, ``name``, a
    loop variable) follow from the file itself. A whole-name read covers every value.
    """
    parts: list[Any] = []
    try:
        for name, item in sorted(set(read), key=lambda r: (r[0], r[1] or "")):
            sources = outside.get(name)
            if sources is None:
                continue
            for source in sources.values():
                if item is None:
                    parts.append((name, None, _freeze(dict(source))))
                else:
                    found = source.get(item, _MISSING)
                    parts.append((name, item, _MISSING if found is _MISSING else _freeze(found)))
    except _Uncacheable:
        return None
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def get(cache_key: tuple[Any, ...]) -> str | None:
    """The output kept for ``cache_key``, if any."""
    return _RENDERED.get(cache_key)


def put(cache_key: tuple[Any, ...], output: str) -> None:
    """Keep ``output``; the whole cache is dropped when it is full (a plan's values repeat)."""
    if len(_RENDERED) >= MAX_ENTRIES:
        _RENDERED.clear()
    _RENDERED[cache_key] = output


def clear() -> None:
    """Forget every output (tests)."""
    _RENDERED.clear()
