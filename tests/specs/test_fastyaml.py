"""The fast YAML path (libyaml) must mean exactly what the reference loader (ruamel) means.

``reconciler.specs.fastyaml`` either gives the same documents (data, types, indexes, every
position ``locate`` can be asked for and every scalar's text ``written`` gives) as
``documents.load_text_reference``, or gives up (and the reference decides). These tests
compare the two on a table of YAML 1.1/1.2 edge cases, on every YAML file in the repository,
and on generated text.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.model import PathPart
from reconciler.specs import fastyaml
from reconciler.specs.documents import load_text, load_text_reference, locate
from reconciler.specs.sources import iter_yaml_files

REPO = Path(__file__).resolve().parents[2]


def _typed(value: Any) -> Any:
    """``value`` with every scalar's type spelled out (``True == 1`` and ``1 == 1.0``)."""
    if isinstance(value, dict):
        return {"dict": [(type(k).__name__, k, _typed(v)) for k, v in value.items()]}
    if isinstance(value, list):
        return {"list": [_typed(v) for v in value]}
    return (type(value).__name__, repr(value))


def _paths(value: Any, prefix: tuple[PathPart, ...] = ()) -> list[tuple[PathPart, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            found.extend(_paths(v, (*prefix, k)))
        found.append((*prefix, "no-such-key"))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found.extend(_paths(v, (*prefix, i)))
        found.extend([(*prefix, len(value)), (*prefix, -1), (*prefix, "0")])
    else:
        found.append((*prefix, "beyond"))
    return found


def _same(text: str) -> bool:
    """Assert the fast path agrees with the reference; False when it gave up."""
    fast = fastyaml.load(text)
    reference, problems = load_text_reference(text, "f.yaml")
    chosen = load_text(text, "f.yaml")
    if fast is None:
        assert chosen[1] == problems
        assert [_typed(d.data) for d in chosen[0]] == [_typed(d.data) for d in reference]
        return False
    assert problems == [], f"fast path accepted text the reference rejects: {problems}"
    assert [(i, _typed(d)) for i, d, _ in fast] == [(d.index, _typed(d.data)) for d in reference]
    for (_, data, node), ref, mine in zip(fast, reference, chosen[0], strict=True):
        for path in _paths(data):
            for key in (False, True):
                assert locate("f.yaml", node, path, key=key) == ref.locate(path, key=key), (
                    path,
                    key,
                )
            # A value taken as written (a property value) is the same text from either reader.
            assert mine.written(path) == ref.written(path), path
    assert chosen[1] == []
    assert all(fastyaml.is_node(d.node) for d in chosen[0])
    assert [_typed(d.data) for d in chosen[0]] == [_typed(d.data) for d in reference]
    return True


FAST = [
    # YAML 1.2 core schema: 1.1 booleans are text, 1.1 octal is not special
    "a: yes\nb: no\nc: on\nd: off\ne: y\nf: n\ng: Yes\nh: NO\n",
    "t: true\nf: False\nT: TRUE\nn: null\nN: Null\nt2: ~\n",
    "i: 0\nj: -17\nk: +5\nl: 1234567890123456789012\nf: 1.5\ng: -0.0\nh: +3.25\n",
    "s: 1.2.3\nv: v1\nd: 1:20\nu: 0.5.1-rc\nn: 'null'\nq: \"true\"\nx: 12abc\n",
    # property values are taken as written: both readers give the same text for each
    "p: 1.50\nq: 10.0\nr: +5\ns: -0\nt: True\nu: FALSE\nv: [1.50, '1.50', {w: +0.10}]\n",
    "empty_quoted: ''\nspace: ' '\nhash: a#b\ncolon: 'a: b'\nurl: http://x/y?a=1&b=2\n",
    # positions: flow and block, nested, sequences of mappings, indentless sequences
    "metadata: {name: x, labels: {a: b}}\nspec:\n  list: [1, 2, {k: v}]\n",
    "items:\n- a\n- b: 1\n  c: [x]\n-   - nested\n    - more\n",
    "top:\n  - name: one\n    vars: {batch: 1}\n  -\n    name: two\n",
    "? explicit\n: value\nplain: v\n",
    "k:\n\n\n  deep:\n    deeper: 1\n",
    "# comment\n\nkey: value # trailing\n# end\n",
    # block scalars: literal, folded, chomping, indentation indicators
    "a: |\n  line one\n  line two\nb: >\n  folded\n  text\n\n  para\n",
    "a: |-\n  x\nb: |+\n  y\n\nc: >2\n   indented\nd: |\n\n  after blank\n",
    "list:\n  - |\n    block item\n  - >-\n    folded item\n",
    "\"quoted key\": 1\n'single': 2\nkey with spaces: 3\n",
    "escapes: \"tab\\tnl\\nuni\\u00e9 \\x41 \\/\"\nsingle: 'it''s'\n",
    "multi: this is\n  a plain\n  multi-line scalar\n",
    "unicode: héllo wörld ✓ 日本\nemoji: 😀 x\nk😀: v\n",
    # documents: several, empty ones count, a bare scalar root, a list root
    "a: 1\n---\nb: 2\n---\n---\nc: 3\n",
    "---\n",
    "",
    "# only a comment\n",
    "just text\n",
    "- 1\n- two\n",
    "a: 1\r\nb:\r\n  - x\r\n  - y\r\n",
    "{a: 1, b: [x, y], c: {d: e}}\n",
    "a: [\n  1,\n  2\n]\nb: {\n  c: d\n}\n",
    'templates: "{{ vars.batch * 2 }}"\nother: \'{{ a | join(",") }}\'\n',
]

REFERENCE = [
    # tags, anchors, aliases, merge keys, directives, timestamps, special numbers
    "a: !!str 1\n",
    "a: !custom x\n",
    "a: &x 1\nb: *x\n",
    "a: &x true\n",
    "base: &b {k: v}\nchild:\n  <<: *b\n  j: w\n",
    "%YAML 1.1\n---\na: yes\n",
    "when: 2024-01-01\n",
    "n: 012\no: 0o17\nh: 0x1F\nu: 1_000\ne: 1e3\ninf: .inf\nnan: .nan\n",
    "1: int key\n",
    # an empty value: ruamel marks it at the next token, libyaml right after the indicator
    "e:\nf: 1\n",
    "- \n- x\n",
    "? a\n",
    "true: bool key\n",
    "null: null key\n",
    "[a, b]: complex key\n",
    # text libyaml and ruamel may read differently
    "a: 1\n...\n---\nb: 2\n",
    "--- >+\n...\n",
    "--- |\n  block root\n",
    "a: |#\n  x\n",
    "a: |-\n  \n    more indented\n",
    "a: 1\rb: 2\n",
    "a:\tb\n",
    "\ufeffa: 1\n",
    "a: x\u2028y\n",
    "a: \x85\n",
    # errors: every one is reported by the reference loader
    "a: 1\na: 2\n",
    "a: 'x'\n\"a\": y\n",
    "a: [1, 2\n",
    "a: b: c\n",
    "- a\nb: c\n",
    "a: *nope\n",
    "key: 'unterminated\n",
]


@pytest.mark.parametrize("text", FAST)
def test_fast_path_agrees_with_the_reference(text: str) -> None:
    assert _same(text)


@pytest.mark.parametrize("text", REFERENCE)
def test_fast_path_leaves_the_rest_to_the_reference(text: str) -> None:
    assert not _same(text)


def test_a_located_error_is_the_reference_message() -> None:
    documents, problems = load_text("kind: Execution\nmetadata:\n  name: a\n  name: b\n", "s.yaml")
    assert documents == []
    assert [f"{p.location}: {p.message}" for p in problems] == [
        's.yaml:4:3: YAML syntax error: duplicate key "name"; each key may appear once in a mapping'
    ]


def test_every_yaml_file_in_the_repository() -> None:
    paths = iter_yaml_files(REPO / folder for folder in ("specs", "tests", "schemas", "docs"))
    paths += [REPO / "reconciler.yaml"]
    fast = 0
    for path in paths:
        if path.is_file():
            fast += _same(path.read_text(encoding="utf-8"))
    assert fast >= 10


def test_plain_scalars_resolve_like_ruamel_1_2() -> None:
    from ruamel.yaml.nodes import ScalarNode
    from ruamel.yaml.resolver import VersionedResolver

    resolver = VersionedResolver(version=(1, 2))
    table = resolver.versioned_resolver
    patterns = {str(tag): rx.pattern for rules in table.values() for tag, rx in rules}
    # fastyaml.NOT_TEXT is the union of ruamel's non-text patterns (bool and null are sets)
    for tag, pattern in patterns.items():
        if tag.rsplit(":", 1)[1] in ("bool", "null"):
            continue
        body = pattern.removeprefix("^(?:").removesuffix(")$").strip()
        assert body.split()[0] in fastyaml.NOT_TEXT.pattern, tag
    samples = [
        "yes", "No", "on", "OFF", "y", "true", "False", "TRUE", "null", "~", "NULL", "0", "-0",
        "+7", "12", "012", "0o7", "0b1", "0x1f", "1_0", "1.5", "-1.5", "1.", ".5", "1e3",
        "1.5e3", ".inf", "-.Inf", ".nan", "2024-01-01", "2024-1-1 10:00:00", "<<", "=", "a",
        "1:20", "1.2.3", "v1", "-", "+", ".", "0.0.0", "1e", "nullx", "truex", "Infinity",
    ]  # fmt: skip
    for value in samples:
        tag = str(resolver.resolve(ScalarNode, value, (True, False))).rsplit(":", 1)[1]
        try:
            mine = type(fastyaml.plain_scalar(value)).__name__
        except Exception:
            mine = "unsupported"
        expected = {"str": "str", "null": "NoneType", "bool": "bool"}.get(tag)
        if expected is not None:
            assert mine == expected, value
        else:
            assert mine in {"int": ("int", "unsupported"), "float": ("float", "unsupported")}.get(
                tag, ("unsupported",)
            ), value


_TOKENS = [
    "a", "b", "key", "1", "0", "1.5", "yes", "true", "null", "~", "-", "- ", ": ", ":", "\n",
    "\n  ", "\n    ", "  ", " ", "[", "]", "{", "}", ", ", "'", '"', "|", ">", "#", "? ",
    "---\n", "{{ x }}", "é", "\r\n", "|-\n  ", ">\n  ", "...\n", "\\", "%", "@", "`",
    "!", "&", "*", "<<", "=", "'a'", '"a"', "#c\n", "|2\n", ">+\n", "  - ", "k: v\n", ".5",
    "2024-01-01", "0x1", "-1", "a b", "\t", "\r", "\x00", "\u2028", "%YAML 1.2\n",
]  # fmt: skip


@settings(
    max_examples=int(os.environ.get("FAST_EXAMPLES", "400")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.lists(st.sampled_from(_TOKENS), max_size=30).map("".join))
def test_generated_text_never_diverges(text: str) -> None:
    _same(text)


_REFERENCE_ONLY = re.compile(fastyaml.REFERENCE_ONLY, re.MULTILINE)
_ODD = ["&", "*", "&a", "*a", " *", "[*", ",&", ":*x", "*]", "& ", "\u2028", "\x85", "\xa0", "\t"]


@settings(max_examples=int(os.environ.get("FAST_EXAMPLES", "400")) * 5, deadline=None)
@given(st.lists(st.sampled_from(_TOKENS + _ODD), max_size=30).map("".join))
def test_the_quick_check_asks_what_the_one_expression_asks(text: str) -> None:
    assert fastyaml.needs_reference(text) is (_REFERENCE_ONLY.search(text) is not None)


def test_the_quick_check_on_every_yaml_file_in_the_repository() -> None:
    texts = [p.read_text(encoding="utf-8") for p in iter_yaml_files([REPO])]
    assert len(texts) > 10
    for text in texts:
        wanted = _REFERENCE_ONLY.search(text) is not None
        assert fastyaml.needs_reference(text) is wanted
