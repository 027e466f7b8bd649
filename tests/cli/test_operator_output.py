"""Issue 17, cases 7 and 9: what an operator sees in a day's work.

No litter outside a configured repository, global options after the command, colour on a
terminal (and never in logs), plan symbols and reasons fitted to the terminal, ``status`` as
JSON and Markdown, config errors in the words of spec errors, durations in reconciler.yaml,
and "no such execution" with did-you-mean wherever a name is taken. Each through the real CLI.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.cli.terminal import _styled, color_wanted, echo_painted
from tests.conftest import (
    CONFIG,
    INVENTORY,
    INVOICES,
    ORDERS,
    PROD_ATOM,
    Admin,
    CliResult,
    build_tree,
    spec,
)

Run = Callable[..., CliResult]
ESC = "\x1b["


def _three(root: Path) -> None:
    build_tree(
        root,
        {
            "specs/orders.yaml": spec("orders-extract-eu-nightly", ORDERS, PROD_ATOM),
            "specs/invoices.yaml": spec("invoices", INVOICES, PROD_ATOM),
            "specs/inventory.yaml": spec("inventory", INVENTORY, PROD_ATOM),
        },
    )


def _quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    """No colour or width from the environment the tests run in."""
    for name in ("NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE", "COLUMNS", "RECONCILER_ENV"):
        monkeypatch.delenv(name, raising=False)


# Case 7: the wrong folder ------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("plan",),
        ("apply",),
        ("status",),
        ("commit",),
        ("validate",),
        ("cancel", "orders"),
        ("state", "unlock"),
        ("render", "orders"),
        ("history", "orders"),
        ("plan", "--env", "prod"),
    ],
)
def test_no_reconciler_yaml_is_one_clear_error_and_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: Run, args: tuple[str, ...]
) -> None:
    empty = tmp_path / "not-a-repo"
    empty.mkdir()
    monkeypatch.chdir(empty)
    _quiet(monkeypatch)
    result = run_cli(*args)
    assert result.code == 1
    assert result.out == ""
    assert result.err == (
        f"error: no reconciler.yaml in {empty} or any folder above it; run reconciler in the "
        "repository that holds one, pass --config FILE, or start one here: a reconciler.yaml "
        "with the line 'version: 1' (docs/config.md)\n"
    )
    assert list(empty.iterdir()) == []  # no state/.gitignore, no lock, no crash log


def test_the_nearest_reconciler_yaml_above_is_still_found(
    workspace: Path, sim: Admin, monkeypatch: pytest.MonkeyPatch, run_cli: Run
) -> None:
    _three(workspace)
    monkeypatch.chdir(workspace / "specs")
    result = run_cli("validate")
    assert (result.code, result.out) == (0, "3 file(s), 3 execution(s): all valid.\n")


# Global options after the command ----------------------------------------------------------

ENVIRONMENTS = CONFIG + "defaultEnvironment: dev\nenvironments:\n  dev: {}\n  prod: {}\n"


@pytest.mark.parametrize(
    ("before", "after", "shown"),
    [
        (("--env", "prod", "plan"), ("plan", "--env", "prod"), "Plan (prod): 3 to submit."),
        (
            ("--env", "prod", "status"),
            ("status", "--env", "prod"),
            "No state recorded for environment 'prod'.",
        ),
        (("--env", "prod", "state", "unlock"), ("state", "unlock", "--env", "prod"), "lock"),
        (
            ("--no-color", "--env", "prod", "plan"),
            ("plan", "--no-color", "--env=prod"),
            "Plan (prod)",
        ),
        (
            ("--debug", "--env", "prod", "validate"),
            ("validate", "--debug", "--env", "prod"),
            "all valid",
        ),
    ],
)
def test_global_options_work_after_the_command_too(
    workspace: Path,
    monkeypatch: pytest.MonkeyPatch,
    run_cli: Run,
    before: tuple[str, ...],
    after: tuple[str, ...],
    shown: str,
) -> None:
    _quiet(monkeypatch)
    _three(workspace)
    build_tree(workspace, {"reconciler.yaml": ENVIRONMENTS})
    first, second = run_cli(*before), run_cli(*after)
    assert first.code == second.code == 0, second.err
    assert first.out == second.out
    assert shown in second.out


def test_a_global_option_after_the_command_wins_over_one_before(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, run_cli: Run
) -> None:
    _quiet(monkeypatch)
    _three(workspace)
    build_tree(workspace, {"reconciler.yaml": ENVIRONMENTS})
    result = run_cli("--env", "dev", "plan", "--env", "prod")
    assert result.code == 0
    assert "Plan (prod): 3 to submit." in result.out


def test_config_after_the_command_and_a_wrong_env_after_it(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: Run
) -> None:
    _quiet(monkeypatch)
    _three(workspace)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    build_tree(workspace, {"reconciler.yaml": ENVIRONMENTS})
    monkeypatch.chdir(elsewhere)
    result = run_cli("validate", "--config", str(workspace / "reconciler.yaml"))
    assert (result.code, result.out) == (0, "3 file(s), 3 execution(s): all valid.\n")
    result = run_cli("plan", "--config", str(workspace / "reconciler.yaml"), "--env", "prd")
    assert result.code == 1
    assert result.err == 'error: unknown environment "prd"; did you mean "prod"?\n'
    assert list(elsewhere.iterdir()) == []


# Colour ------------------------------------------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("environ", "tty", "disabled", "expected"),
    [
        ({}, True, False, True),
        ({}, False, False, False),
        ({"TERM": "dumb"}, True, False, False),
        ({"NO_COLOR": "1"}, True, False, False),
        ({"NO_COLOR": ""}, True, False, True),  # no-color.org: present and not empty
        ({}, True, True, False),  # --no-color
        ({"FORCE_COLOR": "1"}, False, False, True),
        ({"CLICOLOR_FORCE": "1"}, False, False, True),
        ({"FORCE_COLOR": "0"}, False, False, False),
        ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, False, False, False),
        ({"FORCE_COLOR": "1"}, False, True, False),
    ],
)
def test_when_colour_is_on(
    environ: dict[str, str], tty: bool, disabled: bool, expected: bool
) -> None:
    stream = _Terminal() if tty else io.StringIO()
    assert color_wanted(stream, environ, disabled=disabled) is expected


def test_plan_status_and_apply_are_coloured_only_when_asked(
    workspace: Path, sim: Admin, monkeypatch: pytest.MonkeyPatch, run_cli: Run
) -> None:
    _quiet(monkeypatch)
    _three(workspace)
    plain = run_cli("plan")
    assert ESC not in plain.out  # not a terminal: no colour, as in a CI log
    monkeypatch.setenv("FORCE_COLOR", "1")
    coloured = run_cli("plan")
    rows = [line for line in coloured.out.splitlines() if "invoices" in line]
    green = f"{ESC}32m+{ESC}0m  invoices                   {ESC}32msubmit{ESC}0m  never run"
    assert rows == [green]
    assert run_cli("plan", "--no-color").out == plain.out
    monkeypatch.setenv("NO_COLOR", "1")
    assert run_cli("plan").out == plain.out
    monkeypatch.delenv("NO_COLOR")
    applied = run_cli("apply")
    assert f"invoices                   {ESC}31m{ESC}1mERROR{ESC}0m" in applied.out
    status = run_cli("status")
    assert f"inventory                  {ESC}32mfinal{ESC}0m  {ESC}32mCOMPLETE_WARN{ESC}0m" in (
        status.out
    )
    assert ESC not in run_cli("status", "--output", "json").out


def test_a_line_the_filters_change_is_printed_without_colour(
    workspace: Path, sim: Admin, monkeypatch: pytest.MonkeyPatch, run_cli: Run
) -> None:
    _quiet(monkeypatch)
    build_tree(workspace, {"specs/o.yaml": spec("orders", ORDERS, PROD_ATOM, {"K": "a"})})
    assert run_cli("apply").code == 0
    token = os.environ["BOOMI_API_TOKEN"]  # a credential: scrubbed from every line printed
    build_tree(workspace, {"specs/o.yaml": spec("orders", ORDERS, PROD_ATOM, {"K": token})})
    monkeypatch.setenv("FORCE_COLOR", "1")
    result = run_cli("plan")
    assert token not in result.out
    assert "BOOMI_API_TOKEN" in result.out  # where the value was
    assert ESC not in result.out  # the scrubbed plan is printed plain


# Symbols and reasons that fit --------------------------------------------------------------


def test_skip_is_not_shown_as_terraform_destroy(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, run_cli: Run
) -> None:
    _quiet(monkeypatch)
    manual = spec("orders", ORDERS, PROD_ATOM) + "  policy:\n    run: manual\n"
    build_tree(workspace, {"specs/orders.yaml": manual})
    result = run_cli("plan")
    assert result.out.splitlines()[2] == (
        "/  orders     skip    manual policy: runs only when selected by name"
    )
    markdown = run_cli("plan", "--output", "markdown").out
    assert "| / | `orders` | skip | manual policy\\: runs only when selected by name |" in markdown


def test_reasons_fit_a_100_column_terminal_and_stay_whole_in_json(
    workspace: Path, sim: Admin, monkeypatch: pytest.MonkeyPatch, run_cli: Run
) -> None:
    _quiet(monkeypatch)
    _three(workspace)
    assert run_cli("apply").code == 3  # invoices ends ERROR in the demo world
    wide = run_cli("plan")
    assert max(len(line) for line in wide.out.splitlines()) > 100  # a log gets it all
    monkeypatch.setenv("COLUMNS", "100")
    result = run_cli("plan")
    lines = result.out.splitlines()
    assert max(len(line) for line in lines) <= 100
    row = next(line for line in lines if " inventory " in line)
    assert row.startswith("=  inventory                  noop    up to date: ran ")
    assert row.endswith(", ended COMPLETE_WARN")  # the execution id is left to JSON
    assert "Reasons shortened to fit; --output json or markdown shows them in full." in lines
    document = json.loads(run_cli("plan", "--output", "json").out)
    reason = next(a["reason"] for a in document["actions"] if a["name"] == "inventory")
    assert reason.startswith("up to date: ran ")
    assert ", ended COMPLETE_WARN (execution-" in reason
    assert reason.endswith(")")
    monkeypatch.setenv("COLUMNS", "60")
    narrow = run_cli("plan").out.splitlines()
    row = next(line for line in narrow if " inventory " in line)
    assert row.endswith("…")  # the last resort: cut, with an ellipsis
    assert len(row) == len("=  orders-extract-eu-nightly  noop    ") + 24


# status --output json | markdown -----------------------------------------------------------


def test_status_as_json_and_markdown(
    workspace: Path, sim: Admin, monkeypatch: pytest.MonkeyPatch, run_cli: Run
) -> None:
    _quiet(monkeypatch)
    empty = json.loads(run_cli("status", "--output", "json").out)
    assert empty == {
        "formatVersion": 1,
        "environment": "default",
        "summary": {"intent": 0, "submitted": 0, "final": 0, "rejected": 0, "unknown": 0},
        "executions": [],
    }
    _three(workspace)
    run_cli("apply")
    document = json.loads(run_cli("status", "--output", "json").out)
    assert document["summary"] == {
        "intent": 0,
        "submitted": 0,
        "final": 3,
        "rejected": 0,
        "unknown": 0,
    }
    assert [e["name"] for e in document["executions"]] == [
        "inventory",
        "invoices",
        "orders-extract-eu-nightly",
    ]
    invoices = document["executions"][1]
    assert sorted(invoices) == sorted(
        [
            "name",
            "phase",
            "status",
            "message",
            "digest",
            "revision",
            "requestId",
            "executionId",
            "intentAt",
            "submittedAt",
            "executionTime",
            "finishedAt",
            "durationMs",
            "attempts",
            "adopted",
            "onDemand",
        ]
    )
    assert (invoices["phase"], invoices["status"], invoices["attempts"]) == ("final", "ERROR", 1)
    assert invoices["executionId"].startswith("execution-")
    assert document["executions"][2]["message"] is None  # every key, always
    markdown = run_cli("status", "--output", "markdown").out.splitlines()
    assert markdown[:4] == [
        "### reconciler status (default)",
        "",
        "| Execution | Phase | Status | When | ID | Message |",
        "|---|---|---|---|---|---|",
    ]
    row = next(line for line in markdown if line.startswith("| `invoices` |"))
    assert row.startswith("| `invoices` | final | ERROR | ")
    assert row.endswith(
        " | Connector error\\: SFTP host sftp\\.erp\\.example\\.com unreachable "
        "\\(connection timed out\\) |"
    )


# Config errors in the words of spec errors; durations ---------------------------------------

BAD_CONFIG = """\
version: 1
apply:
  concurrency: many
  rateLimit: 0
  pollMax: true
  recordTimeout: 10 minutes
