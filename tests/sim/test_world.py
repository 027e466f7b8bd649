"""World files: the demo world's ids, loading, and exact located error messages."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from reconciler.sim.world import WorldError, demo_world, load_world, parse_world
from tests.sim.helpers import (
    ACCOUNT,
    CUSTOMERS,
    DEV_ATOM,
    DEV_ENV,
    INVENTORY,
    INVOICES,
    ORDERS,
    PROD_ATOM,
    PROD_ENV,
    TOKEN,
)


def errors_of(text: str) -> str:
    with pytest.raises(WorldError) as info:
        parse_world(textwrap.dedent(text), "w.yaml")
    return str(info.value)


def test_demo_world_has_the_ids_the_examples_use() -> None:
    world = demo_world()
    account = world.accounts[0]
    assert (account.id, account.users[0].name, account.users[0].token) == (
        ACCOUNT,
        "demo@example.com",
        TOKEN,
    )
    assert account.rate_limit == 10
    assert {(e.name, e.id) for e in world.environments} == {
        ("Production", PROD_ENV),
        ("Development", DEV_ENV),
    }
    runtimes = {r.id: (r.name, r.status, r.environment) for r in world.runtimes}
    assert runtimes == {
        PROD_ATOM: ("Prod Cloud Atom", "ONLINE", "Production"),
        DEV_ATOM: ("Dev Atom", "ONLINE", "Development"),
    }
    processes = {p.id: p for p in world.processes}
    assert processes[ORDERS].name == "Orders - Nightly Sync"
    assert [d.environment for d in processes[ORDERS].deployments] == ["Production", "Development"]
    assert processes[INVOICES].outcome[0].status == "ERROR"
    assert processes[INVOICES].message == (
        "Connector error: SFTP host sftp.erp.example.com unreachable (connection timed out)"
    )
    assert processes[INVENTORY].outcome[0].status == "COMPLETE_WARN"
    assert processes[INVENTORY].message == "2 of 340 documents had warnings"
    assert [d.environment for d in processes[CUSTOMERS].deployments] == ["Development"]
    prod = world.runtime(ACCOUNT, PROD_ATOM)
    dev = world.runtime(ACCOUNT, DEV_ATOM)
    assert prod is not None
    assert dev is not None
    assert world.is_deployed(ACCOUNT, processes[ORDERS], prod)
    assert not world.is_deployed(ACCOUNT, processes[CUSTOMERS], prod)
    assert world.is_deployed(ACCOUNT, processes[CUSTOMERS], dev)


def test_load_world_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "world.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            seed: 3
            accounts:
              - id: acme-AB12CD
                users: [{name: ops@example.com, password: s3cret}]
            environments: [{id: e1, name: Prod}]
            runtimes: [{id: r1, name: Atom, environment: Prod, status: OFFLINE, onlineAfter: 5}]
            processes:
              - id: p1
                name: Job
                deployments: [{environment: e1, version: 2}]
                duration: 4
                outcome:
                  - COMPLETE
                  - {status: ERROR, message: boom}
                  - status: ABORTED
                    steps:
                      - {status: INPROCESS, seconds: 1}
                      - {status: ABORTED_RECOVERING, seconds: 2}
            switches: {asyncRecord: bare, offlineRuntime: reject}
            faults: [{endpoint: executionRequest, kind: drop, count: 1}]
            """
        ),
        encoding="utf-8",
    )
    world = load_world(path)
    process = world.processes[0]
    assert process.duration.distribution == "fixed"
    assert process.duration.value == 4
    assert [o.status for o in process.outcome] == ["COMPLETE", "ERROR", "ABORTED"]
    assert world.switches.async_record == "bare"
    assert world.faults[0].kind == "drop"
    assert world.runtimes[0].online_after == 5


