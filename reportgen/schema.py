"""The JSON Schema (draft 2020-12) of the manifest format, generated from the field table."""

from __future__ import annotations

import json
from typing import Any

from reportgen import FORMAT_VERSION
from reportgen.fields import SINGULAR
from reportgen.spec import (
    ALIAS_PATTERN,
    ENTITIES,
    NAME_PATTERN,
    REF_PATTERN,
    SEGMENT_PATTERN,
    TIMESTAMP_PATTERN,
    URL_PATTERN,
    VERSION_PATTERN,
    Field,
    Kind,
)


def _pattern(pattern: str) -> dict[str, str]:
    return {"type": "string", "pattern": f"^{pattern}$"}


_NAME = _pattern(NAME_PATTERN)
_SEGMENT = _pattern(SEGMENT_PATTERN)
_ALIAS = _pattern(ALIAS_PATTERN)
_REF = _pattern(REF_PATTERN)
_TIMESTAMP = _pattern(TIMESTAMP_PATTERN)

_KIND_SCHEMAS: dict[Kind, dict[str, Any]] = {
    Kind.TEXT: {"type": "string"},
    Kind.NAME: _NAME,
    Kind.SEGMENT: _SEGMENT,
    Kind.ALIAS: _ALIAS,
    Kind.TEXT_LIST: {"type": "array", "items": {"type": "string"}},
    Kind.ALIAS_LIST: {"type": "array", "items": _ALIAS},
    Kind.COUNT: {"type": "integer", "minimum": 0},
    Kind.POSITIVE: {"type": "integer", "minimum": 1},
    Kind.MAPPING: {"type": "object"},
    Kind.TIMESTAMP: _TIMESTAMP,
    Kind.URL: _pattern(URL_PATTERN),
    Kind.REF: _REF,
    Kind.REF_LIST: {"type": "array", "items": _REF},
    Kind.VERSION: {
        "oneOf": [
            _pattern(VERSION_PATTERN),
            {"type": "integer", "minimum": 0, "maximum": 999_999_999},
        ]
    },
    Kind.COLLECTION_PATH: _pattern(f"{SEGMENT_PATTERN}/{SEGMENT_PATTERN}"),
}


def _field_schema(spec: Field) -> dict[str, Any]:
    if spec.kind is Kind.ENUM:
        schema: dict[str, Any] = {"enum": list(spec.choices)}
    else:
        schema = dict(_KIND_SCHEMAS[spec.kind])
    schema["description"] = spec.doc
    if spec.default is not None:
        schema["default"] = spec.default
    if not spec.required:  # an empty optional field (`key:`) means "not set"
        schema = {"anyOf": [schema, {"type": "null"}], "description": spec.doc}
    return schema


def manifest_schema() -> dict[str, Any]:
    """Return the JSON Schema of one manifest document."""
    definitions = {}
    for entity, fields in ENTITIES.items():
        definitions[SINGULAR[entity]] = {
            "type": "object",
            "additionalProperties": False,
            "required": [f.name for f in fields if f.required],
            "properties": {f.name: _field_schema(f) for f in fields},
        }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"reportgen manifest (format version {FORMAT_VERSION})",
        "description": "Runs, artifact versions and registry actions for reportgen. Cross-entry rules "
        "(refs that resolve, the action replay, cycles) are checked by `reportgen validate`.",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            entity: {
                "anyOf": [
                    {"type": "array", "items": {"$ref": f"#/$defs/{SINGULAR[entity]}"}},
                    {"type": "null"},
                ]
            }
            for entity in ENTITIES
        },
        "$defs": definitions,
    }


def schema_json() -> str:
    """Return the schema as stable, indented JSON text."""
    return json.dumps(manifest_schema(), indent=2, ensure_ascii=False) + "\n"
