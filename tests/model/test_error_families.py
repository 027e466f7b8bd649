"""The exception tree of ``reconciler.errors``: each family apart, as its docstring draws it."""

from __future__ import annotations

import pytest

from reconciler import errors


@pytest.mark.parametrize(
    ("error", "family", "not_in"),
    [
        (errors.GitHubError, errors.ReconcilerError, errors.PlatformError),
        (errors.GitHubAuthError, errors.GitHubError, errors.AuthenticationError),
        (errors.GitError, errors.ReconcilerError, errors.UserError),
        (errors.StateConflict, errors.GitError, errors.UserError),
        (errors.InvalidConfig, errors.ConfigError, errors.InvalidSpecs),
        (errors.InvalidConfig, errors.Problems, errors.PlatformError),
        (errors.InvalidSpecs, errors.Problems, errors.ConfigError),
    ],
)
def test_each_error_is_in_its_family(
    error: type[Exception], family: type[Exception], not_in: type[Exception]
) -> None:
    assert issubclass(error, family)
    assert not issubclass(error, not_in)


def test_every_error_class_is_drawn_in_the_tree() -> None:
    drawn = errors.__doc__ or ""
    classes = [
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, errors.ReconcilerError)
    ]
    assert "\n    ReconcilerError\n" in drawn  # the root
    assert len(classes) > 10
    assert [n for n in classes if n != "ReconcilerError" and f"── {n} " not in drawn] == []


def test_git_and_github_errors_read_as_one_line() -> None:
    assert str(errors.GitError("push rejected", hint="run it again")) == (
        "push rejected; run it again"
    )
    failed = errors.GitHubError("GET /x: 502", status_code=502)
    assert (str(failed), failed.status_code) == ("GET /x: 502", 502)
    assert errors.InvalidConfig([]).message == "0 problems found"
