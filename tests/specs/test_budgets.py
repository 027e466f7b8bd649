"""Rendering budgets (issue #15, item 5) and plain-data filters: every case a located error.

Each template below ran for minutes or to ``MemoryError`` before the budgets. The renderer is
given a clock that never moves (``frozen``), so which limit stops a template never depends on
the machine; the wall-clock limits are tested with a clock that jumps instead.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.model import Location
from reconciler.specs import budget, rendercache
from reconciler.specs.budget import FileBudget, format_width
from reconciler.specs.load import load_desired
from reconciler.specs.sandbox import Renderer

PREFIX = "s.yaml:9:5: spec.dynamicProperties.X: "


def frozen() -> float:
    """A clock that never moves."""
    return 0.0


def _render(
    template: str, clock: Callable[[], float] = frozen, **vars_: object
) -> tuple[object, list[str]]:
    rendercache.clear()
    renderer = Renderer(
        {"vars": vars_, "name": "orders"},
        lambda path: Location(file="s.yaml", line=9, col=5),
        budget=FileBudget(clock=clock),
    )
    value = renderer.value(template, ["spec", "dynamicProperties", "X"])
    return value, [str(d) for d in renderer.diagnostics]


STEPS = (
    f"{PREFIX}template takes over {budget.MAX_STEPS_PER_VALUE:,} steps (loop iterations, calls, "
    f"operators and filters); expected at most {budget.MAX_STEPS_PER_VALUE:,} per value"
)
TEXT = (
    f"{PREFIX}template makes over {budget.MAX_TEXT_PER_VALUE:,} characters of text while "
    f"rendering; expected at most {budget.MAX_TEXT_PER_VALUE:,} per value"
)
WIDE = (
    f"{PREFIX}refused by the template sandbox: a % format width or precision over 65536 is not "
    "allowed"
)
EXPONENTIAL = (
    "{% macro f(n) %}{% if n %}{{ f(n-1) }}{{ f(n-1) }}{% else %}x{% endif %}{% endmacro %}"
    "{{ f(40) }}"
)
NESTED = (
    "{% for a in vars.l %}{% for b in vars.l %}{% for c in vars.l %}"
    "{% endfor %}{% endfor %}{% endfor %}"
)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ('{{ "%(a)02999999999d" % {"a": 1} }}', WIDE),  # the mapping form skipped the guard
        ('{{ "%(a)s%(b)-+ 0999999d" % {"a": 1, "b": 2} }}', WIDE),
        ('{{ "%((a))0999999d" % {"(a)": 1} }}', WIDE),
        ('{{ "%.*f" % (99999999, 1.5) }}', WIDE),
        (
            "{{ vars | tojson(indent=999999999) }}",
            f"{PREFIX}refused by the template sandbox: tojson(indent=...) takes a whole number "
            "from 0 to 16",
        ),
        (
            "{{ vars | tojson(indent=vars.pad) }}",
            f"{PREFIX}refused by the template sandbox: tojson(indent=...) takes a whole number "
            "from 0 to 16",
        ),
        (EXPONENTIAL, STEPS),
        (NESTED, STEPS),
        # a string doubled by recursion, and a number squared by it
        (
            "{% macro d(s, n) %}{% if n %}{{ d(s ~ s, n - 1) }}{% else %}{{ s | length }}"
            "{% endif %}{% endmacro %}{{ d('ab', 40) }}",
            TEXT,
        ),
        (
            "{% macro d(s, n) %}{% if n %}{{ d(s + s, n - 1) }}{% endif %}{% endmacro %}"
            "{{ d(vars.pad, 40) }}",
            f"{PREFIX}refused by the template sandbox: the result of '+' is over 65536 items or "
            "characters",
        ),
        (
            "{% macro d(x, n) %}{% if n %}{{ d(x * x, n - 1) }}{% endif %}{% endmacro %}"
            "{{ d(vars.big, 40) }}",
            f"{PREFIX}refused by the template sandbox: the result of '*' is an integer over "
            "8192 bits",
        ),
        (
            "{{ vars.l | join(vars.pad) }}",
            f"{PREFIX}refused by the template sandbox: join would make a value over 65536 "
            "characters",
        ),
        (
            "{% set x %}{% for i in vars.l %}" + "x" * 4000 + "{% endfor %}{% endset %}{{ x }}",
            TEXT,  # a loop's literal text is charged per iteration, before a buffer holds it
        ),
        (
            "{% macro m() %}" + "x" * 3900 + "{{ caller() }}{% endmacro %}{% set s %}"
            "{% for i in vars.l %}"
            "{% call m() %}{% endcall %}{% endfor %}{% endset %}{{ s | length }}",
            TEXT,  # a macro's literal text, output by {% call %} without {{ }}: charged too
        ),
    ],
)
def test_templates_that_exhaust_a_budget_end_in_a_located_error(
    template: str, expected: str
) -> None:
    value, problems = _render(template, l=list(range(1000)), pad="x" * 1000, big=10**50)
    assert (value, problems) == ("", [expected])


def test_the_wall_clock_stops_a_value_and_a_file() -> None:
    now = [0.0]

    def clock() -> float:
        now[0] += 0.3  # every reading is 0.3 s later: 4 steps take over a second
        return now[0]

    assert _render("{% for i in vars.l %}{% endfor %}", clock, l=list(range(10))) == (
        "",
        [f"{PREFIX}template renders for over 1 s; expected at most 1 s per value"],
    )
    file = FileBudget(clock=clock)
    renderer = Renderer({"vars": {"l": [1]}}, lambda path: Location(file="s.yaml"), budget=file)
    # distinct templates: equal ones would be rendered once, and then come from the cache
    values = [
        renderer.value(f"{{% for i in vars.l %}}{i}{{% endfor %}}", [f"P{i}"]) for i in range(40)
    ]
    assert [str(d) for d in renderer.diagnostics] == [
        "s.yaml:1:1: P17: the templates of this file render for over 10 s; expected at most "
        "10 s per file"
    ]
    assert values == [str(i) for i in range(17)] + [""] * 23  # then nothing more is rendered
    assert renderer.failed


LAST = (
    "s.yaml:21:9: P11: the templates of this file take over 1,000,000 steps; expected at most "
    "1,000,000 per file"
)


def test_the_steps_of_a_file_are_shared_by_its_values() -> None:
    # 12 values of 90,000 steps each: every one within its own budget, the file's runs out.
    # (Each template differs: equal ones would be rendered once, then come from the cache.)
    loop = "{% for a in vars.l %}{% for b in vars.l %}{% endfor %}{% endfor %}"
    file = FileBudget(clock=frozen)
    rendercache.clear()
    values = []
    for i in range(12):  # the runs of one file: each its own renderer, one budget
        renderer = Renderer(
            {"vars": {"l": list(range(299))}},
            lambda path: Location(file="s.yaml", line=10 + int(str(path[-1])[1:]), col=9),
            budget=file,
        )
        values.append(renderer.value(f"{loop}{i}", [f"P{i}"]))
        problems = [str(d) for d in renderer.diagnostics]
        assert problems == ([] if i < 11 else [LAST])
    assert values == [str(i) for i in range(11)] + [""]
    skipped = Renderer({"vars": {}}, lambda path: Location(file="s.yaml"), budget=file)
    assert skipped.value("{{ 1 }}", ["Q"]) == ""
    assert (skipped.diagnostics, skipped.failed) == ([], True)  # reported once, above


def test_the_output_of_a_file_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(budget, "MAX_OUTPUT_PER_FILE", 100)
    file = FileBudget(clock=frozen)
    locate = lambda path: Location(file="s.yaml")  # noqa: E731
    renderer = Renderer({"vars": {"s": "x" * 30}}, locate, budget=file)
    values = [renderer.value("{{ vars.s }}", [f"P{i}"]) for i in range(5)]
    assert values == ["x" * 30] * 3 + ["", ""]
    assert [str(d) for d in renderer.diagnostics] == [
        "s.yaml:1:1: P3: the rendered values of this file are over 100 characters; expected at "
        "most 100 per file"
    ]


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ vars.l | unique }}", "[1, 2]"),
        ("{{ vars.l | unique | length }}", "2"),
        ("{{ vars.l | unique | first }}", "1"),
        ("{{ [vars.l | unique] }}", "[[1, 2]]"),
        ("{{ vars.l | sort }}", "[1, 2, 2]"),
        ("{% for x in vars.l | unique %}{{ x }}{% endfor %}", "12"),
        ("{% for x in vars.l %}{{ loop.index }}{% endfor %}", "123"),
        ("{{ secret }}", "secret"),
    ],
)
def test_every_filter_renders_plain_data(template: str, expected: str) -> None:
    assert _render(template, l=[1, 2, 2]) == (expected, [])


@pytest.mark.parametrize(
    ("template", "kind"),
    [
        ("{% for x in vars.l %}{{ loop }}{% endfor %}", "LoopContext"),
        ("{% macro m() %}{% endmacro %}{{ m }}", "Macro"),
        ("{% macro m() %}{% endmacro %}{{ [m] }}", "Macro"),
    ],
)
def test_an_object_is_never_printed(template: str, kind: str) -> None:
    value, problems = _render(template, l=[1])
    assert (value, problems) == (
        "",
        [
            f"{PREFIX}refused by the template sandbox: the template prints a {kind} object; "
            "expected text, numbers, booleans, lists or mappings"
        ],
    )
    assert " at 0x" not in str(value)


def test_the_same_unique_renders_the_same_text_every_time() -> None:
    first = _render("{{ vars.l | unique }}", l=["b", "a", "b"])
    assert first == ("['b', 'a']", [])
    assert _render("{{ vars.l | unique }}", l=["b", "a", "b"]) == first


@pytest.mark.parametrize(
    ("text", "width"),
    [
        ("%s", 0),
        ("%%0999999999d", 0),  # a literal percent sign, then text
        ("%-%0999999999d", 0),  # a "%" conversion with a flag, then text
        ("%(a)05d", 5),
        ("%(a(b))0999d", 999),
        ("%-+ #012.3f %5s", 12),
        ("%.77f", 77),
        ("%*d", budget.UNBOUNDED),
        ("%(a)0.*f", budget.UNBOUNDED),
        ("%(a)01234567890d", budget.UNBOUNDED),
    ],
)
def test_format_width_reads_formats_as_python_does(text: str, width: int) -> None:
    assert format_width(text) == width


def test_each_spec_file_has_its_own_budget_across_its_documents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(budget, "MAX_STEPS_PER_FILE", 50)  # a loop over 20 items: 20 steps
    document = (
        "apiVersion: reconciler/v1\nkind: Execution\nmetadata:\n  name: {name}\nspec:\n"
        "  processId: 789abcde-f012-3456-789a-bcdef0123456\n"
        "  atomId: 3456789a-bcde-f012-3456-789abcdef012\n  vars: {{l: [{items}]}}\n"
        '  dynamicProperties:\n    P: "{{% for i in vars.l %}}{{% endfor %}}{name}"\n'
    )
    items = ", ".join(["1"] * 20)
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "a.yaml").write_text(
        "---\n".join(document.format(name=f"a{i}", items=items) for i in range(4))
    )
    (specs / "b.yaml").write_text(document.format(name="b", items=items))
    rendercache.clear()
    result = load_desired([specs], root=tmp_path)
    assert [str(d) for d in result.diagnostics] == [
        "specs/a.yaml:32:8: spec.dynamicProperties.P: the templates of this file take over 50 "
        "steps; expected at most 50 per file"
    ]
    assert [run.name for run in result.runs] == ["a0", "a1", "b"]  # a2 ran out, a3 skipped
