"""Draw every graph and render every page into the staging folder, on every core, in one stage.

Forked worker processes inherit the organisation, a graph ``Drawer`` (with the compiled Graphviz module)
and the compiled templates; nothing is pickled their way. Each unit of work (an artifact version's or a
run's pages) is drawn and rendered by one worker: the graph is laid out, shown on the page and written
as an .svg file by the process that drew it, and never crosses a pipe. A collection's pages show the
graphs of its versions: those graphs travel packed to the parent, and on to the worker that renders the
collection, once every artifact and run is done. Workers write their files straight into the staging
folder; the parent adopts them into the site's file list in page order, so the output does not depend
on how the work was shared out. The artifacts and runs of a large site are taken in lineage order, and
the workers share them out by region: each draws neighbouring graphs, whose nodes it describes once.
Units whose inputs did not change since the last build (see ``incremental``) are not rendered: their
files are hard-linked from the last site, by a thread of the parent, or before this stage by a process
the build forks while it loads (``incremental.link_ahead``).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

import jinja2

from reportgen.assembled import Layout, assemble, unit_pieces
from reportgen.incremental import NodeDigests, Reuse, StoredFile, StoredUnit, intact, link_files
from reportgen.layout import (
    Drawer,
    Drawing,
    GraphCache,
    GraphFailure,
    LayoutOptions,
    PackedGraph,
    Progress,
    hold_drawing,
    keep_drawings,
)
from reportgen.lineage import NodeKey
from reportgen.model import ArtifactRef, Organisation
from reportgen.paths import (
    artifact_page,
    audit_month_page,
    collection_page,
    collection_version_page,
    node_page,
    run_page,
)
from reportgen.render import standalone_svg
from reportgen.site import (
    DrawnGraph,
    Planner,
    Unit,
    unit_focuses,
    unit_graph,
    unit_pages,
    unit_versions,
    units,
)
from reportgen.templating import compile_all, render_page, stream_page
from reportgen.timeline import events_csv, events_json
from reportgen.views import Site
from reportgen.workers import Regions, can_fork, cpu_count, fork_pool, young_collections_spaced
from reportgen.write import Staged, WriteError, put_file, staged_paths

log = logging.getLogger(__name__)
T = TypeVar("T")

# A file of the whole organisation besides its pages (the audit downloads, the report...): its path in the
# site, and what makes its bytes (or its parts in turn).
Extra = tuple[str, Callable[[], bytes | Iterator[bytes]]]

_IN_PROCESS_BELOW = 64  # pages (or units in the whole site); fewer are not worth starting workers for
# Units whose pages grow with the organisation (all its actions, or a collection's): streamed to their files.
_GROWING = frozenset({"index", "audit", "audit-month", "collection"})
_WHOLE = frozenset({"index", "audit", "audit-month"})  # each a task of its own: they take the longest
# Units whose pages show graphs drawn for other units' pages (their versions'): rendered after those.
_SHOWING = frozenset({"collection", "versions"})
# Artifacts and runs to render from which they are put in lineage order (``lineage_order``): fewer are
# left in page order (a rebuild's few would walk the whole lineage around them for little).
_LINEAGE_ORDER_FROM = 256


@dataclass(slots=True)
class EmitStats:
    """Seconds spent in each part of the stage, summed over the processes that did it."""

    lineage: float = 0.0  # a graph's neighbourhood, DOT, cache and titles
    layout: float = 0.0  # Graphviz
    plan: float = 0.0
    templates: float = 0.0
    write: float = 0.0
    other: float = 0.0  # the organisation's other files (``extra``), made and written
    jobs: int = 1

    def add(self, other: EmitStats) -> None:
        self.lineage += other.lineage
        self.layout += other.layout
        self.plan += other.plan
        self.templates += other.templates
        self.write += other.write
        self.other += other.other


@dataclass(slots=True)
class _Batch:
    at: int = -1  # the chunk it did, of ``_Job.chunks``
    units: list[tuple[int, tuple[StoredFile, ...]]] = field(default_factory=list)
    drawings: list[Drawing] = field(default_factory=list)
    shown: dict[NodeKey, PackedGraph | DrawnGraph] = field(default_factory=dict)  # graphs collections show
    stats: EmitStats = field(default_factory=EmitStats)
    extra: list[tuple[int, StoredFile]] = field(default_factory=list)  # (its place in ``extra``, the file)
    pieces: list[tuple[int, dict[str, bytes]]] = field(default_factory=list)  # units' pieces (see assembled)


@dataclass(slots=True)
class Rendered:
    """What the stage wrote and drew: each unit's files in site order, each graph drawn, the time it took."""

    files: list[tuple[StoredFile, ...]]
    drawings: dict[NodeKey, Drawing]  # in the order the site lists their pages
    stats: EmitStats
    extra: list[StoredFile] = field(default_factory=list)  # the files ``extra`` made, in its order
    assembled: list[StoredFile] = field(default_factory=list)  # the files assembled from units' pieces
    pieces: list[tuple[tuple[str, int, int], ...]] = field(default_factory=list)  # where, by unit
    reused: Mapping[int, StoredUnit] = field(default_factory=dict)  # the units taken from the last build

    def errors(self) -> tuple[str, ...]:
        """Return why each graph that could not be drawn was not, in page order."""
        return tuple(d.error for d in self.drawings.values() if d.error)


