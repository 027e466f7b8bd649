"""Fixtures for publishing: a workspace with specs, committed and pushed to a bare ``origin``."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import INVENTORY, ORDERS, PROD_ATOM, build_tree, git, spec

IDENTITY = ("-c", "user.name=Dev", "-c", "user.email=dev@example.com")


@pytest.fixture
def origin(workspace: Path, tmp_path: Path) -> Path:
    """A bare remote holding the workspace's first commit (two specs), as ``origin``."""
    build_tree(
        workspace,
        {
            "specs/o.yaml": spec("o", ORDERS, PROD_ATOM),
            "specs/i.yaml": spec("i", INVENTORY, PROD_ATOM),
        },
    )
    git(workspace, *IDENTITY, "add", ".")
    git(workspace, *IDENTITY, "commit", "-q", "-m", "specs")
    bare = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    git(workspace, "remote", "add", "origin", str(bare))
    git(workspace, "push", "-q", "origin", "main")
    return bare


def everything_in(bare: Path) -> bytes:
    """Every object the remote holds, as bytes: what a leak would have to hide in."""
    listed = git(bare, "cat-file", "--batch-all-objects", "--batch-check=%(objectname)")
    shown = subprocess.run(
        ["git", "cat-file", "--batch"],
        cwd=bare,
        input=listed.encode(),
        check=True,
        capture_output=True,
        timeout=30,
    )
    return shown.stdout
