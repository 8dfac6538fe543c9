"""Render every page and graph file into the staging folder, on every core.

Pages are independent once the graphs are drawn, so they are rendered by forked worker processes that
inherit the organisation, the drawn graphs and the compiled templates (nothing is pickled but the list
of files each worker wrote and their checksums). A worker writes its files straight into the staging
folder; the parent adopts them into the site's file list in page order, so the output does not depend
on how the work was shared out.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from reportgen.lineage import NodeKey
from reportgen.model import ArtifactRef, Organisation
from reportgen.paths import node_page
from reportgen.render import standalone_svg
from reportgen.site import DrawnGraph, Planner, relink, root_of
from reportgen.templating import render_page
from reportgen.views import Page, Site
from reportgen.write import put_file, staged_path

_IN_PROCESS_BELOW = 64  # pages; fewer are not worth starting workers for


@dataclass(frozen=True, slots=True)
class Unit:
    """Pages rendered together: one collection's pages share its history, table and timeline."""

    kind: str  # "index", "audit", "collection", "artifact" or "run"
    key: str = ""
    ref: ArtifactRef | None = None


@dataclass(frozen=True, slots=True)
class Emitted:
    """A file a worker wrote into the staging folder."""

    path: str
    digest: str
    page: bool  # an HTML page (listed in the sitemap), not a graph's .svg


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
    files: list[Emitted] = field(default_factory=list)
    stats: EmitStats = field(default_factory=EmitStats)


def units(org: Organisation) -> list[Unit]:
    """Return the site's pages as units of work, in the order the site lists them."""
    return [
        Unit("index"),
        Unit("audit"),
        *(Unit("collection", name) for name in org.collections),
        *(Unit("artifact", ref=ref) for ref in org.artifacts),
        *(Unit("run", run_id) for run_id in org.runs),
    ]


def unit_pages(planner: Planner, unit: Unit) -> Iterator[Page]:
    """Yield the pages of one unit (a collection yields its own page, then one per version)."""
    org = planner.org
    if unit.kind == "index":
        yield planner.index()
    elif unit.kind == "audit":
        yield planner.audit()
    elif unit.kind == "collection":
        history = org.collections[unit.key]
        yield planner.collection(history)
        for v in history.versions:
            yield planner.collection(history, v.version)
    elif unit.kind == "artifact":
        assert unit.ref is not None
        yield planner.artifact(org.artifacts[unit.ref])
    else:
        yield planner.run(org.runs[unit.key])


def unit_graph(unit: Unit) -> NodeKey | None:
    """Return the node whose graph file is written with this unit, if any."""
    if unit.kind == "artifact":
        assert unit.ref is not None
        return NodeKey.of_artifact(unit.ref)
    if unit.kind == "run":
        return NodeKey.of_run(unit.key)
    return None


def svg_file_text(svg: str, page: str) -> str:
    """Return a graph as a standalone .svg file beside ``page``: links relative to it, anchors on it."""
    name = page.rsplit("/", 1)[-1]
    svg = relink(svg, root_of(page)).replace('xlink:href="#', f'xlink:href="{name}#')
    return standalone_svg(svg)


@dataclass(frozen=True, slots=True)
class _Job:
    planner: Planner
    graphs: dict[NodeKey, DrawnGraph]
    env: jinja2.Environment
    staging: Path
    units: Sequence[Unit]


def _emit(job: _Job, indexes: range) -> _Batch:
    """Render and write the pages (and graph files) of some units."""
    batch = _Batch()
    stats = batch.stats
    clock = time.perf_counter
    for i in indexes:
        unit = job.units[i]
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
            batch.files.append(_put(job.staging, page.path, data, True, stats))
        key = unit_graph(unit)
        drawn = job.graphs.get(key) if key is not None else None
        if key is not None and drawn is not None and not drawn.error:
            data = svg_file_text(drawn.svg, node_page(key)).encode("utf-8")
            batch.files.append(_put(job.staging, drawn.svg_file, data, False, stats))
    return batch


def _put(staging: Path, relative: str, data: bytes, page: bool, stats: EmitStats) -> Emitted:
    mark = time.perf_counter()
    path, name = staged_path(staging, relative)
    digest = put_file(path, data)
    stats.write += time.perf_counter() - mark
    return Emitted(name, digest, page)


# What forked workers inherit: set by emit_pages just before the pool starts.
_SHARED: _Job | None = None


def _work(indexes: range) -> _Batch:
    assert _SHARED is not None
    return _emit(_SHARED, indexes)


def _chunks(total: int, jobs: int) -> list[range]:
    size = max(4, min(100, total // (jobs * 16) or 1))
    return [range(start, min(start + size, total)) for start in range(0, total, size)]


def emit_pages(
    org: Organisation,
    site: Site,
    graphs: dict[NodeKey, DrawnGraph],
    env: jinja2.Environment,
    staging: Path,
    jobs: int,
    meanwhile: Callable[[], None] | None = None,
) -> tuple[list[Emitted], EmitStats]:
    """Write every page and graph file into ``staging``; return them in site order.

    ``meanwhile`` runs in this process while the workers render (the site's other files).
    """
    global _SHARED
    from reportgen.layout import ignore_interrupts

    work = units(org)
    job = _Job(Planner(org, site, graphs), graphs, env, staging, work)
    _compile_templates(env)  # once, before the fork: every worker inherits them compiled
    stats = EmitStats(jobs=1)
    files: list[Emitted] = []
    page_count = len(work) + sum(len(h.versions) for h in org.collections.values())
    if jobs <= 1 or page_count < _IN_PROCESS_BELOW or "fork" not in multiprocessing.get_all_start_methods():
        if meanwhile is not None:
            meanwhile()
        batch = _emit(job, range(len(work)))
        return batch.files, batch.stats
    stats.jobs = jobs
    _SHARED = job
    try:
        with multiprocessing.get_context("fork").Pool(jobs, initializer=ignore_interrupts) as pool:
            batches = pool.imap(_work, _chunks(len(work), jobs))
            if meanwhile is not None:
                meanwhile()
            for batch in batches:
                files.extend(batch.files)
                stats.add(batch.stats)
    finally:
        _SHARED = None
    return files, stats


def _compile_templates(env: jinja2.Environment) -> None:
    for name in env.list_templates(filter_func=lambda n: n.endswith(".html")):
        with contextlib.suppress(jinja2.TemplateError):  # reported when a page uses it, if one does
            env.get_template(name)