def _page_count(org: Organisation, unit: Unit) -> int:
    """Return how many pages a unit renders."""
    return (0 if unit.kind == "versions" else 1) + len(unit_versions(org, unit))


def unit_paths(org: Organisation, unit: Unit) -> Collection[str]:
    """Return every path a unit's files may have in the site: its pages, its graph file, a collection's
    history downloads. No two units share one, and none is the index's, the audit log's first page's
    or an asset's."""
    if unit.kind == "collection":
        c = org.collections[unit.key].collection
        page = collection_page(c.registry, c.name)
        stem = page.removesuffix(".html")
        versions = (collection_version_page(c.registry, c.name, n) for n in unit_versions(org, unit))
        return frozenset((page, *versions, f"{stem}.history.csv", f"{stem}.history.json"))
    if unit.kind == "versions":
        c = org.collections[unit.key].collection
        return frozenset(collection_version_page(c.registry, c.name, n) for n in unit_versions(org, unit))
    if unit.kind == "audit-month":
        return (audit_month_page(unit.key),)
    if unit.kind == "artifact":
        assert unit.ref is not None
        page = artifact_page(unit.ref)
    elif unit.kind == "run":
        page = run_page(unit.key)
    else:
        return ()
    return (page, page.removesuffix(".html") + ".svg")


def unit_files(
    org: Organisation, graphs: Mapping[NodeKey, DrawnGraph], unit: Unit
) -> list[tuple[str, bytes]]:
    """Return a unit's files besides its pages: a node's graph as .svg, a collection's history downloads."""
    if unit.kind == "collection":
        history = org.collections[unit.key]
        stem = collection_page(history.collection.registry, history.collection.name).removesuffix(".html")
        return [
            (f"{stem}.history.csv", events_csv(history.events)),
            (f"{stem}.history.json", events_json(history.events)),
        ]
    key = unit_graph(unit)
    drawn = graphs.get(key) if key is not None else None
    if key is None or drawn is None or drawn.error:
        return []
    return [(drawn.svg_file, svg_file_text(drawn.svg, node_page(key)).encode("utf-8"))]


def svg_file_text(svg: str, page: str) -> str:
    """Return a graph drawn for ``page`` as a standalone .svg file beside it: its links are relative to
    the page already (see ``layout.graph_source``); its anchors are made the page's."""
    name = page.rsplit("/", 1)[-1]
    svg = svg.replace('xlink:href="#', f'xlink:href="{name}#')
    return standalone_svg(svg)


