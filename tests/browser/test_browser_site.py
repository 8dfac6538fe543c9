"""What a person does with the sample site in Chromium, from file:// and from a local http.server (issue 5).

Every test records all requests, console messages and script errors of its browser context and ends by
asserting there was none: no console error, no failed request, no request outside the site.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

import pytest
from browser_checks import (
    EntryKey,
    crawl_problems,
    download_problems,
    filter_problems,
    graph_focus,
    member_pages_problems,
    node_details_problems,
    node_navigation_problems,
    search_problems,
    version_selector_problems,
)
from browser_harness import (
    CLUSTERED,
    COLLECTION,
    BuiltSite,
    OpenContext,
    assert_no_problems,
)

from reportgen.model import AuditEvent, Organisation
from reportgen.paths import (
    artifact_page,
    audit_month_page,
    collection_page,
    collection_version_page,
    run_page,
)
from reportgen.spec import format_utc
from reportgen.timeline import newest_first

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser


def entry_keys(events: list[AuditEvent]) -> list[EntryKey]:
    return [
        (format_utc(e.at), e.collection, e.kind.value, f"v{e.version}", e.user) for e in newest_first(events)
    ]


def collection_path(org: Organisation, name: str = COLLECTION) -> str:
    c = org.collections[name].collection
    return collection_page(c.registry, c.name)


def test_version_selector_switches_the_graph_and_the_url_and_back_returns(
    open_context: OpenContext, site: BuiltSite, base: str
) -> None:
    history = site.org.collections[COLLECTION]
    c = history.collection
    latest = history.current.holder("latest")
    assert latest is not None
    other = next(
        v for v in history.versions if v.version != latest and v.artifact != history.versions[latest].artifact
    )
    visit = open_context(base)
    visit.page.goto(base + collection_path(site.org))
    problems = version_selector_problems(
        visit.page,
        choose=other.label,
        expected_path=collection_version_page(c.registry, c.name, other.version),
        expected_focus=str(other.artifact),
        start_focus=str(history.versions[latest].artifact),
    )
    assert_no_problems(problems + visit.problems())


def test_a_version_page_switches_to_another_version(
    open_context: OpenContext, site: BuiltSite, base: str
) -> None:
    history = site.org.collections[COLLECTION]
    c = history.collection
    first, last = history.versions[0], history.versions[-1]
    visit = open_context(base)
    visit.page.goto(base + collection_version_page(c.registry, c.name, first.version))
    problems = version_selector_problems(
        visit.page,
        choose=last.label,
        expected_path=collection_version_page(c.registry, c.name, last.version),
        expected_focus=str(last.artifact),
        start_focus=str(first.artifact),
    )
    assert_no_problems(problems + visit.problems())


def test_a_version_page_of_a_long_collection_selects_within_its_block_and_steps_to_the_next(
    open_context: OpenContext, windowed_site: BuiltSite
) -> None:
    """With blocks of two versions: v0's page offers v1 and v0, switches to v1, and leads to v2's page."""
    history = windowed_site.org.collections[COLLECTION]
    c = history.collection
    assert len(history.versions) > 2
    base = windowed_site.file_base
    visit = open_context(base)
    visit.page.goto(base + collection_version_page(c.registry, c.name, 0))
    labels = visit.page.locator("[data-version-selector] select option").all_inner_texts()
    offered = [label.split(" ")[0] for label in labels]  # "vK", or "vK (unlinked)"
    problems = [] if offered == ["v1", "v0"] else [f"the selector offers {labels}, not v1 and v0"]
    problems += version_selector_problems(
        visit.page,
        choose="v1",
        expected_path=collection_version_page(c.registry, c.name, 1),
        expected_focus=str(history.versions[1].artifact),
        start_focus=str(history.versions[0].artifact),
    )
    newer = history.versions[2]
    with visit.page.expect_navigation():
        visit.page.get_by_role("link", name="Newer: v2 and later").first.click()
    if not visit.page.url.endswith("/" + collection_version_page(c.registry, c.name, 2)):
        problems.append(f"the newer block opened {visit.page.url}")
    if graph_focus(visit.page) != str(newer.artifact):
        problems.append(f"the newer block's page shows {graph_focus(visit.page)!r}")
    assert_no_problems(problems + visit.problems())


def test_clicking_a_node_shows_its_details(open_context: OpenContext, site: BuiltSite, base: str) -> None:
    run = site.org.runs_logging(CLUSTERED)[0]
    visit = open_context(base)
    visit.page.goto(base + artifact_page(CLUSTERED))
    problems = node_details_problems(visit.page, run.name)
    # the details link opens the node's page
    with visit.page.expect_navigation():
        visit.page.locator(".graph-panel-body a.graph-panel-open").click()
    if not visit.page.url.endswith("/" + run_page(run.id)):
        problems.append(f"'Open page' opened {visit.page.url}")
    assert_no_problems(problems + visit.problems())


def test_without_javascript_clicking_a_node_opens_its_page(
    open_context: OpenContext, site: BuiltSite, base: str
) -> None:
    run = site.org.runs_logging(CLUSTERED)[0]
    visit = open_context(base, java_script_enabled=False)
    visit.page.goto(base + artifact_page(CLUSTERED))
    problems = node_navigation_problems(visit.page, run.name, run_page(run.id))
    if graph_focus(visit.page) != run.name:
        problems.append(f"the run's page draws the graph around {graph_focus(visit.page)!r}")
    assert_no_problems(problems + visit.problems())


def test_the_graph_as_an_svg_file_shows_and_links_to_pages(
    open_context: OpenContext, site: BuiltSite, base: str
) -> None:
    run = site.org.runs_logging(CLUSTERED)[0]
    visit = open_context(base)
    page = visit.page
    page.goto(base + artifact_page(CLUSTERED))
    with page.expect_navigation():
        page.locator("figure[data-graph] a.graph-file").click()
    problems = []
    if not page.url.endswith(artifact_page(CLUSTERED).removesuffix(".html") + ".svg"):
        problems.append(f"'Open the graph as an SVG file' opened {page.url}")
    if page.evaluate("() => document.documentElement.localName") != "svg":
        problems.append("the SVG file does not show as a drawing")
    link = page.locator("g.node a", has=page.locator(f'xpath=./*[local-name()="text"][.="{run.name}"]'))
    with page.expect_navigation():
        link.first.click()
    if not page.url.endswith("/" + run_page(run.id)):
        problems.append(f"the node {run.name} of the SVG file opened {page.url}")
    # A bare SVG document names no icon, so over HTTP the browser asks for /favicon.ico, which a site of
    # reportgen has no file for (pages name assets/favicon.png): not a problem of the drawing.
    problems += [p for p in visit.problems() if not p.endswith(f"({base}favicon.ico)")]
    assert_no_problems(problems)


def sweep(org: Organisation) -> dict[str, str]:
    """The train runs reading CLUSTERED, which its graph collapses into one node: {name: page}."""
    runs = [r for r in org.runs_using(CLUSTERED) if r.job_type == "train"]
    assert len(runs) >= 5, "the sample sweep is too small to be clustered"
    return {r.name: run_page(r.id) for r in runs}


def test_a_cluster_lists_its_members_and_each_opens_its_page(
    open_context: OpenContext, site: BuiltSite, base: str
) -> None:
    members = sweep(site.org)
    cluster = f"{len(members)} runs · train"
    visit = open_context(base)
    visit.page.goto(base + artifact_page(CLUSTERED))
    problems = node_details_problems(visit.page, cluster, members=sorted(members))
    problems += member_pages_problems(visit.page, cluster, members)
    assert_no_problems(problems + visit.problems())


def test_without_javascript_a_cluster_opens_its_member_list(
    open_context: OpenContext, site: BuiltSite, base: str
) -> None:
    members = sweep(site.org)
    cluster = f"{len(members)} runs · train"
    visit = open_context(base, java_script_enabled=False)
    page = visit.page
    page.goto(base + artifact_page(CLUSTERED))
    link = page.locator("figure[data-graph] svg g.node.lineage-cluster a", has_text=cluster)
    link.click()
    problems = []
    fragment = page.url.partition("#")[2]
    listed = page.locator(f'[id="{fragment}"]')
    if not fragment or listed.count() != 1 or not listed.is_visible():
        problems.append(f"the cluster link goes to #{fragment}, which is not shown")
    else:
        names = [t.strip() for t in listed.locator("a").all_inner_texts()]
        if sorted(names) != sorted(members):
            problems.append(f"the member list holds {names}")
        name, path = sorted(members.items())[0]
        with page.expect_navigation():
            listed.locator("a", has_text=name).first.click()
        if not page.url.endswith("/" + path):
            problems.append(f"member {name} opened {page.url}")
    assert_no_problems(problems + visit.problems())


@pytest.mark.parametrize("where", ["collection", "audit"])
def test_action_history_filters_by_kind_and_user(
    open_context: OpenContext, site: BuiltSite, base: str, where: str
) -> None:
    if where == "audit":
        events = list(site.org.events())
        path = "audit.html"
    else:
        events = list(site.org.collections[COLLECTION].events)
        path = collection_path(site.org)
    visit = open_context(base)
    visit.page.goto(base + path)
    problems = filter_problems(
        visit.page,
        kinds=Counter(e.kind.value for e in events),
        users=Counter(e.user for e in events),
    )
    assert_no_problems(problems + visit.problems())


@pytest.mark.parametrize("where", ["collection", "version", "audit"])
def test_downloads_hold_every_entry(
    open_context: OpenContext, site: BuiltSite, base: str, where: str
) -> None:
    history = site.org.collections[COLLECTION]
    c = history.collection
    if where == "audit":
        expected = entry_keys(list(site.org.events()))
        path = "audit.html"
    else:
        # a version page lists the actions on that version, and links the downloads of the whole history
        expected = entry_keys(list(history.events))
        path = (
            collection_path(site.org)
            if where == "collection"
            else collection_version_page(c.registry, c.name, 0)
        )
    visit = open_context(base, accept_downloads=True)
    visit.page.goto(base + path)
    assert_no_problems(download_problems(visit.page, expected) + visit.problems())


def test_a_month_of_a_long_audit_log_filters_its_actions_and_downloads_the_whole_log(
    open_context: OpenContext, paged_site: BuiltSite
) -> None:
    month = "2026-02"
    events = [e for e in paged_site.org.events() if format_utc(e.at).startswith(month)]
    assert 20 < len(events) < len(list(paged_site.org.events()))
    visit = open_context(paged_site.file_base, accept_downloads=True)
    visit.page.goto(paged_site.file_base + "audit.html")
    visit.page.get_by_role("link", name="February 2026").click()
    problems = [] if visit.page.url.endswith(audit_month_page(month)) else [f"opened {visit.page.url}"]
    problems += filter_problems(
        visit.page, kinds=Counter(e.kind.value for e in events), users=Counter(e.user for e in events)
    )
    problems += download_problems(visit.page, entry_keys(list(paged_site.org.events())))
    visit.page.get_by_role("link", name="Older: January 2026").first.click()
    if not visit.page.url.endswith(audit_month_page("2026-01")):
        problems.append(f"older month opened {visit.page.url}")
    assert_no_problems(problems + visit.problems())


def test_search_finds_a_collection_an_artifact_version_and_a_run(
    open_context: OpenContext, site: BuiltSite, base: str
) -> None:
    org = site.org
    run = next(r for r in org.runs.values() if r.name != r.id)
    wanted = [
        (COLLECTION, collection_path(org)),
        (str(CLUSTERED), artifact_page(CLUSTERED)),
        (run.name, run_page(run.id)),
    ]
    visit = open_context(base)
    problems = []
    for query, path in wanted:
        visit.page.goto(base + "index.html")
        problems += search_problems(visit.page, query, path)
    # from a page deep in the site too: result links are relative to the page
    visit.page.goto(base + run_page(run.id))
    problems += search_problems(visit.page, str(CLUSTERED), artifact_page(CLUSTERED))
    assert_no_problems(problems + visit.problems())


def test_every_page_opens_without_a_console_error(open_context: OpenContext, site: BuiltSite) -> None:
    """JavaScript on, from file:// (the strictest origin): every page of the site, every link followed."""
    visit = open_context(site.file_base)
    problems, pages = crawl_problems(visit.context, site.file_base + "index.html", site.file_base)
    assert pages == sum(1 for _ in site.root.rglob("*.html"))
    assert_no_problems(problems + visit.problems())


