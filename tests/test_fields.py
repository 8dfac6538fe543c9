"""Checked entries crossing from a parsing worker to the build process: their places kept as numbers."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pytest
from factories import dump
from hypothesis import given
from hypothesis import strategies as st
from test_parsed import TRICKY
from test_properties import corrupted, manifest_sets

from reportgen.diagnostics import Location, Reporter
from reportgen.fields import CheckedFile, Entry, check_file, decode_entries, encode_entries, reduce_entry
from reportgen.load import load_bytes
from reportgen.validate import check_where_parsed

DATA = Path(__file__).resolve().parent / "data"
SAMPLES = Path(__file__).resolve().parent.parent / "sample_manifests"
MANIFESTS = sorted(SAMPLES.rglob("*.yaml")) + sorted((DATA / "invalid").glob("*.yaml"))


def sent(checked: CheckedFile) -> CheckedFile:
    """Return ``checked`` as the build process takes it from a parsing worker."""
    back = pickle.loads(check_where_parsed.dumps(checked))
    assert isinstance(back, CheckedFile)
    return back


def places_kept(entry: Entry) -> bool:
    """Return whether an entry's places are kept as numbers (not a ``Location`` each)."""
    return not isinstance(entry.locs, dict)


def checked_text(text: str, name: str = "m.yaml") -> CheckedFile:
    return check_file(load_bytes(text.encode("utf-8"), name, Reporter()))


def same(back: CheckedFile, checked: CheckedFile) -> None:
    """Assert that every entry came back with its values, places, list items' places and problems."""
    assert (back.items, back.first, back.diagnostics) == (checked.items, checked.first, checked.diagnostics)
    assert back.entries.keys() == checked.entries.keys()
    for entity, found in checked.entries.items():
        for was, now in zip(found, back.entries[entity], strict=True):
            assert (now.entity, now.loc, now.order) == (was.entity, was.loc, was.order)
            assert now.invalid == was.invalid
            assert repr(now.values) == repr(was.values)  # a NaN is never equal to itself
            assert dict(now.locs) == dict(was.locs) and dict(now.item_locs) == dict(was.item_locs)
            assert [now.where(name) for name in ("id", "name", "at", "nowhere")] == [
                was.where(name) for name in ("id", "name", "at", "nowhere")
            ]


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_entries_a_worker_sends_come_back_as_checked(path: Path) -> None:
    checked = check_file(load_bytes(path.read_bytes(), path.name, Reporter()))
    back = sent(checked)
    same(back, checked)
    every = [e for found in back.entries.values() for e in found]
    assert all(places_kept(e) for e in every)


def test_places_of_every_kind_of_field_come_back() -> None:
    checked = checked_text(TRICKY)
    back = sent(checked)
    same(back, checked)
    run = back.entries["runs"][1]
    assert run.item_locs["tags"] == checked.entries["runs"][1].item_locs["tags"] != ()
    assert run.where("inputs") == Location("m.yaml", 11, 13)


def test_bad_list_items_leave_the_places_of_the_good_ones() -> None:
    checked = checked_text("runs:\n  - id: r\n    project: p\n    tags: [a, [1], b, {c: d}, e]\n")
    assert [d.code for d in checked.diagnostics] == ["RG103", "RG103"]
    back = sent(checked)
    same(back, checked)
    (run,) = back.entries["runs"]
    assert places_kept(run)
    assert run.values["tags"] == ("a", "b", "e")
    assert [loc.column for loc in run.item_locs["tags"]] == [12, 20, 31]


def test_a_restored_entry_crosses_with_its_places_as_they_were_kept() -> None:
    documents = load_bytes(TRICKY.encode("utf-8"), "m.yaml", Reporter())
    checked = check_file(documents)
    restored, _ = decode_entries("m.yaml", encode_entries(documents, checked))
    back = sent(restored)
    same(back, checked)


def entry(**changes: Any) -> Entry:
    """Return a run's entry, checked, with ``changes`` made to it."""
    (run,) = checked_text("runs:\n  - {id: r, project: p, tags: [a, b]}\n").entries["runs"]
    for name, value in changes.items():
        setattr(run, name, value)
    return run


def at(line: int, column: int, file: str = "m.yaml") -> Location:
    return Location(file, line, column)


@pytest.mark.parametrize(
    "odd",
    [
        pytest.param({"locs": {"id": at(2, 9, "other.yaml")}}, id="a place in another file"),
        pytest.param({"locs": {"id": at(2, 9), "colour": at(2, 20)}}, id="a field the table lacks"),
        pytest.param({"locs": {"project": at(2, 3), "id": at(2, 9)}}, id="out of the table's order"),
        pytest.param({"locs": {"id": at(-1, 9)}}, id="a negative line"),
        pytest.param({"locs": {"id": at(1 << 40, 9)}}, id="a line past 32 bits"),
        pytest.param({"item_locs": {"tags": (at(2, 38),)}}, id="fewer item places than items"),
        pytest.param({"item_locs": {}}, id="no item places for a list"),
        pytest.param({"values": {"id": "r", "project": "p"}, "item_locs": {"tags": ()}}, id="no list"),
        pytest.param({"item_locs": {"tags": (at(2, 38, "x"), at(2, 41, "x"))}}, id="items elsewhere"),
    ],
)
def test_places_that_numbers_cannot_keep_cross_as_they_are(odd: dict[str, Any]) -> None:
    run = entry(**odd)
    assert reduce_entry(run)[0] is Entry
    back = pickle.loads(check_where_parsed.dumps(CheckedFile({"runs": [run]}, 1, [])))
    (now,) = back.entries["runs"]
    assert (now.locs, now.item_locs, now.values, now.loc) == (run.locs, run.item_locs, run.values, run.loc)


@given(st.data())
def test_generated_manifests_cross_as_checked(data: st.DataObject) -> None:
    manifest = data.draw(manifest_sets(), label="manifest")
    if data.draw(st.booleans(), label="corrupted"):
        manifest = data.draw(corrupted(manifest), label="corrupted")
    checked = check_file(load_bytes(dump(manifest).encode("utf-8"), "g.yaml", Reporter()))
    same(sent(checked), checked)
