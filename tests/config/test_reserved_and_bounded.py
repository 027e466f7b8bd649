"""``secret()`` never reads reconciler's own credentials (issue #15, item 7); reconciler.yaml is
read bounded, like every spec file.

Through the real command line: ``validate`` and ``plan`` refuse the reserved names with a
located error, the config can reserve more, and ``EnvSecrets.resolve`` refuses them again
before anything is sent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reconciler.config.secrets import EnvSecrets, ReservedNames
from reconciler.errors import ConfigError
from reconciler.model import RunRequest, SecretRef
from tests.conftest import cli_in as _cli

SPEC = """\
apiVersion: reconciler/v1
kind: Execution
metadata:
  name: leak
spec:
  processId: 789abcde-f012-3456-789a-bcdef0123456
  atomId: 3456789a-bcde-f012-3456-789abcdef012
  dynamicProperties:
    DPP_TOKEN: '{{{{ secret("{name}") }}}}'
"""


def _repo(tmp_path: Path, secret: str, config: str = "version: 1\n") -> Path:
    root = tmp_path / "repo"
    (root / "specs").mkdir(parents=True)
    (root / "reconciler.yaml").write_text(config, encoding="utf-8")
    (root / "specs" / "leak.yaml").write_text(SPEC.format(name=secret), encoding="utf-8")
    return root


def _refused(name: str) -> list[str]:
    return [
        f'specs/leak.yaml:9:16: spec.dynamicProperties.DPP_TOKEN: secret("{name}") is refused: '
        f"{name} is reserved (reconciler's own credentials, GitHub's and the runner's variables "
        "and secrets.reserved in reconciler.yaml never reach the platform); expected a variable "
        "set for this process's properties only",
        "error: 1 problem found",
    ]


@pytest.mark.parametrize(
    "name",
    [
        "BOOMI_API_TOKEN",
        "BOOMI_USERNAME",
        "GITHUB_TOKEN",
        "GH_TOKEN",
        "ACTIONS_RUNTIME_TOKEN",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        "ACTIONS_ID_TOKEN_REQUEST_URL",
    ],
)
def test_secret_refuses_the_tools_own_credentials_at_validate_and_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    root = _repo(tmp_path, name)
    monkeypatch.setenv(name, "the-real-token")
    for command in ("validate", "plan"):
        assert _cli(monkeypatch, capsys, root, command) == (1, _refused(name))


def test_the_config_reserves_more_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _repo(tmp_path, "VAULT_ADMIN", "version: 1\nsecrets:\n  reserved: [VAULT_ADMIN]\n")
    assert _cli(monkeypatch, capsys, root, "validate") == (1, _refused("VAULT_ADMIN"))
    (root / "specs" / "leak.yaml").write_text(SPEC.format(name="ERP_API_KEY"), encoding="utf-8")
    assert _cli(monkeypatch, capsys, root, "validate") == (0, [])


def test_a_reserved_name_that_is_not_a_variable_name_is_a_located_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _repo(tmp_path, "X", "version: 1\nsecrets:\n  reserved: [not-a-name]\n  reservd: 1\n")
    code, err = _cli(monkeypatch, capsys, root, "validate")
    assert code != 0
    assert err[:2] == [
        'reconciler.yaml:3:14: secrets.reserved[0]: "not-a-name" is not valid; expected a letter '
        "or underscore followed by letters, digits or underscores",
        'reconciler.yaml:4:3: secrets.reservd: unknown setting; did you mean "reserved"?',
    ]


def test_resolve_refuses_a_reserved_name_before_reading_any_value() -> None:
    request = RunRequest(
        process_id="p",
        atom_id="a",
        dynamic_properties={
            "A": SecretRef(secret="ERP_API_KEY"),
            "B": SecretRef(secret="BOOMI_API_TOKEN"),
        },
        process_properties={"c": {"D": SecretRef(secret="VAULT_ADMIN")}},
    )
    environ = {"ERP_API_KEY": "k", "BOOMI_API_TOKEN": "t", "VAULT_ADMIN": "v"}
    with pytest.raises(ConfigError) as refused:
        EnvSecrets(environ, reserved=ReservedNames(frozenset({"VAULT_ADMIN"}))).resolve(request)
    assert str(refused.value) == (
        'secret("BOOMI_API_TOKEN"), secret("VAULT_ADMIN") is refused: reconciler\'s own '
        "credentials (and the names under secrets.reserved in reconciler.yaml) are never sent to "
        "the platform; expected a variable that holds a value for this process only"
    )
    with pytest.raises(ConfigError, match=r'secret\("BOOMI_API_TOKEN"\) is refused'):
        EnvSecrets(environ).resolve(request)  # the credentials, whatever the caller passes
    allowed = RunRequest(
        process_id="p", atom_id="a", dynamic_properties={"A": SecretRef(secret="ERP_API_KEY")}
    )
    assert EnvSecrets(environ).resolve(allowed).dynamic_properties == {"A": "k"}


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_the_config_is_read_bounded_and_refused_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _repo(tmp_path, "ERP_API_KEY")
    config = root / "reconciler.yaml"
    assert _cli(monkeypatch, capsys, root, "--config", "/dev/zero", "validate") == (
        1,
        ["error: config file /dev/zero is a device; expected a regular file"],
    )
    config.unlink()
    os.mkfifo(config)  # found as the config (never silently skipped), and refused
    assert _cli(monkeypatch, capsys, root, "validate") == (
        1,
        ["error: config file reconciler.yaml is a named pipe; expected a regular file"],
    )
    config.unlink()
    config.symlink_to("/etc/passwd")
    assert _cli(monkeypatch, capsys, root, "validate") == (
        1,
        [f"error: config file reconciler.yaml is a symbolic link leading outside {root}"],
    )
    config.unlink()
    config.write_bytes(b"# " * 600_000)
    assert _cli(monkeypatch, capsys, root, "validate") == (
        1,
        ["error: config file reconciler.yaml is 1,200,000 bytes; the limit is 1,000,000"],
    )


@pytest.mark.parametrize(
    ("key", "value"),
    [("state", "/var/elsewhere"), ("specs", "../outside"), ("artifacts", ".git/hooks"),
     ("state", "~/state")],
)  # fmt: skip
def test_the_config_cannot_point_the_tool_outside_the_repository(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    key: str,
    value: str,
) -> None:
    root = tmp_path / "repo"
    (root / "specs").mkdir(parents=True)
    (root / "reconciler.yaml").write_text(f"version: 1\n{key}: {value}\n", encoding="utf-8")
    code, err = _cli(monkeypatch, capsys, root, "plan")
    assert code == 1
    assert err[0] == (
        f"reconciler.yaml:2:{len(key) + 3}: {key}: {value!r} is not a folder inside the "
        "repository; expected a relative path without '..' or '.git', e.g. state"
    )
    assert not (tmp_path / "elsewhere").exists()
