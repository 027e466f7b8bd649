"""Reading every output channel the way its consumer does, and counting what an attacker wrote.

Owns the judges of the injection and hostile-canary scenarios, written independently of
``reconciler.outbound`` (a harness that reused the product's filter would only test it against
itself):

- a log (stdout, stderr, commit messages): lines a GitHub runner reads as a workflow command
  (``::`` after leading whitespace, or ``##[``) that are not one of the fixed shapes the tool
  writes; ``::add-mask::`` of a value that is no known secret; escape sequences and control
  characters;
- Markdown (the job summary, ``summary.md``, a plan): fences left open, raw HTML and
  @mentions from platform text outside code;
- step outputs: names the tool never sets (a value that started a line of its own);
- JSON (state, ``apply.json``, ``runs/*.json``): strings with control characters or lines that
  would be a workflow command once printed; XML (``junit.xml``): well-formed, no control
  characters;
- ``secret_forms``: a value in every encoding a platform, a log or a report could show it.
"""

from __future__ import annotations

import base64
import html
import json
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, quote_plus
from xml.etree import ElementTree

from reconciler.sim.hostile import MARKER

INJECTED_HTML = ("<img", "<script", "</table>", "<!-- INJ-7e1f", "<!-- reconciler-plan env=prod")
MENTIONS = ("@inj7e1f", "@github/")
OUR_OUTPUTS = re.compile(r"(has-changes|plan-digest|reviewed|summary-path|count-[a-z]+)\Z")
_ANNOTATION = re.compile(r"::(error|warning|notice)(?: ([^:]*))?::(.*)\Z")
_PROPERTY = re.compile(r"(file|line|col|endLine|endColumn|title)=[^,]*\Z")
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})(.*)\Z")
_CODE_SPAN = re.compile(r"(`+).+?\1")
_ESCAPES = re.compile(r"[\x1b\x80-\x9f]")
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_TAGS = [re.compile(r"(?<!\\)" + re.escape(tag), re.IGNORECASE) for tag in INJECTED_HTML]


@dataclass
class Findings:
    """What one or more channels showed; each list holds ``channel: example`` lines."""

    forged_commands: list[str] = field(default_factory=list)
    unknown_masks: list[str] = field(default_factory=list)
    escapes: list[str] = field(default_factory=list)
    controls: list[str] = field(default_factory=list)
    unclosed_fences: list[str] = field(default_factory=list)
    raw_html: list[str] = field(default_factory=list)
    mentions: list[str] = field(default_factory=list)
    injected_outputs: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    annotations_quoting_platform_text: int = 0
    own_commands: int = 0

    COUNTED = (
        "forged_commands",
        "unknown_masks",
        "escapes",
        "controls",
        "unclosed_fences",
        "raw_html",
        "mentions",
        "injected_outputs",
        "unreadable",
    )

    def merge(self, other: Findings) -> None:
        """Add ``other``'s findings to these."""
        for name in self.COUNTED:
            getattr(self, name).extend(getattr(other, name))
        self.annotations_quoting_platform_text += other.annotations_quoting_platform_text
        self.own_commands += other.own_commands

    @property
    def total(self) -> int:
        """Every finding that breaks a guarantee."""
        return sum(len(getattr(self, name)) for name in self.COUNTED)

    def as_dict(self, examples: int = 3) -> dict[str, Any]:
        """Counts, and the first few examples of each (cut to 160 characters, escaped)."""
        out: dict[str, Any] = {}
        for name in self.COUNTED:
            found: list[str] = getattr(self, name)
            out[_camel(name)] = len(found)
            if found:
                out[_camel(name) + "Examples"] = [ascii(f)[:160] for f in found[:examples]]
        out["annotationsQuotingPlatformText"] = self.annotations_quoting_platform_text
        out["ownCommands"] = self.own_commands
        return out


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _characters(text: str, channel: str, found: Findings) -> None:
    for line in re.split(r"\n", text):
        if _ESCAPES.search(line):
            found.escapes.append(f"{channel}: {line}")
        elif _CONTROLS.search(line.rstrip("\r")):
            found.controls.append(f"{channel}: {line}")


