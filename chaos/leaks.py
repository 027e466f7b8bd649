"""Hostile-platform scenarios: injection through every output channel, and the secret canary.

Both run the installed ``reconciler`` console script as the shipped apply workflow does: in a
git checkout whose ``origin`` is a bare repository, with ``GITHUB_ACTIONS=true`` and a job
summary and step-output file, so durable intents, annotations, masks, the summary and the
outputs are all written. The simulator plays a hostile platform (``reconciler.sim.hostile``):

- ``injection``: ``inject`` and ``echo`` faults put control characters, escape sequences,
  workflow commands, fences, HTML and @mentions into error messages, record fields and ids;
  then apply, plan, status, a second apply meeting a requestId with a newline, and commit.
  Every channel is read as its consumer reads it (``chaos.channels``).
- ``hostile_canary``: a secret with a quote, a tab, two spaces, a newline, ``<&>``, ``+/=%``
  and a non-ASCII letter is sent by every spec; ``echo`` (400, 500 after processing, 403)
  and ``echo_record`` faults quote the request bodies back. After apply, plan, status and
  commit, the value is searched, in every encoding (``channels.secret_forms``), in every file
  of the checkout, every commit of both repositories (``git log -p --all``) and every output.
"""

from __future__ import annotations

import os
import random
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from chaos import channels
from chaos.harness import (
    CANARY_VARIABLE,
    Completed,
    Simulator,
    config_text,
    process_id,
    reconciler_env,
    run,
    spec_text,
    world,
)

IDENTITY = {
    "GIT_AUTHOR_NAME": "Chaos",
    "GIT_AUTHOR_EMAIL": "chaos@example.com",
    "GIT_COMMITTER_NAME": "Chaos",
    "GIT_COMMITTER_EMAIL": "chaos@example.com",
}


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=60,
        env={**IDENTITY, "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(cwd)},
    )  # fmt: skip
    return done.stdout


def _repository(folder: Path, account: str, specs: Mapping[str, str]) -> tuple[Path, Path]:
    """A checkout with ``specs``, pushed to a bare ``origin``; (checkout, origin)."""
    root, origin = folder / "repo", folder / "origin.git"
    (root / "specs").mkdir(parents=True)
    _git(folder, "init", "-q", "-b", "main", str(root))
    (root / "reconciler.yaml").write_text(
        config_text(account, timeout=3, record_timeout=2, adopt_after=0.3), encoding="utf-8"
    )
    for name, text in specs.items():
        (root / "specs" / f"{name}.yaml").write_text(text, encoding="utf-8")
    _git(root, "add", ".")
    _git(root, "commit", "-q", "-m", "specs")
    _git(folder, "init", "-q", "--bare", "-b", "main", str(origin))
    _git(root, "remote", "add", "origin", str(origin))
    _git(root, "push", "-q", "origin", "main")
    return root, origin


