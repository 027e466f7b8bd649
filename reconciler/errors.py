"""The exception tree, and nothing else.

Every error raised on purpose is a ``ReconcilerError``, in one family per thing that can go
wrong: what the user can fix, the Boomi platform, git, GitHub.

    ReconcilerError
    ├── UserError                 a file, a flag or an environment variable to fix
    │   ├── Problems              located problems, all of them (``diagnostics``)
    │   │   ├── InvalidSpecs      ...in spec files
    │   │   └── InvalidConfig     ...in reconciler.yaml (also a ConfigError)
    │   ├── ConfigError           the configuration or the environment is unusable
    │   └── StateError            a state file is unreadable, or the state is locked
    ├── PlatformError             the Boomi platform stopped an operation (``status_code``)
    │   ├── AuthenticationError   401 / 403, never retried
    │   ├── SubmitRejected        4xx before anything started
    │   ├── AmbiguousSubmit       a submit that may or may not have started a run
    │   ├── PlatformUnavailable   retries exhausted on answers that prove nothing ran
    │   ├── PlatformUnreachable   the configured URL/account serves nothing: the command stops
    │   ├── RecordNotFound        a requestId the platform no longer knows
    │   └── ProtocolError         a body that cannot be understood
    ├── GitError                  a git command failed, or no safe push exists (``hint``)
    │   └── StateConflict         another push recorded the same executions
    └── GitHubError               the GitHub REST API stopped a command (``status_code``)
        └── GitHubAuthError       401 / 403: the token, or its permissions

The CLI is the only place that turns these into text and exit codes (``cli/__init__.py``):
``Problems`` print their diagnostics, every other one prints ``error: <str(exc)>``. Messages
here must never carry a credential or a secret value: remote errors are built from the method,
the path, the status code and the remote's own message, never from headers or bodies.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: importing the models (pydantic) costs start-up time
    from reconciler.model import Diagnostic, Location


class ReconcilerError(Exception):
    """Base of every error this package raises on purpose."""


class UserError(ReconcilerError):
    """Something the user can fix: a file, a flag, an environment variable."""

    def __init__(self, message: str, *, location: Location | None = None, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.location = location
        self.hint = hint

    def __str__(self) -> str:
        prefix = f"{self.location}: " if self.location else ""
        suffix = f"; {self.hint}" if self.hint else ""
        return f"{prefix}{self.message}{suffix}"


class Problems(UserError):
    """One or more located problems; all of them, not just the first."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = tuple(diagnostics)
        count = len(self.diagnostics)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} found")


class InvalidSpecs(Problems):
    """Located problems in spec files."""


class ConfigError(UserError):
    """The configuration (reconciler.yaml or the environment) is unusable."""


class InvalidConfig(Problems, ConfigError):
    """Located problems in reconciler.yaml: a ``ConfigError`` carrying its diagnostics."""


class StateError(UserError):
    """A state file cannot be read, or the state is locked by another apply."""


class PlatformError(ReconcilerError):
    """The platform answered in a way that stops this operation."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


class AuthenticationError(PlatformError):
    """401 or 403: never retried, since repeated failures can lock the account."""


class SubmitRejected(PlatformError):
    """The platform refused an ExecutionRequest before starting anything (4xx)."""


class AmbiguousSubmit(PlatformError):
    """The ExecutionRequest may or may not have started a run (timeout, reset, 5xx after send)."""


class PlatformUnavailable(PlatformError):
    """Retries exhausted on answers that prove nothing was processed (503, 429, connect errors)."""


class PlatformUnreachable(PlatformError):
    """The platform cannot be reached at the configured URL and account: the command stops.

    Raised when a connection failure proves nothing was sent (connection refused, name not
    resolved, TLS handshake, connect timeout), or when the API itself is not found there
    (HTTP 404 off the record endpoints). Nothing ran, so no run is marked: the message names
    the URL (never its credentials), the cause in plain words and the likely fix.
    """


class RecordNotFound(PlatformError):
    """The platform no longer knows a requestId (404 or 410 on the async record endpoint)."""


class ProtocolError(PlatformError):
    """A response body that cannot be understood (malformed JSON, missing fields)."""


class GitError(ReconcilerError):
    """A git command failed, or the history does not allow a safe push."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}; {self.hint}" if self.hint else self.message


class StateConflict(GitError):
    """Another push recorded the same executions: ours would overwrite theirs."""

    def __init__(self, files: Sequence[str]) -> None:
        names = ", ".join(PurePosixPath(f).stem for f in files)
        super().__init__(
            f"another push recorded {names} since this checkout; not overwriting it "
            "(nothing was pushed; the files are unchanged here)",
            hint="two applies of the same executions ran at once: fetch, compare both "
            "versions, keep the right one, then run reconciler commit again",
        )
        self.files = tuple(files)


class GitHubError(ReconcilerError):
    """GitHub answered in a way that stops this command."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


class GitHubAuthError(GitHubError):
    """401 or 403: GitHub refused the token, or the token lacks a permission."""
