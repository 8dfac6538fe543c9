"""The parse cache: files parsed before are restored as they were parsed, and never wrongly."""

from __future__ import annotations

import contextlib
import hashlib
import math
import shutil
import sqlite3
import zlib
from pathlib import Path
from textwrap import dedent

import pytest
from factories import another_reportgen

from reportgen import load
from reportgen.build import BuildOptions, build, cache_folder
from reportgen.diagnostics import Reporter
from reportgen.fields import CheckedFile, check_documents
from reportgen.load import Document, LoadResult, decode_documents, encode_documents, load_bytes, load_paths
from reportgen.parsed import ParseCache
from reportgen.validate import check_where_parsed, validate

SAMPLES = Path(__file__).resolve().parent.parent / "sample_manifests"

TRICKY = dedent(
    """\
    # every kind of value, anchors and merge keys, text that is not ASCII
    base: &base {project: zoo, tags: [a, "b", 'c'], size: 12}
    runs:
      - <<: *base
        id: r-1
        config: {lr: 0.001, nan: .nan, inf: -.inf, zero: -0.0, big: 123456789012345678901234567890}
        summary: {ok: true, none: null, empty: "", when: 2026-01-02T03:04:05Z, octal: 0o17, hex: 0x1F}
        notes: "snow ☃, tab\\t, NUL-free \\u00e9 and a quote \\" "
      - *base
    ---
    actions: []
    """
)


class Counting(ParseCache):
    """A parse cache that counts the files it gave back that can be restored."""

    restored = 0

    def get(self, name: str, key: str) -> bytes | None:
        found = super().get(name, key)
        if found is not None:
            with contextlib.suppress(ValueError):
                decode_documents(name, found)
                self.restored += 1
        return found


