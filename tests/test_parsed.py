"""The parse cache: files checked before are restored as they were checked, and never wrongly."""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import math
import os
import shutil
import sqlite3
import zlib
from pathlib import Path
from textwrap import dedent
from typing import Any, ClassVar

import pytest
from factories import another_reportgen, appears, dump
from hypothesis import event, given
from hypothesis import strategies as st
from test_properties import corrupted, manifest_sets

from reportgen import fields as fields_module
from reportgen import load as load_module
from reportgen.build import BuildOptions, build, cache_folder
from reportgen.diagnostics import Reporter
from reportgen.fields import CheckedFile, check_documents, check_file, decode_entries, encode_entries
from reportgen.load import Document, LoadResult, load_bytes, load_paths
from reportgen.parsed import ParseCache
from reportgen.validate import check_where_parsed, validate

SAMPLES = Path(__file__).resolve().parent.parent / "sample_manifests"

TRICKY = dedent(
    """\
    # every kind of field and value, anchors and merge keys, text that is not ASCII
    runs:
      - &base {id: r-0, project: zoo, tags: [a, "b", 'c'], user: ☃}
      - <<: *base
        id: r-1
        config: {lr: 0.001, nan: .nan, inf: -.inf, zero: -0.0, big: 123456789012345678901234567890}
        summary: {ok: true, none: null, empty: "", when: 2026-01-02T03:04:05Z, deep: [1, [{x: 2}]]}
        notes: "snow ☃, tab\\t, NUL-free \\u00e9 and a quote \\" "
        created_at: 2026-01-02T03:04:05+02:00
        finished_at: "2026-01-02T05:04:05.250Z"
        inputs: [a:v1, "b:v2"]
        state: finished
        url: https://example.org/r?a=1&b=2
        name: null
    ---
    artifacts:
      - {name: a, version: v1, type: data set, size: 0, file_count: 3, ttl_days: 2, aliases: [best, v-1.0]}
      - {name: b, version: 2, type: dataset, metadata: {k: v, n: [1, 2]}, state: deleted, logged_by: r-1}
    registries: [{name: model, protected_aliases: [production]}]
    collections: [{registry: model, name: zoo, type: dataset, created_at: 2026-01-01T00:00:00Z}]
    actions:
      - {at: 2026-01-02T00:00:00Z, user: me, action: link, collection: model/zoo, artifact: "a:v1"}
      - at: 2026-01-03T00:00:00+01:00
        user: me
        action: add_alias
        collection: model/zoo
        version: 0
        alias: x
        reason: ok
    """
)


class Counting(ParseCache):
    """A parse cache that counts the files it gave back that can be restored."""

    restored = 0

    def get(self, name: str, key: str) -> bytes | None:
        found = super().get(name, key)
        if found is not None:
            with contextlib.suppress(ValueError):
                decode_entries(name, found)
                self.restored += 1
        return found


def parse(text: str, name: str = "m.yaml") -> list[Document]:
    reporter = Reporter()
    documents = load_bytes(text.encode(), name, reporter)
    assert reporter.diagnostics == []
    return documents


def spelled(checked: CheckedFile) -> list[str]:
    """Return a file's entries spelled out (a NaN is never equal to itself), with their numbers."""
    return [repr(e) for found in checked.entries.values() for e in found] + [str(checked.items)]


def entries(loaded: LoadResult) -> list[str]:
    """Return the entries the documents hold, checked: spelled out (a NaN is never equal to itself)."""
    return [repr(e) for found in check_documents(loaded.documents, Reporter()).values() for e in found]


def load(manifests: Path, kept: ParseCache | None = None, jobs: int = 1) -> LoadResult:
    return load_paths([manifests], kept, jobs=jobs, check=check_where_parsed)


