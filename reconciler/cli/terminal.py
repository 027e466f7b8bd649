"""What a terminal gets and a log does not: colours, and tables fitted to its width.

The CLI's side of ``report.tables``: whether to colour (``color_wanted``: ``--no-color``,
``NO_COLOR``, ``FORCE_COLOR``/``CLICOLOR_FORCE``, a terminal), the ``paint`` handed to the
renderers, the width handed to them, and ``echo_painted``, which prints painted text only when
the output filters of ``base.echo`` would leave it unchanged.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TextIO

import click

from reconciler import outbound
from reconciler.cli.base import OUTPUT, scrub

#: How a renderer's roles look on a terminal (``click.style`` arguments): the plan's actions,
#: the apply's outcomes (also the roles of ``status``). docs/engine.md has the legend.
STYLES: dict[str, dict[str, Any]] = {
    "submit": {"fg": "green"},
    "rerun": {"fg": "yellow"},
    "retry": {"fg": "yellow"},
    "resume": {"fg": "cyan"},
    "wait": {"fg": "cyan"},
    "noop": {"dim": True},
    "skip": {"fg": "magenta"},
    "orphan": {"fg": "magenta"},
    "unknown": {"fg": "red", "bold": True},
    "success": {"fg": "green"},
    "failure": {"fg": "red", "bold": True},
    "rejected": {"fg": "red", "bold": True},
    "pending": {"fg": "cyan"},
    "unsent": {"fg": "red"},
    "skipped": {"fg": "magenta"},
}
#: Exactly the sequences ``_styled`` writes, and nothing else: an escape sequence that came in
#: with the data (a platform message) is not one of ours, stays in the plain text, and is defused.
_OURS = re.compile(
    "|".join(
        sorted(
            {
                re.escape(part)
                for s in STYLES.values()
                for part in click.style("\0", **s).split("\0")
            }
            - {""},
            key=len,
            reverse=True,
        )
    )
)
_OFF = ("", "0", "false", "no")


def color_wanted(stream: TextIO, environ: Mapping[str, str], *, disabled: bool = False) -> bool:
    """Whether to colour what goes to ``stream``.

    Off with ``--no-color`` or ``NO_COLOR`` (any non-empty value, no-color.org); else on with
    ``FORCE_COLOR`` or ``CLICOLOR_FORCE`` (any value but empty, ``0``, ``false`` or ``no``); else
    on when ``stream`` is a terminal and ``TERM`` is not ``dumb``.
    """
    if disabled or environ.get("NO_COLOR"):
        return False
    if any(environ.get(name, "").lower() not in _OFF for name in ("FORCE_COLOR", "CLICOLOR_FORCE")):
        return True
    return stream.isatty() and environ.get("TERM") != "dumb"


def _plain(_role: str, text: str) -> str:
    return text


def _styled(role: str, text: str) -> str:
    style = STYLES.get(role)
    return click.style(text, **style) if style else text


def painter(*, err: bool = False) -> Callable[[str, str], str]:
    """The ``paint`` a renderer takes: colours for stdout (or stderr), or none."""
    stream = sys.stderr if err else sys.stdout
    wanted = color_wanted(stream, os.environ, disabled=OUTPUT.no_color)
    return _styled if wanted else _plain


def echo_painted(text: str, *, err: bool = False) -> None:
    """Print text a renderer painted: coloured only if the filters of ``echo`` leave it as is.

    The colours are ours (``STYLES``, around our own words: symbols, actions, statuses); the
    text between them passed the same filters as every other line. Should scrubbing or
    defusing change anything, the line is printed filtered and without colour.
    """
    plain = _OURS.sub("", text)
    safe = outbound.log(scrub(plain))
    if safe == plain and plain != text:
        click.echo(text, err=err, color=True)
    else:
        click.echo(safe, err=err)


def echo_painted_lines(pieces: Callable[[], Iterable[str]], *, err: bool = False) -> None:
    """``echo_painted`` of the pieces of a long report (whole lines each), a piece at a time.

    The same output as ``echo_painted`` of the pieces joined (without their last line break):
    a first reading finds whether the filters change any piece (then nothing is coloured) and
    whether a piece cannot be filtered alone (a secret holding a line break, or a piece
    scrubbing withholds whole: then the report is printed as one text, as before); the second
    prints. ``pieces`` gives them afresh on each call, so no reading holds the whole report.
    """
    redactor = OUTPUT.redactor()
    whole = not redactor.within_lines()
    changed = coloured = False
    for piece in () if whole else pieces():
        plain = _OURS.sub("", piece)
        safe = outbound.log(redactor.scrub(plain))
        if not safe.endswith("\n"):  # withheld whole
            whole = True
            break
        changed = changed or safe != plain
        coloured = coloured or plain != piece
    if whole:
        echo_painted("".join(pieces())[:-1], err=err)
        return
    for piece in pieces():
        if coloured and not changed:
            click.echo(piece, err=err, color=True, nl=False)
        else:
            click.echo(outbound.log(redactor.scrub(_OURS.sub("", piece))), err=err, nl=False)


def text_width() -> int | None:
    """Columns of the terminal stdout is (or ``COLUMNS``); None for a pipe or a file.

    Tables are fitted to it; a log or a file gets every reason in full.
    """
    if os.environ.get("COLUMNS") or sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    return None
