"""Lay out pages' lineage graphs, skipping graphs already drawn.

Graphviz layout is the build's main cost. A ``Drawer`` draws graphs in one process: made before the
workers fork, it gives each of them the compiled Graphviz module and the model without pickling either
(``emit`` draws each graph in the worker that renders its page; ``draw_graphs`` draws graphs alone, on
every core). Every SVG is kept in a content-addressed cache beside the site, keyed by the DOT source and
the renderer: a rebuild lays out only the graphs whose DOT changed, and gives the same bytes as a cold
build.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import itertools
import logging
import os
import pickle
import sqlite3
import tempfile
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO

import zstandard

from reportgen import __version__
from reportgen.graphs import NodeMemo, build_dot
from reportgen.incremental import GraphDigests, NodeDigests, checks_exact
from reportgen.lineage import GraphOptions, LineageGraph, NodeKey, Vertex, neighbourhood
from reportgen.model import Organisation
from reportgen.paths import node_page
from reportgen.render import RenderError, get_renderer
from reportgen.site import GRAPH_ID_PREFIX, DrawnGraph, name_svg_titles, node_title, reroot, root_of
from reportgen.workers import can_fork, cpu_count, fork_pool

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
CACHE_FORMAT = "5"
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


# SVGs are packed with Zstandard at its level 1: 560 MB/s on this machine, against 150 MB/s for zlib at
# its fastest, and smaller (4.6 times against 4.1, on L's graphs). At L that was a second of a cold
# build's work, for 157 MB of SVG. A graph is cut at the node budget: no SVG comes near the bound.
_MAX_SVG_BYTES = 256 * 1024 * 1024
_CODECS: dict[int, tuple[zstandard.ZstdCompressor, zstandard.ZstdDecompressor]] = {}


def _codec() -> tuple[zstandard.ZstdCompressor, zstandard.ZstdDecompressor]:
    """Return this process's compressor and decompressor (each keeps its buffers for the next SVG)."""
    codec = _CODECS.get(os.getpid())
    if codec is None:
        _CODECS.clear()  # a forked worker's own, not the parent's
        codec = _CODECS[os.getpid()] = (zstandard.ZstdCompressor(level=1), zstandard.ZstdDecompressor())
    return codec


def pack_svg(svg: str) -> bytes:
    """Return an SVG compressed, to cross a pipe or be kept in the cache."""
    packed = _codec()[0].compress(svg.encode("utf-8"))
    # A copy of its size: the compressor's bytes keep the memory of the worst case, over the SVG's size.
    return memoryview(packed).tobytes()


def unpack_svg(packed: bytes) -> str:
    """Return the SVG ``pack_svg`` packed; raise ValueError for anything else."""
    try:
        # The size a frame says it holds is allocated whole: refuse one over the bound first.
        if zstandard.frame_content_size(packed) > _MAX_SVG_BYTES:
            raise ValueError(f"not a packed SVG: it would hold over {_MAX_SVG_BYTES} bytes")
        return _codec()[1].decompress(packed, max_output_size=_MAX_SVG_BYTES).decode("utf-8")
    except (zstandard.ZstdError, UnicodeDecodeError) as exc:
        raise ValueError(f"not a packed SVG: {exc}") from None


