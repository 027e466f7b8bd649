"""The digest covers meaning, not formatting; secrets by name only."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.model import (
    Action,
    ActionKind,
    DesiredRun,
    Location,
    Plan,
    RunRequest,
    SecretRef,
)
from reconciler.model.digest import (
    CHANGE_LIMIT,
    DIGEST_VERSION,
    canonical_request,
    canonical_text,
    compute_digest,
    diff_requests,
    plan_digest,
)
from reconciler.specs.load import load_desired

SPEC = """\
apiVersion: reconciler/v1
kind: Execution
metadata:
  name: orders
spec:
  processId: 789abcde-f012-3456-789a-bcdef0123456
  atomId: 3456789a-bcde-f012-3456-789abcdef012
  dynamicProperties:
    A: "{{ vars.a }}"
    B: two
  vars:
    a: one
"""

REFORMATTED = """\
# a comment that changes nothing
kind: Execution
apiVersion: "reconciler/v1"
spec:
  vars: {a: one}
  dynamicProperties: {B: "two", A: "{{vars.a}}"}
  atomId: 3456789A-BCDE-F012-3456-789ABCDEF012
  processId: 789abcde-f012-3456-789a-bcdef0123456
metadata: {name: orders}
"""


def _digest(tmp_path: Path, text: str) -> str:
    path = tmp_path / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    result = load_desired([path], root=tmp_path)
    assert result.diagnostics == []
    return result.runs[0].digest


def test_reformatting_reordering_and_comments_keep_the_digest(tmp_path: Path) -> None:
    assert _digest(tmp_path, SPEC) == _digest(tmp_path, REFORMATTED)


def test_a_changed_value_changes_the_digest(tmp_path: Path) -> None:
    assert _digest(tmp_path, SPEC) != _digest(tmp_path, SPEC.replace("a: one", "a: uno"))


def test_digest_is_versioned_and_stable() -> None:
    request = RunRequest(process_id="p", atom_id="a", dynamic_properties={"X": "1"})
    # Golden value: changing what the digest covers must bump DIGEST_VERSION, not slip through.
    assert compute_digest(request) == (
        "v1:sha256:f2cfd17dc911a458b8d001049227379059c5bd35209d367e66be608497be2bf5"
    )


def test_secret_contributes_its_name_not_a_value() -> None:
    a = RunRequest(process_id="p", atom_id="a", dynamic_properties={"K": SecretRef(secret="X")})
    b = RunRequest(process_id="p", atom_id="a", dynamic_properties={"K": SecretRef(secret="Y")})
    assert compute_digest(a) != compute_digest(b)
    plain = RunRequest(process_id="p", atom_id="a", dynamic_properties={"K": "X"})
    assert compute_digest(a) != compute_digest(plain)


def test_diff_names_each_changed_field() -> None:
    old = RunRequest(
        process_id="p",
        atom_id="a",
        dynamic_properties={"A": "1", "GONE": "x"},
        process_properties={"c": {"k": "v"}},
    )
    new = RunRequest(
        process_id="p",
        atom_id="a",
        dynamic_properties={"A": "2", "NEW": SecretRef(secret="S")},
        process_properties={"c": {"k": "v"}},
    )
    assert diff_requests(old, new) == (
        'dynamicProperties.A: "1" → "2"',
        'dynamicProperties.GONE: "x" → (absent)',
        'dynamicProperties.NEW: (absent) → secret("S")',
    )


_ODD = st.sampled_from('"\\\n\t\x00\x7f\u2028é😀')
_TEXT = st.text(st.characters(codec="utf-8") | _ODD, max_size=8)
_VALUE = _TEXT | st.builds(SecretRef, secret=st.from_regex(r"[A-Z_]{1,8}", fullmatch=True))


@settings(max_examples=300, deadline=None)
@given(
    st.builds(
        RunRequest,
        process_id=_TEXT,
        atom_id=_TEXT,
        dynamic_properties=st.dictionaries(_TEXT, _VALUE, max_size=5),
        process_properties=st.dictionaries(_TEXT, st.dictionaries(_TEXT, _VALUE, max_size=3)),
    )
)
def test_the_canonical_text_is_canonical_json(request: RunRequest) -> None:
    payload = {"digestVersion": DIGEST_VERSION, "request": canonical_request(request)}
    expected = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert canonical_text(request) == expected


def test_a_known_request_keeps_its_digest() -> None:
    # Changing what a digest covers, or how it is written, re-runs every run in every state.
    request = RunRequest(
        process_id="p", atom_id="a", dynamic_properties={"B": "2", "A": SecretRef(secret="K")}
    )
    assert compute_digest(request) == (
        "v1:sha256:"
        + hashlib.sha256(
            b'{"digestVersion":1,"request":{"atomId":"a","dynamicProperties":{"A":{"secret":"K"},'
            b'"B":"2"},"processId":"p","processProperties":{}}}'
        ).hexdigest()
    )


def test_a_known_plan_keeps_its_digest_and_covers_what_a_reviewer_is_shown() -> None:
    # Version 2 of the plan digest: names, kinds, runs, and the reasons and field changes a
    # reviewer reads in the plan comment (version 1 left those two out, issue #15).
    request = RunRequest(process_id="p", atom_id="a", dynamic_properties={"X": "1"})
    run = DesiredRun(
        name="orders", request=request, digest=compute_digest(request), source=Location(file="s")
    )
    action = Action(
        name="orders", kind=ActionKind.RERUN, reason="why", desired=run, changes=("X: a → b",)
    )
    plan = Plan(actions=(action,), environment="prod")
    payload = (
        '{"actions":[["orders","rerun","' + run.digest + '","why",["X: a → b"]]],'
        '"environment":"prod","planDigestVersion":2}'
    )
    assert plan_digest(plan) == "sha256:" + hashlib.sha256(payload.encode()).hexdigest()
    for other in (
        action.model_copy(update={"reason": "another reason"}),
        action.model_copy(update={"changes": ("X: a → c",)}),
        action.model_copy(update={"changes": ()}),
    ):
        assert plan_digest(Plan(actions=(other,), environment="prod")) != plan_digest(plan)
    idle = action.model_copy(update={"kind": ActionKind.NOOP, "reason": "up to date"})
    assert plan_digest(Plan(actions=(action, idle.model_copy(update={"name": "x"})))) == (
        plan_digest(Plan(actions=(action,)))
    ), "entries that do nothing stay outside it"


def test_field_changes_are_bounded() -> None:
    old = RunRequest(process_id="p", atom_id="a", dynamic_properties={"K" * 5000: "v" * 5000})
    new = RunRequest(process_id="p", atom_id="a", dynamic_properties={})
    [line] = diff_requests(old, new)
    assert len(line) == CHANGE_LIMIT
    assert line.endswith("…")
