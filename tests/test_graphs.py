"""DOT, SVG and Mermaid of lineage graphs: the zoo picture, clusters, styling and escaping.

SVGs are parsed as XML and checked node by node: classes, label lines, links, tooltips, outline shapes
and colours, and edges by the node pair they join. Every SVG test runs with both renderers (the system
one skips where Graphviz's `dot` is not installed).
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import graphviz
import pytest
from factories import (
    RENDERERS,
    ZOO,
    DrawnNode,
    artifact,
    fan_out,
    load_org,
    node_by_text,
    org_from_dict,
    parse_svg,
    private_cache,  # noqa: F401 - fixture
    run,
)
from hypothesis import example, given
from hypothesis import strategies as st

from reportgen import graphs
from reportgen.draw import draw, links_from
from reportgen.graphs import LABEL_WIDTH, TOOLTIP_MEMBERS, LinkFor, build_dot, shorten
from reportgen.lineage import Cluster, GraphOptions, LineageGraph, focus_of, neighbourhood
from reportgen.load import load_paths
from reportgen.model import ArtifactRef, ArtifactVersion, Organisation, Run
from reportgen.render import get_renderer
from reportgen.validate import validate

pytestmark = pytest.mark.usefixtures("private_cache")

RED = "#c62828"
FOCUS_BLUE = "#0d47a1"


@pytest.fixture(scope="module")
def zoo() -> Organisation:
    result = validate(load_paths([ZOO]))
    assert result.ok, result.diagnostics
    return result.organisation


def svg_of(org: Organisation, ref: str, renderer: str, **options: Any) -> str:
    return draw(org, ref, GraphOptions(**options), fmt="svg", renderer=renderer)


def edges_by_label(svg: str) -> set[tuple[str, str]]:
    """Return the edges as pairs of first label lines, checking ids against titles on the way."""
    nodes, edges, _ = parse_svg(svg)
    pairs = set()
    for edge in edges:
        source, _, target = edge.id.partition("-")
        assert edge.title == f"{source}->{target}"  # "n0&#45;&gt;n6" in the file
        assert source in nodes and target in nodes, edge
        pairs.add((nodes[source].texts[0], nodes[target].texts[0]))
    assert len(pairs) == len(edges)
    return pairs


# ------------------------------------------------------------------------------------ the zoo picture


@pytest.mark.parametrize("renderer", RENDERERS)
def test_zoo_model_graph(zoo: Organisation, renderer: str) -> None:
    svg = svg_of(zoo, "zoo-ylbchv20:v0", renderer)
    nodes, _, root = parse_svg(svg)
    title = root.find("{http://www.w3.org/2000/svg}g/{http://www.w3.org/2000/svg}title")
    assert title is not None and title.text == "Lineage of zoo-ylbchv20:v0"

    expected = {
        # first line: (the other lines, page, classes)
        "brisk-moon-16": (("split",), "runs/f5r8u2kd.html", {"run", "state-finished"}),
        "gentle-dew-17": (("upload",), "runs/n1c7e4vs.html", {"run", "state-finished"}),
        "quiet-river-18": (("split",), "runs/d9j3g6wo.html", {"run", "state-finished"}),
        "split_zoo_dataset:v4": (
            ("dataset", "@latest @candidate @golden"),
            "artifacts/split_zoo_dataset/v4.html",
            {"artifact", "state-committed"},
        ),
        "rural-feather-20": (("train",), "runs/ylbchv20.html", {"run", "state-finished"}),
        "zoo-ylbchv20:v0": (
            ("model", "@latest @production"),
            "artifacts/zoo-ylbchv20/v0.html",
            {"artifact", "state-committed", "focus"},
        ),
        "northern-lake-21": (("eval",), "runs/q4t7v2mz.html", {"run", "state-finished"}),
    }
    assert sorted(n.texts[0] for n in nodes.values()) == sorted(expected)
    for first, (rest, page, classes) in expected.items():
        node = node_by_text(nodes, first)
        assert node.texts == (first, *rest)
        assert set(node.classes) == {"node"} | classes
        assert node.href == page and node.target == "_top"
        assert node.tooltip and first in node.tooltip
    assert [n.texts[0] for n in nodes.values() if "focus" in n.classes] == ["zoo-ylbchv20:v0"]
    assert node_by_text(nodes, "zoo-ylbchv20:v0").stroke == FOCUS_BLUE

    assert edges_by_label(svg) == {
        ("brisk-moon-16", "split_zoo_dataset:v4"),
        ("gentle-dew-17", "split_zoo_dataset:v4"),
        ("quiet-river-18", "split_zoo_dataset:v4"),
        ("split_zoo_dataset:v4", "rural-feather-20"),
        ("rural-feather-20", "zoo-ylbchv20:v0"),
        ("zoo-ylbchv20:v0", "northern-lake-21"),
    }

    # drawn left to right in lineage order
    def x(first: str) -> float:
        return node_by_text(nodes, first).x

    splits = [x("brisk-moon-16"), x("gentle-dew-17"), x("quiet-river-18")]
    assert max(splits) < x("split_zoo_dataset:v4") < x("rural-feather-20")
    assert x("rural-feather-20") < x("zoo-ylbchv20:v0") < x("northern-lake-21")


def test_zoo_tooltips_name_runs_by_name_and_id(zoo: Organisation) -> None:
    nodes, _, _ = parse_svg(svg_of(zoo, "zoo-ylbchv20:v0", "embedded"))
    assert node_by_text(nodes, "rural-feather-20").tooltip == "run rural-feather-20 (ylbchv20) · train"
    assert (
        node_by_text(nodes, "zoo-ylbchv20:v0").tooltip
        == "zoo-ylbchv20:v0 (model) aliases: latest, production"
    )


def test_links_are_relative_to_the_page(zoo: Organisation) -> None:
    graph = neighbourhood(zoo, focus_of(zoo, "zoo-ylbchv20:v0"), GraphOptions())
    dot = build_dot(zoo, graph, name="x", link=links_from("collections/model/zoo-classifier.html"))
    urls = re.findall(r'URL="([^"]*)"', dot)
    assert len(urls) == 7
    assert "../../artifacts/zoo-ylbchv20/v0.html" in urls
    assert "../../runs/ylbchv20.html" in urls
    assert all(u.startswith("../../") and "://" not in u for u in urls)


def test_dot_uses_generated_ids_only(zoo: Organisation) -> None:
    dot = draw(zoo, "zoo-ylbchv20:v0", GraphOptions(), fmt="dot")
    statements = [line.strip() for line in dot.splitlines()[4:-1]]
    node_ids = [s.split(" ", 1)[0] for s in statements if "->" not in s.split("[", 1)[0]]
    assert node_ids == [f"n{i}" for i in range(7)]
    edges = [s.split(" [", 1)[0] for s in statements if "->" in s.split("[", 1)[0]]
    assert all(re.fullmatch(r"n\d+ -> n\d+", e) for e in edges) and len(edges) == 6
    assert "rankdir=LR" in dot


# ------------------------------------------------------------------------------------------- clusters


@pytest.fixture(scope="module")
def sweep() -> Organisation:
    return org_from_dict(fan_out(200))


@pytest.mark.parametrize("renderer", RENDERERS)
def test_fan_out_draws_as_one_cluster_node(sweep: Organisation, renderer: str) -> None:
    svg = svg_of(sweep, "data:v0", renderer)
    nodes, _, _ = parse_svg(svg)
    assert sorted(n.texts[0] for n in nodes.values()) == sorted(
        ["raw:v0", "prep", "data:v0", "200 runs · train", "200 versions of sweep-model", "eval-0"]
    )
    runs = node_by_text(nodes, "200 runs · train")
    assert runs.texts == ("200 runs · train",)
    assert {"lineage-cluster", "kind-run"} <= set(runs.classes)
    assert runs.shapes and set(runs.shapes) <= {"polygon", "polyline", "path"}  # box3d, not an ellipse
    members = ", ".join(f"sweep-{i:03d}" for i in range(TOOLTIP_MEMBERS))
    assert runs.tooltip == f"200 runs · train: {members} and {200 - TOOLTIP_MEMBERS} more"
    assert "kind-artifact" in node_by_text(nodes, "200 versions of sweep-model").classes
    assert not any("sweep-0" in text for n in nodes.values() for text in n.texts)
    assert edges_by_label(svg) == {
        ("raw:v0", "prep"),
        ("prep", "data:v0"),
        ("data:v0", "200 runs · train"),
        ("200 runs · train", "200 versions of sweep-model"),
        ("200 versions of sweep-model", "eval-0"),
    }


def test_no_clusters_draws_every_run() -> None:
    org = org_from_dict(fan_out(30))
    nodes, _, _ = parse_svg(svg_of(org, "data:v0", "embedded", cluster_threshold=None))
    firsts = {n.texts[0] for n in nodes.values()}
    assert {f"sweep-{i:03d}" for i in range(30)} <= firsts
    assert not any("lineage-cluster" in n.classes for n in nodes.values())
    assert len(nodes) == 30 + 30 + 4


def test_cluster_anchors_link_to_the_member_list(sweep: Organisation) -> None:
    graph = neighbourhood(sweep, focus_of(sweep, "data:v0"), GraphOptions())
    dot = build_dot(sweep, graph, name="data:v0", link=links_from("index.html"), cluster_anchors=True)
    cluster_lines = [line for line in dot.splitlines() if 'class="lineage-cluster' in line]
    assert len(cluster_lines) == 2
    for line in cluster_lines:
        node_id = line.split()[0]
        assert f'URL="#{node_id}-members"' in line


# -------------------------------------------------------------------------------------------- styling

STYLED = {
    "artifacts": [
        artifact("raw", 0, "dataset"),
        artifact("gone", 0, "dataset", state="deleted"),
        artifact("m", 0, "model", aliases=["production", "best"]),
        artifact("report", 0, "weird-type"),
    ],
    "runs": [
        run("ok", inputs=["raw:v0", "gone:v0"], outputs=["m:v0"], job_type="train", state="finished"),
        run("bad", inputs=["raw:v0"], job_type="train", state="failed"),
        run("boom", inputs=["raw:v0"], job_type="train", state="crashed"),
        run("halt", inputs=["raw:v0"], job_type="train", state="killed"),
        run("judge", inputs=["m:v0"], outputs=["report:v0"], state="running"),
    ],
}


@pytest.fixture(scope="module")
def styled() -> Organisation:
    return org_from_dict(STYLED)


@pytest.mark.parametrize("renderer", RENDERERS)
def test_run_states_are_visible(styled: Organisation, renderer: str) -> None:
    nodes, _, _ = parse_svg(svg_of(styled, "m:v0", renderer, full=True))
    bad, boom = node_by_text(nodes, "bad"), node_by_text(nodes, "boom")
    assert "state-failed" in bad.classes and bad.stroke == RED
    assert "state-crashed" in boom.classes and boom.stroke == RED
    assert bad.texts == ("bad", "train · failed") and boom.texts == ("boom", "train · crashed")
    ok = node_by_text(nodes, "ok")
    assert "state-finished" in ok.classes and ok.stroke != RED and ok.texts == ("ok", "train")
    assert "state-killed" in node_by_text(nodes, "halt").classes
    assert node_by_text(nodes, "halt").stroke != RED
    assert node_by_text(nodes, "judge").texts == ("judge", "running")


@pytest.mark.parametrize("renderer", RENDERERS)
def test_deleted_artifacts_are_dimmed_and_say_so(styled: Organisation, renderer: str) -> None:
    nodes, _, _ = parse_svg(svg_of(styled, "m:v0", renderer, full=True))
    gone, raw = node_by_text(nodes, "gone:v0"), node_by_text(nodes, "raw:v0")
    assert "state-deleted" in gone.classes and "state-committed" in raw.classes
    assert gone.texts == ("gone:v0", "dataset · deleted")
    assert gone.fill != raw.fill  # the same type, but dimmed
    assert gone.tooltip == "gone:v0 (dataset · deleted)"


@pytest.mark.parametrize("renderer", RENDERERS)
def test_shapes_differ_by_kind(styled: Organisation, renderer: str) -> None:
    nodes, _, _ = parse_svg(svg_of(styled, "m:v0", renderer, full=True))
    for node in nodes.values():
        if "artifact" in node.classes:
            assert node.shapes[0] in ("path", "polygon"), node
            assert "ellipse" not in node.shapes
        else:
            assert "run" in node.classes
            assert node.shapes[0] == "ellipse", node


def test_colours_per_type_are_stable_across_graphs(styled: Organisation) -> None:
    other = org_from_dict(
        {
            "artifacts": [
                artifact("other-data", 3, "dataset"),
                artifact("other-model", 1, "model"),
                artifact("x", 0, "weird-type"),
            ],
            "runs": [
                run("fit", inputs=["other-data:v3"], outputs=["other-model:v1"], job_type="train"),
                run("mk", inputs=["other-model:v1"], outputs=["x:v0"], job_type="summarise"),
            ],
        }
    )
    a, _, _ = parse_svg(svg_of(styled, "m:v0", "embedded", full=True))
    b, _, _ = parse_svg(svg_of(other, "other-model:v1", "embedded", full=True))
    fills_a = {
        "dataset": node_by_text(a, "raw:v0").fill,
        "model": node_by_text(a, "m:v0").fill,
        "weird-type": node_by_text(a, "report:v0").fill,
        "train": node_by_text(a, "ok").fill,
    }
    fills_b = {
        "dataset": node_by_text(b, "other-data:v3").fill,
        "model": node_by_text(b, "other-model:v1").fill,
        "weird-type": node_by_text(b, "x:v0").fill,
        "train": node_by_text(b, "fit").fill,
    }
    assert fills_a == fills_b
    assert len(set(fills_a.values())) == 4  # and the types are told apart
    # a run without job type is neutral grey, whatever its state
    assert node_by_text(a, "judge").fill == "#eeeeee"


def test_aliases_are_shown_on_artifact_nodes(styled: Organisation, zoo: Organisation) -> None:
    nodes, _, _ = parse_svg(svg_of(styled, "m:v0", "embedded"))
    assert node_by_text(nodes, "m:v0").texts == ("m:v0", "model", "@production @best")
    # collection aliases count too: `golden` and `candidate` are held in dataset/zoo-splits
    nodes, _, _ = parse_svg(svg_of(zoo, "dataset/zoo-splits:v2", "embedded"))
    assert "@golden" in node_by_text(nodes, "split_zoo_dataset:v4").texts[2].split()


def test_a_failed_focus_run_still_looks_failed(styled: Organisation) -> None:
    nodes, _, _ = parse_svg(svg_of(styled, "bad", "embedded"))
    bad = node_by_text(nodes, "bad")
    assert "focus" in bad.classes and "state-failed" in bad.classes
    assert bad.stroke == RED


# --------------------------------------------------------------------------------------------- Mermaid


def test_mermaid_of_the_zoo(zoo: Organisation) -> None:
    text = draw(zoo, "zoo-ylbchv20:v0", GraphOptions(), fmt="mermaid")
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    labels = dict(re.findall(r'^  (n\d+)(?:\["|\(\["|\[\[")(.*?)(?:"\]|"\]\)|"\]\])$', text, re.M))
    assert len(labels) == 7
    by_first = {label.split("<br/>")[0]: node_id for node_id, label in labels.items()}
    assert labels[by_first["zoo-ylbchv20:v0"]] == "zoo-ylbchv20:v0<br/>model<br/>@latest @production"
    assert f'  {by_first["rural-feather-20"]}(["rural-feather-20<br/>train"])' in lines  # runs are stadiums
    edges = {tuple(e) for e in re.findall(r"^  (n\d+) --> (n\d+)$", text, re.M)}
    assert (by_first["rural-feather-20"], by_first["zoo-ylbchv20:v0"]) in edges
    assert (by_first["zoo-ylbchv20:v0"], by_first["northern-lake-21"]) in edges
    assert len(edges) == 6
    assert f'  click {by_first["zoo-ylbchv20:v0"]} href "artifacts/zoo-ylbchv20/v0.html"' in lines
    assert f"  class {by_first['zoo-ylbchv20:v0']} focus" in lines


def test_mermaid_marks_failed_and_crashed_runs(styled: Organisation) -> None:
    text = draw(styled, "m:v0", GraphOptions(full=True), fmt="mermaid")
    labels = dict(re.findall(r'^  (n\d+)\(\["(.*?)"\]\)$', text, re.M))
    ids = {label.split("<br/>")[0]: node_id for node_id, label in labels.items()}
    (failed,) = re.findall(r"^  class (\S+) failed$", text, re.M)
    assert set(failed.split(",")) == {ids["bad"], ids["boom"]}


def test_mermaid_cluster_node(sweep: Organisation) -> None:
    text = draw(sweep, "data:v0", GraphOptions(), fmt="mermaid")
    assert re.search(r'^  n\d+\[\["200 runs #183; train"\]\]$', text, re.M)
    assert "sweep-000" not in text


# -------------------------------------------------------------------------------------------- escaping


def expected_label(text: str) -> str:
    """Return what a label line shows: the text itself, or its first 27 characters and an ellipsis."""
    return text if len(text) <= LABEL_WIDTH else text[: LABEL_WIDTH - 1] + "…"


HOSTILE_NAMES = {
    "quote": 'say "hi"',
    "backslash": "back\\slash",
    "double-backslash": "two\\\\back",
    "trailing-backslash": "trailing\\",
    "backslash-quote": 'quote\\"escaped',
    "graphviz-escapes": "\\N \\G \\L \\l \\n",
    "script": "<script>alert(1)</script>",
    "html-b": "<b>",
    "html-label": "<<b>bold</b>>",
    "script-inside": "x <script>alert(1)</script>",
    "braces": "{}",
    "brackets": "[]",
    "kw-node": "node",
    "kw-edge": "edge",
    "kw-digraph": "digraph",
    "kw-subgraph": "subgraph",
    "kw-strict": "strict",
    "arrow": "a -> b",
    "semicolon": "a;b",
    "attr-list": "a=b, c=d]",
    "comments": "/* c */ // d #",
    "emoji": "emoji 🚀✨🧪 ok",
    "ampersand": "R&D",
    "entity-number": "&#65;",
    "entity-name": "a&lt;b",
    "long": "long-" + "x" * 60 + "-end",
}


def hostile(marks: dict[str, pytest.MarkDecorator] | None = None) -> list[Any]:
    marks = marks or {}
    return [
        pytest.param(name, id=key, marks=[marks[key]] if key in marks else [])
        for key, name in HOSTILE_NAMES.items()
    ]


def hostile_org(name: str) -> Organisation:
    """Return `name:v0` (type `name`) -> run `name` (job type `name`) -> `out:v0`, focus out:v0."""
    return org_from_dict(
        {
            "artifacts": [artifact(name, 0, name), artifact("out", 0, "dataset")],
            "runs": [run(name, name=name, inputs=[f"{name}:v0"], outputs=["out:v0"], job_type=name)],
        }
    )


def drawn_hostile(name: str, renderer: str) -> tuple[DrawnNode, DrawnNode]:
    """Return the artifact and run nodes of the hostile graph, after checking the SVG as a whole."""
    svg = svg_of(hostile_org(name), "out:v0", renderer)  # no RenderError: the DOT is valid
    nodes, edges, root = parse_svg(svg)  # and the SVG is XML
    assert not any(e.tag.rpartition("}")[2].lower() in ("script", "foreignobject") for e in root.iter())
    assert "<script" not in svg
    assert len(nodes) == 3 and len(edges) == 2
    art = next(n for n in nodes.values() if "artifact" in n.classes and "focus" not in n.classes)
    job = next(n for n in nodes.values() if "run" in n.classes)
    return art, job


@pytest.mark.parametrize("renderer", RENDERERS)
@pytest.mark.parametrize("name", hostile())
def test_hostile_names_render_as_text(name: str, renderer: str) -> None:
    art, job = drawn_hostile(name, renderer)
    assert art.texts == (expected_label(f"{name}:v0"), expected_label(name))
    assert job.texts == (expected_label(name), expected_label(name))


@pytest.mark.parametrize("renderer", RENDERERS)
@pytest.mark.parametrize("name", hostile())
def test_hostile_names_are_whole_in_tooltips(name: str, renderer: str) -> None:
    art, job = drawn_hostile(name, renderer)
    assert art.tooltip == f"{name}:v0 ({name})"  # whole, never shortened
    assert job.tooltip == f"run {name} ({name}) · {name}"


@pytest.mark.parametrize("name", hostile())
def test_hostile_names_in_mermaid(name: str) -> None:
    org = hostile_org(name)
    text = draw(org, "out:v0", GraphOptions(), fmt="mermaid")
    labels = re.findall(r'^  n\d+(?:\["|\(\["|\[\[)(.*?)(?:"\]|"\]\)|"\]\])$', text, re.M)
    assert len(labels) == 3
    for label in labels:
        for line in label.split("<br/>"):
            assert not set(line) & set('"<>`[]{}|\\'), line
    assert len(text.splitlines()) == len(set(text.splitlines()))  # one statement per line, no injection


def test_long_names_are_shortened_with_the_whole_name_in_the_tooltip() -> None:
    name = "a-very-long-artifact-name-from-a-generated-pipeline"
    org = org_from_dict({"artifacts": [artifact(name, 12, "dataset")], "runs": []})
    nodes, _, _ = parse_svg(svg_of(org, f"{name}:v12", "embedded"))
    (node,) = nodes.values()
    assert node.texts[0] == "a-very-long-artifact-name-f…" and len(node.texts[0]) == LABEL_WIDTH
    assert node.tooltip == f"{name}:v12 (dataset)"


def test_newlines_in_names_are_refused_by_validation() -> None:
    text = 'runs:\n  - {id: r1, name: "a\\nb", job_type: "x\\ny"}\n'  # YAML double-quoted "a\nb"
    _, diagnostics = load_org(text, allow_errors=True)
    assert [d.code for d in diagnostics] == ["RG112", "RG112"]


@pytest.mark.parametrize("renderer", RENDERERS)
def test_control_characters_that_reach_the_model_become_spaces(renderer: str) -> None:
    """Defence in depth: a model built without validation still draws newlines as spaces."""
    ref = ArtifactRef("d\nata", 0)
    org = Organisation.assemble(
        registries={},
        collections={},
        artifacts={ref: ArtifactVersion("d\nata", 0, "data\rset")},
        runs={"r\n1": Run("r\n1", "line one\nline two\u2028three\\", job_type="x\ty", inputs=(ref,))},
    )
    graph = neighbourhood(org, focus_of(org, ref), GraphOptions())
    dot = build_dot(org, graph, name="d ata:v0")
    lines = dot.splitlines()
    assert lines[0].endswith("{") and lines[-1] == "}"
    assert all(line.startswith("\t") and line.endswith("]") for line in lines[1:-1]), dot
    svg = get_renderer(renderer).render_svg(dot, graph="control", timeout=30)
    nodes, _, _ = parse_svg(svg)
    assert node_by_text(nodes, "d ata:v0").texts == ("d ata:v0", "data set")
    assert node_by_text(nodes, "line one line two three\\").texts[1] == "x y"
    assert shorten("a\nb") == "a b"


def test_noncharacters_do_not_break_the_svg() -> None:
    text = (
        "artifacts: [{name: out, version: 0, type: dataset}]\n"
        'runs: [{id: r1, name: "a\\uFFFEb", outputs: ["out:v0"]}]\n'
    )
    org, diagnostics = load_org(text, allow_errors=True)
    if diagnostics:  # refusing the name would be a fix too
        return
    parse_svg(svg_of(org, "out:v0", "embedded"))


# --------------------------------------------------------------------------------------- determinism


def reference_dot(
    org: Organisation, graph: LineageGraph, *, name: str, link: LinkFor | None, prefix: str, anchors: bool
) -> str:
    """Return the DOT of ``graph`` built node by node with graphviz, as build_dot once did it."""
    attrs = dict(graphs.GRAPH_ATTRS)
    if graph.size > graphs.LARGE_GRAPH:
        attrs["splines"] = "line"
    dot = graphviz.Digraph(
        name=graphviz.nohtml(graphs._dot_text(f"Lineage of {name}")),
        graph_attr=attrs,
        edge_attr=dict(graphs.EDGE_ATTRS),
        node_attr={"fontname": graphs.FONT, "fontsize": "11"},
    )
    ids = graphs.vertex_ids(graph, prefix)
    for vertex, node_id in ids.items():
        view = graphs.describe_vertex(org, graph, vertex)
        node_attrs = dict(view.attrs)
        node_attrs["id"] = node_id
        node_attrs["class"] = " ".join(view.classes)
        node_attrs["tooltip"] = graphviz.nohtml(graphs._dot_tooltip(view.tooltip))
        url = link(vertex) if link else None
        if isinstance(vertex, Cluster) and anchors:
            url = f"#{node_id}-members"
        if url:
            node_attrs["URL"] = graphviz.nohtml(graphs._dot_text(url))
            node_attrs["target"] = "_top"
        dot.node(node_id, label=graphs._dot_lines(*view.lines), **node_attrs)
    for a, b in graph.edges:
        dot.edge(ids[a], ids[b], id=f"{ids[a]}-{ids[b]}")
    return str(dot.source)


def reference_cases(zoo: Organisation, sweep: Organisation, styled: Organisation) -> list[Any]:
    cases: list[Any] = [(zoo, GraphOptions()), (zoo, GraphOptions(full=True))]
    cases += [(sweep, GraphOptions()), (sweep, GraphOptions(cluster_threshold=None))]  # 200 runs: large
    cases += [(styled, GraphOptions(full=True))]
    cases += [(hostile_org(name), GraphOptions()) for name in HOSTILE_NAMES.values()]
    return cases


def test_dot_is_what_graphviz_writes_node_by_node(
    zoo: Organisation, sweep: Organisation, styled: Organisation
) -> None:
    """build_dot quotes from memo tables: it must still write graphviz's statements byte for byte."""
    for org, options in reference_cases(zoo, sweep, styled):
        for focus in [*org.artifacts][:6]:
            graph = neighbourhood(org, focus_of(org, focus), options)
            for link, prefix, anchors in ((links_from("a/b.html"), "n", False), (None, "g-n", True)):
                name = str(focus)
                expected = reference_dot(org, graph, name=name, link=link, prefix=prefix, anchors=anchors)
                dot = build_dot(org, graph, name=name, link=link, id_prefix=prefix, cluster_anchors=anchors)
                assert dot == expected


