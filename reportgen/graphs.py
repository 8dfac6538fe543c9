"""Stage 4, graphs: turn a lineage neighbourhood into DOT (for Graphviz) or Mermaid (for Markdown).

Node ids are generated (``n0``, ``n1``, ...); user text appears only in escaped labels and tooltips.
Styling is a table of attributes per node kind, run state, artifact state and type, not code.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeAlias

import graphviz

from reportgen.lineage import Cluster, LineageGraph, NodeKind, Vertex
from reportgen.model import Organisation

LABEL_WIDTH = 28
TOOLTIP_MEMBERS = 20
FONT = "Helvetica"

GRAPH_ATTRS: Mapping[str, str] = {
    "rankdir": "LR",
    "bgcolor": "transparent",
    "fontname": FONT,
    "nodesep": "0.25",
    "ranksep": "0.45",
    # Bound the network-simplex and crossing-minimisation passes so dense graphs cannot hang a build.
    "nslimit": "20",
    "nslimit1": "20",
    "mclimit": "0.5",
    "searchsize": "30",
}
LARGE_GRAPH = 150  # vertices; past this, straight edges keep spline routing from dominating layout
EDGE_ATTRS: Mapping[str, str] = {"color": "#78909c", "arrowsize": "0.7", "penwidth": "1.2"}

KIND_STYLE: Mapping[NodeKind, Mapping[str, str]] = {
    NodeKind.ARTIFACT: {"shape": "box", "style": "rounded,filled", "margin": "0.12,0.06"},
    NodeKind.RUN: {"shape": "ellipse", "style": "filled", "margin": "0.06,0.04"},
}
CLUSTER_STYLE: Mapping[str, str] = {"shape": "box3d", "style": "filled", "fillcolor": "#eceff1"}
RUN_STATE_STYLE: Mapping[str, Mapping[str, str]] = {
    "failed": {"color": "#c62828", "penwidth": "2.5", "fontcolor": "#b71c1c"},
    "crashed": {"color": "#c62828", "penwidth": "2.5", "style": "filled,dashed", "fontcolor": "#b71c1c"},
    "killed": {"color": "#ef6c00", "penwidth": "2", "style": "filled,dashed"},
    "running": {"color": "#1565c0", "style": "filled,dotted", "penwidth": "2"},
    "pending": {"color": "#607d8b", "style": "filled,dotted"},
}
ARTIFACT_STATE_STYLE: Mapping[str, Mapping[str, str]] = {
    "deleted": {
        "style": "rounded,filled,dashed",
        "fillcolor": "#f5f5f5",
        "fontcolor": "#757575",
        "color": "#9e9e9e",
    },
}
FOCUS_STYLE: Mapping[str, str] = {"penwidth": "3.5", "color": "#0d47a1"}
# Fixed colours for the common types; any other type or job type takes a palette colour by its hash,
# so a name keeps its colour from build to build and across graphs.
TYPE_COLOURS: Mapping[str, str] = {
    "dataset": "#bbdefb",
    "model": "#d1c4e9",
    "train": "#c8e6c9",
    "eval": "#ffe0b2",
    "evaluation": "#ffe0b2",
}
PALETTE = (
    "#b2dfdb",
    "#f8bbd0",
    "#dcedc8",
    "#ffecb3",
    "#c5cae9",
    "#b3e5fc",
    "#f0f4c3",
    "#d7ccc8",
    "#e1bee7",
    "#ffccbc",
)

LinkFor = Callable[[Vertex], "str | None"]
# Characters that must not reach a label: controls, line separators, and XML's non-characters.
_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029\ufffe\uffff]+")


@lru_cache(maxsize=1 << 10)
def colour_for(category: str) -> str:
    """Return the fill colour of a type or job type: fixed for common ones, else by stable hash."""
    if category in TYPE_COLOURS:
        return TYPE_COLOURS[category]
    digest = hashlib.sha256(category.encode("utf-8")).digest()
    return PALETTE[digest[0] % len(PALETTE)]


@lru_cache(maxsize=1 << 14)
def shorten(text: str, width: int = LABEL_WIDTH) -> str:
    """Return ``text`` on one line, cut to ``width`` characters with an ellipsis."""
    text = _CONTROL.sub(" ", text)
    return text if len(text) <= width else text[: width - 1] + "…"


def _dot_text(text: str) -> str:
    """Return user text as literal label content: one line, '&' not read as an entity, '\\' kept."""
    return _CONTROL.sub(" ", text).replace("&", "&amp;").replace("\\", "\\\\")


def _dot_tooltip(text: str) -> str:
    """Return user text as a literal tooltip: Graphviz unescapes tooltips twice, so '\\' goes in four-fold."""
    return _CONTROL.sub(" ", text).replace("&", "&amp;").replace("\\", "\\\\\\\\")


def _dot_lines(*lines: str) -> str:
    # nohtml: a label such as "<b>" must stay text, never become a Graphviz HTML label.
    label: str = graphviz.nohtml("\\n".join(_dot_text(line) for line in lines if line))
    return label  # a NoHtml str: graphviz must keep quoting it (str() would drop the marker)


@dataclass(frozen=True, slots=True)
class NodeView:
    """What a vertex shows: its label lines, tooltip, style and the CSS classes of its SVG group."""

    lines: tuple[str, ...]
    tooltip: str
    attrs: Mapping[str, str]
    classes: tuple[str, ...]


def describe_vertex(org: Organisation, graph: LineageGraph, vertex: Vertex) -> NodeView:
    """Return how ``vertex`` is drawn, from the style tables."""
    if isinstance(vertex, Cluster):
        names = [str(m) if m.artifact else org.runs[str(m.run)].name for m in vertex.members]
        shown = ", ".join(names[:TOOLTIP_MEMBERS])
        more = f" and {len(names) - TOOLTIP_MEMBERS} more" if len(names) > TOOLTIP_MEMBERS else ""
        attrs = dict(CLUSTER_STYLE)
        return NodeView(
            (shorten(vertex.label),),
            f"{vertex.label}: {shown}{more}",
            attrs,
            ("lineage-cluster", f"kind-{vertex.kind.value}"),
        )
    attrs = dict(KIND_STYLE[vertex.kind])
    classes = [vertex.kind.value]
    if vertex.artifact is not None:
        artifact = org.artifacts[vertex.artifact]
        attrs["fillcolor"] = colour_for(artifact.type)
        aliases = org.aliases_of(vertex.artifact)
        state = " · deleted" if artifact.is_deleted else ""
        lines = [shorten(str(artifact.ref)), shorten(f"{artifact.type}{state}")]
        if aliases:
            lines.append(shorten(" ".join(f"@{a}" for a in aliases)))
        attrs.update(ARTIFACT_STATE_STYLE.get(artifact.state, {}))
        classes.append(f"state-{artifact.state}")
        tooltip = f"{artifact.ref} ({artifact.type}{state})"
        if aliases:
            tooltip += " aliases: " + ", ".join(aliases)
    else:
        run = org.runs[str(vertex.run)]
        attrs["fillcolor"] = colour_for(run.job_type) if run.job_type else "#eeeeee"
        detail = " · ".join(x for x in (run.job_type, run.state if run.state != "finished" else "") if x)
        lines = [shorten(run.name), shorten(detail)] if detail else [shorten(run.name)]
        attrs.update(RUN_STATE_STYLE.get(run.state, {}))
        if run.state:
            classes.append(f"state-{run.state}")
        tooltip = f"run {run.name} ({run.id})" + (f" · {detail}" if detail else "")
    if vertex == graph.focus:
        # Emphasis, but a failed or deleted node keeps its own colour: state wins over focus.
        state_colour = attrs.get("color")
        attrs.update(FOCUS_STYLE)
        if state_colour is not None:
            attrs["color"] = state_colour
        classes.append("focus")
    return NodeView(tuple(lines), tooltip, attrs, tuple(classes))


def vertex_ids(graph: LineageGraph, prefix: str = "n") -> dict[Vertex, str]:
    """Return the generated id of every vertex, in drawing order."""
    return {v: f"{prefix}{i}" for i, v in enumerate(graph.vertices)}


NODE_ATTRS: Mapping[str, str] = {"fontname": FONT, "fontsize": "11"}

# graphviz's own quoting, memoised for what recurs from graph to graph: ids, style values, and the text of
# nodes drawn in several graphs. Typed, so a nohtml string and an equal plain string are cached apart:
# neither can take the other's quoting.
_quote: Callable[[str], str] = lru_cache(maxsize=1 << 14, typed=True)(graphviz.quoting.quote)
_quote_edge: Callable[[str], str] = lru_cache(maxsize=1 << 12, typed=True)(graphviz.quoting.quote_edge)


def _quote_text(text: str) -> str:
    """Return ``graphviz.quoting.quote(text)`` for a node's text, in a tenth of its time.

    A text that is not an id (nor a keyword, which is an id), holds no '"', has no backslash in its last
    two characters, and does not start as an HTML label can, is quoted by graphviz as '"' + text + '"':
    its two regular expressions (the escape of quotes and the check for an odd backslash at the end)
    then change nothing, and took two thirds of its time. Anything else goes to graphviz's ``quote``
    itself. The last two characters, not only the last: that check's ``$`` also matches before a final
    line break, so graphviz warns of a text that ends in a backslash and a line break too.
    """
    if '"' in text or "\\" in text[-2:] or text[:1] == "<" or graphviz.quoting.ID.match(text) is not None:
        return str(graphviz.quoting.quote(text))
    return f'"{text}"'


@lru_cache(maxsize=1 << 12, typed=True)
def _plain_pair(key: str, value: str) -> str:
    """Return ``key=value`` as graphviz's attribute lists write it, for a style value, id or class."""
    return f"{_quote(key)}={_quote(value)}"


