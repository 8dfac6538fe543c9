"""Render every page and graph file into the staging folder, on every core.

Pages are independent once the graphs are drawn, so they are rendered by forked worker processes that
inherit the organisation, the drawn graphs and the compiled templates (nothing is pickled but the list
of files each worker wrote and their checksums). A worker writes its files straight into the staging
folder; the parent adopts them into the site's file list in page order, so the output does not depend
on how the work was shared out. Units whose inputs did not change since the last build (see
``incremental``) are not rendered: a thread of the parent hard-links their files from the last site.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import multiprocessing
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from reportgen.incremental import StoredFile, StoredUnit
from reportgen.lineage import NodeKey
from reportgen.model import Organisation
from reportgen.paths import collection_page, node_page
from reportgen.render import standalone_svg
from reportgen.site import DrawnGraph, Planner, Unit, relink, root_of, unit_pages, units
from reportgen.templating import render_page
from reportgen.timeline import events_csv, events_json
from reportgen.views import Site
from reportgen.workers import fork_pool
from reportgen.write import link_file, put_file, staged_path

_IN_PROCESS_BELOW = 64  # pages; fewer are not worth starting workers for


@dataclass(slots=True)
class EmitStats:
    """Seconds spent in each part of the page stage, summed over the processes that did it."""

    plan: float = 0.0
    templates: float = 0.0
    write: float = 0.0
    jobs: int = 1

    def add(self, other: EmitStats) -> None:
        self.plan += other.plan
        self.templates += other.templates
        self.write += other.write


@dataclass(slots=True)
class _Batch:
    units: list[tuple[int, tuple[StoredFile, ...]]] = field(default_factory=list)
    stats: EmitStats = field(default_factory=EmitStats)


def unit_focuses(org: Organisation, unit: Unit) -> tuple[NodeKey, ...]:
    """Return the nodes whose graphs the unit's pages show."""
    if unit.kind == "collection":
        return tuple(NodeKey.of_artifact(v.artifact) for v in org.collections[unit.key].versions)
    key = unit_graph(unit)
    return () if key is None else (key,)


def unit_graph(unit: Unit) -> NodeKey | None:
    """Return the node whose graph file is written with this unit, if any."""
    if unit.kind == "artifact":
        assert unit.ref is not None
        return NodeKey.of_artifact(unit.ref)
    if unit.kind == "run":
        return NodeKey.of_run(unit.key)
    return None


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
    """Return a graph as a standalone .svg file beside ``page``: links relative to it, anchors on it."""
    name = page.rsplit("/", 1)[-1]
    svg = relink(svg, root_of(page)).replace('xlink:href="#', f'xlink:href="{name}#')
    return standalone_svg(svg)


@dataclass(frozen=True, slots=True)
class _Job:
    planner: Planner
    graphs: Mapping[NodeKey, DrawnGraph]
    env: jinja2.Environment
    staging: Path
    units: Sequence[Unit]


def _emit(job: _Job, indexes: Sequence[int]) -> _Batch:
    """Render and write the pages (and graph files) of some units."""
    batch = _Batch()
    stats = batch.stats
    clock = time.perf_counter
    for i in indexes:
        unit = job.units[i]
        files: list[StoredFile] = []
        pages = unit_pages(job.planner, unit)
        while True:
            mark = clock()
            page = next(pages, None)
            stats.plan += clock() - mark
            if page is None:
                break
            mark = clock()
            data = render_page(job.env, page).encode("utf-8")
            stats.templates += clock() - mark
            files.append(_put(job.staging, page.path, data, True, stats))
        for path, data in unit_files(job.planner.org, job.graphs, unit):
            files.append(_put(job.staging, path, data, False, stats))
        batch.units.append((i, tuple(files)))
    return batch


def _put(staging: Path, relative: str, data: bytes, page: bool, stats: EmitStats) -> StoredFile:
    mark = time.perf_counter()
    path, name = staged_path(staging, relative)
    digest, st = put_file(path, data)
    stats.write += time.perf_counter() - mark
    return StoredFile(name, digest, page, st.st_ino, st.st_size, st.st_mtime_ns)