def scan_log(text: str, channel: str, *, masks: set[str], names: set[str]) -> Findings:
    """A log the runner reads line by line; ``masks``: the escaped values ours may mask."""
    found = Findings()
    titles = {f"reconciler%3A {name}" for name in names} | {"reconciler github"}
    for line in text.split("\n"):
        stripped = line.strip()
        if "##[" in line:
            found.forged_commands.append(f"{channel}: {line}")
        if not stripped.startswith("::"):
            continue
        if stripped == "::endgroup::" or (
            stripped.startswith("::group::reconciler plan (") and stripped == line
        ):
            found.own_commands += 1
            continue
        if stripped.startswith("::add-mask::") and stripped == line:
            value = line.removeprefix("::add-mask::")
            if MARKER not in value and (value in masks or _unescape(value) in masks):
                found.own_commands += 1
            else:
                found.unknown_masks.append(f"{channel}: {line}")
            continue
        match = _ANNOTATION.fullmatch(line)
        properties = (match.group(2) or "").split(",") if match and match.group(2) else []
        title = next((p[6:] for p in properties if p.startswith("title=")), None)
        ours = (
            match is not None
            and all(_PROPERTY.match(p) for p in properties)
            and MARKER not in (match.group(2) or "")
            and (title is None or title in titles)
        )
        if not ours:
            found.forged_commands.append(f"{channel}: {line}")
            continue
        found.own_commands += 1
        if match is not None and MARKER in match.group(3):
            found.annotations_quoting_platform_text += 1
    _characters(text, channel, found)
    return found


def _unescape(value: str) -> str:
    return value.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def _outside_code(text: str) -> tuple[list[str], bool]:
    """The lines of Markdown ``text`` outside fenced code, and whether a fence is left open.

    Code spans are removed from the lines kept.
    """
    lines, fence = [], None
    for line in text.split("\n"):
        match = _FENCE.match(line)
        if fence is None and match and not (match.group(1)[0] == "`" and "`" in match.group(2)):
            fence = match.group(1)
            continue
        if fence is not None:
            closes = match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence)
            if closes and match and not match.group(2).strip():
                fence = None
            continue
        lines.append(_CODE_SPAN.sub("", line))
    return lines, fence is not None


def scan_markdown(text: str, channel: str) -> Findings:
    """Markdown a browser renders: open fences, raw HTML and @mentions from platform text."""
    found = Findings()
    lines, unclosed = _outside_code(text)
    if unclosed:
        found.unclosed_fences.append(channel)
    for line in lines:
        if any(tag.search(line) for tag in _TAGS):
            found.raw_html.append(f"{channel}: {line}")
        if any(mention in line for mention in MENTIONS):
            found.mentions.append(f"{channel}: {line}")
    _characters(text, channel, found)
    return found


def scan_outputs(text: str, channel: str) -> Findings:
    """``$GITHUB_OUTPUT``: ``name=value`` lines and ``name<<DELIMITER`` blocks."""
    found = Findings()
    lines = text.split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line:
            continue
        name, heredoc, delimiter = line.partition("<<")
        if heredoc and "=" not in name:
            while index < len(lines) and lines[index] != delimiter:
                index += 1
            index += 1
        else:
            name = line.partition("=")[0]
        if not OUR_OUTPUTS.match(name):
            found.injected_outputs.append(f"{channel}: {line}")
    _characters(text, channel, found)
    return found


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def scan_json(data: bytes, channel: str) -> Findings:
    """A JSON file: every string as a later ``cat``/``jq -r`` would print it."""
    found = Findings()
    try:
        value = json.loads(data)
    except (ValueError, RecursionError) as exc:
        found.unreadable.append(f"{channel}: {type(exc).__name__}")
        return found
    for text in _strings(value):
        for line in re.split(r"[\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]", text):
            if line.strip().startswith("::") or "##[" in line:
                found.forged_commands.append(f"{channel}: {line}")
        if _ESCAPES.search(text):
            found.escapes.append(f"{channel}: {text}")
        elif _CONTROLS.search(text.replace("\r\n", "\n")):
            found.controls.append(f"{channel}: {text}")
    return found


