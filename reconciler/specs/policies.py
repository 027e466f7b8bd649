"""An execution's merged ``policy`` fields to a ``RunPolicy``, with located problems.

Pure. The fields arrive as ``layering.Merged.policy`` (each value with the path it was written
at); problems go to the caller's ``problem(path, message)``, so they are reported where the
user wrote them. ``promote.after`` names environments: with ``environments`` (those
reconciler.yaml defines) each name is checked, with "did you mean" among the defined ones.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from reconciler.model import PathPart, RetryPolicy, RunMode, RunPolicy, RunStatus, dotted
from reconciler.specs.language import Promote

Path_ = tuple[PathPart, ...]
Problem = Callable[[Sequence[PathPart], str], None]


def read_policy(
    given: Mapping[str, tuple[Any, Path_]],
    environments: Sequence[str] | None,
    problem: Problem,
) -> RunPolicy | None:
    """The run policy of the merged ``policy`` fields; None when none was given."""
    if not given:
        return None
    default = RunPolicy()
    run = RunMode(given["run"][0]) if "run" in given else default.run
    timeout = seconds(given["timeout"][0]) if "timeout" in given else None
    retries = given["retries"][0] if "retries" in given else None
    warn_ok = bool(given["warn_is_success"][0]) if "warn_is_success" in given else True
    follow = bool(given["follow_upstream"][0]) if "follow_upstream" in given else True
    retry = default.retries
    if retries is not None:
        retry = RetryPolicy(
            count=retries.count,
            on=tuple(dict.fromkeys(retries.on)) if "on" in retries.model_fields_set else retry.on,
        )
        if warn_ok and RunStatus.COMPLETE_WARN in retry.on:
            path = (*given["retries"][1], "on")
            problem(
                path,
                f'{dotted(list(path))}: "COMPLETE_WARN" is never retried while warnIsSuccess '
                "is true; expected warnIsSuccess: false to retry runs that end with warnings",
            )
    promote = _promote(*given["promote"], environments, problem) if "promote" in given else ()
    return RunPolicy(
        run=run,
        timeout=timeout,
        retries=retry,
        warn_is_success=warn_ok,
        promote_after=promote,
        follow_upstream=follow,
    )


def _promote(
    rule: Promote | None, path: Path_, environments: Sequence[str] | None, problem: Problem
) -> tuple[str, ...]:
    """``promote.after`` as a tuple in the order written, each name checked."""
    if rule is None:
        return ()
    single = isinstance(rule.after, str)
    names = [rule.after] if isinstance(rule.after, str) else list(rule.after)
    seen: set[str] = set()
    for index, name in enumerate(names):
        where: Path_ = (*path, "after") if single else (*path, "after", index)
        field_name = dotted(list(where))
        if name in seen:
            problem(where, f'{field_name}: "{name}" is named twice; expected each environment once')
        seen.add(name)
        if environments is not None and name not in environments:
            problem(where, f"{field_name}: {unknown_environment(name, environments)}")
    return tuple(dict.fromkeys(names))


def unknown_environment(name: str, defined: Sequence[str]) -> str:
    """What is wrong with an environment reconciler.yaml does not define, and what to do."""
    guess = difflib.get_close_matches(name, list(defined), n=1)
    if guess:
        hint = f'did you mean "{guess[0]}"?'
    elif defined:
        hint = f"expected one of the environments of reconciler.yaml: {', '.join(sorted(defined))}"
    else:
        hint = "expected an environment defined under environments: in reconciler.yaml"
    return f'unknown environment "{name}"; {hint}'


_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)")


def seconds(value: float | str | None) -> float | None:
    """``30m`` → 1800.0; a number is seconds already (the schema checked the syntax)."""
    if value is None or isinstance(value, int | float):
        return None if value is None else float(value)
    return sum(float(number) * _UNITS[unit] for number, unit in _PART.findall(value))
