"""The template sandbox: what it renders, and the payloads it refuses."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from reconciler.model import Location, SecretRef
from reconciler.specs import rendercache
from reconciler.specs.sandbox import Renderer


def _render(template: object, **vars_: object) -> tuple[object, list[str]]:
    renderer = Renderer(
        {"vars": vars_, "name": "orders"}, lambda path: Location(file="s.yaml", line=9, col=5)
    )
    value = renderer.value(template, ["spec", "dynamicProperties", "X"])
    return value, [str(d) for d in renderer.diagnostics]


def test_renders_vars_name_and_allowed_filters() -> None:
    assert _render("{{ name }}-{{ vars.d | upper }}", d="eu") == ("orders-EU", [])
    assert _render("{{ vars.l | join(',') }}", l=["a", "b"]) == ("a,b", [])
    assert _render(500) == ("500", [])
    assert _render(True) == ("true", [])
    assert _render("no template") == ("no template", [])


def test_secret_is_a_reference() -> None:
    assert _render('{{ secret("API_KEY") }}') == (SecretRef(secret="API_KEY"), [])


PAYLOADS = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ vars.__class__ }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ lipsum.__globals__['os'] }}",
    "{{ range(10**9) | list }}",
    "{{ 'a' * 100000000 }}",
    "{{ [1] * 100000000 }}",
    "{{ 9 ** 9 ** 9 }}",
    "{{ ''.format }}",
    "{{ '{0.__class__}'.format(1) }}",
    "{{ 'x' | attr('__class__') }}",
    "{% include '/etc/passwd' %}",
    "{% import 'x' as y %}",
    "{{ self.__init__.__globals__ }}",
    "{{ namespace() }}",
    "{{ dict(a=1) }}",
    "{% for i in range(100) %}{% endfor %}",
    "{{ vars.update({'a': 1}) }}",
    "{{ config }}",
    "{{ request }}",
    "{{ secret(''.__class__) }}",
    "{{ vars.__init__.__globals__['os'].popen('id').read() }}",
    "{{ (vars.items() | list)[0] }}",
    "{{ ''.__class__.__base__.__subclasses__() }}",
    "{{ name.__class__.__mro__[1] }}",
    "{{ ('a' | string) * 10 }}",
    "{{ vars.l * 1000000 }}",
    "{{ vars.l.__len__() }}",
    "{{ vars.l.append(1) }}",
    "{{ (vars | attr('copy'))() }}",
    "{{ vars['__class__'] }}",
    "{{ name.upper() }}",
    "{{ '%s' % vars.__class__ }}",
    "{{ 'x'.join }}",
    "{% extends 'base.html' %}",
    "{% from 'x' import y %}",
    "{% set x = namespace(a=1) %}{{ x.a }}",
    "{{ lipsum(1000, 1000) }}",
    "{{ joiner() }}",
    "{{ range(100000) | join(',') | length }}",
    "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}",
    "{{ env.__class__ }}",
    "{{ git.__class__.__subclasses__() }}",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_escape_payloads_are_refused_with_a_located_error(payload: str) -> None:
    value, problems = _render(payload, l=[1])
    assert value == ""
    assert len(problems) == 1
    assert problems[0].startswith("s.yaml:9:5: spec.dynamicProperties.X: ")


def test_huge_output_is_refused() -> None:
    value, problems = _render(
        "{% for i in vars.l %}{{ vars.s }}{% endfor %}", l=list(range(100)), s="x" * 1000
    )
    assert value == ""
    assert problems == [
        "s.yaml:9:5: spec.dynamicProperties.X: rendered value is 100000 characters; expected at "
        "most 65536"
    ]


def test_syntax_error_points_at_the_template_line() -> None:
    _, problems = _render("line one\n{{ broken }\n")
    assert problems == [
        "s.yaml:10:5: spec.dynamicProperties.X: template syntax error: unexpected '}'"
    ]


def test_values_of_one_spec_do_not_see_each_others_assignments() -> None:
    # Expressions share one Jinja context per spec; a template with statements gets its own,
    # so what it sets never reaches the next value, in either order.
    renderer = Renderer({"vars": {"a": 1}}, lambda path: Location(file="s.yaml", line=3, col=7))
    values = [
        renderer.value("{{ vars.a }}", ["A"]),
        renderer.value("{% set x = 5 %}{{ x }}", ["B"]),
        renderer.value("{{ x }}", ["C"]),
        renderer.value("{{ vars.a + 1 }}", ["D"]),
        renderer.value("{% set vars = 9 %}{{ vars }}", ["E"]),
        renderer.value("{{ vars.a }}", ["F"]),
    ]
    assert values == ["1", "5", "", "2", "9", "1"]
    assert [str(d) for d in renderer.diagnostics] == [
        's.yaml:3:7: C: undefined template variable "x"; expected one of: vars, secret()'
    ]


# The rendering cache: a value rendered for one context must never be reused for another
# context that renders differently. Each case renders a template under a first context (which
# fills the cache), then under a second, and compares the second with a fresh Jinja rendering.
_PIECES = [
    "{{ vars.a }}", "{{ vars['a'] }}", "{{ vars.b }}", "{{ vars | tojson }}",
    "{{ vars.a | string | upper }}", "{% for k in vars %}{{ k }};{% endfor %}", "{{ name }}",
    "{{ matrix.x }}", "{{ matrix.x * 2 }}", "{% set y = vars.a %}{{ y }}", "{{ vars.a.c }}",
    "{{ vars.missing | default('d') }}", "{{ vars.a is defined }}", "{{ vars.items }}",
    "{{ vars[name] }}", "{{ matrix | length }}", "-", "{% if vars.a %}t{% else %}f{% endif %}",
    "{{ vars.a | tojson }}", "{{ (vars.b or 0) + 1 }}", "{% set vars = matrix %}{{ vars.x }}",
]  # fmt: skip
_VALUES = [0, 1, -1, 0.0, -0.0, 1.0, True, False, None, "", "1", "x", "0.0", [1], ["1"], [],
           {"c": 1}, {"c": "1"}, {}, (1,)]  # fmt: skip


def _context(draw: st.DrawFn) -> dict[str, object]:
    vars_ = draw(st.dictionaries(st.sampled_from(["a", "b", "orders"]), st.sampled_from(_VALUES)))
    matrix = draw(st.dictionaries(st.just("x"), st.sampled_from(_VALUES)))
    return {"vars": vars_, "matrix": matrix, "name": draw(st.sampled_from(["orders", "a"]))}


@st.composite
def _case(draw: st.DrawFn) -> tuple[str, dict[str, object], dict[str, object]]:
    template = "".join(draw(st.lists(st.sampled_from(_PIECES), min_size=1, max_size=3)))
    return template, _context(draw), _context(draw)


def _fresh(template: str, context: dict[str, object]) -> object:
    renderer = Renderer(context, lambda path: Location(file="s.yaml"))
    rendercache.clear()
    value = renderer.value(template, ["x"])
    return value, [d.message for d in renderer.diagnostics]


def _pair(template: str, a: object, b: object) -> tuple[str, dict[str, object], dict[str, object]]:
    return template, {"vars": {"a": a}, "matrix": {"x": a}}, {"vars": {"a": b}, "matrix": {"x": b}}


@settings(max_examples=1500, deadline=None)
@given(_case())
@example(_pair("{{ matrix.x }}", 0.0, -0.0))
@example(_pair("{{ vars.a }}", 1, 1.0))
@example(_pair("{{ vars.a }}", 1, True))
@example(_pair("{{ vars['a'] }}", 1, "1"))
@example(_pair("{{ vars | tojson }}", [1], (1,)))
@example(_pair("{% for k in vars %}{{ vars[k] }}{% endfor %}", 0.0, -0.0))
def test_a_cached_rendering_is_the_fresh_rendering(
    case: tuple[str, dict[str, object], dict[str, object]],
) -> None:
    template, first, second = case
    expected = _fresh(template, second)
    rendercache.clear()
    Renderer(first, lambda path: Location(file="s.yaml")).value(template, ["x"])
    again = Renderer(second, lambda path: Location(file="s.yaml"))
    value = again.value(template, ["x"])
    assert (value, [d.message for d in again.diagnostics]) == expected