def test_restoring_gives_every_value_and_place_a_parse_gives() -> None:
    documents = parse(TRICKY)
    checked = check_file(documents)
    restored, values = decode_entries("m.yaml", encode_entries(documents, checked))
    assert spelled(restored) == spelled(checked)
    assert values == sum(d.values for d in documents)
    run, was = restored.entries["runs"][1], checked.entries["runs"][1]
    config = run.values["config"]
    assert math.copysign(1, config["zero"]) == -1  # -0.0 stays negative
    assert config["big"] == 123456789012345678901234567890
    assert run.values["tags"] == ("a", "b", "c")  # merged from the anchor, with their places
    assert run.item_locs == was.item_locs and run.item_locs["tags"]
    assert run.locs == was.locs and run.loc == was.loc
    assert run.values["finished_at"] == was.values["finished_at"] and run.values["finished_at"].microsecond
    assert [len(found) for found in restored.entries.values()] == [1, 1, 2, 2, 2]


@pytest.mark.parametrize("path", sorted(SAMPLES.rglob("*.yaml")), ids=lambda p: p.name)
def test_every_sample_manifest_restores_as_checked(path: Path) -> None:
    documents = parse(path.read_text(), path.name)
    checked = check_file(documents)
    assert checked.diagnostics == []
    restored, values = decode_entries(path.name, encode_entries(documents, checked))
    assert spelled(restored) == spelled(checked)
    assert values == sum(d.values for d in documents)


@given(st.data())
def test_generated_manifests_restore_as_checked(data: st.DataObject) -> None:
    manifest = data.draw(manifest_sets(), label="manifest")
    if data.draw(st.booleans(), label="corrupted"):
        manifest = data.draw(corrupted(manifest), label="corrupted")
    reporter = Reporter()
    documents = load_bytes(dump(manifest).encode("utf-8"), "g.yaml", reporter)
    checked = check_file(documents)
    if reporter.diagnostics or checked.diagnostics:
        with pytest.raises(ValueError):  # a file with a problem is never kept
            encode_entries(documents, checked)
        return
    restored, values = decode_entries("g.yaml", encode_entries(documents, checked))
    assert spelled(restored) == spelled(checked)
    assert values == sum(d.values for d in documents)


def test_the_sample_manifests_restore_as_checked(tmp_path: Path) -> None:
    cache = Counting(tmp_path / "cache")
    first = load(SAMPLES, cache)
    cache.save()
    again = Counting(tmp_path / "cache")
    second = load(SAMPLES, again)
    assert again.restored == len(first.files) > 5
    assert all(isinstance(d, CheckedFile) for d in second.documents)
    assert entries(second) == entries(first) == entries(load_paths([SAMPLES]))
    assert second.diagnostics == first.diagnostics == []
    assert repr(validate(second)) == repr(validate(load_paths([SAMPLES])))


def test_files_checked_where_parsed_validate_the_same_twice(tmp_path: Path) -> None:
    """Their entries are numbered on from the files before in place: a second validation of the same
    files numbers them the same (the actions' order in a tie depends on it)."""
    cache = Counting(tmp_path / "cache")
    load(SAMPLES, cache)
    cache.save()
    restored = load(SAMPLES, Counting(tmp_path / "cache"))
    assert sum(isinstance(d, CheckedFile) for d in restored.documents) > 5
    once = repr(validate(restored))
    orders = entries(restored)
    assert repr(validate(restored)) == once == repr(validate(load_paths([SAMPLES])))
    assert entries(restored) == orders


def test_a_parse_cache_needs_a_check() -> None:
    with pytest.raises(ValueError, match="needs check"):
        load_paths([SAMPLES], ParseCache(None))


