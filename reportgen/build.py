"""Build the site: load, validate, draw every graph, plan the pages, render them, write atomically.

``build()`` reads top to bottom as the pipeline it runs; each stage lives in its own module.
"""

from __future__ import annotations

import contextlib
import gc
import html
import json
import logging
import os
import pickle
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from reportgen import __version__, compact
from reportgen.assembled import AUDIT_CSV, AUDIT_JSON, layouts
from reportgen.diagnostics import Severity, plural
from reportgen.emit import Extra, Rendered, emit_pages, unit_paths
from reportgen.incremental import (
    ASSEMBLED,
    Fingerprints,
    GraphDigests,
    PageCache,
    Reuse,
    StoredFile,
    StoredUnit,
    checks_exact,
    intact,
    link_ahead,
    linked_ahead,
    settings_digest,
)
from reportgen.layout import LayoutOptions, Progress
from reportgen.lineage import GraphOptions, NodeKey, neighbourhood
from reportgen.load import load_paths
from reportgen.model import Organisation
from reportgen.parsed import ParseCache
from reportgen.paths import UNIT_FOLDERS, artifact_page, collection_page, run_page
from reportgen.render import get_renderer
from reportgen.site import Unit, unit_focuses, unit_graph, units
from reportgen.spec import format_utc
from reportgen.templating import Compiled, assets, builtin_templates, compile_all, environment
from reportgen.timeline import events_csv, events_json
from reportgen.validate import Validation, check_where_parsed, validate
from reportgen.views import Site
from reportgen.workers import Forked, can_fork, collector_paused, cpu_count, fork_task, frozen_heap
from reportgen.write import SiteWriter, WriteError, staged_paths

log = logging.getLogger(__name__)

# Units of pages to render (collections, artifact versions, runs) from which the model is moved before
# workers fork: it takes 0.5 s at L (15,200 units) and 3 s at XL. Fewer copy little of it anyway: a
# rebuild of XL that renders 22 units took 22.9 s without the move and 25.9 s with it, and peaked at
# the same 1.45 GiB (its index and audit log touch the whole model, which no longer matters).
COMPACT_FROM = 1_000


@dataclass(frozen=True, slots=True)
class BuildOptions:
    """Everything a build can be asked to do differently."""

    output: Path
    title: str = "Lineage and registry audit"
    base_url: str = ""
    graph: GraphOptions = field(default_factory=GraphOptions)
    renderer: str = "embedded"
    timeout: float | None = 60.0
    templates: Path | None = None
    strict: bool = False
    keep_going: bool = False
    jobs: int = 0  # processes laying out graphs; 0: every core
    cache: bool = True  # keep laid-out graphs beside the site, so a rebuild lays out only what changed


@dataclass(frozen=True, slots=True)
class BuildResult:
    """What a build did: its diagnostics, and what it wrote when it got that far."""

    validation: Validation
    written: bool = False
    pages: int = 0
    graphs: int = 0
    files: int = 0
    seconds: float = 0.0
    graph_errors: tuple[str, ...] = ()
    cached_graphs: int = 0
    jobs: int = 1
    stages: tuple[tuple[str, float], ...] = ()  # (stage, seconds of wall time), in build order
    work: tuple[tuple[str, float], ...] = ()  # (part of the page stage, seconds summed over processes)
    reused_pages: int = 0  # pages taken unchanged from the last build


class _Clock:
    """Wall time per stage of the build."""

    def __init__(self) -> None:
        self.started = self._mark = time.perf_counter()
        self.stages: list[tuple[str, float]] = []

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.stages.append((stage, now - self._mark))
        self._mark = now


