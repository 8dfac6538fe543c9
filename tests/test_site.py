"""Planning pages: what the planner computes once and shares is what it would compute page by page."""

from __future__ import annotations

import html
import posixpath
import re
from pathlib import Path

import pytest
from factories import artifact, org_from_dict

import reportgen.site as site_module
from reportgen.build import BuildOptions, _site_info
from reportgen.layout import graph_source
from reportgen.lineage import Cluster, GraphOptions, NodeKey, Vertex, neighbourhood
from reportgen.load import load_paths
from reportgen.model import EventKind, Organisation
from reportgen.paths import collection_version_page, node_page
from reportgen.render import get_renderer
from reportgen.site import (
    VERSION_WINDOW,
    DrawnGraph,
    Planner,
    audit_months,
    month_name,
    name_svg_titles,
    rebase,
    root_of,
    units,
    vertex_title,
)
from reportgen.spec import format_utc
from reportgen.timeline import newest_first, timeline
from reportgen.validate import validate
from reportgen.views import AuditPage, CollectionPage, Page

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def org() -> Organisation:
    validation = validate(load_paths([REPO / "sample_manifests"]))
    assert validation.organisation is not None
    return validation.organisation


@pytest.fixture(scope="module")
def graphs(org: Organisation) -> dict[NodeKey, DrawnGraph]:
    keys = [NodeKey.of_artifact(ref) for ref in org.artifacts] + [NodeKey.of_run(r) for r in org.runs]
    found = {}
    for key in keys:
        graph = neighbourhood(org, key, GraphOptions())
        root = root_of(node_page(key))  # links relative to the focus's page, as graph_source makes them
        found[key] = DrawnGraph(
            graph, f'<svg><a xlink:href="{root}runs/x.html"/><a xlink:href="#g-n0"/></svg>', "x.svg"
        )
    return found


def planner(org: Organisation, graphs: dict[NodeKey, DrawnGraph]) -> Planner:
    return Planner(org, _site_info(org, BuildOptions(output=Path("site"))), graphs)


def test_shared_parts_change_no_page(org: Organisation, graphs: dict[NodeKey, DrawnGraph]) -> None:
    """Each page planned alone, by a planner that has cached nothing, equals the page planned in turn."""
    pages = list(planner(org, graphs).pages())
    alone: list[Page] = [planner(org, graphs).index(), planner(org, graphs).audit()]
    for history in org.collections.values():
        alone.append(planner(org, graphs).collection(history))
        alone += [planner(org, graphs).collection(history, v.version) for v in history.versions]
    alone += [planner(org, graphs).artifact(a) for a in org.artifacts.values()]
    alone += [planner(org, graphs).run(r) for r in org.runs.values()]
    assert [p.path for p in pages] == [p.path for p in alone]
    assert pages == alone


