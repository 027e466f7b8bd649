"""Untrusted text made inert for one line of output: the renderers' and the comment's helper.

Pure. Platform messages, names and reasons can carry line breaks and control characters; a line
break could start a workflow command (``::error::``) in a CI log, an escape sequence could
redraw the terminal. ``one_line`` turns them into spaces and collapses runs of whitespace.
"""

from __future__ import annotations

import unicodedata

_BREAKING = ("Cc", "Zl", "Zp")  # control characters, line and paragraph separators
_INVISIBLE = (*_BREAKING, "Cf")  # ...and format characters (zero-width, bidi overrides)


def one_line(text: str, *, invisible: bool = False) -> str:
    """``text`` as one inert line; ``invisible`` also blanks format characters (``Cf``).

    The pull-request comment passes ``invisible=True``: there a bidi override or a zero-width
    joiner could make a name read as another one. Terminal and file reports keep them.
    """
    categories = _INVISIBLE if invisible else _BREAKING
    cleaned = "".join(" " if unicodedata.category(c) in categories else c for c in text)
    return " ".join(cleaned.split())