@pytest.mark.parametrize("name", ["<b>", "<<b>bold</b>>", "node", "#c62828", "rounded,filled"])
def test_memoised_quoting_keeps_user_text_apart(name: str) -> None:
    """A plain string quoted first (a style value, or HTML) never lends its quoting to equal user text."""
    org = org_from_dict({"artifacts": [artifact("d", 0, "dataset")], "runs": [run(name, name=name)]})
    for text in (name, f"run {name} ({name})"):
        graphs._quote(text)  # cache the plain string's quoting: "<b>" stays "<b>", an HTML label
        graphs._plain_pair("class", text)
    graph = neighbourhood(org, focus_of(org, name), GraphOptions())
    dot = build_dot(org, graph, name=name)
    assert dot == reference_dot(org, graph, name=name, link=None, prefix="n", anchors=False)
    assert f"label={graphviz.quoting.quote(graphviz.nohtml(name))} " in dot  # quoted: text, never HTML


@pytest.mark.parametrize("renderer", RENDERERS)
def test_same_input_same_bytes_in_process(zoo: Organisation, sweep: Organisation, renderer: str) -> None:
    for org, ref in ((zoo, "zoo-ylbchv20:v0"), (sweep, "sweep-007")):
        options = {"full": True}
        assert svg_of(org, ref, renderer, **options) == svg_of(org, ref, renderer, **options)
    again = validate(load_paths([ZOO])).organisation
    assert draw(zoo, "zoo-ylbchv20:v0", GraphOptions(), fmt="dot") == draw(
        again, "zoo-ylbchv20:v0", GraphOptions(), fmt="dot"
    )


