"""``outbound``: the one filter for text that leaves the process.

Examples for each channel, then properties over arbitrary text (hypothesis): what each channel
promises must hold for any input, and the redactor must leave no secret readable in any of the
encodings a platform or a log could show it in.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import re
from collections.abc import Callable
from urllib.parse import quote, quote_plus
from xml.etree import ElementTree

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from reconciler.outbound import (
    Redactor,
    html_text,
    log,
    md_code,
    md_fence,
    md_text,
    one_line,
    terminal,
    xml_text,
)


def test_line_breaks_and_control_characters_become_single_spaces() -> None:
    text = "boom\r\n::error::x\x1b[2J\u2028next\u2029  end\t!"
    assert one_line(text) == "boom ::error::x next end !"


def test_format_characters_are_kept_unless_invisible_is_asked_for() -> None:
    text = "ord\u200bers \u202egnp.exe"
    assert one_line(text) == text
    assert one_line(text, invisible=True) == "ord ers gnp.exe"


# --- the Markdown and HTML channels: one implementation for reports and the PR comment ---


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("never run", "never run"),
        ("@team ping", "@&#8203;team ping"),
        ("see #12 and GH-3", "see \\#&#8203;12 and GH\\-&#8203;3"),
        ("<b>x</b>", "&#60;b&#62;x&#60;/b&#62;"),
        ("a\nb\r\x1b[31mc", "a b c"),
        ("http://x.example", "http\\:&#8203;//x\\.example"),
        ("www.evil.example", "www&#8203;\\.evil\\.example"),
        ("a|b", "a\\|b"),
        ("`c` **b** [l](u)", "&#96;c&#96; \\*\\*b\\*\\* \\[l\\]\\(u\\)"),
        ("$x$ ~s~ :+1:", "\\$x\\$ \\~s\\~ \\:\\+1\\:"),
        ("1. item", "1\\. item"),
        ("a\u2028b\u202ec", "a b c"),
    ],
)
def test_md_text_is_inert(text: str, expected: str) -> None:
    assert md_text(text) == expected


def test_md_text_is_cut_at_its_limit() -> None:
    assert md_text("x" * 1000, limit=10) == "xxxxxxxxx…"


def test_code_spans_cannot_be_closed_early() -> None:
    assert md_code("a`b") == "``a`b``"
    assert md_code("a|b", table=True) == "`a\\|b`"
    assert md_code("`x") == "`` `x ``"
    assert md_code("") == "` `"
    assert md_code("@x <b>\ny") == "`@x <b> y`"


def test_html_text_uses_entities_only() -> None:
    assert html_text('<img src=x onerror="a">') == "&#60;img src=x onerror=&#34;a&#34;&#62;"
    assert html_text("@all #1 https://e.x") == "@&#8203;all #&#8203;1 https:&#8203;//e.x"


def test_a_fence_is_longer_than_any_run_of_backticks_inside() -> None:
    assert md_fence("a\n```\nb", "diff") == "````diff\na\n```\nb\n````"
    assert md_fence("x") == "```\nx\n```"


def test_xml_text_drops_what_xml_forbids_and_writes_line_breaks_as_read() -> None:
    assert xml_text("a\x00b\x1bc\ufffed\r\ne\rf") == "abcd\ne\nf"


# --- properties over arbitrary text ---

_ANY = st.text(st.characters(codec="utf-8"), max_size=200)
#: Text an attacker would try: fences, markup, mentions, commands, escapes, line breaks.
_HOSTILE = st.lists(
    st.sampled_from(
        [
            "```", "````", "~~~", "`", "\n", "\r", "\r\n", "\u2028", "\u2029", "\x85", "\x0b",
            "\x1b]8;;http://e\x07", "\x1b[2J", "\x9b31m", "\x9d0;t\x9c", "::", "::error::x",
            "##[group]", "#", "##", "@", "@all", "<", "<img src=x>", "<!--", "-->", "&", "|",
            " ", "\t", "   ", "\u200b", "\u202e", "\u2060", "a", "1.", "- ", "> ", "http://",
            "www.", "\\",
        ]
    )
).map("".join)  # fmt: skip
_TEXT = st.one_of(_ANY, _HOSTILE)


def _closes(line: str, fence: str) -> bool:
    """Whether ``line`` closes a backtick fence ``fence`` (CommonMark: up to 3 spaces indent)."""
    match = re.fullmatch(r" {0,3}(`{3,})[ \t]*", line)
    return match is not None and len(match[1]) >= len(fence)


@settings(max_examples=400, deadline=None)
@given(_TEXT)
def test_md_fence_has_exactly_one_opening_and_one_matching_closing_line(text: str) -> None:
    lines = md_fence(text, "diff").split("\n")
    opening = re.fullmatch(r"(`{3,})diff", lines[0])
    assert opening is not None
    closing = [i for i, line in enumerate(lines[1:], 1) if _closes(line, opening[1])]
    assert closing == [len(lines) - 1]
    assert lines[-1] == opening[1]


@settings(max_examples=400, deadline=None)
@given(_TEXT)
@example("<!-- reconciler-plan:prod -->@octocat")
def test_md_text_opens_nothing(text: str) -> None:
    out = md_text(text)
    assert "<" not in out
    assert ">" not in out
    assert not re.search(r"@\w", out)
    assert not re.search(r"[\n\r\u2028\u2029\x85\x0b\x0c]", out)
    assert not re.search(r"(?<!\\)[`*_\[\]|]", out), "unescaped Markdown punctuation"


@settings(max_examples=400, deadline=None)
@given(_TEXT)
def test_html_text_opens_nothing(text: str) -> None:
    out = html_text(text)
    assert not re.search(r"[<>\"'`\n]", out)
    assert not re.search(r"@\w", out)


@settings(max_examples=400, deadline=None)
@given(_TEXT)
def test_md_code_is_one_span(text: str) -> None:
    out = md_code(text, table=True)
    ticks = re.match(r"`+", out)
    assert ticks is not None
    inside = out[len(ticks[0]) : -len(ticks[0])]
    assert out.endswith(ticks[0])
    assert ticks[0] not in inside.replace("`" * (len(ticks[0]) + 1), "")
    assert "\n" not in out
    assert not re.search(r"(?<!\\)\|", out)


@settings(max_examples=400, deadline=None)
@given(_TEXT)
@example(" \u3000::add-mask::x\n##[error]y\u2028::error::z")
def test_log_lines_are_never_workflow_commands(text: str) -> None:
    out = log(text)
    assert "##[" not in out
    for line in out.split("\n"):
        assert not line.strip().startswith("::"), line
    for line in out.splitlines():
        assert not line.strip().startswith("::"), line


@settings(max_examples=400, deadline=None)
@given(_TEXT)
def test_terminal_text_has_no_escape_or_c1_control(text: str) -> None:
    out = terminal(text)
    assert "\x1b" not in out
    assert not re.search(r"[\x80-\x9f]", out)
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", out)


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=200))
def test_xml_text_reads_back_as_written(text: str) -> None:
    element = ElementTree.Element("failure", message=xml_text(text))
    element.text = xml_text(text)
    parsed = ElementTree.fromstring(ElementTree.tostring(element, encoding="unicode"))
    assert (parsed.text or "") == xml_text(text)
    assert parsed.get("message") == xml_text(text)


# --- the redactor: no secret readable in any encoding ---

NAME = "CANARY"
REPLACEMENT = f'secret("{NAME}")'
_STANDARD = re.compile(r"[A-Za-z0-9+/]+")
_URLSAFE = re.compile(r"[A-Za-z0-9_-]+")


def _decodes_to(text: str, secret: bytes) -> bool:
    """Independent oracle: does any base64 run of ``text``, at any offset, decode to ``secret``?

    Every maximal run of the standard and of the URL-safe alphabet is decoded from each of
    its first four characters (padded as needed), and the bytes searched for ``secret``.
    """
    for alphabet, decode in (
        (_STANDARD, base64.b64decode),
        (_URLSAFE, base64.urlsafe_b64decode),
    ):
        for run in alphabet.findall(text):
            for offset in range(4):
                chunk = run[offset:]
                rest = len(chunk) % 4
                chunk = chunk[:-1] if rest == 1 else chunk + "=" * ((4 - rest) % 4)
                try:
                    if secret in decode(chunk):
                        return True
                except (binascii.Error, ValueError):
                    continue
    return False


Encoding = Callable[[str], str]
_TEXT_ENCODINGS: dict[str, Encoding] = {
    "raw": lambda s: s,
    "json": json.dumps,
    "json of json": lambda s: json.dumps(json.dumps(s)),
    "json, utf-8": lambda s: json.dumps(s, ensure_ascii=False),
    "html": html.escape,
    "quote": quote,
    "quote_plus": quote_plus,
    "folded whitespace": lambda s: " ".join(s.split()),
}

_SECRETS = st.text(st.characters(codec="utf-8"), min_size=4, max_size=40).filter(
    lambda s: s not in REPLACEMENT
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    secret=_SECRETS,
    encoding=st.sampled_from(sorted(_TEXT_ENCODINGS)),
    prefix=_TEXT,
    suffix=_TEXT,
)
@example(secret="pass", encoding="raw", prefix="", suffix="")
@example(secret="a\tb  c\nd", encoding="folded whitespace", prefix="x", suffix="y")
@example(secret="abcs", encoding="raw", prefix="abc" * 5, suffix="")
def test_scrub_leaves_no_text_encoding_of_a_secret(
    secret: str, encoding: str, prefix: str, suffix: str
) -> None:
    encoded = _TEXT_ENCODINGS[encoding](secret)
    out = Redactor({NAME: secret}).scrub(prefix + encoded + suffix)
    if encoded:
        assert encoded not in out
    assert secret not in out


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    secret=_SECRETS,
    before=st.binary(max_size=8),
    after=st.binary(max_size=8),
    urlsafe=st.booleans(),
    prefix=_TEXT,
    suffix=_TEXT,
)
@example(secret="pass", before=b"\0", after=b"\0", urlsafe=False, prefix="", suffix="")
def test_scrub_leaves_no_base64_of_a_secret_at_any_alignment(
    secret: str, before: bytes, after: bytes, urlsafe: bool, prefix: str, suffix: str
) -> None:
    encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    blob = encode(before + secret.encode("utf-8") + after).decode("ascii")
    out = Redactor({NAME: secret}).scrub(prefix + blob + suffix)
    assert not _decodes_to(out, secret.encode("utf-8"))


def test_a_text_that_spells_a_secret_again_after_every_pass_is_withheld_whole() -> None:
    # "abc" + the "s" of secret("…") is the secret again, one "abc" of the prefix per pass.
    redactor = Redactor({NAME: "abcs"})
    assert redactor.scrub("abc" * 5 + "abcs") == REPLACEMENT
    assert redactor.scrub("abc abcs") == "abc " + REPLACEMENT
