"""The paired benchmark builds with two checkouts in turn, each its own code, and sets B against A."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from factories import benchmark_module

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def bench() -> Iterator[ModuleType]:
    yield from benchmark_module("bench_pairs")


def _record(round_: int, checkout: str, seconds: float, cpu: float, layout: float) -> dict[str, object]:
    work = {
        "lineage": layout / 4,
        "layout": layout,
        "plan": layout / 5,
        "templates": layout / 2,
        "write": 1.0,
    }
    return {
        "round": round_,
        "checkout": checkout,
        "cold": {"seconds": seconds, "cpu": cpu, "work": work},
        "rebuild": {"seconds": seconds / 10},
    }


def test_the_summary_sets_the_medians_and_each_rounds_ratio_of_b_against_a(bench: ModuleType) -> None:
    records = [
        _record(1, "A", 40.0, 75.0, 30.0),
        _record(1, "B", 36.0, 69.0, 30.0),  # a round: B takes 0.9 of A's time, minutes apart
        _record(2, "B", 44.0, 80.0, 32.0),  # a slow spell: both rounds' builds slower
        _record(2, "A", 50.0, 88.0, 32.0),
        _record(3, "A", 41.0, 76.0, 30.0),
        _record(3, "B", 39.0, 72.0, 30.0),
    ]
    table = bench.summary(records).splitlines()
    assert table[0].startswith("|  | cold s | CPU s | besides ÷ layout |") and table[0].endswith(
        "rebuild +1 action s |"
    )
    a, b, rounds, medians = table[2:]
    assert a.startswith("| A, median of 3 | 41.00 | 76.00 | 1.533 |")  # (76 - 30) / 30
    assert b.startswith("| B, median of 3 | 39.00 | 72.00 | 1.400 |")
    assert rounds.startswith(
        "| B ÷ A, median of the rounds' ratios (each round's) | 0.900 (0.90, 0.88, 0.95) |"
    )
    assert medians.startswith("| B ÷ A, of the medians | 0.951 | 0.947 | 0.913 |")
    assert all(line.count("|") == table[0].count("|") for line in table)


def test_a_folder_that_is_not_a_checkout_is_refused(bench: ModuleType, tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        bench.main([str(tmp_path), str(ROOT)])


def test_a_build_that_would_import_another_reportgen_is_refused(bench: ModuleType, tmp_path: Path) -> None:
    fake = tmp_path / "fake"
    (fake / "reportgen").mkdir(parents=True)
    (fake / "reportgen" / "build.py").write_text("")  # no package: reportgen comes from elsewhere
    (fake / "templates").mkdir()
    assert bench.checkout(str(fake)) == fake
    with pytest.raises(subprocess.CalledProcessError) as caught:
        bench._build(tmp_path / "manifests", tmp_path / "site", checkout=fake)
    assert "not from the checkout" in caught.value.stderr
    assert not (tmp_path / "site").exists()


def test_a_run_builds_with_both_in_turn_and_leaves_nothing(
    bench: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    on = tmp_path / "not" / "there"  # made as it is needed, as `reportgen build -o` makes its folder
    argv = [str(ROOT), str(ROOT), "--size", "S", "--rounds", "2", "--rebuild", "--output-on", str(on)]
    assert bench.main([*argv, "--json", str(tmp_path / "figures.json")]) == 0
    out = capsys.readouterr().out
    builds = [line.split(":")[0].strip() for line in out.splitlines() if ": cold " in line]
    assert builds == ["round 1 A", "round 1 B", "round 2 B", "round 2 A"]  # neither always goes first
    rebuilds = [line.split(":")[0].strip() for line in out.splitlines() if "rebuild after" in line]
    assert rebuilds == builds
    assert "| B ÷ A, median of the rounds' ratios (each round's) | " in out
    assert [p.name for p in tmp_path.iterdir()] == ["figures.json", "not"]
    assert list(on.iterdir()) == []  # sites and caches removed


def test_b_may_build_on_one_process_and_without_the_cache(
    bench: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ``--jobs`` every build gets that many processes; with ``--no-cache-b`` B's builds keep no
    cache (A's do), and nothing is left behind either way."""
    asked: list[tuple[str, int, bool]] = []
    build = bench._build

    def spied(source: Path, output: Path, jobs: int = 0, cache: bool = True, checkout: Path | None = None):  # type: ignore[no-untyped-def]
        asked.append((output.name, jobs, cache))
        figures = build(source, output, jobs=jobs, cache=cache, checkout=checkout)
        assert output.with_name(f".{output.name}.cache").is_dir() is cache
        return figures

    monkeypatch.setattr(bench, "_build", spied)
    on = tmp_path / "sites"
    argv = [str(ROOT), str(ROOT), "--size", "S", "--rounds", "2", "--jobs", "1", "--no-cache-b"]
    assert bench.main([*argv, "--output-on", str(on)]) == 0
    assert asked == [("site-A", 1, True), ("site-B", 1, False), ("site-B", 1, False), ("site-A", 1, True)]
    out = capsys.readouterr().out
    assert "(without the cache)" in out and "1 process(es) a build" in out
    assert list(on.iterdir()) == []
    with pytest.raises(SystemExit):
        bench.main([*argv, "--rebuild"])  # a rebuild needs the cache the cold build kept
    with pytest.raises(SystemExit):
        bench.main([str(ROOT), str(ROOT), "--jobs", "-1"])


def test_a_checkout_whose_code_changed_during_the_run_is_named_and_fails_it(
    bench: ModuleType, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = iter(["a1", "b1", "a1", "b2"])  # A before, B before, A after, B after
    monkeypatch.setattr(bench, "source_of", lambda where: next(sources))
    monkeypatch.setattr(
        bench, "run", lambda *args: [_record(1, "A", 10.0, 20.0, 8.0), _record(1, "B", 9.0, 18.0, 8.0)]
    )
    assert bench.main([str(ROOT), str(ROOT), "--size", "S", "--rounds", "1"]) == 1
    out = capsys.readouterr().out
    assert bench.changed_warning("checkout B") in out and bench.changed_warning("checkout A") not in out
