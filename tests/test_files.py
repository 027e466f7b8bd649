"""``files.read_bounded``: regular files, a cap, and no way out of the repository by a link."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reconciler.files import FileRefused, read_bounded


def test_a_folder_link_above_the_file_cannot_lead_out_of_the_root(tmp_path: Path) -> None:
    repo, outside = tmp_path / "repo", tmp_path / "outside"
    (repo / "specs").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.yaml").write_text("token: x\n", encoding="utf-8")
    (repo / "specs" / "l").symlink_to(outside)
    with pytest.raises(FileRefused, match="is behind a folder link leading outside"):
        read_bounded(repo / "specs" / "l" / "secret.yaml", limit=100, root=repo)


def test_nothing_under_dot_git_is_read_link_or_not(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / ".git" / "config").write_text("[http] extraheader = AUTHORIZATION: basic x\n")
    (repo / "c.yaml").symlink_to(repo / ".git" / "config")
    for path in (repo / "c.yaml", repo / ".git" / "config"):
        with pytest.raises(FileRefused, match=r"inside the repository's \.git folder"):
            read_bounded(path, limit=1000, root=repo)


def test_a_link_inside_the_root_and_a_plain_file_outside_it_are_read(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "a.yaml").write_text("a: 1\n", encoding="utf-8")
    (repo / "b.yaml").symlink_to(repo / "a.yaml")
    elsewhere = tmp_path / "given.yaml"  # named by the operator, through no link
    elsewhere.write_text("b: 2\n", encoding="utf-8")
    assert read_bounded(repo / "b.yaml", limit=100, root=repo) == b"a: 1\n"
    assert read_bounded(elsewhere, limit=100, root=repo) == b"b: 2\n"


def test_without_a_root_devices_pipes_links_and_big_files_are_refused(tmp_path: Path) -> None:
    fifo, big, link = tmp_path / "fifo", tmp_path / "big", tmp_path / "link"
    os.mkfifo(fifo)
    big.write_bytes(b"x" * 101)
    link.symlink_to(big)
    cases = {
        Path(os.devnull): "is a device",
        fifo: "is a named pipe",
        tmp_path: "is a folder",
        big: "is 101 bytes; the limit is 100",
        link: "is a symbolic link",
    }
    for path, reason in cases.items():
        with pytest.raises(FileRefused, match=reason):
            read_bounded(path, limit=100)
