"""What the browser tests share: where Chromium and axe-core are, building and serving sites, contexts.

Without Chromium, Playwright or axe-core the tests skip with the reason; with
``REPORTGEN_BROWSER_TESTS=required`` (as in CI) they fail instead.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest
from browser_checks import Recorder

from reportgen.build import BuildOptions, build
from reportgen.load import load_paths
from reportgen.model import ArtifactRef, Organisation
from reportgen.paths import artifact_page, collection_page, run_page
from reportgen.validate import validate

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "sample_manifests"
CHROMIUM = Path(os.environ.get("REPORTGEN_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
REQUIRED = os.environ.get("REPORTGEN_BROWSER_TESTS", "").strip().lower() == "required"
SCREENSHOTS = Path(os.environ.get("REPORTGEN_SCREENSHOTS") or REPO / "tests" / "browser" / "screenshots")
TIMEOUT_MS = 10_000
# In the acme samples a 9-run train sweep reads churn-split:v1, so its graph shows a cluster.
CLUSTERED = ArtifactRef("churn-split", 1)
COLLECTION = "model/churn-predictor"


def unavailable(reason: str) -> NoReturn:
    """Skip the test, or fail it when the browser tests are required (REPORTGEN_BROWSER_TESTS=required)."""
    if REQUIRED:
        pytest.fail(f"{reason} (REPORTGEN_BROWSER_TESTS=required)", pytrace=False)
    pytest.skip(reason)


def assert_no_problems(problems: list[str]) -> None:
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:30])


# ------------------------------------------------------------------------------------ sites


def four_pages(org: Organisation) -> dict[str, str]:
    """The index, a collection, an artifact version and a run: each with a graph holding a cluster or more."""
    c = org.collections[COLLECTION].collection
    return {
        "index": "index.html",
        "collection": collection_page(c.registry, c.name),
        "artifact": artifact_page(CLUSTERED),
        "run": run_page(org.runs_logging(CLUSTERED)[0].id),
    }


@dataclass(frozen=True)
class BuiltSite:
    """A site built into ``root``, with the organisation its manifests describe (loaded on its own)."""

    root: Path
    org: Organisation

    @property
    def file_base(self) -> str:
        return self.root.as_uri() + "/"

    def pages(self) -> int:
        return sum(1 for _ in self.root.rglob("*.html"))


def build_site(paths: list[Path], output: Path, **options: Any) -> BuiltSite:
    """Build a site as `reportgen build` does; load the manifests again for the model to compare with."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("SOURCE_DATE_EPOCH", raising=False)
        result = build(paths, BuildOptions(output=output, **options))
    assert result.written, [str(d) for d in result.validation.diagnostics]
    org = validate(load_paths(paths)).organisation
    assert org is not None
    return BuiltSite(output, org)


@contextlib.contextmanager
def serve(root: Path) -> Iterator[str]:
    """Serve ``root`` with `python -m http.server` on 127.0.0.1 and a free port; yield its base URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "--directory", str(root), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"http.server did not start on port {port}") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.terminate()
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# ------------------------------------------------------------------------------------ contexts


@dataclass
class Visit:
    """A browser context with one page, recording every request, console message and script error."""

    context: BrowserContext
    page: Page
    recorder: Recorder

    def problems(self) -> list[str]:
        return self.recorder.problems()


OpenContext = Callable[..., Visit]