# A node's user text as its label, tooltip and URL attributes: escaped for DOT (see _dot_text), marked
# nohtml, then quoted by graphviz. Functions of the text alone.
@lru_cache(maxsize=1 << 14)
def _label_pair(lines: tuple[str, ...]) -> str:
    """Return the label attribute of a node showing ``lines``."""
    return f"label={_quote_text(_dot_lines(*lines))}"


@lru_cache(maxsize=1 << 14)
def _tooltip_pair(tooltip: str) -> str:
    """Return the tooltip attribute of a node."""
    return f"{_quote('tooltip')}={_quote_text(graphviz.nohtml(_dot_tooltip(tooltip)))}"


@lru_cache(maxsize=1 << 14)
def _url_pair(url: str) -> str:
    """Return the URL attribute of a node."""
    return f"{_quote('URL')}={_quote_text(graphviz.nohtml(_dot_text(url)))}"


@lru_cache(maxsize=2)
def _attr_statements(large: bool) -> tuple[str, ...]:
    """Return the graph, node and edge attribute statements, as graphviz writes them: constant."""
    attrs = dict(GRAPH_ATTRS)
    if large:
        attrs["splines"] = "line"
    template = graphviz.Digraph(graph_attr=attrs, edge_attr=dict(EDGE_ATTRS), node_attr=dict(NODE_ATTRS))
    lines = list(template)  # the head, the three attribute statements, the tail
    return tuple(lines[1:-1])


