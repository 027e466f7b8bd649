"""The README and the docs as the tests read them: fenced snippets, code spans, sections.

A fence is three backticks and a language (```sh ... ```), at any indentation; the snippet is
its lines with that indentation removed. An HTML comment on the last non-blank line before a
fence directs the test: ``<!-- snippet: skip REASON -->`` (the reason is required) leaves the
snippet unrun. Nothing else is a directive, so a typo in one is an error, not a silent run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import ROOT

FENCE = re.compile(r"^(?P<indent>\s*)```(?P<lang>[A-Za-z0-9_+-]*)\s*$")
DIRECTIVE = re.compile(r"^\s*<!--\s*snippet:\s*(?P<body>.*?)\s*-->\s*$")
CODE_SPAN = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
HEADING = re.compile(r"^(#{1,6})\s+(.*)$")


def pages() -> list[Path]:
    """The README and every page of docs/, in a stable order."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@dataclass(frozen=True)
class Snippet:
    """One fenced block: where it is, its language, its text, and its directive if any."""

    page: Path
    line: int  # the line of the opening fence, 1-based
    lang: str
    text: str
    directive: str | None

    @property
    def where(self) -> str:
        return f"{relative(self.page)}:{self.line}"

    @property
    def skip_reason(self) -> str | None:
        """The reason of ``skip REASON``; None when the snippet is to run."""
        if self.directive is None:
            return None
        verb, _, reason = self.directive.partition(" ")
        return reason.strip() if verb == "skip" else None

    @property
    def invalid(self) -> bool:
        """``<!-- snippet: invalid -->``: a yaml block that must fail as the next block shows."""
        return self.directive is not None and self.directive.strip() == "invalid"

    def __str__(self) -> str:  # pytest ids
        return f"{self.where}:{self.lang or 'text'}"


def snippets(page: Path) -> list[Snippet]:
    """Every fenced block of ``page``, with the directive before it."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found: list[Snippet] = []
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        indent = len(opening["indent"])
        body: list[str] = []
        end = index + 1
        while end < len(lines) and lines[end].strip() != "```":
            body.append(lines[end][indent:] if lines[end][:indent].isspace() else lines[end])
            end += 1
        assert end < len(lines), f"{relative(page)}:{index + 1}: a fence that is never closed"
        found.append(
            Snippet(
                page=page,
                line=index + 1,
                lang=opening["lang"].lower(),
                text="\n".join(body) + "\n",
                directive=_directive(lines, index),
            )
        )
        index = end + 1
    return found


def _directive(lines: list[str], fence: int) -> str | None:
    before = fence - 1
    while before >= 0 and not lines[before].strip():
        before -= 1
    if before < 0:
        return None
    match = DIRECTIVE.match(lines[before])
    return match["body"] if match else None


def all_snippets() -> list[Snippet]:
    return [snippet for page in pages() for snippet in snippets(page)]


@dataclass(frozen=True)
class Span:
    """A piece of documented text: a code span, or one line of a shell snippet."""

    page: Path
    line: int
    text: str
    section: str  # the nearest heading above it, as written
    in_snippet: bool = False  # a line of a shell snippet, not a code span

    @property
    def where(self) -> str:
        return f"{relative(self.page)}:{self.line}"


def spans(page: Path) -> list[Span]:
    """Every code span outside fences, and every line of sh/bash/console fences."""
    found: list[Span] = []
    section = ""
    fence: str | None = None
    held = ""  # a shell line continued with a backslash
    for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), start=1):
        opening = FENCE.match(line)
        if fence is None and opening is not None:
            fence = opening["lang"].lower()
            continue
        if fence is not None:
            if line.strip() == "```":
                fence, held = None, ""
                continue
            if fence == "console":
                if not line.startswith("$ ") and not held:
                    continue  # output
                line = line.removeprefix("$ ")
            elif fence not in {"sh", "bash", "shell"}:
                continue
            text = f"{held} {line.strip()}".strip()
            if text.endswith("\\"):
                held = text[:-1]
            else:
                held = ""
                found.append(Span(page, number, text, section, in_snippet=True))
            continue
        heading = HEADING.match(line)
        if heading:
            section = heading[2].strip()
        # A pipe inside a table cell is written \| (README's synopses).
        found.extend(
            Span(page, number, text.replace("\\|", "|"), section)
            for text in CODE_SPAN.findall(line)
        )
    return found


def table_first_cells(page: Path) -> list[Span]:
    """The code span opening the first cell of each table row, with its section."""
    found: list[Span] = []
    section = ""
    in_fence = False
    for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), start=1):
        if FENCE.match(line):  # an opening or a closing fence
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        heading = HEADING.match(line)
        if heading:
            section = heading[2].strip()
        cell = re.match(r"^\|\s*`([^`]+)`", line)
        if cell:
            found.append(Span(page, number, cell[1].replace("\\|", "|"), section))
    return found