def _actions_env(
    sim: Simulator, folder: Path, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    env = reconciler_env(sim, extra)
    env.update(IDENTITY)
    env.update(
        {
            "GITHUB_ACTIONS": "true",
            "GITHUB_STEP_SUMMARY": str(folder / "step-summary.md"),
            "GITHUB_OUTPUT": str(folder / "step-output.txt"),
            "GITHUB_SERVER_URL": "https://github.example",
            "GITHUB_REPOSITORY": "acme/runs",
            "GITHUB_RUN_ID": "42",
            "GITHUB_RUN_ATTEMPT": "1",
        }
    )
    for name in ("GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT"):
        Path(env[name]).touch()
    return env


def _rules(assignments: Sequence[tuple[int, dict[str, Any]]]) -> list[dict[str, Any]]:
    return [{**rule, "process": process_id(index)} for index, rule in assignments]


# Which process gets which hostile answer in the injection scenario. Outcomes cycle
# COMPLETE, COMPLETE, COMPLETE_WARN, ERROR (chaos.harness.OUTCOMES).
INJECTIONS: tuple[tuple[int, dict[str, Any]], ...] = (
    (0, {"endpoint": "executionRecordAsync", "kind": "inject", "fields": ["message"]}),
    (1, {"endpoint": "executionRecordAsync", "kind": "inject",
         "fields": ["processName", "atomName", "nodeId"]}),
    (2, {"endpoint": "executionRecordAsync", "kind": "inject", "fields": ["status"]}),
    (3, {"endpoint": "executionRecordAsync", "kind": "inject", "fields": ["message"]}),
    (4, {"endpoint": "executionRequest", "kind": "inject", "status": 400}),
    (5, {"endpoint": "executionRequest", "kind": "echo", "status": 400}),
    (6, {"endpoint": "executionRecordAsync", "kind": "inject", "status": 409, "count": 2}),
    (7, {"endpoint": "executionRequest", "kind": "echo_record"}),
    (8, {"endpoint": "executionRequest", "kind": "drop", "count": 1}),
    (8, {"endpoint": "executionRecordQuery", "kind": "inject",
         "fields": ["message", "status", "executionId"]}),
    (9, {"endpoint": "executionRecordAsync", "kind": "inject", "fields": ["executionId"]}),
    (11, {"endpoint": "executionRecordAsync", "kind": "inject", "fields": ["message"]}),
)  # fmt: skip
LATE_INJECTION = (10, {"endpoint": "executionRequest", "kind": "inject", "fields": ["requestId"]})


def _commands(checkout: Path, env: Mapping[str, str], late: str, late_text: str) -> list[Completed]:
    """apply, plan (text and Markdown), status; a late spec and apply; status, plan, commit."""
    done = [run(checkout, env, "apply", timeout=300)]
    done.append(run(checkout, env, "plan"))
    done.append(run(checkout, env, "plan", "--output", "markdown", "--markdown-file", "plan.md"))
    done.append(run(checkout, env, "status"))
    (checkout / "specs" / f"{late}.yaml").write_text(late_text, encoding="utf-8")
    _git(checkout, "add", "specs")  # applied from a commit, as apply requires
    _git(checkout, "commit", "-q", "-m", f"add {late}")
    done.append(run(checkout, env, "apply", timeout=300))
    done.append(run(checkout, env, "status"))
    done.append(run(checkout, env, "plan"))
    done.append(run(checkout, env, "commit", "--retry-delay", "0.05"))
    return done


def _exits(done: Sequence[Completed]) -> tuple[list[str], list[str]]:
    codes = [f"{' '.join(d.args)}: {d.code}" for d in done]
    bugs = [f"{' '.join(d.args)} exited 70" for d in done if d.code == 70]
    return codes, bugs


def injection(sim: Simulator, workdir: Path, *, fleet: int = 12) -> dict[str, Any]:
    """Hostile platform text through apply, plan, status and commit; every channel judged."""
    assignments = [*INJECTIONS, LATE_INJECTION]
    sim.reset(world(fleet, duration=(0.5, 1.5), faults=_rules(assignments)))
    names = [f"inj-{i:02d}" for i in range(fleet)]
    late = names[LATE_INJECTION[0]]
    specs = {n: spec_text(n, i) for i, n in enumerate(names) if n != late}
    checkout, origin = _repository(workdir / "injection", sim.env()["BOOMI_ACCOUNT_ID"], specs)
    env = _actions_env(sim, workdir / "injection")
    done = _commands(checkout, env, late, spec_text(late, LATE_INJECTION[0]))
    masks = channels.mask_forms([env["BOOMI_API_TOKEN"]])
    found, kinds = judge(checkout, origin, env, done, masks=masks, names=set(names))
    codes, bugs = _exits(done)
    stats = sim.stats()
    problems = bugs + [f"{k}: {v}" for k, v in found.as_dict().items() if _counted(k, v)]
    return {
        "faultsInjected": stats["faultsInjected"],
        "faultsByEndpoint": stats["faults"],
        "commands": codes,
        "channelsScanned": _channel_count(checkout),
        **found.as_dict(),
        "byChannel": kinds,
        "injectedLines": found.total,
        "violations": problems,
    }


def _counted(key: str, value: Any) -> bool:
    return isinstance(value, int) and value > 0 and not key.startswith(("annotations", "own"))


def _channel_count(checkout: Path) -> int:
    files = [p for p in checkout.rglob("*") if p.is_file() and ".git" not in p.parts]
    return len(files) + 3  # plus stdout/stderr, the step summary and outputs, the commit log


def judge(
    checkout: Path,
    origin: Path,
    env: Mapping[str, str],
    done: Sequence[Completed],
    *,
    masks: set[str],
    names: set[str],
) -> tuple[channels.Findings, dict[str, int]]:
    """Every channel read as its consumer reads it.

    Returns the findings and their count per kind of channel (logs, markdown, outputs, json,
    xml, commits).
    """
    found = channels.Findings()
    kinds: dict[str, int] = {}

    def add(kind: str, more: channels.Findings) -> None:
        found.merge(more)
        kinds[kind] = kinds.get(kind, 0) + more.total

    for index, completed in enumerate(done):
        for stream, text in (("stdout", completed.out), ("stderr", completed.err)):
            label = f"{' '.join(completed.args)} #{index} {stream}"
            add("logs", channels.scan_log(text, label, masks=masks, names=names))
    summary = Path(env["GITHUB_STEP_SUMMARY"]).read_text(encoding="utf-8", errors="replace")
    add("markdown", channels.scan_markdown(summary, "$GITHUB_STEP_SUMMARY"))
    outputs = Path(env["GITHUB_OUTPUT"]).read_text(encoding="utf-8", errors="replace")
    add("outputs", channels.scan_outputs(outputs, "$GITHUB_OUTPUT"))
    for path in sorted(checkout.rglob("*")):
        if not path.is_file() or ".git" in path.relative_to(checkout).parts:
            continue
        name, data = str(path.relative_to(checkout)), path.read_bytes()
        if path.suffix == ".md" and not name.startswith("specs"):
            add("markdown", channels.scan_markdown(data.decode("utf-8", "replace"), name))
        elif path.suffix == ".json":
            add("json", channels.scan_json(data, name))
        elif path.suffix == ".xml":
            add("xml", channels.scan_xml(data, name))
        elif path.suffix in (".log", ".txt"):
            text = data.decode("utf-8", "replace")
            add("logs", channels.scan_log(text, name, masks=masks, names=names))
    for repo, label in ((checkout, "commit message"), (origin, "origin commit message")):
        log = _git(repo, "log", "--all", "--format=%B")
        add("commits", channels.scan_log(log, label, masks=masks, names=names))
    return found, kinds


# -- the hostile canary ----------------------------------------------------------------------

CANARY_FAULTS: tuple[tuple[int, dict[str, Any]], ...] = (
    (0, {"endpoint": "executionRequest", "kind": "echo", "status": 400}),
    (1, {"endpoint": "executionRequest", "kind": "echo", "status": 500, "processed": True,
         "count": 1}),
    (2, {"endpoint": "executionRequest", "kind": "echo_record"}),
    (3, {"endpoint": "executionRequest", "kind": "echo_record"}),
    (5, {"endpoint": "executionRequest", "kind": "echo", "status": 400, "count": 1}),
    (6, {"endpoint": "executionRecordAsync", "kind": "echo", "status": 409, "count": 2}),
)  # fmt: skip
LATE_CANARY = (7, {"endpoint": "executionRequest", "kind": "echo", "status": 403})


def _tally(items: Iterable[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in items:
        out[item] = out.get(item, 0) + 1
    return dict(sorted(out.items()))


def _mask(line: str) -> bool:
    """Our own ``::add-mask::`` line: the runner's documented way to hide a value.

    Not a leak; a forged one is the injection scenario's business.
    """
    return line.startswith("::add-mask::")


def canary_value(seed: int) -> str:
    """A unique secret that every encoding changes.

    It holds a quote, a tab, two spaces, a newline, ``<&>``, ``+/=%``, a backslash and a
    non-ASCII letter.
    """
    return f'cnry-{random.Random(seed).getrandbits(96):024x}"q\tt  s\nn<&>+/=%\\é-end'


def hostile_canary(
    sim: Simulator, workdir: Path, *, fleet: int = 8, seed: int = 5
) -> dict[str, Any]:
    """A secret quoted back by the platform; after commit, searched in every encoding."""
    value = canary_value(seed)
    sim.reset(world(fleet, duration=(0.5, 1.5), faults=_rules([*CANARY_FAULTS, LATE_CANARY])))
    names = [f"can-{i:02d}" for i in range(fleet)]
    late = names[LATE_CANARY[0]]
    specs = {n: spec_text(n, i, secret=True) for i, n in enumerate(names) if n != late}
    folder = workdir / "canary"
    checkout, origin = _repository(folder, sim.env()["BOOMI_ACCOUNT_ID"], specs)
    env = _actions_env(sim, folder, {CANARY_VARIABLE: value})
    done = _commands(checkout, env, late, spec_text(late, LATE_CANARY[0], secret=True))
    sent = sum(1 for s in sim.submissions() if s["properties"]["dynamic"].get("API_KEY") == value)
    forms = channels.secret_forms(value)
    hits: list[str] = []
    mask_lines = 0
    for index, completed in enumerate(done):
        for stream, text in (("stdout", completed.out), ("stderr", completed.err)):
            kept = [line for line in text.split("\n") if not _mask(line)]
            mask_lines += sum(1 for line in text.split("\n") if _mask(line))
            for form in channels.count_forms("\n".join(kept).encode(), forms):
                hits.append(f"{' '.join(completed.args)} #{index} {stream}: {forms[form]}")
    for name in ("GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT"):
        for form in channels.count_forms(Path(env[name]).read_bytes(), forms):
            hits.append(f"${name}: {forms[form]}")
    files = [p for p in sorted(checkout.rglob("*")) if p.is_file() and ".git" not in p.parts]
    for path in files:
        for form in channels.count_forms(path.read_bytes(), forms):
            hits.append(f"{path.relative_to(checkout)}: {forms[form]}")
    for repo, label in ((checkout, "git log -p --all"), (origin, "origin git log -p --all")):
        history = _git(repo, "log", "-p", "--all", "--format=%H%n%B").encode()
        for form in channels.count_forms(history, forms):
            hits.append(f"{label}: {forms[form]}")
    partial = value[:16]  # a platform that cuts a message short still leaks the start
    partial_hits = sum(1 for p in files if partial.encode() in p.read_bytes()) + sum(
        1
        for d in done
        for line in (d.out + d.err).split("\n")
        if partial in line and not _mask(line)
    )
    codes, bugs = _exits(done)
    problems = list(bugs)
    if not sent:
        problems.append("the canary never reached the platform: the check proves nothing")
    if hits:
        problems.append(f"the canary in {len(hits)} place(s): {hits[:5]}")
    if partial_hits:
        problems.append(f"the canary's first 16 characters in {partial_hits} place(s)")
    stats = sim.stats()
    return {
        "submissionsCarryingCanary": sent,
        "faultsInjected": stats["faultsInjected"],
        "faultsByEndpoint": stats["faults"],
        "forms": len(forms),
        "filesScanned": len(files),
        "commits": int(_git(origin, "rev-list", "--all", "--count").strip()),
        "outputLinesScanned": sum(len((d.out + d.err).split("\n")) for d in done),
        "maskLines": mask_lines,
        "commands": codes,
        "hits": len(hits),
        "hitPlaces": sorted({h.rpartition(": ")[0] for h in hits}),
        "hitForms": _tally(h.rpartition(": ")[2] for h in hits),
        "partialHits": partial_hits,
        "violations": problems,
    }
