"""Draw one lineage graph: resolve its focus, cut its neighbourhood, build DOT and lay it out."""

from __future__ import annotations

from reportgen.graphs import LinkFor, build_dot, build_mermaid
from reportgen.lineage import Cluster, GraphOptions, LineageGraph, NodeKey, focus_of, neighbourhood
from reportgen.model import Organisation
from reportgen.paths import node_page, relative
from reportgen.render import get_renderer

DEFAULT_TIMEOUT = 60.0


def links_from(page: str) -> LinkFor:
    """Return a link function giving each node's page relative to ``page``."""

    def link(vertex: NodeKey | Cluster) -> str | None:
        if isinstance(vertex, Cluster):
            return None
        return relative(page, node_page(vertex))

    return link


def lineage_for(org: Organisation, ref: str, options: GraphOptions) -> LineageGraph:
    """Return the neighbourhood of what ``ref`` names; raise KeyError if it names nothing."""
    return neighbourhood(org, focus_of(org, ref), options)


def drawing(
    org: Organisation,
    ref: str,
    options: GraphOptions,
    *,
    fmt: str = "svg",
    renderer: str = "embedded",
    timeout: float | None = DEFAULT_TIMEOUT,
    page: str = "index.html",
) -> tuple[LineageGraph, str]:
    """Return the lineage of ``ref`` and its SVG, DOT or Mermaid text, with links relative to ``page``."""
    graph = lineage_for(org, ref, options)
    link = links_from(page)
    if fmt == "mermaid":
        return graph, build_mermaid(org, graph, link=link)
    dot = build_dot(org, graph, name=ref, link=link)
    if fmt == "dot":
        return graph, dot
    return graph, get_renderer(renderer).render_svg(dot, graph=ref, timeout=timeout)


def draw(
    org: Organisation,
    ref: str,
    options: GraphOptions,
    *,
    fmt: str = "svg",
    renderer: str = "embedded",
    timeout: float | None = DEFAULT_TIMEOUT,
    page: str = "index.html",
) -> str:
    """Return the lineage of ``ref`` as SVG, DOT or Mermaid, with links relative to ``page``."""
    return drawing(org, ref, options, fmt=fmt, renderer=renderer, timeout=timeout, page=page)[1]