def test_a_changed_file_is_parsed_again(tmp_path: Path) -> None:
    manifests = tmp_path / "m"
    shutil.copytree(SAMPLES / "zoo", manifests)
    ParseCache.save(_filled(tmp_path / "cache", manifests))
    runs = manifests / "runs.yaml"
    runs.write_text(runs.read_text() + "\n# one more line\n")
    again = Counting(tmp_path / "cache")
    result = load(manifests, again)
    assert again.restored == len(result.files) - 1
    assert entries(result) == entries(load_paths([manifests]))


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("runs:\n  - id: a\n    id: b\n", "RG004"),  # a problem found parsing
        ("runs:\n  - id: a\n    colour: red\n", "RG101"),  # a problem found checking (a warning)
    ],
)
def test_a_file_with_a_problem_is_never_kept(tmp_path: Path, text: str, code: str) -> None:
    manifests = tmp_path / "m"
    manifests.mkdir()
    (manifests / "bad.yaml").write_text(text)
    (manifests / "good.yaml").write_text("runs: [{id: g}]\n")
    first = load(manifests, _filled(tmp_path / "cache", manifests))
    again = Counting(tmp_path / "cache")
    second = load(manifests, again)
    assert again.restored == 1  # good.yaml
    said, before = validate(second).diagnostics, validate(first).diagnostics
    assert [d.code for d in said] == [d.code for d in before] == [code]
    assert said == before
    assert entries(second) == entries(first)


@pytest.fixture
def kept_zoo(tmp_path: Path) -> Path:
    """A copy of the zoo manifests, parsed once into the parse cache at ``tmp_path / "cache"``."""
    manifests = tmp_path / "m"
    shutil.copytree(SAMPLES / "zoo", manifests)
    _filled(tmp_path / "cache", manifests)
    return manifests


def _filled(folder: Path, manifests: Path) -> ParseCache:
    cache = ParseCache(folder)
    load(manifests, cache)
    cache.save()
    return cache


# Entries as the parse cache keeps them (fields.encode_entries): [entity, fields, places, value, ...].
RUNS, ARTIFACTS = 3, 2  # the entities' places in spec.ENTITIES
ID, NOTES, STATE, CREATED_AT, CONFIG, INPUTS, URL = (1 << n for n in (0, 4, 6, 8, 11, 13, 15))  # a run's


def kept(*rows: list[Any]) -> str:
    return json.dumps([1, list(rows)])


ACTIONS, AT = 4, "2026-01-02T03:04:05Z"
RUN: list[Any] = [RUNS, ID, "2 3 2 7", "r-1"]  # a run entry as kept: at line 2, its id at 2:7
GOOD = kept(RUN)  # what restores: each forged case below differs from it in one thing


def run_with(bit: int, value: Any, places: str = "2 9") -> str:
    return kept([RUNS, ID | bit, "2 3 2 7 " + places, "r-1", value])


