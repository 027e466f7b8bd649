"""Every yaml snippet of docs/github-actions.md is a piece of what the tests run.

A block is either copied verbatim (indentation included) from a shipped workflow, which the
emulation in ``tests/github/emulate`` executes, or from the reconciler.yaml the emulated
specs repository is created with. A snippet edited in the page alone fails here.
"""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.github.emulate.conftest import config

DOC = ROOT / "docs" / "github-actions.md"
BLOCK = re.compile(r"^```yaml\n(.*?)^```$", re.S | re.M)


def blocks() -> list[str]:
    return BLOCK.findall(DOC.read_text(encoding="utf-8"))


def sources() -> list[str]:
    files = sorted((ROOT / ".github" / "workflows").glob("reconcile-*.yml"))
    endpoint = SimpleNamespace(base_url="http://127.0.0.1:1/api/rest/v1", account_id="acct")
    stand_in: Any = SimpleNamespace(endpoint=endpoint)
    return [*(p.read_text(encoding="utf-8") for p in files), config(stand_in)]


def test_the_page_has_snippets() -> None:
    assert len(blocks()) >= 8


@pytest.mark.parametrize("block", blocks(), ids=lambda b: b.strip().splitlines()[0][:40])
def test_each_snippet_is_taken_from_what_the_tests_run(block: str) -> None:
    found = [text for text in sources() if block in text]
    assert found, f"docs/github-actions.md: this block is in no shipped workflow:\n{block}"