def same(a: object, b: object) -> bool:
    """Equality that counts NaN as equal to NaN (a NaN value is never equal to itself)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, Document) and isinstance(b, Document):
        return (a.file, a.index, a.values) == (b.file, b.index, b.values) and same(a.root, b.root)
    if isinstance(a, load.Node) and isinstance(b, load.Node):
        return a.loc == b.loc and a.key_locs == b.key_locs and same(a.value, b.value)
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def parse(text: str, name: str = "m.yaml") -> list[Document]:
    reporter = Reporter()
    documents = load_bytes(text.encode(), name, reporter)
    assert reporter.diagnostics == []
    return documents


def test_encoding_restores_every_value_type_and_place() -> None:
    documents = parse(TRICKY)
    restored = decode_documents("m.yaml", encode_documents(documents))
    assert same(restored, documents)
    config = restored[0].root.value["runs"].value[0].value["config"].value  # type: ignore[index,union-attr]
    assert math.copysign(1, config["zero"].value) == -1  # -0.0 stays negative
    assert config["big"].value == 123456789012345678901234567890


def test_the_sample_manifests_restore_as_parsed(tmp_path: Path) -> None:
    cache = Counting(tmp_path / "cache")
    first = load_paths([SAMPLES], cache)
    cache.save()
    again = Counting(tmp_path / "cache")
    second = load_paths([SAMPLES], again)
    assert again.restored == len(first.files) > 5
    assert same(second.documents, first.documents)
    assert second.diagnostics == first.diagnostics == []
    assert same(load_paths([SAMPLES]).documents, second.documents)


def test_a_changed_file_is_parsed_again(tmp_path: Path) -> None:
    manifests = tmp_path / "m"
    shutil.copytree(SAMPLES / "zoo", manifests)
    ParseCache.save(_filled(tmp_path / "cache", manifests))
    runs = manifests / "runs.yaml"
    runs.write_text(runs.read_text() + "\n# one more line\n")
    again = Counting(tmp_path / "cache")
    result = load_paths([manifests], again)
    assert again.restored == len(result.files) - 1
    assert same(result.documents, load_paths([manifests]).documents)


def test_a_file_with_a_problem_is_never_kept(tmp_path: Path) -> None:
    manifests = tmp_path / "m"
    manifests.mkdir()
    (manifests / "bad.yaml").write_text("runs:\n  - id: a\n    id: b\n")  # a duplicate key
    (manifests / "good.yaml").write_text("runs: []\n")
    first = load_paths([manifests], _filled(tmp_path / "cache", manifests))
    again = Counting(tmp_path / "cache")
    second = load_paths([manifests], again)
    assert again.restored == 1  # good.yaml
    assert [d.code for d in second.diagnostics] == [d.code for d in first.diagnostics] == ["RG004"]
    assert second.diagnostics == first.diagnostics


@pytest.fixture
def kept_zoo(tmp_path: Path) -> Path:
    """A copy of the zoo manifests, parsed once into the parse cache at ``tmp_path / "cache"``."""
    manifests = tmp_path / "m"
    shutil.copytree(SAMPLES / "zoo", manifests)
    _filled(tmp_path / "cache", manifests)
    return manifests


def _filled(folder: Path, manifests: Path) -> ParseCache:
    cache = ParseCache(folder)
    load_paths([manifests], cache)
    cache.save()
    return cache


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[]]",
        '{"a": 1}',
        "[[0, 1]]",
        '[[0, 1, [{"runs": [1, 1, 1]}, 1, 1, {}]]]',  # key places missing
        '[[0, 1, [{"runs": [1, 1, 1]}, 1, 1, {"runs": [1]}]]]',
        '[[0, 1, [{"runs": [{"$": 1}, 1, 1]}, 1, 1, {"runs": [1, 1]}]]]',  # a mapping without key places
        '[[0, 1, [{"runs": [1.5, "x", 1]}, 1, 1, {"runs": [1, 1]}]]]',  # a place that is not a number
        '[[0, 1, [["runs"], 1, 1]]]',  # a document that is not a mapping
        "[" * 5000 + "]" * 5000,
        b"not zlib",  # as stored, not compressed
        zlib.compress(b"\xff\xfe[]"),  # not UTF-8
    ],
)
def test_anything_but_what_was_written_is_parsed_again(
    tmp_path: Path, kept_zoo: Path, body: str | bytes
) -> None:
    manifests = kept_zoo
    db = tmp_path / "cache" / ParseCache.FILE
    packed = body if isinstance(body, bytes) else zlib.compress(body.encode("utf-8"))
    with sqlite3.connect(db) as connection:  # a forged entry, with a checksum that holds
        connection.execute("UPDATE files SET body = ?, sha = ?", (packed, hashlib.sha256(packed).hexdigest()))
    again = Counting(tmp_path / "cache")
    result = load_paths([manifests], again)
    assert again.restored == 0
    assert same(result.documents, load_paths([manifests]).documents)


def test_a_damaged_entry_or_file_is_parsed_again_and_started_over(tmp_path: Path, kept_zoo: Path) -> None:
    manifests = kept_zoo
    db = tmp_path / "cache" / ParseCache.FILE
    with sqlite3.connect(db) as connection:  # a body changed behind the checksum's back
        connection.execute("UPDATE files SET body = zeroblob(length(body))")
    again = Counting(tmp_path / "cache")
    assert same(load_paths([manifests], again).documents, load_paths([manifests]).documents)
    assert again.restored == 0
    db.write_bytes(b"this is not a database" * 100)
    broken = Counting(tmp_path / "cache")
    assert same(load_paths([manifests], broken).documents, load_paths([manifests]).documents)
    broken.save()  # starts the file again
    restored = Counting(tmp_path / "cache")
    load_paths([manifests], restored)
    assert restored.restored == 4


def test_text_utf8_cannot_hold_is_parsed_each_time(tmp_path: Path) -> None:
    manifests = tmp_path / "m"
    manifests.mkdir()
    (manifests / "odd.yaml").write_text('runs: [{id: "\\ud800"}]\n')  # a lone surrogate, by escape
    cache = _filled(tmp_path / "cache", manifests)
    assert cache._now == {}
    again = Counting(tmp_path / "cache")
    load_paths([manifests], again)
    assert again.restored == 0


def test_another_reportgen_never_restores_what_this_one_parsed(
    tmp_path: Path, kept_zoo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifests = kept_zoo
    another_reportgen(tmp_path / "code", monkeypatch, "load.py")
    again = Counting(tmp_path / "cache")
    load_paths([manifests], again)
    assert again.restored == 0


@pytest.mark.parametrize("workers", [False, True])
def test_a_file_restored_over_the_set_budget_is_parsed_to_say_so(
    tmp_path: Path, kept_zoo: Path, monkeypatch: pytest.MonkeyPatch, workers: bool
) -> None:
    manifests = kept_zoo
    fresh = load_paths([manifests])
    monkeypatch.setattr(load, "MAX_SET_VALUES", sum(d.values for d in fresh.documents) - 1)
    monkeypatch.setattr(load, "_PARALLEL_ABOVE_BYTES", 0)
    again = Counting(tmp_path / "cache")
    if workers:  # restored and checked by workers, the last file over the budget parsed here
        limited = load_paths([manifests], again, jobs=2, check=check_where_parsed)
        assert isinstance(limited.documents[0], CheckedFile)
    else:
        limited = load_paths([manifests], again)
    expected = load_paths([manifests])
    assert [d.code for d in limited.diagnostics] == ["RG001"]
    assert limited.diagnostics == expected.diagnostics
    assert entries(limited) == entries(expected)


def test_workers_restore_and_check_kept_files_and_parse_what_cannot_be_restored(
    tmp_path: Path, kept_zoo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(load, "_PARALLEL_ABOVE_BYTES", 0)
    manifests = kept_zoo
    fresh = load_paths([manifests])
    again = Counting(tmp_path / "cache")
    restored = load_paths([manifests], again, jobs=2, check=check_where_parsed)
    assert again.restored == len(restored.documents) == 4
    assert all(isinstance(d, CheckedFile) for d in restored.documents)
    assert restored.diagnostics == fresh.diagnostics == []
    assert entries(restored) == entries(fresh)
    assert repr(validate(restored)) == repr(validate(fresh))
    db = tmp_path / "cache" / ParseCache.FILE
    packed = zlib.compress(b"not json")
    with sqlite3.connect(db) as connection:  # one entry forged, with a checksum that holds
        connection.execute(
            "UPDATE files SET body = ?, sha = ? WHERE name LIKE '%runs.yaml'",
            (packed, hashlib.sha256(packed).hexdigest()),
        )
    forged = Counting(tmp_path / "cache")
    parsed = load_paths([manifests], forged, jobs=2, check=check_where_parsed)
    assert forged.restored == 3
    assert entries(parsed) == entries(fresh)
    (name,) = [n for n in forged._now if n.endswith("runs.yaml")]
    assert forged._now[name][2] != packed  # parsed again by a worker, and kept as parsed


def entries(loaded: LoadResult) -> list[str]:
    """Return the entries the documents hold, checked: spelled out (a NaN is never equal to itself)."""
    return [repr(e) for found in check_documents(loaded.documents, Reporter()).values() for e in found]


def test_a_rebuild_restores_every_file_and_no_cache_forgets_them(tmp_path: Path) -> None:
    site = tmp_path / "site"
    build([SAMPLES / "acme"], BuildOptions(output=site))
    kept = cache_folder(site) / ParseCache.FILE
    with sqlite3.connect(kept) as connection:
        names = [row[0] for row in connection.execute("SELECT name FROM files ORDER BY name")]
    assert len(names) == len(load_paths([SAMPLES / "acme"]).files)
    build([SAMPLES / "acme"], BuildOptions(output=site, cache=False))
    assert not kept.exists()
