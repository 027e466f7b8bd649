"""``reconciler.yaml`` and the environment to ``Settings``.

An edge: reads the config file (through ``documents``) and takes the environment as a mapping.
The config says where specs, state and artifacts live, which platform to talk to, and which
environments exist (``dev``, ``prod``, ...), each with its own variables, aliases and platform
settings; one is selected by ``--env``, ``RECONCILER_ENV`` or ``defaultEnvironment``. The
environment variables ``BOOMI_API_URL`` and ``BOOMI_ACCOUNT_ID`` override the platform settings
so the same repository can point at the simulator or a real account. Credentials are never read
from a file: see ``secrets.py``; ``secrets.reserved`` names more variables ``secret()`` refuses.
The config and the spec files are read with ``reconciler.files.read_bounded``: regular files of
at most ``MAX_CONFIG_BYTES`` (and ``sources.MAX_FILE_BYTES`` for specs), a link only when it
stays inside the repository, so ``--config /dev/zero`` or a spec linked to ``/etc/passwd`` is a
clear error naming the file.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from reconciler.config.secrets import ReservedNames
from reconciler.errors import ConfigError, InvalidConfig
from reconciler.files import FileRefused, read_bounded
from reconciler.model import Diagnostic, Location, PathPart
from reconciler.specs.diagnose import from_model_errors
from reconciler.specs.documents import load_bytes
from reconciler.specs.language import (
    ALIAS_PATTERN,
    DURATION_PATTERN,
    GUID_PATTERN,
    NAME_PATTERN,
    PATTERN_WORDS,
    VAR_PATTERN,
)
from reconciler.specs.policies import seconds
from reconciler.specs.sources import MAX_FILE_BYTES, display_path

if TYPE_CHECKING:
    from reconciler.specs.expand import SpecContext

CONFIG_NAME = "reconciler.yaml"
DEFAULT_API_URL = "https://api.boomi.com/api/rest/v1"
DEFAULT_ENVIRONMENT = "default"
ENV_VARIABLE = "RECONCILER_ENV"
MAX_CONFIG_BYTES = 1_000_000
# Never readable from templates, whatever templateEnv says: credentials and the like belong in
# secret("NAME"), which keeps the value out of plans, state and digests (practices.md D6).
_SECRET_LIKE = re.compile(r"(TOKEN|PASSWORD|PASSWD|SECRET|CREDENTIAL|PRIVATE|_KEY$|^BOOMI_)")

EnvName = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
AliasName = Annotated[str, StringConstraints(pattern=ALIAS_PATTERN)]
Guid = Annotated[str, StringConstraints(pattern=GUID_PATTERN)]
_BRANCH = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._/-]{0,199}")


def _branch_name(value: str) -> str:
    """A git branch name we accept: segments of safe characters, as ``reconciler/state``.

    Never an option to git (no leading ``-``), and none of git's forbidden shapes (``..``,
    ``//``, a trailing ``/`` or ``.``, a ``.lock`` end).
    """
    if (
        not _BRANCH.fullmatch(value)
        or ".." in value
        or "//" in value
        or value.endswith(("/", ".", ".lock"))
        or "/." in value
    ):
        raise ValueError("expected a branch name such as reconciler/state")
    return value


BranchName = Annotated[str, AfterValidator(_branch_name)]


def _duration(value: object) -> object:
    """``1h`` → 3600.0: a duration as policies write it (``policies.seconds``), or a number.

    A boolean is neither (YAML's ``yes`` would otherwise be one second).
    """
    if isinstance(value, bool):
        raise ValueError(f"expected {PATTERN_WORDS[DURATION_PATTERN]}, got a boolean")
    if isinstance(value, str):
        if not re.fullmatch(DURATION_PATTERN, value.strip()):
            shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in value[:40])
            shown += "..." if len(value) > 40 else ""
            raise ValueError(f'expected {PATTERN_WORDS[DURATION_PATTERN]}, got the text "{shown}"')
        return seconds(value.strip())
    return value


#: Seconds, written as a number or a duration (``90s``, ``30m``, ``1h``, ``1h30m``, ``1d``).
Seconds = Annotated[float, BeforeValidator(_duration)]
VarName = Annotated[str, StringConstraints(pattern=VAR_PATTERN)]


class _ConfigModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)


class PlatformConfig(_ConfigModel):
    """Which platform to talk to, and how long to wait for it (docs/engine.md, "Timeouts")."""

    url: str = Field(default=DEFAULT_API_URL, description="Base URL up to /api/rest/v1.")
    account_id: str = Field(default="", alias="accountId", description="The Boomi account id.")
    connect_timeout: Seconds = Field(
        default=10.0, gt=0, le=600, alias="connectTimeout", description="Connecting, TLS included."
    )
    read_timeout: Seconds = Field(
        default=60.0,
        gt=0,
        le=3600,
        alias="readTimeout",
        description="Waiting for an answer once sent.",
    )


class Aliases(_ConfigModel):
    """Readable names for process and runtime ids (``process:`` / ``runtime:`` in specs)."""

    processes: dict[AliasName, Guid] = Field(default_factory=dict)
    runtimes: dict[AliasName, Guid] = Field(default_factory=dict)


class EnvironmentConfig(_ConfigModel):
    """One environment: its variables, alias overrides and platform overrides."""

    vars: dict[VarName, Any] = Field(default_factory=dict)
    aliases: Aliases = Aliases()
    platform: PlatformConfig | None = None


class ApplyConfig(_ConfigModel):
    """How an apply behaves."""

    concurrency: int = Field(default=50, ge=1, le=1000)
    rate_limit: float = Field(default=10.0, gt=0, le=1000, alias="rateLimit")
    poll_initial: Seconds = Field(default=1.0, gt=0, le=600, alias="pollInitial")
    poll_max: Seconds = Field(default=15.0, gt=0, le=3600, alias="pollMax")
    timeout: Seconds = Field(default=3600.0, gt=0, alias="timeout")
    record_timeout: Seconds = Field(default=600.0, gt=0, alias="recordTimeout")
    adopt_after: Seconds = Field(default=15.0, ge=0, le=3600, alias="adoptAfter")


class GitConfig(_ConfigModel):
    """How state reaches git: ``reconciler commit`` and durable intents."""

    remote: str = Field(default="origin", min_length=1)
    durable_intents: bool | Literal["auto"] = Field(default="auto", alias="durableIntents")
    push_attempts: int = Field(default=5, ge=1, le=20, alias="pushAttempts")
    #: A branch of ``remote`` that holds state, artifacts and durable intents (e.g.
    #: ``reconciler/state``): for a protected default branch. None: the checked-out branch.
    state_branch: BranchName | None = Field(default=None, alias="stateBranch")

    def durable(self, *, in_actions: bool) -> bool:
        """Whether applies push their intents first (``auto``: inside GitHub Actions)."""
        if self.durable_intents == "auto":
            return in_actions
        return bool(self.durable_intents)


class SecretsConfig(_ConfigModel):
    """Which environment variables ``secret()`` may never read, beyond the tool's credentials."""

    reserved: list[VarName] = Field(default_factory=list)


def _inside_repository(value: str) -> str:
    """A folder of the repository: relative, no ``..``, not ``.git``.

    A pull request may edit ``reconciler.yaml``; it may not point the tool's reads and writes
    outside the checkout.
    """
    parts = value.replace("\\", "/").split("/")
    if (
        not value.strip()
        or value.startswith(("/", "~"))
        or ".." in parts
        or ".git" in parts
        or any(ord(c) < 32 for c in value)
    ):
        raise ValueError(
            f"{value!r} is not a folder inside the repository; expected a relative path "
            "without '..' or '.git', e.g. state"
        )
    return value


RepoFolder = Annotated[str, AfterValidator(_inside_repository)]


class ConfigFile(_ConfigModel):
    """The whole ``reconciler.yaml``."""

    version: int = Field(default=1, ge=1, le=1)
    specs: RepoFolder = "specs"
    state: RepoFolder = "state"
    artifacts: RepoFolder = "artifacts"
    platform: PlatformConfig = PlatformConfig()
    apply: ApplyConfig = ApplyConfig()
    git: GitConfig = GitConfig()
    vars: dict[VarName, Any] = Field(default_factory=dict)
    aliases: Aliases = Aliases()
    template_env: list[VarName] = Field(default_factory=list, alias="templateEnv")
    secrets: SecretsConfig = SecretsConfig()
    default_environment: EnvName | None = Field(default=None, alias="defaultEnvironment")
    environments: dict[EnvName, EnvironmentConfig] = Field(default_factory=dict)


class Settings(BaseModel):
    """Resolved settings: absolute paths, platform after environment overrides."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    root: Path
    config_file: Path | None
    specs_dir: Path
    state_dir: Path
    artifacts_dir: Path
    api_url: str
    account_id: str
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    apply: ApplyConfig
    git: GitConfig = GitConfig()
    environment: str = DEFAULT_ENVIRONMENT
    vars: dict[str, Any] = Field(default_factory=dict)
    process_aliases: dict[str, str] = Field(default_factory=dict)
    runtime_aliases: dict[str, str] = Field(default_factory=dict)
    template_env: tuple[str, ...] = ()
    reserved_secrets: ReservedNames = ReservedNames()

    def spec_context(
        self,
        environ: Mapping[str, str],
        *,
        git: Mapping[str, Any] | None = None,
        overrides: Mapping[str, str] | None = None,
    ) -> SpecContext:
        """What the specs of this environment render with (``--var`` values in ``overrides``).

        Spec files are read bounded, with the repository as the root links must stay in; the
        reserved secret names are refused by ``secret()``.
        """
        from reconciler.specs.expand import SpecContext  # Jinja2: only when specs are rendered

        return SpecContext(
            environment=self.environment,
            vars=dict(self.vars),
            process_aliases=dict(self.process_aliases),
            runtime_aliases=dict(self.runtime_aliases),
            env={name: environ[name] for name in self.template_env if name in environ},
            git=dict(git or {}),
            overrides=dict(overrides or {}),
            reserved_secrets=self.reserved_secrets,
            read=functools.partial(read_bounded, limit=MAX_FILE_BYTES, root=self.root),
        )


def find_config(start: Path) -> Path | None:
    """The nearest ``reconciler.yaml`` in ``start`` or its parents (anything but a folder).

    A ``reconciler.yaml`` that is a pipe, a device or a link is found, and then refused by
    name, rather than silently passed over for defaults or a parent's config.
    """
    for folder in (start, *start.parents):
        candidate = folder / CONFIG_NAME
        if (candidate.exists() or candidate.is_symlink()) and not candidate.is_dir():
            return candidate
    return None


def load_settings(
    config_path: Path | None,
    cwd: Path,
    environ: Mapping[str, str],
    environment: str | None = None,
) -> Settings:
    """Read the config (``--config``, else the nearest one) and apply environment overrides.

    Without a ``reconciler.yaml`` there are no settings: a ``ConfigError`` says where none was
    found and how to make one, so no command reads or writes outside a configured repository.

    ``environment`` is ``--env``; without it ``RECONCILER_ENV``, then ``defaultEnvironment``
    choose, and a config that defines no environments runs as the environment ``default``.
    """
    if config_path is None:
        config_path = find_config(cwd)
    if config_path is None:
        # Never defaults rooted wherever the command happened to run: a plan would report
        # "specs: no such folder" and an apply would leave state/ behind (issue 17 case 7).
        raise ConfigError(
            f"no {CONFIG_NAME} in {cwd} or any folder above it",
            hint="run reconciler in the repository that holds one, pass --config FILE, or "
            f"start one here: a {CONFIG_NAME} with the line 'version: 1' (docs/config.md)",
        )
    if not config_path.exists() and not config_path.is_symlink():
        raise ConfigError(f"config file {config_path} does not exist")
    config = _read(config_path, cwd)
    root = config_path.resolve().parent
    name = _choose_environment(config, environment or environ.get(ENV_VARIABLE) or None)
    chosen = config.environments.get(name, EnvironmentConfig())
    platform = config.platform
    if chosen.platform is not None:
        platform = platform.model_copy(
            update={key: getattr(chosen.platform, key) for key in chosen.platform.model_fields_set}
        )
    url = environ.get("BOOMI_API_URL") or platform.url
    account = environ.get("BOOMI_ACCOUNT_ID") or platform.account_id
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
        connect_timeout=platform.connect_timeout,
        read_timeout=platform.read_timeout,
        apply=config.apply,
        git=config.git,
        environment=name,
        vars={**config.vars, **chosen.vars},
        process_aliases={**config.aliases.processes, **chosen.aliases.processes},
        runtime_aliases={**config.aliases.runtimes, **chosen.aliases.runtimes},
        template_env=tuple(config.template_env),
        reserved_secrets=ReservedNames(frozenset(config.secrets.reserved)),
    )


def _choose_environment(config: ConfigFile, wanted: str | None) -> str:
    defined = sorted(config.environments)
    if wanted is None:
        wanted = config.default_environment
        if wanted is None:
            if not defined or DEFAULT_ENVIRONMENT in config.environments:
                return DEFAULT_ENVIRONMENT
            raise ConfigError(
                f"no environment selected; reconciler.yaml defines {', '.join(defined)}",
                hint="pass --env NAME, set RECONCILER_ENV, or set defaultEnvironment in "
                "reconciler.yaml",
            )
    if wanted in config.environments or (not defined and wanted == DEFAULT_ENVIRONMENT):
        return wanted
    if not defined:
        raise ConfigError(
            f'unknown environment "{wanted}"; reconciler.yaml defines no environments',
            hint="define it under environments: in reconciler.yaml (see docs/config.md)",
        )
    guess = difflib.get_close_matches(wanted, defined, n=1)
    hint = f'did you mean "{guess[0]}"?' if guess else f"expected one of: {', '.join(defined)}"
    raise ConfigError(f'unknown environment "{wanted}"', hint=hint)


def parse_overrides(values: Sequence[str]) -> dict[str, str]:
    """``--var key=value`` options to a mapping; the last value of a key wins."""
    out: dict[str, str] = {}
    for value in values:
        key, sep, text = value.partition("=")
        key = key.strip()
        if not sep or not re.fullmatch(VAR_PATTERN, key):
            raise ConfigError(
                f"--var {value!r}: expected KEY=VALUE with KEY a variable name",
                hint="e.g. --var run_date=2026-01-15",
            )
        out[key] = text
    return out


def _read(path: Path, cwd: Path) -> ConfigFile:
    shown = display_path(path, cwd)
    try:
        raw = read_bounded(path, limit=MAX_CONFIG_BYTES, root=path.absolute().parent.resolve())
    except FileRefused as exc:
        raise ConfigError(f"config file {shown} {exc.reason}") from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(f"cannot read config file {shown}: {reason}") from None
    documents, problems = load_bytes(raw, shown)
    if problems:
        raise InvalidConfig(problems)
    if not documents:
        return ConfigFile()
    document = documents[0]
    if len(documents) > 1:
        location = Location(file=shown)
        raise InvalidConfig([Diagnostic(location=location, message="expected one YAML document")])
    data: Any = document.data
    if not isinstance(data, dict):
        location = document.locate([])
        message = "expected a mapping of settings (specs, state, artifacts, platform, apply)"
        raise InvalidConfig([Diagnostic(location=location, message=message)])
    try:
        config = ConfigFile.model_validate(data)
    except ValidationError as exc:
        raise InvalidConfig(from_model_errors(document, exc, known=_known_settings)) from None
    problems = _check(config, document)
    if problems:
        raise InvalidConfig(problems)
    return config


def _known_settings(path: Sequence[PathPart]) -> list[str]:
    """The setting names allowed in the mapping at ``path`` (for "did you mean")."""
    model: Any = ConfigFile
    for part in path:
        if model is ConfigFile and part == "environments":
            model = None
            continue
        if model is None:
            model = EnvironmentConfig
            continue
        info = model.model_fields.get(str(part)) or next(
            (f for f in model.model_fields.values() if f.alias == part), None
        )
        annotation = getattr(info, "annotation", None)
        candidates = [a for a in getattr(annotation, "__args__", (annotation,)) if a is not None]
        model = next(
            (a for a in candidates if isinstance(a, type) and issubclass(a, BaseModel)), None
        )
        if model is None:
            return []
    if model is None:
        return []
    return [info.alias or name for name, info in model.model_fields.items()]


def _check(config: ConfigFile, document: Any) -> list[Diagnostic]:
    problems = []
    default = config.default_environment
    if default is not None and default not in config.environments:
        defined = ", ".join(sorted(config.environments)) or "none defined"
        problems.append(
            Diagnostic(
                location=document.locate(["defaultEnvironment"]),
                message=f'defaultEnvironment: "{default}" is not an environment; expected one of '
                f"the names under environments: ({defined})",
                path="$.defaultEnvironment",
            )
        )
    for index, name in enumerate(config.template_env):
        if _SECRET_LIKE.search(name.upper()):
            problems.append(
                Diagnostic(
                    location=document.locate(["templateEnv", index]),
                    message=f'templateEnv[{index}]: "{name}" looks like a credential; expected '
                    'a plain setting (read secrets with secret("NAME") in the spec instead)',
                    path=f"$.templateEnv[{index}]",
                )
            )
    return problems
