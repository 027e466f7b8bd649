"""``outbound``: the one filter for text that leaves the process."""

from __future__ import annotations

from reconciler.outbound import one_line


def test_line_breaks_and_control_characters_become_single_spaces() -> None:
    text = "boom\r\n::error::x\x1b[2J\u2028next\u2029  end\t!"
    assert one_line(text) == "boom ::error::x next end !"


def test_format_characters_are_kept_unless_invisible_is_asked_for() -> None:
    text = "ord\u200bers \u202egnp.exe"
    assert one_line(text) == text
    assert one_line(text, invisible=True) == "ord ers gnp.exe"
