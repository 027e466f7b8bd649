"""A run's revision: the spec as written, the same in every environment, new on every edit of
what the execution sends."""

from __future__ import annotations

from pathlib import Path

from reconciler.config.settings import load_settings
from reconciler.specs.load import load_desired
from reconciler.usecases.inputs import spec_context

PROCESS = "789abcde-f012-3456-789a-bcdef0123456"
ATOM_A = "3456789a-bcde-f012-3456-789abcdef012"
ATOM_B = "2345678a-bcde-f012-3456-789abcdef012"
COMPONENT = "456789ab-cdef-0123-4567-89abcdef0123"

CONFIG = f"""\
vars: {{tier: base}}
aliases:
  runtimes: {{cloud: {ATOM_A}}}
environments:
  test:
    vars: {{tier: test}}
    aliases: {{runtimes: {{cloud: {ATOM_B}}}}}
  prod:
    vars: {{tier: prod}}
"""

SPEC = f"""\
apiVersion: reconciler/v1
kind: ExecutionSet
metadata:
  name: orders
spec:
  defaults:
    processId: {PROCESS}
    runtime: cloud
    vars: {{batch: 100}}
    dynamicProperties:
      DPP: "{{{{ vars.tier }}}}-{{{{ vars.batch }}}}-{{{{ matrix.region }}}}-{{{{ git.sha }}}}"
    processProperties:
      {COMPONENT}: {{size: "{{{{ vars.batch }}}}"}}
    policy: {{promote: {{after: test}}}}
  matrix:
    region: [eu, us]
  executions:
    - name: "orders-{{{{ matrix.region }}}}"
"""


def _revisions(
    root: Path, environment: str, spec: str = SPEC, *, sha: str = "1", **overrides: str
) -> dict[str, tuple[str, str]]:
    """name → (revision, digest) of every run, as ``plan --env ENVIRONMENT`` would see them."""
    (root / "specs").mkdir(parents=True, exist_ok=True)
    (root / "reconciler.yaml").write_text(CONFIG, encoding="utf-8")
    (root / "specs" / "orders.yaml").write_text(spec, encoding="utf-8")
    environ = {"GITHUB_ACTIONS": "true", "GITHUB_SHA": sha}
    settings = load_settings(None, root, environ, environment)
    context = spec_context(settings, environ, tuple(f"{k}={v}" for k, v in overrides.items()))
    loaded = load_desired([settings.specs_dir], root=root, context=context)
    assert loaded.diagnostics == []
    return {run.name: (run.revision, run.digest) for run in loaded.runs}


def test_the_environment_changes_the_digest_never_the_revision(tmp_path: Path) -> None:
    test = _revisions(tmp_path, "test")
    prod = _revisions(tmp_path, "prod", sha="2", batch="7")  # also another commit and --var
    assert set(test) == {"orders-eu", "orders-us"}
    for name in test:
        assert test[name][0] == prod[name][0]
        assert test[name][1] != prod[name][1]
    assert test["orders-eu"][0] != test["orders-us"][0]  # each combination has its own


def test_editing_what_is_sent_is_a_new_revision(tmp_path: Path) -> None:
    base = _revisions(tmp_path, "prod")
    edits = [
        SPEC.replace("batch: 100", "batch: 101"),
        SPEC.replace("runtime: cloud", f"atomId: {ATOM_A}"),  # the same id, written otherwise
        SPEC.replace('{size: "', '{other: "'),
        SPEC.replace("-{{ git.sha }}", ""),
        SPEC.replace("region: [eu, us]", "region: [eu, us]\n    extra: [x]").replace(
            '{{ matrix.region }}"\n', '{{ matrix.region }}-{{ matrix.extra }}"\n'
        ),
    ]
    for edited in edits:
        assert edited != SPEC
        after = _revisions(tmp_path, "prod", edited)
        assert all(after.get(name, ("",))[0] != base[name][0] for name in base), edited


def test_what_is_not_sent_keeps_the_revision(tmp_path: Path) -> None:
    base = _revisions(tmp_path, "prod")
    same = [
        SPEC.replace("metadata:\n", "metadata:\n  labels: {team: a}\n  description: words\n"),
        SPEC.replace("{promote: {after: test}}", "{promote: {after: [test]}, timeout: 5m}"),
        SPEC.replace("    vars: {batch: 100}\n", "    vars:\n      batch: 100   # a comment\n"),
        SPEC.replace(
            f'      {COMPONENT}: {{size: "{{{{ vars.batch }}}}"}}',
            f"      - componentId: {COMPONENT.upper()}\n"
            f'        values: {{size: "{{{{ vars.batch }}}}"}}',
        ),
        SPEC.replace(PROCESS, PROCESS.upper()),
    ]
    for edited in same:
        assert edited != SPEC
        assert _revisions(tmp_path, "prod", edited) == base, edited
