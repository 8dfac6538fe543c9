"""The command line: `reportgen validate`, `schema` and `--version`, their output and exit codes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from reportgen import FORMAT_VERSION, __version__
from reportgen.cli import cli

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "sample_manifests"

CLEAN = """\
artifacts: [{name: d, version: v0, type: dataset}]
runs: [{id: r1, outputs: ["d:v0"]}]
"""
# Two errors: an undeclared ref (line 2) and an unknown key (line 3).
ERRORS = """\
artifacts: [{name: d, version: v0, type: dataset}]
runs: [{id: r1, inputs: ["d:v9"]}]
extra: []
"""
# Only a warning: a protected alias moved without a reason.
WARNINGS = """\
registries: [{name: model, protected_aliases: [production]}]
collections: [{registry: model, name: clf, type: model}]
artifacts: [{name: m, version: v0, type: model}]
actions:
  - {at: "2026-01-01T00:00:00Z", user: a, action: link, collection: model/clf, artifact: "m:v0"}
  - {at: "2026-01-02T00:00:00Z", user: a, action: add_alias, collection: model/clf, version: v0,
     alias: production}
"""


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with clean.yaml, errors.yaml and warnings.yaml."""
    monkeypatch.chdir(tmp_path)
    for name, text in (("clean", CLEAN), ("errors", ERRORS), ("warnings", WARNINGS)):
        (tmp_path / f"{name}.yaml").write_text(text, encoding="utf-8")
    return tmp_path


# ------------------------------------------------------------------------------ exit codes


def test_sample_manifests_validate_clean() -> None:
    result = run("validate", SAMPLES)
    assert result.exit_code == 0, result.output
    count = sum(1 for p in SAMPLES.rglob("*") if p.suffix in (".yaml", ".yml"))
    assert result.stdout == f"{count} files checked: no problems\n"


def test_errors_exit_1_with_compiler_style_lines(files: Path) -> None:
    result = run("validate", "errors.yaml")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("errors.yaml:2:26: error[RG205]: inputs: d:v9 is not a declared artifact")
    assert lines[1].startswith("errors.yaml:3:1: error[RG101]: unknown top-level key 'extra'")
    assert lines[2] == "1 file checked: 2 errors, 0 warnings"
    assert len(lines) == 3


def test_warnings_only_exit_0_but_1_with_strict(files: Path) -> None:
    result = run("validate", "warnings.yaml")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "warnings.yaml:6:5: warning[RG313]: "
        "protected alias 'production' of model/clf changed without a reason",
        "1 file checked: 0 errors, 1 warning",
    ]
    strict = run("validate", "--strict", "warnings.yaml")
    assert strict.exit_code == 1
    assert strict.stdout == result.stdout
    assert run("validate", "--strict", "clean.yaml").exit_code == 0


def test_several_paths_are_checked_together_sorted_by_file(files: Path) -> None:
    (files / "other.yaml").write_text("runs: [{id: lonely, state: flying}]\n", encoding="utf-8")
    result = run("validate", "warnings.yaml", "other.yaml", "errors.yaml")
    assert result.exit_code == 1
    shown = [line.split(":")[0] for line in result.stdout.splitlines()[:-1]]
    assert shown == ["errors.yaml", "errors.yaml", "other.yaml", "warnings.yaml"]
    assert result.stdout.splitlines()[-1] == "3 files checked: 3 errors, 1 warning"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["validate"], "Missing argument 'PATHS...'"),
        (["validate", "does-not-exist.yaml"], "does not exist"),
        (["validate", "--format", "xml", "clean.yaml"], "'xml' is not one of"),
        (["validate", "--no-such-option", "clean.yaml"], "No such option"),
        (["no-such-command"], "No such command"),
    ],
)
def test_usage_errors_exit_2(files: Path, args: list[str], message: str) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_a_directory_without_manifests_is_a_problem_not_usage(files: Path) -> None:
    (files / "empty").mkdir()
    result = run("validate", "empty")
    assert result.exit_code == 1
    assert "error[RG010]" in result.stdout


# ------------------------------------------------------------------------------ formats


