"""``plan.document``: one typed model of plan.json, one strict parser, one digest recipe."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.errors import UserError
from reconciler.model import DesiredRun, Location, RunRequest
from reconciler.model.digest import compute_digest, plan_digest
from reconciler.plan.document import (
    PLAN_SIZE_LIMIT,
    PlanDocumentError,
    parse_plan_document,
)
from reconciler.plan.planner import build_plan
from reconciler.plan.review import parse_reviewed
from reconciler.report.renderers import plan_json

DIGEST = "sha256:" + "ab" * 32


def _run(name: str, value: str) -> DesiredRun:
    request = RunRequest(process_id="p", atom_id="a", dynamic_properties={"V": value})
    return DesiredRun(
        name=name, request=request, digest=compute_digest(request), source=Location(file="s.yaml")
    )


def test_a_written_plan_reads_back_with_the_same_digest_by_one_recipe() -> None:
    plan = build_plan([_run("a", "1"), _run("b", "2")], {}, environment="prod")
    document = parse_plan_document(plan_json(plan), "plan.json")
    assert document.digest == plan_digest(plan) == document.computed_digest()
    assert document.consistent
    assert document.has_changes
    assert document.counts()["submit"] == 2
    assert [a.name for a in document.actions] == ["a", "b"]
    assert parse_reviewed(plan_json(plan), "plan.json") == document


def _doc(**fields: object) -> str:
    base: dict[str, object] = {"environment": "prod", "planDigest": DIGEST, "actions": []}
    base.update(fields)
    return json.dumps(base)


@pytest.mark.parametrize(
    ("text", "part", "comment", "review"),
    [
        ("[]", "object", "expected a plan document (a JSON object)", None),
        (
            _doc(environment="Prod"),
            "environment",
            "environment: expected an environment name",
            "expected planDigest and environment strings (write it with plan --output json)",
        ),
        (
            _doc(planDigest="x"),
            "planDigest",
            "planDigest: expected sha256:<64 hex digits>",
            "expected planDigest and environment strings (write it with plan --output json)",
        ),
        (_doc(actions={}), "actions", "actions: expected a list", "expected an actions list"),
        (
            _doc(actions=[1]),
            "action",
            "actions[0]: expected an object",
            "actions[0]: expected an object with a name",
        ),
        (
            _doc(actions=[{"name": "a", "action": "explode"}]),
            "action.action",
            "actions[0].action: expected one of submit, rerun, retry, resume, wait, noop, skip, "
            "orphan, unknown",
            "actions[0].action: 'explode' is not an action",
        ),
        (
            _doc(actions=[{"name": "a", "action": "submit", "reason": 3}]),
            "action.reason",
            "actions[0].reason: expected a string",
            None,
        ),
        (
            _doc(actions=[{"name": "a", "action": "submit", "changes": "x"}]),
            "action.changes",
            "actions[0].changes: expected a list of strings",
            None,
        ),
    ],
)
def test_one_parser_each_caller_keeps_its_words(
    text: str, part: str, comment: str, review: str | None
) -> None:
    with pytest.raises(PlanDocumentError) as caught:
        parse_plan_document(text, "p")
    assert (caught.value.part, caught.value.message) == (part, f"p: {comment}")
    with pytest.raises(UserError) as reviewed:
        parse_reviewed(text, "p")
    assert str(reviewed.value) == f"p:1:1: {review or comment}"


def test_actions_are_checked_before_the_digest_form() -> None:
    # A reviewed plan of an unknown digest form still names its broken action first.
    text = _doc(planDigest="x", actions=[{"name": "a", "action": "explode"}])
    with pytest.raises(PlanDocumentError) as caught:
        parse_plan_document(text, "p")
    assert caught.value.part == "action.action"


def test_a_json_error_is_located_for_the_review() -> None:
    with pytest.raises(PlanDocumentError) as caught:
        parse_plan_document('{\n  "a": }', "p")
    assert (caught.value.line, caught.value.col) == (2, 8)
    assert caught.value.message.startswith("p: not JSON (Expecting value: line 2 column 8")
    with pytest.raises(UserError) as reviewed:
        parse_reviewed('{\n  "a": }', "p")
    assert str(reviewed.value) == "p:2:8: not JSON (Expecting value)"


def test_the_parser_is_bounded(tmp_path: Path) -> None:
    text = _doc(actions=[]) + " " * PLAN_SIZE_LIMIT
    with pytest.raises(PlanDocumentError) as caught:
        parse_plan_document(text, "p")
    assert caught.value.part == "size"
    with pytest.raises(UserError, match="larger than 33554432 bytes; not a plan document"):
        parse_reviewed(text, "p")


def test_a_plan_of_25000_executions_is_within_the_bound() -> None:
    actions = [
        {
            "name": f"orders-{i:05d}",
            "action": "submit",
            "reason": "never run",
            "digest": "v1:sha256:" + "ab" * 32,
            # As plan --output json writes them (about 700 bytes an action).
            "request": {
                "processId": "9abcdef0-1234-5678-9abc-def012345678",
                "atomId": "3456789a-bcde-f012-3456-789abcdef012",
                "dynamicProperties": {"region": "eu-west", "batch": f"{i:05d}"},
                "processProperties": {
                    "5678abcd-ef01-2345-6789-abcdef012345": {
                        "warehouse": "AMS,FRA,MAD",
                        "fullRefresh": "false",
                    }
                },
            },
            "source": f"specs/team-{i % 40:02d}/orders-{i:05d}.yaml:6:9",
        }
        for i in range(25_000)
    ]
    text = _doc(actions=actions)
    assert 10 * 1024 * 1024 < len(text.encode()) < PLAN_SIZE_LIMIT  # over the old 10 MiB bound
    assert len(parse_plan_document(text, "p").actions) == 25_000


RUN = "v1:sha256:" + "cd" * 32
HOSTILE_NAMES = [
    "::error title=x::pwned",
    "::add-mask::x",
    "a\n```\n<img src=x>\n@someone",
    "##[group]x",
    "Orders",
    "a" * 64,
    "abc\n",
    "",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_every_name_must_be_an_execution_name(name: str) -> None:
    text = _doc(actions=[{"name": "ok", "action": "noop"}, {"name": name, "action": "submit"}])
    with pytest.raises(PlanDocumentError) as caught:
        parse_plan_document(text, "plan.json")
    assert caught.value.part == "action.name"
    message = caught.value.message
    assert message.startswith(
        "plan.json: actions[1].name: expected an execution name (lower-case letters, digits and "
        "dashes, starting with a letter, at most 63 characters), got "
    )
    assert "\n" not in message
    assert "##[" not in message
    assert len(message) < 300
    with pytest.raises(UserError) as reviewed:  # the review words it the same way
        parse_reviewed(text, "plan.json")
    assert str(reviewed.value) == f"plan.json:1:1: {message.removeprefix('plan.json: ')}"


def test_the_name_pattern_is_the_spec_languages() -> None:
    from reconciler.plan.document import NAME_PATTERN
    from reconciler.specs.language import NAME_PATTERN as SPEC_NAME_PATTERN

    assert f"^{NAME_PATTERN.pattern.removesuffix(chr(92) + 'Z')}$" == SPEC_NAME_PATTERN


@pytest.mark.parametrize(
    ("action", "problem"),
    [
        ({"name": "a", "action": "submit", "digest": "v1:sha256:a"}, "actions[0].digest: expected"),
        ({"name": "a", "action": "submit", "digest": 7}, "got a number"),
        ({"name": "a", "action": "submit", "reason": "r" * 4097}, "longer than 4096 characters"),
        ({"name": "a", "action": "rerun", "changes": ["c"] * 1001}, "more than 1000 lines"),
        (
            {"name": "a", "action": "rerun", "changes": ["ok", "c" * 4097]},
            "actions[0].changes[1]: longer than 4096 characters",
        ),
        ({"name": "a", "action": ["submit"]}, "actions[0].action: expected one of submit"),
    ],
)
def test_kinds_digests_reasons_and_changes_are_typed_and_bounded(
    action: dict[str, object], problem: str
) -> None:
    with pytest.raises(PlanDocumentError) as caught:
        parse_plan_document(_doc(actions=[action]), "p")
    assert problem in caught.value.message


def test_a_name_listed_twice_is_refused() -> None:
    # A harmless row beside the real one could hide, in a comment, what the name does.
    actions = [
        {"name": "pay", "action": "noop", "reason": "up to date"},
        {"name": "pay", "action": "submit", "digest": RUN},
    ]
    with pytest.raises(PlanDocumentError) as caught:
        parse_plan_document(_doc(actions=actions), "p")
    assert caught.value.message == "p: actions[1].name: pay is listed twice (also actions[0])"


def test_the_digest_covers_reasons_and_changes() -> None:
    # Version 1 covered names, kinds and runs only: an artifact could invent the text shown.
    base = {"name": "pay", "action": "rerun", "digest": RUN, "reason": "request changed (A)"}
    real = parse_plan_document(_doc(actions=[{**base, "changes": ['A: "1" → "2"']}]), "p")
    for forged in (
        {**base, "changes": ['A: "1" → "1"']},
        {**base, "reason": "a harmless rerun", "changes": ['A: "1" → "2"']},
    ):
        document = parse_plan_document(_doc(actions=[forged]), "p")
        assert document.computed_digest() != real.computed_digest()


@pytest.mark.parametrize("text", ["[" * 100_000, '{"environment": ' + "1" * 5000 + "}"])
def test_a_deep_or_huge_number_document_is_a_clear_error_not_a_crash(text: str) -> None:
    with pytest.raises(UserError, match="nested too deeply or a number too long"):
        parse_plan_document(text, "plan.json")


@pytest.mark.parametrize("version", [99, 0, "1", True, 1.0, None, float("nan")])
def test_a_plan_of_another_format_version_is_refused(version: object) -> None:
    """A future or forged document is not read as today's (check --plan, the review, comments)."""
    with pytest.raises(PlanDocumentError) as refused:
        parse_plan_document(_doc(formatVersion=version), "plan.json")
    assert refused.value.part == "formatVersion"
    assert parse_plan_document(_doc(formatVersion=1), "plan.json").environment == "prod"
    assert parse_plan_document(_doc(), "plan.json").environment == "prod"  # older: no version
