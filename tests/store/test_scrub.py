"""The store's second guard: platform text is scrubbed of secrets before anything is written.

The platform may echo a request body (and so a resolved secret) in a message, raw, JSON-escaped,
base64 or URL-encoded. A ``StateStore`` and ``write_apply_artifacts`` given the apply's
``Redactor`` write no form of it, and every file they write stays valid JSON or XML.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote
from xml.etree import ElementTree

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.model import (
    ApplyResult,
    Attempt,
    Phase,
    RunRequest,
    RunResult,
    SecretRef,
    StateEntry,
)
from reconciler.outbound import Redactor, variants, xml_text
from reconciler.store.artifacts import write_apply_artifacts
from reconciler.store.redact import scrub_json, scrub_xml
from reconciler.store.state import StateStore, decode_entry

SECRET = 'pa"ss\tw0rd\\Zq9-canary'  # needs escaping in JSON and XML alike
REDACTOR = Redactor({"API_KEY": SECRET})
AT = datetime(2026, 1, 15, 10, 0, 0, tzinfo=UTC)


def echoes(prefix: str) -> str:
    """A 400 message that echoes the request body the ways platforms do."""
    escaped = json.dumps(SECRET)[1:-1]
    encoded = base64.b64encode(SECRET.encode()).decode()
    return (
        f"{prefix}: invalid value {SECRET} in body "
        f'{{"K": "{escaped}"}}, header {encoded}, url ?k={quote(SECRET, safe="")}'
    )


def leaks(text: str) -> list[str]:
    """Every encoded form of the secret found in ``text``."""
    exact, either_case = variants(SECRET)
    found = [form for form in exact if form in text]
    return found + [form for form in either_case if form.lower() in text.lower()]


ENTRY = StateEntry(
    name="orders",
    digest="v1:sha256:00",
    request=RunRequest(
        process_id="p", atom_id="a", dynamic_properties={"K": SecretRef(secret="API_KEY")}
    ),
    phase=Phase.FINAL,
    attempt_id="a-2",
    request_id="executionrecord-1",
    execution_id="execution-1",
    status="ERROR",
    message=echoes("now"),
    intent_at=AT,
    history=(
        Attempt(attempt_id="a-1", digest="v1:sha256:00", intent_at=AT, message=echoes("then")),
    ),
)


def test_a_store_with_a_redactor_writes_no_form_of_an_echoed_secret(tmp_path: Path) -> None:
    store = StateStore(tmp_path, redactor=REDACTOR)
    store.save(ENTRY)

    raw = (tmp_path / "default" / "orders.json").read_bytes()

    assert leaks(raw.decode()) == []
    read = decode_entry(raw, "orders.json")  # still a valid state file
    assert read.message is not None
    assert read.message.startswith('now: invalid value secret("API_KEY") in body')
    assert read.history[0].message is not None
    assert 'secret("API_KEY")' in read.history[0].message
    assert read.request == ENTRY.request  # the spec's own values are not platform text


@pytest.mark.anyio
async def test_a_background_store_scrubs_the_same_way(tmp_path: Path) -> None:
    store = StateStore(tmp_path, background=True, redactor=REDACTOR)
    await store.save_durable(ENTRY)
    await store.flush()

    assert leaks((tmp_path / "default" / "orders.json").read_text(encoding="utf-8")) == []


def test_a_store_without_a_redactor_writes_the_text_as_given(tmp_path: Path) -> None:
    """The guard is the redactor the caller passes: no redactor, no change (and no cost)."""
    StateStore(tmp_path).save(ENTRY)
    read = decode_entry((tmp_path / "default" / "orders.json").read_bytes(), "orders.json")
    assert read == ENTRY


def test_apply_artifacts_with_a_redactor_hold_no_form_of_an_echoed_secret(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "artifacts" / "default"
    result = ApplyResult(
        environment="default",
        results=(
            RunResult(
                name="orders",
                outcome="failure",
                status="ERROR",
                message=ENTRY.message,
                request_id="executionrecord-1",
                execution_id="execution-1",
            ),
            RunResult(name="invoices", outcome="rejected", message=echoes("400")),
        ),
        started_at=AT,
        finished_at=AT + timedelta(seconds=3),
    )
    record = json.dumps({"stats": {"note": f"echo {SECRET}"}}, indent=2) + "\n"

    written = write_apply_artifacts(
        folder,
        result,
        {"orders": ENTRY},
        {"HTTP calls": 3},
        record_json=record,
        notes=f"reviewed with {SECRET}",
        redactor=REDACTOR,
    )

    assert sorted(p.name for p in written) == [
        "apply.json",
        "junit.xml",
        "orders.json",
        "summary.md",
    ]
    for path in written:
        assert leaks(path.read_text(encoding="utf-8")) == [], path.name
    apply = json.loads((folder / "apply.json").read_text(encoding="utf-8"))
    assert apply == {"stats": {"note": 'echo secret("API_KEY")'}}
    run = json.loads((folder / "runs" / "orders.json").read_text(encoding="utf-8"))
    assert run["message"].startswith('now: invalid value secret("API_KEY")')
    suite = ElementTree.parse(folder / "junit.xml").getroot()
    failure = suite.find("./testsuite/testcase/failure")
    assert failure is not None
    assert 'secret("API_KEY")' in failure.attrib["message"]
    assert 'secret("API_KEY")' in (folder / "summary.md").read_text(encoding="utf-8")


def test_rendered_json_keeps_its_bytes_when_there_is_nothing_to_scrub() -> None:
    text = json.dumps({"b": 1, "a": ["x"]}, indent=2, sort_keys=True) + "\n"
    assert scrub_json(text, REDACTOR) is text
    assert scrub_xml("<a b='1'/>", REDACTOR) == "<a b='1'/>"


ENCODINGS: dict[str, Callable[[str], str]] = {
    "raw": lambda s: s,
    "json": lambda s: json.dumps(s)[1:-1],
    "base64": lambda s: base64.b64encode(s.encode()).decode(),
    "url": lambda s: quote(s, safe=""),
}


@settings(max_examples=150, deadline=None)
@given(
    secret=st.text(min_size=8, max_size=40).filter(lambda s: s.strip() == s and "secret" not in s),
    before=st.text(max_size=30),
    after=st.text(max_size=30),
    encoding=st.sampled_from(sorted(ENCODINGS)),
)
def test_scrubbed_json_and_xml_stay_valid_whatever_the_secret(
    secret: str, before: str, after: str, encoding: str
) -> None:
    redactor = Redactor({"TOKEN": secret})
    message = before + ENCODINGS[encoding](secret) + after

    document = scrub_json(json.dumps({"message": message}, indent=2) + "\n", redactor)
    parsed = json.loads(document)  # valid JSON, whatever the replacement landed next to
    assert secret not in parsed["message"]

    text = xml_text(message)  # what the JUnit renderer keeps of it (XML 1.0 characters)
    rendered = _xml(text)
    ElementTree.fromstring(scrub_xml(rendered, redactor))  # valid XML, whatever it replaced
    shown = ElementTree.fromstring(scrub_xml(_xml(redactor.scrub(text)), redactor))
    assert secret not in shown.attrib["message"]  # scrubbed before rendering, as the store does
    assert secret not in (shown.text or "")


def _xml(text: str) -> str:
    element = ElementTree.Element("failure", message=text)
    element.text = text
    return ElementTree.tostring(element, encoding="unicode")


@pytest.mark.parametrize("short", ["test", "1", "name", "planDigest", "outcomes", "ETE"])
def test_a_short_secret_never_corrupts_the_artifacts_or_the_ids(tmp_path: Path, short: str) -> None:
    """A secret that is also a tag, a key, a number or part of an id: every file still reads."""
    redactor = Redactor({"SHORT": short})
    folder = tmp_path / "artifacts" / "default"
    ids = ("executionrecord-9f3c2a42-1111", "execution-9f3c2a42-1111-2026.01.15")
    result = ApplyResult(
        environment="default",
        results=(
            RunResult(
                name="orders",
                outcome="success",
                status="COMPLETE",
                message=f"echo {short} test 1",
                request_id=ids[0],
                execution_id=ids[1],
            ),
        ),
        started_at=AT,
        finished_at=AT + timedelta(seconds=3),
    )
    record = json.dumps({"planDigest": "sha256:" + "0" * 64, "outcomes": {"success": 1}})
    saved = ENTRY.model_copy(
        update={"request_id": ids[0], "execution_id": ids[1], "status": "COMPLETE"}
    )
    write_apply_artifacts(
        folder, result, {"orders": saved}, {}, record_json=record + "\n", redactor=redactor
    )
    suites = ElementTree.parse(folder / "junit.xml").getroot()  # parses: no tag was renamed
    suite = suites.find("testsuite")
    assert suite is not None
    assert suite.get("tests") == "1"
    apply = json.loads((folder / "apply.json").read_text(encoding="utf-8"))
    assert set(apply) == {"planDigest", "outcomes"}  # no key renamed
    run = json.loads((folder / "runs" / "orders.json").read_text(encoding="utf-8"))
    assert (run["requestId"], run["executionId"]) == ids  # the ids still name the run
    assert run["digest"] == ENTRY.digest
    store = StateStore(tmp_path / "state", redactor=redactor)
    store.save(saved)
    path = tmp_path / "state" / "default" / "orders.json"
    back = decode_entry(path.read_bytes(), str(path))
    assert (back.request_id, back.status) == (ids[0], "COMPLETE")