def scan_xml(data: bytes, channel: str) -> Findings:
    """An XML report: it must parse, and hold no character XML 1.0 forbids."""
    found = Findings()
    try:
        ElementTree.fromstring(data)  # noqa: S314 - our own artifact
    except ElementTree.ParseError as exc:
        found.unreadable.append(f"{channel}: {exc}")
    _characters(data.decode("utf-8", errors="replace"), channel, found)
    return found


# -- secrets in every encoding -------------------------------------------------------------


def _base64_inside(value: bytes) -> set[str]:
    """The base64 characters ``value`` fixes on its own, at each of the three alignments."""
    out = set()
    for shift in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            text = encode(b"\0" * shift + value).decode("ascii")
            first = -(-8 * shift // 6)  # the first sextet with no bit of the padding
            last = 8 * (shift + len(value)) // 6  # past the last sextet wholly inside value
            out.add(text[first:last])
    return out


def secret_forms(value: str, *, shortest: int = 12) -> dict[str, str]:
    """``value`` in every encoding a platform, a log or a report could show it.

    Each form maps to a label saying how it was made (``json``, ``json+url``, ``raw+base64``…).

    Raw, JSON-escaped (once, twice, ASCII or not), whitespace-folded and as a workflow command
    escapes it; each of those as is, URL-encoded (upper- and lower-case hex, ``+`` for space),
    XML-escaped and in base64 at three alignments.
    """
    json_once = json.dumps(value)[1:-1]
    first = {
        "raw": value,
        "json": json_once,
        "json-unicode": json.dumps(value, ensure_ascii=False)[1:-1],
        "json-twice": json.dumps(json_once)[1:-1],
        "folded": " ".join(value.split()),
        "workflow": value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"),
    }
    forms: dict[str, str] = {}
    for label, text in first.items():
        url = quote(text, safe="")
        made = {
            label: text,
            f"{label}+url": url,
            f"{label}+url-lower": re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), url),
            f"{label}+url-plus": quote_plus(text, safe=""),
            f"{label}+xml": html.escape(text, quote=True),
            f"{label}+xml-named": html.escape(text, quote=False)
            .replace('"', "&quot;")
            .replace("'", "&apos;"),
        }
        for form, how in made.items():
            forms.setdefault(how, form)
        for form in _base64_inside(text.encode("utf-8")):
            forms.setdefault(form, f"{label}+base64")
        for form in _base64_inside(unicodedata.normalize("NFD", text).encode("utf-8")):
            forms.setdefault(form, f"{label}+nfd+base64")
    return {form: how for form, how in forms.items() if len(form) >= shortest}


def mask_forms(values: Iterable[str]) -> set[str]:
    """Everything a tool may rightly ``::add-mask::`` for ``values``.

    Each value under up to two encodings (JSON, XML, URL in its variants, whitespace folded,
    workflow-escaped) and their base64 fragments.
    """
    encoders: tuple[Callable[[str], str], ...] = (
        lambda t: json.dumps(t)[1:-1],
        lambda t: json.dumps(t, ensure_ascii=False)[1:-1],
        lambda t: html.escape(t, quote=True),
        lambda t: html.escape(t, quote=False).replace('"', "&quot;").replace("'", "&apos;"),
        lambda t: quote(t, safe=""),
        lambda t: re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), quote(t, safe="")),
        lambda t: quote_plus(t, safe=""),
        quote,
        lambda t: " ".join(t.split()),
        lambda t: t.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"),
    )
    out: set[str] = set()
    for value in values:
        level = {value}
        for _ in range(2):
            level |= {encode(text) for text in level for encode in encoders}
        out |= level
        for text in level:
            out |= _base64_inside(text.encode("utf-8"))
            out.add(base64.b64encode(text.encode("utf-8")).decode("ascii"))
    return out


def count_forms(data: bytes, forms: Iterable[str]) -> list[str]:
    """The forms found in ``data`` (bytes of any file or output)."""
    return sorted(form for form in forms if form.encode("utf-8") in data)
