"""Spec fuzzing and template injection, through the real CLI entry point in-process.

``mutants`` is a seeded mutator over valid and invalid example specs: character, line and
structure edits, YAML syntax tokens, odd scalars and splices. ``INJECTIONS`` is a corpus of
template-injection payloads (the Jinja sandbox escapes people use, and resource bombs). Every
case goes through ``reconciler.cli.main(["validate", ...])``, the console script's own error
boundary; an accepted injection also goes through ``render`` so its output can be inspected.
A case fails on a traceback or an internal error (exit 70), on any exit but 0 or 1, on a
refusal without a located diagnostic, and, for injections, on output that shows an object, a
module or a value the template had no business reaching, or on a side effect.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from reconciler.cli import main

ROOT = Path(__file__).resolve().parents[1]

CONFIG = """\
version: 1
specs: specs
state: state
artifacts: artifacts
platform:
  accountId: demo-AB12CD
templateEnv: [CHAOS_VISIBLE]
vars:
  region: eu
"""

VALID = """\
apiVersion: reconciler/v1
kind: Execution
metadata:
  name: orders
  labels: {team: a}
spec:
  processId: 789abcde-f012-3456-789a-bcdef0123456
  atomId: 3456789a-bcde-f012-3456-789abcdef012
  dynamicProperties:
    A: "{{ vars.a }}"
    B: '{{ secret("API_KEY") }}'
    C: "{{ env.CHAOS_VISIBLE | default('x') }}-{{ name }}-{{ git.sha | default('') }}"
  processProperties:
    - componentId: 456789ab-cdef-0123-4567-89abcdef0123
      values: {k: v, n: 3, flag: true}
  policy: {run: onChange, timeout: 30m, retries: {count: 2, on: [ERROR]}, warnIsSuccess: true}
  dependsOn: [other]
  vars: {a: 1, list: [x, y]}
---
apiVersion: reconciler/v1
kind: Execution
metadata: {name: other}
spec:
  processId: 789abcde-f012-3456-789a-bcdef0123456
  atomId: 3456789a-bcde-f012-3456-789abcdef012
"""

VALID_SET = """\
apiVersion: reconciler/v1
kind: ExecutionSet
metadata: {name: regions, labels: {team: a}}
spec:
  defaults:
    processId: 789abcde-f012-3456-789a-bcdef0123456
    atomId: 3456789a-bcde-f012-3456-789abcdef012
    dynamicProperties: {R: "{{ matrix.region | upper }}"}
    policy: {run: always, timeout: 30m, retries: {count: 1, on: [ERROR]}}
    vars: {day: "2026-01-15"}
  matrix:
    region: [eu, us]
    tier: [1, 2]
  executions:
    - name: "orders-{{ matrix.region }}-{{ matrix.tier }}"
      dependsOn: ["extract-{{ matrix.region }}-{{ matrix.tier }}"]
      processProperties:
        456789ab-cdef-0123-4567-89abcdef0123: {k: "{{ vars.day }}"}
    - name: "extract-{{ matrix.region }}-{{ matrix.tier }}"
