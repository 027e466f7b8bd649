"""The pure pieces of the plan comment: the marker, inert text, fences, the size cap."""

from __future__ import annotations

import pytest

from reconciler.errors import UserError
from reconciler.github.comment import (
    CommentContext,
    Marker,
    PlanAction,
    PlanDocument,
    code,
    find_marker,
    inline,
    parse_plan,
    render_comment,
)
from reconciler.model import ActionKind

DIGEST = "sha256:" + "ab" * 32


def test_the_marker_round_trips_and_is_per_environment() -> None:
    marker = Marker(environment="prod", digest=DIGEST, run_id=42, head_sha="c" * 40)
    body = f"{marker.render()}\n### plan"
    assert marker.render() == f"<!-- reconciler-plan:prod digest={DIGEST} run=42 sha={'c' * 40} -->"
    assert find_marker(body, "prod") == marker
    assert find_marker(body, "dev") is None
    assert find_marker("<!-- reconciler-plan:prod digest=none -->", "prod") == Marker(
        "prod", None, None, None
    )
    assert find_marker("<!-- reconciler-plan:prod digest=sha256:short -->", "prod") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("never run", "never run"),
        ("@team ping", "@&#8203;team ping"),
        ("see #12", "see \\#&#8203;12"),
        ("<b>x</b>", "&#60;b&#62;x&#60;/b&#62;"),
        ("a\nb\r\x1b[31mc", "a b c"),
        ("http://x.example", "http\\:&#8203;//x\\.example"),
        ("a|b", "a\\|b"),
    ],
)
def test_inline_text_is_inert(text: str, expected: str) -> None:
    assert inline(text) == expected


def test_code_spans_cannot_be_closed_early() -> None:
    assert code("a`b|c") == "`a'b\\|c`"
    assert code("") == "` `"


def test_long_text_is_cut() -> None:
    assert inline("x" * 1000, limit=10) == "xxxxxxxxx…"


def test_a_change_cannot_close_its_fence() -> None:
    doc = PlanDocument(
        "default",
        DIGEST,
        (PlanAction("a", ActionKind.RERUN, "changed", "v1:x", ("k: ````` → `",)),),
    )
    body = render_comment(doc, CommentContext(environment="default"))
    assert "``````diff" in body


def test_the_cap_holds_for_tiny_limits_too() -> None:
    kind = ActionKind.SUBMIT
    actions = tuple(PlanAction(f"n{i}", kind, "r" * 100, "v1:x", ()) for i in range(500))
    doc = PlanDocument("default", DIGEST, actions)
    body = render_comment(doc, CommentContext(environment="default"), limit=5000)
    assert len(body) <= 5000
    assert "more executions" in body


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"[]", "p: expected a plan document (a JSON object)"),
        (b'{"environment": "Prod"}', "p: environment: expected an environment name"),
        (
            b'{"environment": "prod", "planDigest": "' + DIGEST.encode() + b'", "actions": [1]}',
            "p: actions[0]: expected an object",
        ),
        (
            b'{"environment": "prod", "planDigest": "'
            + DIGEST.encode()
            + b'", "actions": [{"name": "a", "action": "rm -rf"}]}',
            "p: actions[0].action: expected one of submit, rerun",
        ),
        (b"\xff\xfe", "p: not JSON"),
    ],
)
def test_a_plan_document_is_read_strictly(data: bytes, message: str) -> None:
    with pytest.raises(UserError) as caught:
        parse_plan(data, "p")
    assert str(caught.value).startswith(message)