@pytest.mark.parametrize("over", [0, 1])
def test_the_audit_log_is_one_page_up_to_the_limit_then_a_page_a_month(
    org: Organisation, monkeypatch: pytest.MonkeyPatch, over: int
) -> None:
    events = newest_first(org.events())
    monkeypatch.setattr(site_module, "AUDIT_PAGE_LIMIT", len(events) - over)
    months = audit_months(org)
    audit = planner(org, {}).audit()
    if not over:
        assert months == ()
        assert [u.kind for u in units(org)][:3] == ["index", "audit", "collection"]
        assert audit.timeline is not None and audit.timeline.count == len(events)
        assert audit.months == () and audit.month == ""
        return
    assert months == tuple(sorted({format_utc(e.at)[:7] for e in events}, reverse=True))
    assert [(u.kind, u.key) for u in units(org)][1 : 2 + len(months)] == [("audit", "")] + [
        ("audit-month", m) for m in months
    ]
    assert audit.timeline is None
    assert [m.month for m in audit.months] == list(months)
    assert audit.count == len(events) == sum(m.count for m in audit.months)
    assert audit.kinds == tuple(k.label for k in EventKind)
    for summary in audit.months:
        those = [e for e in events if format_utc(e.at).startswith(summary.month)]
        assert summary.count == len(those)
        assert summary.kinds == tuple(sum(e.kind is k for e in those) for k in EventKind)
        assert summary.users == len({e.user for e in those})
        assert summary.link.href == f"audit/{summary.month}.html"
    pages: list[AuditPage] = [planner(org, {}).audit_month(m) for m in months]
    assert [e.at for p in pages for d in p.timeline.days for e in d.events] == [  # type: ignore[union-attr]
        format_utc(e.at) for e in events
    ]
    for n, page in enumerate(pages):
        assert (page.path, page.root, page.month) == (f"audit/{months[n]}.html", "../", months[n])
        assert page.title == f"Audit log: {month_name(months[n])}"
        assert [c.href for c in page.crumbs] == ["index.html", "audit.html"]
        assert (page.newer.href if page.newer else None) == (f"audit/{months[n - 1]}.html" if n else None)
        assert (page.older.href if page.older else None) == (
            f"audit/{months[n + 1]}.html" if n + 1 < len(months) else None
        )
        assert page.timeline is not None and page.timeline.csv == "audit.csv"


def test_month_names_are_english_and_do_not_follow_the_locale() -> None:
    assert [month_name(f"2026-{m:02d}") for m in (1, 6, 12)] == ["January 2026", "June 2026", "December 2026"]
    assert month_name("0001-02") == "February 0001"


def test_version_pages_show_the_actions_on_their_version(org: Organisation) -> None:
    plan = planner(org, {})
    checked = 0
    for history in org.collections.values():
        whole = plan.collection(history).timeline
        assert whole is not None
        assert whole == timeline(org, history.events, whole.csv, whole.json)
        for v in history.versions:
            page = plan.collection(history, v.version)
            assert isinstance(page, CollectionPage) and page.timeline is not None
            mine = (e for e in history.events if v.version in (e.version, e.previous_version))
            assert page.timeline == timeline(org, mine, page.timeline.csv, page.timeline.json)
            checked += 1
    assert checked > 10
    audit = plan.audit().timeline
    assert audit == timeline(org, org.events(), "audit.csv", "audit.json", show_collection=True)


def test_graph_nodes_name_each_vertex_with_its_own_id_and_focus(
    org: Organisation, graphs: dict[NodeKey, DrawnGraph]
) -> None:
    plan = planner(org, graphs)
    for key, drawn in graphs.items():
        view = plan.graph_view(key, "runs/x.html")
        assert view is not None
        vertices = drawn.graph.vertices
        assert [n.id for n in view.nodes] == [f"g-n{i}" for i in range(len(vertices))]
        assert [n.title for n in view.nodes] == [vertex_title(org, v) for v in vertices]
        assert [n.focus for n in view.nodes] == [v == key for v in vertices]
        titles = {v: vertex_title(org, v) for v in vertices}
        assert view.edges == tuple((titles[a], titles[b]) for a, b in drawn.graph.edges)


_PAGES = ["index.html", "runs/x.html", "artifacts/a/v0.html", "collections/r/n/v1.html"]
_TARGETS = ["runs/a.html", "artifacts/x/v0.html", "artifacts/x/v0.html#top", ""]


def _svg_links(root: str) -> str:
    """An SVG's links as a graph drawn for a page ``root`` away writes them, with anchors among them."""
    links = [f'<a xlink:href="{root}{t}">' for t in _TARGETS]
    return "".join(links) + '<a xlink:href="#g-n1"><a xlink:href="#">xlink:title="run · a"'


@pytest.mark.parametrize("drawn_for", _PAGES)
@pytest.mark.parametrize("page", _PAGES)
def test_rebase_makes_every_link_but_anchors_relative_to_the_page_showing_the_graph(
    drawn_for: str, page: str
) -> None:
    svg = _svg_links(root_of(drawn_for))
    rebased = rebase(svg, drawn_for, page)
    assert rebased == _svg_links(root_of(page))
    if root_of(page) == root_of(drawn_for):
        assert rebased is svg  # nothing copied for the page it was drawn for