NO_SCRIPT_FACTS = """() => {
  const shown = sel => [...document.querySelectorAll(sel)].some(e => e.getClientRects().length > 0);
  return {
    needScript: ['.site-search', '.timeline-filters', '.graph-toolbar', '.graph-panel'].filter(shown),
    selector: document.querySelector('[data-version-selector] ul')
      ? shown('[data-version-selector] ul') : null,
    hidden: [...document.querySelectorAll('li.event, .versions-table tbody tr, .node-list > li')]
      .filter(e => e.getClientRects().length === 0 && !e.closest('details:not([open])')).length,
  };
}"""


def no_script_problems(page: Page) -> list[str]:
    """With JavaScript off nothing that needs it is shown, and all content is."""
    facts = page.evaluate(NO_SCRIPT_FACTS)
    problems = [f"{sel} shows although it needs JavaScript" for sel in facts["needScript"]]
    if facts["selector"] is False:
        problems.append("the versions to choose from are not shown as links")
    if facts["hidden"]:
        problems.append(f"{facts['hidden']} Action History entries, version rows or graph nodes are hidden")
    return problems


def test_without_javascript_every_page_has_its_content_and_links_work(
    open_context: OpenContext, site: BuiltSite, http_base: str
) -> None:
    visit = open_context(http_base, java_script_enabled=False)
    problems, pages = crawl_problems(
        visit.context, http_base + "index.html", http_base, check=no_script_problems
    )
    assert pages == sum(1 for _ in site.root.rglob("*.html"))
    assert_no_problems(problems + visit.problems())