def build(paths: Sequence[Path], options: BuildOptions, progress: Progress | None = None) -> BuildResult:
    """Build the site for the manifests under ``paths`` into ``options.output``."""
    clock = _Clock()
    parsed = ParseCache(cache_folder(options.output) if options.cache else None)
    jobs = options.jobs or cpu_count()
    with contextlib.ExitStack() as stack:
        ahead = _link_ahead(options, jobs, stack)
        with collector_paused():
            # Without the cache, no file's entries are encoded for a next build (at L, 1.3 s of CPU).
            kept = parsed if options.cache else None
            loaded = load_paths(list(paths), kept, jobs=jobs, check=check_where_parsed)
            clock.lap("load")
            validation = validate(loaded)
            del loaded  # the files' entries (or documents), most of the memory: the model keeps what it needs
            clock.lap("validate")
            if _fails(validation, options.strict):
                return BuildResult(validation, stages=tuple(clock.stages))
            given = [validation]
            del validation  # _write_site may move the model into fresh memory: nothing here may hold it
            # The model lives until the build ends: no collection need walk it again, not even the one
            # the collector would start as it resumes (at L, 0.1 s of a rebuild).
            stack.enter_context(frozen_heap())
        return _write_site(given, options, jobs, progress, clock, parsed, ahead)


@dataclass(slots=True)
class _Ahead:
    """A rebuild's site writer, taken before the manifests load, and the process that links the last
    site's intact files into its staging folder meanwhile (``incremental.link_ahead``), then compiles
    the templates."""

    writer: SiteWriter
    linking: Forked
    compiled: Compiled | None = None  # the templates the process compiled, once it is done

    def linked(self) -> tuple[dict[str, StoredUnit], frozenset[str]] | None:
        """Wait for the linking; return the units it linked (and the assembled files' record), by unit
        id, with those whose files it copied, or None if it failed: the folders it links into are then
        removed again."""
        data = self.linking.result()
        with contextlib.suppress(ValueError):
            if data is not None:
                try:
                    linked, codes = pickle.loads(data)
                except Exception as exc:  # cut short in the pipe: anything unpickling raises
                    raise ValueError(f"not what the process returns: {exc!r}") from None
                if type(codes) is dict:
                    self.compiled = Compiled(codes)
                return linked_ahead(linked)
        log.debug("linking the last site's files ahead failed; linking them while pages render")
        self.writer.restart(UNIT_FOLDERS.values())  # the only folders it links into
        return None


def _ahead(folder: Path, site: Path, staging: Path, templates: Path | None) -> bytes:
    """Link the last site's intact files into ``staging`` (``link_ahead``), compile the templates, and
    remove what earlier builds set aside: run by the process ``_link_ahead`` forks, while this one loads
    and validates the manifests."""
    linked = link_ahead(folder, site, staging)
    compiled = Compiled()
    with contextlib.suppress(Exception):  # the build process compiles what is not here
        compile_all(environment(templates, compiled))
    data = pickle.dumps((linked, compiled.codes), pickle.HIGHEST_PROTOCOL)
    for old in _set_aside(folder):  # what this build sets aside comes after its end
        shutil.rmtree(old, ignore_errors=True)
    return data


SET_ASIDE = "set-aside"  # in the cache folder: previous sites a rebuild moved there, for the next to remove


def _set_aside(cache: Path) -> list[Path]:
    """Return the previous sites earlier builds set aside in ``cache``."""
    try:
        return sorted((cache / SET_ASIDE).iterdir())
    except OSError:
        return []


def _link_ahead(options: BuildOptions, jobs: int, stack: contextlib.ExitStack) -> _Ahead | None:
    """Start linking the last site's intact files into a new staging folder, if this is a rebuild that
    may use a second process; ``stack`` stops it and removes the folder, unless the site is committed.

    Hard-linking them one by one (32,000 at L) had taken longer than rendering a rebuild's changed
    pages, and which files are intact is known at once: a forked process links them on the core that
    loading and validation leave idle, and ``_write_site`` removes the few whose units changed. Then it
    compiles the templates, which the build process would do before its workers fork.
    """
    folder = cache_folder(options.output)
    if jobs < 2 or not options.cache or not PageCache(folder).exists() or not can_fork():
        return None
    try:
        writer = SiteWriter(options.output)
    except WriteError:  # said after validation, as a first build says it
        return None
    stack.callback(writer.abort)  # nothing once the site is committed
    linking = fork_task(_ahead, folder, writer.target, writer.staging, options.templates)
    if linking is None:
        writer.abort()
        return None
    stack.callback(linking.stop)
    return _Ahead(writer, linking)


