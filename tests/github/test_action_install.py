"""The action's install and its command surface, run for real (issue 16: "an install you own").

The action's scripts are taken from action.yml and run by bash with the env: block the runner
would give them, each input at its action.yml default unless the test sets it. The install runs
into a fresh virtual environment in tmp, offline: pip gets --no-index and a folder of wheels the
test builds; the dev environment's packages, less our own, stand in for the lock's downloads (a
.pth file), so the lock the test hands the action is the real one, cut to the pins the dev
environment already satisfies, plus one small wheel that pip must download and hash-check. The
main step runs the real reconciler on a workspace against the simulator.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from ruamel.yaml import YAML

from reconciler import __version__
from tests.conftest import ORDERS, PROD_ATOM, ROOT, Admin, build_tree, git, spec

ACTION: dict[str, Any] = YAML(typ="safe").load((ROOT / "action.yml").read_text(encoding="utf-8"))
LOCK = ROOT / "requirements" / "action.txt"
DIST = "boomi-reconciler"
IDENTITY = ("-c", "user.name=Dev", "-c", "user.email=dev@example.com")
INPUT = re.compile(r"\$\{\{ inputs\.([a-z-]+) \}\}")


class Pin(NamedTuple):
    requirement: Requirement
    version: str
    hashes: tuple[str, ...]
    text: str


def parse_lock(text: str) -> list[Pin]:
    """Each requirement of a lock; fails on any line that is not `name==version` with hashes."""
    pins = []
    for line in re.sub(r"\\\n", " ", text).splitlines():
        if not line.strip() or line.strip().startswith("#"):
            continue
        head, *hashes = line.split(" --hash=")
        requirement = Requirement(head.strip())
        [spec_] = requirement.specifier
        assert spec_.operator == "==", f"requirements/action.txt: {head} is not pinned"
        assert hashes, f"requirements/action.txt: {head} has no --hash"
        for digest in hashes:
            assert re.fullmatch(r"sha256:[0-9a-f]{64}", digest.strip()), f"{head}: {digest}"
        pins.append(Pin(requirement, spec_.version, tuple(h.strip() for h in hashes), line))
    return pins


def step(key: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [
        s for s in ACTION["runs"]["steps"] if key in (s.get("id"), s.get("name"))
    ]
    assert len(found) == 1, key
    return found[0]


def step_env(key: str, inputs: dict[str, str], action_path: Path) -> dict[str, str]:
    """The step's env: block as the runner fills it: inputs at their action.yml defaults."""
    env = {}
    for name, value in step(key).get("env", {}).items():
        match = INPUT.fullmatch(value)
        if value == "${{ github.action_path }}":
            env[name] = str(action_path)
        else:
            assert match, f"{key}: {name} is neither an input nor the action path"
            env[name] = inputs.get(match[1], ACTION["inputs"][match[1]].get("default", ""))
    unknown = set(inputs) - set(ACTION["inputs"])
    assert not unknown, f"no such inputs: {unknown}"
    return env