def _node_parts(
    org: Organisation, graph: LineageGraph, vertex: Vertex, link: LinkFor | None, cluster_url: str | None
) -> tuple[str, str, str]:
    """Return a node statement's label, and its other attributes sorted by name before and after ``id``.

    The attributes are those graphviz's ``Digraph.node`` would get, each as its ``name=value`` text.
    """
    view = describe_vertex(org, graph, vertex)
    attrs = {k: _plain_pair(k, v) for k, v in view.attrs.items()}
    attrs["class"] = _plain_pair("class", " ".join(view.classes))
    attrs["tooltip"] = _tooltip_pair(view.tooltip)
    url = link(vertex) if link else None
    if isinstance(vertex, Cluster) and cluster_url:
        url = cluster_url
    if url:
        attrs["URL"] = _url_pair(url)
        attrs["target"] = _plain_pair("target", "_top")
    names = sorted(attrs)
    before = " ".join([attrs[k] for k in names if k < "id"])
    after = " ".join([attrs[k] for k in names if k > "id"])
    return _label_pair(view.lines), before, after


NodeMemo: TypeAlias = dict[tuple[Vertex, bool], tuple[str, str, str]]


def build_dot(
    org: Organisation,
    graph: LineageGraph,
    *,
    name: str,
    link: LinkFor | None = None,
    id_prefix: str = "n",
    cluster_anchors: bool = False,
    memo: NodeMemo | None = None,
) -> str:
    """Return the DOT source of ``graph``; ``link`` gives each vertex's relative URL.

    With ``cluster_anchors`` a cluster links to ``#<its id>-members``, where a page lists its members.
    ``memo``, kept by a caller drawing many graphs of one organisation with one ``link``, keeps each
    node's statement but its id: a node is drawn in the graph of each of its neighbours.

    Each statement is the one graphviz's ``Digraph.node`` or ``Digraph.edge`` would write (the label,
    then the attributes sorted by name, each name and value through graphviz's ``quote``), built from
    memoised quoting: the style tables and ids are quoted once per process, not once per node.
    """
    body = list(_attr_statements(graph.size > LARGE_GRAPH))
    ids = vertex_ids(graph, id_prefix)
    for vertex, node_id in ids.items():
        cluster = isinstance(vertex, Cluster)  # one graph's grouping: never the same in another graph
        key = (vertex, vertex == graph.focus)
        parts = memo.get(key) if memo is not None and not cluster else None
        if parts is None:
            parts = _node_parts(org, graph, vertex, link, f"#{node_id}-members" if cluster_anchors else None)
            if memo is not None and not cluster:
                memo[key] = parts
        label, before, after = parts
        text = " ".join(p for p in (before, _plain_pair("id", node_id), after) if p)
        body.append(f"\t{_quote(node_id)} [{label} {text}]\n")
    for a, b in graph.edges:
        tail, head = ids[a], ids[b]
        body.append(f"\t{_quote_edge(tail)} -> {_quote_edge(head)} [id={_quote(f'{tail}-{head}')}]\n")
    return _digraph(graphviz.nohtml(_dot_text(f"Lineage of {name}")), body)


