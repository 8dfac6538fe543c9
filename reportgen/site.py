"""Stage 5, site: plan every page of the site as a typed context, from the model and drawn graphs.

Nothing here touches the file system or Jinja: the build renders the contexts and the writer writes.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import TypedDict

from markupsafe import Markup

from reportgen.graphs import vertex_ids
from reportgen.lineage import Cluster, LineageGraph, NodeKey, Vertex
from reportgen.markdown import render_markdown
from reportgen.model import (
    ArtifactRef,
    ArtifactVersion,
    AuditEvent,
    CollectionHistory,
    CollectionVersion,
    EventKind,
    Organisation,
    Run,
)
from reportgen.paths import (
    artifact_page,
    audit_month_page,
    collection_page,
    collection_version_page,
    node_page,
    run_page,
    slug,
)
from reportgen.spec import format_utc
from reportgen.timeline import artifact_link, event_view, newest_first, time_text, timeline_of
from reportgen.views import (
    AuditPage,
    Badge,
    CollectionPage,
    CollectionSummary,
    DetailPage,
    EventView,
    GraphNodeInfo,
    GraphView,
    IndexPage,
    Link,
    MonthSummary,
    Page,
    RegistrySummary,
    Row,
    Site,
    Timeline,
    VersionRow,
    VersionWindow,
)

GRAPH_ID_PREFIX = "g-n"
RECENT_ACTIONS = 25
# The organisation's audit log is one page up to this many actions. A longer one is a page per month (UTC),
# which audit.html lists: at L, 22,000 actions made a 22 MB page that browsers were slow to open, and a
# rebuild after one more action rendered all of it again (now it renders that action's month).
AUDIT_PAGE_LIMIT = 2_000
# A version page of a collection with more versions than this lists, in its selector and its versions table,
# only the block of this many that holds it (v0-v49, v50-v99, ...: the versions table's page size), with
# links to the blocks before and after it; the collection page lists them all. Each of a collection's
# version pages had listed every version: 1,000 versions made 543 MB of HTML, growing with their square.
VERSION_WINDOW = 50
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_INDEX = Link("Index", "index.html")
_AUDIT = Link("Audit log", "audit.html")
_HREF = 'xlink:href="'
# A node's <title> (its id as Graphviz escapes it: GRAPH_ID_PREFIX, then its place among the graph's
# vertices, see ``graphs.vertex_ids``) or an edge's (its tail's id, "->", its head's id). The places are
# taken as numbers: no leading zero (an id never has one) and at most nine digits.
_ID = re.escape(GRAPH_ID_PREFIX.replace("-", "&#45;")) + "(0|[1-9][0-9]{0,8})"
_TITLE = re.compile(f"<title>{_ID}(?:&#45;&gt;{_ID})?</title>")
# Badges are few (types, states, tags, aliases) and shown on page after page: make each once.
_badge: Callable[..., Badge] = lru_cache(maxsize=1 << 12)(Badge)
_DELETED = Badge("deleted", "state", tone="muted")
_RUNS = Link("Runs", "index.html#runs")
# Detail rows of values drawn from the organisation's few types, states, projects, users and runs:
# equal ones recur from page to page, and are made once (see Planner.rows).
_RECURRING = frozenset(
    {
        "Type",
        "Files",
        "Version",
        "Project",
        "Aliases",
        "Tags",
        "State",
        "Named logger",
        "Logged by",
        "Used by",
        "In collections",
        "Job type",
        "User",
        "Group",
        "Status",
    }
)


@dataclass(frozen=True, slots=True)
class DrawnGraph:
    """A lineage graph laid out once (its links relative to its focus's page), or what stopped it."""

    graph: LineageGraph
    svg: str
    svg_file: str
    error: str = ""


class PageFields(TypedDict):
    """The fields every page context shares (see ``views.Page``)."""

    path: str
    root: str
    title: str
    site: Site
    template: str
    crumbs: tuple[Link, ...]
    canonical: str


def registry_anchor(name: str) -> str:
    """Return the id of a registry's section on the index page."""
    return f"registry-{slug(name)}"


def root_of(path: str) -> str:
    """Return the relative prefix from the page at ``path`` to the site root."""
    return "../" * path.count("/")


def reroot(text: str, start: str, here: str, there: str) -> str:
    """Return ``text`` (a graph's DOT or SVG) with the links written after ``start`` (``URL="``,
    ``xlink:href="``) made relative to a page ``there`` away from the site's root, where they were
    relative to one ``here`` away; an anchor (``#...``) stays as it is.

    Every link but an anchor starts with ``here``, and ``start`` begins a link only: no text of a graph
    holds it, since a '"' in a quoted text is always escaped. One copy in C, none when the roots agree.
    """
    if here == there:
        return text
    text = text.replace(start + here, start + there)
    if not here:  # the anchors got ``there`` in front too
        text = text.replace(f"{start}{there}#", f"{start}#")
    return text


def rebase(svg: str, drawn_for: str, page: str) -> str:
    """Return ``svg``, a graph drawn for the page at ``drawn_for`` (see ``layout.graph_source``), with
    its links made relative to the page at ``page``: nothing to do for the page it was drawn for."""
    return reroot(svg, _HREF, root_of(drawn_for), root_of(page))


def vertex_title(org: Organisation, vertex: Vertex) -> str:
    """Return what a drawn vertex is called: a node's name or a cluster's label."""
    return vertex.label if isinstance(vertex, Cluster) else node_title(org, vertex)


def name_svg_titles(
    svg: str, org: Organisation, graph: LineageGraph, names: dict[Vertex, str] | None = None
) -> str:
    """Return ``svg`` with each node's and edge's <title> naming it, not its generated id.

    Graphviz titles a node by its DOT id; screen readers and hover text should say its name. ``names``,
    kept by a caller titling many graphs of one organisation, keeps each node's name, escaped: a node is
    drawn in the graph of each of its neighbours (at L, titling took 40% less time with them).
    """
    known = names if names is not None else {}
    titles: list[str] = []  # by the vertex's place, which its id ends with
    for vertex in graph.vertices:
        title = known.get(vertex)
        if title is None:
            title = html.escape(vertex_title(org, vertex), quote=False)
            if not isinstance(vertex, Cluster):  # a cluster is one graph's grouping: never kept
                known[vertex] = title
        titles.append(title)
    count = len(titles)

    def named(match: re.Match[str]) -> str:  # one pass over the SVG, not one a node and one an edge
        tail, head = match.group(1, 2)
        a = int(tail)
        if head is None:
            return f"<title>{titles[a]}</title>" if a < count else match.group(0)
        b = int(head)
        if a < count and b < count:
            return f"<title>{titles[a]} → {titles[b]}</title>"
        return match.group(0)

    return _TITLE.sub(named, svg)


def node_title(org: Organisation, key: NodeKey) -> str:
    """Return a node's name as users know it."""
    return str(key.artifact) if key.artifact is not None else org.runs[str(key.run)].name


@dataclass(frozen=True, slots=True)
class _CollectionParts:
    rows: tuple[VersionRow, ...]
    selector: tuple[Link, ...]
    timeline: Timeline
    by_version: Mapping[int, tuple[EventView, ...]]  # each version's events, newest first


@dataclass(frozen=True, slots=True)
class _BlockParts:
    rows: tuple[VersionRow, ...]
    selector: tuple[Link, ...]
    by_version: Mapping[int, tuple[EventView, ...]]  # the block's versions' events, newest first
    window: VersionWindow


def _by_version(events: Iterable[tuple[AuditEvent, EventView]]) -> dict[int, tuple[EventView, ...]]:
    """Return the views of events (newest first) by the version they touch: an alias moved from one
    version to another is an event of both."""
    found: dict[int, list[EventView]] = {}
    for e, view in events:
        found.setdefault(e.version, []).append(view)
        if e.previous_version is not None and e.previous_version != e.version:
            found.setdefault(e.previous_version, []).append(view)
    return {number: tuple(views) for number, views in found.items()}


def block_range(total: int, block: int) -> tuple[int, int]:
    """Return the first and last version of a block of a collection of ``total`` versions (see
    ``VERSION_WINDOW``)."""
    first = block * VERSION_WINDOW
    return first, min(first + VERSION_WINDOW, total) - 1


def block_of(version: int) -> int:
    """Return the block of versions that holds ``version`` (see ``VERSION_WINDOW``)."""
    return version // VERSION_WINDOW


def events_by_block(history: CollectionHistory) -> dict[int, list[AuditEvent]]:
    """Return a collection's events by the blocks of versions they touch, in the log's order: an alias
    moved from one version to another touches both, which may be in two blocks."""
    found: dict[int, list[AuditEvent]] = {}
    for e in history.events:
        blocks = {block_of(e.version)}
        if e.previous_version is not None:
            blocks.add(block_of(e.previous_version))
        for block in sorted(blocks):
            found.setdefault(block, []).append(e)
    return found


def version_blocks(history: CollectionHistory) -> int:
    """Return how many blocks a collection's version pages are rendered in: none when they are few
    enough to be rendered with the collection's page (see ``VERSION_WINDOW``)."""
    total = len(history.versions)
    return 0 if total <= VERSION_WINDOW else (total + VERSION_WINDOW - 1) // VERSION_WINDOW


@dataclass(frozen=True, slots=True)
class _NodeCard:
    """What a vertex shows in the text alternative of every graph that draws it."""

    kind: str
    title: str
    link: Link | None
    summary: str
    badges: tuple[Badge, ...] = ()
    members: tuple[Link, ...] = ()


class Planner:
    """Build the context of every page from the organisation and its drawn graphs."""

    def __init__(self, org: Organisation, site: Site, graphs: Mapping[NodeKey, DrawnGraph]) -> None:
        self.org = org
        self.site = site
        self.graphs = graphs
        self._registries = org.registries
        self._parts: dict[str, _CollectionParts] = {}
        self._blocks: dict[tuple[str, int], _BlockParts] = {}
        self._block_events: tuple[str, dict[int, list[AuditEvent]]] = ("", {})  # one collection's
        self._cards_md: dict[str, Markup] = {}
        self._cards: dict[Vertex, _NodeCard] = {}  # a vertex is drawn in many graphs: describe it once
        self._infos: dict[tuple[Vertex, str, bool], GraphNodeInfo] = {}
        self._node_links: dict[NodeKey, Link] = {}
        self._rows: dict[Row, Row] = {}
        # what recurs from page to page, made once: event views (by the id of the event), run links
        self._views: dict[int, tuple[AuditEvent, EventView]] = {}
        self._months: dict[str, list[AuditEvent]] | None = None  # see log_by_month
        self._run_links: dict[str, Link] = {}

    # -- shared pieces ---------------------------------------------------------------------------

    def page_fields(self, path: str, title: str, template: str, crumbs: tuple[Link, ...] = ()) -> PageFields:
        canonical = f"{self.site.base_url}{path}" if self.site.base_url else ""
        return PageFields(
            path=path,
            root=root_of(path),
            title=title,
            site=self.site,
            template=template,
            crumbs=(_INDEX, *crumbs),
            canonical=canonical,
        )

    def alias_badges(self, registry: str, aliases: tuple[str, ...]) -> tuple[Badge, ...]:
        protected = self._registries[registry].protected_aliases
        return tuple(_badge(a, "alias", a in protected) for a in aliases)

    def artifact_alias_badges(self, ref: ArtifactRef) -> tuple[Badge, ...]:
        """Return an artifact version's aliases, locked where a registry it is linked in protects them."""
        protected = {
            alias
            for cv in self.org.links_of(ref)
            for alias in self._registries[
                self.org.collections[cv.collection].collection.registry
            ].protected_aliases
        }
        return tuple(_badge(a, "alias", a in protected) for a in self.org.aliases_of(ref))

    def run_link(self, run: Run) -> Link:
        link = self._run_links.get(run.id)
        if link is None:
            title = run.id if run.name != run.id else ""
            link = self._run_links[run.id] = Link(run.name, run_page(run.id), title=title)
        return link

    def rows(self, rows: Iterable[Row | None]) -> tuple[Row, ...]:
        """Return ``rows`` but the missing ones, a row of recurring values replaced by an equal one
        made before: a build holding many pages holds fewer objects (which the garbage collector walks).
        """
        made = self._rows
        return tuple(made.setdefault(r, r) if r.label in _RECURRING else r for r in rows if r is not None)

    def node_link(self, key: NodeKey) -> Link:
        link = self._node_links.get(key)
        if link is None:
            link = self._node_links[key] = Link(node_title(self.org, key), node_page(key))
        return link

    def event_view(self, event: AuditEvent) -> EventView:
        """Return how ``event`` is shown, made once for the audit log, the index and its collection."""
        seen = self._views.get(id(event))
        if seen is not None and seen[0] is event:
            return seen[1]
        view = event_view(self.org, event)
        self._views[id(event)] = (event, view)
        return view

    def graph_view(self, key: NodeKey, path: str) -> GraphView | None:
        drawn = self.graphs.get(key)
        if drawn is None:
            return None
        graph = drawn.graph
        svg = rebase(drawn.svg, node_page(key), path)
        ids = vertex_ids(graph, GRAPH_ID_PREFIX)
        nodes = tuple(self.node_info(v, ids[v], graph) for v in graph.vertices)
        titles = {v: node.title for v, node in zip(graph.vertices, nodes, strict=True)}
        edges = tuple((titles[a], titles[b]) for a, b in graph.edges)
        caption = f"Lineage of {node_title(self.org, graph.focus)}: {_depth_text(graph)}"
        return GraphView(
            svg=Markup(svg),  # Graphviz output from escaped labels
            svg_file=drawn.svg_file,
            caption=caption,
            nodes=nodes,
            edges=edges,
            notes=graph.notes + _more_text(graph),
            error=drawn.error,
        )

    def node_info(self, vertex: Vertex, node_id: str, graph: LineageGraph) -> GraphNodeInfo:
        focus = vertex == graph.focus
        # Graphs around neighbouring nodes draw many of the same vertices in the same places.
        info = self._infos.get((vertex, node_id, focus))
        if info is None:
            card = self.node_card(vertex)
            info = GraphNodeInfo(
                node_id, card.kind, card.title, card.link, card.summary, card.badges, card.members, focus
            )
            self._infos[vertex, node_id, focus] = info
        return info

    def node_card(self, vertex: Vertex) -> _NodeCard:
        """Return how ``vertex`` is described beside any graph, computed once per vertex."""
        card = self._cards.get(vertex)
        if card is None:
            card = self._cards[vertex] = self._node_card(vertex)
        return card

    def _node_card(self, vertex: Vertex) -> _NodeCard:
        if isinstance(vertex, Cluster):
            members = tuple(self.node_link(m) for m in vertex.members)
            return _NodeCard(
                "cluster", vertex.label, None, f"{len(members)} collapsed siblings", members=members
            )
        link = self.node_link(vertex)
        if vertex.artifact is not None:
            artifact = self.org.artifacts[vertex.artifact]
            summary = f"artifact version · {artifact.type}"
            badges = self.artifact_alias_badges(vertex.artifact)
            if artifact.is_deleted:
                badges += (_DELETED,)
            kind = "artifact"
        else:
            run = self.org.runs[str(vertex.run)]
            summary = " · ".join(x for x in ("run", run.job_type, run.user) if x)
            badges = (_run_state_badge(run),) if run.state else ()
            kind = "run"
        return _NodeCard(kind, link.text, link, summary, badges)

    # -- pages -----------------------------------------------------------------------------------

    def index(self) -> IndexPage:
        registries = []
        for name, registry in self._registries.items():
            collections = tuple(self.collection_summary(h) for h in self.org.collections_in(name))
            registries.append(
                RegistrySummary(
                    name,
                    render_markdown(registry.description),
                    registry.protected_aliases,
                    collections,
                    anchor=registry_anchor(name),
                )
            )
        recent = tuple(self.event_view(e) for e in newest_first(self.org.events())[:RECENT_ACTIONS])
        return IndexPage(
            **self.page_fields("index.html", self.site.title, "index.html", ()),
            registries=tuple(registries),
            unlinked=tuple(artifact_link(a.ref) for a in self.org.unlinked_artifacts()),
            runs=tuple(self.run_link(r) for r in self.org.runs.values()),
            recent=recent,
        )

    def collection_summary(self, history: CollectionHistory) -> CollectionSummary:
        c = history.collection
        current = history.current
        aliases = tuple(dict.fromkeys(a for v in current.linked for a in current.aliases_of(v)))
        last = history.last_event
        return CollectionSummary(
            link=Link(c.full_name, collection_page(c.registry, c.name)),
            type=c.type,
            versions=len(history.versions),
            linked=len(current.linked),
            aliases=self.alias_badges(c.registry, aliases),
            last_action=self.event_view(last).summary if last else "",
            last_action_at=time_text(last.at) if last else "",
            last_action_iso=format_utc(last.at) if last else "",
        )

    def collection_parts(self, history: CollectionHistory) -> _CollectionParts:
        """Return what the collection page and each of its version pages share, computed once.

        Of a collection too long to list on each version page (``VERSION_WINDOW``), its version pages
        take their block's versions (``block_parts``), and this is made for the collection page only.
        """
        key = history.full_name
        parts = self._parts.get(key)
        if parts is None:
            c = history.collection
            base = collection_page(c.registry, c.name)
            stem = base.removesuffix(".html")
            events = [(e, self.event_view(e)) for e in newest_first(history.events)]
            parts = _CollectionParts(
                rows=tuple(self.version_row(history, v.version) for v in reversed(history.versions)),
                selector=tuple(self.version_link(history, v.version) for v in reversed(history.versions)),
                timeline=timeline_of([v for _, v in events], f"{stem}.history.csv", f"{stem}.history.json"),
                by_version=_by_version(events),
            )
            self._parts = {key: parts}  # pages are planned collection by collection: keep one
        return parts

    def block_parts(self, history: CollectionHistory, block: int) -> _BlockParts:
        """Return what the version pages of one block of a long collection's versions share (see
        ``VERSION_WINDOW``): its versions' rows and links, newest first, and their actions. Made from
        the block's versions and their actions alone: a collection's blocks cost as much as its versions."""
        key = (history.full_name, block)
        parts = self._blocks.get(key)
        if parts is None:
            c = history.collection
            first, last = block_range(len(history.versions), block)
            numbers = range(last, first - 1, -1)  # newest first, as the collection page lists them
            if self._block_events[0] != history.full_name:
                self._block_events = (history.full_name, events_by_block(history))
            mine = self._block_events[1].get(block, [])
            newer = older = None
            if last < len(history.versions) - 1:
                newer = Link(f"v{last + 1} and later", collection_version_page(c.registry, c.name, last + 1))
            if first > 0:
                text = f"v{first - VERSION_WINDOW}–v{first - 1}"
                older = Link(text, collection_version_page(c.registry, c.name, first - 1))
            parts = _BlockParts(
                rows=tuple(self.version_row(history, n) for n in numbers),
                selector=tuple(self.version_link(history, n) for n in numbers),
                by_version=_by_version([(e, self.event_view(e)) for e in newest_first(mine)]),
                window=VersionWindow(first, last, newer, older),
            )
            self._blocks = {key: parts}  # a unit's pages are one block's: keep one
        return parts

    def collection_card(self, history: CollectionHistory) -> Markup:
        """Return the collection's description, rendered once for all its pages."""
        key = history.full_name
        card = self._cards_md.get(key)
        if card is None:
            card = render_markdown(history.collection.description)
            self._cards_md = {key: card}
        return card

    def version_link(self, history: CollectionHistory, number: int) -> Link:
        """Return the version selector's link to a version's page."""
        c = history.collection
        v = history.versions[number]
        text = f"v{number}" + ("" if v.is_linked_at() else " (unlinked)")
        return Link(text, collection_version_page(c.registry, c.name, number))

    def collection(self, history: CollectionHistory, selected: int | None = None) -> CollectionPage:
        """Return the collection's page, or with ``selected`` the page of that version.

        A version page shows that version's lineage and its own actions; the collection page shows
        the version holding `latest` and the whole Action History.
        """
        c = history.collection
        version_page = selected is not None
        if selected is None:  # the collection page shows the version holding `latest`
            selected = history.current.holder("latest")
            if selected is None and history.versions:
                selected = history.versions[-1].version
        base = collection_page(c.registry, c.name)
        stem = base.removesuffix(".html")
        path = base
        title = c.full_name
        crumbs: tuple[Link, ...] = (Link(c.registry, f"index.html#{registry_anchor(c.registry)}"),)
        window = None
        if version_page and selected is not None:
            path = collection_version_page(c.registry, c.name, selected)
            title = f"{c.full_name}:v{selected}"
            crumbs += (Link(c.name, base),)
            if version_blocks(history):
                block = self.block_parts(history, block_of(selected))
                shared: _CollectionParts | _BlockParts = block
                window = block.window
            else:
                shared = self.collection_parts(history)
            history_view = timeline_of(
                shared.by_version.get(selected, ()), f"{stem}.history.csv", f"{stem}.history.json"
            )
        else:
            shared = self.collection_parts(history)
            history_view = shared.timeline
        graph = None
        selected_rows: tuple[Row, ...] = ()
        if selected is not None and history.versions:
            cv = history.versions[selected]
            graph = self.graph_view(NodeKey.of_artifact(cv.artifact), path)
            selected_rows = self.version_rows(history, selected)
        return CollectionPage(
            **self.page_fields(path, title, "collection.html", crumbs),
            registry=c.registry,
            name=c.name,
            type=c.type,
            card=self.collection_card(history),
            tags=tuple(_badge(t) for t in c.tags),
            versions=shared.rows,
            selector=shared.selector,
            selected=selected,
            selected_href=("" if selected is None else collection_version_page(c.registry, c.name, selected)),
            selected_rows=selected_rows,
            graph=graph,
            timeline=history_view,
            is_version_page=version_page,
            collection_href=base,
            window=window,
        )

    def version_row(self, history: CollectionHistory, number: int) -> VersionRow:
        c = history.collection
        cv = history.versions[number]
        artifact = self.org.artifacts[cv.artifact]
        unlinked = cv.unlinked_at is not None
        return VersionRow(
            version=Link(cv.label, collection_version_page(c.registry, c.name, number)),
            aliases=self.alias_badges(c.registry, history.current.aliases_of(number)),
            artifact=artifact_link(cv.artifact),
            digest=artifact.digest,
            linked_by=cv.linked_by,
            linked_at=format_utc(cv.linked_at),
            linked_at_text=time_text(cv.linked_at),
            unlinked=unlinked,
            unlinked_text=(
                f"unlinked {time_text(cv.unlinked_at)} by {cv.unlinked_by}" if cv.unlinked_at else ""
            ),
        )

    def version_rows(self, history: CollectionHistory, number: int) -> tuple[Row, ...]:
        cv = history.versions[number]
        c = history.collection
        status = (
            "linked"
            if cv.unlinked_at is None
            else f"unlinked {time_text(cv.unlinked_at)} by {cv.unlinked_by}"
        )
        return self.rows(
            (
                Row("Version", cv.full_name, mono=True),
                Row("Source artifact", links=(artifact_link(cv.artifact),)),
                Row("Aliases", badges=self.alias_badges(c.registry, history.current.aliases_of(number))),
                Row("Linked", f"{time_text(cv.linked_at)} by {cv.linked_by}", time=format_utc(cv.linked_at)),
                Row("Status", status),
                *self.artifact_rows(self.org.artifacts[cv.artifact], short=True),
            )
        )

    def artifact_rows(self, a: ArtifactVersion, short: bool = False) -> tuple[Row, ...]:
        rows = [
            Row("Type", a.type),
            Row("Digest", a.digest, mono=True) if a.digest else None,
            Row("Size", _bytes_text(a.size)) if a.size is not None else None,
            Row("Files", str(a.file_count)) if a.file_count is not None else None,
            Row("Created", time_text(a.created_at), time=format_utc(a.created_at)) if a.created_at else None,
            Row("Logged by", links=tuple(self.run_link(r) for r in self.org.runs_logging(a.ref))),
        ]
        if not short:
            rows += [
                Row("Full name", str(a.ref), mono=True),
                Row("Version", f"v{a.version}"),
                Row("Project", a.project) if a.project else None,
                Row("Aliases", badges=self.artifact_alias_badges(a.ref)),
                Row("Tags", badges=tuple(_badge(t) for t in a.tags)) if a.tags else None,
                Row("State", a.state),
                Row("Expires", time_text(a.expires_at), time=format_utc(a.expires_at))
                if a.expires_at
                else None,
                Row("Named logger", a.logged_by) if a.logged_by else None,
                Row("Used by", links=tuple(self.run_link(r) for r in self.org.runs_using(a.ref))),
                Row(
                    "In collections",
                    links=tuple(self.collection_version_link(cv) for cv in self.org.links_of(a.ref)),
                ),
                Row("Source", links=(Link(a.url, a.url, external=True),)) if a.url else None,
            ]
        return self.rows(rows)

    def collection_version_link(self, cv: CollectionVersion) -> Link:
        c = self.org.collections[cv.collection].collection
        return Link(cv.full_name, collection_version_page(c.registry, c.name, cv.version))

    def artifact(self, a: ArtifactVersion) -> DetailPage:
        path = artifact_page(a.ref)
        badges = [_badge(a.type, "kind")]
        if a.is_deleted:
            badges.append(_DELETED)
        return DetailPage(
            **self.page_fields(path, str(a.ref), "detail.html", (Link(a.name, path),)),
            kind="artifact",
            heading=str(a.ref),
            badges=tuple(badges),
            rows=self.artifact_rows(a),
            description=render_markdown(a.description),
            graph=self.graph_view(NodeKey.of_artifact(a.ref), path),
            tables=(("Metadata", _table(a.metadata)),) if a.metadata else (),
        )

    def run(self, run: Run) -> DetailPage:
        path = run_page(run.id)
        rows = [
            Row("Id", run.id, mono=True),
            Row("Name", run.name),
            Row("State", badges=(_run_state_badge(run),)) if run.state else None,
            Row("Job type", run.job_type) if run.job_type else None,
            Row("User", run.user) if run.user else None,
            Row("Project", run.project) if run.project else None,
            Row("Group", run.group) if run.group else None,
            Row("Started", time_text(run.created_at), time=format_utc(run.created_at))
            if run.created_at
            else None,
            Row("Finished", time_text(run.finished_at), time=format_utc(run.finished_at))
            if run.finished_at
            else None,
            Row("Duration", _duration_text(run)) if run.duration is not None else None,
            Row("Tags", badges=tuple(_badge(t) for t in run.tags)) if run.tags else None,
            Row("Inputs", links=tuple(artifact_link(r) for r in run.inputs)),
            Row("Outputs", links=tuple(artifact_link(r) for r in run.outputs)),
            Row("Source", links=(Link(run.url, run.url, external=True),)) if run.url else None,
        ]
        tables = tuple((t, _table(m)) for t, m in (("Config", run.config), ("Summary", run.summary)) if m)
        return DetailPage(
            **self.page_fields(path, f"Run {run.name}", "detail.html", (_RUNS,)),
            kind="run",
            heading=run.name,
            badges=tuple(
                b
                for b in (
                    _badge(run.job_type, "kind") if run.job_type else None,
                    _run_state_badge(run) if run.state else None,
                )
                if b
            ),
            rows=self.rows(rows),
            description=render_markdown(run.notes),
            graph=self.graph_view(NodeKey.of_run(run.id), path),
            tables=tables,
        )

    def audit(self) -> AuditPage:
        """Return audit.html: the whole log, or the list of its months when it has a page a month."""
        fields = self.page_fields("audit.html", "Audit log", "audit.html", ())
        by_month = self.log_by_month()
        if not by_month:
            return AuditPage(**fields, timeline=self._audit_timeline(newest_first(self.org.events())))
        kinds = tuple(EventKind)
        months = []
        for month, events in by_month.items():
            counts = dict.fromkeys(kinds, 0)
            for e in events:
                counts[e.kind] += 1
            months.append(
                MonthSummary(
                    _month_link(month),
                    month,
                    len(events),
                    tuple(counts.values()),
                    len({e.user for e in events}),
                )
            )
        return AuditPage(
            **fields,
            months=tuple(months),
            kinds=tuple(k.label for k in kinds),
            count=sum(m.count for m in months),
        )

    def audit_month(self, month: str) -> AuditPage:
        """Return the page of one month ("YYYY-MM") of a log that has a page a month."""
        by_month = self.log_by_month()
        order = list(by_month)  # newest first
        at = order.index(month)
        return AuditPage(
            **self.page_fields(
                audit_month_page(month), f"Audit log: {month_name(month)}", "audit.html", (_AUDIT,)
            ),
            timeline=self._audit_timeline(newest_first(by_month[month])),
            month=month,
            month_name=month_name(month),
            newer=_month_link(order[at - 1]) if at > 0 else None,
            older=_month_link(order[at + 1]) if at + 1 < len(order) else None,
        )

    def _audit_timeline(self, events: Iterable[AuditEvent]) -> Timeline:
        return timeline_of(
            [self.event_view(e) for e in events], "audit.csv", "audit.json", show_collection=True
        )

    def log_by_month(self) -> dict[str, list[AuditEvent]]:
        """Return ``log_by_month`` of the organisation, made once."""
        if self._months is None:
            self._months = log_by_month(self.org)
        return self._months

    def pages(self) -> Iterator[Page]:
        """Yield every page: index, audit, collections and their versions, artifacts, runs.

        Pages are yielded one at a time so a build holds one page's context in memory, not the site's.
        """
        for unit in units(self.org):
            yield from unit_pages(self, unit)


def _run_state_badge(run: Run) -> Badge:
    tone = {"failed": "bad", "crashed": "bad", "killed": "warn", "running": "info"}.get(run.state, "")
    return _badge(run.state, "state", False, tone)


def _depth_text(graph: LineageGraph) -> str:
    if graph.upstream is None and graph.downstream is None:
        return "the whole connected lineage"
    return f"{graph.upstream} hops upstream and {graph.downstream} downstream"


def _more_text(graph: LineageGraph) -> tuple[str, ...]:
    notes = []
    for side, count in (("upstream", graph.more_upstream), ("downstream", graph.more_downstream)):
        if count:
            nodes = "node" if count == 1 else "nodes"
            notes.append(f"the lineage goes on {side} ({count} more {nodes} one step further)")
    return tuple(notes)


def _table(data: Mapping[str, object]) -> tuple[tuple[str, str], ...]:
    """Flatten nested mappings to dotted keys, values as compact text."""
    rows: list[tuple[str, str]] = []

    def walk(prefix: str, value: object) -> None:
        if isinstance(value, Mapping) and value:
            for k in value:
                walk(f"{prefix}.{k}" if prefix else str(k), value[k])
        else:
            rows.append((prefix, _value_text(value)))

    walk("", data)
    return tuple(rows)


def _value_text(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value_text(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_value_text(v)}" for k, v in value.items()) + "}"
    return str(value)


def _bytes_text(size: int | None) -> str:
    if size is None:
        return ""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{size:,} B" if unit == "B" else f"{value:.1f} {unit} ({size:,} bytes)"
        value /= 1000
    return f"{size} B"


def _duration_text(run: Run) -> str:
    duration = run.duration
    if duration is None:
        return ""
    seconds = int(duration.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h {minutes:02d}m {secs:02d}s" if hours else f"{minutes}m {secs:02d}s"


@dataclass(frozen=True, slots=True)
class Unit:
    """Pages rendered together: one collection's pages share its history, table and timeline. The
    version pages of a collection too long to list on each of them (``VERSION_WINDOW``) are units of
    their own, a block of versions each ("versions", ``block``): one more version renders only the
    collection's page and its last block or two again."""

    kind: str  # "index", "audit", "audit-month", "collection", "versions", "artifact" or "run"
    key: str = ""
    ref: ArtifactRef | None = None
    block: int = 0  # of "versions": which block of the collection's versions (see ``block_range``)

    @property
    def id(self) -> str:
        """Return the unit's name in the page cache."""
        if self.kind == "versions":
            return f"versions\0{self.key}\0{self.block}"
        return f"{self.kind}\0{self.ref if self.ref is not None else self.key}"


def audit_months(org: Organisation) -> tuple[str, ...]:
    """Return the months ("YYYY-MM", newest first) of the audit log's pages: none when it is one page."""
    if not _long_log(org):
        return ()
    months = {_month_of(e.at) for h in org.collections.values() for e in h.events}
    return tuple(f"{y:04d}-{m:02d}" for y, m in sorted(months, reverse=True))


def log_by_month(org: Organisation) -> dict[str, list[AuditEvent]]:
    """Return the log's events by month, newest month first (each month's in collection order, then
    replay order: not by time), or nothing when the log is one page."""
    if not _long_log(org):
        return {}
    by_month = events_by_month(e for h in org.collections.values() for e in h.events)
    return {m: by_month[m] for m in sorted(by_month, reverse=True)}


def _long_log(org: Organisation) -> bool:
    """Return whether the audit log has a page a month (more than ``AUDIT_PAGE_LIMIT`` actions)."""
    return sum(len(h.events) for h in org.collections.values()) > AUDIT_PAGE_LIMIT


def events_by_month(events: Iterable[AuditEvent]) -> dict[str, list[AuditEvent]]:
    """Return ``events`` by their UTC month ("YYYY-MM"), in the order given, each month's too."""
    months: dict[tuple[int, int], list[AuditEvent]] = {}
    for e in events:
        months.setdefault(_month_of(e.at), []).append(e)
    return {f"{y:04d}-{m:02d}": group for (y, m), group in months.items()}


def _month_of(at: datetime) -> tuple[int, int]:
    """Return the UTC (year, month) of a time (the model's times are UTC already: no conversion then)."""
    if at.tzinfo is not UTC:
        at = at.astimezone(UTC)
    return at.year, at.month


def month_name(month: str) -> str:
    """Return "November 2026" for "2026-11"."""
    return f"{_MONTHS[int(month[5:7]) - 1]} {month[:4]}"


def _month_link(month: str) -> Link:
    return Link(month_name(month), audit_month_page(month))


def units(org: Organisation) -> list[Unit]:
    """Return the site's pages as units of work, in the order the site lists them."""
    return [
        Unit("index"),
        Unit("audit"),
        *(Unit("audit-month", month) for month in audit_months(org)),
        *(
            unit
            for name, history in org.collections.items()
            for unit in (
                Unit("collection", name),
                *(Unit("versions", name, block=b) for b in range(version_blocks(history))),
            )
        ),
        *(Unit("artifact", ref=ref) for ref in org.artifacts),
        *(Unit("run", run_id) for run_id in org.runs),
    ]


def unit_versions(org: Organisation, unit: Unit) -> range:
    """Return the versions whose pages a unit renders: every version of a collection without blocks of
    them, a block's own, none for any other unit."""
    if unit.kind == "versions":
        first, last = block_range(len(org.collections[unit.key].versions), unit.block)
        return range(first, last + 1)
    if unit.kind == "collection":
        history = org.collections[unit.key]
        return range(0 if version_blocks(history) else len(history.versions))
    return range(0)


def unit_focuses(org: Organisation, unit: Unit) -> tuple[NodeKey, ...]:
    """Return the nodes whose graphs the unit's pages show."""
    if unit.kind == "collection" and version_blocks(org.collections[unit.key]):  # its own page alone
        history = org.collections[unit.key]
        shown = history.current.holder("latest")
        return (NodeKey.of_artifact(history.versions[-1 if shown is None else shown].artifact),)
    if unit.kind in ("collection", "versions"):  # with its version pages, which show every version's
        history = org.collections[unit.key]
        return tuple(NodeKey.of_artifact(history.versions[n].artifact) for n in unit_versions(org, unit))
    key = unit_graph(unit)
    return () if key is None else (key,)


def unit_graph(unit: Unit) -> NodeKey | None:
    """Return the node whose graph file is written with this unit, if any."""
    if unit.kind == "artifact":
        assert unit.ref is not None
        return NodeKey.of_artifact(unit.ref)
    if unit.kind == "run":
        return NodeKey.of_run(unit.key)
    return None


def unit_pages(planner: Planner, unit: Unit) -> Iterator[Page]:
    """Yield the pages of one unit (a collection yields its own page, then one per version unless it
    has blocks of them)."""
    org = planner.org
    if unit.kind == "index":
        yield planner.index()
    elif unit.kind == "audit":
        yield planner.audit()
    elif unit.kind == "audit-month":
        yield planner.audit_month(unit.key)
    elif unit.kind in ("collection", "versions"):
        history = org.collections[unit.key]
        if unit.kind == "collection":
            yield planner.collection(history)
        for number in unit_versions(org, unit):
            yield planner.collection(history, number)
    elif unit.kind == "artifact":
        assert unit.ref is not None
        yield planner.artifact(org.artifacts[unit.ref])
    else:
        yield planner.run(org.runs[unit.key])
