"""benchmarks/bench_baselines.py at a tiny size: every approach draws every graph, the table has every row."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from factories import benchmark_module

pytest.importorskip("pydot")
pytest.importorskip("prov.dot", reason="prov's Graphviz export needs prov[dot] (pip install -e '.[bench]')")
if shutil.which("dot") is None:
    pytest.skip("Graphviz's dot is not on PATH", allow_module_level=True)


@pytest.fixture(scope="module")
def bench() -> Iterator[ModuleType]:
    yield from benchmark_module("bench_baselines")


@pytest.fixture(scope="module")
def org(bench: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Any:
    return bench.load_organisation("S", tmp_path_factory.mktemp("bench"))


def test_every_approach_draws_every_sampled_graph(bench: ModuleType, org: Any) -> None:
    every = bench.graph_focuses(org)
    focuses = bench.sample(every, 5)
    assert len(focuses) == 5 and len(set(focuses)) == 5
    assert focuses[0] == every[0] and focuses == bench.sample(every, 5)  # deterministic
    # Both kinds of page: artifact versions come first in the focuses, runs after.
    assert {f.kind for f in focuses} == {bench.NodeKind.ARTIFACT, bench.NodeKind.RUN}

    timings, graphs = bench.run(org, focuses, block=2)

    assert [g.focus for g in graphs] == focuses
    assert set(timings) == set(bench.APPROACHES)
    bench.check(timings, graphs)  # raises unless each SVG parses and has one node per vertex
    for timing in timings.values():
        assert timing.seconds > 0
        assert len(timing.svgs) == 5
        assert all(bench.svg_nodes(svg) == g.size for svg, g in zip(timing.svgs, graphs, strict=True))
    table = bench.table(timings, len(focuses))
    assert len(table) == 2 + len(bench.APPROACHES)
    for name, row in zip(bench.APPROACHES, table[2:], strict=True):
        assert row.startswith(f"| {name} | 5 |") and row.count("x |") == 3
    assert any(line.startswith("- embedded Graphviz") for line in bench.machine())


def test_prov_document_has_the_neighbourhood(bench: ModuleType, org: Any) -> None:
    from prov.model import ProvActivity, ProvEntity, ProvGeneration, ProvUsage

    from reportgen.lineage import neighbourhood

    focuses = bench.graph_focuses(org)
    graph = max(
        (neighbourhood(org, f, bench.GraphOptions()) for f in focuses[:: len(focuses) // 20]),
        key=lambda g: g.size,
    )
    records = bench.prov_document(org, graph).get_records()
    kinds = [type(r) for r in records]
    artifacts = sum(v.kind is bench.NodeKind.ARTIFACT for v in graph.vertices)
    assert kinds.count(ProvEntity) == artifacts
    assert kinds.count(ProvActivity) == graph.size - artifacts
    assert kinds.count(ProvUsage) + kinds.count(ProvGeneration) == len(graph.edges)


def test_names_are_escaped_for_prov(bench: ModuleType) -> None:
    assert bench.prov_name("churn-raw:v3") == "churn-raw:v3"
    assert bench.prov_name("run/ab c%") == "run/ab%20c%25"
