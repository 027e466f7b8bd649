"""Hypothesis strategies over the platform's answers, for the platform-response fuzzer.

Owns what a generated case is: a ``Case`` names what it attacks (``record``, ``pending``,
``poll-error``, ``submit``, ``query``) and carries fault rules of the simulator's ``script``
(and ``drop``) kinds that serve generated bodies, as raw text, for the next calls about one
process. Bodies are built near the documented shapes (boomi-platform-api.md §5-§9, §12) with
any field replaced by hostile values: wrong types, unknown statuses, out-of-range and malformed
dates, huge and non-finite numbers, control characters, newlines in ids, lone surrogates,
truncated or non-JSON text. ``PROCESS`` in a body stands for the case's process id, filled in
when the case gets one (``Case.for_process``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from reconciler.sim.hostile import PAYLOAD, POISON_DATE

PROCESS = "@@PROCESS@@"
ATOM = "c4a05a70-0000-4000-8000-000000000001"  # chaos.harness.ATOM

FINAL = ["COMPLETE", "COMPLETE_WARN", "ERROR", "ABORTED", "DISCARDED"]
RUNNING = ["ENQUEUED", "STARTED", "INPROCESS", "ABORTED_RECOVERING"]


@dataclass(frozen=True)
class Case:
    """One generated case: what it attacks and the rules that serve its answers."""

    kind: str
    rules: tuple[dict[str, Any], ...]

    def for_process(self, process_id: str) -> list[dict[str, Any]]:
        """The rules, limited to ``process_id`` and with its id in their bodies."""
        out = []
        for rule in self.rules:
            rule = {**rule, "process": process_id}
            if isinstance(rule.get("raw"), str):
                rule["raw"] = rule["raw"].replace(PROCESS, process_id)
            out.append(rule)
        return out

    def describe(self, limit: int = 400) -> dict[str, Any]:
        """The case for a report: its kind and rules, long bodies cut."""
        rules = []
        for rule in self.rules:
            shown = dict(rule)
            raw = shown.get("raw")
            if isinstance(raw, str) and len(raw) > limit:
                shown["raw"] = f"{raw[:limit]}… ({len(raw)} characters)"
            rules.append(shown)
        return {"kind": self.kind, "rules": rules}


# -- values --------------------------------------------------------------------------------

HOSTILE_TEXT = [
    "",
    " ",
    "\n",
    "a\nb",
    "x\r\ny",
    "\x00",
    "\x1b[2J\x1b[H",
    "\x1b]0;title\x07",
    "\x9b31m",
    "::error::x",
    "::add-mask::x",
    "```",
    "<script>x</script>",
    "@someone",
    "\u202e",
    "%",
    "../../etc/passwd",
    "?a=b#c",
    "a/b",
    "%0A",
    PAYLOAD,
    "x" * 5_000,
    "é" * 1000,
]


def texts() -> st.SearchStrategy[str]:
    """Any text, hostile text or a long string."""
    return st.one_of(st.text(max_size=40), st.sampled_from(HOSTILE_TEXT))


def json_values() -> st.SearchStrategy[Any]:
    """Any JSON value (plus NaN and infinities, which Python's encoder writes)."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.integers(min_value=-(10**400), max_value=10**400),
        st.floats(),
        texts(),
    )
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
        ),
        max_leaves=8,
    )


def ids(prefix: str) -> st.SearchStrategy[Any]:
    """Ids shaped like the platform's, and not."""
    good = st.uuids().map(lambda u: f"{prefix}-{u}")
    return st.one_of(
        good,
        good.map(lambda s: s + "-2026.01.15"),
        good.flatmap(lambda s: st.sampled_from(HOSTILE_TEXT).map(lambda t: s + t)),
        texts(),
        json_values(),
    )


def dates() -> st.SearchStrategy[Any]:
    """Timestamps in the documented format, at the edges of the calendar, and broken."""
    return st.one_of(
        st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")),
        st.sampled_from(
            [
                POISON_DATE,
                "0001-01-01T00:00:00+14:00",
                "9999-12-31T23:59:59Z",
                "9999-12-31T23:59:59.999999-23:59",
                "2026-02-30T00:00:00Z",
                "2026-01-15T25:61:61Z",
                "2026-01-15",
                "2026-01-15T10:00:00",
                "+275760-09-13T00:00:00Z",
                "1e400",
                "",
            ]
        ),
        st.integers(),
        texts(),
    )