"""

# Syntax fragments and odd scalars the mutator splices in.
TOKENS: tuple[str, ...] = (
    ":",
    ": ",
    "- ",
    "-",
    "? ",
    "{",
    "}",
    "[",
    "]",
    ",",
    "&a ",
    "*a",
    "<<: *a",
    "!!str ",
    "!!int ",
    "!!binary ",
    "!!python/object/apply:os.system ['true'] ",
    "!tag ",
    "%YAML 1.1\n",
    "---\n",
    "...\n",
    "|\n",
    ">-\n",
    "'",
    '"',
    "#",
    "\t",
    "\x00",
    "\ufeff",
    "\u2028",
    "\r",
    "\r\n",
    "\x85",
    "{{",
    "}}",
    "{%",
    "%}",
    "{#",
    "#}",
    "{{ vars.a }}",
    "{{ matrix.x }}",
    '{{ secret("X") }}',
    "{{ ''.__class__ }}",
    "null",
    "~",
    ".inf",
    "-.nan",
    "0x1F",
    "0o17",
    "1e999",
    "-0",
    "yes",
    "no",
    "on",
    "2026-13-45",
    "12:30:00",
    "@",
    "`",
    "\\",
    "\\u0000",
    "\U0001f4a5",
    "é",
    "a" * 300,
    "9" * 400,
    "name",
    "spec",
    "kind",
    "metadata",
    "matrix",
    "executions",
    "defaults",
    "dependsOn",
    "policy",
    "processProperties",
    "dynamicProperties",
    "componentId",
    "values",
    "vars",
    "labels",
    "ExecutionSet",
    "Execution",
    "reconciler/v1",
    "reconciler/v2",
    "apiVersion",
)

ODD_VALUES: tuple[Any, ...] = (
    None,
    True,
    False,
    0,
    -1,
    2**63,
    10**30,
    1e308,
    -1e-308,
    "",
    " ",
    "x" * 5000,
    "\x00",
    "\ud7ff",
    "é\u0301",
    [],
    {},
    [[[[[[]]]]]],
    {"a": {"b": {"c": {}}}},
    ["a", 1, None],
    "{{ vars.missing }}",
    "{{",
    "}}",
    "{% raw %}",
    "{{ 1/0 }}",
    "{{ name }}",
    "{{ matrix }}",
    '{{ secret("A") }}',
    '{{ secret("A") }}x',
    "{{ secret(1) }}",
    "ORDERS-EU",
    "a" * 64,
    "-a",
    "a--b",
    "30m",
    "-5m",
    "1y",
    "0",
    "never",
    ["ERROR", "FAILED"],
    "onChange",
    "manual",
    "789abcde-f012-3456-789a-bcdef0123456",
    "789ABCDE-F012-3456-789A-BCDEF0123456",
)

_YAML = YAML(typ="safe", pure=True)


def seeds() -> list[str]:
    """The texts mutants start from: the built-ins, the example specs, the invalid cases."""
    texts = [VALID, VALID_SET]
    for folder in (ROOT / "specs", ROOT / "tests" / "cases" / "invalid"):
        if folder.is_dir():
            texts += [p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.yaml"))]
    return texts


def _mutate_text(text: str, rng: random.Random) -> str:
    if not text:
        return rng.choice(TOKENS)
    choice = rng.randrange(8)
    i = rng.randrange(len(text))
    j = min(len(text), i + rng.randrange(1, 40))
    if choice == 0:  # delete a span
        return text[:i] + text[j:]
    if choice == 1:  # duplicate a span
        return text[:j] + text[i:j] + text[j:]
    if choice == 2:  # insert a token
        return text[:i] + rng.choice(TOKENS) + text[i:]
    if choice == 3:  # replace one character with any code point
        return (
            text[:i]
            + chr(rng.choice((rng.randrange(0x20, 0x7F), rng.randrange(0x110000))))
            + text[i + 1 :]
        )
    lines = text.split("\n")
    k = rng.randrange(len(lines))
    if choice == 4:  # re-indent a line
        pad = rng.choice((" ", "  ", "    ", "\t"))
        lines[k] = pad + lines[k] if rng.random() < 0.6 else lines[k].lstrip()
    elif choice == 5:  # swap two lines
        m = rng.randrange(len(lines))
        lines[k], lines[m] = lines[m], lines[k]
    elif choice == 6:  # drop or double a line
        if rng.random() < 0.5:
            del lines[k]
        else:
            lines.insert(k, lines[k])
    else:  # replace the value of a "key: value" line
        key, sep, _ = lines[k].partition(": ")
        if sep:
            lines[k] = f"{key}: {json.dumps(rng.choice(ODD_VALUES), ensure_ascii=False)}"
    return "\n".join(lines)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


def _mutate_tree(text: str, rng: random.Random) -> str | None:
    """Parse, edit one node of the tree (replace, delete, add a key), dump as JSON."""
    try:
        documents = [d for d in _YAML.load_all(text) if d is not None]
    except Exception:
        return None
    if not documents:
        return None
    document = rng.choice(documents)
    targets = list(_paths(document))
    path = rng.choice(targets)
    if not path:
        return json.dumps(rng.choice(ODD_VALUES), default=str)
    parent = document
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    roll = rng.random()
    if roll < 0.6:
        parent[last] = rng.choice(ODD_VALUES)
    elif roll < 0.8:
        del parent[last]
    elif isinstance(parent, dict):
        parent[rng.choice(TOKENS[80:])] = rng.choice(ODD_VALUES)
    else:
        parent.append(rng.choice(ODD_VALUES))
    return "\n---\n".join(json.dumps(d, default=str, ensure_ascii=False) for d in documents)


def mutants(count: int, seed: int = 0) -> Iterator[str]:
    """``count`` spec texts, each one to four mutations of a seed (or a splice of two)."""
    rng = random.Random(seed)
    base = seeds()
    for _ in range(count):
        text = rng.choice(base)
        if rng.random() < 0.1:
            other = rng.choice(base)
            text = text[: rng.randrange(len(text) + 1)] + other[rng.randrange(len(other) + 1) :]
        for _ in range(rng.choice((1, 1, 1, 2, 2, 3, 4))):
            tree = _mutate_tree(text, rng) if rng.random() < 0.25 else None
            text = tree if tree is not None else _mutate_text(text, rng)
        yield text


@dataclass(frozen=True)
class Outcome:
    """What one in-process CLI call did."""

    code: int
    out: str
    err: str
    seconds: float


def call(args: Sequence[str]) -> Outcome:
    """``reconciler ARGS`` in-process, through ``main`` (the console script's error boundary)."""
    out, err = io.StringIO(), io.StringIO()
    began = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(args))
        except SystemExit as exit_:
            code = exit_.code
        else:  # pragma: no cover - main always exits
            code = 0
    seconds = time.perf_counter() - began
    return Outcome(
        int(code) if isinstance(code, int) else 1, out.getvalue(), err.getvalue(), seconds
    )


