"""Keep the user documentation honest: the docs must say what the code does.

- docs/manifest-format.md documents every field of every entity of ``spec.ENTITIES`` (and no other), with
  its type, whether it is required, its choices and its default. The field table of an entity is the table
  whose header starts with ``field`` under the heading ``### <entity>``.
- docs/diagnostics.md lists every rule of ``diagnostics.RULES`` (and no other) in its index table with the
  code's severity and summary, and has a ``#### <code>`` section that starts with the severity in bold.
- In docs/diagnostics.md, a ```yaml block directly followed by a ```text block inside a rule's section is an
  example: the YAML, saved as ``example.yaml``, makes ``reportgen validate example.yaml`` print exactly the
  text block (without the summary line).
- docs/manifest.schema.json is the output of ``reportgen schema``, and a valid draft 2020-12 schema.
- Every ```yaml block of docs/manifest-format.md is a whole YAML document that passes the JSON Schema and has
  no loading (RG0xx) or shape (RG1xx) problems. A block whose first line is ``# complete manifest`` is a whole
  manifest: it must validate with no diagnostic at all. Other blocks are excerpts whose refs may point at
  entries declared elsewhere.
- The timeline table of the worked example is what the replay of its manifest gives.

When the format or a message changes, update the docs; regenerate the schema file with
``reportgen schema > docs/manifest.schema.json``.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest
import yaml

from reportgen.diagnostics import RULES, format_text
from reportgen.load import load_paths
from reportgen.model import ArtifactRef
from reportgen.schema import schema_json
from reportgen.spec import ENTITIES, Kind, format_utc
from reportgen.validate import Validation, validate

DOCS = Path(__file__).resolve().parent.parent / "docs"
MANIFEST_FORMAT = DOCS / "manifest-format.md"
DIAGNOSTICS = DOCS / "diagnostics.md"
SCHEMA_FILE = DOCS / "manifest.schema.json"
COMPLETE_MARKER = "# complete manifest"

# How the "type" column of the field tables names each kind of field.
TYPE_LABELS = {
    Kind.TEXT: "text",
    Kind.NAME: "name",
    Kind.SEGMENT: "segment",
    Kind.ALIAS: "alias",
    Kind.TEXT_LIST: "list of text",
    Kind.ALIAS_LIST: "list of aliases",
    Kind.COUNT: "integer ≥ 0",
    Kind.POSITIVE: "integer ≥ 1",
    Kind.MAPPING: "mapping",
    Kind.TIMESTAMP: "timestamp",
    Kind.URL: "URL",
    Kind.REF: "ref",
    Kind.REF_LIST: "list of refs",
    Kind.VERSION: "version",
    Kind.ENUM: "enum",
    Kind.COLLECTION_PATH: "collection path",
}


# -- reading Markdown --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """A fenced code block: its info string, its text and the line its fence opens on."""

    info: str
    text: str
    line: int


@dataclass(frozen=True)
class Section:
    """The lines under one heading, up to the next heading of the same or a higher level."""

    level: int
    title: str
    line: int
    lines: tuple[str, ...]

    @property
    def body(self) -> str:
        return "".join(f"{line}\n" for line in self.lines)


def _read(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def sections(lines: list[str]) -> list[Section]:
    """Return every heading's section (nested sections overlap), ignoring `#` lines inside code blocks."""
    headings: list[tuple[int, int, str]] = []
    in_code = False
    for index, line in enumerate(lines):
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and (m := re.match(r"(#{1,6}) (.+)", line)):
            headings.append((index, len(m.group(1)), m.group(2).strip()))
    result = []
    for i, (start, level, title) in enumerate(headings):
        end = next((s for s, lv, _ in headings[i + 1 :] if lv <= level), len(lines))
        result.append(Section(level, title, start + 1, tuple(lines[start + 1 : end])))
    return result


def section(lines: list[str], level: int, title: str) -> Section:
    found = [s for s in sections(lines) if s.level == level and s.title == title]
    assert len(found) == 1, f"expected one heading {'#' * level} {title}, found {len(found)}"
    return found[0]