def _reuse(site: Path, staging: Path, files: Sequence[StoredFile]) -> tuple[StoredFile, ...]:
    """Hard-link a unit's files from the previous site into the new one (copy them where links fail).

    A link is the file itself, so its record (inode, size, time) stands as ``intact`` checked it.
    """
    out = []
    for f in files:
        path, name = staged_path(staging, f.path)
        source, _ = staged_path(site, f.path)
        try:
            link_file(source, path)
        except OSError:  # no hard links here (another file system, too many links): copy it
            with open(source, "rb") as old:
                digest, st = put_file(path, old.read())
            f = StoredFile(name, digest, f.page, st.st_ino, st.st_size, st.st_mtime_ns)
        out.append(f if f.path == name else StoredFile(name, f.digest, f.page, f.inode, f.size, f.mtime_ns))
    return tuple(out)


# What forked workers inherit: set by emit_pages just before the pool starts.
_SHARED: _Job | None = None


def _work(indexes: Sequence[int]) -> _Batch:
    assert _SHARED is not None
    return _emit(_SHARED, indexes)


def _chunks(indexes: Sequence[int], jobs: int) -> list[Sequence[int]]:
    size = max(4, min(100, len(indexes) // (jobs * 16) or 1))
    return [indexes[start : start + size] for start in range(0, len(indexes), size)]


def emit_pages(
    org: Organisation,
    site: Site,
    graphs: Mapping[NodeKey, DrawnGraph],
    env: jinja2.Environment,
    staging: Path,
    jobs: int,
    reuse: Mapping[int, StoredUnit] | None = None,
    previous: Path | None = None,
    meanwhile: Callable[[], None] | None = None,
) -> tuple[list[tuple[StoredFile, ...]], EmitStats]:
    """Write every unit's pages and graph files into ``staging``; return each unit's files, in site order.

    Units in ``reuse`` are hard-linked from the ``previous`` site instead of rendered, by a thread of this
    process while the pages render. ``meanwhile`` runs in this process while the workers render (the
    site's other files).
    """
    global _SHARED

    work = units(org)
    reuse = reuse or {}
    done: list[tuple[StoredFile, ...] | None] = [None] * len(work)
    todo = [i for i in range(len(work)) if i not in reuse or previous is None]

    def link() -> None:  # hard links are system calls: a thread makes them while this one renders
        if previous is not None:
            for i, stored in reuse.items():
                done[i] = _reuse(previous, staging, stored.files)

    job = _Job(Planner(org, site, graphs), graphs, env, staging, work)
    stats = EmitStats(jobs=1)
    pages = sum(
        1 + (len(org.collections[work[i].key].versions) if work[i].kind == "collection" else 0) for i in todo
    )
    if jobs <= 1 or pages < _IN_PROCESS_BELOW or "fork" not in multiprocessing.get_all_start_methods():
        with _alongside(link):
            if meanwhile is not None:
                meanwhile()
            _collect([_emit(job, todo)], done, stats)
        return [files or () for files in done], stats
    _compile_templates(env)  # once, before the fork: every worker inherits them compiled
    stats.jobs = jobs
    _SHARED = job
    try:
        with fork_pool(jobs) as pool:
            batches = pool.imap(_work, _chunks(todo, jobs))
            with _alongside(link):  # started after the fork: no worker inherits a thread mid-call
                if meanwhile is not None:
                    meanwhile()
                _collect(batches, done, stats)
    finally:
        _SHARED = None
    return [files or () for files in done], stats


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


def _collect(batches: Iterable[_Batch], done: list[tuple[StoredFile, ...] | None], stats: EmitStats) -> None:
    for batch in batches:
        for i, files in batch.units:
            done[i] = files
        stats.add(batch.stats)


def _compile_templates(env: jinja2.Environment) -> None:
    for name in env.list_templates(filter_func=lambda n: n.endswith(".html")):
        with contextlib.suppress(jinja2.TemplateError):  # reported when a page uses it, if one does
            env.get_template(name)
