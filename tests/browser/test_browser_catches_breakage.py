"""The browser checks catch breakage (issue 5, "Done means"): build the zoo samples with a template override
(`reportgen build --templates DIR`) that breaks one thing on purpose, and see the same check functions the
suite runs on the good site report it.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from browser_checks import (
    axe_problems,
    crawl_problems,
    filter_problems,
    search_problems,
    version_selector_problems,
)
from browser_harness import SAMPLES, BuiltSite, OpenContext, build_site

from reportgen.paths import collection_page, collection_version_page
from reportgen.templating import builtin_templates

pytestmark = pytest.mark.browser

ZOO = SAMPLES / "zoo"
SPLITS = "dataset/zoo-splits"


def broken(tmp_path: Path, name: str, old: str, new: str) -> BuiltSite:
    """Build the zoo samples with the built-in template ``name`` changed from ``old`` to ``new``."""
    text = (builtin_templates() / name).read_text(encoding="utf-8")
    assert old in text, f"{name} no longer holds {old!r}: update this test"
    override = tmp_path / "templates" / name
    override.parent.mkdir(parents=True, exist_ok=True)
    override.write_text(text.replace(old, new), encoding="utf-8")
    return build_site([ZOO], tmp_path / "site", templates=tmp_path / "templates")


def test_a_filter_that_does_nothing_is_caught(open_context: OpenContext, tmp_path: Path) -> None:
    site = broken(tmp_path, "assets/site.js", "li.hidden = !ok;", "li.hidden = false;")
    events = site.org.collections[SPLITS].events
    visit = open_context(site.file_base)
    visit.page.goto(site.file_base + collection_page("dataset", "zoo-splits"))
    problems = filter_problems(
        visit.page, kinds=Counter(e.kind.value for e in events), users=Counter(e.user for e in events)
    )
    assert any("entries shown" in p for p in problems), problems


def test_a_broken_link_is_caught(open_context: OpenContext, tmp_path: Path) -> None:
    site = broken(
        tmp_path,
        "base.html",
        '<p class="footer-nav"><a href="{{ page.root }}index.html">',
        '<p class="footer-nav"><a href="{{ page.root }}home.html">',
    )
    visit = open_context(site.file_base)
    problems, _ = crawl_problems(visit.context, site.file_base + "index.html", site.file_base)
    assert any("home.html" in p and "does not open" in p for p in problems), problems


def test_a_broken_fragment_link_is_caught(open_context: OpenContext, tmp_path: Path) -> None:
    site = broken(
        tmp_path,
        "collection.html",
        '{{ page.collection_href }}#history-h"',
        '{{ page.collection_href }}#history"',
    )
    visit = open_context(site.file_base)
    problems, _ = crawl_problems(visit.context, site.file_base + "index.html", site.file_base)
    assert any("no element #history " in p for p in problems), problems


def test_a_script_error_is_caught(open_context: OpenContext, tmp_path: Path) -> None:
    site = broken(tmp_path, "assets/site.js", '"use strict";', '"use strict"; var broken = ;')
    visit = open_context(site.file_base)
    visit.page.goto(site.file_base + "index.html")
    problems = search_problems(visit.page, "zoo-splits", collection_page("dataset", "zoo-splits"))
    assert problems == ["search for 'zoo-splits': the search box is not shown"]
    assert any(p.startswith("script error: ") for p in visit.problems()), visit.problems()


def test_a_version_selector_that_does_not_navigate_is_caught(
    open_context: OpenContext, tmp_path: Path
) -> None:
    site = broken(tmp_path, "assets/site.js", "window.location.href = select.value;", "select.blur();")
    history = site.org.collections[SPLITS]
    latest = history.current.holder("latest")
    assert latest is not None
    visit = open_context(site.file_base)
    visit.page.goto(site.file_base + collection_page("dataset", "zoo-splits"))
    problems = version_selector_problems(
        visit.page,
        choose="v0",
        expected_path=collection_version_page("dataset", "zoo-splits", 0),
        expected_focus=str(history.versions[0].artifact),
        start_focus=str(history.versions[latest].artifact),
    )
    assert problems == ["choosing v0 does not open another page"], problems


def test_a_missing_label_is_caught_by_axe(
    open_context: OpenContext, tmp_path: Path, axe_script: Path
) -> None:
    site = broken(
        tmp_path, "base.html", '<label class="vh" for="site-search-input">Search the site</label>', ""
    )
    visit = open_context(site.file_base, bypass_csp=True)
    visit.page.goto(site.file_base + "index.html")
    problems = axe_problems(visit.page, axe_script)
    assert any(" label " in p for p in problems), problems


def test_a_request_leaving_the_site_is_caught(open_context: OpenContext, tmp_path: Path) -> None:
    # the Content Security Policy would block it (and that shows as a console error): take it out as well
    text = (builtin_templates() / "base.html").read_text(encoding="utf-8")
    csp = next(line for line in text.splitlines() if "Content-Security-Policy" in line)
    site = broken(
        tmp_path, "base.html", csp, '<link rel="stylesheet" href="http://127.0.0.1:9/cdn/site.css">'
    )
    visit = open_context(site.file_base)
    visit.page.goto(site.file_base + "index.html")
    problems = visit.problems()
    assert "request leaves the site: http://127.0.0.1:9/cdn/site.css" in problems, problems
