"""``reconciler github apply-comment``: the apply's outcome on each merged pull request it covered.

The apply's files are written here as ``apply`` writes them (``apply.json``, ``junit.xml``), with
the values a test needs; the pull requests come from a reviewed-plans folder like the one
``reviewed-plan --output-dir`` writes, or ``--pr``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

from tests.conftest import CliResult
from tests.github.conftest import BOT, FakeGitHub
from tests.github.test_comment import plan_file, submit

Run = Callable[..., CliResult]
DIGEST = "sha256:" + "ab" * 32
REVIEWED = "sha256:" + "cd" * 32
Issue = tuple[str, str, str]  # name, outcome, message


def apply_files(
    folder: Path,
    outcomes: dict[str, int],
    issues: Sequence[Issue] = (),
    *,
    reviewed: str = "match",
    digest: str = DIGEST,
) -> Path:
    """``apply.json`` and ``junit.xml`` of an apply, in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    record = {
        "formatVersion": 1,
        "environment": folder.name,
        "planDigest": digest,
        "reviewed": {"status": reviewed, "reviewedDigest": REVIEWED, "differences": []},
        "shard": None,
        "outcomes": outcomes,
    }
    (folder / "apply.json").write_text(json.dumps(record), encoding="utf-8")
    suite = ElementTree.Element("testsuite", name=f"reconciler.{folder.name}")
    ElementTree.SubElement(suite, "testcase", name="fine")
    for name, outcome, message in issues:
        case = ElementTree.SubElement(suite, "testcase", name=name)
        if outcome == "failure":
            ElementTree.SubElement(case, "failure", message=message, type="ERROR").text = message
        else:
            ElementTree.SubElement(case, "error", message=message, type=outcome).text = message
    root = ElementTree.Element("testsuites")
    root.append(suite)
    (folder / "junit.xml").write_bytes(ElementTree.tostring(root, xml_declaration=True))
    return folder / "apply.json"


def reviewed_dir(folder: Path, numbers: list[int], missing: Sequence[dict[str, Any]] = ()) -> Path:
    """A reviewed-plans folder naming ``numbers`` (each with its plan) and ``missing``."""
    folder.mkdir(parents=True, exist_ok=True)
    for n in numbers:
        meta = {"number": n, "url": None, "mergedBy": "alice", "headSha": None, "title": "t",
                "commit": None, "planDigest": REVIEWED}  # fmt: skip
        (folder / f"pr-{n}.meta.json").write_text(json.dumps(meta), encoding="utf-8")
        (folder / f"pr-{n}.json").write_text("{}", encoding="utf-8")
    listed = {"since": None, "tip": "a" * 40, "cutAt": None, "commits": list(missing)}
    (folder / "missing.meta.json").write_text(json.dumps(listed), encoding="utf-8")
    return folder


def tell(run_cli: Run, *args: str) -> CliResult:
    return run_cli("github", "apply-comment", *args)


def apply_comments(gh: FakeGitHub, pr: int, env: str = "default") -> list[dict[str, Any]]:
    first = f"<!-- reconciler-apply:{env} -->\n"
    return [c for c in gh.comments_of(pr) if c["body"].startswith(first)]


