#!/usr/bin/env python3
"""Benchmark one lineage graph: neighbourhood (with clusters and node budget) + DOT + Graphviz layout.

    python benchmarks/bench_graph.py               # every case, embedded renderer
    python benchmarks/bench_graph.py --renderer system --repeat 5
    python benchmarks/bench_graph.py --skip-deep   # leave out the slow deep pipeline

Cases (built by tests/factories.py through the real loader and validator; loading is not timed):

* ``wide-5000``: a connected set of 5,000 nodes, 40 runs per stage (about 62 stages), drawn with
  ``--full`` from a run in the middle: the node budget (400) has to cut it.
* ``wide-5000-default``: the same set at the default depth (2 hops each way).
* ``deep-5000``: 5,000 nodes, 6 runs per stage (about 416 stages), ``--full``: a long pipeline.
* ``fanout-200``: one dataset used by 200 `train` runs (each logging a model version), default depth:
  drawn as two cluster nodes.

For each case it prints the best of ``--repeat`` runs in seconds for each stage, the stage's share of
the total, and the total as a ratio of the one-second target of issue 3.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from factories import connected_manifest, fan_out, org_from_dict

from reportgen.draw import links_from
from reportgen.graphs import build_dot
from reportgen.lineage import GraphOptions, LineageGraph, focus_of, neighbourhood
from reportgen.model import Organisation
from reportgen.render import Renderer, get_renderer

TARGET_SECONDS = 1.0


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[], Organisation]
    focus: Callable[[Organisation], str]
    options: GraphOptions
    slow: bool = False


def middle_run(org: Organisation) -> str:
    ids = sorted(org.runs)
    return ids[len(ids) // 2]


CASES = (
    Case("wide-5000", lambda: org_from_dict(connected_manifest(5000)), middle_run, GraphOptions(full=True)),
    Case("wide-5000-default", lambda: org_from_dict(connected_manifest(5000)), middle_run, GraphOptions()),
    Case(
        "deep-5000",
        lambda: org_from_dict(connected_manifest(5000, width=6)),
        middle_run,
        GraphOptions(full=True),
        slow=True,
    ),
    Case("fanout-200", lambda: org_from_dict(fan_out(200)), lambda org: "data:v0", GraphOptions()),
)


@dataclass
class Timing:
    neighbourhood: float
    dot: float
    layout: float
    graph: LineageGraph
    svg_bytes: int

    @property
    def total(self) -> float:
        return self.neighbourhood + self.dot + self.layout


def measure(org: Organisation, ref: str, options: GraphOptions, renderer: Renderer) -> Timing:
    t0 = time.perf_counter()
    graph = neighbourhood(org, focus_of(org, ref), options)
    t1 = time.perf_counter()
    dot = build_dot(org, graph, name=ref, link=links_from("index.html"))
    t2 = time.perf_counter()
    svg = renderer.render_svg(dot, graph=ref, timeout=600)
    t3 = time.perf_counter()
    return Timing(t1 - t0, t2 - t1, t3 - t2, graph, len(svg))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--renderer", choices=("embedded", "system"), default="embedded")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case; the best is shown")
    parser.add_argument("--skip-deep", action="store_true", help="leave out the slow deep pipeline case")
    args = parser.parse_args()

    renderer = get_renderer(args.renderer)
    started = time.perf_counter()
    renderer.render_svg("digraph { a -> b }", graph="warm-up", timeout=600)
    warm_up = time.perf_counter() - started
    print(
        f"machine: {platform.machine()} {platform.system()} {platform.release()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(f"renderer: {args.renderer} (Graphviz {renderer.version()}), first render {warm_up:.3f} s\n")

    header = (
        f"{'case':<18} {'nodes':>5} {'drawn':>5} {'left out':>8} "
        f"{'lineage s':>9} {'DOT s':>7} {'layout s':>8} {'total s':>8}  "
        f"{'share lineage/DOT/layout':<25} {'vs 1 s':>6}"
    )
    print(header)
    print("-" * len(header))
    for case in CASES:
        if case.slow and args.skip_deep:
            continue
        org = case.build()
        ref = case.focus(org)
        repeat = 1 if case.slow else max(1, args.repeat)
        best = min((measure(org, ref, case.options, renderer) for _ in range(repeat)), key=lambda t: t.total)
        total = best.total
        shares = "/".join(
            f"{100 * part / total:.0f}%" for part in (best.neighbourhood, best.dot, best.layout)
        )
        print(
            f"{case.name:<18} {len(org.runs) + len(org.artifacts):>5} {best.graph.size:>5} "
            f"{best.graph.omitted:>8} {best.neighbourhood:>9.3f} {best.dot:>7.3f} {best.layout:>8.3f} "
            f"{total:>8.3f}  {shares:<25} {total / TARGET_SECONDS:>5.2f}x"
        )


if __name__ == "__main__":
    main()
