"""Credentials and secret values, read from the environment and nowhere else.

An edge. ``Credentials`` holds the platform user and token as ``SecretStr`` so neither appears in
a ``repr``, a log record or an error message. ``EnvSecrets`` resolves the ``SecretRef`` names of
a rendered request at submit time only; the values live in memory for the duration of the POST.
``ReservedNames`` are the variables that hold reconciler's own credentials (the platform's, and
every variable of GitHub and of the Actions runner) and those the config lists under
``secrets.reserved``: ``secret()`` refuses them in specs, at validate and plan time
(``specs.sandbox``), and ``EnvSecrets.resolve`` refuses them again before anything is sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, SecretStr

from reconciler.errors import ConfigError, Problems
from reconciler.model import (
    DesiredRun,
    Diagnostic,
    PropertyValue,
    ResolvedRequest,
    RunRequest,
    SecretRef,
    SecretUse,
)

USERNAME_VARIABLE = "BOOMI_USERNAME"
TOKEN_VARIABLE = "BOOMI_API_TOKEN"  # noqa: S105 - the name of a variable, not a secret
CREDENTIAL_VARIABLES = frozenset({USERNAME_VARIABLE, TOKEN_VARIABLE, "GH_TOKEN"})
# The variables of GitHub and of the Actions runner: its token, the runner's own token, the
# OIDC request token and URL, the cache and results URLs. GitHub refuses repository secrets
# named with these prefixes, so no spec has a reason to read one.
_RUNNER_VARIABLES = re.compile(r"(?:GITHUB|ACTIONS)_[A-Za-z0-9_]*")


@dataclass(frozen=True)
class ReservedNames:
    """The environment variables ``secret()`` may never name: a container of names.

    Reconciler's own credentials (``CREDENTIAL_VARIABLES``), every variable of GitHub and of
    the Actions runner (``GITHUB_*``, ``ACTIONS_*``), and the names given (``secrets.reserved``
    in reconciler.yaml).
    """

    names: frozenset[str] = frozenset()

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (
            name in CREDENTIAL_VARIABLES
            or name in self.names
            or _RUNNER_VARIABLES.fullmatch(name) is not None
        )


class Credentials(BaseModel):
    """Basic-auth credentials for the platform; never printable."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    username: SecretStr
    token: SecretStr

    def __repr__(self) -> str:
        return "Credentials(username=[redacted], token=[redacted])"

    __str__ = __repr__


def credentials_from_env(environ: Mapping[str, str]) -> Credentials:
    """Read ``BOOMI_USERNAME`` and ``BOOMI_API_TOKEN``; name whichever is missing."""
    missing = [name for name in (USERNAME_VARIABLE, TOKEN_VARIABLE) if not environ.get(name)]
    if missing:
        raise ConfigError(
            f"platform credentials missing: {' and '.join(missing)} not set",
            hint=f"expected {USERNAME_VARIABLE}=BOOMI_TOKEN.<user> and {TOKEN_VARIABLE}=<token> "
            "in the environment (never in a file); `reconciler sim serve` prints demo values",
        )
    return Credentials(
        username=SecretStr(environ[USERNAME_VARIABLE]), token=SecretStr(environ[TOKEN_VARIABLE])
    )


class EnvSecrets:
    """Resolves secret references from an environment mapping; never a reserved name."""

    def __init__(
        self, environ: Mapping[str, str], *, reserved: ReservedNames | None = None
    ) -> None:
        """``reserved``: the names never resolved (always the credentials and the runner's)."""
        self._environ = environ
        self._reserved = reserved or ReservedNames()

    def missing(self, request: RunRequest) -> list[str]:
        """Names of the secrets a request needs that the environment does not provide.

        A variable set to the empty string provides nothing: GitHub Actions gives a secret
        the repository does not define as empty (``${{ secrets.NAME }}``).
        """
        unusable = self.unusable(_names(request))
        return sorted(name for name, why in unusable.items() if why != "reserved")

    def unusable(self, names: Iterable[str]) -> dict[str, Unusable]:
        """Name → why, for each of ``names`` this environment cannot give (never a value)."""
        out: dict[str, Unusable] = {}
        for name in sorted(set(names)):
            if name in self._reserved:
                out[name] = "reserved"
            elif name not in self._environ:
                out[name] = "unset"
            elif not self._environ[name]:
                out[name] = "empty"
        return out

    def resolve(self, request: RunRequest) -> ResolvedRequest:
        """Replace every reference by its value; raise naming (never showing) a missing one.

        A reserved name is refused before any value is read: the specs were checked for them
        at plan time, and this is the second guard (a reviewed plan, a changed config). The
        apply checked every run it sends before the first submit (``preflight``); this is the
        guard for each run.
        """
        names = _names(request)
        refused = sorted(name for name in names if name in self._reserved)
        if refused:
            shown = ", ".join(f'secret("{name}")' for name in refused)
            raise ConfigError(
                f"{shown} is refused: reconciler's own credentials (and the names under "
                "secrets.reserved in reconciler.yaml) are never sent to the platform",
                hint="expected a variable that holds a value for this process only",
            )
        missing = self.missing(request)
        if missing:
            raise ConfigError(
                f"secret {', '.join(missing)} is not set in the environment (or is empty)",
                hint="expected an environment variable of that name at apply time",
            )
        return ResolvedRequest(
            process_id=request.process_id,
            atom_id=request.atom_id,
            dynamic_properties={k: self._get(v) for k, v in request.dynamic_properties.items()},
            process_properties={
                component: {k: self._get(v) for k, v in values.items()}
                for component, values in request.process_properties.items()
            },
        )

    def values(self, request: RunRequest) -> list[str]:
        """The secret values a request uses, for redaction of anything the platform echoes."""
        return list(self.named(request).values())

    def named(self, request: RunRequest) -> dict[str, str]:
        """Name → value of each secret a request uses that the environment sets."""
        return {
            v.secret: self._environ[v.secret]
            for v in _values(request)
            if isinstance(v, SecretRef) and self._environ.get(v.secret)
        }

    def _get(self, value: PropertyValue) -> str:
        return value if isinstance(value, str) else self._environ[value.secret]