class GraphCache:
    """SVGs by the SHA-256 of their DOT source and renderer, in one SQLite file with a checksum each.

    One database file instead of a file per graph: creating thousands of small files costs more than
    laying the graphs out. Worker processes only read (each opens its own connection); the parent
    writes new graphs in one transaction at the end of a build. SVGs are kept packed (``pack_svg``), as
    the workers send them: the parent never decompresses or checksums a whole SVG (at L that was a
    second and a half of a cold build, with 162 MB written into the database instead of 30).
    """

    FILE = "graphs.sqlite"

    def __init__(self, folder: Path | None, renderer: str, identity: str) -> None:
        self.folder = folder
        self._salt = f"reportgen {__version__}/{CACHE_FORMAT}/{renderer}/{identity}\0"
        self._connection: sqlite3.Connection | None = None
        self._pid = 0
        self._absent = 0  # the process that found no database: a cold build's; only ``update`` makes one
        self._spool: IO[bytes] | None = None  # the graphs ``hold`` keeps for ``update``, one after another
        self._spool_pid = 0  # the process that made it
        self._held: list[tuple[str, int, str]] = []  # their keys, sizes and checksums, in the spool's order

    def key(self, dot: str) -> str:
        """Return the cache key of a DOT source."""
        return hashlib.sha256((self._salt + dot).encode("utf-8")).hexdigest()

    def _db(self, create: bool = False) -> sqlite3.Connection | None:
        if self.folder is None:
            return None
        if self._connection is not None and self._pid == os.getpid():
            return self._connection
        if not create and self._absent == os.getpid():  # asked once a graph: 15,000 times at L
            return None
        path = self.folder / self.FILE
        if not create and not path.is_file():
            self._absent = os.getpid()
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
        self._absent = 0  # there now, even once this connection is closed
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
            return unpack_svg(packed)
        except ValueError:
            log.debug("graph cache entry %s is not an SVG; drawing the graph again", key)
            return None

    def hold(self, key: str, packed: bytes) -> None:
        """Keep a graph laid out now (its key, its packed SVG) for ``update`` to store, out of memory.

        The graphs wait in an unnamed file in the cache folder (gone with the process, whatever ends it),
        not in the process that collects them: at XL the build process held 150 MB of them until the
        build ended. Where no such file can be made, they wait in memory; where it cannot be written
        to, the graphs not written are not kept (the next build lays them out again).
        """
        if self.folder is None:
            return
        if self._spool is None or self._spool_pid != os.getpid():
            self._held = []  # a forked process's copy: the graphs are its parent's to store
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
                # Unbuffered: a process forked meanwhile has no copy of unwritten bytes to write twice.
                self._spool = tempfile.TemporaryFile(dir=self.folder, buffering=0)  # noqa: SIM115 - kept open
            except OSError as exc:
                log.debug("graphs kept in memory until the cache is written: %s", exc)
                self._spool = io.BytesIO()
            self._spool_pid = os.getpid()
        written: int | None
        try:
            written = self._spool.write(packed)
        except OSError as exc:  # a full disk, say
            log.debug("graph not kept for the cache: %s", exc)
            written = None
        if written != len(packed):  # the graphs held so far are still there; this one is not kept
            with contextlib.suppress(OSError):
                self._spool.truncate(sum(size for _, size, _ in self._held))
                self._spool.seek(0, io.SEEK_END)
            return
        # Its checksum now: while workers render, this process mostly waits for them, where ``update``
        # runs when the build's other work is done (at XL, 0.7 s of checksums at the end).
        self._held.append((key, len(packed), hashlib.sha256(packed).hexdigest()))

    def update(self, new: Iterable[tuple[str, bytes]], keep: set[str]) -> None:
        """Store the graphs ``hold`` kept and ``new`` ones (key, packed SVG), and drop every graph not in
        ``keep``, at once.

        Kept compressed as the workers sent them: no SVG is decompressed or written whole by the build.
        """
        spool, held = (self._spool, self._held) if self._spool_pid == os.getpid() else (None, [])
        self._spool, self._held = None, []
        try:
            db = self._db(create=True)
            if db is None:
                return
            given = ((k, hashlib.sha256(packed).hexdigest(), packed) for k, packed in new)
            try:
                with db:
                    db.executemany(
                        "INSERT OR REPLACE INTO graphs VALUES (?, ?, ?)",
                        itertools.chain(_read_held(spool, held), given),
                    )
                    # The keys are read from their index: a rebuild drops a few of 15,000 (at L), and
                    # handing SQLite every key to keep had cost three times as long.
                    stale = [(k,) for (k,) in db.execute("SELECT key FROM graphs") if k not in keep]
                    db.executemany("DELETE FROM graphs WHERE key = ?", stale)
            except (sqlite3.Error, OSError) as exc:
                log.debug("graph cache not written: %s", exc)
        finally:
            if spool is not None:
                spool.close()  # and its file is gone

    def close(self) -> None:
        """Close this process's connection, and forget the graphs it held and did not store."""
        if self._connection is not None and self._pid == os.getpid():
            self._connection.close()
        self._connection = None
        if self._spool is not None and self._spool_pid == os.getpid():
            self._spool.close()
        self._spool, self._held = None, []