def test_unknown_keys_suggest_the_closest_and_all_problems_are_reported() -> None:
    text = """\
    accounts:
      - id: acme-AB12CD
        users:
          - name: a@example.com
            tokn: abc
    processes:
      - id: p1
        name: P
        outcom: COMPLETE
        outcome: [COMPLETE, {status: FAILED}]
        duration: {min: 5, max: 2}
    swiches: {}
    """
    assert errors_of(text) == (
        "w.yaml:5:9: accounts[0].users[0]: unknown key 'tokn'; did you mean 'token'?\n"
        "w.yaml:9:5: processes[0]: unknown key 'outcom'; did you mean 'outcome'?\n"
        "w.yaml:10:34: processes[0].outcome[1].status: 'FAILED' is not allowed; expected one "
        "of: 'COMPLETE', 'COMPLETE_WARN', 'ERROR', 'ABORTED', 'DISCARDED'\n"
        "w.yaml:11:15: processes[0].duration: min must not exceed max\n"
        "w.yaml:12:1: (top level): unknown key 'swiches'; did you mean 'switches'?"
    )


def test_missing_keys_wrong_types_and_bad_values() -> None:
    text = """\
    seed: abc
    accounts:
      - id: a
        rateLimit: -1
        users: [{name: u}]
    environments:
      - name: X
    switches:
      asyncPending: none
    """
    assert errors_of(text) == (
        "w.yaml:1:7: seed: Input should be a valid integer, unable to parse string as an integer\n"
        "w.yaml:4:16: accounts[0].rateLimit: Input should be greater than or equal to 0\n"
        "w.yaml:5:13: accounts[0].users[0]: a user needs a token or a password\n"
        "w.yaml:7:5: environments[0]: missing required key 'id'\n"
        "w.yaml:9:17: switches.asyncPending: 'none' is not allowed; expected one of: "
        "'wrapper', 'empty'"
    )


def test_cross_references_are_checked_with_positions() -> None:
    text = """\
    accounts:
      - id: acme-AB12CD
        users: [{name: a@example.com, token: t}]
    environments:
      - {id: e1, name: Prod}
    runtimes:
      - {id: r1, name: R, environment: Staging}
    processes:
      - id: p1
        name: P
        deployments: [Prod, QA]
      - id: p1
        name: Q
      - id: p2
        name: Z
        account: other
    """
    assert errors_of(text) == (
        "w.yaml:7:36: runtimes[0].environment: unknown environment 'Staging'\n"
        "w.yaml:11:25: processes[0].deployments[1].environment: unknown environment 'QA'\n"
        "w.yaml:12:9: processes[1].id: duplicate id 'p1'\n"
        "w.yaml:16:14: processes[2].account: unknown account 'other'"
    )


def test_yaml_syntax_errors_and_duplicate_keys_are_located() -> None:
    assert errors_of("accounts:\n  - id: a\n   bad: [\n") == (
        "w.yaml:3:4: YAML syntax error: expected <block end>, but found '<block mapping start>'"
    )
    assert (
        errors_of("accounts: []\naccounts: []\n") == "w.yaml:2:1: YAML syntax error: duplicate key"
    )
    assert errors_of("- a\n") == "w.yaml:1:1: a world file must be a mapping"


def test_duration_distributions_need_their_parameters() -> None:
    text = """\
    accounts: [{id: a, users: [{name: u, token: t}]}]
    processes:
      - {id: p, name: P, duration: {distribution: lognormal, median: 2}}
    """
    assert errors_of(text) == ("w.yaml:3:32: processes[0].duration: lognormal duration needs sigma")


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(WorldError) as info:
        load_world(tmp_path / "missing.yaml")
    assert str(info.value).startswith(f"{tmp_path / 'missing.yaml'}:1:1: cannot read world file:")


def test_the_documented_complete_example_is_a_valid_world() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "simulator.md").read_text(encoding="utf-8")
    example = doc.split("### Complete example", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    world = parse_world(example, "docs/simulator.md")
    assert [a.id for a in world.accounts] == ["acme-AB12CD", "partner-ZZ9999"]
    assert world.processes[0].deployments[1].active is False