def run_step(
    key: str, cwd: Path, base: dict[str, str], inputs: dict[str, str], action_path: Path = ROOT
) -> tuple[int, dict[str, str], str]:
    output = Path(base["GITHUB_OUTPUT"])
    output.write_text("")
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step(key)["run"]],
        cwd=cwd,
        env={**base, **step_env(key, inputs, action_path)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
    return result.returncode, outputs, result.stdout + result.stderr


# --- the lock -------------------------------------------------------------------------------


def test_the_lock_pins_every_dependency_and_hashes_every_file() -> None:
    pins = {canonicalize_name(p.requirement.name): p for p in parse_lock(LOCK.read_text())}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["name"] == DIST
    extra = (ROOT / "requirements" / "action.in").read_text(encoding="utf-8").splitlines()
    wanted = [
        *project["project"]["dependencies"],
        *project["build-system"]["requires"],
        *(line for line in extra if line.strip() and not line.startswith("#")),
    ]
    for line in wanted:
        need = Requirement(line)
        pin = pins.get(canonicalize_name(need.name))
        assert pin, f"requirements/action.txt lacks {need.name} ({need}): run make lock"
        assert need.specifier.contains(pin.version, prereleases=True), (
            f"requirements/action.txt pins {need.name}=={pin.version}, outside {need}: make lock"
        )
    # The lock is closed: what each pin needs (as far as the dev environment, at the same
    # versions, can tell) is pinned too.
    for pin in pins.values():
        try:
            if importlib.metadata.version(pin.requirement.name) != pin.version:
                continue
            needs = importlib.metadata.requires(pin.requirement.name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        for line in needs:
            need = Requirement(line)
            if need.marker is None or need.marker.evaluate({"extra": ""}):
                assert canonicalize_name(need.name) in pins, f"{pin.text[:40]} needs {need}"
    assert LOCK.read_text().splitlines()[1].strip() == "#    make lock"


# --- the install step ------------------------------------------------------------------------


def make_wheel(folder: Path, name: str, version: str, requires: tuple[str, ...] = ()) -> Path:
    """A minimal pure-Python wheel, written by hand (no build backend, no network)."""
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    files = {
        f"{dist}_probe.py": "",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        + "".join(f"Requires-Dist: {r}\n" for r in requires),
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
    }
    record = ""
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record += f"{path},sha256={digest.decode()},{len(text.encode())}\n"
    files[f"{info}/RECORD"] = record + f"{info}/RECORD,,\n"
    wheel = folder / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(zipfile.ZipInfo(path, (2020, 1, 1, 0, 0, 0)), text)
    return wheel


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def pip_env(tmp: Path, house: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    return {
        **env,
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(house),
        "PIP_CACHE_DIR": str(tmp / "pip-cache"),
        "GITHUB_OUTPUT": str(tmp / "github_output"),
    }


@pytest.fixture(scope="module")
def house(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheels pip may fetch: our real one, a probe for the lock, a release needing more."""
    house = tmp_path_factory.mktemp("wheels")
    source = tmp_path_factory.mktemp("source") / "checkout"
    copy_checkout(source)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(house), str(source)],
        env=pip_env(source.parent, house), check=True, timeout=120, capture_output=True,
    )  # fmt: skip
    assert (house / f"boomi_reconciler-{__version__}-py3-none-any.whl").is_file()
    make_wheel(house, "lock-probe", "1.0")
    make_wheel(house, DIST, "9.0.0", requires=("lock-probe>=2",))
    return house


@pytest.fixture(scope="module")
def dev_packages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The dev environment's packages without our own, so pip sees reconciler as not installed."""
    farm = tmp_path_factory.mktemp("dev-packages")
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if "reconciler" not in entry.name.lower():
            (farm / entry.name).symlink_to(entry)
    return farm


def copy_checkout(target: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__")
    for name in ("reconciler", "schemas", "requirements"):
        shutil.copytree(ROOT / name, target / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, target / name)


class Runner(NamedTuple):
    """A fresh Python as setup-python leaves it, and the action's checkout beside it."""

    python: Path
    site: Path
    action: Path
    env: dict[str, str]


@pytest.fixture
def runner(tmp_path: Path, house: Path, dev_packages: Path) -> Runner:
    venv = tmp_path / "python"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60
    )
    [site] = (venv / "lib").glob("python3.*/site-packages")
    (site / "dev-packages.pth").write_text(f"{dev_packages}\n")
    action = tmp_path / "action"
    copy_checkout(action)
    probe = house / "lock_probe-1.0-py3-none-any.whl"
    satisfied = []
    for pin in parse_lock(LOCK.read_text()):
        try:
            if importlib.metadata.version(pin.requirement.name) == pin.version:
                satisfied.append(pin.text)
        except importlib.metadata.PackageNotFoundError:
            continue
    assert len(satisfied) >= 10, "the dev environment drifted from the lock: run make lock"
    lock = [*satisfied, f"lock-probe==1.0 --hash=sha256:{sha256(probe)}"]
    (action / "requirements" / "action.txt").write_text("\n".join(lock) + "\n")
    env = pip_env(tmp_path, house)
    env["PATH"] = os.pathsep.join([str(venv / "bin"), "/usr/bin", "/bin"])
    return Runner(venv, site, action, {**env, "RUNNER_OS": "Linux", "RUNNER_ARCH": "X64"})


def install(runner: Runner, version: str) -> tuple[int, str]:
    code, _, log = run_step(
        "Install reconciler", runner.action, runner.env, {"version": version}, runner.action
    )
    return code, log


def installed(runner: Runner) -> dict[str, str]:
    """Distribution name → version, of what the install put into the fresh Python."""
    found = {}
    for info in runner.site.glob("*.dist-info"):
        meta = (info / "METADATA").read_text().splitlines()
        fields = dict(line.split(": ", 1) for line in meta if ": " in line)
        found[fields["Name"]] = fields["Version"]
    return found


def test_a_version_installs_that_release_of_our_distribution(runner: Runner) -> None:
    code, log = install(runner, __version__)
    assert code == 0, log
    assert f"reconciler, version {__version__}" in log
    assert installed(runner) == {DIST: __version__, "lock-probe": "1.0"}
    assert (runner.python / "bin" / "reconciler").is_file()
    code, log = install(runner, "9.9.9")
    assert code != 0
    assert f"{DIST}==9.9.9" in log


def test_no_version_installs_the_actions_own_checkout(runner: Runner) -> None:
    init = runner.action / "reconciler" / "__init__.py"
    init.write_text(init.read_text().replace(f'"{__version__}"', f'"{__version__}+checkout"'))
    code, log = install(runner, "")
    assert code == 0, log
    assert f"reconciler, version {__version__}+checkout" in log
    assert installed(runner)[DIST] == f"{__version__}+checkout"


def test_anything_else_is_a_requirement_but_never_pypis_reconciler(
    runner: Runner, house: Path
) -> None:
    wheel = house / f"boomi_reconciler-{__version__}-py3-none-any.whl"
    code, log = install(runner, f"{DIST} @ {wheel.as_uri()}")
    assert code == 0, log
    assert installed(runner)[DIST] == __version__
    for version in ("reconciler==0.2.0", "reconciler", " reconciler[x]"):
        code, log = install(runner, version)
        assert code == 1
        assert "PyPI's reconciler is another project; ours is boomi-reconciler" in log
    code, log = install(runner, "--index-url=https://example.invalid")
    assert (code, "not an option" in log) == (1, True)


def test_a_dependency_whose_hash_differs_stops_the_install(runner: Runner) -> None:
    lock = runner.action / "requirements" / "action.txt"
    lock.write_text(re.sub(r"(lock-probe==1\.0 --hash=sha256:)\w+", r"\g<1>" + "0" * 64,
                           lock.read_text()))  # fmt: skip
    code, log = install(runner, "")
    assert code != 0
    assert "HASHES" in log
    assert installed(runner) == {}
    assert not (runner.python / "bin" / "reconciler").exists()


def test_a_release_that_needs_what_the_lock_does_not_pin_is_refused(runner: Runner) -> None:
    code, log = install(runner, "9.0.0")
    assert code == 1
    assert "::error title=reconciler::this reconciler needs lock-probe>=2 (installed: 1.0)" in log


def test_the_pip_cache_is_keyed_on_the_lock(runner: Runner) -> None:
    key = "pip-cache"
    code, outputs, log = run_step(key, runner.action, runner.env, {}, runner.action)
    assert code == 0, log
    lock = runner.action / "requirements" / "action.txt"
    python = "{}.{}".format(*sys.version_info[:2])
    assert outputs == {
        "dir": runner.env["PIP_CACHE_DIR"],
        "key": f"reconciler-pip-Linux-X64-py{python}-{sha256(lock)}",
    }
    steps = ACTION["runs"]["steps"]
    [cache] = [s for s in steps if s.get("uses", "").startswith("actions/cache@")]
    assert cache["with"] == {
        "path": "${{ steps.pip-cache.outputs.dir }}",
        "key": "${{ steps.pip-cache.outputs.key }}",
    }
    assert "steps.pip-cache.outputs.dir != ''" in cache["if"]
    order = [steps.index(s) for s in (step("Set up Python"), cache, step("Install reconciler"))]
    assert order == sorted(order)


# --- the main step ---------------------------------------------------------------------------


def run_main(root: Path, tmp: Path, **inputs: str) -> tuple[int, dict[str, str], str]:
    base = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(tmp / "github_output"),
        "GITHUB_STEP_SUMMARY": str(tmp / "summary.md"),
        "RUNNER_TEMP": str(tmp / "runner"),
    }
    return run_step("run", root, base, {k.replace("_", "-"): v for k, v in inputs.items()})


def commit_specs(root: Path) -> str:
    build_tree(root, {"specs/o.yaml": spec("orders", ORDERS, PROD_ATOM)})
    git(root, "add", ".")
    git(root, *IDENTITY, "commit", "-q", "-m", "specs")
    return git(root, "rev-parse", "HEAD").strip()


def test_install_only_installs(workspace: Path, tmp_path: Path) -> None:
    code, outputs, log = run_main(workspace, tmp_path, command="install")
    assert (code, outputs) == (0, {"exit-code": "0"})
    assert "+ reconciler" not in log


def test_apply_requires_a_review_unless_told_false(
    workspace: Path, tmp_path: Path, sim: Admin
) -> None:
    head = commit_specs(workspace)
    no_intents = "--no-durable-intents"
    code, outputs, log = run_main(workspace, tmp_path, command="apply", extra_args=no_intents)
    assert "+ reconciler apply --require-reviewed --no-durable-intents\n" in log
    assert (code, outputs["exit-code"]) == (1, "1"), log
    assert outputs["head-sha"] == head
    assert sim.submissions() == [], "nothing is sent without a review"
    code, outputs, log = run_main(
        workspace, tmp_path, command="apply", require_reviewed="false", extra_args=no_intents
    )
    assert "+ reconciler apply --no-durable-intents\n" in log
    assert code == 0, log
    assert (outputs["count-success"], outputs["head-sha"]) == ("1", head)
    assert len(sim.submissions()) == 1


def test_a_reviewed_plan_may_be_a_folder_and_a_missing_one_is_only_noted(
    workspace: Path, tmp_path: Path
) -> None:
    reviewed = tmp_path / "reviewed plans"
    reviewed.mkdir()
    _, _, log = run_main(workspace, tmp_path, command="apply", reviewed_plan=str(reviewed))
    quoted = str(reviewed).replace(" ", "\\ ")  # as bash's printf %q writes it
    assert f"+ reconciler apply --reviewed-plan {quoted} --require-reviewed\n" in log
    missing = f"{tmp_path}/gone\n::error::injected"
    _, _, log = run_main(workspace, tmp_path, command="apply", reviewed_plan=missing)
    notice = f"::notice title=reconciler::no reviewed plan at {tmp_path}/gone%0A::error::injected"
    assert notice in log
    assert "\n::error::injected" not in log
    assert "+ reconciler apply --require-reviewed\n" in log


def test_the_apply_guards_reach_the_tool_and_nothing_is_sent_when_they_fail(
    workspace: Path, tmp_path: Path, sim: Admin
) -> None:
    head = commit_specs(workspace)
    guards = {"expect_digest": "sha256:" + "0" * 64, "expect_commit": "1" * 40}
    code, outputs, log = run_main(
        workspace, tmp_path, command="apply", require_reviewed="false", allow_dirty="true",
        extra_args="--no-durable-intents", **guards,
    )  # fmt: skip
    argv = f"--expect-digest=sha256:{'0' * 64} --expect-commit={'1' * 40} --allow-dirty"
    assert f"+ reconciler apply {argv} --no-durable-intents\n" in log
    assert code != 0
    assert outputs["exit-code"] == str(code)
    assert outputs["head-sha"] == head
    assert sim.submissions() == []
    _, _, log = run_main(workspace, tmp_path, command="commit", allow_dirty="true", **guards)
    assert "+ reconciler commit --allow-dirty\n" in log
    code, _, log = run_main(workspace, tmp_path, command="plan", allow_dirty="true", **guards)
    assert "+ reconciler plan --output json --markdown-file " in log
    assert "--expect" not in log
    assert "--allow-dirty" not in log
    assert code == 0, log


def test_history_and_state_import(workspace: Path, tmp_path: Path) -> None:
    _, outputs, log = run_main(
        workspace, tmp_path, command="history", environment="default", extra_args="orders"
    )
    assert "+ reconciler --env default history orders\n" in log
    assert "exit-code" in outputs
    code, outputs, log = run_main(workspace, tmp_path, command="state-import")
    assert code == 1
    assert "command state-import needs import-dir" in log
    assert "+ reconciler" not in log
    _, _, log = run_main(workspace, tmp_path, command="state-import", import_dir="-downloaded")
    assert "+ reconciler state import ./-downloaded\n" in log