@dataclass(frozen=True, slots=True)
class _Job:
    planner: Planner
    drawer: Drawer
    drawn: dict[NodeKey, DrawnGraph]  # the graphs of the unit being rendered (the planner's mapping)
    shown: frozenset[NodeKey]  # the graphs collections show: sent on to the worker that renders them
    pack: bool  # whether they cross a pipe (from a worker), or stay in this process
    env: jinja2.Environment
    staged: Staged  # where a site path is written in the staging folder (``write.staged_paths``)
    units: Sequence[Unit]
    extra: Sequence[Extra]
    chunks: Sequence[Sequence[int]] = ()  # the artifacts' and runs' units, a chunk a task (``_claimed``)
    regions: Regions | None = None  # how the workers share the chunks out


def _emit(
    job: _Job, indexes: Sequence[int], given: Mapping[NodeKey, PackedGraph | DrawnGraph] | None = None
) -> _Batch:
    """Draw the graphs of some units, then render and write their pages (and graph files).

    ``given`` holds graphs drawn by other units (for collections); the others are drawn here. Without
    it (artifacts and runs), the graphs collections show are sent back with the batch. A graph that
    cannot be drawn stops the batch, unless the build is to keep going (its pages then say why it is
    missing). The batch's graphs are all drawn before its pages render, their layouts back to back
    (``Drawer.draw_all``): Graphviz keeps its code and memory in the processor's caches (interleaved
    with pages, layout took a fifth longer; with each graph's other work, 15% longer).
    """
    batch = _Batch()
    stats = batch.stats
    clock = time.perf_counter
    drawer, drawn, org = job.drawer, job.drawn, job.planner.org
    keep_going = drawer.options.keep_going
    lineage, layout = drawer.lineage, drawer.layout
    graphs: dict[NodeKey, DrawnGraph] = {}
    try:
        to_draw: dict[NodeKey, None] = {}  # in page order, each once
        for i in indexes:
            for focus in unit_focuses(org, job.units[i]):
                graph = given.get(focus) if given is not None else None
                if graph is not None:
                    graphs[focus] = graph.unpack() if isinstance(graph, PackedGraph) else graph
                else:
                    to_draw[focus] = None
        for focus, (graphs[focus], drawing) in zip(to_draw, drawer.draw_all(list(to_draw)), strict=True):
            batch.drawings.append(drawing)
            if drawing.error and not keep_going:  # the parent stops the build on it
                return batch
            if given is None and focus in job.shown:
                batch.shown[focus] = PackedGraph.pack(graphs[focus]) if job.pack else graphs[focus]
        stats.lineage += drawer.lineage - lineage
        stats.layout += drawer.layout - layout
        for i in indexes:
            unit = job.units[i]
            drawn.clear()
            drawn.update((focus, graphs[focus]) for focus in unit_focuses(org, unit))
            files: list[StoredFile] = []
            for page in _timed(unit_pages(job.planner, unit), stats, "plan"):
                if unit.kind in _GROWING:  # written as it renders: it may be huge
                    html: bytes | Iterator[bytes] = _timed(stream_page(job.env, page), stats, "templates")
                else:
                    mark = clock()
                    html = render_page(job.env, page)
                    stats.templates += clock() - mark
                files.append(_put(job.staged, page.path, html, True, stats))
            for path, data in unit_files(org, drawn, unit):
                files.append(_put(job.staged, path, data, False, stats))
            batch.units.append((i, tuple(files)))
            mark = clock()
            pieces = unit_pieces(job.planner, unit)
            if pieces:
                batch.pieces.append((i, pieces))
            stats.other += clock() - mark
    finally:
        drawn.clear()
    return batch


def _timed(items: Iterator[T], stats: EmitStats, part: str) -> Iterator[T]:
    """Yield the items (never None), adding the time each took to make to ``part`` of ``stats``."""
    clock = time.perf_counter
    while True:
        mark = clock()
        item = next(items, None)
        setattr(stats, part, getattr(stats, part) + clock() - mark)
        if item is None:
            return
        yield item


