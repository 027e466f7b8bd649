"""Credentials and secret values, read from the environment and nowhere else.

An edge. ``Credentials`` holds the platform user and token as ``SecretStr`` so neither appears in
a ``repr``, a log record or an error message. ``EnvSecrets`` resolves the ``SecretRef`` names of
a rendered request at submit time only; the values live in memory for the duration of the POST.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, SecretStr

from reconciler.errors import ConfigError
from reconciler.model import PropertyValue, ResolvedRequest, RunRequest, SecretRef

USERNAME_VARIABLE = "BOOMI_USERNAME"
TOKEN_VARIABLE = "BOOMI_API_TOKEN"  # noqa: S105 - the name of a variable, not a secret


class Credentials(BaseModel):
    """Basic-auth credentials for the platform; never printable."""

    model_config = ConfigDict(frozen=True)

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
    """Resolves secret references from an environment mapping."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def missing(self, request: RunRequest) -> list[str]:
        """Names of the secrets a request needs that the environment does not provide."""
        names = {v.secret for v in _values(request) if isinstance(v, SecretRef)}
        return sorted(name for name in names if name not in self._environ)

    def resolve(self, request: RunRequest) -> ResolvedRequest:
        """Replace every reference by its value; raise naming (never showing) a missing one."""
        missing = self.missing(request)
        if missing:
            raise ConfigError(
                f"secret {', '.join(missing)} is not set in the environment",
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


def _values(request: RunRequest) -> list[PropertyValue]:
    out = list(request.dynamic_properties.values())
    for values in request.process_properties.values():
        out.extend(values.values())
    return out
