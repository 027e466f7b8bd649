"""Regressions for what the injection corpus found in the template sandbox (docs/reliability.md).

Before the fix: ``(0,) * 100000 * 100000`` was an internal error (MemoryError, exit 70) and
smaller repeats, ``replace`` chains and printf widths built values of any size past the output
cap; ``{{ secret }}`` printed the function's repr with its address; ``secret("X")|upper``
rendered the internal marker (with NUL bytes) as a property value.
"""

from __future__ import annotations

import pytest

from reconciler.model import Location, SecretRef
from reconciler.specs.sandbox import MAX_OUTPUT_CHARS, Renderer


def render(template: str) -> tuple[object, list[str]]:
    renderer = Renderer(
        {"vars": {"n": 7, "big": "x" * 30000}}, lambda _path: Location(file="s.yaml", line=3, col=5)
    )
    value = renderer.value(template, ["spec", "dynamicProperties", "P"])
    return value, [d.message for d in renderer.diagnostics]


@pytest.mark.parametrize(
    "template",
    [
        "{{ ((0,) * 100000 * 100000)|length }}",
        "{{ ((0,) * 1000)|length }}",
        "{{ ('a'" + "|replace('a', 'aaaaaaaaaa')" * 6 + ")|length }}",
        "{{ ('%0100000000d' % 1)|length }}",
        "{{ ('%.100000000f' % 1)|length }}",
        "{{ ('%*d' % (100000000, 1))|length }}",
    ],
)
def test_size_bombs_are_refused_before_they_are_built(template: str) -> None:
    value, messages = render(template)
    assert value == ""
    assert len(messages) == 1
    assert "refused by the template sandbox" in messages[0]


def test_ordinary_formatting_and_replace_still_work() -> None:
    assert render("{{ '%03d' % vars.n }}") == ("007", [])
    assert render("{{ '%s-%s' % ('a', 'b') }}") == ("a-b", [])
    assert render("{{ 'a-b'|replace('-', '_') }}") == ("a_b", [])
    assert render("{{ 'aaa'|replace('a', 'bb', 2) }}") == ("bbbba", [])
    assert render("{{ vars.n * 6 }}") == ("42", [])
    doubled, messages = render("{{ vars.big|replace('x', 'yy') }}")  # under the cap: fine
    assert (len(str(doubled)), messages) == (60000, [])
    assert render("{{ vars.big|replace('x', 'yyy') }}")[1]  # 90000 > MAX_OUTPUT_CHARS
    assert MAX_OUTPUT_CHARS < 90000


def test_the_secret_global_prints_no_object_repr() -> None:
    assert render("{{ secret }}") == ("secret", [])
    assert render("{{ '%s' % secret }}") == ("secret", [])
    assert render('{{ secret("API_KEY") }}') == (SecretRef(secret="API_KEY"), [])


@pytest.mark.parametrize(
    "template",
    ['{{ secret("API_KEY")|upper }}', '{{ secret("API_KEY")[1:] }}', '{{ secret("K")|trim }}x'],
)
def test_a_transformed_secret_is_refused_not_sent_as_marker_text(template: str) -> None:
    value, messages = render(template)
    assert value == ""
    assert len(messages) == 1
    assert "a secret cannot be combined with other text" in messages[0]