def _put(
    staged: Staged, relative: str, data: bytes | Iterator[bytes], page: bool, stats: EmitStats
) -> StoredFile:
    mark, rendered = time.perf_counter(), stats.templates
    path, name = staged(relative)
    digest, st = put_file(path, data)
    stats.write += time.perf_counter() - mark - (stats.templates - rendered)  # a page renders as it goes
    return StoredFile(name, digest, page, st.st_ino, st.st_size, st.st_mtime_ns)


def _make_extra(job: _Job, which: Sequence[int]) -> _Batch:
    """Make and write some of the organisation's other files (``job.extra``, by their places)."""
    batch = _Batch()
    for k in which:
        mark = time.perf_counter()
        path, make = job.extra[k]
        batch.extra.append((k, _put(job.staged, path, make(), False, EmitStats())))
        batch.stats.other += time.perf_counter() - mark
    return batch


# What forked workers inherit: set by emit_pages just before the pool starts.
_SHARED: _Job | None = None
# A worker's task: units' pages to render (by index, with the graphs they are given), or other files.
_Task = tuple[Sequence[int], Mapping[NodeKey, PackedGraph | DrawnGraph] | None] | tuple[Sequence[int], str]


def _work(task: _Task) -> _Batch:
    assert _SHARED is not None
    which, given = task
    if given == "claim":
        return _claimed(_SHARED)
    if isinstance(given, str):
        return _make_extra(_SHARED, which)
    return _emit(_SHARED, which, given)


def _claimed(job: _Job) -> _Batch:
    """Draw and render the next chunk of artifacts and runs this worker takes (``Regions.take``).

    A graph that cannot be drawn stops the build (unless it is to keep going) at the first chunk, in
    work order, with one that cannot: no worker takes a chunk after it any more, and those before it
    are still done, whoever took them.
    """
    assert job.regions is not None
    at = job.regions.take()
    if at is None:
        return _Batch()
    batch = _emit(job, job.chunks[at])
    batch.at = at
    if not job.drawer.options.keep_going and any(d.error for d in batch.drawings):
        job.regions.stop_at(at + 1)
    return batch


