"""The terminal table: aligned columns of inert cells, coloured and fitted on request.

Pure. The CLI passes what it knows of the terminal as plain values: a ``paint`` function (a
role such as ``submit`` or ``failure`` and a word of ours → that word in colour; the default
paints nothing) and, to ``shorten``, the room a reason has. Every cell is made one inert line
first (``outbound.one_line``), so the only escape sequences a table can hold are the colours
``paint`` adds around our own words.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence

from reconciler.outbound import cut, one_line

#: A role and a word of ours → the word as the terminal shows it (``cli`` passes colours).
Paint = Callable[[str, str], str]

#: The narrowest a shortened reason gets; a terminal narrower than the other columns and this
#: wraps rather than showing nothing of the reason.
MIN_REASON_WIDTH = 24
_TAIL_DETAIL = re.compile(r"\s*\([^()]*\)$")
#: Lines (rows) per piece of a report written or printed in pieces: a few hundred rows are a
#: few tens of kB, so a piece costs nothing to hold and a report of any size is a stream.
ROWS_PER_CHUNK = 500


def unpainted(_role: str, text: str) -> str:
    """The ``paint`` of a report without colours (files, logs, pipes)."""
    return text


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    roles: Sequence[str] | None = None,
    painted: Sequence[int] = (),
    paint: Paint = unpainted,
) -> str:
    """A plain aligned text table; colours only through ``paint``.

    Every cell is one inert line, whatever it holds: a line break in a recorded status would
    break the table and could start a workflow command. With ``roles`` (one per row), the
    cells of the ``painted`` columns are painted in their row's role, their padding left
    outside the colour, so colours never shift a column.
    """
    body = [tuple(row) for row in rows]
    paired = list(zip(roles, body, strict=True)) if roles is not None else [("", r) for r in body]
    lines = table_lines(headers, lambda: paired, painted=painted if roles else (), paint=paint)
    return "".join(lines)[:-1]


def table_lines(
    headers: Sequence[str],
    rows: Callable[[], Iterable[tuple[str, Sequence[str]]]],
    *,
    painted: Sequence[int] = (),
    paint: Paint = unpainted,
    size: int = ROWS_PER_CHUNK,
) -> Iterator[str]:
    """``table`` in pieces of up to ``size`` lines, each piece ending with a line break.

    ``rows`` gives (role, cells) pairs afresh on each call: it is read twice, once for the
    widths of the columns and once to lay the rows out, so a table of 30,000 runs never has
    all its lines (or all its cells) in memory at once. The pieces joined are ``table``'s
    text and a line break.
    """
    widths = [len(h) for h in headers]
    for _, row in rows():
        widths = [max(w, len(one_line(str(c)))) for w, c in zip(widths, row, strict=True)]
    head = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()
    lines = [head, "  ".join("-" * w for w in widths)]
    for role, row in rows():
        texts = [one_line(str(cell)) for cell in row]
        cells = [c.ljust(w) for c, w in zip(texts, widths, strict=True)]
        for column in painted:
            text = texts[column]
            cells[column] = paint(role, text) + cells[column][len(text) :]
        lines.append("  ".join(cells).rstrip())
        if len(lines) >= size:
            yield "\n".join(lines) + "\n"
            lines = []
    if lines:
        yield "\n".join(lines) + "\n"


def shorten(reason: str, limit: int) -> str:
    """``reason`` in at most ``limit`` characters, for a terminal table.

    Detail goes first: a trailing parenthesis (an execution id, the fields that changed, the
    statuses a policy retries), then trailing ``; ...`` clauses; only what still does not fit
    is cut, with an ellipsis.
    """
    text = reason
    while len(text) > limit:
        shorter = _TAIL_DETAIL.sub("", text)
        if shorter == text:
            head, sep, _ = text.rpartition("; ")
            shorter = head if sep and head else text
        if shorter == text:
            break
        text = shorter
    return cut(text, limit)
