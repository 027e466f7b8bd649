"""The one typed reader of ``apply.json`` (written by ``renderers.apply_record_json``).

Pure. ``reconciler commit`` names the apply it records from it: the subject counts its
outcomes, the trailers carry the plan digest, the review status and the shard. The record is
our own artifact but may be old, hand-edited or, when an apply stopped before writing its
own, one a pull request committed; so every field is held to its form (a plan digest, a review
status, ``K/N``, counts of known outcomes) before it reaches a commit message, and reading is
lenient where a field is missing or of another form (that part is left out) and strict only
where nothing can be read at all (not JSON).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from reconciler.errors import UserError
from reconciler.plan.document import DIGEST_PATTERN
from reconciler.report.renderers import OUTCOMES

_REVIEWED = ("match", "covered", "differs", "none")
_SHARD = re.compile(r"[1-9][0-9]{0,3}/[1-9][0-9]{0,3}\Z")
_COUNT_LIMIT = 10**9


@dataclass(frozen=True)
class ApplyRecord:
    """What ``apply.json`` says about an apply; None where it says nothing usable."""

    plan_digest: str | None = None
    reviewed: str | None = None  # the review's status: match, differs, none
    shard: str | None = None  # "K/N"
    outcomes: Mapping[str, int] | None = field(default=None)  # in the record's order


def parse_apply_record(text: str | bytes, source: str) -> ApplyRecord:
    """Read an apply record; a user error naming ``source`` only when it is not JSON."""
    try:
        data = json.loads(text)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError alike
        raise UserError(f"{source}: not a readable apply record ({exc})") from None
    except RecursionError:
        raise UserError(f"{source}: not a readable apply record (nested too deeply)") from None
    if not isinstance(data, dict):
        return ApplyRecord()
    digest, reviewed, shard, outcomes = (
        data.get("planDigest"),
        data.get("reviewed"),
        data.get("shard"),
        data.get("outcomes"),
    )
    status = reviewed.get("status") if isinstance(reviewed, dict) else None
    return ApplyRecord(
        plan_digest=digest if isinstance(digest, str) and DIGEST_PATTERN.match(digest) else None,
        reviewed=status if status in _REVIEWED else None,
        shard=shard if isinstance(shard, str) and _SHARD.match(shard) else None,
        outcomes=(
            {
                k: n
                for k, n in outcomes.items()
                if k in OUTCOMES
                and isinstance(n, int)
                and not isinstance(n, bool)
                and 0 <= n < _COUNT_LIMIT
            }
            if isinstance(outcomes, dict)
            else None
        ),
    )
