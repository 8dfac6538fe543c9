"""Lay out every page's lineage graph: each once, across all cores, skipping graphs already drawn.

Graphviz layout is the build's main cost. Graphs are laid out by worker processes (forked, so they share
the model without pickling it; each keeps its own compiled Graphviz module), and every SVG is kept in a
content-addressed cache beside the site, keyed by the DOT source and the renderer: a rebuild lays out only
the graphs whose DOT changed, and gives the same bytes as a cold build.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import multiprocessing.pool
import os
import pickle
import sqlite3
import zlib
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from reportgen import __version__
from reportgen.graphs import NodeMemo, build_dot
from reportgen.lineage import GraphOptions, NodeKey, neighbourhood
from reportgen.model import Organisation
from reportgen.paths import node_page
from reportgen.render import Renderer, RenderError, get_renderer
from reportgen.site import GRAPH_ID_PREFIX, DrawnGraph, name_svg_titles, node_title
from reportgen.workers import cpu_count, fork_pool

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
CACHE_FORMAT = "4"
_IN_PROCESS_BELOW = 64  # graphs; fewer are not worth starting workers for


class GraphFailure(Exception):
    """A graph could not be drawn and the build was not asked to go on."""


@dataclass(frozen=True, slots=True)
class LayoutOptions:
    """How graphs are drawn: which renderer, how long each may take, on how many cores, cached where."""

    graph: GraphOptions
    renderer: str = "embedded"
    timeout: float | None = 60.0
    jobs: int = 0  # 0: every core
    cache: Path | None = None
    keep_going: bool = False


class GraphCache:
    """SVGs by the SHA-256 of their DOT source and renderer, in one SQLite file with a checksum each.

    One database file instead of a file per graph: creating thousands of small files costs more than
    laying the graphs out. Worker processes only read (each opens its own connection); the parent
    writes new graphs in one transaction at the end of a build. SVGs are kept zlib-compressed, as the
    workers send them: the parent never decompresses or checksums a whole SVG (at L that was a second
    and a half of a cold build, with 162 MB written into the database instead of 30).
    """

    FILE = "graphs.sqlite"

    def __init__(self, folder: Path | None, renderer: str, graphviz: str) -> None:
        self.folder = folder
        self._salt = f"reportgen {__version__}/{CACHE_FORMAT}/{renderer}/{graphviz}\0"
        self._connection: sqlite3.Connection | None = None
        self._pid = 0

    def key(self, dot: str) -> str:
        """Return the cache key of a DOT source."""
        return hashlib.sha256((self._salt + dot).encode("utf-8")).hexdigest()

    def _db(self, create: bool = False) -> sqlite3.Connection | None:
        if self.folder is None:
            return None
        if self._connection is not None and self._pid == os.getpid():
            return self._connection
        path = self.folder / self.FILE
        if not create and not path.is_file():
            return None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(path, timeout=30)
            connection.execute("CREATE TABLE IF NOT EXISTS graphs (key TEXT PRIMARY KEY, sha TEXT, svg BLOB)")
        except (OSError, sqlite3.Error) as exc:  # a damaged or unwritable cache is only slower
            log.debug("graph cache unusable: %s", exc)
            if create and isinstance(exc, sqlite3.DatabaseError) and path.is_file():
                path.unlink()  # not a database any more: start it again
                return self._db(create=True)
            return None
        self._connection, self._pid = connection, os.getpid()  # a forked worker opens its own
        return connection

    def get(self, key: str) -> str | None:
        """Return the cached SVG for ``key``, if it is there and intact (its checksum holds)."""
        db = self._db()
        if db is None:
            return None
        try:
            row = db.execute("SELECT sha, svg FROM graphs WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error:
            return None
        if row is None:
            return None
        sha, packed = row
        if not isinstance(packed, bytes) or hashlib.sha256(packed).hexdigest() != sha:
            log.debug("graph cache entry %s is damaged; drawing the graph again", key)
            return None
        try:
            return zlib.decompress(packed).decode("utf-8")
        except (zlib.error, UnicodeDecodeError):
            log.debug("graph cache entry %s is not an SVG; drawing the graph again", key)
            return None

    def update(self, new: Iterable[tuple[str, bytes]], keep: set[str]) -> None:
        """Store ``new`` graphs (key, zlib-compressed SVG) and drop every graph not in ``keep``, at once.

        Kept compressed as the workers sent them: no SVG is decompressed or written whole by the build.
        """
        db = self._db(create=True)
        if db is None:
            return
        try:
            with db:
                db.executemany(
                    "INSERT OR REPLACE INTO graphs VALUES (?, ?, ?)",
                    ((k, hashlib.sha256(packed).hexdigest(), packed) for k, packed in new),
                )
                db.execute("CREATE TEMP TABLE IF NOT EXISTS used (key TEXT PRIMARY KEY)")
                db.execute("DELETE FROM used")
                db.executemany("INSERT OR IGNORE INTO used VALUES (?)", [(k,) for k in keep])
                db.execute("DELETE FROM graphs WHERE key NOT IN (SELECT key FROM used)")
        except sqlite3.Error as exc:
            log.debug("graph cache not written: %s", exc)

    def close(self) -> None:
        """Close this process's connection."""
        if self._connection is not None and self._pid == os.getpid():
            self._connection.close()
        self._connection = None