def _write_site(
    given: list[Validation],
    options: BuildOptions,
    jobs: int,
    progress: Progress | None,
    clock: _Clock,
    parsed: ParseCache,
    ahead: _Ahead | None = None,
) -> BuildResult:
    """Draw, render and write the site of a valid organisation: the stages after validation.

    The validation is taken out of ``given``, the caller's only reference to it. ``jobs``: the
    processes the build may use, as loading used them. ``ahead``: the writer to write with, with the
    last site's intact files linked into it (see ``_link_ahead``).
    """
    validation = given.pop()
    org = validation.organisation
    site = _site_info(org, options)
    layout = layout_options(options, jobs)
    work = units(org)
    paged = any(u.kind == "audit-month" for u in work)  # a long audit log: a page a month
    cache = PageCache(layout.cache)
    if layout.cache is None:  # what it kept would outlive this build's site
        PageCache(cache_folder(options.output)).forget()
        ParseCache(cache_folder(options.output)).forget()
    with contextlib.ExitStack() as stack:  # the writer holds the site's lock: nothing else changes it now
        writer = ahead.writer if ahead is not None else stack.enter_context(SiteWriter(options.output))
        with collector_paused():
            prints, printer, reuse = _changes(org, site, options, work, layout, writer, ahead)
            gc.freeze()  # they live as long as the model: out of the collector's reach too (frozen_heap)
        same = reuse.units if reuse is not None else {}
        clock.lap("changes")
        if _moves_model(jobs, len(work) - len(same)):
            # Workers would copy the pages of the model they touch, scattered among what loading and
            # validation freed: move it into fresh memory first (see compact). Nothing may hold the old one.
            with collector_paused():
                moved = compact.dump(validation)
                del validation, org, work
                printer = None  # it holds the old model: made again from the new one, below
                validation = compact.load(moved)
                del moved
                gc.freeze()  # out of the collector's reach, as the old model was (frozen_heap)
            org, work = validation.organisation, units(validation.organisation)
            clock.lap("compact")
        env = environment(options.templates, ahead.compiled if ahead is not None else None)
        mark = time.perf_counter()
        if printer is None and layout.cache:
            # Before the workers fork: they inherit its nodes' digests, which the digests of what pages
            # show of each graph are made from. Each worker had made them all again: at L, 29,000 more
            # digests, 0.4-0.7 s of CPU, where the 15,000 here take 0.2-0.35 s.
            printer = _fingerprints(org, site, options, layout)
        other = time.perf_counter() - mark

        def meanwhile() -> None:  # the parent's share while workers render pages
            nonlocal other
            mark = time.perf_counter()
            for path, data in assets(options.templates):
                writer.write(path, data)
            if not prints:
                prints[:] = printer.every(work) if printer is not None else [""] * len(work)
            other += time.perf_counter() - mark

        rendered = emit_pages(
            org,
            site,
            env,
            writer.staging,
            layout,
            reuse,
            meanwhile,
            progress,
            extra_files(org, paged),
            layouts(org, site, paged),
            work,
            printer.nodes if printer is not None else None,
        )
        written, parts = rendered.files, rendered.stats
        for files in (*written, rendered.extra, rendered.assembled):
            for f in files:
                writer.adopt(f.path, f.digest)
        page_paths = [f.path for files in written for f in files if f.page]
        if site.base_url:
            writer.write("sitemap.xml", _sitemap(site.base_url, page_paths))
        clock.lap("render")

        def keep_records() -> None:  # for the next build, while the previous site is removed (or set aside)
            with collector_paused():  # tens of thousands of new objects, none in a cycle
                cache.save(
                    _records(org, work, prints, printer, rendered, rendered.reused),
                    reuse.recorded if reuse is not None else None,
                )
            parsed.save()

        # A rebuild that took most of its files from the last site sets that one aside: it holds only
        # the files this build replaced (the rest are links), and the next build's linking process
        # removes it, on the core its loading leaves idle (at L, the removal took 0.15 s of 1.8).
        # Others remove it now, with what earlier builds set aside.
        cache_at = cache_folder(options.output)
        aside = (
            cache_at / SET_ASIDE / f"{os.getpid()}-{time.time_ns()}"
            if reuse is not None and reuse.linked and 10 * len(reuse.units) >= 9 * len(work)
            else None
        )
        writer.commit(keep_records, jobs > 1, aside, _set_aside(cache_at) if aside is None else ())
        count = writer.count
    clock.lap("commit")
    errors = rendered.errors()
    svgs = sum(1 for files in written for f in files if f.path.endswith(".svg"))
    return BuildResult(
        validation,
        True,
        len(page_paths),
        svgs,
        count,
        time.perf_counter() - clock.started,
        errors,
        sum(d.cached for d in rendered.drawings.values()),
        parts.jobs,
        tuple(clock.stages),
        (
            ("lineage", parts.lineage),
            ("layout", parts.layout),
            ("plan", parts.plan),
            ("templates", parts.templates),
            ("write", parts.write),
            ("other files", other + parts.other),
        ),
        reused_pages=sum(1 for i in rendered.reused for f in written[i] if f.page),
    )


