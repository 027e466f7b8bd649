"""The benchmark's inputs: a workspace of generated specs, a simulator world, a config.

Everything is derived from a count and a seed, so two runs of the harness measure the same
thing. Times in the world are *platform* seconds; the time scale ``scale`` divides durations
(the simulator does that) and the harness multiplies the rate limit and divides the poll
settings by the same factor, so the whole scenario runs ``scale`` times faster than it would
against the real platform while keeping its shape.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ACCOUNT = "bench-AB12CD"
USER = "bench@example.com"
TOKEN = "5f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"  # noqa: S105 - the simulator's fake token
ENVIRONMENT = "Production"
ATOMS = (
    "3456789a-bcde-f012-3456-789abcdef012",
    "3456789a-bcde-f012-3456-789abcdef013",
)
COMPONENT = "456789ab-cdef-0123-4567-89abcdef0123"
SECRET_NAME = "BENCH_API_KEY"  # noqa: S105 - a variable name, not a secret

# The real platform's documented limit; the harness multiplies it by the time scale.
PLATFORM_RATE = 10.0
# The tool's documented poll defaults, in platform seconds (divided by the time scale).
POLL_INITIAL = 1.0
POLL_MAX = 15.0


def process_id(index: int) -> str:
    """A stable GUID for process number ``index``."""
    return f"7{index:07x}-f012-4456-889a-bcdef0123456"


@dataclass(frozen=True)
class ProcessShape:
    """How long runs of one process take (platform seconds): lognormal, capped."""

    median: float
    sigma: float
    maximum: float
    record_delay: float


def process_shapes(count: int, seed: int) -> list[ProcessShape]:
    """``count`` processes whose medians spread from seconds to minutes (a skewed mix)."""
    rng = random.Random(f"{seed}/processes")
    shapes = []
    for i in range(count):
        # Most processes are quick; a few are slow: medians 3 s .. 90 s, log-spaced.
        median = 3.0 * (30.0 ** (i / max(1, count - 1)))
        shapes.append(
            ProcessShape(
                median=round(median, 2),
                sigma=0.7,
                maximum=300.0,
                record_delay=round(rng.uniform(0.5, 2.0), 2),
            )
        )
    return shapes


def world(*, processes: int, seed: int, rate: float, outcomes: bool = True) -> dict[str, Any]:
    """The simulator world (JSON, camelCase keys) the specs run against.

    ``rate`` is the account's limit in real requests per second; 0 means unlimited.
    """
    shapes = process_shapes(processes, seed)
    items = []
    for i, shape in enumerate(shapes):
        item: dict[str, Any] = {
            "id": process_id(i),
            "name": f"Bench process {i}",
            "deployments": [ENVIRONMENT],
            "duration": {
                "distribution": "lognormal",
                "median": shape.median,
                "sigma": shape.sigma,
                "max": shape.maximum,
                "min": 0.2,
            },
            "recordDelay": shape.record_delay,
        }
        if outcomes and i % 7 == 3:  # a few processes sometimes end with a warning
            item["outcome"] = ["COMPLETE", "COMPLETE", "COMPLETE_WARN"]
        items.append(item)
    return {
        "seed": seed,
        "accounts": [
            {
                "id": ACCOUNT,
                "rateLimit": rate,
                "users": [{"name": USER, "token": TOKEN}],
            }
        ],
        "environments": [{"id": "env-prod", "name": ENVIRONMENT}],
        "runtimes": [
            {"id": atom, "name": f"Bench Atom {n}", "environment": ENVIRONMENT}
            for n, atom in enumerate(ATOMS)
        ],
        "processes": items,
    }


# The apply suite: four worlds, each a different reason for an apply to be slow.
WORLDS = ("today", "heavy-tail", "rate-bound", "own-speed")

WORLD_TEXT = {
    "today": "12 processes, lognormal, medians 3..90 s log-spaced, sigma 0.7, capped at "
    "{cap:g} s; record delay 0.5..2 s; every run drawn afresh",
    "heavy-tail": "10 processes: one of 150..220 s (uniform), nine lognormal with medians "
    "2..20 s, sigma 0.5, capped at 60 s; record delay 0.5..2 s",
    "rate-bound": "6 processes of 0.5..3 s (uniform), record delay 0.5..1 s: many short runs, "
    "the rate limit binds",
    "own-speed": "12 processes as today's (sigma 0.3 per run) and each execution its own "
    "speed: a lognormal factor, sigma 0.6, kept across applies (executionSpeed, key DPP_NAME)",
}


def suite_world(kind: str, *, seed: int, rate: float, cap: float = 300.0) -> dict[str, Any]:
    """One world of the apply suite (``WORLDS``); ``cap`` bounds today's durations."""
    data = world(processes=suite_processes(kind), seed=seed, rate=rate)
    rng = random.Random(f"{seed}/{kind}")
    processes = data["processes"]
    if kind == "today":
        for p in processes:
            p["duration"]["max"] = cap
    elif kind == "heavy-tail":
        processes[0]["duration"] = {"distribution": "uniform", "min": 150.0, "max": 220.0}
        for i, p in enumerate(processes[1:]):
            p["duration"] = {
                "distribution": "lognormal",
                "median": round(2.0 * 10.0 ** (i / 8), 2),
                "sigma": 0.5,
                "max": 60.0,
                "min": 0.2,
            }
    elif kind == "rate-bound":
        for p in processes:
            p["duration"] = {"distribution": "uniform", "min": 0.5, "max": 3.0}
            p["recordDelay"] = round(rng.uniform(0.5, 1.0), 2)
    elif kind == "own-speed":
        for p in processes:
            p["duration"]["sigma"] = 0.3
            p["duration"]["max"] = cap
            p["executionSpeed"] = {"sigma": 0.6, "key": "DPP_NAME"}
    else:
        raise ValueError(f"unknown world {kind!r}; expected one of {', '.join(WORLDS)}")
    return data


