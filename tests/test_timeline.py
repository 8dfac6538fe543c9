"""Action History views and downloads (reportgen.timeline): newest first, every event, CSV made safe."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from factories import org_from_yaml

from reportgen.load import load_paths
from reportgen.model import EventKind, Organisation
from reportgen.spec import format_utc
from reportgen.timeline import (
    CSV_FIELDS,
    event_record,
    event_view,
    events_csv,
    events_json,
    newest_first,
    time_text,
    timeline,
)
from reportgen.validate import validate

REPO = Path(__file__).resolve().parent.parent
FORMULA = ("=", "+", "-", "@", "\t", "\r")

# Names, users and reasons that a spreadsheet would run as formulas.
HOSTILE = """
registries:
  - name: "=reg"
    protected_aliases: [prod]
collections:
  - registry: "=reg"
    name: "+coll"
    type: model
artifacts:
  - {name: "@model", version: v0, type: model}
  - {name: "-model", version: v0, type: model}
actions:
  - {at: "2026-03-01T10:00:00Z", user: "=cmd|' /C calc'!A0", action: link, collection: "=reg/+coll",
     artifact: "@model:v0", reason: "+1"}
  - {at: "2026-03-01T11:00:00Z", user: "-1", action: add_alias, collection: "=reg/+coll", version: v0,
     alias: prod, reason: "@SUM(A1)"}
  - {at: "2026-03-02T09:00:00Z", user: "@x", action: link, collection: "=reg/+coll", artifact: "-model:v0",
     reason: "\\tcmd"}
  - {at: "2026-03-03T09:00:00Z", user: "ok-user", action: add_alias, collection: "=reg/+coll", version: v1,
     alias: prod, reason: "=HYPERLINK(\\"http://evil.example\\")"}
  - {at: "2026-03-04T09:00:00Z", user: "ok-user", action: unlink, collection: "=reg/+coll", version: v0,
     reason: "\\rx, then \\"quoted\\", then a comma"}
"""

ZOO_CLASSIFIER_CSV = (
    "at,collection,action,version,artifact,alias,previous_version,user,reason,automatic\r\n"
    "2026-02-20T09:01:30Z,model/zoo-classifier,alias_removed,v0,zoo-ylbchv20:v0,staging,,priya-natarajan,"
    "Promoted to production; staging is free for the next candidate.,false\r\n"
    "2026-02-20T09:00:00Z,model/zoo-classifier,alias_added,v0,zoo-ylbchv20:v0,production,,priya-natarajan,"
    "Approved in model review MR-7 (sign-off by the zoo team lead).,false\r\n"
    "2026-02-19T10:30:00Z,model/zoo-classifier,alias_added,v0,zoo-ylbchv20:v0,staging,,ana-souza,"
    "Evaluation northern-lake-21: test accuracy 1.0 on split_zoo_dataset:v4.,false\r\n"
    "2026-02-18T14:05:12Z,model/zoo-classifier,alias_added,v0,zoo-ylbchv20:v0,latest,,mira-chen,,true\r\n"
    "2026-02-18T14:05:12Z,model/zoo-classifier,linked,v0,zoo-ylbchv20:v0,,,mira-chen,,false\r\n"
)


@pytest.fixture(scope="module")
def hostile() -> Organisation:
    return org_from_yaml(HOSTILE)


@pytest.fixture(scope="module")
def samples() -> Organisation:
    validation = validate(load_paths([REPO / "sample_manifests"]))
    assert validation.organisation is not None
    return validation.organisation


def csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def test_csv_defuses_formula_cells(hostile: Organisation) -> None:
    (history,) = hostile.collections.values()
    rows = csv_rows(events_csv(history.events))
    records = json.loads(events_json(history.events))
    assert rows[0] == list(CSV_FIELDS)
    assert len(rows) - 1 == len(records) == len(history.events) == 7
    defused = 0
    for row, record in zip(rows[1:], records, strict=True):
        for name, cell in zip(CSV_FIELDS, row, strict=True):
            raw = record[name]
            text = "" if raw is None else ("true" if raw is True else "false" if raw is False else str(raw))
            if text.startswith(FORMULA):
                assert cell == "'" + text, (name, cell)
                defused += 1
            else:
                assert cell == text, (name, cell)
            assert not cell.startswith(FORMULA), (name, cell)
    assert defused > 20
    # the very values of the brief
    cells = {c for row in rows[1:] for c in row}
    assert {"'=cmd|' /C calc'!A0", "'+1", "'-1", "'@x", "'@SUM(A1)", "'=reg/+coll", "'\tcmd"} <= cells
    assert '\'=HYPERLINK("http://evil.example")' in cells


def test_json_keeps_the_raw_values(hostile: Organisation) -> None:
    (history,) = hostile.collections.values()
    records = json.loads(events_json(history.events))
    assert records == [event_record(e) for e in newest_first(history.events)]
    users = {r["user"] for r in records}
    assert users == {"=cmd|' /C calc'!A0", "-1", "@x", "ok-user"}
    assert {r["collection"] for r in records} == {"=reg/+coll"}


def test_json_is_written_as_json_dumps_writes_each_record(
    hostile: Organisation, samples: Organisation
) -> None:
    """The downloads' bytes: each record as ``json.dumps`` writes it (unescaped non-ASCII), one a line."""
    for org in (hostile, samples):
        events = newest_first(list(org.events()))
        lines = [json.dumps(event_record(e), ensure_ascii=False) for e in events]
        assert events_json(events).decode("utf-8") == "[\n" + ",\n".join(lines) + "\n]\n"


@pytest.mark.parametrize("which", ["model/zoo-classifier", "dataset/zoo-splits", "all"])
def test_downloads_hold_every_event_newest_first(samples: Organisation, which: str) -> None:
    events = list(samples.events()) if which == "all" else list(samples.collections[which].events)
    assert events
    rows = csv_rows(events_csv(events))[1:]
    records = json.loads(events_json(events))
    assert len(rows) == len(records) == len(events)
    # every event once, as a record
    expected = Counter(json.dumps(event_record(e), sort_keys=True) for e in events)
    assert Counter(json.dumps(r, sort_keys=True) for r in records) == expected
    # newest first, and the CSV in the same order as the JSON
    times = [r["at"] for r in records]
    assert times == sorted(times, reverse=True)
    assert [r[0] for r in rows] == times
    assert [r[2] for r in rows] == [r["action"] for r in records]


def test_zoo_classifier_csv_is_exactly_as_expected(samples: Organisation) -> None:
    data = events_csv(samples.collections["model/zoo-classifier"].events)
    assert data.decode("utf-8") == ZOO_CLASSIFIER_CSV


def test_simultaneous_events_are_newest_first_in_reverse_replay_order(samples: Organisation) -> None:
    events = samples.collections["model/zoo-classifier"].events
    ordered = newest_first(events)
    link_time = datetime(2026, 2, 18, 14, 5, 12, tzinfo=UTC)
    same = [e for e in ordered if e.at == link_time]
    assert [e.kind for e in same] == [EventKind.ALIAS_ADDED, EventKind.LINKED]  # `latest` follows the link
    assert same[0].automatic and same[0].alias == "latest"


def test_timeline_groups_by_day_newest_first(samples: Organisation) -> None:
    history = samples.collections["dataset/zoo-splits"]
    t = timeline(samples, history.events, "x.history.csv", "x.history.json")
    assert t.count == len(history.events) == 11
    assert (t.csv, t.json) == ("x.history.csv", "x.history.json")
    days = [d.day for d in t.days]
    assert days == sorted(set(days), reverse=True)
    flat = [e for d in t.days for e in d.events]
    assert len(flat) == t.count
    assert all(e.day == d.day for d in t.days for e in d.events)
    assert [e.at for e in flat] == sorted((e.at for e in flat), reverse=True)
    assert Counter((e.kind, e.user, e.at) for e in flat) == Counter(
        (e.kind.value, e.user, format_utc(e.at)) for e in history.events
    )
    order = list(EventKind)
    present = {e.kind.value for e in history.events}
    assert [k for k, _ in t.kinds] == sorted(present, key=lambda k: order.index(EventKind(k)))
    assert dict(t.kinds)["alias_moved"] == EventKind.ALIAS_MOVED.label
    assert t.users == ("ana-souza", "mira-chen", "tomas-berg")


def test_event_view_marks_protected_aliases_and_links_pages(samples: Organisation) -> None:
    history = samples.collections["dataset/zoo-splits"]
    golden = next(e for e in history.events if e.alias == "golden")
    view = event_view(samples, golden)
    assert view.alias is not None and view.alias.locked
    assert view.kind == "alias_added" and view.user == "ana-souza"
    assert view.reason.startswith("Reproduced bit-for-bit")
    assert view.collection.href == "collections/dataset/zoo-splits.html"
    assert view.version.href == "collections/dataset/zoo-splits/v2.html"
    assert view.artifact.href == "artifacts/split_zoo_dataset/v4.html"
    assert view.at == "2026-02-18T10:00:00Z" and view.at_text == "2026-02-18 10:00 UTC"
    candidate = next(e for e in history.events if e.alias == "candidate" and e.previous_version is not None)
    moved = event_view(samples, candidate)
    assert moved.alias is not None and not moved.alias.locked
    assert moved.previous_version is not None and moved.previous_version.text == "v0"


def test_time_text() -> None:
    assert time_text(datetime(2026, 3, 2, 10, 0, 59, tzinfo=UTC)) == "2026-03-02 10:00 UTC"