def _changes(
    org: Organisation,
    site: Site,
    options: BuildOptions,
    work: Sequence[Unit],
    layout: LayoutOptions,
    writer: SiteWriter,
    ahead: _Ahead | None,
) -> tuple[list[str], Fingerprints | None, Reuse | None]:
    """Return the units' wide fingerprints, what makes them, and what this build can take from the last
    one (None without a record of it). Without a record (a first build) nothing can be reused: the
    fingerprints, for the record this build leaves, are worked out by the caller (none are returned).

    Call it with the collector paused: the record and the fingerprints are tens of thousands of new
    objects, none in a cycle, and its collections walked them again (half of reading the record at L).
    """
    printer = _fingerprints(org, site, options, layout) if ahead is not None else None
    prints = printer.every(work) if printer is not None else []
    ahead_of = ahead.linked() if ahead is not None else None
    if ahead_of is not None:
        linked, copied = ahead_of
        stored, recorded = linked, {u: s for u, s in linked.items() if u not in copied}
    else:
        stored = recorded = PageCache(layout.cache).load()
    if not stored:
        return prints, printer, None
    if printer is None:
        printer = _fingerprints(org, site, options, layout)
        prints = printer.every(work)
    exact = _exact_prints(org, work, printer, layout.graph)
    same = _unchanged(org, work, prints, exact, stored, None if ahead_of is not None else options.output)
    if ahead_of is not None:  # the units that changed, or are gone, were linked ahead for nothing
        kept = {work[i].id for i in same} | {ASSEMBLED}
        writer.unstage(f.path for unit, s in stored.items() if unit not in kept for f in s.files)
    before = {f.path: f for f in stored[ASSEMBLED].files} if ASSEMBLED in stored else {}
    return prints, printer, Reuse(same, options.output, ahead_of is not None, before, recorded)


def _exact_prints(
    org: Organisation, work: Sequence[Unit], printer: Fingerprints, options: GraphOptions
) -> Callable[[int], str]:
    """Return what gives a unit's exact fingerprint (by its index in ``work``), from the graphs its pages
    would show: each worked out once, for the units whose wide fingerprint changed alone ("" with
    graphs of whole lineages, see ``checks_exact``)."""
    if not checks_exact(options):
        return lambda i: ""
    digests = GraphDigests(org, printer.nodes)
    graphs: dict[NodeKey, str] = {}

    def shown(focus: NodeKey) -> str:
        found = graphs.get(focus)
        if found is None:
            found = graphs[focus] = digests.of(neighbourhood(org, focus, options))
        return found

    return lambda i: printer.exact(work[i], shown)