def suite_processes(kind: str) -> int:
    """How many processes the specs of a suite world spread over."""
    return {"heavy-tail": 10, "rate-bound": 6}.get(kind, 12)


def config(*, scale: float, concurrency: int, rate: float) -> str:
    """``reconciler.yaml`` for the workspace: the documented defaults, time-scaled."""
    return (
        "version: 1\n"
        "specs: specs\n"
        "state: state\n"
        "artifacts: artifacts\n"
        "platform:\n"
        "  url: http://127.0.0.1:9/api/rest/v1   # BOOMI_API_URL overrides it\n"
        f"  accountId: {ACCOUNT}\n"
        "git:\n"
        "  durableIntents: false\n"
        "vars:\n"
        "  run_date: '2026-01-15'\n"
        "  owner: platform\n"
        "apply:\n"
        f"  concurrency: {concurrency}\n"
        f"  rateLimit: {rate:g}\n"
        f"  pollInitial: {POLL_INITIAL / scale:g}\n"
        f"  pollMax: {POLL_MAX / scale:g}\n"
        # Time-scaled but never short: on a loaded machine a run's record can be read late, and
        # a budget that runs out fails the apply instead of measuring it. Neither binds in a
        # healthy run, so they do not move a figure.
        f"  timeout: {max(3600 / scale, 600):g}\n"
        f"  recordTimeout: {max(600 / scale, 120):g}\n"
    )


# ---------------------------------------------------------------------------------------------
# Specs


def _tag(distinct: bool, n: int, kind: str) -> str:
    """Text that makes a document's templates its own (``distinct``), or nothing (shared)."""
    return f"{kind}{n}:" if distinct else ""


def _single(
    name: str, process: str, atom: str, n: int, secret: bool, distinct: bool = False
) -> str:
    t = _tag(distinct, n, "s")
    lines = [
        "apiVersion: reconciler/v1",
        "kind: Execution",
        "metadata:",
        f"  name: {name}",
        f"  labels: {{team: team-{n % 13}, tier: t{n % 3}}}",
        f"  description: Generated single execution number {n}.",
        "spec:",
        f"  processId: {process}",
        f"  atomId: {atom}",
        "  dynamicProperties:",
        f'    DPP_RUN_DATE: "{t}{{{{ vars.run_date }}}}"',
        f'    DPP_NAME: "{t}{{{{ name | upper }}}}"',  # the execution's identity
        f'    DPP_BATCH: "{t}{{{{ vars.batch * 2 }}}}"',
        f"    DPP_REGIONS: \"{t}{{{{ vars.regions | join(',') }}}}\"",
    ]
    if secret:
        # A secret must be the whole value: the same text in every document that has one.
        lines.append(f"    DPP_KEY: '{{{{ secret(\"{SECRET_NAME}\") }}}}'")
    lines += [
        "  processProperties:",
        f"    {COMPONENT}:",
        f'      owner: "{t}{{{{ vars.owner }}}}"',
        f"      shard: {n % 16}",
        "  vars:",
        f"    batch: {100 + n % 50}",
        "    regions: [eu, us, apac]",
        "  policy:",
        "    run: onChange",
        "    timeout: 30m",
        f"    retries: {{count: {n % 2}}}",
    ]
    return "\n".join(lines) + "\n"


