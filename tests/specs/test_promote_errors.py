"""``policy.promote`` written wrong: every problem located, with what was expected."""

from __future__ import annotations

from pathlib import Path

from reconciler.specs.expand import SpecContext
from reconciler.specs.load import load_desired

HEAD = """\
apiVersion: reconciler/v1
kind: Execution
metadata:
  name: {name}
spec:
  processId: 789abcde-f012-3456-789a-bcdef0123456
  atomId: 3456789a-bcde-f012-3456-789abcdef012
  policy:
    promote: {promote}
"""


def test_each_mistake_is_reported_where_it_is_written(tmp_path: Path) -> None:
    cases = {
        "a": "{after: Test}",
        "b": "{after: []}",
        "c": "{befor: test}",
        "d": "test",
        "e": "{after: [test, prod, test, qa]}",
    }
    text = "---\n".join(HEAD.format(name=n, promote=p) for n, p in cases.items())
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "p.yaml").write_text(text, encoding="utf-8")
    context = SpecContext(environment="prod", environments=("prod", "test"))
    result = load_desired([tmp_path / "specs"], root=tmp_path, context=context)
    assert [str(d) for d in result.diagnostics] == [
        'specs/p.yaml:9:22: spec.policy.promote.after: "Test" is not valid; expected lower-case '
        "letters, digits and dashes, starting with a letter, at most 63 characters",
        "specs/p.yaml:19:22: spec.policy.promote.after: 0 items; expected at least 1",
        'specs/p.yaml:29:5: spec.policy.promote.after: missing required field "after"; expected '
        "an environment of reconciler.yaml, or a list of them in order",
        'specs/p.yaml:29:15: spec.policy.promote.befor: unknown field "befor"; expected one of: '
        "after",
        'specs/p.yaml:39:14: spec.policy.promote: expected a mapping, got the text "test"',
        'specs/p.yaml:49:35: spec.policy.promote.after[2]: "test" is named twice; expected each '
        "environment once",
        'specs/p.yaml:49:41: spec.policy.promote.after[3]: unknown environment "qa"; expected '
        "one of the environments of reconciler.yaml: prod, test",
    ]
    assert result.runs == []


def test_without_the_defined_environments_names_are_not_checked(tmp_path: Path) -> None:
    (tmp_path / "specs").mkdir()
    text = HEAD.format(name="a", promote="{after: [anything]}")
    (tmp_path / "specs" / "p.yaml").write_text(text, encoding="utf-8")
    result = load_desired([tmp_path / "specs"], root=tmp_path, context=SpecContext())
    assert result.diagnostics == []
    assert result.runs[0].policy.promote_after == ("anything",)
