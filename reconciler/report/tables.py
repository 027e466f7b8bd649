"""The terminal table: aligned columns of inert cells, coloured and fitted on request.

Pure. The CLI passes what it knows of the terminal as plain values: a ``paint`` function (a
role such as ``submit`` or ``failure`` and a word of ours → that word in colour; the default
paints nothing) and, to ``shorten``, the room a reason has. Every cell is made one inert line
first (``outbound.one_line``), so the only escape sequences a table can hold are the colours
``paint`` adds around our own words.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

from reconciler.outbound import cut, one_line

#: A role and a word of ours → the word as the terminal shows it (``cli`` passes colours).
Paint = Callable[[str, str], str]

#: The narrowest a shortened reason gets; a terminal narrower than the other columns and this
#: wraps rather than showing nothing of the reason.
MIN_REASON_WIDTH = 24
_TAIL_DETAIL = re.compile(r"\s*\([^()]*\)$")


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
    body = [[one_line(str(cell)) for cell in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in body:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for index, row in enumerate(body):
        cells = [c.ljust(w) for c, w in zip(row, widths, strict=True)]
        if roles is not None:
            for column in painted:
                text = row[column]
                cells[column] = paint(roles[index], text) + cells[column][len(text) :]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


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