def _unchanged(
    org: Organisation,
    work: Sequence[Unit],
    prints: Sequence[str],
    exact: Callable[[int], str],
    stored: Mapping[str, StoredUnit],
    site: Path | None,
) -> dict[int, StoredUnit]:
    """Return the units (by index) the last build wrote from the same inputs, with files still intact in
    ``site`` (None: ``stored`` holds only units checked intact): those whose wide fingerprint is the
    same, or else their exact one (``exact``, by index).

    A record whose files are not the unit's own (``unit_paths``: a damaged or forged cache) is not
    reused: no file of the site is then linked twice, or linked where a page is rendered.
    """
    same = {}
    for i, unit in enumerate(work):
        s = stored.get(unit.id)
        if s is not None and prints[i] and (s.fingerprint == prints[i] or (s.exact and s.exact == exact(i))):
            same[i] = s
    old_site = staged_paths(site) if site is not None else None
    return {
        i: s
        for i, s in same.items()
        if _owns(org, work[i], s.files) and (old_site is None or intact(old_site, s.files))
    }


def _owns(org: Organisation, unit: Unit, files: Sequence[StoredFile]) -> bool:
    own = unit_paths(org, unit)
    return all(f.path in own for f in files)


def _records(
    org: Organisation,
    work: Sequence[Unit],
    prints: Sequence[str],
    printer: Fingerprints | None,
    rendered: Rendered,
    reused: Mapping[int, StoredUnit],
) -> dict[str, StoredUnit]:
    """Return what the next build may reuse: every unit with a fingerprint whose graphs were drawn, with
    where its pieces are in the assembled files, and those files. A unit rendered now has its exact
    fingerprint from what its workers digested of its graphs; one reused keeps the one it had."""
    drawings = rendered.drawings

    def shown(focus: NodeKey) -> str:
        drawing = drawings.get(focus)
        return drawing.shown if drawing is not None else ""

    def exact(i: int, unit: Unit) -> str:
        if i in reused:
            return reused[i].exact
        if printer is None or not all(shown(f) for f in unit_focuses(org, unit)):
            return ""
        return printer.exact(unit, shown)

    failed = {f for f, d in drawings.items() if d.error}
    records = {ASSEMBLED: StoredUnit("", tuple(rendered.assembled), "")}
    for i, unit in enumerate(work):
        if not prints[i] or (failed and not failed.isdisjoint(unit_focuses(org, unit))):
            continue  # the index and audit log always change; a graph that failed may work next time
        own = unit_graph(unit)
        drawing = drawings.get(own) if own is not None else None
        key = drawing.key if drawing is not None else ""
        records[unit.id] = StoredUnit(
            prints[i],
            rendered.files[i],
            key or (reused[i].graph_key if i in reused else ""),
            rendered.pieces[i],
            exact(i, unit),
        )
    return records


def _fingerprints(
    org: Organisation, site: Site, options: BuildOptions, layout: LayoutOptions
) -> Fingerprints:
    renderer = get_renderer(layout.renderer)
    folders = [builtin_templates(), *([options.templates] if options.templates else [])]
    settings = settings_digest(
        org,
        (
            site.title,
            site.base_url,
            site.generator,
            site.built_at,
            repr(layout.graph),
            renderer.name,
            renderer.identity(),
        ),
        folders,
    )
    return Fingerprints(org, settings)


def _moves_model(jobs: int, rendering: int) -> bool:
    """Return whether to move the model before workers fork to render ``rendering`` units of pages.

    Moving pays when the workers render many units: each would copy most of the scattered model. A
    rebuild that renders a few (its index and audit log among them) is faster without.
    """
    return jobs > 1 and rendering >= COMPACT_FROM and can_fork()


