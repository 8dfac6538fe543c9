"""`reportgen schema`: a draft 2020-12 JSON Schema that accepts the samples and agrees with the validator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from reportgen.cli import cli
from reportgen.diagnostics import Reporter, Severity
from reportgen.load import load_bytes
from reportgen.validate import build_organisation

jsonschema = pytest.importorskip(
    "jsonschema", reason="jsonschema is a test dependency: pip install -e .[test]"
)

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "sample_manifests"
SAMPLE_FILES = sorted(p for p in SAMPLES.rglob("*") if p.suffix in (".yaml", ".yml"))


class _EditorLoader(yaml.SafeLoader):
    """Read YAML as an editor's language server does for the schema: timestamps stay strings."""


_EditorLoader.add_constructor(
    "tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node)
)


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["schema"])
    assert result.exit_code == 0
    loaded: dict[str, Any] = json.loads(result.stdout)
    return loaded


@pytest.fixture(scope="module")
def validator(schema: dict[str, Any]) -> Any:
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def schema_errors(validator: Any, document: Any) -> list[str]:
    return [e.message for e in validator.iter_errors(document)]


def reportgen_errors(document: Any) -> list[str]:
    reporter = Reporter()
    build_organisation(load_bytes(json.dumps(document).encode(), "doc.yaml", reporter), reporter)
    return [d.code for d in reporter.diagnostics if d.severity is Severity.ERROR]


def test_schema_is_a_valid_draft_2020_12_schema(schema: dict[str, Any]) -> None:
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    assert set(schema["$defs"]) == {"registry", "collection", "artifact", "run", "action"}
    assert schema["$defs"]["action"]["required"] == ["at", "user", "action", "collection"]


def test_there_are_sample_manifests() -> None:
    assert len(SAMPLE_FILES) >= 5
    assert {p.parent.name for p in SAMPLE_FILES} >= {"zoo"}


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda p: p.relative_to(SAMPLES).as_posix())
def test_every_sample_manifest_validates_against_the_schema(validator: Any, path: Path) -> None:
    documents = [d for d in yaml.load_all(path.read_text(encoding="utf-8"), Loader=_EditorLoader) if d]
    assert documents
    for document in documents:
        assert schema_errors(validator, document) == []


MINIMAL_ACTION = {"at": "2026-03-02T10:00:00Z", "user": "ann", "action": "link", "collection": "model/clf"}

# Documents both the schema and `reportgen validate` must reject.
INVALID: dict[str, Any] = {
    "unknown top-level key": {"run": [{"id": "a"}]},
    "unknown key in a run": {"runs": [{"id": "a", "input": ["x:v0"]}]},
    "missing required field": {"artifacts": [{"name": "a", "version": "v0"}]},
    "alias that looks like a version": {
        "artifacts": [{"name": "a", "version": "v0", "type": "t", "aliases": ["v3"]}]
    },
    "alias with a space": {
        "artifacts": [{"name": "a", "version": "v0", "type": "t", "aliases": ["my alias"]}]
    },
    "alias action with a bad alias": {
        "actions": [{**MINIMAL_ACTION, "action": "add_alias", "alias": "-prod"}]
    },
    "timestamp without zone": {"runs": [{"id": "a", "created_at": "2026-03-02T10:00:00"}]},
    "date without time or zone": {"actions": [{**MINIMAL_ACTION, "at": "2026-03-02"}]},
    "ref without version": {"runs": [{"id": "a", "inputs": ["zoo-model"]}]},
    "ref with a bare number": {"runs": [{"id": "a", "outputs": ["zoo-model:3"]}]},
    "action ref with a leading zero": {"actions": [{**MINIMAL_ACTION, "artifact": "m:v01"}]},
    "ftp url": {"runs": [{"id": "a", "url": "ftp://example.org/run"}]},
    "javascript url": {
        "artifacts": [{"name": "a", "version": "v0", "type": "t", "url": "javascript:alert(1)"}]
    },
    "bad version": {"artifacts": [{"name": "a", "version": "3", "type": "t"}]},
    "negative size": {"artifacts": [{"name": "a", "version": "v0", "type": "t", "size": -1}]},
    "zero ttl": {"artifacts": [{"name": "a", "version": "v0", "type": "t", "ttl_days": 0}]},
    "bad run state": {"runs": [{"id": "a", "state": "done"}]},
    "bad action kind": {"actions": [{**MINIMAL_ACTION, "action": "promote"}]},
    "collection path with two slashes": {"actions": [{**MINIMAL_ACTION, "collection": "a/b/c"}]},
    "registry name with a slash": {"registries": [{"name": "a/b"}]},
    "a run that is a string": {"runs": ["a"]},
    "a section that is a mapping": {"runs": {"id": "a"}},
}


