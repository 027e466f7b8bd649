"""Every snippet of the README and docs/ is checked against the real tool.

Each fenced block is run, checked, or marked ``<!-- snippet: skip REASON -->`` in the page:

- ``yaml``: a spec (``apiVersion``) is validated by ``reconciler validate``, in a repository
  whose reconciler.yaml is the example one with the page's own config snippets merged in, under
  each of its environments; a world file (``seed``, ``accounts``, ``processes``, ...) is loaded
  by the simulator's loader; anything else is a reconciler.yaml (or a part of one: ``version:
  1`` is added) and validated by ``reconciler validate`` under each of its environments. The
  workflow snippets of docs/github-actions.md are checked by tests/github/test_docs_snippets.py.
- ``json``: a state file example (docs/engine.md) has exactly the keys, in the order and with
  the schema version and secret form that a real apply writes.
- ``sh``, ``bash``, ``console`` and ``python``: run by tests/docs/test_shell_snippets.py.
- a block with no language is text (a layout, a diagram, an error shown as printed): not run.
- ``<!-- snippet: invalid -->`` before a yaml config block: a deliberate mistake; ``validate``
  must fail with exactly the lines of the next block of the page (the errors as printed).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from reconciler.model import StateEntry
from reconciler.sim.world import WorldError, load_world
from tests.conftest import ROOT, CliResult, build_tree, read_state
from tests.docs.markdown import Snippet, all_snippets

RUN_ELSEWHERE = {"sh", "bash", "console", "python"}  # tests/docs/test_shell_snippets.py
CHECKED = {"yaml", "json"}
LANGUAGES = {"", *RUN_ELSEWHERE, *CHECKED}
WORKFLOWS = ROOT / "docs" / "github-actions.md"  # tests/github/test_docs_snippets.py
WORLD_KEYS = {"seed", "epoch", "accounts", "runtimes", "processes", "faults", "switches"}

SNIPPETS = all_snippets()


def yaml_documents(text: str) -> list[Any]:
    return list(YAML(typ="safe", pure=True).load_all(text))


def kind_of(snippet: Snippet) -> str:
    """``spec``, ``world``, ``config`` or ``workflow`` for a yaml snippet."""
    if snippet.page == WORKFLOWS:
        return "workflow"
    documents = [d for d in yaml_documents(snippet.text) if d is not None]
    assert documents, f"{snippet.where}: an empty yaml snippet"
    assert all(isinstance(d, dict) for d in documents), f"{snippet.where}: not a mapping"
    keys = {key for document in documents for key in document}
    if "apiVersion" in keys:
        return "spec"
    if keys & WORLD_KEYS:
        return "world"
    return "config"


def of(lang: str, kind: str | None = None) -> list[Snippet]:
    found = [s for s in SNIPPETS if s.lang == lang and s.skip_reason is None and not s.invalid]
    if kind is not None:
        found = [s for s in found if kind_of(s) == kind]
    return found


def test_every_snippet_runs_or_says_why_not() -> None:
    problems = []
    for snippet in SNIPPETS:
        if snippet.lang not in LANGUAGES:
            problems.append(
                f"{snippet.where}: language {snippet.lang!r} is neither run nor "
                f"checked here; expected one of {sorted(LANGUAGES)}"
            )
        if snippet.directive is None:
            continue
        if snippet.invalid:
            if snippet.lang != "yaml":
                problems.append(f"{snippet.where}: only a yaml block can be marked invalid")
            continue
        if snippet.skip_reason is None:
            problems.append(
                f"{snippet.where}: unknown directive {snippet.directive!r}; "
                "expected <!-- snippet: skip REASON --> or <!-- snippet: invalid -->"
            )
        elif not snippet.skip_reason:
            problems.append(f"{snippet.where}: skip needs a reason: <!-- snippet: skip REASON -->")
        elif snippet.lang == "":
            problems.append(f"{snippet.where}: a text block is never run; drop the skip")
    assert not problems, "\n".join(problems)


def test_the_docs_have_snippets_of_each_kind() -> None:
    """The parser finds what is there (a broken fence regex would skip everything)."""
    assert len(of("yaml", "spec")) >= 8
    assert of("yaml", "config")
    assert of("yaml", "world")
    assert of("json")


# -- yaml ---------------------------------------------------------------------------------


def merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    result = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)
        else:
            result[key] = value
    return result


def page_config(page: Path) -> dict[str, Any]:
    """The example reconciler.yaml with every config snippet of ``page`` merged in, in order."""
    config = yaml_documents((ROOT / "reconciler.yaml").read_text(encoding="utf-8"))[0]
    for snippet in SNIPPETS:
        runs = snippet.lang == "yaml" and snippet.skip_reason is None and not snippet.invalid
        if snippet.page == page and runs and kind_of(snippet) == "config":
            config = merged(config, yaml_documents(snippet.text)[0])
    assert isinstance(config, dict)
    return config


def environments(config_text: str) -> list[str | None]:
    config = yaml_documents(config_text)[0]
    names = sorted(config.get("environments") or {})
    return list(names) or [None]


def validate(
    run_cli: Callable[..., CliResult], repo: Path, config_text: str, snippet: Snippet
) -> None:
    """``reconciler validate`` in ``repo``, under each environment of the config."""
    for environment in environments(config_text):
        args = ["--env", environment] if environment else []
        done = run_cli(*args, "validate")
        assert done.code == 0, (
            f"{snippet.where}: this yaml snippet fails `reconciler {' '.join(args)} validate`:\n"
            f"{done.err}{done.out}\n--- snippet ---\n{snippet.text}"
        )


@pytest.mark.parametrize("snippet", of("yaml", "spec"), ids=str)
def test_spec_snippet_is_valid(
    snippet: Snippet,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    run_cli: Callable[..., CliResult],
) -> None:
    config = json.dumps(page_config(snippet.page), indent=2)
    build_tree(tmp_path, {"reconciler.yaml": config, "specs/snippet.yaml": snippet.text})
    monkeypatch.chdir(tmp_path)
    validate(run_cli, tmp_path, config, snippet)


@pytest.mark.parametrize("snippet", of("yaml", "config"), ids=str)
def test_config_snippet_is_valid(
    snippet: Snippet,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    run_cli: Callable[..., CliResult],
) -> None:
    text = snippet.text
    if "version" not in yaml_documents(text)[0]:  # a part of reconciler.yaml
        text = "version: 1\n" + text
    build_tree(tmp_path, {"reconciler.yaml": text, "specs/.keep": ""})
    monkeypatch.chdir(tmp_path)
    validate(run_cli, tmp_path, text, snippet)


INVALID = [s for s in SNIPPETS if s.invalid and s.lang == "yaml"]


@pytest.mark.parametrize("snippet", INVALID, ids=str)
def test_invalid_config_snippet_fails_as_shown(
    snippet: Snippet,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    run_cli: Callable[..., CliResult],
) -> None:
    after = [s for s in SNIPPETS if s.page == snippet.page and s.line > snippet.line]
    assert after, (
        f"{snippet.where}: an invalid snippet needs the errors it gives in a block after it"
    )
    build_tree(tmp_path, {"reconciler.yaml": snippet.text, "specs/.keep": ""})
    monkeypatch.chdir(tmp_path)
    done = run_cli("validate")
    assert done.code == 1, (
        f"{snippet.where}: `reconciler validate` accepted a snippet marked invalid"
    )
    assert done.err == after[0].text, f"{snippet.where}: the errors shown are not what it prints"


def test_the_docs_show_an_invalid_config() -> None:
    assert INVALID, "docs/config.md shows how a broken reconciler.yaml is reported"


@pytest.mark.parametrize("snippet", of("yaml", "world"), ids=str)
def test_world_snippet_loads(snippet: Snippet, tmp_path: Path) -> None:
    path = tmp_path / "world.yaml"
    path.write_text(snippet.text, encoding="utf-8")
    try:
        load_world(path)
    except WorldError as exc:
        pytest.fail(f"{snippet.where}: this world snippet does not load:\n{exc}")


# -- json ---------------------------------------------------------------------------------

SECRET_SPEC = """\
apiVersion: reconciler/v1
kind: Execution
metadata:
  name: orders-sync-eu