def _fails(validation: Validation, strict: bool) -> bool:
    return any(d.severity is Severity.ERROR or strict for d in validation.diagnostics)


def graph_focuses(org: Organisation) -> list[NodeKey]:
    """Return the node of every page that shows a lineage graph: artifact versions and runs."""
    return [NodeKey.of_artifact(ref) for ref in org.artifacts] + [NodeKey.of_run(r) for r in org.runs]


def layout_options(options: BuildOptions, jobs: int = 0) -> LayoutOptions:
    """Return how a build lays out its graphs: the cache sits beside the site."""
    cache = cache_folder(options.output) if options.cache else None
    return LayoutOptions(
        graph=options.graph,
        renderer=options.renderer,
        timeout=options.timeout,
        jobs=jobs or options.jobs,
        cache=cache,
        keep_going=options.keep_going,
    )


def cache_folder(output: Path) -> Path:
    """Return the folder beside the site that keeps the last build's graphs and pages."""
    output = output.absolute()
    return output.with_name(f".{output.name}.cache")


def _site_info(org: Organisation, options: BuildOptions) -> Site:
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    built_at = ""
    if epoch.isdigit():
        built_at = format_utc(datetime.fromtimestamp(int(epoch), UTC))
    base = options.base_url
    if base and not base.endswith("/"):
        base += "/"
    counts = (
        ("registries", len(org.registries)),
        ("collections", len(org.collections)),
        ("artifact versions", len(org.artifacts)),
        ("runs", len(org.runs)),
        ("registry actions", len(org.actions)),
        ("audit log entries", sum(len(h.events) for h in org.collections.values())),
    )
    return Site(options.title, base, f"reportgen {__version__}", built_at, counts)


def extra_files(org: Organisation, paged: bool) -> list[Extra]:
    """Return the site's files besides units' files, the assembled files (see ``assembled``), assets and
    the sitemap, each with what makes it (when its turn comes): the search index, and the audit
    downloads when the audit log is one page (``paged`` false)."""
    extra: list[Extra] = []
    if not paged:
        extra += [
            (AUDIT_JSON, lambda: events_json(list(org.events()))),
            (AUDIT_CSV, lambda: events_csv(list(org.events()))),
        ]
    return [*extra, ("assets/search-index.js", lambda: _search_index(org))]


def _search_index(org: Organisation) -> bytes:
    entries: list[dict[str, str]] = []
    for history in org.collections.values():
        c = history.collection
        entries.append(
            {
                "t": c.full_name,
                "k": "collection",
                "u": collection_page(c.registry, c.name),
                "d": f"{c.type} · {plural(len(history.versions), 'version')}",
            }
        )
    for ref, a in org.artifacts.items():
        entries.append(
            {
                "t": str(ref),
                "k": "artifact",
                "u": artifact_page(ref),
                "d": " · ".join(x for x in (a.type, *org.aliases_of(ref)) if x),
            }
        )
    for run in org.runs.values():
        entries.append(
            {
                "t": run.name,
                "k": "run",
                "u": run_page(run.id),
                "d": " · ".join(x for x in (run.id, run.job_type, run.state, run.user) if x),
            }
        )
    # ensure_ascii keeps U+2028 and friends out of the script; "</" cannot end anything in a .js file
    return (
        "window.REPORTGEN_SEARCH = " + json.dumps(entries, ensure_ascii=True, separators=(",", ":")) + ";\n"
    ).encode("ascii")


def _sitemap(base: str, page_paths: Sequence[str]) -> bytes:
    # html.escape without quotes is xml.sax.saxutils.escape (&, <, >), which imported urllib.request,
    # http.client and email: 28 ms of every command's start.
    urls = "".join(
        f"  <url><loc>{html.escape(base + path, quote=False)}</loc></url>\n" for path in page_paths
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n' + urls + "</urlset>\n"
    ).encode("utf-8")
