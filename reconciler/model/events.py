"""Progress events of an apply: one closed set of frozen types, each rendering its own line.

A leaf: imports nothing from ``reconciler``. The apply engine and its parts (follow, adoption,
survey) emit these; the CLI's progress display consumes them. Meaning travels in the type:
whether an event ends its run in this apply is ``final``, never decided from a message prefix.
``message`` is the exact text people read (changing it changes the CLI's output).

A run's events, in the order they can come: ``Submitted``, ``Adopted``, ``StatusChanged``
(zero or more), then one that ends it: ``Final``, ``NotSubmitted``, ``Rejected``, ``Unknown``,
``Skipped``, ``NoRecord``, ``TimedOut`` or ``PollingStopped``. ``Ambiguous`` (a submit whose
answer was lost, adoption still looking) and ``Retry`` (a failed run submitted again) do not
end it. ``Notice`` is about the whole apply, not one run; its name is ``*``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

WHOLE_APPLY = "*"  # the name shown for a Notice


@dataclass(frozen=True, slots=True)
class Submitted:
    """The platform accepted the submit and answered with a requestId."""

    name: str
    request_id: str
    final: ClassVar[bool] = False

    @property
    def message(self) -> str:
        """The line people read."""
        return f"submitted as {self.request_id}"


@dataclass(frozen=True, slots=True)
class Adopted:
    """An unresolved submit's run was identified (``how``: ``by query`` or ``by --adopt``)."""

    name: str
    execution_id: str
    how: str
    final: ClassVar[bool] = False

    @property
    def message(self) -> str:
        """The line people read."""
        return f"adopted {self.execution_id} {self.how}"


@dataclass(frozen=True, slots=True)
class StatusChanged:
    """A poll saw the run in a new status that is not final yet."""

    name: str
    status: str
    execution_id: str
    final: ClassVar[bool] = False

    @property
    def message(self) -> str:
        """The line people read."""
        return f"{self.status} ({self.execution_id})"


@dataclass(frozen=True, slots=True)
class Final:
    """The run reached a final status."""

    name: str
    status: str
    execution_id: str | None
    final: ClassVar[bool] = True

    @property
    def message(self) -> str:
        """The line people read."""
        return f"{self.status} ({self.execution_id})"


@dataclass(frozen=True, slots=True)
class NotSubmitted:
    """Nothing was sent: a secret could not be resolved, or the intent could not be recorded."""

    name: str
    reason: str
    final: ClassVar[bool] = True

    @property
    def message(self) -> str:
        """The line people read."""
        return f"not submitted: {self.reason}"


@dataclass(frozen=True, slots=True)
class Rejected:
    """The platform refused the submit: nothing ran."""

    name: str
    reason: str
    final: ClassVar[bool] = True

    @property
    def message(self) -> str:
        """The line people read."""
        return f"rejected: {self.reason}"


@dataclass(frozen=True, slots=True)
class Ambiguous:
    """The submit's answer was lost; adoption now looks for its run (the run is not over)."""

    name: str
    reason: str
    final: ClassVar[bool] = False

    @property
    def message(self) -> str:
        """The line people read."""
        return f"unknown: {self.reason}"


@dataclass(frozen=True, slots=True)
class Unknown:
    """Whether the submit started a run cannot be told in this apply."""

    name: str
    reason: str
    final: ClassVar[bool] = True

    @property
    def message(self) -> str:
        """The line people read."""
        return f"unknown: {self.reason}"


@dataclass(frozen=True, slots=True)
class Retry:
    """A run ended in a status its policy retries: it is submitted again."""

    name: str
    attempt: int
    of: int
    final: ClassVar[bool] = False

    @property
    def message(self) -> str:
        """The line people read."""
        return f"retry {self.attempt} of {self.of}"


@dataclass(frozen=True, slots=True)
class Skipped:
    """Not run: a dependency in this apply did not succeed (``ended``: its status or outcome)."""

    name: str
    dependency: str
    ended: str
    final: ClassVar[bool] = True

    @property
    def message(self) -> str:
        """The line people read."""
        return f"not run: dependency {self.dependency} ended {self.ended}"


@dataclass(frozen=True, slots=True)
class NoRecord:
    """The run's record never appeared within the record budget; the next apply waits on."""

    name: str
    seconds: float
    final: ClassVar[bool] = True

    @property
    def message(self) -> str:
        """The line people read."""
        return f"no record after {self.seconds:.0f}s; the next apply keeps waiting"


@dataclass(frozen=True, slots=True)
class TimedOut:
    """The run outlasted its timeout in this apply (``status``: the last one seen, if any)."""

    name: str
    status: str | None
    seconds: float
    final: ClassVar[bool] = True

    @property
    def reason(self) -> str:
        """What the run's result says (the line without what happens next)."""
        return f"still {self.status or 'waiting for its record'} after {self.seconds:.0f}s"

    @property
    def message(self) -> str:
        """The line people read."""
        return f"{self.reason}; the next apply resumes it"


@dataclass(frozen=True, slots=True)
class PollingStopped:
    """Polling failed for good in this apply; the run stays pending for the next one."""

    name: str
    reason: str
    final: ClassVar[bool] = True

    @property
    def message(self) -> str:
        """The line people read."""
        return f"still pending, polling stopped: {self.reason}"


@dataclass(frozen=True, slots=True)
class Notice:
    """Something about the whole apply (an interrupt, a survey that stopped)."""

    text: str
    final: ClassVar[bool] = False

    @property
    def name(self) -> str:
        """Always ``*``: a notice belongs to no run."""
        return WHOLE_APPLY

    @property
    def message(self) -> str:
        """The line people read."""
        return self.text


RunEvent = (
    Submitted
    | Adopted
    | StatusChanged
    | Final
    | NotSubmitted
    | Rejected
    | Ambiguous
    | Unknown
    | Retry
    | Skipped
    | NoRecord
    | TimedOut
    | PollingStopped
)
Event = RunEvent | Notice