def test_created_then_updated_in_place(gh: FakeGitHub, run_cli: Run, tmp_path: Path) -> None:
    plan = plan_file(tmp_path / "plan.json", [submit("orders")])
    assert run_cli("github", "comment", "--plan", str(plan), "--pr", "12").code == 0
    [plan_comment] = gh.comments_of(12)
    folder = reviewed_dir(tmp_path / "reviewed", [12])
    apply_files(
        tmp_path / "artifacts/default",
        {"success": 1, "failure": 1, "pending": 1},
        [("inv", "failure", "ERROR: boom"), ("pay", "pending", "INPROCESS (pending): polling")],
    )
    first = tell(run_cli, "--reviewed-dir", str(folder))
    assert first.code == 0, first.err
    assert first.out == "apply comment created on pull request #12 (default)\n"
    [mine] = apply_comments(gh, 12)
    assert mine["body"].splitlines()[:13] == [
        "<!-- reconciler-apply:default -->",
        "### reconciler apply: `default`",
        "",
        "**1 succeeded, 1 failed, 1 still running**",
        "",
        "| Execution | Outcome | Message |",
        "|---|---|---|",
        "| `inv` | failure | ERROR\\: boom |",
        "| `pay` | pending | INPROCESS \\(pending\\)\\: polling |",
        "",
        "Review: the apply ran the plan that was reviewed.",
        f"This pull request's reviewed plan: `{REVIEWED}`.",
        "",
    ]
    assert f"Plan digest: `{DIGEST}`" in mine["body"]
    # a later apply covering the same pull request: the same comment, updated
    apply_files(tmp_path / "artifacts/default", {"success": 3}, reviewed="none")
    second = tell(run_cli, "--reviewed-dir", str(folder))
    assert second.out == "apply comment updated on pull request #12 (default)\n"
    [again] = apply_comments(gh, 12)
    assert again["id"] == mine["id"]
    assert "**3 succeeded**" in again["body"]
    assert "| Execution |" not in again["body"]
    assert "Review: no reviewed plan covered this apply." in again["body"]
    third = tell(run_cli, "--reviewed-dir", str(folder))
    assert third.out == "apply comment unchanged on pull request #12 (default)\n"
    assert gh.comments_of(12)[0] == plan_comment, "the plan comment is another comment"
    assert len(gh.comments_of(12)) == 2


def test_one_comment_per_environment(gh: FakeGitHub, run_cli: Run, tmp_path: Path) -> None:
    test_record = apply_files(tmp_path / "a/test", {"success": 2})
    prod_record = apply_files(tmp_path / "a/prod", {"failure": 1}, [("orders", "failure", "x")])
    for env, record in (("test", test_record), ("prod", prod_record)):
        done = tell(run_cli, "--pr", "12", "--environment", env, "--record", str(record))
        assert done.code == 0, done.err
    assert len(gh.comments_of(12)) == 2
    [test] = apply_comments(gh, 12, "test")
    [prod] = apply_comments(gh, 12, "prod")
    assert "**2 succeeded**" in test["body"]
    assert "**1 failed**" in prod["body"]
    apply_files(tmp_path / "a/prod", {"success": 1})
    again = tell(run_cli, "--pr", "12", "--environment", "prod", "--record", str(prod_record))
    assert again.out == "apply comment updated on pull request #12 (prod)\n"
    assert apply_comments(gh, 12, "test") == [test]
    assert "**1 succeeded**" in apply_comments(gh, 12, "prod")[0]["body"]


def test_run_messages_cannot_mention_link_or_break_the_table(
    gh: FakeGitHub, run_cli: Run, tmp_path: Path
) -> None:
    hostile = (
        "@mallory <img src=x onerror=alert(1)> [click](https://evil.example) #3 | cell\n"
        "::error title=x::pwned ``` www.evil.example"
    )
    apply_files(
        tmp_path / "artifacts/default",
        {"failure": 1, "rejected": 1},
        [("orders", "failure", hostile), ("na|me`", "rejected", hostile)],
    )
    done = tell(run_cli, "--pr", "12")
    assert done.code == 0, done.err
    [mine] = apply_comments(gh, 12)
    body = mine["body"]
    for raw in ("<img", "@mallory", "https://evil", "www.evil", "[click]", "#3", "\n::error"):
        assert raw not in body, raw
    rows = [line for line in body.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) == 3  # the header and two runs, one line each
    for row in rows:
        assert row.replace("\\|", "").count("|") == 4, row  # three cells, no more
    assert "| `` na\\|me` `` | rejected |" in body


