"""Fault plans: which request to an endpoint gets which injected failure.

Owns the ``FaultRule`` model (used by world files and ``POST /_sim/faults``) and the
``FaultInjector`` that decides, deterministically from a seed, whether a request is hit. It does
not produce HTTP responses itself; ``app`` turns a chosen rule into one (reply early, sleep,
garble the body, or drop the connection after processing).

Kinds (boomi-platform-api.md §12, §15 item 7):

- ``error``: answer ``status`` (default 503) with an Error body. With ``processed: false``
  (default) the request is rejected *before* it has any effect, as a gateway 503 would; with
  ``processed: true`` it is fully processed first (e.g. a run is created) and then answered
  with the error, the ambiguous case for a non-idempotent POST.
- ``slow``: wait ``delay`` real seconds, then answer normally.
- ``malformed``: process the request, then send a truncated, unparseable body with status 200.
- ``drop``: process the request, then close the connection without a complete response.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

ENDPOINTS: tuple[str, ...] = (
    "executionRequest",
    "executionRecordAsync",
    "executionRecordQuery",
    "executionRecordQueryMore",
    "cancelExecution",
    "executeProcess",
    "atom",
    "atomQuery",
    "environment",
    "environmentQuery",
    "environmentAtomAttachmentQuery",
    "deployedPackage",
    "deployedPackageQuery",
    "queryMore",
)
"""Endpoint names used by fault rules and by ``GET /_sim/stats``."""

FaultKind = Literal["error", "slow", "malformed", "drop"]


class FaultRule(BaseModel):
    """One fault: which endpoint, what happens, and how often."""

    model_config = ConfigDict(frozen=True, extra="forbid", alias_generator=to_camel)

    endpoint: str = "*"
    kind: FaultKind
    status: int = Field(default=503, ge=400, le=599)
    processed: bool = False
    delay: float = Field(default=1.0, ge=0, le=300)
    rate: float | None = Field(default=None, ge=0, le=1)
    count: int | None = Field(default=None, ge=0)
    after: int = Field(default=0, ge=0)

    @field_validator("endpoint")
    @classmethod
    def _known_endpoint(cls, value: str) -> str:
        if value != "*" and value not in ENDPOINTS:
            raise ValueError(
                f"unknown endpoint {value!r}; expected '*' or one of: " + ", ".join(ENDPOINTS)
            )
        return value


class FaultInjector:
    """Decides per request which rule (if any) fires; counts what it injected.

    Rules are tried in order; the first that fires wins and later rules do not see the
    request. A rule *matches* requests to its endpoint (``*`` = all platform endpoints); it
    skips the first ``after`` matches, then fires with probability ``rate`` (always when
    unset) until it has fired ``count`` times (forever when unset).
    """

    def __init__(self, rules: Sequence[FaultRule], seed: int) -> None:
        self.rules = tuple(rules)
        # Not security-relevant: a reproducible stream per rule (S311 is about crypto use).
        self._rngs = [random.Random(f"{seed}/fault/{i}") for i in range(len(self.rules))]  # noqa: S311
        self._seen = [0] * len(self.rules)
        self._fired = [0] * len(self.rules)
        self.injected: dict[str, dict[str, int]] = {}

    def pick(self, endpoint: str) -> FaultRule | None:
        """Return the rule that fires for this request to ``endpoint``, or None."""
        for index, rule in enumerate(self.rules):
            if rule.endpoint not in ("*", endpoint):
                continue
            self._seen[index] += 1
            if self._seen[index] <= rule.after:
                continue
            if rule.count is not None and self._fired[index] >= rule.count:
                continue
            if rule.rate is not None and self._rngs[index].random() >= rule.rate:
                continue
            self._fired[index] += 1
            label = f"{rule.kind}:{rule.status}" if rule.kind == "error" else rule.kind
            per_endpoint = self.injected.setdefault(endpoint, {})
            per_endpoint[label] = per_endpoint.get(label, 0) + 1
            return rule
        return None

    @property
    def total(self) -> int:
        """How many faults were injected since the plan was installed."""
        return sum(sum(kinds.values()) for kinds in self.injected.values())