@dataclass(frozen=True, slots=True)
class PackedGraph:
    """A drawn graph kept small: its SVG compressed, its lineage pickled (a build holds tens of thousands).

    Packed in the worker that drew it, so neither the pipe nor the parent carries the graph's objects;
    unpacked by the page worker that shows it.
    """

    svg: bytes  # zlib
    graph: bytes  # pickled LineageGraph
    svg_file: str
    error: str = ""

    @classmethod
    def pack(cls, drawn: DrawnGraph) -> PackedGraph:
        svg = zlib.compress(drawn.svg.encode("utf-8"), 1)
        return cls(svg, pickle.dumps(drawn.graph, pickle.HIGHEST_PROTOCOL), drawn.svg_file, drawn.error)

    def unpack(self) -> DrawnGraph:
        svg = zlib.decompress(self.svg).decode("utf-8")
        return DrawnGraph(pickle.loads(self.graph), svg, self.svg_file, self.error)


class PackedGraphs(Mapping[NodeKey, DrawnGraph]):
    """Drawn graphs by focus, unpacked when asked for (the last one is kept: a page and its .svg)."""

    def __init__(self, packed: Mapping[NodeKey, PackedGraph]) -> None:
        self._packed = packed
        self._last: tuple[NodeKey, DrawnGraph] | None = None

    def __getitem__(self, key: NodeKey) -> DrawnGraph:
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        drawn = self._packed[key].unpack()
        self._last = (key, drawn)
        return drawn

    def __iter__(self) -> Iterator[NodeKey]:
        return iter(self._packed)

    def __len__(self) -> int:
        return len(self._packed)

    def __contains__(self, key: object) -> bool:
        return key in self._packed

    def error(self, key: NodeKey) -> str:
        """Return why the graph of ``key`` could not be drawn ("" if it was, or was not asked for)."""
        packed = self._packed.get(key)
        return packed.error if packed is not None else ""

    def errors(self) -> tuple[str, ...]:
        """Return every graph's error, in focus order."""
        return tuple(p.error for p in self._packed.values() if p.error)


@dataclass(frozen=True, slots=True)
class _Result:
    index: int
    drawn: PackedGraph
    key: str
    new_svg: bytes  # the renderer's output (compressed) when it was not in the cache, to keep there
    cached: bool = False  # taken from the cache, not laid out


@dataclass(frozen=True, slots=True)
class _Job:
    org: Organisation
    focuses: Sequence[NodeKey]
    options: LayoutOptions
    cache: GraphCache
    renderer: Renderer  # one per process (forked workers inherit it unused): its Graphviz serves many graphs
    memo: NodeMemo = field(default_factory=dict)  # node statements, filled by each process for itself