def test_a_graph_links_to_its_nodes_pages_from_its_own_page_and_from_any_other(org: Organisation) -> None:
    """A drawn graph's links, followed from its own page (or its SVG file beside it) or rebased for a page
    elsewhere, reach its nodes' pages."""
    followed = 0
    for key in [
        *list(NodeKey.of_artifact(ref) for ref in org.artifacts)[:6],
        NodeKey.of_run(next(iter(org.runs))),
    ]:
        graph, _, dot = graph_source(org, key, GraphOptions())
        svg = get_renderer().render_svg(dot, graph=str(key))
        pages = {node_page(v) for v in graph.nodes}
        for page in [node_page(key), "index.html", "runs/x.html", "collections/r/n/v1.html"]:
            hrefs = re.findall(r'xlink:href="([^"#][^"]*)"', rebase(svg, node_page(key), page))
            reached = {posixpath.normpath(posixpath.join(posixpath.dirname(page), h)) for h in hrefs}
            assert reached == pages  # every node links to its page, the focus too
            followed += len(hrefs)
    assert followed > 0


def test_svg_titles_name_nodes_and_edges(org: Organisation) -> None:
    """Every node's and edge's <title> names it (escaped) instead of Graphviz's generated id."""
    named = 0
    for key in [
        *list(NodeKey.of_artifact(ref) for ref in org.artifacts)[:6],
        NodeKey.of_run(next(iter(org.runs))),
    ]:
        graph, _, dot = graph_source(org, key, GraphOptions())
        svg = get_renderer().render_svg(dot, graph=str(key))
        titled = name_svg_titles(svg, org, graph)
        found = re.findall(r"<title>([^<]*)</title>", titled)
        names = {v: html.escape(vertex_title(org, v), quote=False) for v in graph.vertices}
        edges = [f"{names[a]} → {names[b]}" for a, b in graph.edges]
        assert sorted(found[1:]) == sorted([*names.values(), *edges])  # the first is the graph's own
        assert not any("g&#45;n" in title for title in found)
        named += len(edges)
    assert named > 0


def test_svg_titles_kept_names_give_the_same_titles(org: Organisation) -> None:
    """Names kept from graph to graph title each SVG as naming it alone does; clusters are not kept."""
    options = GraphOptions(cluster_threshold=2)  # collapse siblings into clusters wherever there are two
    names: dict[Vertex, str] = {}
    clusters = 0
    for key in [NodeKey.of_artifact(ref) for ref in org.artifacts] + [NodeKey.of_run(r) for r in org.runs]:
        graph = neighbourhood(org, key, options)
        ids = [f"g&#45;n{n}" for n in range(len(graph.vertices))]
        svg = "".join(f"<g><title>{i}</title></g>" for i in ids) + "".join(
            f"<g><title>{ids[graph.vertices.index(a)]}&#45;&gt;{ids[graph.vertices.index(b)]}</title></g>"
            for a, b in graph.edges
        )
        assert name_svg_titles(svg, org, graph, names) == name_svg_titles(svg, org, graph)
        clusters += sum(isinstance(v, Cluster) for v in graph.vertices)
    assert clusters > 0
    assert names and not any(isinstance(v, Cluster) for v in names)
    assert all(names[k] == html.escape(vertex_title(org, k), quote=False) for k in names)