def _chunks(indexes: Sequence[int], jobs: int) -> list[Sequence[int]]:
    size = max(4, min(100, len(indexes) // (jobs * 16) or 1))
    return [indexes[start : start + size] for start in range(0, len(indexes), size)]


def lineage_order(org: Organisation, work: Sequence[Unit], indexes: Sequence[int]) -> list[int]:
    """Return ``indexes`` (units of ``work``) with the artifact versions and runs in lineage order: a walk
    outward from each in turn (breadth first, over the runs and the versions they used and logged), so
    that units whose graphs draw the same nodes come together. Other units keep their places at the front.

    A process describes each node once for all the graphs it draws (``Drawer.memo``, the planner's
    cards): in page order, which lists every artifact version before any run, each worker described
    most of the organisation's nodes again (at L, about 37,000 node statements on two workers against
    29,400 in one process, and 1.7 times the nodes' titles and cards).
    """
    at: dict[ArtifactRef | str, int] = {}
    order: list[int] = []
    for i in indexes:
        unit = work[i]
        if unit.kind == "artifact" and unit.ref is not None:
            at[unit.ref] = i
        elif unit.kind == "run":
            at[unit.key] = i
        else:
            order.append(i)
    seen: set[ArtifactRef | str] = set()
    runs = org.runs
    for start in at:
        if start in seen:
            continue
        seen.add(start)
        queue: deque[ArtifactRef | str] = deque((start,))
        while queue:
            node = queue.popleft()
            found = at.get(node)
            if found is not None:
                order.append(found)
            if isinstance(node, str):
                run = runs[node]
                near: Iterable[ArtifactRef | str] = (*run.inputs, *run.outputs)
            else:
                near = org.runs_near(node)
            for other in near:
                if other not in seen:
                    seen.add(other)
                    queue.append(other)
    return order


def emit_pages(
    org: Organisation,
    site: Site,
    env: jinja2.Environment,
    staging: Path,
    layout: LayoutOptions,
    reuse: Reuse | None = None,
    meanwhile: Callable[[], None] | None = None,
    progress: Progress | None = None,
    extra: Sequence[Extra] = (),
    assembled: Mapping[str, Layout] | None = None,
    work: Sequence[Unit] | None = None,
    nodes: NodeDigests | None = None,
) -> Rendered:
    """Draw the graphs and write the pages and graph files of every unit into ``staging``, the
    organisation's ``extra`` files, and the files ``assembled`` from the units' pieces (see
    ``assembled``). ``work``: the organisation's units, if the caller has them (``site.units``).
    ``nodes``: the digests of its nodes, if the caller made them (``Fingerprints.nodes``), for the
    digests of what pages show of each graph (``GraphDigests``): workers inherit them.

    A rebuild ``reuse``s the units of the previous site whose inputs did not change: their files are
    hard-linked from it by a thread of this process while the pages render (unless they are linked
    into ``staging`` already), and their pieces are taken from its assembled files. ``meanwhile`` runs
    in this process while the workers render. The ``extra`` files are made by workers too, after the
    index and the audit log: a rebuild that renders few pages makes them on every core. The graph
    cache keeps the graphs drawn now and those of reused units. The artifacts and runs are drawn and
    rendered in lineage order once there are ``_LINEAGE_ORDER_FROM`` of them (``lineage_order``), shared
    out among the workers by region (``Regions``). Raises ``GraphFailure`` on the first graph, in that
    order, that cannot be drawn, unless the layout options say to keep going.
    """
    global _SHARED

    assembled = assembled or {}
    work = list(work) if work is not None else units(org)
    reused: Mapping[int, StoredUnit] = reuse.units if reuse is not None else {}
    done: list[tuple[StoredFile, ...] | None] = [None] * len(work)
    todo = [i for i in range(len(work)) if i not in reused]
    # Artifacts and runs (and the index and audit log) first; then the collections, which show graphs
    # drawn for their versions' pages.
    first = [i for i in todo if work[i].kind not in _SHOWING]
    then = [i for i in todo if work[i].kind in _SHOWING]
    in_page_order = [unit_graph(work[i]) for i in first]  # the graphs drawn first, for Rendered.drawings
    if len(first) >= _LINEAGE_ORDER_FROM:
        first = lineage_order(org, work, first)
    shown = frozenset(f for i in then for f in unit_focuses(org, work[i]))

    new_site = staged_paths(staging)

    def link() -> None:  # hard links are system calls: a thread makes them while this one renders
        if reuse is not None:
            old_site = staged_paths(reuse.previous)
            for i, stored in reused.items():
                done[i] = stored.files if reuse.linked else link_files(old_site, new_site, stored.files)

    drawer = Drawer(org, layout, nodes)
    drawn: dict[NodeKey, DrawnGraph] = {}
    jobs = layout.jobs or cpu_count()
    pages = sum(_page_count(org, work[i]) for i in todo)
    # A rebuild of a large site renders few pages, but its index and audit log show the whole
    # organisation: workers render them, and make its other files, while this process links the rest.
    big = pages >= _IN_PROCESS_BELOW or (len(work) >= _IN_PROCESS_BELOW and len(todo) > 1)
    forked = jobs > 1 and big and can_fork()
    job = _Job(Planner(org, site, drawn), drawer, drawn, shown, forked, env, new_site, work, extra)
    rendered = Rendered([], {}, EmitStats(jobs=jobs if forked else 1))
    collect = _Collector(done, rendered, layout.keep_going, len(todo), progress, len(extra), drawer.cache)
    try:  # the cache lets go of the graphs it holds, whatever happens
        if not forked:
            with _alongside(link), young_collections_spaced():
                if meanwhile is not None:
                    meanwhile()
                collect([_make_extra(job, range(len(extra)))])
                collect(_emit(job, chunk) for chunk in _chunks(first, 1))  # a chunk's graphs at a time
                _reorder(rendered.drawings, in_page_order)
                collect(_emit(job, chunk, collect.shown) for chunk in _chunks(then, 1))
        else:
            compile_all(env)  # once, before the fork: every worker inherits them compiled
            if reuse is None:  # a first build lays out most of its graphs: Graphviz loaded once, for all
                drawer.load()
            # The index and the audit log's pages, each a chunk of its own: they take the longest. Then
            # the other files, one a task. Then the artifacts and runs, in chunks the workers share out
            # by region (``Regions``): each draws neighbouring graphs, whose nodes it describes once.
            whole = [i for i in first if work[i].kind in _WHOLE]
            chunks = _chunks([i for i in first if work[i].kind not in _WHOLE], jobs)
            _SHARED = job = replace(job, chunks=chunks, regions=Regions(len(chunks), jobs))
            try:
                with fork_pool(jobs) as pool:
                    others: list[_Task] = [([k], "extra") for k in range(len(extra))]
                    claims: list[_Task] = [((), "claim")] * len(chunks)
                    batches = pool.imap(_work, [([i], None) for i in whole] + others + claims)
                    with _alongside(link):  # started after the fork: no worker inherits a thread mid-call
                        if meanwhile is not None:
                            meanwhile()
                        collect(batches)
                        collect.fail_first()
                        _reorder(rendered.drawings, in_page_order)
                        tasks = [
                            (
                                chunk,
                                {
                                    f: collect.shown[f]
                                    for i in chunk
                                    for f in unit_focuses(org, work[i])
                                    if f in collect.shown
                                },
                            )
                            for chunk in _chunks(then, jobs)
                        ]
                        collect(pool.imap(_work, tasks))
            finally:
                _SHARED = None
        if layout.cache is not None:
            keep = [s.graph_key for s in reused.values() if s.graph_key]  # graphs of reused pages
            keep_drawings(drawer.cache, rendered.drawings.values(), keep)
    finally:
        drawer.cache.close()
    rendered.files = [files or () for files in done]
    rendered.extra = [f for f in collect.extra if f is not None]
    rendered.reused = reused
    mark = time.perf_counter()
    rendered.assembled, rendered.pieces = _assemble(job, assembled, collect.pieces, reuse)
    rendered.stats.other += time.perf_counter() - mark
    return rendered


def _reorder(drawings: dict[NodeKey, Drawing], order: Iterable[NodeKey | None]) -> None:
    """Put ``drawings`` in ``order``; those it does not name follow, as they were."""
    ordered = {key: drawings.pop(key) for key in order if key is not None and key in drawings}
    ordered.update(drawings)
    drawings.clear()
    drawings.update(ordered)


def _assemble(
    job: _Job, layouts: Mapping[str, Layout], made: Mapping[int, dict[str, bytes]], reuse: Reuse | None
) -> tuple[list[StoredFile], list[tuple[tuple[str, int, int], ...]]]:
    """Put the assembled files together from the units' pieces: those made now, those of reused units
    from the last build's file where it is still as that build wrote it, and any other made here.

    Return the files and, by unit, where its pieces are in them.
    """
    files: list[StoredFile] = []
    placed: list[list[tuple[str, int, int]]] = [[] for _ in job.units]
    for path, layout in layouts.items():
        old = _old_file(reuse.previous, reuse.assembled.get(path)) if reuse is not None else None
        old = old or b""
        kept = {  # where the reused units' pieces are in the old file
            i: (at, n)
            for i, s in (reuse.units.items() if reuse is not None else ())
            for name, at, n in s.pieces
            if name == path and at + n <= len(old)
        }

        def piece(
            i: int, path: str = path, old: bytes = old, kept: dict[int, tuple[int, int]] = kept
        ) -> bytes:
            data = made.get(i, {}).get(path)
            if data is None:
                if i in kept:
                    at, n = kept[i]
                    return old[at : at + n]
                # not kept, or the last build's file is gone or was changed: made here
                data = unit_pieces(job.planner, job.units[i])[path]
            return data

        parts, where = assemble(layout, job.units, piece)
        files.append(_put(job.staged, path, _blocks(parts), False, EmitStats()))
        for i in where:  # the pieces made now are not needed any more: at XL, the report is 70 MB
            made.get(i, {}).pop(path, None)
        del parts
        for i, (at, n) in where.items():
            placed[i].append((path, at, n))
    return files, [tuple(p) for p in placed]


def _blocks(parts: list[bytes], size: int = 1 << 20) -> Iterator[bytes]:
    """Yield ``parts`` joined into blocks of about ``size`` bytes: one write a block, not one a piece
    (15,000 of them at L), and never the whole file joined in memory."""
    block: list[bytes] = []
    held = 0
    for part in parts:
        block.append(part)
        held += len(part)
        if held >= size:
            yield b"".join(block)
            block, held = [], 0
    if block:
        yield b"".join(block)


def _old_file(previous: Path, stored: StoredFile | None) -> bytes | None:
    """Return a file of the last site, if it is still as the last build wrote it."""
    old_site = staged_paths(previous)
    if stored is None or not intact(old_site, [stored]):
        return None
    try:
        path, _ = old_site(stored.path)
        with open(path, "rb") as f:
            data = f.read()
    except (OSError, WriteError):
        return None
    return data if len(data) == stored.size else None


class _Collector:
    """Take the workers' batches in page order: their files, their graphs, the first graph that failed."""

    def __init__(
        self,
        done: list[tuple[StoredFile, ...] | None],
        rendered: Rendered,
        keep_going: bool,
        total: int,
        progress: Progress | None,
        extra: int,
        cache: GraphCache,
    ) -> None:
        self.done, self.rendered, self.keep_going = done, rendered, keep_going
        self.cache = cache  # holds the graphs laid out now until the build keeps them (``hold_drawing``)
        self.total, self.progress = total, progress
        self.extra: list[StoredFile | None] = [None] * extra
        self.shown: dict[NodeKey, PackedGraph | DrawnGraph] = {}
        self.pieces: dict[int, dict[str, bytes]] = {}  # units' pieces of the assembled files, by unit
        self.count = 0
        self.failed: list[tuple[int, str]] = []  # claimed chunks whose graph failed, and why (fail_first)

    def __call__(self, batches: Iterable[_Batch]) -> None:
        drawings = self.rendered.drawings
        for batch in batches:
            for drawing in batch.drawings:
                if drawing.error:
                    if not self.keep_going:
                        if batch.at < 0:  # batches come in work order: this is the first failure
                            raise GraphFailure(drawing.error)
                        self.failed.append((batch.at, drawing.error))  # a chunk before it may fail too
                        continue
                    log.warning("%s", drawing.error)
                if drawing.focus not in drawings:
                    drawings[drawing.focus] = hold_drawing(self.cache, drawing)
            for i, files in batch.units:
                self.done[i] = files
            for k, f in batch.extra:
                self.extra[k] = f
            self.pieces.update(batch.pieces)
            self.shown.update(batch.shown)
            self.rendered.stats.add(batch.stats)
            self.count += len(batch.units)
            if self.progress is not None:
                self.progress(self.count, self.total)

    def fail_first(self) -> None:
        """Raise the failure of the first claimed chunk, in work order, that had one (``_claimed``)."""
        if self.failed:
            raise GraphFailure(min(self.failed)[1])


@contextlib.contextmanager
def _alongside(task: Callable[[], None]) -> Iterator[None]:
    """Run ``task`` in a thread while the body runs; wait for it, and raise what it raised, on leaving."""
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="reportgen-link") as pool:
        running = pool.submit(task)
        try:
            yield
        finally:
            error = running.exception()  # waits: the thread writes into the staging folder
        if error is not None:
            raise error
