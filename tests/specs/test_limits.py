"""Bounded YAML and bounded reads (issue #15, item 5 and the "Low" items): located errors.

The billion laughs, an alias of its own parent, integers of thousands of digits and tags
outside YAML's core schema are refused where they are written, on both loaders; spec files
that are devices, pipes, folders, links out of the repository or too large are refused by
name, through the real command line.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reconciler.specs import fastyaml, sources
from reconciler.specs.documents import load_text, load_text_reference
from tests.conftest import cli_in as _cli

LAUGHS = "\n".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(
            f"{name}: &{name} [{','.join(['*' + prev] * 9)}]"
            for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
        ),
    ]
)


def _problems(text: str) -> list[str]:
    docs, problems = load_text(text, "f.yaml")
    assert docs == [] or problems == []
    return [str(p) for p in problems]


def test_the_billion_laughs_stop_at_the_alias_that_crosses_the_budget() -> None:
    assert len(LAUGHS.encode()) < 400
    assert fastyaml.load(LAUGHS) is None  # the fast path leaves aliases to the guarded loader
    assert _problems(LAUGHS) == [
        "f.yaml:6:8: f[0]: YAML alias *e: alias expansion over 100,000 nodes (57 nodes written); "
        "expected aliases to expand a file to at most 100,000 nodes, or 10 times the nodes it "
        "writes"
    ]


def test_aliases_within_the_budget_are_expanded() -> None:
    text = "base: &b {x: 1, y: [1, 2]}\nuse: [*b, *b]\nmerged:\n  <<: *b\n  z: 3\n"
    docs, problems = load_text(text, "f.yaml")
    assert problems == []
    assert docs[0].data == {
        "base": {"x": 1, "y": [1, 2]},
        "use": [{"x": 1, "y": [1, 2]}, {"x": 1, "y": [1, 2]}],
        "merged": {"x": 1, "y": [1, 2], "z": 3},
    }


def test_an_alias_of_a_node_that_contains_it_is_refused() -> None:
    assert _problems("a: &a [1, *a]\n") == [
        "f.yaml:1:11: a[1]: YAML alias *a refers to a node that contains it; expected an alias "
        "of a node written before it"
    ]


def test_the_fast_path_hands_more_nodes_than_characters_to_the_guarded_loader() -> None:
    # Aliases never reach libyaml (the text check sends them to the reference loader); if one
    # did, a tree of more nodes than the text has characters is handed over before expansion.
    assert fastyaml.load("a: [1, 2, 3]\n") is not None
    node_budget = [2]
    with pytest.raises(Exception) as raised:  # noqa: PT011 - the private _Unsupported
        fastyaml._data(fastyaml._Composer("[1, 2, 3]").get_single_node(), node_budget)
    assert type(raised.value).__name__ == "_Unsupported"


@pytest.mark.parametrize(
    ("value", "length"),
    [("0x" + "f" * 5000, 5002), ("9" * 5000, 5000), ("-" + "1" * 100, 101), ("0o" + "7" * 99, 101)],
)
def test_an_integer_of_too_many_digits_is_refused_where_it_is_written(
    value: str, length: int
) -> None:
    text = f"spec:\n  vars:\n    n: {value}\n"
    assert fastyaml.load(text) is None
    assert _problems(text) == [
        f"f.yaml:3:8: spec.vars.n: integer of {length:,} characters; expected at most 100 (quote "
        "it to keep it as text)"
    ]
    assert load_text(f'n: "{value}"\n', "f.yaml")[0][0].data == {"n": value}  # quoted: text


def test_an_integer_of_a_hundred_characters_is_still_a_number_on_both_paths() -> None:
    text = "n: " + "9" * 100 + "\n"
    assert fastyaml.load(text) is not None
    assert load_text(text, "f.yaml")[0][0].data == {"n": int("9" * 100)}
    assert load_text_reference(text, "f.yaml")[0][0].data == {"n": int("9" * 100)}


@pytest.mark.parametrize(
    ("yaml", "written"),
    [
        ("!!binary aGVsbG8=", "!!binary"),
        ("!!set {x, y}", "!!set"),
        ("!!python/object/apply:os.system [id]", "!!python/object/apply:os.system"),
        ("!!omap [a: 1]", "!!omap"),
        ("!!timestamp 2026-01-15", "!!timestamp"),
        ("!custom x", "!custom"),
        ("!<tag:example.com,2026:x> 1", "!<tag:example.com,2026:x>"),
    ],
)
def test_tags_outside_the_core_schema_are_refused(yaml: str, written: str) -> None:
    assert _problems(f"spec:\n  vars:\n    a: {yaml}\n") == [
        f'f.yaml:3:8: spec.vars.a: unsupported YAML tag "{written}"; expected plain YAML values '
        "(the only tags allowed are YAML's core !!str, !!int, !!float, !!bool, !!null, !!seq, "
        "!!map)"
    ]


def test_a_tag_directive_does_not_hide_a_tag() -> None:
    text = "%TAG !py! tag:yaml.org,2002:python/\n---\na: !py!object/apply:os.system [id]\n"
    assert _problems(text) == [
        'f.yaml:3:4: a: unsupported YAML tag "!py!object/apply:os.system"; expected plain YAML '
        "values (the only tags allowed are YAML's core !!str, !!int, !!float, !!bool, !!null, "
        "!!seq, !!map)"
    ]


def test_core_tags_keep_their_meaning() -> None:
    docs, problems = load_text("a: !!str 123\nb: !!int '7'\nc: !!seq [1]\nd: !!null ''\n", "f")
    assert problems == []
    assert docs[0].data == {"a": "123", "b": 7, "c": [1], "d": None}


# Through the command line: the files a pull request could put where specs are read.

SPEC = """\
apiVersion: reconciler/v1
kind: Execution
metadata:
  name: ok