def problems_of(outcome: Outcome, file: str) -> list[str]:
    """Why an outcome of ``validate`` breaks the contract (empty when it is fine)."""
    found = []
    text = outcome.out + outcome.err
    if outcome.code not in (0, 1):
        found.append(f"exit {outcome.code}")
    if "Traceback" in text or "internal error" in text:
        found.append("traceback / internal error")
    if outcome.code == 1 and not re.search(rf"(^|\n){re.escape(file)}:\d+:\d+: ", outcome.err):
        found.append("refused without a located diagnostic")
    return found


@contextlib.contextmanager
def workspace(folder: Path) -> Iterator[Path]:
    """A checkout in ``folder`` with ``reconciler.yaml``, made the current directory."""
    (folder / "specs").mkdir(parents=True, exist_ok=True)
    (folder / "reconciler.yaml").write_text(CONFIG, encoding="utf-8")
    before = Path.cwd()
    os.chdir(folder)
    try:
        yield folder
    finally:
        os.chdir(before)


SPEC_FILE = "specs/case.yaml"


def fuzz(folder: Path, *, cases: int, seed: int = 0, slow: float = 5.0) -> dict[str, Any]:
    """Run ``cases`` mutants through ``validate``; collect every contract break."""
    failures: list[dict[str, Any]] = []
    codes: dict[int, int] = {}
    slowest = 0.0
    began = time.perf_counter()
    with workspace(folder) as root:
        path = root / SPEC_FILE
        for index, text in enumerate(mutants(cases, seed)):
            path.write_text(text, encoding="utf-8", errors="surrogatepass")
            outcome = call(["validate", SPEC_FILE])
            codes[outcome.code] = codes.get(outcome.code, 0) + 1
            slowest = max(slowest, outcome.seconds)
            found = problems_of(outcome, SPEC_FILE)
            if outcome.seconds > slow:
                found.append(f"took {outcome.seconds:.1f}s")
            if found:
                failures.append(
                    {
                        "case": index,
                        "problems": found,
                        "spec": text[:2000],
                        "err": outcome.err[-2000:],
                    }
                )
    return {
        "cases": cases,
        "seed": seed,
        "exitCodes": {str(k): v for k, v in sorted(codes.items())},
        "valid": codes.get(0, 0),
        "failures": len(failures),
        "slowestCaseSeconds": round(slowest, 3),
        "seconds": round(time.perf_counter() - began, 1),
        "violations": failures[:50],
    }


ESCAPE_ENV = "CHAOS_ESCAPE_MARKER"  # set in the environment, never listed in templateEnv
ESCAPE_VALUE = "env-marker-7f3a9c"
SECRET_ENV = "API_KEY"
SECRET_VALUE = "secret-marker-2b8e41"
FILE_NAME = "marker.txt"  # in the checkout, next to reconciler.yaml: a template must not read it
FILE_VALUE = "file-marker-91d0c7"
TOUCHED = "escaped"  # payloads try to create this file; it must never exist

