"""GitHub Actions integration: workflow commands, job summary and step outputs.

An edge, active when ``GITHUB_ACTIONS=true``. Builds workflow-command lines (annotations,
groups, masks) with the documented escaping, so a platform message can never inject a
command of its own, caps annotations (GitHub shows about ten per step; the problems past the
cap are listed as plain log lines, so every one reaches the log) and writes
``$GITHUB_STEP_SUMMARY`` (1 MiB per step) and ``$GITHUB_OUTPUT`` in their documented formats
(practices.md A2, A3). An annotation names its file relative to the repository root
(``$GITHUB_WORKSPACE``), where GitHub looks it up, whatever folder the tool ran in. The
environment arrives as a mapping; nothing here prints.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from reconciler.github.context import GitHubContext
from reconciler.model import Diagnostic
from reconciler.outbound import log, one_line, unchanged
from reconciler.report.locations import repository_path

ANNOTATION_LIMIT = 10
SUMMARY_LIMIT = 1024 * 1024


def escape_data(text: str) -> str:
    """Escape a workflow command's message (``%``, CR, LF), as the runner expects."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow command's property value (also ``:`` and ``,``)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(
    level: str,
    message: str,
    *,
    file: str | None = None,
    line: int | None = None,
    col: int | None = None,
    title: str | None = None,
) -> str:
    """One ``::error file=…,line=…::message`` line.

    The message and title are defused first (``outbound.log``: no escape sequence, no inner
    line read as a command once the runner unescapes it, no legacy ``##[``), then escaped.
    """
    message = log(message)
    title = log(title) if title else title
    props = []
    if file:
        props.append(f"file={escape_property(file)}")
    if line:
        props.append(f"line={line}")
    if col:
        props.append(f"col={col}")
    if title:
        props.append(f"title={escape_property(title)}")
    joined = " " + ",".join(props) if props else ""
    return f"::{level}{joined}::{escape_data(message)}"


def workspace(environ: Mapping[str, str]) -> Path | None:
    """The repository's root on the runner (``GITHUB_WORKSPACE``), or None when unset.

    Read here, not in ``context``: only the workflow commands and the artifacts' locations
    need it, and the action's ``working-directory`` makes it differ from the tool's folder.
    """
    value = environ.get("GITHUB_WORKSPACE", "")
    return Path(value) if value else None


def diagnostic_annotations(
    diagnostics: Sequence[Diagnostic], *, cwd: Path | None = None, workspace: Path | None = None
) -> list[str]:
    """Error annotations for spec problems, capped, with a warning saying how many are not.

    With ``workspace`` (the repository root) each file is named relative to it, the file
    being relative to ``cwd`` (the folder the specs were loaded from, by default the process's
    own); a file outside the workspace keeps its name. The problems past the cap are
    ``unannotated``: the caller lists them in the log.
    """
    where = _Where.of(cwd, workspace)
    lines = [
        annotation("error", d.message, file=where.file(d), line=d.location.line, col=d.location.col)
        for d in diagnostics[:ANNOTATION_LIMIT]
    ]
    hidden = len(diagnostics) - ANNOTATION_LIMIT
    if hidden > 0:
        lines.append(
            annotation("warning", f"{hidden} more problems, not annotated; listed in the job log")
        )
    return lines


def unannotated(
    diagnostics: Sequence[Diagnostic], *, cwd: Path | None = None, workspace: Path | None = None
) -> list[str]:
    """The problems ``diagnostic_annotations`` leaves out, one log line each.

    ``file:line:col: message``, the file named as in the annotations, one line each (a line
    break in a key name would start another) and defused (``outbound.log``), so neither a file
    name nor a message can be read as a workflow command. They follow the warning that counts
    them; empty when every problem is annotated.
    """
    where = _Where.of(cwd, workspace)
    return [
        log(one_line(f"{where.file(d)}:{d.location.line}:{d.location.col}: {d.message}"))
        for d in diagnostics[ANNOTATION_LIMIT:]
    ]