def longs() -> st.SearchStrategy[Any]:
    """``["Long", n]`` and everything it can be instead."""
    numbers = st.one_of(
        st.integers(),
        st.integers(min_value=-(10**1000), max_value=10**1000),
        st.floats(),
        st.from_regex(r"\A-?[0-9]{1,40}\Z"),
    )
    return st.one_of(
        numbers.map(lambda n: ["Long", n]),
        numbers,
        st.just(["Long"]),
        st.lists(json_values(), max_size=3),
        texts(),
    )


def statuses() -> st.SearchStrategy[Any]:
    """Documented statuses, their near misses, and anything."""
    known = FINAL + RUNNING
    return st.one_of(
        st.sampled_from(known),
        st.sampled_from(known).map(lambda s: f" {s.lower()}\n"),
        st.sampled_from(known).flatmap(lambda s: st.sampled_from(HOSTILE_TEXT).map(s.__add__)),
        texts(),
        json_values(),
    )


def records() -> st.SearchStrategy[dict[str, Any]]:
    """An ExecutionRecord: every field documented (§7) or spoilt, some left out."""
    good = {
        "@type": st.just("ExecutionRecord"),
        "executionId": ids("execution"),
        "status": statuses(),
        "processId": st.one_of(st.just(PROCESS), texts()),
        "atomId": st.one_of(st.just(ATOM), texts()),
    }
    optional = {
        "account": texts(),
        "executionTime": dates(),
        "recordedDate": dates(),
        "executionDuration": longs(),
        "inboundDocumentSize": longs(),
        "outboundDocumentCount": st.one_of(st.integers(), json_values()),
        "message": st.one_of(texts(), json_values()),
        "processName": texts(),
        "atomName": texts(),
        "nodeId": texts(),
        "executionType": texts(),
        "launcherID": texts(),
    }
    extra = st.dictionaries(st.text(max_size=10), json_values(), max_size=2)
    return st.tuples(st.fixed_dictionaries(good, optional=optional), extra).map(
        lambda pair: {**pair[1], **pair[0]}
    )


def raw(value: Any) -> str:
    """``value`` as the platform would send it (Python's encoder: NaN and Infinity too)."""
    return json.dumps(value, separators=(",", ":"))


def bodies(value: st.SearchStrategy[Any]) -> st.SearchStrategy[str]:
    """JSON text of ``value``, sometimes cut short, prefixed, or wrapped in a BOM."""
    return st.one_of(
        value.map(raw),
        value.map(raw).flatmap(lambda t: st.integers(0, len(t)).map(lambda n: t[:n])),
        value.map(lambda v: "\ufeff" + raw(v)),
        value.map(lambda v: raw(v) + raw(v)),
    )


# -- answers -------------------------------------------------------------------------------


def async_done() -> st.SearchStrategy[Any]:
    """A 200 of ``GET /ExecutionRecord/async``: the wrapper, the bare record, or neither."""
    codes = st.one_of(st.sampled_from([200, 202, 400, 404, 500, None, "200"]), st.integers())
    wrapper = st.fixed_dictionaries(
        {"@type": st.just("AsyncOperationResult"), "responseStatusCode": codes},
        optional={
            "numberOfResults": st.one_of(st.integers(), json_values()),
            "result": st.one_of(
                records().map(lambda r: [r]),
                st.lists(records(), max_size=3),
                records(),
                json_values(),
            ),
        },
    )
    return st.one_of(wrapper, records(), json_values())


def error_bodies() -> st.SearchStrategy[tuple[str, str]]:
    """(content type, body) of an error answer in every shape of §12.2, and broken ones."""
    message = st.one_of(texts(), json_values())
    as_json = st.one_of(
        message.map(lambda m: {"@type": "Error", "message": m}),
        message.map(lambda m: {"message": m}),
        message.map(lambda m: {"error": {"message": m}}),
        json_values(),
    )
    return st.one_of(
        bodies(as_json).map(lambda b: ("application/json", b)),
        texts().map(lambda m: ("application/xml", f"<error><message>{m}</message></error>")),
        texts().map(lambda m: ("text/html", f"<html><body><h1>{m}</h1></body></html>")),
        texts().map(lambda m: ("text/plain", m)),
        st.just(("application/json", "")),
    )


