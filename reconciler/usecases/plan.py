"""The ``plan`` use case: the plan, its markdown file, and its GitHub job summary and outputs.

Needs no credentials and no network. Rendering for the terminal is the caller's.
"""

from __future__ import annotations

from pathlib import Path

from reconciler.config.settings import Settings
from reconciler.errors import UserError
from reconciler.files import write_atomic
from reconciler.github import workflow as github
from reconciler.model import ActionKind, Plan
from reconciler.model.digest import plan_digest
from reconciler.plan.planner import Selection
from reconciler.report import renderers as report
from reconciler.specs.expand import SpecContext
from reconciler.usecases.inputs import load_plan


def make_plan(settings: Settings, selection: Selection, context: SpecContext, *, cwd: Path) -> Plan:
    """Load the specs and the state, and diff them into a plan."""
    the_plan, _ = load_plan(settings, selection, context, cwd=cwd)
    return the_plan


def publish_plan(
    the_plan: Plan, *, markdown_file: Path | None = None, actions: github.Actions | None = None
) -> None:
    """Write the plan as markdown to ``markdown_file``; give GitHub its summary and outputs."""
    if markdown_file is None and actions is None:
        return
    markdown = report.plan_markdown(the_plan)  # one rendering for the file and the summary
    if markdown_file is not None:
        try:
            write_atomic(markdown_file, markdown.encode("utf-8"))
        except OSError as exc:
            raise UserError(f"{markdown_file}: cannot write the plan ({exc.strerror})") from None
    if actions is not None:
        actions.append_summary(markdown)
        counts = {kind.value: the_plan.count(kind) for kind in ActionKind}
        actions.set_outputs(
            github.plan_outputs(plan_digest(the_plan), counts, the_plan.has_changes)
        )
