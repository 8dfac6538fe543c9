"""The long-collection benchmark builds a valid nightly model and reports how the build grew."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from factories import benchmark_module, org_from_dict

from reportgen.model import EventKind


@pytest.fixture(scope="module")
def bench() -> Iterator[ModuleType]:
    yield from benchmark_module("bench_collection")


def test_the_nightly_model_is_a_valid_organisation_of_that_many_versions(bench: ModuleType) -> None:
    org = org_from_dict(bench.nightly_manifest(65))
    history = org.collections["model/nightly"]
    assert len(history.versions) == 65
    assert [v.artifact.version for v in history.versions] == list(range(65))
    assert len(org.runs) == 65 and len(org.artifacts) == 65 + 3  # three monthly dataset versions
    added = [e for e in history.events if e.kind is EventKind.ALIAS_ADDED or e.kind is EventKind.ALIAS_MOVED]
    assert {e.alias for e in added if not e.automatic} == {"production", "staging"}
    assert history.current.holder("production") == 62 and history.current.holder("staging") == 59


def test_the_next_nights_are_what_a_longer_collection_adds(bench: ModuleType) -> None:
    whole, first, rest = (
        bench.nightly_manifest(62),
        bench.nightly_manifest(60),
        bench.nightly_manifest(62, 60),
    )
    assert set(rest) == {"artifacts", "runs", "actions"}
    for key in ("artifacts", "runs", "actions"):
        assert first[key] + rest[key] == whole[key]
    assert [a["version"] for a in rest["artifacts"] if a["name"] == "train-data"] == ["v2"]  # a new month
    org = org_from_dict({**first, **{k: first[k] + rest[k] for k in rest}})
    assert len(org.collections["model/nightly"].versions) == 62


def test_a_run_reports_each_size_against_the_one_before(
    bench: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    on = tmp_path / "not" / "there"  # made as it is needed, as `reportgen build -o` makes its folder
    assert bench.main(["--versions", "40", "20", "--output-on", str(on)]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert [row.split(" | ")[0] for row in rows] == ["| 20", "| 40"]  # smallest first
    assert rows[0].count("|") == rows[1].count("|") == bench.HEADER.splitlines()[0].count("|")
    assert "(versions 2.00x)" in rows[1] and "x / " in rows[1]
    rebuilt = [row.split(" | ")[7] for row in rows]  # seconds (pages rendered): a few of the night's
    assert all(re.fullmatch(r"\d+\.\d\d \(\d+\)", cell) for cell in rebuilt), rebuilt
    assert list(on.iterdir()) == []  # every site, cache and manifest removed


def test_the_growth_is_set_against_the_versions(bench: ModuleType) -> None:
    small = {"versions": 100, "seconds": 2.0, "collection_bytes": 1_000_000, "pages": 300, "bytes": 3e6}
    large = {**small, "versions": 200, "seconds": 4.2, "collection_bytes": 2_100_000, "pages": 600}
    for r in (small, large):
        r["peak_mib"] = 50.0
    lines = bench.table([small, large]).splitlines()
    assert lines[2].startswith("| 100 | 300 | 2.00 | 20.00 | 3.0 | 1.0 |  |  | 50 / 0 |")
    large["rebuild_one"] = {"seconds": 0.5, "pages": 601, "reused": 590}
    assert "| 0.50 (11) |" in bench.table([small, large])
    assert "| 2.10x / 2.10x (versions 2.00x) |" in lines[3]


def test_one_dataset_version_can_feed_every_night(bench: ModuleType) -> None:
    org = org_from_dict(bench.nightly_manifest(65, days=0))
    assert [str(ref) for ref in org.artifacts if ref.name == "train-data"] == ["train-data:v0"]
    assert all(run.inputs == org.runs["nightly-00000"].inputs for run in org.runs.values())
    rest = bench.nightly_manifest(66, 65, days=0)
    assert [a["name"] for a in rest["artifacts"]] == ["nightly-model"]  # no dataset version more
    assert rest["runs"][0]["inputs"] == ["train-data:v0"]
