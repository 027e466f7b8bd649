"""The use cases called as plain functions, without click, against the simulator on loopback.

The CLI tests prove the commands; these prove that a test, a benchmark or another use case can
drive the same work with its own seams: an environment mapping, a clock, a runner and a listener.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any

import pytest

from reconciler.clock import SystemClock
from reconciler.config.settings import load_settings
from reconciler.errors import InvalidSpecs, UserError
from reconciler.model import ApplyResult, Plan
from reconciler.plan.planner import Selection
from reconciler.plan.review import Review
from reconciler.usecases import specs as spec_usecases
from reconciler.usecases import status as status_usecases
from reconciler.usecases.apply import ApplyRequest, apply
from reconciler.usecases.inputs import spec_context
from reconciler.usecases.plan import make_plan
from reconciler.usecases.statebranch import Merged
from tests.conftest import INVOICES, ORDERS, PROD_ATOM, Admin, build_tree, read_state, spec


class Heard:
    """A listener that keeps what it hears."""

    def __init__(self) -> None:
        self.plans: list[tuple[Plan, Review]] = []
        self.secret_values: list[str] = []
        self.pulls: list[Merged] = []

    def planned(self, plan: Plan, review: Review) -> None:
        self.plans.append((plan, review))

    def secrets(self, named: Mapping[str, str]) -> None:
        self.secret_values.extend(named.values())

    def pulled(self, merged: Merged) -> None:
        self.pulls.append(merged)


def run_to_end(
    work: Coroutine[Any, Any, ApplyResult], cleanup: Callable[[], Awaitable[None]]
) -> ApplyResult:
    async def main() -> ApplyResult:
        try:
            return await work
        finally:
            await cleanup()

    return asyncio.run(main())


def test_apply_use_case_runs_without_click(sim: Admin, workspace: Path) -> None:
    build_tree(
        workspace,
        {
            "specs/orders.yaml": spec("orders", ORDERS, PROD_ATOM, {"day": "{{ vars.day }}"}),
            "specs/invoices.yaml": spec("invoices", INVOICES, PROD_ATOM),
        },
    )
    environ = dict(os.environ)
    settings = load_settings(None, workspace, environ, None)
    context = spec_context(settings, environ, ("day=monday",))
    heard = Heard()
    events: list[object] = []

    applied = apply(
        settings,
        ApplyRequest(selection=Selection(), context=context, durable_intents=False),
        environ=environ,
        clock=SystemClock(),
        run=run_to_end,
        listener=heard,
        progress=lambda *event: events.append(event),
        cwd=workspace,
    )

    assert applied.result is not None
    assert sorted((r.name, r.outcome) for r in applied.result.results) == [
        ("invoices", "failure"),  # the demo world's invoices process ends in ERROR
        ("orders", "success"),
    ]
    assert [plan.environment for plan, _ in heard.plans] == ["default"]
    assert heard.plans[0][1].status == "none"
    assert len(sim.submissions()) == 2
    assert read_state(workspace, "orders")["phase"] == "final"
    assert (workspace / "artifacts" / "default" / "summary.md").is_file()
    assert applied.summary_path == workspace / "artifacts" / "default" / "summary.md"
    assert events  # the progress seam heard the runs
    assert applied.plan is None  # let go while its runs went (memory)

    # A second apply of the same specs submits nothing: the plan has no changes.
    again = apply(
        settings,
        ApplyRequest(selection=Selection(), context=context, durable_intents=False),
        environ=environ,
        clock=SystemClock(),
        run=run_to_end,
        listener=Heard(),
        cwd=workspace,
    )
    assert again.result is None
    assert again.plan is not None
    assert not again.plan.has_changes
    assert len(sim.submissions()) == 2
    environment, entries = status_usecases.status(settings)
    assert (environment, sorted(entries)) == ("default", ["invoices", "orders"])


def test_require_reviewed_without_a_reviewed_plan_is_a_user_error(
    workspace: Path, sim: Admin
) -> None:
    build_tree(workspace, {"specs/o.yaml": spec("orders", ORDERS, PROD_ATOM)})
    environ = dict(os.environ)
    settings = load_settings(None, workspace, environ, None)
    with pytest.raises(
        UserError,
        match="no reviewed plan was given; nothing was applied: orders: submit run ",
    ):
        apply(
            settings,
            ApplyRequest(
                selection=Selection(),
                context=spec_context(settings, environ),
                require_reviewed=True,
            ),
            environ=environ,
            clock=SystemClock(),
            run=run_to_end,
            listener=Heard(),
            cwd=workspace,
        )


def test_plan_and_validate_use_cases_return_values(workspace: Path) -> None:
    build_tree(workspace, {"specs/orders.yaml": spec("orders", ORDERS, PROD_ATOM)})
    environ = dict(os.environ)
    settings = load_settings(None, workspace, environ, None)
    context = spec_context(settings, environ)

    loaded = spec_usecases.validate(settings, [], context, cwd=workspace)
    assert (loaded.files, [r.name for r in loaded.runs], loaded.diagnostics) == (
        1,
        ["orders"],
        [],
    )
    the_plan = make_plan(settings, Selection(), context, cwd=workspace)
    assert [(a.name, a.kind.value) for a in the_plan.actions] == [("orders", "submit")]
    body, digest = spec_usecases.request_body(settings, "orders", context, cwd=workspace)
    assert body["processId"] == ORDERS
    assert digest == the_plan.actions[0].desired.digest  # type: ignore[union-attr]

    build_tree(workspace, {"specs/bad.yaml": "apiVersion: reconciler/v1\nkind: Execution\n"})
    with pytest.raises(InvalidSpecs):
        make_plan(settings, Selection(), context, cwd=workspace)


def test_require_reviewed_with_nothing_to_review_applies_nothing_and_passes(
    workspace: Path, sim: Admin
) -> None:
    environ = dict(os.environ)
    settings = load_settings(None, workspace, environ, None)
    applied = apply(
        settings,
        ApplyRequest(
            selection=Selection(), context=spec_context(settings, environ), require_reviewed=True
        ),
        environ=environ,
        clock=SystemClock(),
        run=run_to_end,
        listener=Heard(),
        cwd=workspace,
    )
    assert applied.result is None
    assert applied.review.status == "none"
    assert sim.submissions() == []