def code_blocks(lines: tuple[str, ...] | list[str], first_line: int = 1) -> list[Block]:
    blocks = []
    opened: tuple[str, int] | None = None
    body: list[str] = []
    for index, line in enumerate(lines):
        if opened is None and line.startswith("```"):
            opened, body = (line[3:].strip(), first_line + index), []
        elif opened is not None and line.startswith("```"):
            blocks.append(Block(opened[0], "".join(f"{b}\n" for b in body), opened[1]))
            opened = None
        elif opened is not None:
            body.append(line)
    assert opened is None, f"unclosed code block at line {opened[1]}"
    return blocks


def tables(lines: tuple[str, ...]) -> list[list[list[str]]]:
    """Return the Markdown tables outside code blocks: rows of cells, header first, separator dropped."""
    result: list[list[list[str]]] = []
    current: list[list[str]] = []
    in_code = False
    for line in [*lines, ""]:
        if line.startswith("```"):
            in_code = not in_code
        if not in_code and line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not all(re.fullmatch(r":?-+:?", c) for c in cells):
                current.append(cells)
        elif current:
            result.append(current)
            current = []
    return result


def plain(cell: str) -> str:
    """Return a table cell without Markdown links and backticks."""
    return re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", cell).replace("`", "")


# -- running the validator ----------------------------------------------------------------------------


def validate_text(text: str, directory: Path, monkeypatch: pytest.MonkeyPatch) -> Validation:
    """Validate ``text`` saved as ``example.yaml`` in ``directory``, with paths shown relative to it."""
    (directory / "example.yaml").write_text(text, encoding="utf-8")
    monkeypatch.chdir(directory)
    return validate(load_paths([Path("example.yaml")]))


class _TextTimestamps(yaml.SafeLoader):
    """A safe loader that keeps timestamps as text, as editors' YAML language servers do."""


_TextTimestamps.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


# -- manifest-format.md ------------------------------------------------------------------------------


def field_table(entity: str) -> dict[str, list[str]]:
    """Return the rows of an entity's field table, by field name."""
    entity_section = section(_read(MANIFEST_FORMAT), 3, entity)
    found = [t for t in tables(entity_section.lines) if t[0][:3] == ["field", "type", "required"]]
    assert len(found) == 1, f"expected one field table under ### {entity}, found {len(found)}"
    rows = {}
    for row in found[0][1:]:
        name = plain(row[0])
        assert name not in rows, f"{entity}: field {name!r} is documented twice"
        rows[name] = row
    return rows


@pytest.mark.parametrize("entity", list(ENTITIES))
def test_every_field_is_documented(entity: str) -> None:
    rows = field_table(entity)
    fields = {f.name: f for f in ENTITIES[entity]}
    assert sorted(rows) == sorted(fields), f"fields of {entity} in docs/manifest-format.md"
    for name, spec in fields.items():
        _, type_cell, required_cell, meaning = (plain(c) for c in rows[name][:4])
        assert required_cell == ("yes" if spec.required else "no"), f"{entity}.{name}: required column"
        assert type_cell.split(":")[0] == TYPE_LABELS[spec.kind], f"{entity}.{name}: type column"
        for choice in spec.choices:
            assert choice in type_cell, f"{entity}.{name}: choice {choice!r} not documented"
        if spec.default is not None:
            assert f"default {spec.default}" in meaning, f"{entity}.{name}: default not documented"


def manifest_examples() -> list[Block]:
    blocks = [b for b in code_blocks(_read(MANIFEST_FORMAT)) if b.info == "yaml"]
    assert blocks, "docs/manifest-format.md has no ```yaml examples"
    return blocks