_GLOBALS_WALK = ".__init__.__globals__"
_SYSTEM = f".os.system('touch {TOUCHED}')"
_POPEN = ".os.popen('id').read()"

# Template-injection payloads. Each is tried as a dynamic property value, a process property
# value, a set's execution name, and as data (a var) that a property prints.
INJECTIONS: tuple[str, ...] = (
    "{{ ''.__class__ }}",
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ ''.__class__.__mro__[-1].__subclasses__()[40]('/etc/passwd').read() }}",
    "{{ ().__class__.__base__.__subclasses__() }}",
    "{{ [].__class__.__base__.__subclasses__() }}",
    "{{ {}.__class__.__bases__[0].__subclasses__() }}",
    "{{ vars.__class__ }}",
    "{{ vars.__class__.__init__.__globals__ }}",
    "{{ name.__class__.__mro__ }}",
    "{{ git.__class__ }}",
    "{{ git.__dict__ }}",
    "{{ matrix.__class__ }}",
    "{{ secret.__globals__ }}",
    "{{ secret.__globals__['os'] }}",
    f"{{{{ secret{_GLOBALS_WALK}{_SYSTEM} }}}}",
    "{{ secret.__code__ }}",
    "{{ secret.__closure__ }}",
    "{{ secret.__module__ }}",
    "{{ secret }}",
    "{{ cycler }}",
    f"{{{{ cycler{_GLOBALS_WALK}{_POPEN} }}}}",
    f"{{{{ cycler{_GLOBALS_WALK}{_SYSTEM} }}}}",
    f"{{{{ joiner{_GLOBALS_WALK}{_POPEN} }}}}",
    f"{{{{ namespace{_GLOBALS_WALK}{_POPEN} }}}}",
    "{{ lipsum }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ lipsum.__globals__.__builtins__.__import__('os').system('touch escaped') }}",
    "{{ range }}",
    "{{ range.__class__ }}",
    "{{ dict }}",
    "{{ dict(a=1) }}",
    "{{ self }}",
    "{{ self.__init__.__globals__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ self._TemplateReference__context.cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ self._TemplateReference__context.keys() }}",
    "{{ config }}",
    "{{ config.items() }}",
    "{{ config.__class__.__init__.__globals__['os'].popen('id').read() }}",
    "{{ request }}",
    "{{ request.application.__globals__.__builtins__.open('marker.txt').read() }}",
    "{{ url_for.__globals__ }}",
    "{{ get_flashed_messages.__globals__ }}",
    "{{ ''|attr('__class__') }}",
    "{{ ''|attr('__class__')|attr('__mro__') }}",
    "{{ ()|attr('\\x5f\\x5fclass\\x5f\\x5f') }}",
    "{{ ''|attr('\\x5f\\x5fclass\\x5f\\x5f')|attr('\\x5f\\x5fmro\\x5f\\x5f') }}",
    "{{ request|attr('application')|attr('\\x5f\\x5fglobals\\x5f\\x5f') }}",
    "{{ ''['__class__'] }}",
    "{{ ''['\\x5f\\x5fclass\\x5f\\x5f'] }}",
    "{{ vars['__class__'] }}",
    "{{ '{0.__class__}'.format('') }}",
    "{{ '{0.__class__.__mro__}'.format(name) }}",
    "{{ '{0:>99999999}'.format('x') }}",
    "{{ ''.format_map }}",
    "{{ '{a.__class__}'.format_map({'a': ''}) }}",
    "{% set f = ''.format %}{{ f('{0.__class__}', 1) }}",
    "{{ '{0.__class__}'|attr('format')(1) }}",
    "{{ ('{0.__class__.__init__.__globals__}'|attr('format'))(secret) }}",
    "{{ ''.join }}",
    "{{ ''.join(['a', 'b']) }}",
    "{{ 'a'.upper() }}",
    "{{ [].append(1) }}",
    "{{ {}.update(a=1) }}",
    "{{ vars.pop('a') }}",
    "{{ '%s' % ''.__class__ }}",
    "{{ '%s' % secret }}",
    "{{ '%r' % vars }}",
    "{{ 'a' * 100000000 }}",
    "{{ 9 ** 9 ** 9 }}",
    "{{ [0] * 100000000 }}",
    "{% for c in ().__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    "{% import 'os' as os %}{{ os }}",
    "{% include 'marker.txt' %}",
    "{% include '/etc/passwd' %}",
    "{% extends 'marker.txt' %}",
    "{% from 'marker.txt' import x %}{{ x }}",
    "{% macro m() %}{{ m.__globals__ }}{% endmacro %}{{ m() }}",
    "{% macro m() %}{{ caller }}{% endmacro %}{{ m() }}",
    "{% macro r() %}{{ r() }}{% endmacro %}{{ r() }}",
    "{% set x = namespace() %}{{ x }}",
    "{% set x = cycler(1, 2) %}{{ x }}",
    "{% raw %}{{ ''.__class__ }}{% endraw %}",
    "{% filter upper %}{{ ''.__class__ }}{% endfilter %}",
    "{{ ''|format('x') }}",
    "{{ 'x'|map('upper')|list }}",
    "{{ [1]|map(attribute='__class__')|list }}",
    "{{ [vars]|map(attribute='__class__')|first }}",
    "{{ [vars]|selectattr('__class__')|list }}",
    "{{ vars|dictsort }}",
    "{{ vars|pprint }}",
    "{{ vars|xmlattr }}",
    "{{ 'x'|safe }}",
    "{{ (vars|tojson)[0:3] }}",
    "{{ vars|tojson }}",
    "{{ env.CHAOS_ESCAPE_MARKER }}",
    "{{ env['CHAOS_ESCAPE_MARKER'] }}",
    "{{ env }}",
    '{{ secret("API_KEY") }}',
    '{{ secret("API_KEY") ~ "" }}',
    '{{ secret("API_KEY")|upper }}',
    '{{ secret("API_KEY")|length }}',
    '{{ secret("API_KEY")[1:] }}',
    '{{ secret("../etc/passwd") }}',
    '{{ secret("CHAOS_ESCAPE_MARKER") }}x',
    "{{ git }}",
    "{{ name }}",
    "{{ 1/0 }}",
    "{{ (2 ** 64) }}",
    "{{ 99999999999999999999 * 99999999999999999999 }}",
    "{{ '%0100000000d' % 1 }}",
    "{{ ('%0100000000d' % 1)|length }}",
    "{{ ((0,) * 100000 * 100000)|length }}",
    "{{ ((0,) * 1000 * 1000)|length }}",
    "{{ ('a'" + "|replace('a', 'aaaaaaaaaa')" * 8 + ")|length }}",
    "{% for a in '" + "x" * 200 + "' %}{% for b in '" + "x" * 200 + "' %}"
    "{% for c in '" + "x" * 200 + "' %}{% endfor %}{% endfor %}{% endfor %}",
    "{{ " + "(" * 200 + "1" + ")" * 200 + " }}",
    "{{ " + "[" * 200 + "]" * 200 + " }}",
    "{{ " + "x." * 1000 + "y }}",
    "{{ x }}" * 700,
    "{{",
    "}}",
    "{% if %}",
    "{{ {{ }} }}",
)

