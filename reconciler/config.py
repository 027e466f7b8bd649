"""``reconciler.yaml`` and the environment to ``Settings``.

An edge: reads the config file (through ``documents``) and takes the environment as a mapping.
The config says where specs, state and artifacts live and which platform to talk to; the
environment variables ``BOOMI_API_URL`` and ``BOOMI_ACCOUNT_ID`` override the platform settings
so the same repository can point at the simulator or a real account. Credentials are never read
from a file: see ``secrets.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from reconciler.documents import display_path, load_file
from reconciler.errors import ConfigError, InvalidSpecs
from reconciler.model import Diagnostic, Location, dotted, json_path

CONFIG_NAME = "reconciler.yaml"
DEFAULT_API_URL = "https://api.boomi.com/api/rest/v1"


class _ConfigModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class PlatformConfig(_ConfigModel):
    """Which platform to talk to."""

    url: str = Field(default=DEFAULT_API_URL, description="Base URL up to /api/rest/v1.")
    account_id: str = Field(default="", alias="accountId", description="The Boomi account id.")


class ApplyConfig(_ConfigModel):
    """How an apply behaves."""

    concurrency: int = Field(default=50, ge=1, le=1000)
    rate_limit: float = Field(default=10.0, gt=0, le=1000, alias="rateLimit")
    poll_initial: float = Field(default=1.0, gt=0, le=600, alias="pollInitial")
    poll_max: float = Field(default=15.0, gt=0, le=3600, alias="pollMax")
    timeout: float = Field(default=3600.0, gt=0, alias="timeout")
    record_timeout: float = Field(default=600.0, gt=0, alias="recordTimeout")


class ConfigFile(_ConfigModel):
    """The whole ``reconciler.yaml``."""

    version: int = Field(default=1, ge=1, le=1)
    specs: str = "specs"
    state: str = "state"
    artifacts: str = "artifacts"
    platform: PlatformConfig = PlatformConfig()
    apply: ApplyConfig = ApplyConfig()


class Settings(BaseModel):
    """Resolved settings: absolute paths, platform after environment overrides."""

    model_config = ConfigDict(frozen=True)

    root: Path
    config_file: Path | None
    specs_dir: Path
    state_dir: Path
    artifacts_dir: Path
    api_url: str
    account_id: str
    apply: ApplyConfig


def find_config(start: Path) -> Path | None:
    """The nearest ``reconciler.yaml`` in ``start`` or its parents."""
    for folder in (start, *start.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    return None


def load_settings(config_path: Path | None, cwd: Path, environ: Mapping[str, str]) -> Settings:
    """Read the config (or use defaults rooted at ``cwd``) and apply environment overrides."""
    if config_path is None:
        config_path = find_config(cwd)
    if config_path is None:
        config = ConfigFile()
        root = cwd
    else:
        if not config_path.is_file():
            raise ConfigError(f"config file {config_path} does not exist")
        config = _read(config_path, cwd)
        root = config_path.resolve().parent
    url = environ.get("BOOMI_API_URL") or config.platform.url
    account = environ.get("BOOMI_ACCOUNT_ID") or config.platform.account_id
    if not url.startswith(("http://", "https://")):
        raise ConfigError(
            f"platform URL {url!r} is not an http(s) URL",
            hint="expected e.g. https://api.boomi.com/api/rest/v1 (from BOOMI_API_URL or "
            "platform.url in reconciler.yaml)",
        )
    return Settings(
        root=root,
        config_file=config_path,
        specs_dir=root / config.specs,
        state_dir=root / config.state,
        artifacts_dir=root / config.artifacts,
        api_url=url.rstrip("/"),
        account_id=account,
        apply=config.apply,
    )


def _read(path: Path, cwd: Path) -> ConfigFile:
    shown = display_path(path, cwd)
    documents, problems = load_file(path, shown_as=shown)
    if problems:
        raise InvalidSpecs(problems)
    if not documents:
        return ConfigFile()
    document = documents[0]
    if len(documents) > 1:
        location = Location(file=shown)
        raise InvalidSpecs([Diagnostic(location=location, message="expected one YAML document")])
    data: Any = document.data
    if not isinstance(data, dict):
        location = document.locate([])
        message = "expected a mapping of settings (specs, state, artifacts, platform, apply)"
        raise InvalidSpecs([Diagnostic(location=location, message=message)])
    try:
        return ConfigFile.model_validate(data)
    except ValidationError as exc:
        diagnostics = []
        for error in exc.errors():
            field = list(error["loc"])
            extra = error["type"] == "extra_forbidden"
            what = "unknown setting" if extra else error["msg"]
            message = f"{dotted(field)}: {what}"
            if extra:
                message += "; expected one of the documented settings (see docs/config.md)"
            location = document.locate(field, key=extra)
            diagnostics.append(
                Diagnostic(location=location, message=message, path=json_path(field))
            )
        raise InvalidSpecs(diagnostics) from None
