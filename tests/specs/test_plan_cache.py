"""The compile and plan cache: a plan from the cache is the plan computed again, byte for byte.

Drives the real CLI over generated repositories, with the cache on (cold, then warm) and off
(``RECONCILER_NO_CACHE=1``), and checks that every kind of input a file's result follows from
(its bytes, a config var, ``--var``, an allow-listed environment variable, the git commit a
template reads, the tool's code) makes it render again; and that a cache file which is not
ours (corrupt, unsigned, inside the repository, in a folder others may write) is never used.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.store import cache as disk
from tests.conftest import PROD_ATOM, CliResult, build_tree, git

CONFIG = """\
version: 1
specs: specs
state: state
artifacts: artifacts
platform:
  url: https://api.boomi.com/api/rest/v1
  accountId: demo-AB12CD
vars:
  region: eu
  tier: gold
templateEnv: [DEPLOY_COLOR]
"""


def _execution(i: int) -> str:
    return f"""apiVersion: reconciler/v1
kind: Execution
metadata:
  name: run-{i:03d}
spec:
  processId: 789abcde-f012-3456-789a-{i:012d}
  atomId: {PROD_ATOM}
  dynamicProperties:
    DPP_A: "{{{{ vars.region | upper }}}}-{i}-{{{{ vars.n{i % 3} | default('none') }}}}"
    DPP_B: "{{% for k in vars %}}{{{{ k }}}}{i},{{% endfor %}}"
    DPP_C: "{{{{ env.DEPLOY_COLOR | default('plain') }}}}/{i}"
    DPP_D: "{{{{ git.sha if {i % 4} == 0 else 'fixed' }}}}"
  vars:
    n{i % 3}: "{i % 5}"
"""


_SET = f"""apiVersion: reconciler/v1
kind: ExecutionSet
metadata:
  name: regions
spec:
  matrix:
    region: [eu, us, ap]
    size: [1, 2.5, true]
  defaults:
    atomId: {PROD_ATOM}
    dynamicProperties:
      DPP_WHERE: "{{{{ matrix.region }}}}-{{{{ matrix.size }}}}-{{{{ vars.tier }}}}"
  executions:
    - name: "sync-{{{{ matrix.region }}}}-{{{{ matrix.size | string | lower | replace('.', '') }}}}"
      processId: 89abcdef-0123-4567-89ab-cdef01234567