FORGED = [
    "not json",
    "[]]",
    '{"a": 1}',
    "[1]",
    '["1", []]',  # a count of values that is not a number
    "[-1, []]",
    "[1, {}]",
    "[1, [[]]]",
    '[1, ["x"]]',  # an entry that is not a list
    kept([9, ID, "2 3 2 7", "r-1"]),  # an entity that is not one
    kept([-1, ID, "2 3 2 7", "r-1"]),
    kept(["runs", ID, "2 3 2 7", "r-1"]),
    kept([RUNS, ID | 1 << 16, "2 3 2 7", "r-1"]),  # a field the entity does not have
    kept([RUNS, -1, "2 3 2 7", "r-1"]),
    kept([RUNS, "1", "2 3 2 7", "r-1"]),
    kept([*RUN, "more"]),  # a value no field accounts for
    kept([RUNS, ID | 2, "2 3 2 7 2 9", "r-1"]),  # a field without its value
    kept([RUNS, 2, "2 3 2 7", "n"]),  # a required field missing
    kept([RUNS, ID, 2327, "r-1"]),  # places that are not text
    kept([RUNS, ID, "2 3 2 x", "r-1"]),  # a place that is not a number
    kept([RUNS, ID, "2 3 -2 7", "r-1"]),
    kept([RUNS, ID, "2 3 2.5 7", "r-1"]),
    kept([RUNS, ID, "2 3  2 7", "r-1"]),
    kept([RUNS, ID, "2 3 2 " + "7" * 5000, "r-1"]),  # a number too long for int() to read
    kept([RUNS, ID, "2 3 2", "r-1"]),  # too few places
    kept([RUNS, ID, "2 3 2 7 2 8", "r-1"]),  # too many
    kept([RUNS, ID, "2 3 2 7", "r\u0007"]),  # a name no manifest may hold (a control character)
    kept([RUNS, ID, "2 3 2 7", 7]),  # a number where a manifest must hold text
    kept([RUNS, ID, "2 3 2 7", {"a": 1}]),  # a mapping where a manifest must hold text
    kept([RUNS, ID, "2 3 2 7 2 8", ["r"]]),  # a list where a manifest must hold text
    run_with(URL, "javascript:alert(1)"),  # a link a manifest may not make
    run_with(CREATED_AT, "2026-01-02T03:04:05"),  # a time without its zone
    run_with(CREATED_AT, 1767322245),  # a number where a manifest holds a time
    run_with(URL, 7),  # a number where a manifest holds a link
    run_with(NOTES, 7),  # a number where a manifest holds free text
    run_with(NOTES, None),  # nothing where a manifest holds free text
    run_with(STATE, "sleeping"),  # not one of the choices
    run_with(CONFIG, [1], "2 9 2 10"),  # a list where a manifest holds a mapping
    run_with(INPUTS, "a:v1"),  # text where a manifest holds a list
    run_with(INPUTS, ["a:v1", "b"], "2 9 2 10 2 11"),  # a bad item of a list
    run_with(INPUTS, [["a:v1"]], "2 9 2 10"),  # an item that is a list
    run_with(INPUTS, ["a:v1"], "2 9"),  # an item without its place
    kept([ARTIFACTS, 7, "2 3 2 7 2 8 2 9", "a", True, "t"]),  # a boolean where a version goes
    kept([ACTIONS, 1 | 2 | 4 | 8, "2 3 2 7 2 8 2 9 2 10", AT, "u", "link", "model"]),  # not registry/name
    kept([ACTIONS, 1 | 2 | 4 | 16, "2 3 2 7 2 8 2 9 2 10", AT, "u", "link", "a-v1"]),  # not a ref
    # an alias like a version
    kept([ACTIONS, 1 | 2 | 4 | 8 | 64, "2 3 " + "2 7 " * 4 + "2 9", AT, "u", "add_alias", "m/c", "v1"]),
    kept([ARTIFACTS, 7 | 1 << 5, "2 3 2 7 2 8 2 9 2 10", "a", 0, "t", -1]),  # a size below zero
    "[" * 5000 + "]" * 5000,
    b"not zlib",  # as stored, not compressed
    zlib.compress(b"\xff\xfe[]"),  # not UTF-8
]


def test_the_forged_cases_differ_from_what_restores() -> None:
    good = zlib.compress(GOOD.encode())
    restored, values = decode_entries("m.yaml", good)
    assert values == 1 and [e.get("id") for e in restored.entries["runs"]] == ["r-1"]


@pytest.mark.parametrize("body", FORGED)
def test_anything_but_what_was_written_is_parsed_again(
    tmp_path: Path, kept_zoo: Path, body: str | bytes
) -> None:
    manifests = kept_zoo
    db = tmp_path / "cache" / ParseCache.FILE
    packed = body if isinstance(body, bytes) else zlib.compress(body.encode("utf-8"))
    with pytest.raises(ValueError, match=r"^not entries: "):
        decode_entries("m.yaml", packed)
    with sqlite3.connect(db) as connection:  # a forged entry, with a checksum that holds
        connection.execute("UPDATE files SET body = ?, sha = ?", (packed, hashlib.sha256(packed).hexdigest()))
    again = Counting(tmp_path / "cache")
    result = load(manifests, again)
    assert again.restored == 0
    assert entries(result) == entries(load_paths([manifests]))


