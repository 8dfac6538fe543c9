"""Visual check (issue 5 §3): screenshots of the four page kinds in light, dark, at phone width and as
printed, saved under $REPORTGEN_SCREENSHOTS (default tests/browser/screenshots/) for a person to look at; and
what a machine can check: nothing wider than the window, a graph wider than its frame scrolls and zooms, print
shows every part of the page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from browser_checks import overflow_problems
from browser_harness import SCREENSHOTS, BuiltSite, OpenContext, assert_no_problems, four_pages

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

VARIANTS = {
    "light": {"color_scheme": "light"},
    "dark": {"color_scheme": "dark"},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 1,
        "color_scheme": "light",
    },
    "print": {"viewport": {"width": 1000, "height": 1400}, "color_scheme": "light"},
}

GRAPH_FRAME = """() => {
  const f = document.querySelector('figure[data-graph] .graph-scroll');
  if (!f) return null;
  const s = getComputedStyle(f), r = f.getBoundingClientRect();
  return { wide: f.scrollWidth > f.clientWidth + 1, scrolls: ['auto', 'scroll'].includes(s.overflowX),
           right: r.right, window: document.documentElement.clientWidth,
           toolbar: !!document.querySelector('.graph-toolbar') &&
                    document.querySelector('.graph-toolbar').getClientRects().length > 0 };
}"""

PRINTED = """() => {
  const shown = e => e.getClientRects().length > 0;
  const all = sel => [...document.querySelectorAll(sel)];
  return {
    screenOnly: ['.site-search', '.graph-toolbar', '.timeline-filters', '.version-select', '.skip-link']
      .filter(sel => all(sel).some(e => shown(e) && getComputedStyle(e).position !== 'absolute')),
    hiddenContent: all('li.event, .node-list > li, .edge-list > li, .versions-table tbody tr, '
                       + '[data-version-selector] li').filter(e => !shown(e)).length,
  };
}"""


def graph_problems(page: Page) -> list[str]:
    frame = page.evaluate(GRAPH_FRAME)
    if frame is None:
        return []
    problems = []
    if frame["right"] > frame["window"] + 1:
        problems.append("the graph's frame is wider than the window")
    if frame["wide"] and not (frame["scrolls"] and frame["toolbar"]):
        problems.append("the graph is wider than its frame and can be neither scrolled nor zoomed")
    return problems


def print_problems(page: Page) -> list[str]:
    facts = page.evaluate(PRINTED)
    problems = [f"{sel} is printed" for sel in facts["screenOnly"]]
    if facts["hiddenContent"]:
        problems.append(f"{facts['hiddenContent']} entries, nodes, edges or versions are not printed")
    return problems


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_screenshots_of_the_four_page_kinds(open_context: OpenContext, site: BuiltSite, variant: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    visit = open_context(site.file_base, **VARIANTS[variant])
    page = visit.page
    if variant == "print":
        page.emulate_media(media="print")
    problems = []
    for kind, path in four_pages(site.org).items():
        page.goto(site.file_base + path)
        problems += [f"{kind}, {variant}: {p}" for p in overflow_problems(page)]
        if variant == "print":
            problems += [f"{kind}, print: {p}" for p in print_problems(page)]
        else:
            problems += [f"{kind}, {variant}: {p}" for p in graph_problems(page)]
        page.screenshot(path=SCREENSHOTS / f"{kind}-{variant}.png", full_page=True)
    assert_no_problems(problems + visit.problems())


def test_screenshots_of_what_the_script_opens(open_context: OpenContext, site: BuiltSite) -> None:
    """The node details of a cluster beside the graph (below it on a phone) and the search results."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    pages = four_pages(site.org)
    problems = []
    for variant in ("light", "dark", "phone"):
        visit = open_context(site.file_base, **VARIANTS[variant])
        page = visit.page
        page.goto(site.file_base + pages["artifact"])
        page.locator("figure[data-graph] svg g.node.lineage-cluster a").first.click()
        problems += [f"details, {variant}: {p}" for p in overflow_problems(page) + graph_problems(page)]
        page.screenshot(path=SCREENSHOTS / f"artifact-details-{variant}.png")
        page.goto(site.file_base + pages["index"])
        page.locator("#site-search-input").fill("churn")
        results = page.locator("#site-search-results")
        box = results.bounding_box()
        width = page.evaluate("() => document.documentElement.clientWidth")
        if box is None or box["x"] < 0 or box["x"] + box["width"] > width + 1:
            problems.append(f"search, {variant}: the results {box} do not fit the {width}px window")
        page.screenshot(path=SCREENSHOTS / f"index-search-{variant}.png")
        problems += visit.problems()
    assert_no_problems(problems)
