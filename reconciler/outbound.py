"""The one filter for text that leaves the process: secrets out, and inert for its channel.

Pure, a leaf. Two jobs, kept together so no sink can do one and forget the other:

1. ``Redactor.scrub`` replaces every resolved secret value with ``secret("NAME")``, in every
   encoding a platform or a log could show it: raw, JSON-escaped (twice, and ASCII-only),
   XML/HTML-escaped, URL-encoded (either case of hex, ``+`` for space), whitespace folded
   to single spaces (as a one-line report shows it), base64 at each of the
   three byte alignments (standard and URL-safe), and the pairs of those. Platform text is
   scrubbed as it arrives (``boomi/``), and every sink scrubs again with the same redactor.
2. The channel functions make untrusted text inert where it is written: ``terminal`` removes
   escape sequences (CSI, OSC, DCS…) and control characters; ``log`` also defuses lines a
   GitHub runner would read as a workflow command (``::…``, ``##[…``); ``one_line`` folds text
   into one line; ``md_text`` / ``md_code`` / ``md_fence`` / ``html_text`` escape Markdown and
   HTML so a name cannot close a fence, open a tag, @mention someone, reference an issue or
   make a link (the one implementation behind the reports and the pull-request comment);
   ``xml_text`` drops characters XML 1.0 forbids (JUnit readers reject the file otherwise).

docs/security.md lists every sink and which of these it applies.
"""

from __future__ import annotations

import base64
import functools
import html
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from urllib.parse import quote, quote_plus

#: Base64 fragments shorter than this are not redacted (three characters occur in ordinary
#: text by chance). Four is what a four-byte secret leaves at one alignment: a property test
#: found its base64 readable when the floor was six; a secret that short is rare, and its
#: four-character fragments rarer still in text that does not hold it.
_BASE64_MIN = 4
#: Scrubbing runs again while it still changes the text (a replacement next to the rest of a
#: message could spell a secret again); a text still holding one after three passes is
#: replaced whole (``Redactor.scrub``), so the cost stays linear whatever the text.
_PASSES = 3


def _json(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)[1:-1]


def _json_ascii(text: str) -> str:
    return json.dumps(text)[1:-1]


def _xml(text: str) -> str:
    return html.escape(text, quote=True)


def _xml_named(text: str) -> str:
    return html.escape(text, quote=False).replace('"', "&quot;").replace("'", "&apos;")


def _xml_element(text: str) -> str:
    return html.escape(text, quote=False)  # ElementTree's element text: & < > only


def _xml_attribute(text: str) -> str:
    # ElementTree's attribute values: & < > " escaped, and the whitespace it would not keep
    escaped = html.escape(text, quote=False).replace('"', "&quot;")
    return escaped.replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#09;")


def _url(text: str) -> str:
    return quote(text, safe="")


def _url_plus(text: str) -> str:
    return quote_plus(text, safe="")


def _url_path(text: str) -> str:
    return quote(text)  # ``/`` kept, as in a URL path


def _folded(text: str) -> str:
    return " ".join(text.split())  # how a one-line report shows it


_ENCODERS: tuple[Callable[[str], str], ...] = (
    _json,
    _json_ascii,
    _xml,
    _xml_named,
    _xml_element,
    _xml_attribute,
    _url,
    _url_plus,
    _url_path,
    _folded,
)
_URL_ENCODERS = (_url, _url_plus, _url_path)


