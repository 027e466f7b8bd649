"""What a value from the platform must look like before it is believed.

Pure, no I/O: the checks ``wire`` applies to every field it reads from a response. The wire is
untrusted (issue #15): a field the engine keys on (a requestId, an executionId, a status, a
query token) that is not what boomi-platform-api.md §5.3, §7 and §9 document raises
``ProtocolError`` naming the field and what was expected, never echoing the value (it may be
50 MB, hold a line break, or a secret); an optional field that is out of shape or range (a
time past year 9999, a duration of 5,000 digits, a message of any size) is read as absent, as
the reference says real records omit fields. Free text is scrubbed with the caller's redactor
first, stripped of escape sequences and control characters, and cut to its limit last, so a
cut never leaves half a secret behind.

Bodies are bounded too: ``MAX_BODY`` bytes (the client stops reading there) and ``MAX_DEPTH``
levels of nesting, checked before ``json.loads`` sees the bytes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from reconciler.errors import ProtocolError
from reconciler.outbound import cut, holds_secret, log, one_line, unchanged

Scrub = Callable[[str], str]

MAX_BODY = 8 * 1024 * 1024  # bytes of one response body
MAX_DEPTH = 64  # nesting of a JSON body; a record is four levels deep
MAX_ID = 200  # characters of an id
MAX_TEXT = 4000  # characters of a message
MAX_NAME = 500  # characters of a process or runtime name
MAX_TOKEN = 10_000  # characters of a queryMore token
MAX_PAGE = 1000  # records in one QueryResult page (the platform sends at most 100)
MAX_DURATION_MS = 10 * 366 * 24 * 3600 * 1000  # ten years
YEARS = (1970, 9999)
LONG = 2**63  # the platform's Long is a signed 64-bit integer

REQUEST_ID = "executionrecord-<uuid>"
EXECUTION_ID = "execution-<uuid>-<yyyy.MM.dd>"
_ID = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._:-]{{0,{MAX_ID - 1}}}")
_ID_RULE = f"at most {MAX_ID} letters, digits and . _ : -, starting with a letter or digit"
_STATUS = re.compile(r"[A-Z][A-Z0-9_-]{0,39}")
_TOKEN = re.compile(rf"[\x21-\x7e]{{1,{MAX_TOKEN}}}")
_DIGITS = re.compile(r"-?\d{1,19}")
_SURROGATE = re.compile("[\ud800-\udfff]")
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def identifier(value: Any, field: str, shape: str, scrub: Scrub = unchanged) -> str:
    """A required id: a string of the safe charset (``shape`` names the documented form)."""
    if not isinstance(value, str):
        raise ProtocolError(f"{field}: expected a string like {shape}; got {kind(value)}")
    if not _ID.fullmatch(value):
        raise ProtocolError(f"{field}: expected an id like {shape} ({_ID_RULE}); {flaw(value)}")
    if holds_secret(value, scrub):
        raise ProtocolError(f"{field}: the id holds the value of a secret; refused")
    return value


def optional_identifier(value: Any, scrub: Scrub = unchanged) -> str | None:
    """An informational id (processId, atomId): the id, or None when absent or out of shape."""
    if not isinstance(value, str) or not _ID.fullmatch(value) or holds_secret(value, scrub):
        return None
    return value


def is_identifier(value: str) -> bool:
    """Whether ``value`` may go into a URL path as an id (see ``identifier``)."""
    return _ID.fullmatch(value) is not None


def status(value: Any, field: str, scrub: Scrub = unchanged) -> str:
    """A run status: one upper-case word, known (§8) or not."""
    if not isinstance(value, str):
        raise ProtocolError(f"{field}: expected a status word such as COMPLETE; got {kind(value)}")
    word = value.strip().upper()
    if not _STATUS.fullmatch(word) or holds_secret(word, scrub):
        raise ProtocolError(
            f"{field}: expected a status word such as COMPLETE (at most 40 letters, digits, "
            f"_ and -); {flaw(word)}"
        )
    return word


def query_token(value: Any, field: str) -> str | None:
    """A queryMore token: None when there is no next page; printable ASCII, bounded."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _TOKEN.fullmatch(value):
        raise ProtocolError(
            f"{field}: expected a token of at most {MAX_TOKEN:,} printable ASCII characters; "
            f"got {kind(value)}"
        )
    return value


def moment(value: Any) -> datetime | None:
    """A platform timestamp ``yyyy-MM-ddTHH:mm:ssZ`` (fractions and offsets tolerated), in UTC.

    None when absent, unreadable, or outside the years 1970 to 9999 once in UTC.
    """
    if not isinstance(value, str) or not value or len(value) > 40:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        parsed = parsed.astimezone(UTC)  # 9999-12-31T23:59:59-12:00 is past the year 9999
    except (ValueError, OverflowError):
        return None
    return parsed if YEARS[0] <= parsed.year <= YEARS[1] else None


def long_value(value: Any) -> int | None:
    """``["Long", n]``, a number, or a numeric string → int (§4); None unless a 64-bit Long."""
    if isinstance(value, list | tuple) and len(value) == 2:
        value = value[1]
    number: int | None = None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        number = int(value) if -LONG <= value < LONG else None  # NaN and inf compare false
    elif isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        number = int(value.strip())
    return number if number is not None and -LONG <= number < LONG else None


def duration(value: Any) -> int | None:
    """A run's ``executionDuration`` in milliseconds: None unless within 0 to ten years."""
    number = long_value(value)
    return number if number is not None and 0 <= number <= MAX_DURATION_MS else None


def text(value: Any, scrub: Scrub = unchanged, limit: int = MAX_TEXT) -> str | None:
    """Free text: scrubbed whole, made inert, then cut to ``limit`` characters; None if absent.

    Stored as one inert line (``outbound.one_line``, then ``log``): no escape sequence, no
    control character, no line break, no ``##[``, so the state file read by ``jq -r`` or
    ``cat`` is as harmless as every report (and each sink still applies its own filter).
    """
    if not isinstance(value, str) or not value:
        return None
    return cut(log(one_line(scrub(_SURROGATE.sub("\ufffd", value)))), limit) or None


def kind(value: Any) -> str:
    """What ``value`` is, without showing it."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return f"a string of {len(value):,} characters"
    if isinstance(value, list):
        return f"a list of {len(value):,} items"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def flaw(value: str) -> str:
    """What is wrong with a string that failed a pattern, without showing it."""
    if not value:
        return "got an empty string"
    if len(value) > MAX_ID:
        return f"got {len(value):,} characters"
    for position, char in enumerate(value):
        if not (char.isascii() and (char.isalnum() or char in "._:-")):
            what = f"U+{ord(char):04X}" if not char.isprintable() or char == " " else repr(char)
            return f"got {what} at position {position + 1}"
    return f"got {value[0]!r} first" if not value[0].isalnum() else "got a value out of shape"


def nesting_exceeds(content: bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether the JSON text ``content`` nests arrays and objects deeper than ``limit``.

    Strings are skipped (their brackets are text); the brackets left are counted, stopping
    at the first level past ``limit``. Cheap: a body with at most ``limit`` brackets in all
    is never walked.
    """
    if content.count(b"[") + content.count(b"{") <= limit:
        return False
    brackets = _STRING.sub(b"", content).translate(None, _NOT_BRACKETS)
    depth = 0
    for byte in brackets:
        depth += 1 if byte in (0x5B, 0x7B) else -1
        if depth > limit:
            return True
    return False
