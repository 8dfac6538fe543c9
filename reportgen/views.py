"""The typed contexts the templates receive: plain, pre-computed values, so templates hold no logic.

Every link is a site-root-relative path (``Link.href``) that templates prefix with the page's ``root``,
or an absolute http(s) address (``Link.external``). Every string is raw user text; Jinja escapes it.
Only ``Markup`` values (rendered Markdown, inline SVG) are trusted, and both are made safe upstream.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from markupsafe import Markup


@dataclass(frozen=True, slots=True)
class Link:
    """A link: a site path (relative to the site root) or an external http(s) URL."""

    text: str
    href: str
    external: bool = False
    title: str = ""


@dataclass(frozen=True, slots=True)
class Badge:
    """A small label: an alias (``locked`` when protected), a state, a tag."""

    text: str
    kind: str = "tag"  # alias | state | tag | kind
    locked: bool = False
    tone: str = ""  # e.g. "bad" for failed runs, "muted" for deleted artifacts


class Row(NamedTuple):
    """One row of a detail panel: a label and a value that is text, links, badges or a table.

    A named tuple, immutable as the other contexts are: pages make 47,607 rows at M and about five
    times as many at L, and a frozen dataclass took 1.7-3.2 µs to make one (each field set through
    ``object.__setattr__``), a named tuple 0.5-0.9 µs.
    """

    label: str
    text: str = ""
    links: tuple[Link, ...] = ()
    badges: tuple[Badge, ...] = ()
    table: tuple[tuple[str, str], ...] = ()
    html: Markup | None = None
    mono: bool = False
    time: str = ""  # ISO 8601 for a <time datetime> element, when the value is a moment


@dataclass(frozen=True, slots=True)
class GraphNodeInfo:
    """A vertex of a drawn graph, for the text alternative and the details panel beside the graph."""

    id: str  # the SVG group id, e.g. "g-n3"
    kind: str  # artifact | run | cluster
    title: str
    link: Link | None
    summary: str
    badges: tuple[Badge, ...] = ()
    members: tuple[Link, ...] = ()  # clusters only
    focus: bool = False


@dataclass(frozen=True, slots=True)
class GraphView:
    """A lineage graph on a page: inline SVG plus its text alternative (nodes and edges)."""

    svg: Markup
    svg_file: str  # site path of the same SVG as a file
    caption: str
    nodes: tuple[GraphNodeInfo, ...]
    edges: tuple[tuple[str, str], ...]  # pairs of node titles, for the text alternative
    notes: tuple[str, ...] = ()
    error: str = ""  # set when the graph could not be drawn and the build goes on


@dataclass(frozen=True, slots=True)
class EventView:
    """One entry of an Action History."""

    at: str  # ISO 8601 UTC
    at_text: str  # "2026-03-02 10:00 UTC"
    day: str  # "2026-03-02"
    kind: str  # linked | unlinked | alias_added | alias_removed | alias_moved
    kind_label: str
    collection: Link
    version: Link
    artifact: Link
    alias: Badge | None
    previous_version: Link | None
    user: str
    reason: str
    automatic: bool
    summary: str  # one sentence, for CSV and screen readers


@dataclass(frozen=True, slots=True)
class DayGroup:
    """The events of one UTC day, newest first."""

    day: str
    events: tuple[EventView, ...]


@dataclass(frozen=True, slots=True)
class Timeline:
    """An Action History: events grouped by day, the filter choices and the downloads."""

    days: tuple[DayGroup, ...]
    kinds: tuple[tuple[str, str], ...]  # (value, label) present in the events
    users: tuple[str, ...]
    csv: str  # site path
    json: str  # site path
    count: int
    show_collection: bool = False  # entries name their collection (the organisation-wide log)


@dataclass(frozen=True, slots=True)
class VersionRow:
    """A row of a collection's versions table."""

    version: Link
    aliases: tuple[Badge, ...]
    artifact: Link
    digest: str
    linked_by: str
    linked_at: str
    linked_at_text: str
    unlinked: bool
    unlinked_text: str = ""


