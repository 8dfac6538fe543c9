"""The bad-input corpus: every case under tests/data/invalid against its exact expected diagnostics.

A case is ``<name>.yaml`` (or a directory ``<name>/`` of several files, for cross-file problems) with
``<name>.expected`` beside it: the exact lines ``FILE:LINE:COL: severity[CODE]: message`` the validator must
print, FILE relative to tests/data/invalid. Cases whose expected output the validator does not produce yet
are listed in ``XFAIL`` with the reason; they are strict, so a fix shows up as a failure to remove them.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from reportgen import load
from reportgen.cli import cli
from reportgen.diagnostics import RULES
from reportgen.fields import CheckedFile
from reportgen.load import load_paths
from reportgen.validate import check_where_parsed, validate

DATA = Path(__file__).parent / "data" / "invalid"


def _case_names() -> list[str]:
    names = set()
    for path in DATA.iterdir():
        if path.name.startswith("."):
            continue
        if path.is_dir():
            names.add(path.name)
        elif path.suffix in (".yaml", ".expected"):
            names.add(path.stem)
    return sorted(names)


CASES = _case_names()

# Cases where the validator's output is wrong today: the .expected file holds the output it should give.
XFAIL: dict[str, str] = {}

# Cases made of hostile input: each must be rejected quickly, whatever its size once expanded.
HOSTILE = (
    "alias_depth_chain",
    "billion_laughs",
    "bom_prefixed",
    "comment_only",
    "control_character",
    "crlf_line_endings",
    "deep_nesting",
    "duplicate_keys",
    "empty_file",
    "explicit_scalar_tags_crash",
    "invalid_utf8",
    "multi_document",
    "non_string_keys",
    "other_yaml_tags",
    "python_name_tag",
    "python_object_tag",
    "recursive_alias",
    "tab_indented",
    "top_level_list",
    "top_level_scalar",
    "utf16_file",
)


def _params(names: tuple[str, ...] | list[str], xfail: dict[str, str]) -> list[object]:
    return [
        pytest.param(name, id=name, marks=pytest.mark.xfail(strict=True, reason=xfail[name]))
        if name in xfail
        else pytest.param(name, id=name)
        for name in names
    ]


def _case_path(name: str) -> Path:
    return Path(name) if (DATA / name).is_dir() else Path(f"{name}.yaml")


def _expected(name: str) -> list[str]:
    return (DATA / f"{name}.expected").read_text(encoding="utf-8").splitlines()


def _run(name: str) -> list[str]:
    result = validate(load_paths([_case_path(name)]))
    locations = [(d.location.file, d.location.line, d.location.column) for d in result.diagnostics]
    assert locations == sorted(locations), "diagnostics are not sorted by file, line and column"
    return [str(d) for d in result.diagnostics]


def test_corpus_is_complete() -> None:
    for name in CASES:
        assert (DATA / f"{name}.expected").is_file(), f"{name} has no .expected file"
        assert (DATA / name).is_dir() or (DATA / f"{name}.yaml").is_file(), f"{name} has no input"
        assert _expected(name), f"{name}.expected is empty"
    assert set(XFAIL) <= set(CASES)
    assert set(HOSTILE) <= set(CASES)


@pytest.mark.parametrize("name", _params(CASES, XFAIL))
def test_case(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(DATA)
    assert _run(name) == _expected(name)


# Every case but a set without manifest files (the second file the test adds would change it).
@pytest.mark.parametrize("name", _params([c for c in CASES if c != "no_manifests"], XFAIL))
def test_case_checked_by_the_workers_that_parse_it(
    name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A large set's files are parsed and checked by workers: the same diagnostics, exactly."""
    monkeypatch.chdir(DATA)
    monkeypatch.setattr(load, "_PARALLEL_ABOVE_BYTES", 0)
    other = tmp_path / "other.yaml"  # a second file, without a problem: workers start for two or more
    other.write_text("runs: []\n")
    loaded = load_paths([_case_path(name), other], jobs=2, check=check_where_parsed)
    if name != "unreadable_file":  # else one file to parse: it is parsed here
        assert isinstance(loaded.documents[-1], CheckedFile)  # the other file, at least
    assert [str(d) for d in validate(loaded).diagnostics] == _expected(name)


_CODE = re.compile(r"^\S.*?: (?:error|warning)\[(RG\d{3})\]: ")


def test_every_rule_has_a_case() -> None:
    covered = set()
    for name in CASES:
        for line in _expected(name):
            match = _CODE.match(line)
            assert match, f"{name}.expected: not a diagnostic line: {line!r}"
            covered.add(match.group(1))
    assert set(RULES) - covered == set(), "rules without a case in tests/data/invalid"
    assert covered - set(RULES) == set(), "expected files name codes that are not rules"


@pytest.mark.parametrize("name", _params(HOSTILE, {}))
def test_hostile_input_is_rejected_quickly(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A guard against runaway expansion or nesting, not a benchmark: the bound is generous."""
    monkeypatch.chdir(DATA)
    start = time.perf_counter()
    _run(name)
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize(
    ("name", "strict", "exit_code"),
    [
        ("unknown_key", False, 1),
        ("invalid_utf8", False, 1),
        ("billion_laughs", False, 1),
        ("python_object_tag", False, 1),
        ("no_manifests", False, 1),
        ("duplicate_run_id", False, 1),
        ("duplicate_input_ref", False, 0),
        ("duplicate_input_ref", True, 1),
        ("protected_alias_without_reason", False, 0),
        ("protected_alias_without_reason", True, 1),
    ],
)
def test_cli_validate(name: str, strict: bool, exit_code: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(DATA)
    args = ["validate", str(_case_path(name))] + (["--strict"] if strict else [])
    result = CliRunner().invoke(cli, args)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.exit_code == exit_code, result.output
    for line in _expected(name):
        assert line in result.output