def test_format_json(files: Path) -> None:
    result = run("validate", "--format", "json", "errors.yaml", "warnings.yaml")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert (doc["files"], doc["errors"], doc["warnings"]) == (2, 2, 1)
    assert [(d["file"], d["line"], d["code"], d["severity"]) for d in doc["diagnostics"]] == [
        ("errors.yaml", 2, "RG205", "error"),
        ("errors.yaml", 3, "RG101", "error"),
        ("warnings.yaml", 6, "RG313", "warning"),
    ]
    clean = run("validate", "--format", "json", "clean.yaml")
    assert clean.exit_code == 0
    assert json.loads(clean.stdout)["diagnostics"] == []


def test_format_github(files: Path) -> None:
    result = run("validate", "--format", "github", "errors.yaml")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("::error file=errors.yaml,line=2,col=26,title=RG205::inputs: d:v9 ")
    assert lines[1].startswith("::error file=errors.yaml,line=3,col=1,title=RG101::")
    assert len(lines) == 2
    # the summary goes to stderr so stdout holds annotations only
    assert result.stderr == "1 file checked: 2 errors, 0 warnings\n"
    warn = run("validate", "--format=github", "--strict", "warnings.yaml")
    assert warn.exit_code == 1
    assert warn.stdout.startswith("::warning file=warnings.yaml,line=6,col=5,title=RG313::")


def test_quiet_prints_only_problems(files: Path) -> None:
    clean = run("-q", "validate", "clean.yaml")
    assert (clean.exit_code, clean.output) == (0, "")
    errors = run("--quiet", "validate", "errors.yaml")
    assert errors.exit_code == 1
    assert errors.stdout == run("validate", "errors.yaml").stdout


# ------------------------------------------------------------------------------ other commands


def test_version_prints_the_package_and_format_version() -> None:
    result = run("--version")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == f"reportgen {__version__} (manifest format {FORMAT_VERSION})"
    # then the Graphviz of each renderer: the embedded one always, the system one when `dot` is found
    assert re.fullmatch(r"renderer embedded: Graphviz \d+\.\d+\.\d+", lines[1])
    assert lines[2].startswith(("renderer system: Graphviz ", "renderer system: unavailable ("))


def test_schema_prints_json_that_parses() -> None:
    result = run("schema")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert set(schema["properties"]) == {"registries", "collections", "artifacts", "runs", "actions"}
    assert schema["additionalProperties"] is False


def test_help_lists_the_commands() -> None:
    result = run("--help")
    assert result.exit_code == 0
    for command in ("validate", "schema", "build", "graph"):
        assert command in result.stdout


def test_python_dash_m_reportgen_in_a_real_process(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    ok = subprocess.run(
        [sys.executable, "-m", "reportgen", "validate", str(SAMPLES)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.endswith("checked: no problems\n")
    assert ok.stderr == ""
    (tmp_path / "bad.yaml").write_text(ERRORS, encoding="utf-8")
    bad = subprocess.run(
        [sys.executable, "-m", "reportgen", "validate", "bad.yaml"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
    )
    assert bad.returncode == 1
    assert bad.stdout.splitlines()[0].startswith("bad.yaml:2:26: error[RG205]")
    assert "Traceback" not in bad.stderr
    usage = subprocess.run(
        [sys.executable, "-m", "reportgen", "validate"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
    )
    assert usage.returncode == 2
    assert "Usage:" in usage.stderr


def test_one_file_named_twice_is_checked_once(files: Path) -> None:
    result = run("validate", files / "clean.yaml", "clean.yaml")
    assert result.stdout == "1 file checked: no problems\n"
    assert result.exit_code == 0


@pytest.mark.parametrize(
    "template, line, message",
    [
        (
            "{% extends 'base.html' %}{% block content %}{{ page.title {% endblock %}",
            1,
            "expected token 'end of print statement', got '{'",
        ),
        (
            "{% extends 'base.html' %}\n{% block content %}\n{{ page.nope }}\n{% endblock %}",
            3,
            "'reportgen.views.DetailPage object' has no attribute 'nope'",
        ),
    ],
    ids=["does not compile", "fails on a page"],
)
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_broken_template_exits_1_with_its_file_and_line_not_a_traceback(
    tmp_path: Path, template: str, line: int, message: str, jobs: str
) -> None:
    mine = tmp_path / "templates"
    mine.mkdir()
    (mine / "detail.html").write_text(template, encoding="utf-8")
    result = run("-q", "build", SAMPLES, "-o", tmp_path / "site", "--templates", mine, "--jobs", jobs)
    assert result.exit_code == 1
    assert result.stderr == f"error: template {mine / 'detail.html'}:{line}: {message}\n"
    assert not (tmp_path / "site").exists()
