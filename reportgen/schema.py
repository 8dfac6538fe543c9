"""The JSON Schema (draft 2020-12) of the manifest format, generated from the field table."""

from __future__ import annotations

import json
from typing import Any

from reportgen import FORMAT_VERSION
from reportgen.fields import SINGULAR
from reportgen.spec import ENTITIES, Field, Kind

_NAME = {"type": "string", "minLength": 1, "maxLength": 512, "pattern": "^[^\\x00-\\x1f\\x7f]+$"}
_SEGMENT = {
    "type": "string",
    "minLength": 1,
    "maxLength": 512,
    "pattern": "^[^/\\x00-\\x1f\\x7f]+$",
}
_ALIAS = {
    "type": "string",
    "pattern": "^(?!v(0|[1-9][0-9]*)$)[A-Za-z0-9][A-Za-z0-9._-]{0,127}$",
}
_VERSION_TEXT = "v(0|[1-9][0-9]{0,8})"
_REF = {"type": "string", "pattern": f"^[^\\x00-\\x1f\\x7f]+:{_VERSION_TEXT}$"}
# An ISO 8601 date-time that ends in a timezone (Z or an offset).
_TIMESTAMP = {
    "type": "string",
    "pattern": "^\\d{4}-\\d{2}-\\d{2}[T ]\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?(Z|[+-]\\d{2}:?\\d{2})$",
}

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
    Kind.URL: {"type": "string", "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://[^\\s/?#]+\\S*$"},
    Kind.REF: _REF,
    Kind.REF_LIST: {"type": "array", "items": _REF},
    Kind.VERSION: {
        "oneOf": [
            {"type": "string", "pattern": f"^{_VERSION_TEXT}$"},
            {"type": "integer", "minimum": 0, "maximum": 999_999_999},
        ]
    },
    Kind.COLLECTION_PATH: {
        "type": "string",
        "pattern": "^[^/\\x00-\\x1f\\x7f]+/[^/\\x00-\\x1f\\x7f]+$",
    },
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