@dataclass(frozen=True)
class _Where:
    """Names a diagnostic's file relative to the repository root, when there is one."""

    cwd: Path
    root: Path | None

    @classmethod
    def of(cls, cwd: Path | None, workspace: Path | None) -> _Where:
        if workspace is None:
            return cls(Path(), None)
        return cls((cwd or Path.cwd()).resolve(), workspace.resolve())

    def file(self, diagnostic: Diagnostic) -> str:
        return repository_path(diagnostic.location.file, cwd=self.cwd, root=self.root)


def group(title: str) -> str:
    """``::group::title``: the lines up to ``endgroup`` fold into one in the job log."""
    return f"::group::{escape_data(title)}"


def endgroup() -> str:
    """Ends the group opened by ``group``."""
    return "::endgroup::"


def mask(value: str) -> str:
    """``::add-mask::`` for a secret value, so the runner hides it in every later log line."""
    return f"::add-mask::{escape_data(value)}"


@dataclass(frozen=True)
class Actions:
    """Where this job's summary and outputs go (from the runner's environment).

    ``scrub`` is the process's secret filter (``cli.base.scrub``): every summary and output
    passes it before it is written, whoever calls.
    """

    summary_path: Path | None
    output_path: Path | None
    scrub: Callable[[str], str] = unchanged

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str], scrub: Callable[[str], str] = unchanged
    ) -> Actions | None:
        """The Actions context, or None outside GitHub Actions."""
        return cls.of(GitHubContext.from_environ(environ), scrub)

    @classmethod
    def of(cls, context: GitHubContext, scrub: Callable[[str], str] = unchanged) -> Actions | None:
        """Where ``context``'s summary and outputs go, or None outside GitHub Actions."""
        if not context.in_actions:
            return None
        return cls(summary_path=context.summary_path, output_path=context.output_path, scrub=scrub)

    def append_summary(self, markdown: str) -> None:
        """Append markdown to the job summary, truncated below the 1 MiB step limit."""
        if self.summary_path is None:
            return
        markdown = self.scrub(markdown)
        data = markdown.encode("utf-8")
        if len(data) > SUMMARY_LIMIT - 1024:
            note = "\n\n_… truncated: the full text is in the uploaded artifacts._\n"
            cut = data[: SUMMARY_LIMIT - 1024].decode("utf-8", errors="ignore")
            markdown = cut + note
        with self.summary_path.open("a", encoding="utf-8") as handle:
            handle.write(markdown if markdown.endswith("\n") else markdown + "\n")

    def set_outputs(self, outputs: Iterable[tuple[str, str]]) -> None:
        """Write step outputs; multi-line values use the heredoc form with a random delimiter."""
        if self.output_path is None:
            return
        with self.output_path.open("a", encoding="utf-8") as handle:
            for name, raw in outputs:
                value = self.scrub(raw)
                if "\n" in value or "\r" in value:
                    delimiter = f"ghadelimiter_{uuid.uuid4().hex}"
                    handle.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
                else:
                    handle.write(f"{name}={value}\n")


def plan_outputs(
    digest: str, counts: Mapping[str, int], has_changes: bool
) -> list[tuple[str, str]]:
    """Step outputs of ``plan``: has-changes, the plan digest, a count per action."""
    outputs = [("has-changes", "true" if has_changes else "false"), ("plan-digest", digest)]
    outputs += [(f"count-{kind}", str(n)) for kind, n in counts.items()]
    return outputs


def failed_run_annotations(results: Sequence[tuple[str, str, str]]) -> list[str]:
    """Error annotations for runs that did not succeed: (name, status, platform message)."""
    lines = [
        annotation("error", f"{status}: {message}", title=f"reconciler: {name}")
        for name, status, message in results[:ANNOTATION_LIMIT]
    ]
    hidden = len(results) - ANNOTATION_LIMIT
    if hidden > 0:
        lines.append(annotation("warning", f"{hidden} more failed runs; see summary.md"))
    return lines
