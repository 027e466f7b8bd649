"""Every option of every command is documented, and every documented command line is real.

The command tree is click's own, walked through the lazy group (so every command module is
imported). A command line in the docs is a code span, or a line of a shell snippet, that
starts with ``reconciler ``: its global options, its command path and every option written
after it must exist. Such a line documents the options it names; so does the first cell of a
table row in a section whose heading names a command (docs/github-commands.md's option
tables). Every option a user can pass (not the hidden ones) must be documented that way.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator

import click
import pytest

from reconciler.cli.base import cli
from tests.docs.markdown import Span, pages, spans, table_first_cells

Path_ = tuple[str, ...]
OPTION = re.compile(r"(?<![\w-])(--(?:\[no-\])?[a-z][a-z0-9-]*|-[a-zA-Z])(?![\w-])")
COMMAND_HEADING = re.compile(r"`(reconciler [a-z][a-z -]*)`")
TOP_LEVEL = frozenset(cli.list_commands(click.Context(cli)))
SEPARATORS = re.compile(r"&&|\|\||;|\$\(|\)|\s\|\s")  # shell lines only


def tree() -> dict[Path_, click.Command]:
    """Every command and group by its path (``()`` is ``reconciler`` itself)."""
    found: dict[Path_, click.Command] = {}

    def walk(command: click.Command, path: Path_) -> None:
        found[path] = command
        if isinstance(command, click.Group):
            context = click.Context(command)
            for name in command.list_commands(context):
                sub = command.get_command(context, name)
                assert sub is not None, name
                walk(sub, (*path, name))

    walk(cli, ())
    return found


def options(command: click.Command, *, hidden: bool = True) -> dict[str, click.Option]:
    """Each name of each option (``--push`` and ``--no-push`` alike), ``--help`` included."""
    found = {name: click.Option([name]) for name in ("--help", "-h")}
    for param in command.params:
        if isinstance(param, click.Option) and (hidden or not param.hidden):
            for name in (*param.opts, *param.secondary_opts):
                found[name] = param
    return found


def expand(name: str) -> list[str]:
    """``--[no-]push`` is ``--push`` and ``--no-push``."""
    if name.startswith("--[no-]"):
        rest = name.removeprefix("--[no-]")
        return [f"--{rest}", f"--no-{rest}"]
    return [name]


def command_lines(span: Span, *, shell: bool) -> Iterator[str]:
    """The ``reconciler ...`` commands in one span (a shell line may hold several).

    In prose a command is often named without ``reconciler``: a code span such as ``plan
    --output json`` or ``github comment --pr N`` (a command name, then options) is one too.
    """
    parts = SEPARATORS.split(span.text) if shell else [span.text]
    for part in parts:
        words = part.split("#", 1)[0].split() if shell else part.split()
        while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=\S*", words[0]):  # VAR=value cmd
            words.pop(0)
        if len(words) > 1 and words[0] == "reconciler":
            yield " ".join(words)
        elif not shell and words and words[0] in TOP_LEVEL and OPTION.search(part):
            yield " ".join(("reconciler", *words))


class Mentions:
    """What the docs say about the command line: options per command, and every mistake."""

    def __init__(self) -> None:
        self.tree = tree()
        self.documented: dict[Path_, set[str]] = defaultdict(set)
        self.problems: list[str] = []

    def read_line(self, span: Span, line: str) -> None:
        words = line.split()[1:]
        root = options(self.tree[()])
        index = 0
        while index < len(words) and words[index].startswith("-"):
            name, _, value = words[index].partition("=")
            option = root.get(name)
            if option is None:
                self.problems.append(f"{span.where}: `{line}`: reconciler has no option {name}")
                return
            self.documented[()].add(name)
            index += 1 if option.is_flag or value else 2
        path: Path_ = ()
        command = self.tree[()]
        while isinstance(command, click.Group) and index < len(words):
            word = words[index]
            if (*path, word) in self.tree:
                path, command, index = (*path, word), self.tree[(*path, word)], index + 1
            elif re.fullmatch(r"[a-z][a-z-]*", word):
                name = " ".join(("reconciler", *path))
                self.problems.append(f"{span.where}: `{line}`: {name} has no command {word!r}")
                return
            else:
                break
        self.read_options(span, path, " ".join(words[index:]), line)

    def read_options(self, span: Span, path: Path_, text: str, line: str) -> None:
        own, root = options(self.tree[path]), options(self.tree[()])
        for written in OPTION.findall(text):
            for name in expand(written):
                if name in own:
                    self.documented[path].add(name)
                elif name in root:  # a global option after the command
                    self.documented[()].add(name)
                else:
                    command = " ".join(("reconciler", *path))
                    self.problems.append(f"{span.where}: `{line}`: {command} has no option {name}")


def mentions() -> Mentions:
    found = Mentions()
    for page in pages():
        for span in spans(page):
            for line in command_lines(span, shell=span.in_snippet):
                found.read_line(span, line)
        for cell in table_first_cells(page):
            heading = COMMAND_HEADING.search(cell.section)
            if heading is None or not cell.text.startswith("-"):
                continue
            path = tuple(heading[1].split()[1:])
            if path not in found.tree:
                found.problems.append(f"{cell.where}: the section names no command: {heading[1]}")
                continue
            found.read_options(cell, path, cell.text.split()[0], f"{heading[1]} {cell.text}")
    # The README's list of global options: `--env NAME`, `--config FILE`, ...
    readme = pages()[0]
    for span in spans(readme):
        if span.section == "Commands" and span.text.startswith("--"):
            name = span.text.split()[0]
            if name in options(found.tree[()]):
                found.documented[()].add(name)
    return found


MENTIONS = mentions()
#: The global options the README documents that every command also takes after its name.
GLOBAL_DOCUMENTED = MENTIONS.documented[()] & set(options(MENTIONS.tree[()]))


def test_the_docs_name_commands_and_options() -> None:
    """The walk sees the command lines it should: a sanity check on the parser."""
    assert {("apply",), ("plan",), ("github", "comment"), ("sim", "serve")} <= set(
        MENTIONS.documented
    )


def test_every_documented_command_line_is_real() -> None:
    assert not MENTIONS.problems, "\n".join(MENTIONS.problems)


@pytest.mark.parametrize(
    "path",
    sorted(p for p, c in MENTIONS.tree.items() if not isinstance(c, click.Group) or not p),
    ids=lambda p: " ".join(p) or "(global)",
)
def test_every_option_is_documented(path: Path_) -> None:
    command = MENTIONS.tree[path]
    missing = sorted(
        param.opts[-1]
        for param in command.params
        if isinstance(param, click.Option)
        and not param.hidden
        and not {*param.opts, *param.secondary_opts} & MENTIONS.documented[path]
        # a global option, also taken after the command, is documented once, with the others
        and not (path and {*param.opts, *param.secondary_opts} & GLOBAL_DOCUMENTED)
    )
    name = " ".join(("reconciler", *path))
    assert not missing, (
        f"{name}: options documented nowhere: {', '.join(missing)} (name them in the "
        "command's synopsis in README.md, or in its option table in docs/)"
    )


def test_a_made_up_option_or_command_is_caught() -> None:
    found = Mentions()
    where = Span(pages()[0], 1, "", "")
    for line in (
        "reconciler plan --no-such-option",
        "reconciler --nope plan",
        "reconciler rerun orders",
        "reconciler commit --select orders",
        "reconciler sim serve --world w.yaml -q",
    ):
        found.read_line(where, line)
    assert [p.split(": ", 2)[2] for p in found.problems] == [
        "reconciler plan has no option --no-such-option",
        "reconciler has no option --nope",
        "reconciler has no command 'rerun'",
        "reconciler commit has no option --select",
        "reconciler sim serve has no option -q",
    ]


def test_every_option_says_what_it_does_in_its_help() -> None:
    """``--help`` explains each option; a choice of values shows them, which is enough."""
    bare = [
        f"{' '.join(('reconciler', *path))} {param.opts[0]}"
        for path, command in MENTIONS.tree.items()
        for param in command.params
        if isinstance(param, click.Option)
        and not param.hidden
        and not param.help
        and not isinstance(param.type, click.Choice)
    ]
    assert not bare, f"options without help: {', '.join(bare)}"


def test_commit_shard_help_is_about_commit() -> None:
    """``commit --shard`` names a shard's apply record; it applies nothing, at no rate."""
    (shard,) = [p for p in MENTIONS.tree[("commit",)].params if p.name == "shard"]
    assert isinstance(shard, click.Option)
    assert shard.help
    assert "apply.json" in shard.help
    assert "rate limit" not in shard.help