def test_svg_titles_leave_ids_no_vertex_has_alone(org: Organisation) -> None:
    """A title whose id is no vertex's place (past the last, or spelled with a leading zero) stays."""
    graph = neighbourhood(org, NodeKey.of_artifact(next(iter(org.artifacts))), GraphOptions())
    first = html.escape(vertex_title(org, graph.vertices[0]), quote=False)
    last = len(graph.vertices)
    kept = [
        f"<title>g&#45;n{last}</title>",
        "<title>g&#45;n00</title>",
        f"<title>g&#45;n0&#45;&gt;g&#45;n{last}</title>",
        "<title>g&#45;n01&#45;&gt;g&#45;n0</title>",
        f"<title>g&#45;n{'9' * 10}</title>",
    ]
    svg = "".join(kept) + "<title>g&#45;n0</title><title>g&#45;n0&#45;&gt;g&#45;n0</title>"
    assert (
        name_svg_titles(svg, org, graph)
        == "".join(kept) + f"<title>{first}</title><title>{first} → {first}</title>"
    )


def _long_collection(versions: int) -> Organisation:
    """One collection with ``versions`` versions, linked in turn; every tenth gets `production`."""
    actions: list[dict[str, object]] = []
    for n in range(versions):
        day = f"2025-{1 + n // 28 % 12:02d}-{1 + n % 28:02d}T{n // 336:02d}:00:00Z"
        actions.append(
            {
                "at": day,
                "user": "ci",
                "action": "link",
                "collection": "model/nightly",
                "artifact": f"nightly:v{n}",
            }
        )
        if n % 10 == 0:
            actions.append(
                {
                    "at": day.replace(":00:00Z", ":30:00Z"),
                    "user": "ana",
                    "action": "add_alias",
                    "collection": "model/nightly",
                    "version": f"v{n}",
                    "alias": "production",
                }
            )
    return org_from_dict(
        {
            "registries": [{"name": "model"}],
            "collections": [{"registry": "model", "name": "nightly", "type": "model"}],
            "artifacts": [artifact("nightly", n, "model") for n in range(versions)],
            "actions": actions,
        }
    )


@pytest.mark.parametrize("versions", [1, VERSION_WINDOW, VERSION_WINDOW + 1, 2 * VERSION_WINDOW + 7])
def test_version_pages_of_a_long_collection_list_the_block_that_holds_them(versions: int) -> None:
    """A version page lists (selector, versions table) its block of VERSION_WINDOW versions, newest first,
    with links to the nearest versions of the blocks around it; the collection page lists every version."""
    org = _long_collection(versions)
    history = org.collections["model/nightly"]
    plan = planner(org, {})
    whole = plan.collection(history)
    assert whole.window is None
    assert [link.text for link in whole.selector] == [f"v{n}" for n in reversed(range(versions))]
    assert [row.version.text for row in whole.versions] == [f"v{n}" for n in reversed(range(versions))]
    for n in range(versions):
        page = plan.collection(history, n)
        assert page.timeline is not None  # the actions on its version, whatever its block
        mine = (e for e in history.events if n in (e.version, e.previous_version))
        assert page.timeline == timeline(org, mine, page.timeline.csv, page.timeline.json)
        if versions <= VERSION_WINDOW:
            assert page.window is None
            assert (page.selector, page.versions) == (whole.selector, whole.versions)
            continue
        first = n - n % VERSION_WINDOW
        last = min(first + VERSION_WINDOW, versions) - 1
        block = [f"v{k}" for k in range(last, first - 1, -1)]
        assert [link.text for link in page.selector] == block
        assert [row.version.text for row in page.versions] == block
        assert page.versions == tuple(r for r in whole.versions if r.version.text in block)
        window = page.window
        assert window is not None and (window.first, window.last) == (first, last)
        if first == 0:
            assert window.older is None
        else:
            assert window.older is not None
            assert window.older.text == f"v{first - VERSION_WINDOW}–v{first - 1}"
            assert window.older.href == collection_version_page("model", "nightly", first - 1)
        if last == versions - 1:
            assert window.newer is None
        else:
            assert window.newer is not None
            assert window.newer.text == f"v{last + 1} and later"
            assert window.newer.href == collection_version_page("model", "nightly", last + 1)
