"""Start-up stays cheap: ``--help`` and ``validate`` do not import what they do not use.

Each check runs a fresh interpreter (the test session has imported everything already) and
looks at ``sys.modules`` after the command.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest

from reconciler.cli import cli
from reconciler.cli.base import COMMANDS

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, sys
from reconciler.cli import main
sys.argv = ["reconciler", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit:
    pass
print("\\n" + json.dumps(sorted(sys.modules)))
"""

HEAVY = ("httpx", "jinja2", "jsonschema", "reconciler.apply.engine", "reconciler.boomi.client")


def _modules(args: list[str], cwd: Path) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_help_imports_no_engine_client_templates_or_schema(tmp_path: Path) -> None:
    loaded = _modules(["--help"], tmp_path)
    assert not [name for name in HEAVY if name in loaded]
    assert "pydantic" not in loaded
    assert "reconciler.cli.apply" not in loaded
    assert "reconciler.sim" not in loaded


def test_validate_of_valid_specs_imports_no_engine_client_or_schema_validator(
    tmp_path: Path,
) -> None:
    (tmp_path / "reconciler.yaml").write_text((ROOT / "reconciler.yaml").read_text())
    spec = sorted((ROOT / "specs").rglob("*.yaml"))[0]
    loaded = _modules(["validate", str(spec)], tmp_path)
    unexpected = ("httpx", "jsonschema", "reconciler.apply.engine", "reconciler.boomi.client")
    assert not [name for name in unexpected if name in loaded]
    assert "reconciler.store.state" not in loaded
    assert "jinja2" in loaded  # validation renders the templates


#: What ``validate`` of valid specs has no use for: the platform client and its HTTP stack, the
#: engine and its progress events, the simulator, the state store, the plan's use case and
#: review, the reports and the GitHub output (each imported by the command or the output
#: format that prints it).
NOT_FOR_VALIDATE = (
    "httpx",
    "httpcore",
    "jsonschema",
    "reconciler.apply",
    "reconciler.boomi",
    "reconciler.sim",
    "reconciler.store.state",
    "reconciler.store.writer",
    "reconciler.model.events",
    "reconciler.plan.review",
    "reconciler.plan.document",
    "reconciler.usecases.plan",
    "reconciler.usecases.apply",
    "reconciler.report",
    "reconciler.github.workflow",
    "reconciler.cli.apply",
    "reconciler.cli.progress",
)


def test_validate_imports_none_of_what_it_does_not_use(tmp_path: Path) -> None:
    (tmp_path / "reconciler.yaml").write_text((ROOT / "reconciler.yaml").read_text())
    for spec in sorted((ROOT / "specs").rglob("*.yaml")):
        loaded = _modules(["validate", str(spec)], tmp_path)
        assert "reconciler.specs.load" in loaded  # the probe did run validate
        unexpected = [
            name
            for name in loaded
            if any(name == heavy or name.startswith(f"{heavy}.") for heavy in NOT_FOR_VALIDATE)
        ]
        assert not unexpected, f"validate {spec.name} imported {sorted(unexpected)}"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_help_summaries_are_the_commands_own(name: str) -> None:
    command = cli.get_command(click.Context(cli), name)
    assert command is not None
    for limit in range(20, 120, 5):
        stand_in = click.Command(name, help=COMMANDS[name][1])
        assert stand_in.get_short_help_str(limit) == command.get_short_help_str(limit)


def test_every_command_is_listed() -> None:
    ctx = click.Context(cli)
    for name in COMMANDS:
        cli.get_command(ctx, name)
    assert set(cli.commands) == set(COMMANDS)
