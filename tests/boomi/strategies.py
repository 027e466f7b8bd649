"""Hypothesis strategies for what a hostile platform can answer (issue #15).

Shared by the property tests of ``tests/boomi`` and importable by a fuzzing harness
(``from tests.boomi.strategies import answers, records, ...``). Each strategy mixes the shapes
boomi-platform-api.md documents with arbitrary JSON-ish values (recursive), the poison values
of issue 15 item 6 (a time past year 9999, 5,000 digits, line breaks, 10,000 characters), and
``CANARY``, a secret value planted in text, raw or JSON-escaped, that a parser given
``CANARY_REDACTOR.scrub`` must never return.

- ``json_values``: any JSON value (nested lists and objects, odd numbers, odd strings).
- ``records``: an ExecutionRecord object (§7), every field good, odd or missing.
- ``async_bodies``: a 200 body of ``GET /ExecutionRecord/async`` (§6.2): wrapper, bare, junk.
- ``submit_bodies``: a 200 body of ``POST /ExecutionRequest`` (§5.3).
- ``query_pages``: a ``QueryResult`` page (§9).
- ``error_bodies``: ``(bytes, content type)`` of an error answer (§12.2): JSON, XML, text.
- ``raw_bodies``: bytes for ``wire.decode_json``: JSON text, cut JSON, binary, 100k-deep
  nesting, 5,000-digit numbers.
- ``answers``: ``(status, content type, bytes)``: a whole HTTP answer for the client.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any

from hypothesis import strategies as st

from reconciler.outbound import Redactor

CANARY = 'c4n4ry"\tS3cret&<v>'
CANARY_REDACTOR = Redactor({"CANARY": CANARY})
#: Every form of the canary a parser must not return (raw and JSON-escaped).
CANARY_FORMS = (CANARY, json.dumps(CANARY)[1:-1])

STATUSES = (
    "ABORTED",
    "ABORTED_RECOVERING",
    "COMPLETE",
    "COMPLETE_WARN",
    "DISCARDED",
    "ENQUEUED",
    "ERROR",
    "INPROCESS",
    "STARTED",
)
POISON = (
    "9999-12-31T23:59:59-12:00",
    "0001-01-01T00:00:00+01:00",
    "1969-12-31T23:59:59Z",
    "7" * 5000,
    "-" + "7" * 30,
    "executionrecord-1\n",
    "execution-1\r\nX-Injected: 1",
    "../../cancelExecution/x",
    "a?b#c%2F d",
    "",
    " ",
    "\x00",
    "\ud800",
    "\x1b]0;title\x07",
    "::error title=x::pwned",
    "NaN",
    "1e400",
    "COMPLETE\n",
    "<message>x</message>",
    "a" * 10_000,
)

_ZONES: st.SearchStrategy[tzinfo] = st.sampled_from(
    [UTC, timezone(timedelta(hours=-12)), timezone(timedelta(hours=14))]
)
texts = st.one_of(
    st.text(max_size=40),
    st.sampled_from(POISON),
    st.tuples(st.text(max_size=10), st.sampled_from(CANARY_FORMS), st.text(max_size=10)).map(
        "".join
    ),
)
numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=-(10**300), max_value=10**300),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 5230, 10**18, 2**63, 2**63 - 1]),
)
json_scalars = st.one_of(st.none(), st.booleans(), numbers, texts)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_FIRST, _LAST = datetime(1, 1, 2), datetime(9999, 12, 30)  # noqa: DTZ001 - naive bounds
times = st.one_of(
    st.datetimes(_FIRST, _LAST, timezones=_ZONES).map(lambda moment: moment.isoformat()),
    st.datetimes(_FIRST, _LAST).map(lambda moment: moment.isoformat()),  # no offset at all
    st.sampled_from(["2026-01-15T10:04:12Z", "2026-01-15T10:04:12.123Z"]),
)
longs = st.tuples(st.just("Long"), st.one_of(numbers, texts)).map(list)
field_values = st.one_of(json_values, texts, numbers, longs)
execution_ids = st.uuids().map(lambda u: f"execution-{u}-2026.01.15")
request_ids = st.uuids().map(lambda u: f"executionrecord-{u}")
statuses = st.one_of(
    st.sampled_from(STATUSES), st.sampled_from(STATUSES).map(lambda s: f" {s.lower()} ")
)

records: st.SearchStrategy[dict[str, Any]] = st.fixed_dictionaries(
    {},
    optional={
        "@type": st.just("ExecutionRecord"),
        "executionId": st.one_of(execution_ids, execution_ids, field_values),
        "status": st.one_of(statuses, statuses, field_values),
        "executionTime": st.one_of(times, field_values),
        "recordedDate": st.one_of(times, field_values),
        "executionDuration": st.one_of(st.integers(0, 10**7), longs, field_values),
        "message": st.one_of(texts, field_values),
        "processId": st.one_of(st.uuids().map(str), field_values),
        "atomId": st.one_of(st.uuids().map(str), field_values),
        "processName": st.one_of(texts, field_values),
        "atomName": st.one_of(texts, field_values),
        "someFutureField": json_values,
    },
)
codes = st.one_of(st.sampled_from([200, 202, 400, 404, 500, 503]), field_values)
async_bodies = st.one_of(
    records,
    st.fixed_dictionaries(
        {},
        optional={
            "@type": st.sampled_from(["AsyncOperationResult", "QueryResult", ""]),
            "responseStatusCode": codes,
            "numberOfResults": field_values,
            "result": st.one_of(
                st.lists(records, max_size=2), st.lists(json_values, max_size=2), field_values
            ),
            "message": field_values,
            "error": json_values,
        },
    ),
    json_values,
)
submit_bodies = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "@type": st.just("ExecutionRequest"),
            "requestId": st.one_of(request_ids, request_ids, field_values),
            "recordUrl": field_values,
            "processId": field_values,
        },
    ),
    json_values,
)
tokens = st.one_of(
    st.none(), st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=30)
)
query_pages = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "@type": st.just("QueryResult"),
            "result": st.one_of(
                st.lists(records, max_size=4), st.lists(json_values, max_size=2), field_values
            ),
            "queryToken": st.one_of(tokens, tokens, field_values),
            "numberOfResults": field_values,
        },
    ),
    json_values,
)


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _xml_error(text: str) -> bytes:
    body = f"<bns:Error><bns:message>{_xml(text)}</bns:message></bns:Error>"
    return body.encode("utf-8", "surrogatepass")


_CONTENT_TYPES = st.sampled_from(
    ["application/json", "application/json; charset=utf-8", "application/xml", "text/html", ""]
)
error_bodies = st.tuples(
    st.one_of(
        st.fixed_dictionaries(
            {}, optional={"@type": st.just("Error"), "message": field_values, "error": json_values}
        ).map(lambda body: json.dumps(body).encode()),
        json_values.map(lambda value: json.dumps(value).encode()),
        texts.map(_xml_error),
        texts.map(lambda t: f"<html><body>{t}</body></html>".encode("utf-8", "surrogatepass")),
        texts.map(lambda t: t.encode("utf-8", "surrogatepass")),
        st.binary(max_size=64),
    ),
    _CONTENT_TYPES,
)


def _cut(pair: tuple[bytes, int]) -> bytes:
    text, at = pair
    return text[: at % (len(text) + 1)]


_dumped = st.one_of(async_bodies, submit_bodies, query_pages).map(
    lambda value: json.dumps(value).encode()
)
raw_bodies = st.one_of(
    _dumped,
    st.tuples(_dumped, st.integers(min_value=0)).map(_cut),
    st.binary(max_size=64),
    st.integers(min_value=60, max_value=120_000).map(lambda n: b"[" * n + b"]" * n),
    st.integers(min_value=60, max_value=2_000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
    st.integers(min_value=4_000, max_value=6_000).map(
        lambda n: b'{"requestId": ' + b"9" * n + b"}"
    ),
)
answers = st.tuples(
    st.sampled_from([200, 200, 200, 201, 202, 204, 400, 403, 404, 409, 410, 429, 500, 502, 503]),
    _CONTENT_TYPES,
    st.one_of(raw_bodies, error_bodies.map(lambda pair: pair[0])),
)
