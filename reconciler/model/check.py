"""What ``reconciler check`` found: per execution, each check passed or a finding.

A leaf of values (no I/O). ``usecases.check`` builds a ``CheckReport`` from the platform's
answers, ``report.check`` renders it (text, markdown, JSON) and reads its JSON back strictly
(the pull-request comment gets it as an untrusted artifact).
"""

from __future__ import annotations

from enum import StrEnum

from reconciler.model.values import Frozen, Location


class Check(StrEnum):
    """One question asked about an execution, in the order they are asked."""

    ACCOUNT = "account"  # the platform answers, and the credentials work for the account
    PRIVILEGES = "privileges"  # the user may read what the check (and the apply) reads
    RUNTIME = "runtime"  # the runtime exists and is online (Atom status)
    DEPLOYMENT = "deployment"  # an active deployment in an environment attached to the runtime
    DRIFT = "drift"  # runs of the process on the runtime that git did not start


class Severity(StrEnum):
    """How much a finding matters; ``blocks`` marks what would make the apply fail."""

    ERROR = "error"  # the apply would fail: not deployed, offline, no access
    WARNING = "warning"  # worth a look; the apply would run: drift, a runtime with warnings
    UNCHECKED = "unchecked"  # the question could not be asked or answered

    @property
    def blocks(self) -> bool:
        """Whether the finding fails ``check`` without ``--strict``."""
        return self is Severity.ERROR


class Finding(Frozen):
    """One problem of one check: what, why it matters and what to do (``hint``)."""

    check: Check
    severity: Severity
    message: str
    hint: str = ""
    execution_ids: tuple[str, ...] = ()  # drift: the runs found (newest first, capped)


class ExecutionCheck(Frozen):
    """One execution of the specs: where it is declared, what it runs, what was found."""

    name: str
    source: Location
    process_id: str
    atom_id: str
    passed: tuple[Check, ...] = ()
    findings: tuple[Finding, ...] = ()

    @property
    def worst(self) -> Severity | None:
        """The most serious finding's severity (error, warning, unchecked), or None."""
        for severity in Severity:
            if any(f.severity is severity for f in self.findings):
                return severity
        return None


class CheckReport(Frozen):
    """Every execution checked, in the plan's order, and what was asked of the platform."""

    environment: str
    executions: tuple[ExecutionCheck, ...]
    credentials: bool = True  # False: nothing was asked (no credentials in the environment)
    notices: tuple[str, ...] = ()  # said once for the whole check
    requests: int = 0

    def count(self, severity: Severity) -> int:
        """How many findings of ``severity`` in all."""
        return sum(1 for e in self.executions for f in e.findings if f.severity is severity)

    @property
    def clean(self) -> int:
        """How many executions passed every check that was asked."""
        return sum(1 for e in self.executions if not e.findings)

    def fails(self, *, strict: bool = False) -> bool:
        """Whether ``check`` exits 1: an error; with ``strict``, any finding or nothing asked."""
        if any(f.severity.blocks for e in self.executions for f in e.findings):
            return True
        if not strict:
            return False
        return not self.credentials or any(e.findings for e in self.executions)