# Output (or error text) that shows a template reached something it must not. A sign present
# in the payload itself (e.g. ``__class__`` quoted back in a refusal) does not count.
SIGNS: tuple[str, ...] = (
    "<class",
    "<built-in",
    "<function",
    "<bound method",
    "<method",
    "<module",
    "<jinja2",
    "<reconciler",
    "object at 0x",
    "__builtins__",
    "<generator",
    "uid=",
    "root:x:0",
    "\\u0000",
    "Undefined",
    "<cycler",
    "<Namespace",
    "<Context",
    "sandbox'",
    ESCAPE_VALUE,
    SECRET_VALUE,
    FILE_VALUE,
)
MARKERS: tuple[str, ...] = (ESCAPE_VALUE, SECRET_VALUE, FILE_VALUE, "object at 0x", "uid=")

_HEAD = """\
apiVersion: reconciler/v1
kind: {kind}
metadata:
  name: {name}
spec:
"""
_IDS = """\
  processId: 789abcde-f012-3456-789a-bcdef0123456
  atomId: 3456789a-bcde-f012-3456-789abcdef012
"""


def _block(payload: str, indent: int) -> str:
    pad = " " * indent
    return "|-\n" + "\n".join(pad + line for line in payload.split("\n"))


def placements(payload: str) -> dict[str, str]:
    """The payload in each place a spec can hold a template (or data a template prints)."""
    execution = _HEAD.format(kind="Execution", name="inj") + _IDS
    return {
        "dynamicProperty": execution + f"  dynamicProperties:\n    P: {_block(payload, 6)}\n",
        "processProperty": execution
        + "  processProperties:\n"
        + "    - componentId: 456789ab-cdef-0123-4567-89abcdef0123\n"
        + f"      values:\n        q: {_block(payload, 10)}\n",
        "setName": _HEAD.format(kind="ExecutionSet", name="injset")
        + "  defaults:\n"
        + "".join("  " + line + "\n" for line in _IDS.splitlines())
        + "  matrix:\n    r: [a]\n"
        + f"  executions:\n    - name: {_block(payload, 8)}\n",
        "varData": execution
        + '  dynamicProperties:\n    P: "{{ vars.v }}"\n'
        + f"  vars:\n    v: {_block(payload, 6)}\n",
    }


