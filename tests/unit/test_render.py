"""The template sandbox: what it renders, and the payloads it refuses."""

from __future__ import annotations

import pytest

from reconciler.model import Location, SecretRef
from reconciler.render import Renderer


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