def test_a_body_that_would_inflate_past_the_limit_is_refused_before_it_does(
    tmp_path: Path, kept_zoo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fields_module, "MAX_KEPT_BYTES", 1 << 20)
    bomb = zlib.compress(GOOD[:-1].encode() + b" " * (4 << 20) + b"]", 9)  # valid JSON, 4 MiB of spaces
    assert len(bomb) < 8 << 10
    inflated: list[int] = []
    real = zlib.decompressobj

    class Counted:  # what the decoder inflates, at most
        def __init__(self) -> None:
            self.inner = real()

        def decompress(self, data: bytes, limit: int = 0) -> bytes:
            out = self.inner.decompress(data, limit)
            inflated.append(len(out))
            return out

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

    monkeypatch.setattr(fields_module.zlib, "decompressobj", Counted)
    with pytest.raises(ValueError, match=r"^not entries: .*more than 1048576 bytes"):
        decode_entries("m.yaml", bomb)
    assert inflated == [1 << 20]
    with pytest.raises(ValueError, match=r"^not entries: .*cut short"):
        decode_entries("m.yaml", zlib.compress(GOOD.encode())[:-6])
    db = tmp_path / "cache" / ParseCache.FILE
    with sqlite3.connect(db) as connection:  # kept in the cache, with a checksum that holds
        connection.execute("UPDATE files SET body = ?, sha = ?", (bomb, hashlib.sha256(bomb).hexdigest()))
    again = Counting(tmp_path / "cache")
    assert entries(load(kept_zoo, again)) == entries(load_paths([kept_zoo]))
    assert again.restored == 0


def test_entries_bigger_than_the_limit_are_not_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fields_module, "MAX_KEPT_BYTES", 100)
    manifests = tmp_path / "m"
    shutil.copytree(SAMPLES / "zoo", manifests)
    cache = _filled(tmp_path / "cache", manifests)
    assert cache._now == {}  # every zoo file's entries take more than 100 bytes
    assert entries(load(manifests, Counting(tmp_path / "cache"))) == entries(load_paths([manifests]))


def test_a_damaged_entry_or_file_is_parsed_again_and_started_over(tmp_path: Path, kept_zoo: Path) -> None:
    manifests = kept_zoo
    fresh = entries(load_paths([manifests]))
    db = tmp_path / "cache" / ParseCache.FILE
    with sqlite3.connect(db) as connection:  # a body changed behind the checksum's back
        connection.execute("UPDATE files SET body = zeroblob(length(body))")
    again = Counting(tmp_path / "cache")
    assert entries(load(manifests, again)) == fresh
    assert again.restored == 0
    db.write_bytes(b"this is not a database" * 100)
    broken = Counting(tmp_path / "cache")
    assert entries(load(manifests, broken)) == fresh
    broken.save()  # starts the file again
    restored = Counting(tmp_path / "cache")
    load(manifests, restored)
    assert restored.restored == 4


def test_text_utf8_cannot_hold_is_parsed_each_time(tmp_path: Path) -> None:
    manifests = tmp_path / "m"
    manifests.mkdir()
    (manifests / "odd.yaml").write_text('runs: [{id: "\\ud800"}]\n')  # a lone surrogate, by escape
    cache = _filled(tmp_path / "cache", manifests)
    assert cache._now == {}
    again = Counting(tmp_path / "cache")
    load(manifests, again)
    assert again.restored == 0


