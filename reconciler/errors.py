"""The exception tree, and nothing else.

Every error a user can cause or the platform can report is a subclass of ``ReconcilerError``.
The CLI is the only place that turns these into text and exit codes. Messages here must never
carry a credential or a secret value: platform errors are built from the method, the path, the
status code and the platform's own message, never from request headers or bodies.
"""

from __future__ import annotations

from collections.abc import Sequence
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


class InvalidSpecs(UserError):
    """One or more located problems in specs or config; all of them, not just the first."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = tuple(diagnostics)
        count = len(self.diagnostics)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} found")


class ConfigError(UserError):
    """The configuration (reconciler.yaml or the environment) is unusable."""


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


class RecordNotFound(PlatformError):
    """The platform no longer knows a requestId (404 or 410 on the async record endpoint)."""


class ProtocolError(PlatformError):
    """A response body that cannot be understood (malformed JSON, missing fields)."""