def test_drawn_node_parser_sanity(zoo: Organisation) -> None:
    """The helper reads what the tests rely on (guards against a silently empty parse)."""
    nodes, edges, _ = parse_svg(svg_of(zoo, "zoo-ylbchv20:v0", "embedded"))
    assert all(isinstance(n, DrawnNode) and n.texts and n.shapes for n in nodes.values())
    assert len(nodes) == 7 and len(edges) == 6


@pytest.mark.parametrize("which", ["zoo", "sweep"])
def test_a_memo_of_node_statements_changes_no_byte(which: str, request: pytest.FixtureRequest) -> None:
    # Every vertex is drawn in the graph of each of its neighbours, once as the focus: the memo keeps
    # both spellings apart, and never keeps a cluster (its anchor is its id in one graph).
    org: Organisation = request.getfixturevalue(which)
    foci = [focus_of(org, str(ref)) for ref in org.artifacts] + [focus_of(org, r) for r in org.runs]

    def link(vertex: object) -> str | None:
        return f"page/{vertex}" if not isinstance(vertex, Cluster) else None

    memo: dict[Any, Any] = {}
    for focus in foci * 2:  # the second pass draws every node from the memo
        graph = neighbourhood(org, focus, GraphOptions())
        fresh = build_dot(org, graph, name=str(focus), link=link, cluster_anchors=True)
        assert build_dot(org, graph, name=str(focus), link=link, cluster_anchors=True, memo=memo) == fresh
    assert memo and not any(isinstance(vertex, Cluster) for vertex, _ in memo)
    assert any(focus for _, focus in memo) and any(not focus for _, focus in memo)


