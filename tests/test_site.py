"""Planning pages: what the planner computes once and shares is what it would compute page by page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reportgen.build import BuildOptions, _site_info
from reportgen.lineage import GraphOptions, NodeKey, neighbourhood
from reportgen.load import load_paths
from reportgen.model import Organisation
from reportgen.site import DrawnGraph, Planner, relink, vertex_title
from reportgen.timeline import timeline
from reportgen.validate import validate
from reportgen.views import CollectionPage, Page

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
        found[key] = DrawnGraph(
            graph, '<svg><a xlink:href="runs/x.html"/><a xlink:href="#g-n0"/></svg>', "x.svg"
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


_OLD_HREF = re.compile(r'xlink:href="(?![#])')


@pytest.mark.parametrize(
    "svg",
    [
        "",
        "<svg/>",
        '<a xlink:href="runs/a.html"><a xlink:href="#g-n1"><a xlink:href="">',
        '<a xlink:href="artifacts/x/v0.html#top"/>xlink:href="#"xlink:href="a"',
        'xlink:href="xlink:href="#',
    ],
)
@pytest.mark.parametrize("root", ["", "../", "../../../"])
def test_relink_prefixes_every_link_but_anchors(svg: str, root: str) -> None:
    expected = _OLD_HREF.sub(f'xlink:href="{root}', svg) if root else svg
    assert relink(svg, root) == expected
