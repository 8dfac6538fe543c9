"""Accessibility (issue 5 §2): axe-core finds no serious or critical violation on the four page kinds in
both colour schemes; the graph has a text alternative; the graph's nodes are reachable by keyboard; kinds and
states show as text, never by colour alone.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_checks import (
    axe_problems,
    axe_violations,
    keyboard_graph_problems,
    node_link,
    text_alternative_problems,
    text_signal_problems,
)
from browser_harness import CLUSTERED, COLLECTION, BuiltSite, OpenContext, assert_no_problems, four_pages

from reportgen.model import EventKind
from reportgen.paths import (
    artifact_page,
    audit_month_page,
    collection_page,
    collection_version_page,
    run_page,
)

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("kind", ["index", "collection", "artifact", "run"])
def test_axe_finds_no_serious_violation(
    open_context: OpenContext, site: BuiltSite, axe_script: Path, kind: str, scheme: str
) -> None:
    # axe-core is injected as an inline script, which the site's Content Security Policy forbids: let it in.
    visit = open_context(site.file_base, color_scheme=scheme, bypass_csp=True)
    visit.page.goto(site.file_base + four_pages(site.org)[kind])
    assert_no_problems(axe_problems(visit.page, axe_script) + visit.problems())


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_serious_violation_in_a_long_audit_log(
    open_context: OpenContext, paged_site: BuiltSite, axe_script: Path, scheme: str
) -> None:
    """The list of months, and a month's page."""
    visit = open_context(paged_site.file_base, color_scheme=scheme, bypass_csp=True)
    problems = []
    for path in ("audit.html", audit_month_page("2026-02")):
        visit.page.goto(paged_site.file_base + path)
        problems += [f"{path}: {p}" for p in axe_problems(visit.page, axe_script)]
    assert_no_problems(problems + visit.problems())


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_serious_violation_on_a_version_page_of_a_long_collection(
    open_context: OpenContext, windowed_site: BuiltSite, axe_script: Path, scheme: str
) -> None:
    """Its block of versions and the links to the blocks around it."""
    c = windowed_site.org.collections[COLLECTION].collection
    visit = open_context(windowed_site.file_base, color_scheme=scheme, bypass_csp=True)
    visit.page.goto(windowed_site.file_base + collection_version_page(c.registry, c.name, 2))
    assert visit.page.locator("nav.version-nav").count() == 2
    assert_no_problems(axe_problems(visit.page, axe_script) + visit.problems())


def test_axe_finds_no_serious_violation_in_opened_widgets(
    open_context: OpenContext, site: BuiltSite, axe_script: Path
) -> None:
    """What the script adds: node details, search results, a filtered history, the paginated table."""
    problems = []
    for scheme in ("light", "dark"):
        visit = open_context(site.file_base, color_scheme=scheme, bypass_csp=True)
        page = visit.page
        page.goto(site.file_base + four_pages(site.org)["artifact"])
        link = node_link(
            page, f"{sum(1 for r in site.org.runs_using(CLUSTERED) if r.job_type == 'train')} runs · train"
        )
        assert link is not None
        link.click()
        page.locator("#site-search-input").fill("churn")
        problems += [f"{scheme}, details and search open: {p}" for p in axe_problems(page, axe_script)]
        page.goto(site.file_base + four_pages(site.org)["collection"])
        page.locator('select[data-filter="kind"]').select_option(index=1)
        problems += [f"{scheme}, history filtered: {p}" for p in axe_problems(page, axe_script)]
        problems += visit.problems()
    assert_no_problems(problems)


def test_axe_moderate_findings_are_only_known_ones(
    open_context: OpenContext, site: BuiltSite, axe_script: Path
) -> None:
    """Lesser findings too: the only one allowed comes from the Markdown headings of a collection card."""
    visit = open_context(site.file_base, bypass_csp=True)
    found = {}
    for kind, path in four_pages(site.org).items():
        visit.page.goto(site.file_base + path)
        for v in axe_violations(visit.page, axe_script):
            found.setdefault(v["id"], []).append(f"{kind}: {v['impact']} {v['nodes'][:1]}")
    # A collection card is the manifest's Markdown, headings as written (here `####` under the page's <h1>).
    found.pop("heading-order", None)
    assert not found, found


@pytest.mark.parametrize("kind", ["collection", "artifact", "run"])
def test_the_graph_has_a_text_alternative(open_context: OpenContext, site: BuiltSite, kind: str) -> None:
    visit = open_context(site.file_base)
    page = visit.page
    page.goto(site.file_base + four_pages(site.org)[kind])
    problems = text_alternative_problems(page)
    scroller = page.locator("figure[data-graph] .graph-scroll")
    if not (scroller.get_attribute("aria-label") or "").strip() or scroller.get_attribute("role") != "region":
        problems.append("the graph's frame is not a labelled region")
    caption = page.locator("figure[data-graph] figcaption").inner_text()
    if "Lineage of" not in caption:
        problems.append(f"the graph's caption says {caption!r}")
    assert_no_problems(problems + visit.problems())


def test_keyboard_reaches_every_graph_node_and_enter_opens_details(
    open_context: OpenContext, site: BuiltSite
) -> None:
    visit = open_context(site.file_base)
    page = visit.page
    page.goto(site.file_base + four_pages(site.org)["artifact"])
    problems = []
    # the first Tab offers the skip link, which moves on to the content
    page.keyboard.press("Tab")
    if page.evaluate("() => document.activeElement.className") != "skip-link":
        problems.append("the first Tab does not reach 'Skip to content'")
    page.keyboard.press("Enter")
    if page.evaluate("() => document.activeElement.id") != "main":
        problems.append("'Skip to content' does not move the focus to the content")
    problems += keyboard_graph_problems(page)
    # the focus shows: an outline on page elements, a thick outline stroke on a graph node
    page.locator("figure[data-graph] svg g.node a").first.focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    stroke = page.evaluate(
        "() => getComputedStyle(document.activeElement.querySelector('path, ellipse, polygon')).strokeWidth"
    )
    if stroke != "4px":
        problems.append(f"a focused graph node is outlined {stroke} wide, not 4px")
    page.locator("main").focus()
    page.keyboard.press("Tab")
    focused = page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return [document.activeElement.outerHTML.slice(0, 60), s.outlineStyle, s.outlineWidth]; }"
    )
    if focused[1] in ("", "none") or focused[2] in ("0px", ""):
        problems.append(f"the focused {focused[0]} shows no outline")
    assert_no_problems(problems + visit.problems())


def test_kind_and_state_show_as_text_not_only_colour(open_context: OpenContext, site: BuiltSite) -> None:
    org = site.org
    labels = {k.value: k.label for k in EventKind}
    unusual = [r for r in org.runs.values() if r.state not in ("finished", "")]
    assert unusual, "the samples have no failed, crashed, killed or running run"
    c = org.collections["model/churn-predictor"].collection
    pages = ["audit.html", collection_page(c.registry, c.name), artifact_page(CLUSTERED)]
    pages += [run_page(r.id) for r in unusual[:3]]
    visit = open_context(site.file_base)
    problems = []
    for path in pages:
        visit.page.goto(site.file_base + path)
        problems += [f"{path}: {p}" for p in text_signal_problems(visit.page, labels)]
    assert_no_problems(problems + visit.problems())