def _set(
    name: str,
    process: str,
    atom: str,
    count: int,
    n: int,
    with_deps: bool,
    distinct: bool = False,
) -> str:
    t = _tag(distinct, n, "e")
    lines = [
        "apiVersion: reconciler/v1",
        "kind: ExecutionSet",
        "metadata:",
        f"  name: {name}",
        f"  labels: {{team: team-{n % 13}}}",
        "spec:",
        "  defaults:",
        f"    processId: {process}",
        f"    atomId: {atom}",
        "    vars: {batch: 250, window: 15}",
        "    dynamicProperties:",
        f'      DPP_RUN_DATE: "{t}{{{{ vars.run_date }}}}"',
        f'      DPP_NAME: "{t}{{{{ name }}}}"',
        f'      DPP_ITEM: "{t}{{{{ name }}}}-{{{{ vars.batch }}}}"',
        f'      DPP_WINDOW: "{t}{{{{ vars.window * 60 }}}}"',
        "    processProperties:",
        f"      {COMPONENT}: {{owner: '{t}{{{{ vars.owner | title }}}}'}}",
        "    policy: {run: onChange, timeout: 2h}",
        "  executions:",
    ]
    for i in range(count):
        lines.append(f"    - name: {name}-item-{i:03d}")
        lines.append(f"      vars: {{batch: {100 + i}}}")
        if with_deps and i % 4 and i > 0:
            lines.append(f"      dependsOn: [{name}-item-{i - 1:03d}]")
    return "\n".join(lines) + "\n"


def _matrix(
    name: str,
    process: str,
    atom: str,
    axes: tuple[int, int],
    n: int,
    with_deps: bool,
    distinct: bool = False,
) -> str:
    t = _tag(distinct, n, "m")
    regions = [f"r{i}" for i in range(axes[0])]
    shards = list(range(axes[1]))
    lines = [
        "apiVersion: reconciler/v1",
        "kind: ExecutionSet",
        "metadata:",
        f"  name: {name}",
        f"  labels: {{team: team-{n % 13}, kind: matrix}}",
        "spec:",
        "  defaults:",
        f"    processId: {process}",
        f"    atomId: {atom}",
        "    vars: {batch: 500}",
        "    dynamicProperties:",
        f'      DPP_REGION: "{t}{{{{ matrix.region | upper }}}}"',
        f'      DPP_SHARD: "{t}{{{{ matrix.shard }}}}/{{{{ vars.batch }}}}"',
        f'      DPP_RUN_DATE: "{t}{{{{ vars.run_date }}}}"',
        f'      DPP_NAME: "{t}{{{{ name }}}}"',
        "    processProperties:",
        f"      {COMPONENT}: {{region: '{t}{{{{ matrix.region }}}}', "
        f"batch: '{t}{{{{ vars.batch }}}}'}}",
        "    policy: {run: onChange, timeout: 2h, retries: {count: 1}}",
        "  matrix:",
        f"    region: [{', '.join(regions)}]",
        f"    shard: [{', '.join(str(s) for s in shards)}]",
        "  executions:",
        f'    - name: "{name}-extract-{{{{ matrix.region }}}}-{{{{ matrix.shard }}}}"',
        f'    - name: "{name}-load-{{{{ matrix.region }}}}-{{{{ matrix.shard }}}}"',
        "      vars: {batch: 1000}",
    ]
    if with_deps:
        lines.append(
            f'      dependsOn: ["{name}-extract-{{{{ matrix.region }}}}-{{{{ matrix.shard }}}}"]'
        )
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Workspace:
    """A generated workspace: where it is and what it holds."""

    root: Path
    executions: int
    files: int
    documents: int
    kinds: dict[str, int]
    templates: int = 0  # template strings in the specs
    template_sources: int = 0  # distinct ones among them (what a compile cache must compile)


