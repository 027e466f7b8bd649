"""``github.context``: the one reader of ``GITHUB_*``, and the rule that it stays the only one."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import reconciler
from reconciler.errors import UserError
from reconciler.github.context import GitHubContext
from reconciler.github.workflow import Actions
from reconciler.model.gitfacts import GitFacts

PACKAGE = Path(reconciler.__file__).parent
Docstring = ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef


def github_names(source: str) -> list[tuple[int, str]]:
    """(line, text) of every string constant starting with ``GITHUB_``, docstrings excluded.

    Comments are not in the syntax tree; f-string parts are constants of their own.
    """
    tree = ast.parse(source)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, Docstring)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value.startswith("GITHUB_")
        and id(node) not in docstrings
    ]


def test_only_the_github_package_names_github_variables() -> None:
    modules = sorted(PACKAGE.rglob("*.py"))
    outside = [p for p in modules if p.relative_to(PACKAGE).parts[0] != "github"]
    assert len(outside) > 50  # the scan sees the whole package, new modules included
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {text!r}"
        for path in outside
        for line, text in github_names(path.read_text(encoding="utf-8"))
    ]
    assert found == [], "only reconciler/github/ may read GITHUB_* (see github/context.py)"


def test_the_scan_sees_names_in_code_and_f_strings_not_docstrings_or_comments() -> None:
    source = (
        '"""Reads GITHUB_SHA."""\n'
        "class C:\n"
        '    """GITHUB_REF."""\n'
        "def f(environ):\n"
        '    """GITHUB_REF too."""\n'
        "    # GITHUB_ACTOR in a comment\n"
        '    return environ.get("GITHUB_RUN_ID"), f"GITHUB_TOKEN {environ}"\n'
    )
    assert github_names(source) == [(7, "GITHUB_RUN_ID"), (7, "GITHUB_TOKEN ")]
    context = (PACKAGE / "github" / "context.py").read_text(encoding="utf-8")
    assert "GITHUB_ACTIONS" in {text for _, text in github_names(context)}


PULL_REQUEST = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567",
    "GITHUB_REF": "refs/pull/42/merge",
    "GITHUB_REF_NAME": "42/merge",
    "GITHUB_HEAD_REF": "feature/x",
    "GITHUB_ACTOR": "octocat",
    "GITHUB_REPOSITORY": "acme/integrations",
    "GITHUB_SERVER_URL": "https://github.com",
    "GITHUB_RUN_ID": "77",
    "GITHUB_RUN_ATTEMPT": "1",
    "GITHUB_STEP_SUMMARY": "job/summary.md",
    "GITHUB_OUTPUT": "job/output",
}


def test_git_facts_of_a_pull_request_run() -> None:
    assert GitHubContext.from_environ(PULL_REQUEST).git_facts() == GitFacts(
        sha="0123456789abcdef0123456789abcdef01234567",
        short_sha="0123456",
        branch="feature/x",
        pr_number=42,
        actor="octocat",
        repository="acme/integrations",
    )


def test_git_facts_of_a_push_run_and_none_outside_actions() -> None:
    push = {"GITHUB_ACTIONS": "true", "GITHUB_REF": "refs/heads/main", "GITHUB_REF_NAME": "main"}
    facts = GitHubContext.from_environ(push).git_facts()
    assert facts is not None
    assert (facts.branch, facts.pr_number, facts.sha) == ("main", None, "")
    assert (
        GitHubContext.from_environ({**PULL_REQUEST, "GITHUB_ACTIONS": "false"}).git_facts() is None
    )


def test_run_url_names_the_attempt_after_the_first() -> None:
    url = "https://github.com/acme/integrations/actions/runs/77"
    assert GitHubContext.from_environ(PULL_REQUEST).run_url == url
    again = GitHubContext.from_environ({**PULL_REQUEST, "GITHUB_RUN_ATTEMPT": "3"})
    assert again.run_url == f"{url}/attempts/3"
    assert GitHubContext.from_environ({"GITHUB_RUN_ID": "77"}).run_url is None


def test_summary_and_outputs_only_inside_actions() -> None:
    assert Actions.of(GitHubContext.from_environ(PULL_REQUEST)) == Actions(
        summary_path=Path("job/summary.md"), output_path=Path("job/output")
    )
    assert Actions.from_env({"GITHUB_OUTPUT": "job/output"}) is None


def test_the_token_never_shows_and_its_absence_names_the_fix() -> None:
    context = GitHubContext.from_environ({"GH_TOKEN": "ghs_secret_value"})
    assert context.require_token() == "ghs_secret_value"
    assert "ghs_secret_value" not in repr(context)
    with pytest.raises(UserError, match="GITHUB_TOKEN is not set"):
        GitHubContext.from_environ({}).require_token()


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"GITHUB_REPOSITORY": "acme"}, "GITHUB_REPOSITORY 'acme': expected owner/name"),
        (
            {"GITHUB_REPOSITORY": "acme/x", "GITHUB_API_URL": "ftp://x"},
            "GITHUB_API_URL 'ftp://x': expected an http(s) URL",
        ),
    ],
)
def test_a_client_needs_a_repository_and_an_api_url(environ: dict[str, str], message: str) -> None:
    from reconciler.clock import SystemClock

    context = GitHubContext.from_environ({"GITHUB_TOKEN": "t", **environ})
    with pytest.raises(UserError) as caught:
        context.client(clock=SystemClock())
    assert caught.value.message == message