@pytest.mark.parametrize("document", INVALID.values(), ids=INVALID.keys())
def test_invalid_documents_are_rejected_by_schema_and_validator(validator: Any, document: Any) -> None:
    assert schema_errors(validator, document) != []
    assert reportgen_errors(document) != []


VALID: dict[str, Any] = {
    "empty sections": {"runs": None, "artifacts": []},
    "timestamps with offsets": {
        "runs": [
            {"id": "a", "created_at": "2026-03-02T10:00:00+02:00", "finished_at": "2026-03-02 09:00:00.5Z"}
        ]
    },
    "integer version and ref to it": {
        "artifacts": [{"name": "a", "version": 3, "type": "t", "aliases": ["best", "1.0-rc"]}],
        "runs": [{"id": "r", "outputs": ["a:v3"], "url": "HTTPS://example.org/r?x=1#y"}],
    },
    "optional fields left empty": {"runs": [{"id": "a", "notes": None, "tags": None}]},
    "free-form mappings": {"runs": [{"id": "a", "config": {"lr": 0.1, "layers": [1, {"x": None}]}}]},
}


@pytest.mark.parametrize("document", VALID.values(), ids=VALID.keys())
def test_valid_documents_are_accepted_by_schema_and_validator(validator: Any, document: Any) -> None:
    assert schema_errors(validator, document) == []
    assert reportgen_errors(document) == []


# Edge cases where the schema and the validator once disagreed: both patterns now come from spec.py.
# `accepted` is what both must say.
DRIFT = [
    pytest.param(
        {"runs": [{"id": "r", "created_at": "20260302T100000Z"}]},
        False,
        id="timestamp-basic-format",
    ),
    pytest.param(
        {"runs": [{"id": "r", "created_at": "2026-03-02T10Z"}]},
        False,
        id="timestamp-hour-only",
    ),
    pytest.param(
        {"runs": [{"id": "r", "created_at": "2026-03-02T10:00:00+02"}]},
        False,
        id="timestamp-hour-offset",
    ),
    pytest.param(
        {"runs": [{"id": "r", "created_at": "2026-W10-1T10:00Z"}]},
        False,
        id="timestamp-week-date",
    ),
    pytest.param(
        {"artifacts": [{"name": "a", "version": "v0", "type": "t", "aliases": ["v1234567890"]}]},
        False,
        id="alias-long-version-like",
    ),
    pytest.param(
        {"runs": [{"id": "   "}]},
        False,
        id="blank-name",
    ),
    pytest.param(
        {"runs": [{"id": "a\u2028b"}]},
        False,
        id="name-with-line-separator",
    ),
    pytest.param(
        {"runs": [{"id": "r", "url": "https://example.org/\x7f"}]},
        False,
        id="url-with-del",
    ),
]


@pytest.mark.parametrize(("document", "accepted"), DRIFT)
def test_schema_and_validator_agree_on_edge_cases(validator: Any, document: Any, accepted: bool) -> None:
    assert (reportgen_errors(document) == []) is accepted
    assert (schema_errors(validator, document) == []) is accepted
