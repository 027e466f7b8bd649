"""The third-party actions the workflows use, emulated by what they do to the job.

``actions/checkout``: clones the origin at the commit the workflow asks for, with its fetch
depth, the way the action's git commands do (``ref:`` input, else ``GITHUB_SHA`` on
``GITHUB_REF``); ``persist-credentials: false`` leaves a checkout that cannot push (or, in a
private repository, fetch again), and a token without ``contents: write`` cannot push either.
``actions/upload-artifact`` and ``download-artifact``: a folder per run and name, also served
by the REST stand-in as the run's artifact. ``actions/setup-python`` and ``actions/cache``: the
test environment's Python is already there. The JUnit reporter: reads the report files and
records them on the run, failing when there are none.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.github.emulate.runner import Job

Result = tuple[int, str, dict[str, str]]
UNREACHABLE = "file:///github.invalid/acme/specs.git"  # a remote that answers nothing
DENIED = "file:///github.invalid/permission-denied/acme/specs.git"


def _git(job: Job, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(job.home / "home"), "LANG": "C.UTF-8"}
    return subprocess.run(
        ["git", *args], cwd=job.workspace, env=env, capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip


def checkout(job: Job, with_: dict[str, str], env: dict[str, str]) -> Result:
    unknown = set(with_) - {"ref", "fetch-depth", "persist-credentials"}
    if unknown:
        raise AssertionError(f"{job.key}: checkout inputs {sorted(unknown)} are not emulated")
    run, em = job.run, job.em
    contents = job.permissions.get("contents", "none")
    if em.private and contents == "none":
        return (
            1,
            "remote: Repository not found.\n"
            "fatal: repository 'https://github.com/acme/specs/' not found",
            {},
        )
    if job.workspace.exists():
        shutil.rmtree(job.workspace)
    job.workspace.mkdir(parents=True)
    depth = int(with_.get("fetch-depth", "1") or "1")
    persist = with_.get("persist-credentials", "true") != "false"
    ref = with_.get("ref", "")
    log: list[str] = []

    def git(*args: str) -> None:
        done = _git(job, *args)
        log.append(f"git {' '.join(args)}\n{done.stdout}{done.stderr}")
        if done.returncode != 0:
            raise _Failed("\n".join(log))

    try:
        git("init", "-q", "-b", "main")
        git("remote", "add", "origin", em.origin.url)
        deepen = [f"--depth={depth}"] if depth > 0 else []
        if ref and re.fullmatch(r"[0-9a-f]{40}", ref):
            sha, branch = ref, None
        elif ref:
            branch = ref.removeprefix("refs/heads/")
            sha = None
        else:
            sha = run.sha
            branch = (
                run.ref.removeprefix("refs/heads/") if run.ref.startswith("refs/heads/") else None
            )
        if depth == 0:
            git(
                "fetch",
                "-q",
                "--prune",
                "--no-tags",
                "origin",
                "+refs/heads/*:refs/remotes/origin/*",
            )
        if branch and sha is None:
            if depth > 0:
                git(
                    "fetch",
                    "-q",
                    "--no-tags",
                    *deepen,
                    "origin",
                    f"+refs/heads/{branch}:refs/remotes/origin/{branch}",
                )
            git("checkout", "-q", "--force", "-B", branch, f"refs/remotes/origin/{branch}")
        elif branch and sha:
            if depth > 0:
                git(
                    "fetch",
                    "-q",
                    "--no-tags",
                    *deepen,
                    "origin",
                    f"+{sha}:refs/remotes/origin/{branch}",
                )
            git("checkout", "-q", "--force", "-B", branch, sha)
        else:
            assert sha is not None
            target = run.ref if run.ref.startswith("refs/pull/") else sha
            git(
                "fetch",
                "-q",
                "--no-tags",
                *deepen,
                "origin",
                f"+{sha}:{_tracking(target)}",
            )
            git("checkout", "-q", "--force", "--detach", sha)
        if em.private:
            git("remote", "set-url", "origin", UNREACHABLE)
            if persist:
                git("config", "--local", f"url.{em.origin.url}.insteadOf", UNREACHABLE)
        elif not persist:
            git("remote", "set-url", "--push", "origin", UNREACHABLE)
        if persist and contents != "write":
            git("remote", "set-url", "--push", "origin", DENIED)
    except _Failed as failed:
        return 1, str(failed), {}
    return 0, "\n".join(log), {}


def _tracking(target: str) -> str:
    """Where checkout fetches a commit it checks out detached."""
    if target.startswith("refs/pull/"):
        return f"refs/remotes/pull/{target.split('/')[2]}/merge"
    return "refs/remotes/origin/detached"


class _Failed(Exception):
    pass


def upload_artifact(job: Job, with_: dict[str, str], env: dict[str, str]) -> Result:
    unknown = set(with_) - {
        "name",
        "path",
        "if-no-files-found",
        "retention-days",
        "overwrite",
        "include-hidden-files",
    }
    if unknown:
        raise AssertionError(
            f"{job.key}: upload-artifact inputs {sorted(unknown)} are not emulated"
        )
    name = with_.get("name") or "artifact"
    paths = [p.strip() for p in with_["path"].splitlines() if p.strip()]
    found: dict[str, bytes] = {}
    resolved = [Path(raw) if Path(raw).is_absolute() else job.workspace / raw for raw in paths]
    existing = [p for p in resolved if p.exists()]
    # the artifact's root: the folder given, or the common ancestor of several paths
    root = (
        existing[0]
        if len(existing) == 1
        else Path(os.path.commonpath(existing))
        if existing
        else job.workspace
    )
    for path in resolved:
        if path.is_dir():
            for file in sorted(path.rglob("*")):
                relative = file.relative_to(root)
                if file.is_file() and (
                    with_.get("include-hidden-files") == "true"
                    or not any(p.startswith(".") for p in relative.parts)
                ):
                    found[str(relative)] = file.read_bytes()
        elif path.is_file():
            found[str(path.relative_to(root)) if len(existing) > 1 else path.name] = (
                path.read_bytes()
            )
    if not found:
        mode = with_.get("if-no-files-found", "warn")
        message = (
            f"No files were found with the provided path: {with_['path']}. "
            "No artifacts will be uploaded."
        )
        if mode == "error":
            return 1, f"::error::{message}", {}
        return 0, f"::warning::{message}" if mode == "warn" else message, {}
    run = job.run
    if name in run.artifacts and with_.get("overwrite") != "true":
        return (
            1,
            "::error::Failed to CreateArtifact: an artifact with this name already exists on "
            f"the workflow run ({name})",
            {},
        )
    run.artifacts[name] = found
    job.em.gh.add_artifact(run.id, name, found)
    return 0, f"uploaded {name}: {sorted(found)}", {"artifact-id": str(len(run.artifacts))}


def download_artifact(job: Job, with_: dict[str, str], env: dict[str, str]) -> Result:
    unknown = set(with_) - {"name", "path", "run-id", "github-token"}
    if unknown:
        raise AssertionError(
            f"{job.key}: download-artifact inputs {sorted(unknown)} are not emulated"
        )
    run_id = int(with_.get("run-id") or job.run.id)
    if run_id != job.run.id and not with_.get("github-token"):
        return 1, "::error::run-id needs github-token", {}
    source = job.em.runs_by_id[run_id].artifacts if run_id in job.em.runs_by_id else {}
    name = with_["name"]
    if name not in source:
        return (
            1,
            f"::error::Unable to download artifact(s): Artifact not found for name: {name}",
            {},
        )
    target = Path(with_["path"]) if with_.get("path") else job.workspace
    if not target.is_absolute():
        target = job.workspace / target
    for relative, data in source[name].items():
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        (target / relative).write_bytes(data)
    return 0, f"downloaded {name} to {target}", {"download-path": str(target)}


def setup_python(job: Job, with_: dict[str, str], env: dict[str, str]) -> Result:
    return 0, "the test environment's Python", {"python-version": "3.11"}


def cache(job: Job, with_: dict[str, str], env: dict[str, str]) -> Result:
    return 0, "cache: nothing restored (emulated)", {"cache-hit": "false"}


def junit_report(job: Job, with_: dict[str, str], env: dict[str, str]) -> Result:
    pattern = with_.get("report_paths") or with_.get("path") or ""
    reports: list[Path] = []
    for raw in pattern.splitlines() or [pattern]:
        raw = raw.strip()
        if raw:
            reports.extend(
                sorted(job.workspace.glob(raw))
                if not Path(raw).is_absolute()
                else sorted(Path("/").glob(raw.lstrip("/")))
            )
    if not reports:
        fail = with_.get("require_tests", "false") == "true"
        return (1 if fail else 0), f"no JUnit report matches {pattern}", {}
    for report in reports:
        ET.fromstring(report.read_bytes())
        job.run.junit.append(report.read_text(encoding="utf-8"))
    return 0, f"published {len(reports)} report(s)", {}


EMULATED: dict[str, Callable[[Job, dict[str, str], dict[str, str]], Result]] = {
    "actions/checkout": checkout,
    "actions/upload-artifact": upload_artifact,
    "actions/download-artifact": download_artifact,
    "actions/setup-python": setup_python,
    "actions/cache": cache,
    "mikepenz/action-junit-report": junit_report,
    "dorny/test-reporter": junit_report,
}