spec:
  processId: 789abcde-f012-3456-789a-bcdef0123456
  atomId: 3456789a-bcde-f012-3456-789abcdef012
"""


def _repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "specs").mkdir(parents=True)
    (root / "reconciler.yaml").write_text("version: 1\n", encoding="utf-8")
    (root / "specs" / "ok.yaml").write_text(SPEC, encoding="utf-8")
    return root


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_specs_that_are_not_regular_files_are_refused_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _repo(tmp_path)
    specs = root / "specs"
    os.mkfifo(specs / "pipe.yaml")
    (specs / "passwd.yaml").symlink_to("/etc/passwd")
    (specs / "zero.yml").symlink_to("/dev/zero")
    (root / "shared").mkdir()
    (root / "shared" / "other.yaml").write_text(SPEC.replace("name: ok", "name: other"))
    (specs / "other.yaml").symlink_to(root / "shared" / "other.yaml")  # inside the repository
    (specs / "folder.yaml").mkdir()  # a folder is searched, not read
    (specs / "folder.yaml" / "big.yaml").write_bytes(b"#" * (sources.MAX_FILE_BYTES + 1))
    for command in ("validate", "plan"):
        assert _cli(monkeypatch, capsys, root, command) == (
            1,
            [
                "specs/folder.yaml/big.yaml:1:1: cannot read file: is 1,000,001 bytes; the limit "
                "is 1,000,000",
                f"specs/passwd.yaml:1:1: cannot read file: is a symbolic link leading outside "
                f"{root}",
                "specs/pipe.yaml:1:1: cannot read file: is a named pipe; expected a regular file",
                f"specs/zero.yml:1:1: cannot read file: is a symbolic link leading outside {root}",
                "error: 4 problems found",
            ],
        )
    for name in ("pipe.yaml", "passwd.yaml", "zero.yml", "folder.yaml/big.yaml"):
        (specs / name).unlink()
    assert _cli(monkeypatch, capsys, root, "validate") == (0, [])
    assert capsys.readouterr().out == "2 file(s), 2 execution(s): all valid.\n"


def test_validate_dev_zero_is_refused_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _repo(tmp_path)
    assert _cli(monkeypatch, capsys, root, "validate", "/dev/zero") == (
        1,
        [
            "/dev/zero:1:1: cannot read file: is a device; expected a regular file",
            "error: 1 problem found",
        ],
    )


@pytest.mark.parametrize(
    ("yaml", "line"),
    [
        (LAUGHS, "specs/ok.yaml:6:8: f[0]: YAML alias *e: alias expansion over 100,000 nodes"),
        (
            SPEC + "  vars: {n: 0x" + "f" * 5000 + "}\n",
            "specs/ok.yaml:8:13: spec.vars.n: integer of 5,002 characters; expected at most 100",
        ),
        (  # was exit 70: str() of the value, past Python's 4,300-digit conversion limit
            SPEC + "  dynamicProperties:\n    A: 0x" + "f" * 5000 + "\n",
            "specs/ok.yaml:9:8: spec.dynamicProperties.A: integer of 5,002 characters",
        ),
        (
            SPEC + "  vars: {a: !!python/object/apply:os.system [id]}\n",
            'specs/ok.yaml:8:13: spec.vars.a: unsupported YAML tag "!!python/object/apply:',
        ),
    ],
)
def test_validate_and_plan_report_the_yaml_budgets_located(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    yaml: str,
    line: str,
) -> None:
    root = _repo(tmp_path)
    (root / "specs" / "ok.yaml").write_text(yaml, encoding="utf-8")
    for command in ("validate", "plan"):
        code, err = _cli(monkeypatch, capsys, root, command)
        assert code == 1
        assert err[0].startswith(line)
        assert err[1:] == ["error: 1 problem found"]


def test_the_reference_loader_reads_at_most_ten_thousand_nodes() -> None:
    # 1 MB of flow list behind one empty value took the reference loader about two minutes.
    items = ", ".join(["1"] * 12_000)
    plain = f"spec:\n  vars:\n    l: [{items}]\n"
    assert fastyaml.load(plain) is not None  # libyaml takes it: no cap on the fast path
    assert load_text(plain, "f.yaml")[1] == []
    assert _problems(plain + "    empty:\n") == [
        "f.yaml:3:30000: spec.vars.l[9997]: over 10,000 YAML nodes in a file that needs the full "
        "YAML reader (anchors, tags, tabs, dates, empty values and syntax errors do); expected "
        "at most 10,000 in such a file (split it, or keep it to plain YAML)"
    ]