@pytest.mark.parametrize("block", manifest_examples(), ids=lambda b: f"line{b.line}")
def test_manifest_example(block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = validate_text(block.text, tmp_path, monkeypatch)
    if block.text.startswith(COMPLETE_MARKER + "\n"):
        assert format_text(result.diagnostics) == "", "a complete example must validate cleanly"
    else:
        shape = [d for d in result.diagnostics if d.code[:3] in ("RG0", "RG1")]
        assert format_text(shape) == "", "an excerpt must load and have the right shape"
    document = yaml.load(block.text, Loader=_TextTimestamps)  # a safe loader
    jsonschema.validate(document, json.loads(schema_json()), cls=jsonschema.Draft202012Validator)


def test_some_manifest_examples_are_complete() -> None:
    complete = [b for b in manifest_examples() if b.text.startswith(COMPLETE_MARKER + "\n")]
    assert len(complete) >= 3


def test_worked_example_timeline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    worked = section(_read(MANIFEST_FORMAT), 3, "Worked example")
    manifest = next(b for b in code_blocks(worked.lines) if b.info == "yaml")
    result = validate_text(manifest.text, tmp_path, monkeypatch)
    assert result.ok
    (history,) = result.organisation.collections.values()
    timeline = next(t for t in tables(worked.lines) if t[0][0] == "#")
    header, *rows = timeline
    assert header == ["#", "at (UTC)", "user", "event", "version", "alias", "from", "how"]
    replayed = [
        [
            str(e.seq),
            format_utc(e.at),
            e.user,
            e.kind.label,
            e.version_label,
            e.alias or "",
            "" if e.previous_version is None else f"v{e.previous_version}",
            f"automatic ({e.cause})" if e.automatic else "written",
        ]
        for e in history.events
    ]
    assert [[plain(c) for c in row] for row in rows] == replayed

    # "Which version held `production` on 2026-03-01?"
    for moment in (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 1, 23, 59, 59, tzinfo=UTC)):
        holder = history.holder_of("production", moment)
        assert holder is not None
        assert (holder.version, holder.artifact) == (1, ArtifactRef("zoo-ylbchv20", 2))
    assert "**collection version v1**" in worked.body
    assert "**`zoo-ylbchv20:v2`**" in worked.body


# -- diagnostics.md ----------------------------------------------------------------------------------


def test_every_rule_is_in_the_index() -> None:
    index = next(t for t in tables(tuple(_read(DIAGNOSTICS))) if t[0] == ["code", "severity", "summary"])
    documented = {plain(code): (severity, plain(summary)) for code, severity, summary in index[1:]}
    expected = {code: (rule.severity.value, rule.summary.replace("`", "")) for code, rule in RULES.items()}
    assert documented == expected


@pytest.mark.parametrize("code", list(RULES))
def test_every_rule_has_a_section(code: str) -> None:
    rule_section = section(_read(DIAGNOSTICS), 4, code)
    first = next(line for line in rule_section.lines if line.strip())
    assert first.startswith(f"**{RULES[code].severity.value}**: "), f"{code}: severity"
    for block in code_blocks(rule_section.lines):
        if block.info != "text":
            continue
        for line in block.text.splitlines():
            m = re.search(r": (error|warning)\[(RG\d{3})\]: ", line)
            assert m, f"{code}: not a diagnostic line: {line!r}"
            assert (m.group(2), m.group(1)) == (code, RULES[code].severity.value), line


def test_no_section_for_an_unknown_rule() -> None:
    codes = [s.title for s in sections(_read(DIAGNOSTICS)) if re.fullmatch(r"RG\d+", s.title)]
    assert sorted(codes) == sorted(RULES)


def diagnostic_examples() -> list[tuple[str, Block, Block]]:
    lines = _read(DIAGNOSTICS)
    pairs = []
    for rule_section in sections(lines):
        if rule_section.level != 4:
            continue
        blocks = code_blocks(rule_section.lines, rule_section.line + 1)
        for yaml_block, text_block in itertools.pairwise(blocks):
            if (yaml_block.info, text_block.info) == ("yaml", "text"):
                pairs.append((rule_section.title, yaml_block, text_block))
    return pairs


def test_most_rules_have_an_example() -> None:
    with_example = {code for code, _, _ in diagnostic_examples()}
    # Unreadable files, bad UTF-8 and an empty search cannot be shown as a YAML file.
    assert set(RULES) - with_example == {"RG001", "RG002", "RG010"}


@pytest.mark.parametrize(
    ("code", "source", "output"),
    diagnostic_examples(),
    ids=lambda x: x if isinstance(x, str) else f"line{x.line}",
)
def test_diagnostic_example(
    code: str, source: Block, output: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = validate_text(source.text, tmp_path, monkeypatch)
    assert format_text(result.diagnostics) == output.text


# -- manifest.schema.json ----------------------------------------------------------------------------


def test_schema_file_is_current() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_json(), (
        "docs/manifest.schema.json is stale: run `reportgen schema > docs/manifest.schema.json`"
    )


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
