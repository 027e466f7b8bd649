"""Issue 17, case 8: a property value YAML would read as a number or a boolean is sent as written.

Property values are text on the platform. ``0755`` used to be sent as ``"755"``, ``1.50`` as
``"1.5"``, ``1e3`` as ``"1000.0"`` and ``0x1F`` as ``"31"``; now each is sent exactly as
written, and the plan says so at the value's line. Values whose text is what YAML reads
(``8080``, ``true``) are sent as before, with no notice. Both YAML readers (libyaml's fast
path and ruamel's reference loader) give the same text; tests/specs/test_fastyaml.py proves it
on generated YAML, and the last test here shows it through the CLI.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from reconciler.outbound import md_text
from tests.conftest import ORDERS, PROD_ATOM, Admin, CliResult, build_tree

Run = Callable[..., CliResult]

COMPONENT = "456789ab-cdef-0123-4567-89abcdef0123"

WRITTEN = f"""\
apiVersion: reconciler/v1
kind: Execution
metadata:
  name: orders
spec:
  processId: {ORDERS}
  atomId: {PROD_ATOM}
  dynamicProperties:
    MODE: 0755
    PRICE: 1.50
    LIMIT: 1e3
    MASK: 0x1F
    FLAG: True
    PORT: 8080
    ON: true
    QUOTED: "0755"
  processProperties:
    {COMPONENT}:
      batch: +5
      answer: yes
"""


def _sent(sim: Admin) -> dict[str, object]:
    submissions = sim.submissions()
    assert len(submissions) == 1
    properties = submissions[0]["properties"]
    assert isinstance(properties, dict)
    return properties


def test_property_values_are_sent_as_written_and_the_plan_says_so(
    workspace: Path, sim: Admin, run_cli: Run
) -> None:
    build_tree(workspace, {"specs/orders.yaml": WRITTEN})
    planned = run_cli("plan")
    assert planned.code == 0
    assert planned.err.splitlines() == [
        'notice: specs/orders.yaml:9:11: spec.dynamicProperties.MODE: taken as written: "0755" '
        "(YAML reads 755); quote it to say it is text",
        'notice: specs/orders.yaml:10:12: spec.dynamicProperties.PRICE: taken as written: "1.50" '
        "(YAML reads 1.5); quote it to say it is text",
        'notice: specs/orders.yaml:11:12: spec.dynamicProperties.LIMIT: taken as written: "1e3" '
        "(YAML reads 1000.0); quote it to say it is text",
        'notice: specs/orders.yaml:12:11: spec.dynamicProperties.MASK: taken as written: "0x1F" '
        "(YAML reads 31); quote it to say it is text",
        'notice: specs/orders.yaml:13:11: spec.dynamicProperties.FLAG: taken as written: "True" '
        "(YAML reads true); quote it to say it is text",
        f"notice: specs/orders.yaml:19:14: spec.processProperties.{COMPONENT}.batch: taken as "
        'written: "+5" (YAML reads 5); quote it to say it is text',
    ]
    applied = run_cli("apply")
    assert applied.code == 0, applied.err
    assert "taken as written" in applied.err  # apply shows the plan's notices too
    assert _sent(sim) == {
        "dynamic": {
            "MODE": "0755",
            "PRICE": "1.50",
            "LIMIT": "1e3",
            "MASK": "0x1F",
            "FLAG": "True",
            "PORT": "8080",
            "ON": "true",
            "QUOTED": "0755",
        },
        "process": {COMPONENT: {"batch": "+5", "answer": "yes"}},
    }


def test_validate_passes_and_names_each_value_taken_as_written(
    workspace: Path, run_cli: Run
) -> None:
    build_tree(workspace, {"specs/orders.yaml": WRITTEN})
    result = run_cli("validate")
    assert result.code == 0
    assert result.out == "1 file(s), 1 execution(s): all valid.\n"
    assert len([line for line in result.err.splitlines() if "taken as written" in line]) == 6


def test_values_whose_text_yaml_keeps_move_no_digest(workspace: Path, run_cli: Run) -> None:
    # Upgrading re-runs nothing whose value was already sent as written.
    plain = WRITTEN.split("  processProperties:")[0]
    typed = plain.replace("    MODE: 0755\n", "").replace("    PRICE: 1.50\n", "")
    typed = typed.replace("    LIMIT: 1e3\n", "").replace("    MASK: 0x1F\n", "")
    typed = typed.replace("    FLAG: True\n", "")
    quoted = typed.replace("PORT: 8080", 'PORT: "8080"').replace("ON: true", 'ON: "true"')
    build_tree(workspace, {"specs/orders.yaml": typed})
    first = run_cli("render", "orders")
    build_tree(workspace, {"specs/orders.yaml": quoted})
    second = run_cli("render", "orders")
    assert first.code == second.code == 0
    assert first.out == second.out
    assert first.err == second.err == ""


def test_a_set_default_and_a_merged_value_are_taken_as_written_too(
    workspace: Path, sim: Admin, run_cli: Run
) -> None:
    # An anchor sends the file to the reference loader; a merge key (<<) used to crash the
    # loader whenever a merged value had to be located (exit 70).
    text = f"""\
