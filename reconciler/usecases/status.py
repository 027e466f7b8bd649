"""The state's use cases: what is recorded, cancelling a running execution, a stale lock.

``status`` and ``unlock`` read and repair the state directory; ``cancel`` asks the platform to
stop one submitted run and leaves recording how it ended to the next apply.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping

from reconciler.clock import Clock
from reconciler.config.settings import Settings
from reconciler.errors import UserError
from reconciler.model import Phase, StateEntry
from reconciler.plan.planner import no_such
from reconciler.store.state import StateStore
from reconciler.usecases.inputs import make_client


def status(settings: Settings) -> tuple[str, Mapping[str, StateEntry]]:
    """The environment's name and every recorded execution."""
    store = StateStore(settings.state_dir, settings.environment)
    return store.environment, store.snapshot()


def unlock(settings: Settings) -> str:
    """Release the apply lock if no live process holds it; says what was done."""
    return StateStore(settings.state_dir, settings.environment).unlock()


def cancel(
    settings: Settings,
    name: str,
    *,
    environ: Mapping[str, str],
    clock: Clock,
    spec_names: Callable[[], Iterable[str]] = tuple,
) -> str:
    """Ask the platform to cancel the submitted, unfinished run ``name``; its executionId.

    A name with no recorded run is refused before any request: "never run" when a spec
    defines it (``spec_names``, asked only then), else "no such execution" with the closest
    names of the specs and the state.
    """
    store = StateStore(settings.state_dir, settings.environment)
    recorded = store.snapshot()
    entry = recorded.get(name)
    if entry is None:
        defined = set(spec_names())
        if name in defined:
            raise UserError(f"{name} has never run in {store.environment}: nothing to cancel")
        message = no_such(name, defined | set(recorded))
        listed = f"reconciler status lists the executions recorded in {store.environment}"
        raise UserError(message, hint="" if message.endswith("?") else listed)
    if entry.phase is not Phase.SUBMITTED:
        raise UserError(
            f"{name} is {entry.phase.value}; only a submitted, unfinished run can be cancelled"
        )
    client = make_client(settings, environ, clock)

    async def run(entry: StateEntry) -> str:
        try:
            execution_id = entry.execution_id
            if execution_id is None and entry.request_id:
                record = await client.get_record(entry.request_id)
                execution_id = record.execution_id if record else None
            if execution_id is None:
                raise UserError(
                    f"{name} has no executionId yet (the platform has not started it)",
                    hint="try again in a moment",
                )
            await client.cancel(execution_id)
            return execution_id
        finally:
            await client.aclose()

    return asyncio.run(run(entry))