def test_the_summary_is_shown_folded_and_inert(
    gh: FakeGitHub, run_cli: Run, tmp_path: Path
) -> None:
    apply_files(tmp_path / "artifacts/default", {"success": 1})
    summary = tmp_path / "summary.md"
    summary.write_text("# apply\n```\n@someone <b>x</b>\n````\n", encoding="utf-8")
    assert tell(run_cli, "--pr", "12", "--summary", str(summary)).code == 0
    body = apply_comments(gh, 12)[0]["body"]
    assert (
        "<details><summary>summary.md</summary>\n\n"
        "`````markdown\n# apply\n```\n@someone <b>x</b>\n````\n`````\n</details>"
    ) in body


def test_pull_requests_without_a_plan_are_told_too(
    gh: FakeGitHub, run_cli: Run, tmp_path: Path
) -> None:
    folder = reviewed_dir(
        tmp_path / "reviewed",
        [12],
        [
            {"commit": "b" * 40, "pullRequest": None, "reason": "no merged pull request"},
            {"commit": "c" * 40, "pullRequest": 16, "reason": "pull request #16 has no @plan"},
        ],
    )
    apply_files(tmp_path / "artifacts/default", {"success": 1}, reviewed="differs")
    done = tell(run_cli, "--reviewed-dir", str(folder))
    assert done.out.splitlines() == [
        "apply comment created on pull request #12 (default)",
        "apply comment created on pull request #16 (default)",
    ]
    body = apply_comments(gh, 16)[0]["body"]
    assert (
        "No reviewed plan of this pull request was found: pull request \\#&#8203;16 has no "
        "@&#8203;plan."
    ) in body
    assert "The same apply covered #12." in body
    assert "Review: the apply's plan differed from the reviewed plan" in body