apiVersion: reconciler/v1
kind: ExecutionSet
metadata:
  name: orders
spec:
  defaults:
    processId: {ORDERS}
    atomId: {PROD_ATOM}
    dynamicProperties: &shared {{RATE: 1.50, NOTE: "{{{{ vars.regoin }}}}"}}
  executions:
    - name: orders
      vars: {{region: eu}}
      dynamicProperties:
        <<: *shared
        MODE: 0755
"""
    build_tree(workspace, {"specs/orders.yaml": text})
    broken = run_cli("validate")
    assert broken.code == 1
    assert broken.err.splitlines() == [
        "notice: specs/orders.yaml:9:39: spec.executions[0].dynamicProperties.RATE: taken as "
        'written: "1.50" (YAML reads 1.5); quote it to say it is text',
        "notice: specs/orders.yaml:15:15: spec.executions[0].dynamicProperties.MODE: taken as "
        'written: "0755" (YAML reads 755); quote it to say it is text',
        "specs/orders.yaml:9:51: spec.executions[0].dynamicProperties.NOTE: undefined template "
        'variable "vars.regoin" (did you mean "vars.region"?); defined vars: region',
        "error: 1 problem found",
    ]
    fixed = text.replace('"{{ vars.regoin }}"', '"n"')
    build_tree(workspace, {"specs/orders.yaml": fixed})
    applied = run_cli("apply")
    assert applied.code == 0, applied.err
    assert _sent(sim)["dynamic"] == {"RATE": "1.50", "NOTE": "n", "MODE": "0755"}


def test_an_empty_property_value_is_an_error_at_its_own_line(workspace: Path, run_cli: Run) -> None:
    text = WRITTEN.split("  processProperties:")[0].replace("    PORT: 8080\n", "    PORT:\n")
    build_tree(workspace, {"specs/orders.yaml": text})
    result = run_cli("validate")
    assert result.code == 1
    assert result.err.splitlines()[-2:] == [
        "specs/orders.yaml:14:5: spec.dynamicProperties.PORT: expected a string, a number or "
        'true or false, got null (an empty value, "~" or "null"); write "" for empty text',
        "error: 1 problem found",
    ]


def test_both_yaml_readers_send_the_same_text(workspace: Path, sim: Admin, run_cli: Run) -> None:
    # 1.50 and True are read by libyaml's fast path; an anchor anywhere sends the file to the
    # reference loader. Both must send the text as written.
    fast = WRITTEN.split("    LIMIT")[0].replace("    MODE: 0755\n", "") + "    FLAG: True\n"
    reference = fast.replace("  name: orders", "  name: invoices").replace(
        "metadata:", "metadata: &meta"
    )
    build_tree(workspace, {"specs/fast.yaml": fast, "specs/reference.yaml": reference})
    assert run_cli("apply").code == 0
    sent = [s["properties"]["dynamic"] for s in sim.submissions()]
    assert sent == [{"PRICE": "1.50", "FLAG": "True"}] * 2


def test_the_notices_reach_the_json_and_markdown_plan(workspace: Path, run_cli: Run) -> None:
    """A reviewer reads the plan comment or the job summary, not the job's stderr."""
    build_tree(workspace, {"specs/orders.yaml": WRITTEN})
    as_json = run_cli("plan", "--output", "json")
    assert as_json.code == 0, as_json.err
    notices = json.loads(as_json.out)["notices"]
    assert len(notices) == 6
    assert notices[0].startswith("specs/orders.yaml:9:11: spec.dynamicProperties.MODE: taken as")
    as_markdown = run_cli("plan", "--output", "markdown")
    assert "**Notices**" in as_markdown.out
    # each notice a list item, escaped as every untrusted text of the comment is
    assert all(f"- {md_text(notice)}" in as_markdown.out for notice in notices)
    assert "&#34;0755&#34;" in as_markdown.out


def test_a_values_mapping_written_only_by_a_merge(
    workspace: Path, sim: Admin, run_cli: Run
) -> None:
    """ruamel records no positions for a mapping that has only ``<<:`` (it crashed, exit 70)."""
    text = f"""\
apiVersion: reconciler/v1
kind: Execution
metadata:
  name: orders
spec:
  processId: {ORDERS}
  atomId: {PROD_ATOM}
  vars:
    base: &b {{batchSize: 0755, strict: true}}
  dynamicProperties:
    <<: *b
"""
    build_tree(workspace, {"specs/orders.yaml": text})
    checked = run_cli("validate")
    assert checked.code == 0, checked.err
    assert checked.err.splitlines() == [
        "notice: specs/orders.yaml:9:26: spec.dynamicProperties.batchSize: taken as written: "
        '"0755" (YAML reads 755); quote it to say it is text'
    ]
    applied = run_cli("apply")
    assert applied.code == 0, applied.err
    assert _sent(sim)["dynamic"] == {"batchSize": "0755", "strict": "true"}