def _escape_signs(text: str, payload: str, signs: Sequence[str]) -> list[str]:
    return [s for s in signs if s in text and s not in payload]


def inject(folder: Path, *, slow: float = 5.0) -> dict[str, Any]:
    """Every payload in every placement: refused with a located error, or rendered inertly."""
    saved = {k: os.environ.get(k) for k in (ESCAPE_ENV, SECRET_ENV)}
    os.environ[ESCAPE_ENV] = ESCAPE_VALUE
    os.environ[SECRET_ENV] = SECRET_VALUE
    rows: list[dict[str, Any]] = []
    try:
        with workspace(folder) as root:
            (root / FILE_NAME).write_text(FILE_VALUE + "\n", encoding="utf-8")
            path = root / SPEC_FILE
            for payload in INJECTIONS:
                for where, text in placements(payload).items():
                    path.write_text(text, encoding="utf-8")
                    checked = call(["validate", SPEC_FILE])
                    found = problems_of(checked, SPEC_FILE)
                    found += [
                        f"error text shows {s!r}"
                        for s in _escape_signs(checked.out + checked.err, payload, MARKERS)
                    ]
                    seconds = checked.seconds
                    rendered = ""
                    if checked.code == 0:
                        name = "inj" if where != "setName" else _first_name(checked)
                        shown = call(["render", name]) if name else None
                        if shown is not None:
                            rendered = shown.out
                            seconds += shown.seconds
                            found += problems_of(shown, SPEC_FILE)
                            found += [
                                f"rendered output shows {s!r}"
                                for s in _escape_signs(shown.out + shown.err, payload, SIGNS)
                            ]
                    if seconds > slow:
                        found.append(f"took {seconds:.1f}s")
                    rows.append(
                        {
                            "payload": payload[:200],
                            "where": where,
                            "code": checked.code,
                            "seconds": round(seconds, 3),
                            "outcome": "refused" if checked.code == 1 else "rendered",
                            "rendered": _values(rendered),
                            "refusal": _first_diagnostic(checked.err),
                            "problems": found,
                        }
                    )
            touched = (root / TOUCHED).exists()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    violations = [
        f"{r['where']}: {r['payload'][:80]!r}: {r['problems']}" for r in rows if r["problems"]
    ]
    if touched:
        violations.append(f"a payload created {TOUCHED!r}: code ran")
    return {
        "payloads": len(INJECTIONS),
        "cases": len(rows),
        "refused": sum(1 for r in rows if r["outcome"] == "refused"),
        "renderedInertly": sum(1 for r in rows if r["outcome"] == "rendered" and not r["problems"]),
        "escapes": len(violations),
        "slowestCaseSeconds": max((r["seconds"] for r in rows), default=0.0),
        "sideEffect": touched,
        "violations": violations,
        "rows": rows,
    }


def _first_name(outcome: Outcome) -> str | None:
    del outcome  # a set's names are templates; validate does not print them, status does
    listed = call(["plan", "--output", "json"])
    try:
        actions = json.loads(listed.out)["actions"]
    except (ValueError, KeyError, TypeError):
        return None
    return str(actions[0]["name"]) if actions else None


def _values(rendered: str) -> list[str]:
    try:
        body = json.loads(rendered[: rendered.rfind("}") + 1])
    except ValueError:
        return []
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "value" in node and isinstance(node["value"], str):
                found.append(node["value"][:120])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(body)
    return found


def _first_diagnostic(err: str) -> str | None:
    for line in err.splitlines():
        if line.startswith(SPEC_FILE):
            return line[:300]
    return None