def test_no_pull_request_to_tell(
    gh: FakeGitHub, run_cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_TOKEN")
    folder = reviewed_dir(tmp_path / "reviewed", [])
    for args in ((), ("--reviewed-dir", str(folder))):
        done = tell(run_cli, *args)
        assert done.code == 0, done.err
        assert done.out == ""
        assert done.err == "notice: no pull request to tell about this apply (default)\n"
    assert gh.requests == []


def test_a_github_failure_is_one_line_and_spares_the_others(
    gh: FakeGitHub, run_cli: Run, tmp_path: Path
) -> None:
    apply_files(tmp_path / "artifacts/default", {"success": 1})
    gh.fault("POST", r"/issues/15/comments$", 403, body={"message": "Resource not accessible"})
    done = tell(run_cli, "--pr", "15", "--pr", "12", "--pr", "15")
    assert done.code == 1
    assert done.out == "apply comment created on pull request #12 (default)\n"
    assert done.err == (
        "error: the apply comment could not be posted on pull request #15: POST "
        "/repos/acme/specs/issues/15/comments: 403 Resource not accessible (the token lacks a "
        "permission this needs; see the workflow's permissions:)\n"
    )


def test_an_older_apply_record_is_not_posted(gh: FakeGitHub, run_cli: Run, tmp_path: Path) -> None:
    apply_files(tmp_path / "artifacts/default", {"success": 1})
    other = "sha256:" + "ef" * 32
    done = tell(run_cli, "--pr", "12", "--expect-digest", other)
    assert done.code == 1
    assert done.err == (
        f"error: {tmp_path / 'artifacts/default/apply.json'}: the apply record is for plan "
        f"{DIGEST}, not {other} (an earlier apply's record?): nothing posted\n"
    )
    assert gh.requests == []
    assert tell(run_cli, "--pr", "12", "--expect-digest", DIGEST).code == 0


def test_a_marker_in_someone_elses_comment_is_not_ours(
    gh: FakeGitHub, run_cli: Run, tmp_path: Path
) -> None:
    forged = gh.add_comment(12, "<!-- reconciler-apply:default -->\nall green", author="mallory")
    apply_files(tmp_path / "artifacts/default", {"failure": 1}, [("orders", "failure", "x")])
    assert (
        tell(run_cli, "--pr", "12").out == "apply comment created on pull request #12 (default)\n"
    )
    theirs, ours = gh.comments_of(12)
    assert theirs["id"] == forged
    assert theirs["body"].endswith("all green")
    assert ours["user"]["login"] == BOT


def test_in_actions_the_run_is_linked_and_outputs_set(
    gh: FakeGitHub, run_cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    output = tmp_path / "gh-output"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    monkeypatch.setenv("GITHUB_RUN_ID", "4242")
    apply_files(tmp_path / "artifacts/default", {"unknown": 1}, [("inv", "unsent", "not sent")])
    done = tell(run_cli, "--pr", "12", "--pr", "15", "--sha", "f" * 40)
    assert done.code == 0, done.err
    body = apply_comments(gh, 12)[0]["body"]
    assert body.endswith(
        f"<sub>specs `{'f' * 12}` · [apply run](https://github.com/acme/specs/actions/runs/4242)"
        "</sub>\n"
    )
    assert "| `inv` | unsent | not sent |" in body
    assert "**1 unknown**" in body
    assert output.read_text().splitlines() == ["commented=12 15"]


@pytest.mark.parametrize(
    ("arrange", "message"),
    [
        (
            lambda d: (d / "reviewed/pr-12.meta.json").write_text('{"number": 13}'),
            "reviewed/pr-12.meta.json: number: expected 12 (the file's name), got 13",
        ),
        (
            lambda d: (d / "reviewed/pr-12.meta.json").write_text(
                '{"number": 12, "planDigest": "sha256:x"}'
            ),
            "reviewed/pr-12.meta.json: planDigest: expected sha256: and 64 hexadecimal digits",
        ),
        (
            lambda d: (d / "reviewed/missing.meta.json").write_text(
                '{"commits": [{"pullRequest": "12; rm -rf /", "reason": "x"}]}'
            ),
            "reviewed/missing.meta.json: commits[0].pullRequest: expected a pull request number",
        ),
        (
            lambda d: (d / "reviewed/missing.meta.json").write_text("[" * 100_000),
            "reviewed/missing.meta.json: not a readable list of uncovered commits",
        ),
        (
            lambda d: (d / "artifacts/default/junit.xml").write_text(
                '<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
                "<testsuites><testcase name='&b;'/></testsuites>"
            ),
            "{d}/artifacts/default/junit.xml: not a JUnit report of an apply (it declares a "
            "document type)",
        ),
        (
            lambda d: (d / "artifacts/default/junit.xml").write_text("<testsuites><oops"),
            "{d}/artifacts/default/junit.xml: not a JUnit report (",
        ),
        (
            lambda d: (d / "artifacts/default/apply.json").unlink(),
            "{d}/artifacts/default/apply.json: cannot read the apply record (No such file",
        ),
    ],
)
def test_files_that_are_not_what_they_should_be(
    gh: FakeGitHub,
    run_cli: Run,
    tmp_path: Path,
    arrange: Callable[[Path], object],
    message: str,
) -> None:
    reviewed_dir(tmp_path / "reviewed", [12])
    apply_files(tmp_path / "artifacts/default", {"success": 1})
    arrange(tmp_path)
    done = tell(run_cli, "--reviewed-dir", "reviewed")
    assert done.code == 1
    assert done.err.startswith(f"error: {message.format(d=tmp_path)}"), done.err
    assert len(done.err.splitlines()) == 1
    assert gh.requests == []


def test_a_record_behind_a_link_is_refused(gh: FakeGitHub, run_cli: Run, tmp_path: Path) -> None:
    record = apply_files(tmp_path / "elsewhere", {"success": 1})
    (tmp_path / "artifacts/default").mkdir(parents=True)
    (tmp_path / "artifacts/default/apply.json").symlink_to(record)
    done = tell(run_cli, "--pr", "12")
    assert done.code == 1
    assert done.err == (
        f"error: {tmp_path / 'artifacts/default/apply.json'}: cannot read the apply record: "
        "the file is a "
        "symbolic link; expected a regular file\n"
    )
    assert gh.requests == []
