"""reconciler.yaml: environments, variables, aliases, templateEnv, and located errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.config.settings import load_settings, parse_overrides
from reconciler.errors import ConfigError, InvalidConfig, InvalidSpecs

GUID = "3456789a-bcde-f012-3456-789abcdef012"
OTHER = "3456789a-bcde-f012-3456-789abcdef099"

CONFIG = f"""\
version: 1
templateEnv: [DEPLOY_REGION]
vars: {{a: config, b: config}}
aliases:
  runtimes: {{cloud: {GUID}}}
platform: {{url: https://api.boomi.com/api/rest/v1, accountId: base}}
environments:
  dev: {{}}
  prod:
    vars: {{b: prod}}
    aliases: {{runtimes: {{cloud: {OTHER}}}}}
    platform: {{accountId: prod-ACCOUNT}}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "reconciler.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_environment_overrides_vars_aliases_and_platform(tmp_path: Path) -> None:
    path = _write(tmp_path, CONFIG)
    prod = load_settings(path, tmp_path, {}, "prod")
    assert prod.environment == "prod"
    assert prod.vars == {"a": "config", "b": "prod"}
    assert prod.runtime_aliases == {"cloud": OTHER}
    assert prod.account_id == "prod-ACCOUNT"
    assert prod.api_url == "https://api.boomi.com/api/rest/v1"
    dev = load_settings(path, tmp_path, {"RECONCILER_ENV": "dev"})
    assert (dev.environment, dev.account_id, dev.runtime_aliases) == (
        "dev",
        "base",
        {"cloud": GUID},
    )
    context = dev.spec_context({"DEPLOY_REGION": "w", "HOME": "/root"}, overrides={"a": "cli"})
    assert context.env == {"DEPLOY_REGION": "w"}
    assert context.overrides == {"a": "cli"}


def test_environment_must_be_chosen_when_several_exist(tmp_path: Path) -> None:
    path = _write(tmp_path, CONFIG)
    with pytest.raises(ConfigError) as error:
        load_settings(path, tmp_path, {})
    assert str(error.value) == (
        "no environment selected; reconciler.yaml defines dev, prod; pass --env NAME, set "
        "RECONCILER_ENV, or set defaultEnvironment in reconciler.yaml"
    )
    with pytest.raises(ConfigError, match='unknown environment "prd"; did you mean "prod"'):
        load_settings(path, tmp_path, {}, "prd")
    default = _write(tmp_path, CONFIG + "defaultEnvironment: dev\n")
    assert load_settings(default, tmp_path, {}).environment == "dev"


def test_no_environments_means_the_default_environment(tmp_path: Path) -> None:
    path = _write(tmp_path, "version: 1\n")
    assert load_settings(path, tmp_path, {}).environment == "default"
    with pytest.raises(ConfigError, match="defines no environments"):
        load_settings(path, tmp_path, {}, "dev")


def test_located_config_errors(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "version: 1\ndefaultEnvironment: staging\ntemplateEnv: [BOOMI_API_TOKEN]\n"
        "environments:\n  dev:\n    varz: {}\n    aliases: {runtimes: {cloud: nope}}\n",
    )
    with pytest.raises(InvalidConfig) as error:
        load_settings(path, tmp_path, {})
    # A config problem, in the config family, carrying every located problem; never a spec one.
    assert isinstance(error.value, ConfigError)
    assert not isinstance(error.value, InvalidSpecs)
    assert error.value.message == "2 problems found"
    assert [str(d) for d in error.value.diagnostics] == [
        'reconciler.yaml:6:5: environments.dev.varz: unknown setting; did you mean "vars"?',
        'reconciler.yaml:7:33: environments.dev.aliases.runtimes.cloud: "nope" is not valid; '
        "expected a GUID like 789abcde-f012-3456-789a-bcdef0123456 (8-4-4-4-12 hexadecimal "
        "digits)",
    ]
    _write(tmp_path, "version: 1\ndefaultEnvironment: staging\ntemplateEnv: [BOOMI_API_TOKEN]\n")
    with pytest.raises(InvalidConfig) as error:
        load_settings(path, tmp_path, {})
    assert [str(d) for d in error.value.diagnostics] == [
        'reconciler.yaml:2:21: defaultEnvironment: "staging" is not an environment; expected one '
        "of the names under environments: (none defined)",
        'reconciler.yaml:3:15: templateEnv[0]: "BOOMI_API_TOKEN" looks like a credential; '
        'expected a plain setting (read secrets with secret("NAME") in the spec instead)',
    ]


def test_var_overrides() -> None:
    assert parse_overrides(["a=1", "b=x=y", "a=2"]) == {"a": "2", "b": "x=y"}
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        parse_overrides(["novalue"])