def _read_held(
    spool: IO[bytes] | None, held: Sequence[tuple[str, int, str]]
) -> Iterator[tuple[str, str, bytes]]:
    """Yield the graphs ``GraphCache.hold`` wrote to ``spool`` (key, size and checksum in ``held``), in
    turn, as the cache's rows: key, checksum, packed SVG. A graph read back as other bytes is a row whose
    checksum fails when read: that graph is laid out again."""
    if spool is None:
        return
    spool.seek(0)
    for key, size, sha in held:
        packed = spool.read(size)
        if len(packed) != size:
            log.debug("graphs held for the cache were cut short; keeping those before")
            return
        yield key, sha, packed


@dataclass(frozen=True, slots=True)
class PackedGraph:
    """A drawn graph kept small to cross a pipe: its SVG compressed, its lineage pickled.

    Packed in the worker that drew it; unpacked where it is shown (a collection's page, in another
    worker) or asked for (``PackedGraphs``).
    """

    svg: bytes  # pack_svg
    graph: bytes  # pickled LineageGraph
    svg_file: str
    error: str = ""

    @classmethod
    def pack(cls, drawn: DrawnGraph) -> PackedGraph:
        svg = pack_svg(drawn.svg)
        return cls(svg, pickle.dumps(drawn.graph, pickle.HIGHEST_PROTOCOL), drawn.svg_file, drawn.error)

    def unpack(self) -> DrawnGraph:
        return DrawnGraph(pickle.loads(self.graph), unpack_svg(self.svg), self.svg_file, self.error)


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
class Drawing:
    """What drawing one graph leaves besides the graph: its key in the cache, the SVG to keep there."""

    focus: NodeKey
    key: str
    new_svg: bytes = b""  # the renderer's output (compressed) when it was not in the cache, to keep there
    cached: bool = False  # taken from the cache, not laid out
    error: str = ""  # why it could not be drawn
    shown: str = ""  # what a page shows of the graph (``incremental.GraphDigests``), with a cache


