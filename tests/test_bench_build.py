"""The build benchmark runs end to end on the smallest organisation and reports what it measured."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from factories import benchmark_module


@pytest.fixture(scope="module")
def bench() -> Iterator[ModuleType]:
    yield from benchmark_module("bench_build")


def test_a_run_measures_builds_rebuilds_and_pairs_and_leaves_no_site(
    bench: ModuleType, tmp_path: Path
) -> None:
    sites = tmp_path / "sites"
    sites.mkdir()
    r = bench.run("S", tmp_path, sites, jobs_one=True, check=True, pairs=2)
    assert r["cold"]["pages"] > 100 and r["cold"]["graphs"] > 50
    assert r["rebuild_one"]["reused"] > 0 and r["identical"] is True
    assert r["rebuild_appended"]["reused"] > 0 and r["identical_appended"] is True
    assert r["layout_alone"] > 0 and r["layout_alone_every_core"] > 0
    assert r["cold_one_job"]["jobs"] == 1
    assert len(r["pairs"]) == 2 and all(one > 0 and every > 0 for one, every in r["pairs"])
    assert r["source_changed"] is False  # the same code from the first build to the last
    # The CPU of the whole tree counts the workers': on more than one core, more than the build process's own.
    cold = r["cold"]
    assert cold["work"]["layout"] > 0 and cold["cpu"] >= cold["cpu_own"] > 0
    if cold["jobs"] > 1:
        assert cold["cpu"] > cold["cpu_own"]
    left = sorted(p.name for p in sites.iterdir())
    assert left and all(name.endswith(".lock") for name in left)  # every site and cache: gone (not locks)
    row = bench._row(r)
    assert row.startswith("| S | ") and row.count("|") == bench.HEADER.count("|")
    assert "; pairs " in row


def test_a_builds_peak_is_its_own_not_that_of_the_process_that_started_it(
    bench: ModuleType, tmp_path: Path
) -> None:
    """Linux keeps a process's ru_maxrss across exec: a build started by a benchmark holding two sites'
    bytes (its --check) read as the benchmark's size, 1.3 GB, not its own."""
    held = bytearray(512 * 1024 * 1024)
    for page in range(0, len(held), 4096):  # resident, page by page
        held[page] = 1
    samples = Path(__file__).resolve().parent.parent / "sample_manifests"
    r = bench._build(samples, tmp_path / "site")
    assert r["pages"] > 10 and 0 < r["peak_mib"] < 400, r["peak_mib"]
    del held


def test_the_speed_up_is_the_median_of_the_pairs_beside_the_single_run(bench: ModuleType) -> None:
    r = {"cold": {"seconds": 10.0}, "cold_one_job": {"seconds": 17.0}}
    assert bench._speedup(r) == "1.70x"
    r["pairs"] = [(18.0, 10.0), (9.0, 10.0), (17.5, 10.0)]
    assert bench._speedup(r) == "1.70x; pairs 1.75x (1.80, 0.90, 1.75)"
    assert bench._speedup({"cold": {"seconds": 1.0}}) == ""


def test_the_cpu_besides_layout_is_set_against_layout(bench: ModuleType) -> None:
    build = {"cpu": 30.0, "work": {"layout": 12.0}}
    assert bench._besides_layout(build) == "30.0 / 18.0 (1.50x)"
    assert bench._besides_layout({"work": {"layout": 12.0}}) == ""  # figures from before it was measured
    assert bench._besides_layout({"cpu": 1.0, "work": {}}) == ""  # nothing was laid out


def test_layout_alone_on_every_core_is_set_against_layout_alone(bench: ModuleType) -> None:
    assert bench._layout_speedup({"layout_alone": 12.0, "layout_alone_every_core": 7.5}) == "7.5 (1.60x)"
    assert bench._layout_speedup({"layout_alone": 12.0}) == ""  # figures from before it was measured


def test_the_source_of_a_checkout_changes_with_its_code(bench: ModuleType, tmp_path: Path) -> None:
    """What a run compares before and after: the digest of the code a build imports, from the checkout."""
    root = Path(__file__).resolve().parent.parent
    shutil.copytree(root / "reportgen", tmp_path / "reportgen", ignore=shutil.ignore_patterns("__pycache__"))
    first = bench.source_of(tmp_path)
    assert bench.source_of(tmp_path) == first
    assert bench.source_of() != "" and bench.source_of(root) == bench.source_of()
    with (tmp_path / "reportgen" / "site.py").open("a") as edited:
        edited.write("# an edit while a benchmark runs\n")
    assert bench.source_of(tmp_path) != first


def test_a_size_whose_code_changed_is_named_and_fails_the_run(
    bench: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def measured(size: str, *args: object) -> dict[str, object]:
        return {"size": size, "source_changed": size == "M"}

    monkeypatch.setattr(bench, "run", measured)
    monkeypatch.setattr(bench, "_row", lambda r: f"| {r['size']} |")
    figures = tmp_path / "figures.json"
    assert bench.main(["--sizes", "S", "M", "--json", str(figures)]) == 1
    out = capsys.readouterr().out
    assert "| M |\n" + bench.changed_warning("M") + "\n" in out and bench.changed_warning("S") not in out
    assert figures.is_file()  # the figures are still written, with which size changed
    monkeypatch.setattr(bench, "run", lambda size, *args: {"size": size, "source_changed": False})
    assert bench.main(["--sizes", "S"]) == 0