git:
  durableIntents: maybe
  pushAttempts: 2.5
vars: 3
environments:
  dev:
    platform: {url: 5}
"""


def test_config_errors_read_like_spec_errors(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, run_cli: Run
) -> None:
    _quiet(monkeypatch)
    build_tree(workspace, {"reconciler.yaml": BAD_CONFIG})
    result = run_cli("plan")
    assert result.code == 1
    duration = "a number of seconds or a duration like 90s, 30m, 2h or 1h30m"
    assert result.err.splitlines() == [
        'reconciler.yaml:3:16: apply.concurrency: expected an integer, got the text "many"',
        "reconciler.yaml:4:14: apply.rateLimit: 0 is out of range; expected more than 0",
        f"reconciler.yaml:5:12: apply.pollMax: expected {duration}, got a boolean",
        f'reconciler.yaml:6:18: apply.recordTimeout: expected {duration}, got the text "10 '
        'minutes"',
        'reconciler.yaml:8:19: git.durableIntents: expected true, false or "auto", got the text '
        '"maybe"',
        "reconciler.yaml:9:17: git.pushAttempts: expected an integer, got the number 2.5",
        "reconciler.yaml:10:7: vars: expected a mapping, got the number 3",
        "reconciler.yaml:13:21: environments.dev.platform.url: expected a string, got the number 5",
        "error: 8 problems found",
    ]
    assert "Input should" not in result.err


def test_durations_in_reconciler_yaml_as_policies_write_them(
    workspace: Path, sim: Admin, monkeypatch: pytest.MonkeyPatch, run_cli: Run
) -> None:
    _quiet(monkeypatch)
    config = CONFIG.replace("  timeout: 30", "  timeout: 1h").replace(
        "  recordTimeout: 2", "  recordTimeout: 1m30s"
    )
    build_tree(workspace, {"reconciler.yaml": config.replace("pollMax: 0.2", "pollMax: 200ms")})
    build_tree(workspace, {"specs/orders.yaml": spec("orders", ORDERS, PROD_ATOM)})
    assert run_cli("validate").code == 0
    result = run_cli("apply")
    assert result.code == 0, result.err
    assert "orders     COMPLETE" in result.out


# No such execution, with did-you-mean ------------------------------------------------------


def test_names_that_do_not_exist_are_refused_with_the_closest(
    workspace: Path, sim: Admin, monkeypatch: pytest.MonkeyPatch, run_cli: Run
) -> None:
    _quiet(monkeypatch)
    _three(workspace)
    result = run_cli("cancel", "nope")
    assert (result.code, result.err) == (
        1,
        "error: no such execution: nope; reconciler status lists the executions recorded in "
        "default\n",
    )
    result = run_cli("cancel", "invoices")  # defined, never run: nothing to cancel
    assert (result.code, result.err) == (
        1,
        "error: invoices has never run in default: nothing to cancel\n",
    )
    result = run_cli("cancel", "invoice")
    assert result.err == "error: no such execution: invoice; did you mean invoices?\n"
    result = run_cli("render", "invoice")
    assert (result.code, result.err) == (
        1,
        "error: no such execution: invoice; did you mean invoices?\n",
    )
    assert sim.submissions() == []


@pytest.mark.parametrize("sequence", ["\x1b[8m", "\x1b]0;title\x07", "\x1b[2J"])
def test_an_escape_that_came_with_the_data_is_never_printed_raw(
    capsys: pytest.CaptureFixture[str], sequence: str
) -> None:
    """Only our own colours pass: text painted around data carrying its own escape is printed
    filtered and plain."""
    echo_painted(f"{_styled('submit', '+')}  orders  {sequence}hidden")
    printed = capsys.readouterr().out
    assert sequence not in printed
    assert "\x1b[32m" not in printed  # no colour either: the line was not ours alone
    assert "hidden" in printed
    echo_painted(f"{_styled('submit', '+')}  orders  plain")
    assert capsys.readouterr().out == f"{_styled('submit', '+')}  orders  plain\n"