def _digraph(name: str, body: list[str]) -> str:
    """Return ``graphviz.Digraph(name=name, body=body).source``, without making the Digraph (a tenth of
    the time of a graph's DOT): graphviz's head with the name quoted, the body, graphviz's tail."""
    return "".join((_BEFORE_NAME, _quote_text(name), _BEFORE_BODY, *body, _AFTER_BODY))


def _digraph_frame() -> tuple[str, str, str]:
    """Return what graphviz writes of a Digraph before its name, between its name and its body, and
    after its body: read once from one it writes, through its public API."""
    name, body = "reportgen_name", "reportgen_body\n"
    before, rest = graphviz.Digraph(name=name, body=[body]).source.split(name)
    between, after = rest.split(body)
    return before, between, after


_BEFORE_NAME, _BEFORE_BODY, _AFTER_BODY = _digraph_frame()


def _mermaid_text(text: str) -> str:
    """Return text safe inside a quoted Mermaid label: anything unusual as a #code; entity."""
    return "".join(
        ch if ch.isascii() and (ch.isalnum() or ch in " _.:/@-+,()") else f"#{ord(ch)};"
        for ch in _CONTROL.sub(" ", text)
    )


def build_mermaid(org: Organisation, graph: LineageGraph, *, link: LinkFor | None = None) -> str:
    """Return ``graph`` as a Mermaid flowchart, for Markdown and pull-request comments."""
    out = ["flowchart LR"]
    ids = vertex_ids(graph)
    for vertex, node_id in ids.items():
        view = describe_vertex(org, graph, vertex)
        label = "<br/>".join(_mermaid_text(line) for line in view.lines)
        if isinstance(vertex, Cluster):
            out.append(f'  {node_id}[["{label}"]]')
        elif vertex.kind is NodeKind.RUN:
            out.append(f'  {node_id}(["{label}"])')
        else:
            out.append(f'  {node_id}["{label}"]')
    for a, b in graph.edges:
        out.append(f"  {ids[a]} --> {ids[b]}")
    for vertex, node_id in ids.items():
        url = link(vertex) if link else None
        if url:
            out.append(f'  click {node_id} href "{_mermaid_text(url)}"')
    out.append("  classDef focus stroke-width:4px,stroke:#0d47a1")
    out.append("  classDef failed stroke:#c62828,stroke-width:3px,stroke-dasharray:4")
    out.append(f"  class {ids[graph.focus]} focus")
    failed = [ids[v] for v in graph.nodes if v.run and org.runs[v.run].state in ("failed", "crashed")]
    if failed:
        out.append(f"  class {','.join(failed)} failed")
    return "\n".join(out) + "\n"
