"""Diagnostics as values: the rule catalogue, sorting, and the text, JSON and GitHub formats."""

from __future__ import annotations

import json
import re

import pytest

from reportgen.diagnostics import (
    RULES,
    Diagnostic,
    Location,
    Reporter,
    Severity,
    count_summary,
    format_github,
    format_json,
    format_text,
)


def diag(code: str, message: str, file: str = "m.yaml", line: int = 1, column: int = 1) -> Diagnostic:
    return Diagnostic(RULES[code].severity, code, message, Location(file, line, column))


# ------------------------------------------------------------------------------ rules and reporter


def test_rule_codes_are_stable_shaped_and_keyed_by_code() -> None:
    assert len(RULES) >= 25
    for code, rule in RULES.items():
        assert re.fullmatch(r"RG[0-3]\d\d", code)
        assert rule.code == code
        assert rule.summary
    assert RULES["RG313"].severity is Severity.WARNING
    assert RULES["RG205"].severity is Severity.ERROR


def test_reporter_takes_severity_from_the_rule() -> None:
    reporter = Reporter()
    reporter.report("RG211", "listed twice", Location("a.yaml", 3, 4))
    assert not reporter.has_errors
    reporter.report("RG205", "undeclared", Location("a.yaml", 1, 1))
    assert reporter.has_errors
    assert [(d.code, d.severity) for d in reporter.diagnostics] == [
        ("RG205", Severity.ERROR),
        ("RG211", Severity.WARNING),
    ]
    with pytest.raises(KeyError):
        reporter.report("RG999", "no such rule", Location("a.yaml"))


def test_diagnostics_sort_by_file_then_line_then_column() -> None:
    reporter = Reporter()
    items = [
        ("b.yaml", 1, 1, "RG205"),
        ("a.yaml", 10, 2, "RG205"),
        ("a.yaml", 2, 9, "RG104"),
        ("a.yaml", 2, 3, "RG313"),
        ("a.yaml", 0, 0, "RG001"),
        ("a/z.yaml", 1, 1, "RG101"),
        ("a.yaml", 2, 3, "RG104"),
    ]
    for file, line, column, code in items:
        reporter.report(code, "m", Location(file, line, column))
    reporter.extend([diag("RG101", "from elsewhere", "a.yaml", 5, 1)])
    got = [(d.location.file, d.location.line, d.location.column, d.code) for d in reporter.diagnostics]
    assert got == [
        ("a.yaml", 0, 0, "RG001"),
        ("a.yaml", 2, 3, "RG104"),
        ("a.yaml", 2, 3, "RG313"),
        ("a.yaml", 2, 9, "RG104"),
        ("a.yaml", 5, 1, "RG101"),
        ("a.yaml", 10, 2, "RG205"),  # line 10 after line 5: numbers, not text
        ("a/z.yaml", 1, 1, "RG101"),
        ("b.yaml", 1, 1, "RG205"),
    ]


# ------------------------------------------------------------------------------ text


def test_text_format_is_compiler_style() -> None:
    text = format_text(
        [
            diag("RG205", "inputs: x:v1 is not a declared artifact version", "zoo/runs.yaml", 12, 7),
            diag("RG313", "protected alias 'production' changed without a reason", "zoo/a.yaml", 3, 5),
            diag("RG001", "cannot read file: No such file or directory", "gone.yaml", 0, 0),
        ]
    )
    assert text.splitlines() == [
        "zoo/runs.yaml:12:7: error[RG205]: inputs: x:v1 is not a declared artifact version",
        "zoo/a.yaml:3:5: warning[RG313]: protected alias 'production' changed without a reason",
        "gone.yaml: error[RG001]: cannot read file: No such file or directory",
    ]
    assert text.endswith("\n")
    assert format_text([]) == ""


@pytest.mark.parametrize(
    ("counts", "files", "expected"),
    [
        ((0, 0), 1, "1 file checked: no problems"),
        ((0, 0), 12, "12 files checked: no problems"),
        ((1, 0), 1, "1 file checked: 1 error, 0 warnings"),
        ((2, 1), 3, "3 files checked: 2 errors, 1 warning"),
        ((0, 2), 0, "0 files checked: 0 errors, 2 warnings"),
    ],
)
def test_summary_line_wording(counts: tuple[int, int], files: int, expected: str) -> None:
    errors, warnings = counts
    diagnostics = [diag("RG205", "e")] * errors + [diag("RG313", "w")] * warnings
    assert count_summary(diagnostics, files) == expected


# ------------------------------------------------------------------------------ json


def test_json_format_parses_and_carries_everything() -> None:
    items = [
        diag("RG205", 'inputs: "ü" → x:v1', "runs.yaml", 4, 9),
        diag("RG314", "deleted", "actions.yaml", 7, 3),
        diag("RG001", "cannot read", "gone.yaml", 0, 0),
    ]
    doc = json.loads(format_json(items, 5))
    assert doc == {
        "files": 5,
        "errors": 2,
        "warnings": 1,
        "diagnostics": [
            {
                "file": "runs.yaml",
                "line": 4,
                "column": 9,
                "severity": "error",
                "code": "RG205",
                "message": 'inputs: "ü" → x:v1',
            },
            {
                "file": "actions.yaml",
                "line": 7,
                "column": 3,
                "severity": "warning",
                "code": "RG314",
                "message": "deleted",
            },
            {
                "file": "gone.yaml",
                "line": 0,
                "column": 0,
                "severity": "error",
                "code": "RG001",
                "message": "cannot read",
            },
        ],
    }
    assert json.loads(format_json([], 2)) == {"files": 2, "errors": 0, "warnings": 0, "diagnostics": []}


# ------------------------------------------------------------------------------ github


def test_github_annotations() -> None:
    out = format_github(
        [
            diag("RG205", "inputs: x:v1 is not declared", "zoo/runs.yaml", 12, 7),
            diag("RG313", "no reason", "zoo/a.yaml", 3, 5),
        ]
    )
    assert out.splitlines() == [
        "::error file=zoo/runs.yaml,line=12,col=7,title=RG205::inputs: x:v1 is not declared",
        "::warning file=zoo/a.yaml,line=3,col=5,title=RG313::no reason",
    ]


def test_github_escapes_data_and_properties() -> None:
    out = format_github([diag("RG205", "100% wrong\r\nsecond line: a, b", "dir,1/we:ird%.yaml", 2, 4)])
    assert out == (
        "::error file=dir%2C1/we%3Aird%25.yaml,line=2,col=4,title=RG205"
        "::100%25 wrong%0D%0Asecond line: a, b\n"
    )
    assert out.count("\n") == 1  # a message can never break out of its annotation


def test_github_whole_file_problem_has_no_line() -> None:
    out = format_github([diag("RG001", "cannot read file", "gone.yaml", 0, 0)])
    assert out == "::error file=gone.yaml,title=RG001::cannot read file\n"


def test_diagnostic_string_and_dict_agree() -> None:
    d = diag("RG104", "state: 'flying' is not one of pending", "m.yaml", 3, 12)
    assert str(d) == "m.yaml:3:12: error[RG104]: state: 'flying' is not one of pending"
    assert d.to_dict()["line"] == 3
    assert d.sort_key[:3] == ("m.yaml", 3, 12)
    assert str(Location("m.yaml")) == "m.yaml"
    assert Location("a.yaml", 2, 1) < Location("a.yaml", 10, 1)