class Drawer:
    """Draws graphs in one process: its renderer, its connection to the cache, its DOT statements.

    Made once, before workers fork: each worker inherits it and opens its own cache connection. It
    loads Graphviz in a process the first time a graph is not in the cache (a rebuild whose graphs all
    are never loads it), or before the workers fork (``load``), for them to share. Times its two parts
    in seconds of this process: ``layout`` (Graphviz) and ``lineage`` (the rest: the neighbourhood, the
    DOT, the cache, loading Graphviz, the SVG's titles).
    """

    def __init__(self, org: Organisation, options: LayoutOptions, nodes: NodeDigests | None = None) -> None:
        self.org, self.options = org, options
        self.renderer = get_renderer(options.renderer)
        identity = self.renderer.identity() if options.cache else ""
        self.cache = GraphCache(options.cache, self.renderer.name, identity)
        self.memo: NodeMemo = {}  # node statements, filled by each process for itself
        self.names: dict[Vertex, str] = {}  # nodes' names in their SVG titles, likewise (name_svg_titles)
        # What pages show of each graph, for the page record, from ``nodes``: the nodes' digests as the
        # fingerprints made them (``Fingerprints.nodes``), if they were made before workers fork: each
        # worker had made them all again.
        self.digests = GraphDigests(org, nodes)
        self.exact = options.cache is not None and checks_exact(options.graph)  # whether to digest them
        self.lineage = self.layout = 0.0
        self._loaded = False  # whether this process has loaded the renderer (``load``)

    def load(self) -> None:
        """Load the renderer in this process, once: processes forked after it share it."""
        if not self._loaded:
            self._loaded = True
            with contextlib.suppress(RenderError):  # each graph's layout then fails, naming the graph
                self.renderer.version()

    def draw(self, focus: NodeKey) -> tuple[DrawnGraph, Drawing]:
        """Lay out the graph of ``focus`` (or take it from the cache), links relative to the site root."""
        return next(self.draw_all([focus]))

    def draw_all(self, focuses: Sequence[NodeKey]) -> Iterator[tuple[DrawnGraph, Drawing]]:
        """Draw the graphs of ``focuses`` (see ``draw``), in their order.

        Their DOT sources are made first, then those not in the cache are laid out back to back, then
        the SVGs are packed and titled: Graphviz keeps its code and memory in the processor's caches
        (with the rest of each graph's work between two layouts, layout took 15% longer at L, and the
        rest a third longer). Unless the options say to keep going, the graphs end with the first one
        that cannot be drawn.
        """
        clock = time.perf_counter
        started = clock()
        org, options = self.org, self.options
        sources = [graph_source(org, focus, options.graph, self.memo) for focus in focuses]
        keys = [self.cache.key(dot) for _, _, dot in sources]
        found = [self.cache.get(key) for key in keys]
        if None in found:
            # Graphviz is loaded here, not in the first layout's time: the layout timed is the
            # renderer's work alone, as the benchmarks' baseline (a) times it after a warm-up.
            self.load()
        self.lineage += clock() - started
        mark = clock()
        laid_out: list[str | RenderError] = []
        for (_, name, dot), svg in zip(sources, found, strict=True):
            if svg is None:
                try:
                    svg = self.renderer.render_svg(dot, graph=name, timeout=options.timeout)
                except RenderError as exc:
                    laid_out.append(exc)
                    if not options.keep_going:  # the build stops on it: N hanging graphs, N timeouts
                        break
                    continue
            laid_out.append(svg)
        self.layout += clock() - mark
        # Up to the first graph that failed, when not keeping going: its caller stops there.
        done = zip(focuses, sources, keys, found, laid_out, strict=False)
        for focus, source, key, cached, result in done:
            graph = source[0]
            mark = clock()
            svg_file = node_page(focus).removesuffix(".html") + ".svg"
            shown = self.digests.of(graph) if self.exact else ""
            if isinstance(result, RenderError):
                svg, drawing = "", Drawing(focus, key, error=str(result))
            elif cached is not None:
                svg, drawing = result, Drawing(focus, key, cached=True, shown=shown)
            else:
                svg = result
                keep = svg and options.cache is not None  # kept in the cache once the build is done
                drawing = Drawing(focus, key, pack_svg(svg) if keep else b"", shown=shown)
            titled = name_svg_titles(svg, org, graph, self.names) if svg else ""
            self.lineage += clock() - mark
            yield DrawnGraph(graph, titled, svg_file, drawing.error), drawing


def graph_source(
    org: Organisation, focus: NodeKey, options: GraphOptions, memo: NodeMemo | None = None
) -> tuple[LineageGraph, str, str]:
    """Return the lineage graph a page shows around ``focus``, its name, and its DOT source.

    Its links are relative to the page of ``focus``, beside which its SVG file is written too: neither
    changes them (see ``site.rebase`` for another page). ``memo``: see ``build_dot``; one serves every
    focus, since the node statements link to site paths, and the graph's root is put in front after.
    """
    graph = neighbourhood(org, focus, options)
    name = node_title(org, focus)
    dot = build_dot(
        org, graph, name=name, link=_site_link, id_prefix=GRAPH_ID_PREFIX, cluster_anchors=True, memo=memo
    )
    return graph, name, rooted(dot, root_of(node_page(focus)))


def _site_link(vertex: object) -> str | None:
    return node_page(vertex) if isinstance(vertex, NodeKey) else None


def rooted(dot: str, root: str) -> str:
    """Return ``dot``, whose nodes link to site paths, with ``root`` in front of each link but an anchor
    (see ``site.reroot``). The node statements, memoised once for every graph, link to site paths; the
    graph's DOT links from its page, and its SVG needs no copy to relink for that page."""
    return reroot(dot, 'URL="', "", root)


