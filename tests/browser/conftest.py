"""Fixtures of the browser tests: Debian's Chromium driven by Playwright, the sample site built once and
served from file:// and from a local http.server, axe-core from node_modules, recording contexts.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from browser_checks import Recorder
from browser_harness import (
    AXE,
    CHROMIUM,
    CHROMIUM_ARGS,
    REPO,
    SAMPLES,
    TIMEOUT_MS,
    BuiltSite,
    OpenContext,
    Visit,
    build_site,
    serve,
    unavailable,
)

import reportgen.site

if TYPE_CHECKING:
    from pathlib import Path

    from playwright.sync_api import Browser


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives a real browser (Chromium through Playwright)")


# ------------------------------------------------------------------------------------ browser


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("Playwright for Python is not installed (pip install -e '.[test]')")
    if not CHROMIUM.is_file():
        unavailable(f"Chromium is not at {CHROMIUM} (apt-get install chromium)")
    manager = sync_playwright().start()
    try:
        launched = manager.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    except Exception as error:
        manager.stop()
        unavailable(f"Chromium at {CHROMIUM} does not start: {str(error).splitlines()[0]}")
    try:
        yield launched
    finally:
        launched.close()
        manager.stop()


@pytest.fixture(scope="session")
def axe_script() -> Path:
    if not AXE.is_file():
        unavailable(f"axe-core is not installed: run `npm ci` in {REPO} (looked for {AXE})")
    return AXE


# ------------------------------------------------------------------------------------ sites


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> BuiltSite:
    """The site of sample_manifests/, built once for the session."""
    return build_site([SAMPLES], tmp_path_factory.mktemp("browser") / "site")


@pytest.fixture(scope="session")
def paged_site(tmp_path_factory: pytest.TempPathFactory) -> BuiltSite:
    """The sample site with a short limit for one page of audit log: a page a month."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(reportgen.site, "AUDIT_PAGE_LIMIT", 20)
        return build_site([SAMPLES], tmp_path_factory.mktemp("paged") / "site")


@pytest.fixture(scope="session")
def windowed_site(tmp_path_factory: pytest.TempPathFactory) -> BuiltSite:
    """The sample site with blocks of two versions: a version page of a longer collection lists its block."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(reportgen.site, "VERSION_WINDOW", 2)
        return build_site([SAMPLES], tmp_path_factory.mktemp("windowed") / "site")


@pytest.fixture(scope="session")
def http_base(site: BuiltSite) -> Iterator[str]:
    with serve(site.root) as base:
        yield base


@pytest.fixture(params=["file", "http"])
def base(request: pytest.FixtureRequest, site: BuiltSite) -> str:
    """The sample site's base URL: opened from the file system, then from the local server."""
    if request.param == "file":
        return site.file_base
    return str(request.getfixturevalue("http_base"))


# ------------------------------------------------------------------------------------ contexts


@pytest.fixture
def open_context(browser: Browser) -> Iterator[OpenContext]:
    """Return a function opening a recorded context: ``open_context(base, **context_options)``."""
    opened: list[Visit] = []

    def new(allowed: str | tuple[str, ...], **options: Any) -> Visit:
        options.setdefault("viewport", {"width": 1280, "height": 900})
        context = browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        recorder = Recorder((allowed,) if isinstance(allowed, str) else allowed).attach(context)
        visit = Visit(context, context.new_page(), recorder)
        opened.append(visit)
        return visit

    yield new
    for visit in opened:
        visit.context.close()
