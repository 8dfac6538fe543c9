"""Laying out a site's graphs: in parallel, cached beside the site, always the same bytes."""

from __future__ import annotations

import gc
import hashlib
import io
import os
import sqlite3
import tracemalloc
import zlib
from pathlib import Path
from typing import Any

import pytest
import zstandard
from factories import artifact, fan_out, org_from_dict, run

from reportgen import layout
from reportgen.build import BuildOptions, build, cache_folder, graph_focuses
from reportgen.graphs import NodeMemo, build_dot
from reportgen.incremental import PageCache
from reportgen.layout import GraphCache, GraphFailure, LayoutOptions, draw_graphs, pack_svg
from reportgen.lineage import GraphOptions, NodeKey
from reportgen.load import load_paths
from reportgen.paths import node_page
from reportgen.render import RenderError
from reportgen.site import GRAPH_ID_PREFIX, root_of
from reportgen.validate import validate
from reportgen.workers import frozen_heap

SAMPLES = Path(__file__).resolve().parent.parent / "sample_manifests"


def files_of(site: Path) -> dict[str, bytes]:
    return {p.relative_to(site).as_posix(): p.read_bytes() for p in sorted(site.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def org():  # type: ignore[no-untyped-def]
    return validate(load_paths([SAMPLES])).organisation


def test_one_and_two_processes_draw_the_same_graphs(org) -> None:  # type: ignore[no-untyped-def]
    focuses = graph_focuses(org)
    one, stats_one = draw_graphs(org, focuses, LayoutOptions(graph=GraphOptions(), jobs=1))
    two, stats_two = draw_graphs(org, focuses, LayoutOptions(graph=GraphOptions(), jobs=2))
    assert (stats_one.jobs, stats_two.jobs) == (1, 2)
    assert list(one) == list(two) == focuses  # in page order whatever finished first
    assert all(one[k].svg == two[k].svg and one[k].graph == two[k].graph for k in focuses)


def test_a_rebuild_reuses_every_graph_and_gives_the_same_bytes(tmp_path: Path) -> None:
    cold = build([SAMPLES], BuildOptions(output=tmp_path / "cold", cache=False, title="Again"))
    first = build([SAMPLES], BuildOptions(output=tmp_path / "site"))
    # another title: every page is rendered again (none is reused), every graph comes from the cache
    again = build([SAMPLES], BuildOptions(output=tmp_path / "site", title="Again"))
    assert again.reused_pages == 0
    assert cold.cached_graphs == 0 and first.cached_graphs == 0
    assert again.cached_graphs == again.graphs == first.graphs > 0
    assert files_of(tmp_path / "site") == files_of(tmp_path / "cold")
    assert (tmp_path / ".site.cache").is_dir() and not (tmp_path / ".cold.cache").exists()


def cached_keys(cache: Path) -> set[str]:
    with sqlite3.connect(cache / GraphCache.FILE) as db:
        return {key for (key,) in db.execute("SELECT key FROM graphs")}


def test_a_changed_graph_is_drawn_again_and_unused_ones_are_dropped(tmp_path: Path) -> None:
    manifests = tmp_path / "m"
    manifests.mkdir()
    (manifests / "a.yaml").write_text(
        "artifacts: [{name: data, version: v0, type: dataset}, {name: model, version: v0, type: model}]\n"
        "runs: [{id: train, job_type: train, inputs: ['data:v0'], outputs: ['model:v0']}]\n"
    )
    build([manifests], BuildOptions(output=tmp_path / "site"))
    before = cached_keys(tmp_path / ".site.cache")
    assert len(before) == 3
    # renaming the run's job type changes every graph it is drawn in: all three are drawn again
    (manifests / "a.yaml").write_text(
        (manifests / "a.yaml").read_text().replace("job_type: train", "job_type: fit")
    )
    result = build([manifests], BuildOptions(output=tmp_path / "site"))
    assert result.cached_graphs == 0
    after = cached_keys(tmp_path / ".site.cache")
    assert len(after) == 3 and not before & after  # the old three were dropped


def test_a_damaged_cache_is_drawn_again(tmp_path: Path) -> None:
    build([SAMPLES / "zoo"], BuildOptions(output=tmp_path / "site"))
    good = files_of(tmp_path / "site")
    for damage in (
        "UPDATE graphs SET svg = zeroblob(length(svg))",  # the bytes changed behind the checksum's back
        f"UPDATE graphs SET svg = x'00', sha = '{hashlib.sha256(bytes(1)).hexdigest()}'",  # not packed
        "UPDATE graphs SET svg = 'text'",  # not what this reportgen writes
    ):
        with sqlite3.connect(tmp_path / ".site.cache" / GraphCache.FILE) as db:
            db.execute(damage)
        (cache_folder(tmp_path / "site") / PageCache.FILE).unlink()  # render every page: draw every graph
        result = build([SAMPLES / "zoo"], BuildOptions(output=tmp_path / "site"))
        assert result.cached_graphs == 0 and result.graphs > 0, damage
        assert files_of(tmp_path / "site") == good
    (tmp_path / ".site.cache" / GraphCache.FILE).write_bytes(b"not a database")
    (cache_folder(tmp_path / "site") / PageCache.FILE).unlink()
    result = build([SAMPLES / "zoo"], BuildOptions(output=tmp_path / "site"))
    assert result.written and files_of(tmp_path / "site") == good
    (cache_folder(tmp_path / "site") / PageCache.FILE).unlink()
    again = build([SAMPLES / "zoo"], BuildOptions(output=tmp_path / "site"))  # the cache was started again
    assert again.cached_graphs == again.graphs > 0


def test_cache_keys_depend_on_the_dot_and_the_renderer() -> None:
    a = GraphCache(None, "embedded", "16.1.0")
    b = GraphCache(None, "system", "2.43.0")
    assert a.key("digraph {}") != a.key("digraph { x }")
    assert a.key("digraph {}") != b.key("digraph {}")
    assert a.get(a.key("digraph {}")) is None  # no folder: nothing is kept


def test_a_missing_cache_is_looked_for_once_and_made_by_the_update(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = GraphCache(tmp_path / "cache", "embedded", "16.1.0")
    looked: list[Path] = []
    is_file = Path.is_file
    monkeypatch.setattr(Path, "is_file", lambda path: looked.append(path) or is_file(path))
    keys = [cache.key(f"digraph {{ n{i} }}") for i in range(3)]
    assert [cache.get(key) for key in keys] == [None, None, None]
    assert looked == [tmp_path / "cache" / GraphCache.FILE]  # once, not once a graph
    cache.update([(keys[0], pack_svg("<svg>0</svg>"))], keep={keys[0]})
    assert [cache.get(key) for key in keys] == ["<svg>0</svg>", None, None]
    cache.close()
    assert cache.get(keys[0]) == "<svg>0</svg>"  # opened again
    cache.close()


def test_graphs_held_for_the_cache_wait_in_an_unnamed_file_until_it_is_written(tmp_path: Path) -> None:
    """The graphs a build lays out wait for the cache's update outside the process's memory: in a file of
    the cache folder that has no name (none is left behind), with the graphs given to the update."""
    cache = GraphCache(tmp_path / "cache", "embedded", "16.1.0")
    keys = [cache.key(f"digraph {{ n{i} }}") for i in range(4)]
    for i in range(3):
        cache.hold(keys[i], pack_svg(f"<svg>{i}</svg>"))
    spool = cache._spool
    assert spool is not None and not isinstance(spool, io.BytesIO) and spool.tell() > 0
    assert os.listdir(tmp_path / "cache") == []  # no name: gone with the process, however it ends
    cache.update([(keys[3], pack_svg("<svg>3</svg>"))], keep=set(keys[1:]))
    assert spool.closed and cache._spool is None
    assert [cache.get(key) for key in keys] == [None, "<svg>1</svg>", "<svg>2</svg>", "<svg>3</svg>"]
    cache.update([], keep=set(keys))  # nothing held any more: the graphs stored stay
    assert cache.get(keys[2]) == "<svg>2</svg>"
    cache.hold(keys[0], pack_svg("<svg>0</svg>"))
    cache.close()  # the build did not get as far as keeping its graphs: they are not kept
    cache.update([], keep=set(keys))
    assert cache.get(keys[0]) is None and cache.get(keys[1]) == "<svg>1</svg>"
    cache.close()
    assert sorted(os.listdir(tmp_path / "cache")) == [GraphCache.FILE]


def test_a_held_graph_damaged_before_it_is_stored_is_laid_out_again(tmp_path: Path) -> None:
    """A graph's checksum is taken as the cache is handed it: bytes changed while it waits in the file
    are stored under the checksum of what it was handed, and read as damaged."""
    cache = GraphCache(tmp_path / "cache", "embedded", "16.1.0")
    keys = [cache.key(f"digraph {{ n{i} }}") for i in range(2)]
    first = pack_svg("<svg>0</svg>")
    cache.hold(keys[0], first)
    cache.hold(keys[1], pack_svg("<svg>1</svg>"))
    assert cache._spool is not None
    cache._spool.seek(len(first) + 5)
    cache._spool.write(b"\xff")
    cache._spool.seek(0, io.SEEK_END)
    cache.update([], keep=set(keys))
    assert [cache.get(key) for key in keys] == ["<svg>0</svg>", None]
    cache.close()


def test_a_graph_the_cache_cannot_hold_is_laid_out_again_next_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk while a graph is held loses that graph alone, and one the file cannot be made for
    waits in memory."""
    cache = GraphCache(tmp_path / "cache", "embedded", "16.1.0")
    keys = [cache.key(f"digraph {{ n{i} }}") for i in range(3)]
    cache.hold(keys[0], pack_svg("<svg>0</svg>"))
    assert cache._spool is not None
    real = cache._spool

    class Full:  # writes half of what it is given, then fails, as a disk filling up does
        def __init__(self) -> None:
            self.calls = 0

        def write(self, data: bytes) -> int:
            self.calls += 1
            if self.calls == 1:
                return real.write(data[: len(data) // 2])
            raise OSError(28, "No space left on device")

        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

    cache._spool = Full()  # type: ignore[assignment]
    cache.hold(keys[1], pack_svg("<svg>1</svg>" * 50))  # cut short: not kept, and not left in the file
    cache.hold(keys[2], pack_svg("<svg>2</svg>"))  # refused
    cache._spool = real
    cache.update([], keep=set(keys))
    assert [cache.get(key) for key in keys] == ["<svg>0</svg>", None, None]
    cache.close()

    def no_file(*args: Any, **kwargs: Any) -> Any:
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(layout.tempfile, "TemporaryFile", no_file)
    cache.hold(keys[1], pack_svg("<svg>1</svg>"))
    assert isinstance(cache._spool, io.BytesIO)
    cache.update([], keep=set(keys))
    assert [cache.get(key) for key in keys] == ["<svg>0</svg>", "<svg>1</svg>", None]
    cache.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="forks a process")
def test_a_forked_process_leaves_the_graphs_its_parent_holds_alone(tmp_path: Path) -> None:
    cache = GraphCache(tmp_path / "cache", "embedded", "16.1.0")
    keys = [cache.key(f"digraph {{ n{i} }}") for i in range(3)]
    cache.hold(keys[0], pack_svg("<svg>0</svg>"))
    pid = os.fork()
    if pid == 0:  # the child: holds, updates and closes its copy, as a worker that drew graphs might
        try:
            cache.hold(keys[2], pack_svg("<svg>2</svg>"))
            cache.update([], keep={keys[2]})
            cache.close()
        finally:
            os._exit(0)
    assert os.waitpid(pid, 0)[1] == 0
    cache.hold(keys[1], pack_svg("<svg>1</svg>"))
    cache.update([], keep=set(keys))
    assert [cache.get(key) for key in keys] == ["<svg>0</svg>", "<svg>1</svg>", "<svg>2</svg>"]
    cache.close()


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_build_hands_each_new_graph_to_the_cache_as_it_comes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    """The build process does not keep the graphs laid out until the build ends: each is held by the
    cache as its batch arrives, and stored with the others at the end."""
    updates: list[tuple[int, int]] = []
    update = GraphCache.update

    def counted(self: GraphCache, new: Any, keep: set[str]) -> None:
        new = list(new)
        updates.append((len(new), len(self._held)))
        update(self, new, keep)

    monkeypatch.setattr(GraphCache, "update", counted)
    result = build([SAMPLES], BuildOptions(output=tmp_path / "site", jobs=jobs))
    assert result.written and result.graphs > 0
    assert updates == [(0, result.graphs)]
    assert len(cached_keys(tmp_path / ".site.cache")) == result.graphs
    again = build([SAMPLES], BuildOptions(output=tmp_path / "again", jobs=jobs))
    assert files_of(tmp_path / "again") == files_of(tmp_path / "site")
    monkeypatch.undo()
    (cache_folder(tmp_path / "site") / PageCache.FILE).unlink()  # render every page: draw every graph
    rebuilt = build([SAMPLES], BuildOptions(output=tmp_path / "site", jobs=jobs))
    assert rebuilt.cached_graphs == rebuilt.graphs == again.graphs
    assert files_of(tmp_path / "site") == files_of(tmp_path / "again")


def test_the_first_graph_that_fails_is_named_whatever_the_workers_did(
    org,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    def broken(self, dot: str, *, graph: str, timeout: float | None = None) -> str:  # type: ignore[no-untyped-def]
        raise RenderError(graph=graph, message="boom")

    monkeypatch.setattr("reportgen.render.EmbeddedRenderer.render_svg", broken)
    focuses = graph_focuses(org)
    with pytest.raises(GraphFailure, match=f"cannot draw graph '{focuses[0].artifact}': boom"):
        draw_graphs(org, focuses, LayoutOptions(graph=GraphOptions(), jobs=2))
    drawn, _ = draw_graphs(org, focuses, LayoutOptions(graph=GraphOptions(), jobs=2, keep_going=True))
    assert all(d.error.endswith("boom") and not d.svg for d in drawn.values())


def test_without_keep_going_the_build_stops_at_the_first_failure(
    org,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    calls: list[str] = []

    def broken(self, dot: str, *, graph: str, timeout: float | None = None) -> str:  # type: ignore[no-untyped-def]
        calls.append(graph)
        raise RenderError(graph=graph, message="timed out")

    monkeypatch.setattr("reportgen.render.EmbeddedRenderer.render_svg", broken)
    with pytest.raises(GraphFailure):
        draw_graphs(org, graph_focuses(org), LayoutOptions(graph=GraphOptions(), jobs=1))
    assert len(calls) == 1  # N hanging graphs would otherwise cost N timeouts


def test_frozen_heaps_nest_and_only_the_outermost_thaws() -> None:
    assert gc.get_freeze_count() == 0
    with frozen_heap():
        outer = gc.get_freeze_count()
        assert outer > 0
        with frozen_heap():
            kept = [object()]  # made inside: frozen with the inner block
            assert gc.get_freeze_count() >= outer
        assert gc.get_freeze_count() >= outer  # the inner block did not thaw what the outer froze
        del kept
    assert gc.get_freeze_count() == 0


def test_an_svg_packs_and_unpacks_and_nothing_else_unpacks(monkeypatch: pytest.MonkeyPatch) -> None:
    svg = '<svg xmlns="http://www.w3.org/2000/svg"><title>snow ☃ &amp; ünïcode</title></svg>' * 50
    packed = layout.pack_svg(svg)
    assert len(packed) < len(svg.encode("utf-8")) // 4
    tracemalloc.start()
    try:  # held in memory at its size, not at the size the compressor made room for
        kept = [layout.pack_svg(svg) for _ in range(10)]
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert held < 10 * len(svg.encode("utf-8")) // 2 and kept[0] == packed
    assert layout.unpack_svg(packed) == svg
    for other in (b"", b"not packed", zlib.compress(svg.encode("utf-8")), packed[:-3]):
        with pytest.raises(ValueError, match="not a packed SVG"):
            layout.unpack_svg(other)
    not_text = zstandard.ZstdCompressor().compress(b"\xff\xfe<svg/>")
    with pytest.raises(ValueError, match="not a packed SVG"):
        layout.unpack_svg(not_text)
    monkeypatch.setattr(layout, "_MAX_SVG_BYTES", 1000)  # a frame that says it holds more is refused
    with pytest.raises(ValueError, match="would hold over 1000 bytes"):
        layout.unpack_svg(layout.pack_svg("x" * 1001))
    unsized = zstandard.ZstdCompressor(write_content_size=False).compress(b"x" * 1001)
    with pytest.raises(ValueError, match="not a packed SVG"):  # one that does not say stops at the bound
        layout.unpack_svg(unsized)


def test_each_process_packs_with_its_own_codec() -> None:
    mine = layout._codec()
    assert layout._codec() is mine
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            ok = layout._codec() is not mine and layout.unpack_svg(layout.pack_svg("<svg/>")) == "<svg/>"
            os.write(writer, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(reader, 1) == b"1"
    assert layout._codec() is mine


def test_graphs_drawn_together_are_those_drawn_one_at_a_time(org, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    focuses = graph_focuses(org)
    options = LayoutOptions(graph=GraphOptions(), jobs=1, cache=tmp_path / "cache")
    alone = layout.Drawer(org, options)
    one_by_one = [alone.draw(focus) for focus in focuses]
    together = list(layout.Drawer(org, options).draw_all(focuses))
    assert together == one_by_one
    assert all(not drawing.cached and drawing.new_svg for _, drawing in together)


def test_a_process_loads_graphviz_once_before_its_first_layout_and_only_if_it_lays_one_out(
    org,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """The layout a drawer times is Graphviz's work alone, as baseline (a) times it after a warm-up:
    loading Graphviz counts with the rest of the graphs' work."""
    focuses = graph_focuses(org)[:4]
    calls: list[str] = []
    real_version = layout.get_renderer("embedded").version
    real_render = layout.get_renderer("embedded").render_svg

    def version(self) -> str:  # type: ignore[no-untyped-def]
        calls.append("load")
        return real_version()

    def render(self, dot: str, *, graph: str, timeout: float | None = None) -> str:  # type: ignore[no-untyped-def]
        calls.append("layout")
        return real_render(dot, graph=graph, timeout=timeout)

    monkeypatch.setattr("reportgen.render.EmbeddedRenderer.version", version)
    monkeypatch.setattr("reportgen.render.EmbeddedRenderer.render_svg", render)
    options = LayoutOptions(graph=GraphOptions(), jobs=1, cache=tmp_path / "cache")
    drawer = layout.Drawer(org, options)
    drawn = list(drawer.draw_all(focuses[:2])) + list(drawer.draw_all(focuses[2:]))
    assert calls == ["load", "layout", "layout", "layout", "layout"]
    layout.keep_drawings(drawer.cache, [d for _, d in drawn], [])
    drawer.cache.close()
    calls.clear()
    again = layout.Drawer(org, options)
    assert all(d.cached for _, d in again.draw_all(focuses))
    assert calls == []  # every graph came from the cache: Graphviz was never needed


@pytest.mark.parametrize("keep_going", [False, True])
def test_graphs_drawn_together_stop_at_the_first_failure_unless_keeping_going(
    org,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
    keep_going: bool,
) -> None:
    focuses = graph_focuses(org)[:6]
    real = layout.Drawer(org, LayoutOptions(graph=GraphOptions())).renderer.render_svg
    calls: list[str] = []

    def broken(self, dot: str, *, graph: str, timeout: float | None = None) -> str:  # type: ignore[no-untyped-def]
        calls.append(graph)
        if len(calls) in (3, 5):
            raise RenderError(graph=graph, message="timed out")
        return real(dot, graph=graph, timeout=timeout)

    monkeypatch.setattr("reportgen.render.EmbeddedRenderer.render_svg", broken)
    drawer = layout.Drawer(org, LayoutOptions(graph=GraphOptions(), keep_going=keep_going))
    drawn = list(drawer.draw_all(focuses))
    errors = [bool(drawing.error) for _, drawing in drawn]
    if keep_going:
        assert len(calls) == len(drawn) == 6 and errors == [False, False, True, False, True, False]
    else:  # the build stops there: the graphs after it are not laid out (each could time out)
        assert len(calls) == len(drawn) == 3 and errors == [False, False, True]
    assert all(bool(graph.svg) != drawing.error for graph, drawing in drawn)


def _named_runs(text: str) -> dict[str, Any]:
    """A run named and typed ``text`` between two artifact versions, the first described by it."""
    return {
        "artifacts": [artifact("in", 0, description=text), artifact("out", 0)],
        "runs": [run("r1", name=text, inputs=["in:v0"], outputs=["out:v0"], job_type=text)],
    }


# Texts that spell, or nearly spell, how a link's attribute starts in DOT.
_LINK_TEXTS = ['URL="x', 'URL=\\"x', 'a URL="#b', 'URL=\\\\"', '"URL="', "URL=\\"]


@pytest.mark.parametrize(
    ("manifest", "clustered"),
    [
        pytest.param(fan_out(12), True, id="clusters"),
        *(pytest.param(_named_runs(text), False, id=f"text-{i}") for i, text in enumerate(_LINK_TEXTS)),
    ],
)
def test_a_graphs_dot_links_from_its_focuss_page_as_if_drawn_with_links_from_there(
    manifest: dict[str, Any], clustered: bool
) -> None:
    """graph_source memoises node statements that link to site paths, then puts the focus's root in front
    of every link but a cluster's anchor: the DOT is the one drawn with links from the focus's page, with
    texts that spell a link's attribute too."""
    org = org_from_dict(manifest)
    memo: NodeMemo = {}
    focuses = [NodeKey.of_artifact(ref) for ref in org.artifacts] + [NodeKey.of_run(r) for r in org.runs]
    anchors = 0
    for focus in focuses * 2:  # the second time from the memo
        root = root_of(node_page(focus))

        def link(vertex: object, root: str = root) -> str | None:
            return root + node_page(vertex) if isinstance(vertex, NodeKey) else None

        graph, name, dot = layout.graph_source(org, focus, GraphOptions(), memo)
        expected = build_dot(
            org, graph, name=name, link=link, id_prefix=GRAPH_ID_PREFIX, cluster_anchors=True
        )
        assert dot == expected
        assert dot.count('URL="') == len(graph.vertices)  # every vertex links, and nothing else does
        anchors += dot.count('URL="#')
    assert (anchors > 0) == clustered  # a cluster's anchor stays an anchor