# Texts near every branch of graphviz's quote: ids, numbers, keywords, HTML-like, quotes and backslashes.
_QUOTABLE = st.lists(
    st.sampled_from([*'ab_Z09.-<> "\\\n', "é", "·", "node", "Edge", "\\\\", '\\"']), max_size=8
).map("".join)


@given(_QUOTABLE, st.booleans())
@example("node", True)
@example("-4.2", True)
@example("<b>x</b>", False)
@example("<b>x</b>", True)
@example("a\\", True)
@example("a\\\\", True)
@example("a\\\n", True)  # graphviz's "$" matches before a final line break: it warns of this backslash too
@example('say "hi"', True)
@example("abc\n", True)
@example("", True)
def test_a_nodes_text_is_quoted_as_graphviz_quotes_it(text: str, nohtml: bool) -> None:
    value = graphviz.nohtml(text) if nohtml else text
    with warnings.catch_warnings(record=True) as ours:
        warnings.simplefilter("always")
        quoted = graphs._quote_text(value)
    with warnings.catch_warnings(record=True) as theirs:
        warnings.simplefilter("always")
        expected = graphviz.quoting.quote(value)
    assert quoted == expected
    # graphviz warns of an odd backslash at the end (the closing quote would be escaped): so does this
    assert [str(w.message) for w in ours] == [str(w.message) for w in theirs]


@pytest.mark.parametrize(
    "name", ["Lineage of data:v1", 'Lineage of "x"', "Lineage of <b>", "node", "-4.2", "é"]
)
def test_a_graphs_dot_is_what_graphviz_digraph_writes(name: str) -> None:
    text = graphviz.nohtml(name)
    body = ['\tn0 [label="a" id=n0]\n', '\tn0 -> n1 [id="n0-n1"]\n']
    assert graphs._digraph(text, body) == graphviz.Digraph(name=text, body=body).source