def _base64_fragments(value: bytes) -> set[str]:
    """The base64 text that ``value`` becomes inside any longer base64 stream.

    Embedded at byte offset 0, 1 or 2 of a 3-byte group, ``value`` encodes to characters whose
    bits come from ``value`` alone from the first whole sextet to the last one.
    """
    out = set()
    for shift in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = encode(b"\0" * shift + value).decode("ascii")
            start = -(-shift * 8 // 6)  # the first character with no padding byte in it
            end = (shift + len(value)) * 8 // 6  # the last whole sextet of ``value``
            fragment = encoded[start:end]
            if len(fragment) >= _BASE64_MIN:
                out.add(fragment)
    out.add(base64.b64encode(value).decode("ascii"))  # the whole value, padded
    return out


def variants(value: str) -> tuple[set[str], set[str]]:
    """Every encoded form of ``value``: (exact forms, forms whose hex may be in either case)."""
    exact = {value}
    either_case: set[str] = set()
    for first in (None, *_ENCODERS):
        once = first(value) if first else value
        for second in (None, *_ENCODERS):
            if first is None and second is None:
                continue
            encoded = second(once) if second else once
            if first in _URL_ENCODERS or second in _URL_ENCODERS:
                either_case.add(encoded)
            else:
                exact.add(encoded)
    # base64 of a body that holds the value as it is, JSON- or XML-escaped (an echo of a JSON
    # request body carries the JSON-escaped form).
    for form in {value, *(encode(value) for encode in _ENCODERS if encode not in _URL_ENCODERS)}:
        if len(form.encode("utf-8")) >= 3:
            exact |= _base64_fragments(form.encode("utf-8"))
    exact.discard("")
    either_case -= exact
    either_case.discard("")
    return exact, either_case


def _pattern(text: str, either_case: bool) -> str:
    escaped = re.escape(text)
    if not either_case:
        return escaped
    # %2f and %2F are the same byte: match the hex digits of each escape in either case.
    return re.sub(
        r"%([0-9A-Fa-f])([0-9A-Fa-f])",
        lambda m: "%" + "".join(f"[{c.lower()}{c.upper()}]" for c in m.groups()),
        escaped,
    )


class Redactor:
    """Replaces secret values, in every encoding, with ``secret("NAME")``. Immutable."""

    def __init__(self, secrets: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        pairs = secrets.items() if isinstance(secrets, Mapping) else secrets
        self._secrets: dict[str, str] = {}
        for name, value in pairs:
            if value:
                self._secrets.setdefault(value, name)
        self._lookup: dict[str, str] = {}
        self._lookup_folded: dict[str, str] = {}
        sources: dict[str, str] = {}
        for value, name in self._secrets.items():
            exact, either_case = variants(value)
            for form in exact:
                self._lookup.setdefault(form, name)
                sources.setdefault(form, _pattern(form, False))
            for form in either_case:
                self._lookup_folded.setdefault(form.lower(), name)
                sources.setdefault(form, _pattern(form, True))
        # Longest first: the alternation takes the first branch that matches at a position.
        ordered = sorted(sources, key=lambda form: (-len(form), form))
        self._regex = re.compile("|".join(sources[form] for form in ordered)) if ordered else None

    def __bool__(self) -> bool:
        return bool(self._secrets)

    def __repr__(self) -> str:
        return f"Redactor(names={sorted(set(self._secrets.values()))})"

    def merged(self, other: Redactor | Mapping[str, str]) -> Redactor:
        """A redactor for the secrets of both."""
        more = (
            other._secrets.items()
            if isinstance(other, Redactor)
            else ((value, name) for name, value in other.items())
        )
        pairs = [(name, value) for value, name in (*self._secrets.items(), *more)]
        return Redactor(pairs)

    def scrub(self, text: str) -> str:
        """``text`` with every known secret, in every encoding, replaced by ``secret("NAME")``."""
        if self._regex is None or not text:
            return text
        for _ in range(_PASSES):
            scrubbed = self._regex.sub(self._replace, text)
            if scrubbed == text:
                return text
            text = scrubbed
        left = self._regex.search(text)
        # Still a secret after every pass: the text around each replacement spells it again
        # (``abcabcabc`` + ``abcs`` spells ``abcs`` with the ``s`` of ``secret``). Withheld whole.
        return text if left is None else self._replace(left)

    def within_lines(self) -> bool:
        """Whether no secret holds a line break, so no match of ``scrub`` spans two lines.

        Then a text cut at line breaks scrubs piece by piece as it does whole (unless a piece
        is withheld whole: a caller that writes pieces checks that too).
        """
        return not any("\n" in value for value in self._secrets)

    def _replace(self, match: re.Match[str]) -> str:
        found = match.group(0)
        name = self._lookup.get(found) or self._lookup_folded.get(found.lower(), "?")
        return f'secret("{name}")'

    def mask_values(self) -> list[str]:
        """Every value and encoded form worth an ``::add-mask::`` (the runner's own filter)."""
        out: set[str] = set()
        for value in self._secrets:
            exact, either_case = variants(value)
            out |= {form for form in exact | either_case if len(form) >= 3}
        return sorted(out)


#: The redactor that knows no secret (``scrub`` returns its input).
NO_SECRETS = Redactor()

#: A secret this long found inside an id or a status means an echo, not a coincidence: a
#: three-character secret occurs by chance in the hexadecimal of a uuid.
SECRET_IN_ID = 8
_REPLACEMENT = re.compile(r'secret\("[^"]*"\)')


def holds_secret(value: str, scrub: Callable[[str], str]) -> bool:
    """Whether ``value`` is a secret, or holds one of ``SECRET_IN_ID`` characters or more.

    For ids and statuses, which are refused (at arrival) or replaced whole (in the store)
    rather than scrubbed inside: a scrubbed id would no longer name its run.
    """
    clean = scrub(value)
    if clean == value:
        return False
    kept = sum(len(part) for part in _REPLACEMENT.split(clean))
    return kept == 0 or len(value) - kept >= SECRET_IN_ID


# ESC sequences (ECMA-48): CSI … final byte; OSC/DCS/SOS/PM/APC … string terminator (BEL or
# ESC \\), or the end of the text; any other two-character ESC sequence. C1 forms (0x9b, 0x9d…)
# are the same sequences in one byte.
_ESCAPE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[@-Z\\-~]?"
)


#: Unicode's control characters (category Cc is exactly these) but line feed and tab, and the
#: surrogates (Cs) a lone escape can leave.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def terminal(text: str) -> str:
    """``text`` without escape sequences or control characters (line breaks and tabs kept)."""
    return _CONTROL.sub("", _ESCAPE.sub("", text))


_COMMAND_LINE = re.compile(r"^(\s*)(::|##\[)", re.MULTILINE)
_LEGACY_COMMAND = re.compile(r"##\[")


def log(text: str) -> str:
    """``terminal(text)`` for a CI log: no line can be read as a workflow command.

    The runner reads a line whose trimmed text starts ``::`` as a command, and ``##[`` anywhere
    as a legacy one; a word joiner (U+2060, not whitespace, so not trimmed) breaks each prefix.
    U+2028 and U+2029 become line breaks first, so no reader sees a line the filter did not.
    """
    text = terminal(text.replace("\u2028", "\n").replace("\u2029", "\n"))
    text = _COMMAND_LINE.sub(lambda m: m.group(1) + "\u2060" + m.group(2), text)
    return _LEGACY_COMMAND.sub("#\u2060#[", text)


_BREAKING = ("Cc", "Zl", "Zp")  # control characters, line and paragraph separators
_INVISIBLE = (*_BREAKING, "Cf")  # ...and format characters (zero-width, bidi overrides)


def one_line(text: str, *, invisible: bool = False) -> str:
    """``text`` as one inert line; ``invisible`` also blanks format characters (``Cf``).

    Escape sequences go first (their printable tails with them). The pull-request comment
    passes ``invisible=True``: there a bidi override or a zero-width joiner could make a name
    read as another one. Terminal and file reports keep them.
    """
    if text.isascii():  # no format or separator characters: only escapes and controls
        if "\x1b" in text:
            text = _ESCAPE.sub(" ", text)
        if not text.isprintable():
            text = _ASCII_CONTROL.sub(" ", text)
        return " ".join(text.split())
    text = _ESCAPE.sub(" ", text)
    categories = _INVISIBLE if invisible else _BREAKING
    cleaned = "".join(" " if unicodedata.category(c) in categories else c for c in text)
    return " ".join(cleaned.split())


_ASCII_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


#: Characters that are markup in Markdown or HTML, written as numeric entities: an entity is
#: plain text in Markdown and in raw HTML alike (where a backslash escape is not).
_ENTITIES = {c: f"&#{ord(c)};" for c in "&<>\"'`"}
#: ASCII punctuation that Markdown (or GitHub's extensions: tables, math, footnotes, emoji)
#: gives a meaning, backslash-escaped in Markdown text.
_BACKSLASHED = frozenset("\\*_{}[]()#+-.!|~=:^$")
#: A zero-width space, as an entity: after ``@`` no mention, after ``#`` or ``GH-`` no issue
#: reference, inside ``://`` or ``www.`` no autolink. GitHub finds those in the rendered text,
#: after escapes are decoded, so only a character in between breaks them.
_BREAK = "&#8203;"
_LINKS = re.compile(r"(?i)(\\?:)(//)|(www)(\\?\.)|\b(gh\\?-)(?=\d)")


def cut(text: str, limit: int | None) -> str:
    """``text``, or its first ``limit - 1`` characters and an ellipsis when it is longer."""
    return text if limit is None or len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def unchanged(text: str) -> str:
    """The identity filter: what a sink uses when it knows no secret."""
    return text


_MARKDOWN = str.maketrans(
    {
        **{c: f"\\{c}" for c in _BACKSLASHED},
        **_ENTITIES,
        "@": "@" + _BREAK,
        "#": "\\#" + _BREAK,
    }
)
_HTML = str.maketrans({**_ENTITIES, "@": "@" + _BREAK, "#": "#" + _BREAK})


def _break_links(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        if match[1]:
            return f"{match[1]}{_BREAK}{match[2]}"
        if match[3]:
            return f"{match[3]}{_BREAK}{match[4]}"
        return f"{match[5]}{_BREAK}"

    return _LINKS.sub(one, text)


def md_text(text: str, *, limit: int | None = None) -> str:
    """One line of untrusted text for Markdown prose or a table cell: nothing it can open.

    The text is folded to one line (format characters blanked) and cut at ``limit``; HTML's
    ``& < > " ' ``` become entities, the rest of Markdown's punctuation is backslash-escaped
    (``|`` too, so a table cell stays one cell), and a zero-width space follows each ``@``
    and ``#`` and breaks ``://`` and ``www.``: GitHub neither notifies anyone, nor links an
    issue, nor makes a link.
    """
    line = cut(one_line(text, invisible=True), limit)
    return _break_links(line.translate(_MARKDOWN))


def md_code(text: str, *, table: bool = False, limit: int | None = None) -> str:
    """Untrusted text as an inline code span that no backtick inside it can close.

    A code span shows its text literally (no HTML, mention or link); its fence is one
    backtick longer than any run inside. In a table cell (``table``) a ``|`` would still end
    the cell, so it is escaped (GitHub removes the backslash inside the span).
    """
    line = cut(one_line(text, invisible=True), limit)
    if not line:
        return "` `"
    if table:
        line = line.replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", line)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if line.startswith("`") or line.endswith("`") else ""
    return f"{ticks}{pad}{line}{pad}{ticks}"


def md_fence(text: str, info: str = "") -> str:
    r"""Untrusted text as a fenced code block whose fence no line inside can close.

    Only a line of backticks at least as long as the opening fence closes it, so the fence
    is one backtick longer than the longest run of backticks in the text (at least three).
    Line breaks are normalised (``\r``, U+2028 and U+2029 would otherwise start lines a
    reader counts differently), control characters removed, and workflow commands defused as
    in ``log`` (a Markdown report printed to a CI log stays inert there too; the word joiner
    is invisible in the block). ``info`` is ours (``diff``).
    """
    body = log(text)
    longest = max((len(run) for run in re.findall(r"`{3,}", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{body}{'' if body.endswith(chr(10)) else chr(10)}{fence}"


def html_text(text: str, *, limit: int | None = None) -> str:
    """Untrusted text inside raw HTML (a ``<summary>``, a ``<code>``): entities only, one line.

    Backslash escapes mean nothing in HTML, so ``& < > " ' ``` become entities; a zero-width
    space follows ``@`` and ``#`` and breaks ``://`` and ``www.``, as in ``md_text``.
    """
    line = cut(one_line(text, invisible=True), limit)
    return _break_links(line.translate(_HTML))


def xml_text(text: str) -> str:
    r"""``text`` as XML 1.0 character data: forbidden characters removed, line breaks as ``\n``.

    XML 1.0 forbids most control characters, surrogates and U+FFFE/U+FFFF (ElementTree writes
    them anyway, and a JUnit reader then rejects the file); a parser reads ``\r`` and ``\r\n``
    as ``\n``, so they are written that way and the text reads back as written.
    """
    return _xml_forbidden().sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


@functools.cache
def _xml_forbidden() -> re.Pattern[str]:
    """Every character XML 1.0 forbids, as a character class.

    Compiled when first needed: its ranges span all of Unicode and take milliseconds to
    compile, which the commands that write no JUnit file should not pay at start-up.
    """
    return re.compile("[^\t\n\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
