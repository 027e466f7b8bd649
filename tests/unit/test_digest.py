"""The digest covers meaning, not formatting; secrets by name only."""

from __future__ import annotations

from pathlib import Path

from reconciler.digest import compute_digest, diff_requests
from reconciler.model import RunRequest, SecretRef
from reconciler.specs import load_desired

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