def _draw(job: _Job, index: int) -> _Result:
    """Lay out one page's graph (or take it from the cache), with links relative to the site root."""
    org, focus, options = job.org, job.focuses[index], job.options
    graph = neighbourhood(org, focus, options.graph)
    name = node_title(org, focus)
    dot = build_dot(
        org, graph, name=name, link=_root_link, id_prefix=GRAPH_ID_PREFIX, cluster_anchors=True, memo=job.memo
    )
    svg_file = node_page(focus).removesuffix(".html") + ".svg"
    key = job.cache.key(dot)
    svg = job.cache.get(key)
    cached, new_svg = svg is not None, b""
    if svg is None:
        try:
            svg = job.renderer.render_svg(dot, graph=name, timeout=options.timeout)
        except RenderError as exc:
            return _Result(index, PackedGraph.pack(DrawnGraph(graph, "", svg_file, error=str(exc))), key, b"")
        if job.options.cache is not None:  # kept in the cache once the build is done
            new_svg = zlib.compress(svg.encode("utf-8"), 1)
    drawn = DrawnGraph(graph, name_svg_titles(svg, org, graph), svg_file)
    return _Result(index, PackedGraph.pack(drawn), key, new_svg, cached)


def _root_link(vertex: object) -> str | None:
    return node_page(vertex) if isinstance(vertex, NodeKey) else None


# What forked workers inherit: set by draw_graphs just before the pool starts.
_SHARED: _Job | None = None


def _work(chunk: range) -> list[_Result]:
    assert _SHARED is not None
    return [_draw(_SHARED, i) for i in chunk]


def _chunks(total: int, jobs: int) -> list[range]:
    size = max(8, min(200, total // (jobs * 8) or 1))
    return [range(start, min(start + size, total)) for start in range(0, total, size)]


def _results(job: _Job, jobs: int) -> Generator[list[_Result], None, None]:
    global _SHARED
    total = len(job.focuses)
    if jobs <= 1 or total < _IN_PROCESS_BELOW or "fork" not in multiprocessing.get_all_start_methods():
        for index in range(total):
            yield [_draw(job, index)]
        return
    _SHARED = job
    try:
        with fork_pool(jobs) as pool:
            yield from pool.imap(_work, _chunks(total, jobs))
    finally:
        _SHARED = None


def draw_graphs(
    org: Organisation,
    focuses: Sequence[NodeKey],
    options: LayoutOptions,
    progress: Progress | None = None,
    keep: Iterable[str] = (),
) -> tuple[PackedGraphs, LayoutStats]:
    """Lay out the graph of every focus; fail on the first graph that cannot be drawn unless keep_going.

    The cache keeps the graphs drawn now and those under the keys in ``keep`` (graphs of pages a
    rebuild reused without drawing them), and drops the rest.
    """
    renderer = get_renderer(options.renderer)
    cache = GraphCache(options.cache, renderer.name, renderer.version() if options.cache else "")
    jobs = options.jobs or cpu_count()
    found: list[_Result | None] = [None] * len(focuses)
    done = 0
    batches = _results(_Job(org, focuses, options, cache, renderer), jobs)
    try:
        for batch in batches:  # in page order, so the first failure is the same whatever the workers did
            for result in batch:
                found[result.index] = result
                if result.drawn.error:
                    if not options.keep_going:  # stop now: the other graphs would only wait for nothing
                        raise GraphFailure(result.drawn.error)
                    log.warning("%s", result.drawn.error)
            done += len(batch)
            if progress is not None:
                progress(done, len(focuses))
    finally:
        batches.close()  # stops the workers if we leave early
    results = [r for r in found if r is not None]
    if options.cache is not None:
        fresh = ((r.key, r.new_svg) for r in results if r.new_svg)
        cache.update(fresh, {r.key for r in results} | set(keep))
    cache.close()
    stats = LayoutStats(
        len(results),
        sum(r.cached for r in results),
        jobs,
        {focuses[r.index]: r.key for r in results},
    )
    return PackedGraphs({focuses[r.index]: r.drawn for r in results}), stats


@dataclass(frozen=True, slots=True)
class LayoutStats:
    """How many graphs were drawn, how many came from the cache, on how many processes."""

    graphs: int
    cached: int
    jobs: int
    keys: Mapping[NodeKey, str]  # each graph's key in the cache
