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

Hostile kinds (never part of the faithful platform; a client must survive them, see ``hostile``):

- ``echo``: answer ``status`` (default 400) with an Error whose message quotes the request
  body (the path for a GET) verbatim, JSON-escaped, URL-encoded, XML-escaped and in base64.
- ``echo_record``: accept a submit, then end its run ``ERROR`` with such a record ``message``.
- ``inject``: with ``status``, an Error whose message is the hostile ``text``; without it, the
  request is processed and ``fields`` of the answer's records (or the submit's ``requestId``)
  carry the text: control characters, CSI/OSC escapes, workflow commands, fences, HTML,
  @mentions.
- ``poison``: the request is processed and the answer poisoned as ``target`` says (an
  out-of-range date, a ``size``-digit number, ``size``-deep JSON, a huge string, a requestId
  with a newline, of ``size`` digits or of ``size`` characters).
- ``script``: answer ``status`` (default 200) with exactly ``body`` (JSON) or ``raw`` (text);
  rules with ``process`` and ``count: 1`` let a fuzzer serve one answer per case.

A rule with ``process`` only matches requests about that processId (a submit's body, a poll's
or a cancel's run, a query filtering on it).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator, model_validator
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

FaultKind = Literal[
    "error", "slow", "malformed", "drop", "echo", "echo_record", "inject", "poison", "script"
]
HOSTILE_KINDS = frozenset({"echo", "echo_record", "inject", "poison", "script"})

INJECT_FIELDS = frozenset(
    {"message", "status", "executionId", "requestId", "processName", "atomName", "nodeId"}
)
"""Where ``inject`` may put its text (``requestId``: the submit's answer; the rest: records)."""

POISON_TARGETS: dict[str, int] = {
    "date": 0,
    "digits": 5_000,
    "digitString": 5_000,
    "deep": 100_000,
    "huge": 1_048_576,
    "requestIdNewline": 0,
    "requestIdDigits": 5_000,
    "requestIdHuge": 50_000_000,
}
"""Poison variants and their default ``size`` (digits, nesting depth or characters)."""

_DEFAULT_STATUS = {"error": 503, "echo": 400, "script": 200}


class FaultRule(BaseModel):
    """One fault: which endpoint, what happens, and how often."""

    model_config = ConfigDict(frozen=True, extra="forbid", alias_generator=to_camel)

    endpoint: str = "*"
    kind: FaultKind
    status: int | None = Field(default=None, ge=100, le=599)
    """HTTP status: ``error`` 503, ``echo`` 400, ``script`` 200 when unset; ``inject``: an
    Error with this status (unset: process and inject into ``fields``)."""
    processed: bool = False
    delay: float = Field(default=1.0, ge=0, le=300)
    rate: float | None = Field(default=None, ge=0, le=1)
    count: int | None = Field(default=None, ge=0)
    after: int = Field(default=0, ge=0)
    process: str | None = None
    target: str | None = None
    """``poison``: one of ``POISON_TARGETS``."""
    fields: tuple[str, ...] = ("message",)
    text: str | None = None
    """``inject``: the hostile text (default ``hostile.PAYLOAD``); ``poison date``: the date."""
    size: int | None = Field(default=None, ge=0, le=100_000_000)
    body: JsonValue = None
    raw: str | None = None
    content_type: str = "application/json"

    @field_validator("endpoint")
    @classmethod
    def _known_endpoint(cls, value: str) -> str:
        if value != "*" and value not in ENDPOINTS:
            raise ValueError(
                f"unknown endpoint {value!r}; expected '*' or one of: " + ", ".join(ENDPOINTS)
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> FaultRule:
        if self.kind in ("error", "echo") and self.status is not None and self.status < 400:
            raise ValueError(f"status: a {self.kind} fault answers 400-599, not {self.status}")
        if self.kind == "inject" and self.status is not None and self.status < 400:
            raise ValueError("status: an inject fault with a status answers 400-599")
        if self.kind == "inject" and not set(self.fields) <= INJECT_FIELDS:
            unknown = ", ".join(sorted(set(self.fields) - INJECT_FIELDS))
            raise ValueError(
                f"fields: unknown {unknown}; expected some of: " + ", ".join(sorted(INJECT_FIELDS))
            )
        if self.kind == "poison" and self.target not in POISON_TARGETS:
            raise ValueError(
                f"target: {self.target!r} is not a poison; expected one of: "
                + ", ".join(POISON_TARGETS)
            )
        if self.kind == "script" and self.status is not None and self.status < 200:
            raise ValueError(
                "status: a script answers 200-599 (an informational answer is no answer)"
            )
        if self.kind == "script" and self.body is not None and self.raw is not None:
            raise ValueError("a script answers with body or raw, not both")
        return self

    @property
    def answer_status(self) -> int:
        """The status this rule answers with (its own, or its kind's default)."""
        return self.status if self.status is not None else _DEFAULT_STATUS.get(self.kind, 400)

    @property
    def poison_size(self) -> int:
        """``size``, or the default of the poison ``target``."""
        return self.size if self.size is not None else POISON_TARGETS.get(self.target or "", 0)

    @property
    def replaces(self) -> bool:
        """True when this rule's answer replaces the endpoint's (else it spoils or delays it)."""
        return self.kind in ("error", "echo", "script") or (
            self.kind == "inject" and self.status is not None
        )

    @property
    def rejects_early(self) -> bool:
        """True when the answer comes instead of processing the request (no effect at all)."""
        return self.replaces and not self.processed

    @property
    def label(self) -> str:
        """How ``/_sim/stats`` counts this rule's firings."""
        if self.kind in ("error", "echo", "script"):
            return f"{self.kind}:{self.answer_status}"
        if self.kind == "poison":
            return f"poison:{self.target}"
        return self.kind


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

    @property
    def needs_subject(self) -> bool:
        """True when some rule matches on ``process`` (so requests must be attributed)."""
        return any(rule.process is not None for rule in self.rules)

    def pick(self, endpoint: str, process: str | None = None) -> FaultRule | None:
        """Return the rule that fires for this request to ``endpoint``, or None.

        ``process`` is the processId the request concerns, when known; rules naming a process
        match only requests about it.
        """
        for index, rule in enumerate(self.rules):
            if rule.endpoint not in ("*", endpoint):
                continue
            if rule.process is not None and rule.process != process:
                continue
            self._seen[index] += 1
            if self._seen[index] <= rule.after:
                continue
            if rule.count is not None and self._fired[index] >= rule.count:
                continue
            if rule.rate is not None and self._rngs[index].random() >= rule.rate:
                continue
            self._fired[index] += 1
            per_endpoint = self.injected.setdefault(endpoint, {})
            per_endpoint[rule.label] = per_endpoint.get(rule.label, 0) + 1
            return rule
        return None

    def unfire(self, rule: FaultRule, endpoint: str) -> None:
        """Take back a firing whose answer had nothing to spoil (e.g. poison on a 202)."""
        index = next(i for i, r in enumerate(self.rules) if r is rule)
        self._fired[index] -= 1
        per_endpoint = self.injected[endpoint]
        per_endpoint[rule.label] -= 1
        if not per_endpoint[rule.label]:
            del per_endpoint[rule.label]
        if not per_endpoint:
            del self.injected[endpoint]

    @property
    def total(self) -> int:
        """How many faults were injected since the plan was installed."""
        return sum(sum(kinds.values()) for kinds in self.injected.values())