spec:
  processId: 789abcde-f012-3456-789a-bcdef0123456
  atomId: 3456789a-bcde-f012-3456-789abcdef012
  dynamicProperties:
    API_KEY: '{{ secret("ORDERS_API_KEY") }}'
"""


@pytest.mark.parametrize("snippet", of("json"), ids=str)
def test_state_snippet_is_what_apply_writes(
    snippet: Snippet,
    workspace: Path,
    sim: Any,
    monkeypatch: pytest.MonkeyPatch,
    run_cli: Callable[..., CliResult],
) -> None:
    shown = json.loads(snippet.text)
    assert isinstance(shown, dict)
    assert {"schemaVersion", "phase"} <= set(shown), (
        f"{snippet.where}: a json snippet this test has no check for (only state files); "
        "add one, or mark it <!-- snippet: skip REASON -->"
    )
    build_tree(workspace, {"specs/orders.yaml": SECRET_SPEC})
    monkeypatch.setenv("ORDERS_API_KEY", "hunter2")
    done = run_cli("apply")
    assert done.code == 0, done.err
    real = read_state(workspace, "orders-sync-eu")
    where = f"{snippet.where} (the state example)"
    optional = set(StateEntry.model_fields) - set(real)  # left out when empty
    assert set(real) <= set(shown), f"{where} lacks {sorted(set(real) - set(shown))}"
    assert set(shown) - set(real) <= optional, f"{where}: no such fields in state: " + str(
        sorted(set(shown) - set(real) - optional)
    )
    assert list(shown) == sorted(shown), f"{where}: state files have their keys sorted"
    assert shown["schemaVersion"] == real["schemaVersion"], where
    assert shown["request"].keys() == real["request"].keys(), where
    assert shown["request"]["dynamic_properties"] == real["request"]["dynamic_properties"], where
    assert "hunter2" not in (workspace / "state/default/orders-sync-eu.json").read_text()