def generate(
    root: Path,
    executions: int,
    *,
    processes: int,
    seed: int,
    scale: float,
    concurrency: int,
    rate: float,
    with_deps: bool,
    secret: bool = True,
    distinct: bool = False,
) -> Workspace:
    """Write ``reconciler.yaml`` and specs defining exactly ``executions`` executions.

    The mix: 40 % single ``Execution`` documents (half one per file, half ten per file), 30 %
    plain ``ExecutionSet`` items (20 per set), 30 % matrix items (3 x 5 matrix, two executions
    each, so 30 per set). Every property is a Jinja template. ``distinct``: every document's
    templates carry its own text (a tag with the document's number), so no two documents share
    a template source, as in a repository of hand-written specs; otherwise the documents of a
    kind share their template text.
    """
    rng = random.Random(f"{seed}/specs")
    specs = root / "specs"
    (specs / "singles").mkdir(parents=True, exist_ok=True)
    (specs / "sets").mkdir(parents=True, exist_ok=True)
    (specs / "matrices").mkdir(parents=True, exist_ok=True)
    (root / "reconciler.yaml").write_text(
        config(scale=scale, concurrency=concurrency, rate=rate), encoding="utf-8"
    )

    def target() -> tuple[str, str]:
        return process_id(rng.randrange(processes)), ATOMS[rng.randrange(len(ATOMS))]

    matrix_total = (executions * 3 // 10) // 30 * 30
    set_total = (executions * 3 // 10) // 20 * 20
    single_total = executions - matrix_total - set_total
    files = documents = 0
    templates: list[str] = []
    kinds = {"Execution": single_total, "ExecutionSet": set_total, "matrix": matrix_total}

    # Singles: the first half one per file, the rest ten documents per file.
    one_per_file = single_total // 2
    for n in range(one_per_file):
        process, atom = target()
        text = _single(f"single-{n:05d}", process, atom, n, secret and n % 10 == 0, distinct)
        (specs / "singles" / f"single-{n:05d}.yaml").write_text(text, encoding="utf-8")
        templates += _templates(text)
        files += 1
        documents += 1
    n = one_per_file
    while n < single_total:
        chunk = []
        for _ in range(min(10, single_total - n)):
            process, atom = target()
            chunk.append(
                _single(f"single-{n:05d}", process, atom, n, secret and n % 10 == 0, distinct)
            )
            n += 1
        text = "---\n".join(chunk)
        (specs / "singles" / f"multi-{n:05d}.yaml").write_text(text, encoding="utf-8")
        templates += _templates(text)
        files += 1
        documents += len(chunk)

    for s in range(set_total // 20):
        process, atom = target()
        text = _set(f"set-{s:04d}", process, atom, 20, s, with_deps, distinct)
        (specs / "sets" / f"set-{s:04d}.yaml").write_text(text, encoding="utf-8")
        templates += _templates(text)
        files += 1
        documents += 1

    for m in range(matrix_total // 30):
        process, atom = target()
        text = _matrix(f"mx-{m:04d}", process, atom, (3, 5), m, with_deps, distinct)
        (specs / "matrices" / f"mx-{m:04d}.yaml").write_text(text, encoding="utf-8")
        templates += _templates(text)
        files += 1
        documents += 1

    return Workspace(
        root=root,
        executions=executions,
        files=files,
        documents=documents,
        kinds=kinds,
        templates=len(templates),
        template_sources=len(set(templates)),
    )


_TEMPLATE = re.compile(r"\"([^\"\n]*\{\{[^\"\n]*)\"|'([^'\n]*\{\{[^'\n]*)'")


def _templates(text: str) -> list[str]:
    """The quoted template strings of generated YAML (exact for this generator's output)."""
    return [a or b for a, b in _TEMPLATE.findall(text)]


def write_world(path: Path, data: dict[str, Any]) -> Path:
    """Write a world as JSON (valid YAML 1.2, which ``reconciler sim serve --world`` reads)."""
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")
    return path