def test_another_reportgen_never_restores_what_this_one_parsed(
    tmp_path: Path, kept_zoo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifests = kept_zoo
    another_reportgen(tmp_path / "code", monkeypatch, "fields.py")
    again = Counting(tmp_path / "cache")
    load(manifests, again)
    assert again.restored == 0


@pytest.mark.parametrize("workers", [False, True])
def test_a_file_restored_over_the_set_budget_is_parsed_to_say_so(
    tmp_path: Path, kept_zoo: Path, monkeypatch: pytest.MonkeyPatch, workers: bool
) -> None:
    manifests = kept_zoo
    monkeypatch.setattr(load_module, "MAX_SET_VALUES", _values(manifests) - 1)
    monkeypatch.setattr(load_module, "_PARALLEL_ABOVE_BYTES", 0)
    again = Counting(tmp_path / "cache")
    limited = load(manifests, again, jobs=2 if workers else 1)
    assert again.restored == 4
    expected = load_paths([manifests])
    assert [d.code for d in limited.diagnostics] == ["RG001"]
    assert limited.diagnostics == expected.diagnostics
    assert entries(limited) == entries(expected)


def _values(manifests: Path) -> int:
    return sum(d.values for d in load_paths([manifests]).documents if isinstance(d, Document))


def test_kept_files_are_restored_here_while_workers_parse_the_others(
    tmp_path: Path, kept_zoo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(load_module, "_PARALLEL_ABOVE_BYTES", 0)
    manifests = kept_zoo
    for name in ("runs.yaml", "actions.yaml"):  # two changed files: enough for workers
        path = next(manifests.rglob(name))
        path.write_text(path.read_text() + "\n# changed\n")
    fresh = load_paths([manifests])
    again = Counting(tmp_path / "cache")
    with monkeypatch.context() as parent:
        _Forking.patch = parent
        parent.setattr(load_module, "_Parser", _Forking)
        restored = load(manifests, again, jobs=2)
    assert _Forking.parallel
    assert again.restored == 2
    assert all(isinstance(d, CheckedFile) for d in restored.documents)
    assert restored.diagnostics == fresh.diagnostics == []
    assert entries(restored) == entries(fresh)
    assert repr(validate(restored)) == repr(validate(fresh))
    assert len(again._now) == 4  # the two parsed by workers are kept for the next build


@pytest.mark.parametrize(
    ("jobs", "changed", "others", "parallel"),
    [
        (2, 1, "kept", False),  # one file: parsed here (a rebuild's linking process has the other core)
        (2, 1, "gone", False),
        (2, 2, "kept", True),  # two files to share (over the bytes for workers, set to 0 here)
        (1, 2, "kept", False),  # one process: no worker
    ],
)
def test_workers_parse_two_files_or_more(
    tmp_path: Path,
    kept_zoo: Path,
    monkeypatch: pytest.MonkeyPatch,
    jobs: int,
    changed: int,
    others: str,
    parallel: bool,
) -> None:
    monkeypatch.setattr(load_module, "_PARALLEL_ABOVE_BYTES", 0)
    manifests = kept_zoo
    files = sorted(manifests.glob("*.yaml"))
    for path in files[:changed]:
        path.write_text(path.read_text() + "\n# changed\n")
    if others == "gone":
        for path in files[changed:]:
            path.unlink()
    monkeypatch.setattr(load_module, "_Parser", _Watching)
    found = load(manifests, Counting(tmp_path / "cache"), jobs=jobs)
    assert _Watching.parallel is parallel
    assert entries(found) == entries(load_paths([manifests]))


class _Watching(load_module._Parser):
    """The parser, noting whether it started workers."""

    parallel: bool | None = None

    def __enter__(self) -> load_module._Parser:
        _Watching.parallel = self._parallel
        return super().__enter__()


_GO = "REPORTGEN_TEST_GO"
_PARSE_IN_WORKER = load_module._parse_in_worker


def _parse_after_go(index: int) -> Any:
    """Parse as a worker does, once the parent has restored every kept file (it touches the file _GO
    names): a parent that waited for this file's entries without restoring the others would never."""
    go = Path(os.environ[_GO])
    if not appears(go):
        raise AssertionError("the parent waited for a worker without restoring the kept files meanwhile")
    (go.parent / f"parsed-{index}").touch()
    return _PARSE_IN_WORKER(index)


class _Restoring(load_module._Parser):
    """The parser, noting the files it restores and touching the file _GO names once it has two."""

    order: ClassVar[list[int]] = []

    def _restore(self, index: int) -> tuple[CheckedFile, int] | None:
        if index not in self._restored:
            _Restoring.order.append(index)
            if len(_Restoring.order) == 2:
                Path(os.environ[_GO]).touch()
        return super()._restore(index)


def test_the_parent_restores_later_kept_files_while_a_worker_parses(
    tmp_path: Path, kept_zoo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(load_module, "_PARALLEL_ABOVE_BYTES", 0)
    manifests = kept_zoo
    for name in ("actions.yaml", "registries.yaml"):  # the first and third of four: for two workers
        path = manifests / name
        path.write_text(path.read_text() + "\n# changed\n")
    monkeypatch.setenv(_GO, str(tmp_path / "go"))
    monkeypatch.setattr(load_module, "_parse_in_worker", _parse_after_go)
    monkeypatch.setattr(load_module, "_Parser", _Restoring)
    monkeypatch.setattr(_Restoring, "order", [])
    again = Counting(tmp_path / "cache")
    restored = load(manifests, again, jobs=2)
    assert (tmp_path / "parsed-0").exists() and (tmp_path / "parsed-2").exists()  # by workers
    assert _Restoring.order == [1, 3]  # each once, ahead of its turn
    assert again.restored == 2
    assert entries(restored) == entries(load_paths([manifests]))


class _Forking(load_module._Parser):
    """The parser, noting whether it started workers; once they have forked, the parent cannot parse."""

    parallel = False
    patch: pytest.MonkeyPatch

    def __enter__(self) -> load_module._Parser:
        entered = super().__enter__()
        _Forking.parallel = self._parallel
        self.patch.setattr(load_module, "load_bytes", _never)
        return entered


def _never(*args: object, **kwargs: object) -> list[Document]:
    raise AssertionError("parsed in the parent")


def test_a_forged_entry_is_parsed_again_and_kept_as_parsed(
    tmp_path: Path, kept_zoo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(load_module, "_PARALLEL_ABOVE_BYTES", 0)
    manifests = kept_zoo
    fresh = load_paths([manifests])
    db = tmp_path / "cache" / ParseCache.FILE
    packed = zlib.compress(b"not json")
    with sqlite3.connect(db) as connection:  # one entry forged, with a checksum that holds
        connection.execute(
            "UPDATE files SET body = ?, sha = ? WHERE name LIKE '%runs.yaml'",
            (packed, hashlib.sha256(packed).hexdigest()),
        )
    forged = Counting(tmp_path / "cache")
    parsed = load(manifests, forged, jobs=2)
    assert forged.restored == 3
    assert entries(parsed) == entries(fresh)
    (name,) = [n for n in forged._now if n.endswith("runs.yaml")]
    assert forged._now[name][2] != packed  # parsed again, and kept as parsed
    assert decode_entries(name, forged._now[name][2])


def test_a_rebuild_restores_every_file_and_no_cache_forgets_them(tmp_path: Path) -> None:
    site = tmp_path / "site"
    build([SAMPLES / "acme"], BuildOptions(output=site))
    kept = cache_folder(site) / ParseCache.FILE
    with sqlite3.connect(kept) as connection:
        names = [row[0] for row in connection.execute("SELECT name FROM files ORDER BY name")]
    assert len(names) == len(load_paths([SAMPLES / "acme"]).files)
    build([SAMPLES / "acme"], BuildOptions(output=site, cache=False))
    assert not kept.exists()


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_build_without_the_cache_encodes_nothing_to_keep(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    """Encoding a file's entries for the next build is work a build that keeps nothing never uses."""
    noted = tmp_path / "encoded"  # a file: a forked worker's calls are counted too
    keepable = load_module._keepable

    def counted(*args: Any) -> bytes | None:
        with noted.open("a") as note:
            note.write("1")
        return keepable(*args)

    monkeypatch.setattr(load_module, "_keepable", counted)
    build([SAMPLES / "acme"], BuildOptions(output=tmp_path / "plain", jobs=jobs, cache=False))
    assert not noted.exists()
    build([SAMPLES / "acme"], BuildOptions(output=tmp_path / "kept", jobs=jobs))
    assert len(noted.read_text()) == len(load_paths([SAMPLES / "acme"]).files)  # each file, kept


def test_restored_entries_are_freed_without_the_cycle_collector() -> None:
    # A build pauses the cycle collector while it loads: entries in a reference cycle would outlive it.
    documents = parse(TRICKY)
    body = encode_entries(documents, check_file(documents))
    gc.collect()
    gc.disable()
    try:
        restored = decode_entries("m.yaml", body)
        assert restored[0].items == 8
        del restored
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_problems_in_restored_files_are_placed_as_a_parse_places_them(tmp_path: Path) -> None:
    # The places of a restored entry's fields are made only when a diagnostic asks for one.
    manifests = tmp_path / "m"
    manifests.mkdir()
    (manifests / "actions.yaml").write_text(
        dedent(
            """\
            actions:
              - {at: 2026-01-02T00:00:00Z, user: me, action: add_alias, collection: model/zoo,
                 version: v0, alias: best}
              - at: 2026-01-03T00:00:00Z
                user: me
                action: unlink
                collection: model/gone
                version: v3
            runs:
              - {id: r-1, inputs: [data:v0, data:v9], outputs: [model:v0]}
            """
        )
    )
    declared = manifests / "declared.yaml"
    declared.write_text(
        dedent(
            """\
            registries: [{name: model}]
            collections: [{registry: model, name: zoo, type: model}]
            artifacts:
              - {name: data, version: v0, type: dataset}
              - {name: data, version: v9, type: dataset}
              - {name: model, version: v0, type: model}
            actions:
              - {at: 2026-01-01T00:00:00Z, user: me, action: link, collection: model/zoo, artifact: model:v0}
            """
        )
    )
    _filled(tmp_path / "cache", manifests)
    declared.write_text(declared.read_text().replace("  - {name: data, version: v9, type: dataset}\n", ""))
    again = Counting(tmp_path / "cache")
    restored = load(manifests, again)
    assert again.restored == 1  # actions.yaml
    said, fresh = validate(restored).diagnostics, validate(load_paths([manifests])).diagnostics
    assert said == fresh
    assert {d.code for d in said} >= {"RG205"}  # data:v9 is no longer declared
    assert any(d.location.line == 7 for d in said)  # a collection never declared, at its field


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=12,
)


@given(st.data())
def test_a_kept_body_changed_anywhere_restores_or_is_refused_never_crashes(data: st.DataObject) -> None:
    documents = parse(TRICKY)
    kept = json.loads(zlib.decompress(encode_entries(documents, check_file(documents))))
    for _ in range(data.draw(st.integers(1, 3), label="changes")):
        _replace_somewhere(kept, data)
    body = zlib.compress(json.dumps(kept).encode("utf-8"))
    try:
        restored, values = decode_entries("m.yaml", body)
    except ValueError:
        event("refused")
        return
    event("restored")
    assert values >= 0 and restored.diagnostics == []
    assert all(e.complete and not e.invalid for found in restored.entries.values() for e in found)


def _replace_somewhere(tree: list[Any], data: st.DataObject) -> None:
    """Replace one value inside ``tree`` (lists and mappings, walked at random) with any JSON value."""
    node: Any = tree
    while True:
        keys = list(range(len(node))) if isinstance(node, list) else list(node)
        if not keys:
            return
        key = data.draw(st.sampled_from(keys))
        child = node[key]
        if isinstance(child, list | dict) and child and data.draw(st.booleans()):
            node = child
            continue
        node[key] = data.draw(JSON_VALUES)
        return