def keep_drawings(cache: GraphCache, drawings: Iterable[Drawing], keep: Iterable[str]) -> None:
    """Store the graphs laid out now in the cache (those ``drawings`` carry and those the cache holds, see
    ``hold_drawing``); drop every graph neither drawn now nor in ``keep``."""
    drawings = list(drawings)
    fresh = ((d.key, d.new_svg) for d in drawings if d.new_svg)
    cache.update(fresh, {d.key for d in drawings} | set(keep))


def hold_drawing(cache: GraphCache, drawing: Drawing) -> Drawing:
    """Hand a drawing's new SVG to the cache to hold until ``keep_drawings``; return the drawing without
    it (at XL, the build process had held 150 MB of them until the end)."""
    if not drawing.new_svg:
        return drawing
    cache.hold(drawing.key, drawing.new_svg)
    return replace(drawing, new_svg=b"")


_Drawn = tuple[int, PackedGraph, Drawing]  # a focus's index, its graph packed to cross the pipe

# What forked workers inherit: set by draw_graphs just before the pool starts.
_SHARED: tuple[Drawer, Sequence[NodeKey]] | None = None


def _draw_packed(drawer: Drawer, focuses: Sequence[NodeKey], chunk: range) -> list[_Drawn]:
    """Draw a chunk of the focuses' graphs together (``Drawer.draw_all``), up to the first that fails
    unless keeping going, each packed with its index."""
    drawn = drawer.draw_all([focuses[i] for i in chunk])
    return [(i, PackedGraph.pack(graph), drawing) for i, (graph, drawing) in zip(chunk, drawn, strict=False)]


def _work(chunk: range) -> list[_Drawn]:
    assert _SHARED is not None
    return _draw_packed(*_SHARED, chunk)


def _chunks(total: int, jobs: int) -> list[range]:
    size = max(8, min(200, total // (jobs * 8) or 1))
    return [range(start, min(start + size, total)) for start in range(0, total, size)]


def _results(drawer: Drawer, focuses: Sequence[NodeKey], jobs: int) -> Generator[list[_Drawn]]:
    global _SHARED
    total = len(focuses)
    if jobs <= 1 or total < _IN_PROCESS_BELOW or not can_fork():
        for chunk in _chunks(total, 1):
            yield _draw_packed(drawer, focuses, chunk)
        return
    _SHARED = drawer, focuses
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

    The graphs alone, on every core, as the benchmarks' baselines measure them (a build draws each
    graph in the worker that renders its page, see ``emit``). The cache keeps the graphs
    drawn now and those under the keys in ``keep``, and drops the rest.
    """
    drawer = Drawer(org, options)
    jobs = options.jobs or cpu_count()
    found: list[tuple[PackedGraph, Drawing] | None] = [None] * len(focuses)
    done = 0
    batches = _results(drawer, focuses, jobs)
    try:
        for batch in batches:  # in focus order, so the first failure is the same whatever the workers did
            for index, packed, drawing in batch:
                found[index] = packed, drawing
                if drawing.error:
                    if not options.keep_going:  # stop now: the other graphs would only wait for nothing
                        raise GraphFailure(drawing.error)
                    log.warning("%s", drawing.error)
            done += len(batch)
            if progress is not None:
                progress(done, len(focuses))
    finally:
        batches.close()  # stops the workers if we leave early
    results = [r for r in found if r is not None]
    if options.cache is not None:
        keep_drawings(drawer.cache, (d for _, d in results), keep)
    drawer.cache.close()
    stats = LayoutStats(
        len(results), sum(d.cached for _, d in results), jobs, {d.focus: d.key for _, d in results}
    )
    return PackedGraphs({d.focus: packed for packed, d in results}), stats


@dataclass(frozen=True, slots=True)
class LayoutStats:
    """How many graphs were drawn, how many came from the cache, on how many processes."""

    graphs: int
    cached: int
    jobs: int
    keys: Mapping[NodeKey, str]  # each graph's key in the cache
