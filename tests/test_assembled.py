"""Files assembled from units' pieces: the same bytes as made whole, in the format the report always had."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import reportgen.site as site_module
from reportgen.assembled import (
    AUDIT_CSV,
    AUDIT_JSON,
    REPORT,
    Section,
    _jsonable,
    assemble,
    compact_json,
    layouts,
    unit_pieces,
)
from reportgen.build import BuildOptions, _site_info
from reportgen.load import load_paths
from reportgen.model import Organisation
from reportgen.site import Planner, Unit, units
from reportgen.timeline import events_csv, events_json
from reportgen.validate import validate

SAMPLES = Path(__file__).resolve().parent.parent / "sample_manifests"

_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.datetimes(),
    lambda inner: (
        st.lists(inner, max_size=3) | st.tuples(inner) | st.dictionaries(st.text(), inner, max_size=3)
    ),
    max_leaves=10,
)


@pytest.fixture(scope="module")
def org() -> Organisation:
    validation = validate(load_paths([SAMPLES]))
    assert validation.organisation is not None
    return validation.organisation


def whole(org: Organisation, path: str, paged: bool) -> tuple[bytes, dict[int, tuple[int, int]]]:
    """Assemble ``path`` from every unit's pieces, made now."""
    planner = Planner(org, _site_info(org, BuildOptions(output=Path("site"))), {})
    work = units(org)
    parts, where = assemble(
        layouts(org, planner.site, paged)[path], work, lambda i: unit_pieces(planner, work[i])[path]
    )
    return b"".join(parts), where


@given(_JSON_VALUES)
def test_compact_json_spells_out_what_json_cannot_hold(value: Any) -> None:
    # The encoder's fast path (plain data) and its fallback (NaN, infinities, dates) write the same text.
    reference = json.dumps(_jsonable(value), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert compact_json(value) == reference
    assert "\n" not in compact_json({"v": value})  # a record is one line


def test_assemble_puts_each_units_piece_where_it_says() -> None:
    work = [Unit("run", "a"), Unit("artifact", "x"), Unit("run", "b"), Unit("run", "c")]
    layout = (
        b"<",
        Section("run", b"[", b",", b"]", b"none"),
        b"|",
        Section("collection", b"[", b",", b"]", b"none"),
    )
    parts, where = assemble(layout, work, lambda i: work[i].key.encode() * (i + 1))
    text = b"".join(parts)
    assert text == b"<[a,bbb,cccc]|none"
    assert {i: text[at : at + n] for i, (at, n) in where.items()} == {0: b"a", 2: b"bbb", 3: b"cccc"}
    no_separator = (Section("run", b"", b"", b"", b""),)
    assert b"".join(assemble(no_separator, work, lambda i: b"%d;" % i)[0]) == b"0;2;3;"


def test_the_report_is_one_record_a_line_with_every_unit_s_piece(org: Organisation) -> None:
    text, where = whole(org, REPORT, paged=False)
    report = json.loads(text)
    assert list(report) == ["artifacts", "collections", "format_version", "generator", "registries", "runs"]
    lines = text.decode("utf-8").split("\n")
    assert lines[0] == "{" and lines[-2:] == ["}", ""]
    assert len(lines) == 3 + sum(2 + len(v) if isinstance(v, list) and v else 1 for v in report.values())
    work = units(org)
    kinds = {"artifact": "artifacts", "collection": "collections", "run": "runs"}
    assert sorted(where) == [i for i, u in enumerate(work) if u.kind in kinds]
    for i, (at, n) in where.items():  # each piece is its unit's record, where the file says
        record = json.loads(text[at : at + n])
        assert record in report[kinds[work[i].kind]]


def test_a_long_audit_log_s_downloads_are_the_same_bytes_as_made_whole(
    org: Organisation, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(site_module, "AUDIT_PAGE_LIMIT", 20)
    events = list(org.events())
    assert whole(org, AUDIT_JSON, paged=True)[0] == events_json(events)
    assert whole(org, AUDIT_CSV, paged=True)[0] == events_csv(events)
    monkeypatch.setattr(site_module, "AUDIT_PAGE_LIMIT", len(events))
    assert set(layouts(org, _site_info(org, BuildOptions(output=Path("s"))), paged=False)) == {REPORT}