"""


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    files = {"reconciler.yaml": CONFIG, "specs/set.yaml": _SET}
    files.update({f"specs/s{i:03d}.yaml": _execution(i) for i in range(40)})
    build_tree(root, files)
    _commit(root)
    monkeypatch.chdir(root)
    monkeypatch.setenv("RECONCILER_JOBS", "1")
    monkeypatch.setenv("RECONCILER_CACHE_DIR", str(tmp_path / "cache"))  # this test's own
    monkeypatch.delenv("DEPLOY_COLOR", raising=False)
    return root


def _commit(root: Path) -> None:
    git(root, "add", ".")
    git(root, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "specs")


def _plan(run_cli: Callable[..., CliResult], *args: str) -> dict[str, object]:
    result = run_cli("plan", "--output", "json", *args)
    assert result.code == 0, result.err
    plan: dict[str, object] = json.loads(result.out)
    return plan


def _entries(kind: str) -> list[Path]:
    folder = disk.cache_folder(os.environ)
    assert folder is not None
    return sorted(p for p in (folder / kind).rglob("*") if p.is_file())


def _values(plan: dict[str, object]) -> set[str]:
    return set(json.dumps(plan).split('"'))


def test_a_plan_from_the_cache_is_the_plan_computed_again(
    repo: Path, run_cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    for args in ((), ("--var", "tier=silver")):
        cold = _plan(run_cli, *args)
        warm = _plan(run_cli, *args)
        monkeypatch.setenv("RECONCILER_NO_CACHE", "1")
        fresh = _plan(run_cli, *args)
        monkeypatch.delenv("RECONCILER_NO_CACHE")
        assert cold == warm == fresh
    assert len(_entries("reads")) == 41  # one per file: its reads follow from its bytes
    assert len(_entries("file")) == 2 * 41  # a result per file and values: every file reads
    # vars.tier (the set by name, each run by its loop over vars)
    assert _entries("jinja")


@pytest.mark.parametrize(
    "change",
    ["file", "config var", "--var", "templateEnv", "git commit", "tool code"],
)
def test_a_changed_input_renders_again(
    change: str,
    repo: Path,
    run_cli: Callable[..., CliResult],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = _plan(run_cli)
    args: tuple[str, ...] = ()
    if change == "file":
        build_tree(repo, {"specs/s001.yaml": _execution(1).replace('DPP_C: "', 'DPP_C: "new')})
        expected = "newplain/1"
    elif change == "config var":
        build_tree(repo, {"reconciler.yaml": CONFIG.replace("region: eu", "region: moon")})
        expected = "MOON-7-2"
    elif change == "--var":
        args = ("--var", "n1=forty-two")
        expected = "EU-1-forty-two"
    elif change == "templateEnv":
        monkeypatch.setenv("DEPLOY_COLOR", "blue")
        expected = "blue/3"
    elif change == "git commit":
        build_tree(repo, {"README.md": "moved on\n"})
        _commit(repo)
        expected = git(repo, "rev-parse", "HEAD").strip()
    else:  # the tool's code: a new fingerprint reaches no earlier entry, as after an upgrade
        monkeypatch.setattr(disk, "fingerprint", lambda: "another version of reconciler")
        for entry in _entries("file"):  # entries made by the old code now say something else
            entry.write_bytes(entry.read_bytes()[:-8] + b"tampered")
        expected = "EU-0-0"
    after = _plan(run_cli, *args)
    monkeypatch.setenv("RECONCILER_NO_CACHE", "1")
    assert after == _plan(run_cli, *args)
    assert expected in _values(after)
    if change != "tool code":
        assert expected not in _values(before)


def test_the_cache_is_consulted_and_only_signed_entries_are(
    repo: Path, run_cli: Callable[..., CliResult]
) -> None:
    honest = _plan(run_cli)
    entries = _entries("file") + _entries("jinja")
    for entry in entries:  # a corrupt, truncated or foreign file is a miss, never a crash
        entry.write_bytes(b"RCC1" + os.urandom(64))
    assert _plan(run_cli) == honest
    for entry in _entries("file") + _entries("jinja"):
        entry.write_bytes(entry.read_bytes()[:10])
    assert _plan(run_cli) == honest


def test_a_cache_folder_inside_the_repository_or_open_to_others_is_not_used(
    repo: Path, run_cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    inside = repo / ".cache" / "reconciler"
    monkeypatch.setenv("RECONCILER_CACHE_DIR", str(inside))
    honest = _plan(run_cli)
    assert not inside.exists()  # a pull request could commit files there: never read or made
    shared = repo.parent / "shared-cache"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    monkeypatch.setenv("RECONCILER_CACHE_DIR", str(shared))
    assert _plan(run_cli) == honest
    assert list(shared.iterdir()) == []
    assert disk.open_cache(os.environ, repo) is None


def test_the_folder_is_pruned_oldest_first(tmp_path: Path) -> None:
    store = disk.open_cache({"RECONCILER_CACHE_DIR": str(tmp_path / "c")}, tmp_path / "repo")
    assert store is not None
    for i in range(10):
        store.put("file", f"k{i}", bytes(1000))
        os.utime(store.path("file", f"k{i}"), (i, i))
    store.prune(limit=5000)
    kept = [i for i in range(10) if store.get("file", f"k{i}") is not None]
    assert kept == list(range(kept[0], 10))
    assert 2 <= len(kept) <= 4


def test_a_runner_keeps_no_cache_unless_a_kept_folder_is_named(tmp_path: Path) -> None:
    """On CI the folder starts empty every run: writing it would only cost (a third more)."""
    home = {"HOME": str(tmp_path)}
    assert disk.cache_folder(home) == tmp_path / ".cache" / "reconciler"
    assert disk.cache_folder({**home, "CI": "true"}) is None
    assert disk.cache_folder({**home, "CI": "false"}) == tmp_path / ".cache" / "reconciler"
    kept = {**home, "CI": "true", "RECONCILER_CACHE_DIR": str(tmp_path / "kept")}
    assert disk.cache_folder(kept) == tmp_path / "kept"  # restored by actions/cache, say
    assert disk.cache_folder({**kept, "RECONCILER_NO_CACHE": "1"}) is None


def test_a_cache_anywhere_in_the_checkout_or_with_a_readable_key_is_not_used(
    tmp_path: Path,
) -> None:
    """reconciler.yaml in a subfolder: the checkout around it is a pull request's too; and a
    key others may read (a committed file checks out 0640 under umask 027) signs nothing."""
    checkout = tmp_path / "checkout"
    (checkout / ".git").mkdir(parents=True)
    config_folder = checkout / "deploy"
    config_folder.mkdir()
    beside = {"RECONCILER_CACHE_DIR": str(checkout / ".reconciler-cache")}
    assert disk.open_cache(beside, config_folder) is None
    assert not (checkout / ".reconciler-cache").exists()
    outside = {"RECONCILER_CACHE_DIR": str(tmp_path / "kept")}
    assert disk.open_cache(outside, config_folder) is not None
    (tmp_path / "kept" / "key").chmod(0o640)
    assert disk.open_cache(outside, config_folder) is None