def error_statuses() -> st.SearchStrategy[int]:
    """Error statuses a platform or a proxy in front of it may answer.

    401 and 403 are left out: they end the whole apply, by design, so one case would hide the
    rest of its batch.
    """
    return st.sampled_from([400, 404, 405, 409, 410, 413, 422, 429, 500, 502, 503, 504, 599])


def script(status: int, body: str, content_type: str = "application/json", **more: Any) -> Any:
    """One ``script`` rule serving ``body`` once."""
    return {"kind": "script", "status": status, "raw": body, "contentType": content_type,
            "count": 1, **more}  # fmt: skip


def record_case() -> st.SearchStrategy[Case]:
    """Some 202s, then a generated 200 record, on the poll of one run."""
    return st.tuples(st.integers(0, 2), bodies(async_done())).map(
        lambda t: Case(
            "record",
            tuple(
                [script(202, "", endpoint="executionRecordAsync")] * t[0]
                + [script(200, t[1], endpoint="executionRecordAsync")]
            ),
        )
    )


def pending_case() -> st.SearchStrategy[Case]:
    """Generated 202 answers (the phase before the record exists), then the real poll."""
    pending = st.one_of(
        st.just(""),
        bodies(
            st.one_of(
                st.just({"@type": "AsyncOperationResult", "responseStatusCode": 202}),
                async_done(),
                json_values(),
            )
        ),
    )
    return st.lists(pending, min_size=1, max_size=3).map(
        lambda items: Case(
            "pending", tuple(script(202, b, endpoint="executionRecordAsync") for b in items)
        )
    )


def poll_error_case() -> st.SearchStrategy[Case]:
    """An error answer to a poll, in any shape."""
    return st.tuples(error_statuses(), error_bodies()).map(
        lambda t: Case(
            "poll-error", (script(t[0], t[1][1], t[1][0], endpoint="executionRecordAsync"),)
        )
    )


def submit_case() -> st.SearchStrategy[Case]:
    """The answer to ``POST /ExecutionRequest``: an echo with any requestId, or an error."""
    echo = st.fixed_dictionaries(
        {"@type": st.just("ExecutionRequest"), "requestId": ids("executionrecord")},
        optional={"processId": st.just(PROCESS), "recordUrl": texts(), "atomId": texts()},
    )
    ok = st.tuples(st.sampled_from([200, 201, 202, 204]), bodies(st.one_of(echo, json_values())))
    answer = st.one_of(
        ok.map(lambda t: (t[0], "application/json", t[1])),
        st.tuples(error_statuses(), error_bodies()).map(lambda t: (t[0], t[1][0], t[1][1])),
    )
    return st.tuples(answer, st.booleans()).map(
        lambda t: Case(
            "submit",
            (script(t[0][0], t[0][2], t[0][1], endpoint="executionRequest", processed=t[1]),),
        )
    )


def query_case() -> st.SearchStrategy[Case]:
    """An ambiguous submit, then generated answers to the engine's queries.

    A 500 after processing or a dropped connection makes the engine ask QUERY which run is
    its own; the first answers to those queries are generated.
    """
    result = st.fixed_dictionaries(
        {"@type": st.just("QueryResult")},
        optional={
            "numberOfResults": st.one_of(st.integers(), json_values()),
            "result": st.one_of(st.lists(records(), max_size=3), json_values()),
            "queryToken": st.one_of(texts(), json_values()),
        },
    )
    page = st.one_of(
        bodies(st.one_of(result, json_values())).map(lambda b: (200, "application/json", b)),
        st.tuples(error_statuses(), error_bodies()).map(lambda t: (t[0], t[1][0], t[1][1])),
    )
    ambiguous = st.sampled_from(
        [
            script(500, raw({"@type": "Error", "message": "boom"}), endpoint="executionRequest",
                   processed=True),
            {"kind": "drop", "endpoint": "executionRequest", "count": 1},
        ]
    )  # fmt: skip
    return st.tuples(ambiguous, st.lists(page, min_size=1, max_size=3)).map(
        lambda t: Case(
            "query",
            (t[0], *(script(s, b, c, endpoint="executionRecordQuery") for s, c, b in t[1])),
        )
    )


def cases() -> st.SearchStrategy[Case]:
    """Any generated case."""
    return st.one_of(record_case(), pending_case(), poll_error_case(), submit_case(), query_case())
