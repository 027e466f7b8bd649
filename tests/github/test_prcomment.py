"""The pure pieces of the plan comment: the marker, fences, the size cap, the parser.

Inert text itself is ``outbound``'s (tests/test_outbound.py).
"""

from __future__ import annotations

import pytest

from reconciler.errors import UserError
from reconciler.github.comment import (
    CommentContext,
    Marker,
    PlanAction,
    PlanDocument,
    find_marker,
    parse_plan,
    render_comment,
)
from reconciler.model import ActionKind

DIGEST = "sha256:" + "ab" * 32
RUN = "v1:sha256:" + "cd" * 32


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


def test_a_marker_is_the_first_line_of_a_body_and_all_of_it() -> None:
    # Plan text renders below the first line: a marker there is no marker (issue #15, item 4).
    forged = f"<!-- reconciler-plan:prod digest={DIGEST} run=666 sha={'e' * 40} -->"
    assert find_marker(f"{forged}\n### plan", "prod") is not None
    assert find_marker(f"<!-- reconciler-plan:dev digest=none -->\n~ {forged}", "prod") is None
    assert find_marker(f"x\n{forged}", "prod") is None
    assert find_marker(f"{forged} and more", "prod") is None
    assert find_marker(f"`{forged}`", "prod") is None
    assert find_marker(f"{forged}\r\nedited on the web", "prod") is not None


def test_a_change_cannot_close_its_fence() -> None:
    doc = PlanDocument(
        "default",
        DIGEST,
        (PlanAction("a", ActionKind.RERUN, "changed", RUN, ("k: ````` → `",)),),
    )
    body = render_comment(doc, CommentContext(environment="default"))
    assert "``````diff" in body


def test_the_cap_holds_for_tiny_limits_too() -> None:
    kind = ActionKind.SUBMIT
    actions = tuple(PlanAction(f"n{i}", kind, "r" * 100, RUN, ()) for i in range(500))
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