@dataclass(frozen=True, slots=True)
class CollectionSummary:
    """A collection as listed on the index page."""

    link: Link
    type: str
    versions: int
    linked: int
    aliases: tuple[Badge, ...]
    last_action: str
    last_action_at: str  # display text
    last_action_iso: str = ""  # ISO 8601 UTC, for <time datetime>


@dataclass(frozen=True, slots=True)
class RegistrySummary:
    """A registry with its collections, for the index page."""

    name: str
    description: Markup
    protected: tuple[str, ...]
    collections: tuple[CollectionSummary, ...]
    anchor: str = ""  # the id of its section on the index page, safe in a fragment


@dataclass(frozen=True, slots=True)
class Site:
    """What every page shares."""

    title: str
    base_url: str  # "" when none was given
    generator: str
    built_at: str  # "" unless SOURCE_DATE_EPOCH is set
    counts: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class Page:
    """Fields every page context has: where it is, how to reach the root, its title."""

    path: str
    root: str  # "", "../", "../../" ...
    title: str
    site: Site
    template: str
    crumbs: tuple[Link, ...] = ()
    canonical: str = ""


@dataclass(frozen=True, slots=True)
class IndexPage(Page):
    """index.html: registries, unlinked artifacts, the latest actions."""

    registries: tuple[RegistrySummary, ...] = ()
    unlinked: tuple[Link, ...] = ()
    runs: tuple[Link, ...] = ()
    recent: tuple[EventView, ...] = ()


@dataclass(frozen=True, slots=True)
class VersionWindow:
    """The block of versions a version page of a long collection lists (``site.VERSION_WINDOW``): the
    collection page lists them all; ``newer`` and ``older`` lead to the nearest version of the blocks
    after and before it, if any, as an audit log's months lead to each other. Nothing here changes
    with the versions linked after the block's: its pages do not change with them."""

    first: int
    last: int
    newer: Link | None = None
    older: Link | None = None


@dataclass(frozen=True, slots=True)
class CollectionPage(Page):
    """A collection, or one of its versions when ``selected`` is set by a version page."""

    registry: str = ""
    name: str = ""
    type: str = ""
    card: Markup = field(default_factory=Markup)
    tags: tuple[Badge, ...] = ()
    versions: tuple[VersionRow, ...] = ()  # newest first; on a version page, only its window's
    selector: tuple[Link, ...] = ()  # one per version (only its window's), to its own page
    selected: int | None = None  # the version whose lineage is shown
    selected_href: str = ""  # site path of the selected version's own page
    selected_rows: tuple[Row, ...] = ()
    graph: GraphView | None = None
    timeline: Timeline | None = None
    is_version_page: bool = False
    collection_href: str = ""
    window: VersionWindow | None = None  # a version page of a collection too long to list whole


@dataclass(frozen=True, slots=True)
class DetailPage(Page):
    """An artifact version's or a run's page: its lineage graph and every field."""

    kind: str = ""  # artifact | run
    heading: str = ""
    badges: tuple[Badge, ...] = ()
    rows: tuple[Row, ...] = ()
    description: Markup = field(default_factory=Markup)
    graph: GraphView | None = None
    tables: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()  # config, summary, metadata


@dataclass(frozen=True, slots=True)
class MonthSummary:
    """One month of the organisation's audit log, as audit.html lists it when the log has a page a month."""

    link: Link  # to the month's page
    month: str  # "YYYY-MM"
    count: int
    kinds: tuple[int, ...]  # how many of each EventKind, in its order
    users: int


@dataclass(frozen=True, slots=True)
class AuditPage(Page):
    """The organisation's audit log: audit.html with every action in one timeline, or, for a long log,
    audit.html listing its months (``months``) and a page per month (``month`` set, with its neighbours).
    """

    timeline: Timeline | None = None
    months: tuple[MonthSummary, ...] = ()
    kinds: tuple[str, ...] = ()  # the labels of the columns of ``MonthSummary.kinds``
    count: int = 0  # actions in the whole log
    month: str = ""  # on a month's page: its "YYYY-MM"
    month_name: str = ""  # and its name, "November 2026"
    newer: Link | None = None
    older: Link | None = None