Unusable = Literal["reserved", "unset", "empty"]


@dataclass(frozen=True)
class Preflight:
    """What ``preflight`` found: one located problem per property, and the names involved."""

    problems: tuple[Diagnostic, ...] = ()
    secrets: frozenset[str] = frozenset()  # the names the environment cannot give
    executions: frozenset[str] = frozenset()  # the runs that need them
    checked: int = 0  # distinct secrets the runs name

    def __bool__(self) -> bool:
        return bool(self.problems)


def preflight(runs: Iterable[DesiredRun], secrets: EnvSecrets) -> Preflight:
    """Every secret reference ``runs`` make that ``secrets`` cannot resolve, located.

    One diagnostic per property that names such a secret, at the line it is written, with the
    execution's name, the secret's name (never a value) and how to provide it. The apply
    calls it for every run it would send, before the first submit (``SecretsMissing``).
    """
    problems: list[Diagnostic] = []
    named: set[str] = set()
    unset: set[str] = set()
    executions: set[str] = set()
    for run in runs:
        names = _names(run.request)
        named |= names
        unusable = secrets.unusable(names)
        if not unusable:
            continue
        unset |= set(unusable)
        executions.add(run.name)
        uses = run.secret_uses or tuple(
            SecretUse(secret=name, path="spec", at=run.source) for name in unusable
        )
        for use in uses:
            why = unusable.get(use.secret)
            if why is not None:
                message = f"{run.name}: {use.path}: {_unusable_message(use.secret, why)}"
                problems.append(Diagnostic(location=use.at, message=message))
    ordered = sorted(problems, key=lambda d: (d.location.file, d.location.line, d.location.col))
    return Preflight(
        problems=tuple(ordered),
        secrets=frozenset(unset),
        executions=frozenset(executions),
        checked=len(named),
    )


def _unusable_message(name: str, why: Unusable) -> str:
    shown = f'secret("{name}")'
    if why == "reserved":
        return (
            f"{shown} is refused: {name} is reserved (reconciler's own credentials, GitHub's "
            "and the runner's variables and secrets.reserved in reconciler.yaml never reach "
            "the platform); expected a variable set for this process's properties only"
        )
    if why == "empty":
        return (
            f"{shown} is set but empty; expected a value in the environment variable {name} "
            "(a GitHub secret the repository or environment does not define reads as empty)"
        )
    return f"{shown} is not set; expected the environment variable {name}"


class SecretsMissing(Problems, ConfigError):
    """Secrets the runs to send need and the environment lacks: all of them, before any submit."""

    def __init__(self, found: Preflight, *, what: str) -> None:
        super().__init__(found.problems)
        # The boundary prints a Problems' message, never its hint: how to fix it is said here.
        self.message = (
            f"{_count(len(found.secrets), 'secret')} missing for "
            f"{_count(len(found.executions), 'execution')} the plan sends; {what}; set each as "
            "an environment variable of that name where apply runs (in GitHub Actions: "
            "env: NAME: ${{ secrets.NAME }} on the apply step)"
        )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _names(request: RunRequest) -> set[str]:
    return {v.secret for v in _values(request) if isinstance(v, SecretRef)}


def _values(request: RunRequest) -> list[PropertyValue]:
    out = list(request.dynamic_properties.values())
    for values in request.process_properties.values():
        out.extend(values.values())
    return out
