"""End-to-end tests of the static site: `reportgen build` on the sample manifests and on hostile ones.

Every page is parsed with the standard library's html.parser; every link, script and resource is
followed; the Action History is compared with the model; builds are compared byte for byte; and the
atomic writer is tested against failures, a SIGKILL and a concurrent build.
"""

from __future__ import annotations

import csv
import functools
import gc
import hashlib
import io
import json
import os
import posixpath
import re
import shutil
import signal
import subprocess
import sys
import time
import unicodedata
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

import reportgen.build as build_module
import reportgen.emit as emit_module
import reportgen.site as site_module
from reportgen.build import BuildOptions, BuildResult, build
from reportgen.model import ArtifactRef, Organisation
from reportgen.paths import (
    artifact_page,
    audit_month_page,
    collection_page,
    collection_version_page,
    run_page,
)
from reportgen.spec import format_utc
from reportgen.timeline import event_record, newest_first
from reportgen.write import MARKER, SUMS, WriteError

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "sample_manifests"
ZOO = SAMPLES / "zoo"
GENERATOR = REPO / "benchmarks" / "generate.py"
XLINK = "{http://www.w3.org/1999/xlink}href"
BASE_URL = "https://example.org/reports"
EPOCH = 1700000000  # 2023-11-14T22:13:20Z
VOID = frozenset(  # elements without an end tag
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    ]
)
CSS_NETWORK = re.compile(r"@import|url\(\s*['\"]?\s*(?:[a-z][a-z0-9+.-]*:|//)", re.IGNORECASE)


# ------------------------------------------------------------------------------------ parsing pages


@dataclass(eq=False)
class Element:
    """A parsed element: its tag, attributes (all of them, in order), children and parent."""

    tag: str
    attr_list: list[tuple[str, str]]
    parent: Element | None = None
    children: list[Element | str] = field(default_factory=list)

    @property
    def attrs(self) -> dict[str, str]:
        return dict(self.attr_list)

    def iter(self, tag: str | None = None) -> Iterator[Element]:
        if tag is None or self.tag == tag:
            yield self
        for child in self.children:
            if isinstance(child, Element):
                yield from child.iter(tag)

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def has_class(self, name: str) -> bool:
        return name in self.attrs.get("class", "").split()


class TreeBuilder(HTMLParser):
    """Build a tree of Elements; tolerant of stray end tags, void elements and self-closing SVG."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", [])
        self.current = self.root

    def _element(self, tag: str, attrs: list[tuple[str, str | None]]) -> Element:
        element = Element(tag, [(k, v or "") for k, v in attrs], self.current)
        self.current.children.append(element)
        return element

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = self._element(tag, attrs)
        if tag not in VOID:
            self.current = element

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._element(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        node: Element | None = self.current
        while node is not None and node is not self.root and node.tag != tag:
            node = node.parent
        if node is not None and node is not self.root and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data: str) -> None:
        self.current.children.append(data)


def parse_html(text: str) -> Element:
    builder = TreeBuilder()
    builder.feed(text)
    builder.close()
    return builder.root


@dataclass
class Site:
    """A built site on disk, with its pages parsed once."""

    root: Path
    result: BuildResult | None = None
    _docs: dict[str, Element] = field(default_factory=dict)

    @property
    def org(self) -> Organisation:
        assert self.result is not None and self.result.validation.organisation is not None
        return self.result.validation.organisation

    def files(self) -> list[str]:
        return sorted(p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.is_file())

    def pages(self) -> list[str]:
        return [f for f in self.files() if f.endswith(".html")]

    def svgs(self) -> list[str]:
        return [f for f in self.files() if f.endswith(".svg")]

    def read(self, rel: str) -> bytes:
        return (self.root / rel).read_bytes()

    def doc(self, rel: str) -> Element:
        if rel not in self._docs:
            self._docs[rel] = parse_html(self.read(rel).decode("utf-8"))
        return self._docs[rel]

    @functools.cached_property
    def links(self) -> LinkReport:
        return check_links(self)

    def ids(self, rel: str) -> set[str]:
        doc = self.doc(rel)
        return {e.attrs["id"] for e in doc.iter() if "id" in e.attrs} | {
            e.attrs["name"] for e in doc.iter("a") if "name" in e.attrs
        }


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def leftovers(target: Path) -> list[str]:
    """Return staging or set-aside folders a build left beside ``target``."""
    return sorted(
        p.name
        for p in target.parent.iterdir()
        if p.name.startswith((f".{target.name}.build-", f".{target.name}.old-"))
    )


# ------------------------------------------------------------------------------------ link checking


@dataclass
class LinkReport:
    problems: list[str] = field(default_factory=list)
    cross_fragments: list[tuple[str, str, str]] = field(default_factory=list)  # (from, page, fragment)
    svg_file_fragments: list[tuple[str, str]] = field(default_factory=list)  # (svg, fragment)
    external: list[str] = field(default_factory=list)


def resolve(site: Site, origin: str, value: str, report: LinkReport) -> str | None:
    """Resolve a relative reference from ``origin``; record a problem unless it is a file in the site."""
    parts = urlsplit(value)
    path = unquote(parts.path)
    if parts.scheme or parts.netloc or value.startswith("//") or not path:
        report.problems.append(f"{origin}: not a relative file link: {value!r}")
        return None
    target = posixpath.normpath(posixpath.join(posixpath.dirname(origin), path))
    if target == ".." or target.startswith("../") or posixpath.isabs(target):
        report.problems.append(f"{origin}: link leaves the site: {value!r}")
        return None
    if not (site.root / target).is_file():
        report.problems.append(f"{origin}: link to a missing file: {value!r} ({target})")
        return None
    return target


def check_links(site: Site) -> LinkReport:
    """Follow every href, src and xlink:href of every page and every SVG file."""
    report = LinkReport()
    for page in site.pages():
        ids = site.ids(page)
        for element in site.doc(page).iter():
            for name, value in element.attr_list:
                if name not in {"href", "src", "xlink:href"}:
                    continue
                scheme = urlsplit(value).scheme.lower()
                if value.startswith("#"):
                    fragment = unquote(value[1:])
                    if fragment and fragment not in ids:
                        report.problems.append(f"{page}: no element with id {fragment!r} for {value!r}")
                elif scheme in {"http", "https"}:
                    canonical = element.tag == "link" and element.attrs.get("rel") == "canonical"
                    if name != "href" or (element.tag != "a" and not canonical):
                        report.problems.append(f"{page}: network resource <{element.tag} {name}={value!r}>")
                    if not urlsplit(value).netloc:
                        report.problems.append(f"{page}: external link without a host: {value!r}")
                    report.external.append(value)
                else:
                    target = resolve(site, page, value, report)
                    fragment = unquote(urlsplit(value).fragment)
                    if target and fragment and target.endswith(".html"):
                        report.cross_fragments.append((page, target, fragment))
    for svg in site.svgs():
        tree = ET.parse(site.root / svg)
        for element in tree.iter():
            for name in (XLINK, "href"):
                value = element.get(name)
                if value is None:
                    continue
                if value.startswith("#"):
                    report.svg_file_fragments.append((svg, value[1:]))
                    continue
                if urlsplit(value).scheme.lower() in {"http", "https"}:
                    report.external.append(value)
                    continue
                resolve(site, svg, value, report)
    return report


def assert_no_problems(problems: list[str]) -> None:
    assert not problems, f"{len(problems)} problems, e.g.:\n" + "\n".join(problems[:25])


# ------------------------------------------------------------------------------------ building


def api_build(paths: list[Path], output: Path, **options: Any) -> BuildResult:
    """Build in this process with no SOURCE_DATE_EPOCH unless the test sets one."""
    return build(paths, BuildOptions(output=output, **options))


def reportgen_command() -> list[str]:
    script = Path(sys.executable).with_name("reportgen")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "reportgen"]


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    env["CI"] = "1"
    env.update(extra)
    return env


def run_cli(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*reportgen_command(), *map(str, args)],
        capture_output=True,
        text=True,
        env=env or cli_env(),
        cwd=REPO,
        timeout=300,
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    """The sample manifests built once, in this process."""
    out = tmp_path_factory.mktemp("api") / "site"
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("SOURCE_DATE_EPOCH", raising=False)
        result = api_build([SAMPLES], out)
    assert result.written, result.validation.diagnostics
    return Site(out, result)


@pytest.fixture(scope="module")
def cli_site(tmp_path_factory: pytest.TempPathFactory, site: Site) -> Site:
    """The sample manifests built by the command line, with another hash seed."""
    out = tmp_path_factory.mktemp("cli") / "site"
    done = run_cli("build", "sample_manifests", "-o", out, env=cli_env(PYTHONHASHSEED="1"))
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(
        r"Built \d+ pages and \d+ graphs(, \d+ reused)? \(\d+ files\) "
        r"in [\d.]+s on \d+ process(es)? into .+\n",
        done.stdout,
    )
    return Site(out, site.result)


@pytest.fixture(scope="module")
def base_site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    out = tmp_path_factory.mktemp("base") / "site"
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("SOURCE_DATE_EPOCH", raising=False)
        result = api_build([SAMPLES], out, base_url=BASE_URL)
    assert result.written
    return Site(out, result)


@pytest.fixture(scope="module")
def paged_site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    """The sample manifests built with a short limit for one page of audit log: a page a month."""
    out = tmp_path_factory.mktemp("paged") / "site"
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("SOURCE_DATE_EPOCH", raising=False)  # as the one-page site, to compare them
        mp.setattr(site_module, "AUDIT_PAGE_LIMIT", 20)
        result = api_build([SAMPLES], out)
    assert result.written
    return Site(out, result)


@pytest.fixture(scope="module")
def windowed_site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    """The sample manifests built with blocks of two versions: the version pages of a collection with
    more list only the block that holds them (as those of a collection of over 50 versions do)."""
    out = tmp_path_factory.mktemp("windowed") / "site"
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("SOURCE_DATE_EPOCH", raising=False)  # as the site, to compare them
        mp.setattr(site_module, "VERSION_WINDOW", 2)
        result = api_build([SAMPLES], out)
    assert result.written
    return Site(out, result)


# ------------------------------------------------------------------------------------ 1. end to end


def test_the_build_reports_what_it_wrote(site: Site) -> None:
    result = site.result
    assert result is not None and result.written and not result.graph_errors
    assert result.pages == len(site.pages())
    assert result.files == len(site.files())
    assert result.graphs == len(site.svgs()) == len(site.org.artifacts) + len(site.org.runs)
    # both sample sets are in it
    assert {"model/zoo-classifier", "dataset/zoo-splits", "model/churn-predictor"} <= set(
        site.org.collections
    )
    expected = {"index.html", "audit.html", "report.json", "assets/search-index.js", MARKER, SUMS}
    assert expected <= set(site.files())
    for history in site.org.collections.values():
        c = history.collection
        assert collection_page(c.registry, c.name) in site.files()
        for v in history.versions:
            assert collection_version_page(c.registry, c.name, v.version) in site.files()
    for ref in site.org.artifacts:
        assert artifact_page(ref) in site.files()
        assert artifact_page(ref).removesuffix(".html") + ".svg" in site.files()
    for run_id in site.org.runs:
        assert run_page(run_id) in site.files()


@pytest.mark.parametrize("which", ["site", "base_site", "paged_site", "windowed_site"])
def test_every_link_resolves_to_a_file_in_the_site(which: str, request: pytest.FixtureRequest) -> None:
    built: Site = request.getfixturevalue(which)
    report = built.links
    assert_no_problems(report.problems)
    assert report.external  # the manifests' W&B links are there, as external links
    assert all(urlsplit(u).scheme in {"http", "https"} for u in report.external)


def test_links_to_other_pages_point_at_existing_fragments(site: Site, hostile: tuple[Site, Path]) -> None:
    for built in (site, hostile[0]):
        report = built.links
        assert report.cross_fragments  # e.g. the breadcrumbs' index.html#registry-…
        missing = sorted({(t, f) for _, t, f in report.cross_fragments if f not in built.ids(t)})
        assert not missing, missing


def test_fragment_links_in_svg_files_resolve(site: Site) -> None:
    report = site.links
    dead = []
    for svg, fragment in report.svg_file_fragments:
        ids = {e.get("id") for e in ET.parse(site.root / svg).iter()}
        if fragment not in ids:
            dead.append((svg, fragment))
    assert not dead, dead[:10]


def test_inline_svgs_match_the_svg_files(site: Site) -> None:
    """The graph on a page is the same drawing as the file next to it, with the same nodes and links."""
    checked = 0
    for ref in site.org.artifacts:
        page = artifact_page(ref)
        (svg,) = list(site.doc(page).iter("svg"))
        page_name = page.rsplit("/", 1)[-1]
        inline = sorted(  # in the file, an anchor on the page is reached through the page
            (page_name + href if href.startswith("#") else href)
            for href in (e.attrs["xlink:href"] for e in svg.iter("a") if "xlink:href" in e.attrs)
        )
        file_svg = page.removesuffix(".html") + ".svg"
        tree = ET.parse(site.root / file_svg)
        in_file = sorted(e.get(XLINK) or "" for e in tree.iter() if e.get(XLINK) is not None)
        assert inline == in_file, page  # both are relative to the same folder
        checked += 1
    assert checked == len(site.org.artifacts)


def timeline_entries(site: Site, page: str) -> list[Element]:
    return [e for e in site.doc(page).iter("li") if "data-kind" in e.attrs]


def entry_key(entry: Element) -> tuple[str, str, str]:
    when = next(t.attrs["datetime"] for t in entry.iter("time") if "datetime" in t.attrs)
    return entry.attrs["data-kind"], entry.attrs["data-user"], when


def test_every_action_is_on_its_collection_timeline(site: Site) -> None:
    org = site.org
    assert org.collections
    for history in org.collections.values():
        c = history.collection
        # the collection page shows every action; each version page the actions on that version
        pages = [(collection_page(c.registry, c.name), history.events)] + [
            (
                collection_version_page(c.registry, c.name, v.version),
                [e for e in history.events if v.version in (e.version, e.previous_version)],
            )
            for v in history.versions
        ]
        for page, events in pages:
            expected = Counter((e.kind.value, e.user, format_utc(e.at)) for e in events)
            entries = timeline_entries(site, page)
            assert len(entries) == len(events), page
            assert Counter(entry_key(e) for e in entries) == expected, page
            times = [entry_key(e)[2] for e in entries]
            assert times == sorted(times, reverse=True), f"{page}: not newest first"
            for event in events:  # each entry shows its version and reason
                key = (event.kind.value, event.user, format_utc(event.at))
                texts = [e.text() for e in entries if entry_key(e) == key]
                assert any(f"v{event.version}" in t and event.reason in t for t in texts), (page, key)
    # the organisation-wide audit page shows them all
    audit = timeline_entries(site, "audit.html")
    assert Counter(entry_key(e) for e in audit) == Counter(
        (e.kind.value, e.user, format_utc(e.at)) for e in org.events()
    )


def test_a_long_audit_log_has_a_page_a_month_and_every_action_on_one(site: Site, paged_site: Site) -> None:
    org = paged_site.org
    by_month: dict[str, list[tuple[str, str, str]]] = {}
    for e in newest_first(org.events()):
        by_month.setdefault(format_utc(e.at)[:7], []).append((e.kind.value, e.user, format_utc(e.at)))
    months = sorted(by_month, reverse=True)
    assert len(months) > 2
    # audit.html lists the months, newest first, with their counts, and has no timeline of its own
    assert timeline_entries(paged_site, "audit.html") == []
    table = next(t for t in paged_site.doc("audit.html").iter("table") if t.has_class("months"))
    rows = [[c.text().strip() for c in r.iter() if c.tag in ("th", "td")] for r in table.iter("tr")][1:]
    assert [r[0] for r in rows] == [site_module.month_name(m) for m in months]
    assert [int(r[1]) for r in rows] == [len(by_month[m]) for m in months]
    assert all(int(r[1]) == sum(int(n) for n in r[2:7]) for r in rows)  # the kinds add up
    links = [a.attrs["href"] for a in table.iter("a")]
    assert links == [audit_month_page(m) for m in months]
    seen: list[tuple[str, str, str]] = []
    for n, month in enumerate(months):
        page = audit_month_page(month)
        entries = [entry_key(e) for e in timeline_entries(paged_site, page)]
        assert entries == by_month[month], month  # that month's actions, newest first
        seen += entries
        nav = {a.text().strip(): a.attrs["href"] for a in paged_site.doc(page).iter("a")}
        assert nav["All months"] == "../audit.html"
        if n > 0:
            assert nav[f"Newer: {site_module.month_name(months[n - 1])}"] == "../" + audit_month_page(
                months[n - 1]
            )
        if n + 1 < len(months):
            assert nav[f"Older: {site_module.month_name(months[n + 1])}"] == "../" + audit_month_page(
                months[n + 1]
            )
        assert "Download the whole log:" in paged_site.read(page).decode()
    assert seen == [(e.kind.value, e.user, format_utc(e.at)) for e in newest_first(org.events())]
    # the downloads and every other page are the one-page site's
    same = [f for f in site.files() if not f.startswith("audit") and f != "SHA256SUMS"]
    assert same and all(site.read(f) == paged_site.read(f) for f in same)
    for name in ("audit.csv", "audit.json"):
        assert site.read(name) == paged_site.read(name)


def test_version_pages_of_a_long_collection_list_their_block(site: Site, windowed_site: Site) -> None:
    """With blocks of two versions, each version page of a longer collection lists its block in its
    selector and versions table, newest first, and leads to the blocks around it and to every version;
    every other page is the site's."""
    windowed = set()
    for history in windowed_site.org.collections.values():
        c = history.collection
        total = len(history.versions)
        if total <= 2:
            continue
        for v in history.versions:
            page = collection_version_page(c.registry, c.name, v.version)
            windowed.add(page)
            doc = windowed_site.doc(page)
            first = v.version - v.version % 2
            last = min(first + 2, total) - 1
            block = [f"v{k}" for k in range(last, first - 1, -1)]
            selector = next(n for n in doc.iter("nav") if "data-version-selector" in n.attrs)
            assert [a.text().strip().removesuffix(" (unlinked)") for a in selector.iter("a")] == block
            table = next(t for t in doc.iter("table") if t.has_class("versions-table"))
            rows = [r for r in table.iter("tr") if r.parent is not None and r.parent.tag == "tbody"]
            assert [next(r.iter("a")).text() for r in rows] == block
            assert next(table.iter("caption")).text() == f"Versions of {c.name}: v{first}–v{last}"
            navs = [n for n in doc.iter("nav") if n.has_class("version-nav")]
            assert [n.attrs["aria-label"] for n in navs] == [
                f"Blocks of versions of {c.name}",
                f"More versions of {c.name}",
            ]
            expected = {"All versions": f"../../../{collection_page(c.registry, c.name)}#versions-h"}
            if last < total - 1:
                newer = collection_version_page(c.registry, c.name, last + 1)
                expected[f"Newer: v{last + 1} and later"] = f"../../../{newer}"
            if first > 0:
                older = collection_version_page(c.registry, c.name, first - 1)
                expected[f"Older: v{first - 2}–v{first - 1}"] = f"../../../{older}"
            for nav in navs:
                assert {a.text(): a.attrs["href"] for a in nav.iter("a")} == expected
                assert next(nav.iter("p")).text() == f"Versions v{first}–v{last} are listed on this page."
    assert len(windowed) > 10
    same = [f for f in site.files() if f not in windowed and f != "SHA256SUMS"]
    assert set(same) | windowed | {"SHA256SUMS"} == set(windowed_site.files())
    assert all(site.read(f) == windowed_site.read(f) for f in same)


def test_a_collection_s_pages_grow_linearly_with_its_versions(tmp_path: Path) -> None:
    """A collection's version pages list a block of versions, not all of them: twice the versions make
    about twice the bytes, where listing every version on every page made four times as many."""
    sizes = []
    for versions in (40, 80):
        manifest = {
            "registries": [{"name": "model"}],
            "collections": [{"registry": "model", "name": "nightly", "type": "model"}],
            "artifacts": [
                {"name": "nightly", "version": f"v{n}", "type": "model", "digest": f"sha256:{n:064x}"}
                for n in range(versions)
            ],
            "actions": [
                {
                    "at": f"2025-{1 + n // 28:02d}-{1 + n % 28:02d}T00:00:00Z",
                    "user": "ci",
                    "action": "link",
                    "collection": "model/nightly",
                    "artifact": f"nightly:v{n}",
                }
                for n in range(versions)
            ],
        }
        source = tmp_path / f"m{versions}"
        source.mkdir()
        (source / "m.yaml").write_text(json.dumps(manifest), encoding="utf-8")
        out = tmp_path / f"site{versions}"
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(site_module, "VERSION_WINDOW", 10)
            assert api_build([source], out).written
        pages = list((out / "collections" / "model" / "nightly").glob("v*.html"))
        assert len(pages) == versions
        sizes.append(sum(p.stat().st_size for p in pages))
    assert 1.9 < sizes[1] / sizes[0] < 2.2, sizes


def _graph_summaries(built: Site) -> list[tuple[str, int, int]]:
    """Return each graph's text alternative: its summary, and how many nodes and edges it lists."""
    found = []
    for page in built.pages():
        for details in built.doc(page).iter("details"):
            if details.has_class("graph-text"):
                lists = {u.attrs.get("class"): u for u in details.iter("ul")}
                nodes = sum(1 for li in lists["node-list"].iter("li") if li.has_class("node-info"))
                edges = sum(1 for _ in lists["edge-list"].iter("li")) if "edge-list" in lists else 0
                found.append((next(details.iter("summary")).text(), nodes, edges))
    return found


def test_a_graph_s_text_alternative_counts_its_nodes_and_edges(site: Site, tmp_path: Path) -> None:
    lone = tmp_path / "lone"
    lone.mkdir()
    (lone / "m.yaml").write_text("artifacts: [{name: notes, version: v0, type: text}]\n", encoding="utf-8")
    assert api_build([lone], tmp_path / "site").written
    summaries = _graph_summaries(site) + _graph_summaries(Site(tmp_path / "site"))
    assert ("Nodes and edges of the graph (1 node, 0 edges)", 1, 0) in summaries
    assert len(summaries) > 50
    for summary, nodes, edges in summaries:
        words = f"{nodes} node{'' if nodes == 1 else 's'}, {edges} edge{'' if edges == 1 else 's'}"
        assert summary == f"Nodes and edges of the graph ({words})"


def test_every_action_is_in_its_collection_downloads(site: Site) -> None:
    for history in site.org.collections.values():
        c = history.collection
        stem = collection_page(c.registry, c.name).removesuffix(".html")
        records = json.loads(site.read(f"{stem}.history.json"))
        assert records == [event_record(e) for e in newest_first(history.events)]
        rows = list(csv.DictReader(io.StringIO(site.read(f"{stem}.history.csv").decode(), newline="")))
        assert len(rows) == len(history.events)
        assert [(r["at"], r["action"], r["version"], r["user"]) for r in rows] == [
            (r["at"], r["action"], r["version"], r["user"]) for r in records
        ]
        # the page links both downloads
        page = collection_page(c.registry, c.name)
        hrefs = {a.attrs.get("href") for a in site.doc(page).iter("a")}
        assert {f"../../{stem}.history.csv", f"../../{stem}.history.json"} <= hrefs
    audit = json.loads(site.read("audit.json"))
    assert len(audit) == sum(len(h.events) for h in site.org.collections.values())


def test_zoo_collection_page_shows_the_seed_lineage_and_action_history(site: Site) -> None:
    page = collection_page("model", "zoo-classifier")
    doc = site.doc(page)
    (svg,) = list(doc.iter("svg"))
    drawn = svg.text() + " ".join(v for e in svg.iter() for _, v in e.attr_list)
    names = ["zoo-ylbchv20:v0", "rural-feather-20", "split_zoo_dataset:v4", "northern-lake-21"]
    for name in names:
        assert name in drawn, name
    # and each is a link to its page
    by_name = {r.name: r.id for r in site.org.runs.values()}
    targets = {
        posixpath.normpath(posixpath.join(posixpath.dirname(page), e.attrs["xlink:href"]))
        for e in svg.iter("a")
        if "xlink:href" in e.attrs
    }
    assert {
        artifact_page(ArtifactRef("zoo-ylbchv20", 0)),
        artifact_page(ArtifactRef("split_zoo_dataset", 4)),
        run_page(by_name["rural-feather-20"]),
        run_page(by_name["northern-lake-21"]),
    } <= targets
    entries = timeline_entries(site, page)
    assert len(entries) == len(site.org.collections["model/zoo-classifier"].events) == 5
    kinds = [e.attrs["data-kind"] for e in entries]
    assert kinds == ["alias_removed", "alias_added", "alias_added", "alias_added", "linked"]


def test_builds_are_byte_identical(site: Site, cli_site: Site, tmp_path: Path) -> None:
    """In process, by the command line, with other hash seeds: the very same bytes."""
    reference = snapshot(site.root)
    assert snapshot(cli_site.root) == reference
    out = tmp_path / "again"
    done = run_cli("-q", "build", "sample_manifests", "-o", out, env=cli_env(PYTHONHASHSEED="4242"))
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""  # -q
    again = snapshot(out)
    assert again.keys() == reference.keys()
    differing = [k for k in reference if reference[k] != again[k]]
    assert not differing, differing[:10]


def test_sha256sums_lists_and_verifies_every_file(site: Site) -> None:
    sums = site.read(SUMS).decode()
    listed: dict[str, str] = {}
    for line in sums.splitlines():
        digest, name = line.split("  ", 1)
        assert re.fullmatch(r"[0-9a-f]{64}", digest)
        listed[name] = digest
    assert set(listed) == set(site.files()) - {SUMS}
    for name, digest in listed.items():
        assert hashlib.sha256(site.read(name)).hexdigest() == digest, name
    if shutil.which("sha256sum") is None:
        pytest.skip("sha256sum is not installed")
    done = subprocess.run(
        ["sha256sum", "-c", "--strict", SUMS], cwd=site.root, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count(": OK") == len(listed)


def test_no_build_time_unless_source_date_epoch(site: Site) -> None:
    now = datetime.now(UTC)
    sources = b"".join(p.read_bytes() for p in SAMPLES.rglob("*.yaml"))
    stamps = {now.strftime(f) for f in ("%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%B %d, %Y", "%d %B %Y")}
    stamps = {s for s in stamps if s.encode() not in sources}
    assert stamps
    for name in site.files():
        data = site.read(name)
        for stamp in stamps:
            assert stamp.encode() not in data, (name, stamp)
    for page in site.pages():
        (footer,) = [e for e in site.doc(page).iter("footer")]
        assert not list(footer.iter("time")), page
        assert "built" not in footer.text()


def test_source_date_epoch_puts_that_date_in_the_footer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, site: Site
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(EPOCH))
    out = tmp_path / "site"
    assert api_build([SAMPLES], out).written
    dated = Site(out)
    stamp = "2023-11-14T22:13:20Z"
    assert format_utc(datetime.fromtimestamp(EPOCH, UTC)) == stamp
    for page in dated.pages():
        (footer,) = list(dated.doc(page).iter("footer"))
        assert [t.attrs.get("datetime") for t in footer.iter("time")] == [stamp], page
        assert "2023-11-14" in footer.text()
    # only the pages change; every other file is as without the variable
    plain, with_date = snapshot(site.root), snapshot(out)
    changed = {k for k in plain if plain[k] != with_date[k]}
    assert changed and all(k.endswith(".html") or k == SUMS for k in changed)


def test_base_url_gives_a_sitemap_and_canonical_links(base_site: Site) -> None:
    pages = base_site.pages()
    tree = ET.parse(base_site.root / "sitemap.xml")
    ns = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
    locs = [e.text for e in tree.iter(f"{ns}loc")]
    assert sorted(locs) == sorted(f"{BASE_URL}/{p}" for p in pages)
    assert len(set(locs)) == len(locs)
    for page in pages:
        canonical = [e for e in base_site.doc(page).iter("link") if e.attrs.get("rel") == "canonical"]
        assert [e.attrs["href"] for e in canonical] == [f"{BASE_URL}/{page}"], page
    assert "sitemap.xml" in base_site.read(SUMS).decode()


def test_the_sitemap_escapes_what_xml_text_cannot_hold() -> None:
    base = "https://example.org/a?b=1&c=<2>/"
    tree = ET.fromstring(build_module._sitemap(base, ["x.html", "y z.html"]))
    locs = [e.text for e in tree.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")]
    assert locs == [base + "x.html", base + "y z.html"]


def test_without_base_url_no_sitemap_and_no_canonical_links(site: Site) -> None:
    assert not (site.root / "sitemap.xml").exists()
    for page in site.pages():
        assert not [e for e in site.doc(page).iter("link") if e.attrs.get("rel") == "canonical"], page


@pytest.mark.parametrize("which", ["site", "base_site"])
def test_no_page_loads_anything_from_the_network(which: str, request: pytest.FixtureRequest) -> None:
    built: Site = request.getfixturevalue(which)
    problems = []
    for page in built.pages():
        for e in built.doc(page).iter():
            for name in ("src", "srcset", "data", "poster"):
                value = e.attrs.get(name, "")
                if re.match(r"\s*(https?:|//)", value, re.IGNORECASE):
                    problems.append(f"{page}: <{e.tag} {name}={value!r}>")
            href = e.attrs.get("href", "")
            if e.tag == "link" and e.attrs.get("rel") != "canonical" and re.match(r"\s*(https?:|//)", href):
                problems.append(f"{page}: <link href={href!r}>")
            if e.tag == "base":
                problems.append(f"{page}: <base> changes where every relative link goes")
            css = e.text() if e.tag == "style" else e.attrs.get("style", "")
            if CSS_NETWORK.search(css):
                problems.append(f"{page}: CSS loads a resource: {css[:80]!r}")
        if b'<link href="http' in built.read(page):
            problems.append(f"{page}: <link href=http")
    for name in built.files():
        if name.endswith(".css"):
            text = built.read(name).decode()
            for m in CSS_NETWORK.finditer(text):
                if not text[m.start() :].startswith(("url(data:", "url('data:", 'url("data:')):
                    problems.append(f"{name}: {text[m.start() : m.start() + 60]!r}")
        if name.endswith(".svg"):
            tree = ET.parse(built.root / name)
            problems += [f"{name}: <{e.tag}>" for e in tree.iter() if e.tag.endswith(("}image", "}script"))]
    assert_no_problems(problems)
    assert any(n.endswith(".css") for n in built.files())


def test_report_json_holds_every_run_and_artifact(site: Site) -> None:
    report = json.loads(site.read("report.json"))
    org = site.org
    assert {r["id"] for r in report["runs"]} == set(org.runs)
    assert len(report["runs"]) == len(org.runs)
    assert {(a["name"], a["version"]) for a in report["artifacts"]} == {
        (ref.name, f"v{ref.version}") for ref in org.artifacts
    }
    assert len(report["artifacts"]) == len(org.artifacts)
    assert {f"{c['registry']}/{c['name']}" for c in report["collections"]} == set(org.collections)
    for c in report["collections"]:
        history = org.collections[f"{c['registry']}/{c['name']}"]
        assert c["events"] == [event_record(e) for e in history.events]
        assert len(c["versions"]) == len(history.versions)
    assert {r["name"] for r in report["registries"]} == set(org.registries)
    seed = next(r for r in report["runs"] if r["name"] == "rural-feather-20")
    assert seed["outputs"] == ["zoo-ylbchv20:v0"]
    assert "split_zoo_dataset:v4" in seed["inputs"]


def test_search_index_lists_collections_artifacts_and_runs(site: Site) -> None:
    text = site.read("assets/search-index.js").decode("ascii")
    prefix = "window.REPORTGEN_SEARCH = "
    assert text.startswith(prefix) and text.endswith(";\n")
    entries = json.loads(text[len(prefix) : -2])
    kinds = Counter(e["k"] for e in entries)
    org = site.org
    assert kinds == {"collection": len(org.collections), "artifact": len(org.artifacts), "run": len(org.runs)}
    for entry in entries:
        assert (site.root / entry["u"]).is_file(), entry
    titles = {e["t"] for e in entries}
    assert {"model/zoo-classifier", "zoo-ylbchv20:v0", "rural-feather-20"} <= titles
    # every page loads it
    for page in site.pages():
        srcs = [e.attrs.get("src", "") for e in site.doc(page).iter("script")]
        assert any(s.endswith("assets/search-index.js") for s in srcs), page


# ------------------------------------------------------------------------------------ 2. atomic, safe


@pytest.fixture
def zoo(tmp_path: Path) -> Path:
    """A copy of the zoo manifests that a test may break."""
    copy = tmp_path / "manifests"
    shutil.copytree(ZOO, copy)
    return copy


def test_refuses_a_folder_not_made_by_reportgen(tmp_path: Path, zoo: Path) -> None:
    out = tmp_path / "mine"
    (out / "sub").mkdir(parents=True)
    (out / "notes.txt").write_text("keep me")
    (out / "sub" / "data.bin").write_bytes(b"\x00keep")
    before = snapshot(out)
    with pytest.raises(WriteError, match="not made by reportgen"):
        api_build([zoo], out)
    assert snapshot(out) == before
    assert leftovers(out) == []
    done = run_cli("build", zoo, "-o", out)
    assert done.returncode == 1
    assert "error:" in done.stderr and "not made by reportgen" in done.stderr
    assert "Traceback" not in done.stderr
    assert snapshot(out) == before
    assert leftovers(out) == []


def test_rebuilding_over_a_reportgen_site_replaces_it_whole(tmp_path: Path, zoo: Path) -> None:
    out = tmp_path / "site"
    assert api_build([zoo], out).written
    first = snapshot(out)
    (out / "stray.html").write_text("left by hand")
    (out / "runs" / "gone.html").write_text("old page")
    result = api_build([zoo], out)
    assert result.written
    assert snapshot(out) == first
    assert leftovers(out) == []


def test_a_build_that_fails_validation_leaves_the_site(tmp_path: Path, zoo: Path) -> None:
    out = tmp_path / "site"
    assert api_build([zoo], out).written
    before = snapshot(out)
    (zoo / "broken.yaml").write_text(
        "actions:\n  - {at: 2026-03-01T00:00:00Z, user: x, action: link,\n"
        "     collection: model/zoo-classifier, artifact: no-such-artifact:v9}\n"
    )
    result = api_build([zoo], out)
    assert not result.written
    assert any(d.severity.name == "ERROR" for d in result.validation.diagnostics)
    assert snapshot(out) == before
    assert leftovers(out) == []
    done = run_cli("build", zoo, "-o", out)
    assert done.returncode == 1
    assert "no-such-artifact" in done.stderr and "build stopped" in done.stderr
    assert snapshot(out) == before


def test_a_build_that_fails_midway_leaves_the_site(
    tmp_path: Path, zoo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "site"
    assert api_build([zoo], out, title="Before").written
    before = snapshot(out)
    real = emit_module.render_page
    rendered = []

    def failing(env: Any, page: Any) -> bytes:
        if len(rendered) == 5:
            raise RuntimeError("template blew up")
        rendered.append(page.path)
        return real(env, page)

    monkeypatch.setattr(emit_module, "render_page", failing)
    with pytest.raises(RuntimeError, match="template blew up"):
        api_build([zoo], out, title="After")
    assert len(rendered) == 5
    assert snapshot(out) == before
    assert leftovers(out) == []
    monkeypatch.setattr(emit_module, "render_page", real)
    assert api_build([zoo], out, title="After").written
    assert b"After" in (out / "index.html").read_bytes()


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_page_that_fails_halfway_through_being_written_leaves_the_site(
    tmp_path: Path, jobs: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages that grow with the organisation are written as they render: one may fail half written."""
    out = tmp_path / "site"
    assert api_build([SAMPLES], out, title="Before", jobs=jobs).written
    before = snapshot(out)
    real = emit_module.stream_page

    def failing(env: Any, page: Any) -> Iterator[bytes]:  # forked workers inherit the patch
        if page.path.startswith("collections/"):
            yield b"<!doctype html><title>half a page"
            raise RuntimeError("template blew up")
        yield from real(env, page)

    monkeypatch.setattr(emit_module, "stream_page", failing)
    with pytest.raises(RuntimeError, match="template blew up"):
        api_build([SAMPLES], out, title="After", jobs=jobs)
    assert snapshot(out) == before
    assert leftovers(out) == []


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("generated") / "org-S"
    done = subprocess.run(
        [sys.executable, str(GENERATOR), "--size", "S", "-o", str(out), "-q"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return out


def test_a_killed_build_leaves_the_site_and_the_next_build_recovers(
    tmp_path: Path, zoo: Path, generated: Path
) -> None:
    out = tmp_path / "site"
    assert api_build([zoo], out).written  # the previous site
    before = snapshot(out)
    command = [*reportgen_command(), "-q", "build", str(generated), "-o", str(out)]
    for _attempt in range(3):
        proc = subprocess.Popen(command, env=cli_env(), cwd=REPO, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        staging: list[Path] = []
        while proc.poll() is None and time.monotonic() < deadline:
            staging = [p for p in out.parent.glob(".site.build-*") if any(p.iterdir())]
            if staging:
                break
            time.sleep(0.005)
        if proc.poll() is None:
            time.sleep(0.05)  # let it write a few more pages
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        if proc.returncode == -signal.SIGKILL and staging:
            break
        assert proc.returncode == 0, proc.returncode  # too fast: the build ended before the kill
        assert api_build([zoo], out).written  # put the previous site back and try again
    else:
        pytest.skip("the build always finished before it could be killed")
    assert snapshot(out) == before  # the killed build swapped nothing in
    assert leftovers(out)  # it was killed mid-way: its staging folder is still there
    result = api_build([generated], out)
    assert result.written
    assert leftovers(out) == []
    after = snapshot(out)
    assert len(after) == result.files
    listed = {line.split("  ", 1)[1] for line in after[SUMS].decode().splitlines()}
    assert listed == set(after) - {SUMS}


def test_a_second_concurrent_build_gets_a_clear_error(tmp_path: Path, zoo: Path) -> None:
    from reportgen.write import SiteWriter

    out = tmp_path / "site"
    assert api_build([zoo], out).written
    before = snapshot(out)
    holder = SiteWriter(out)  # a build in progress
    try:
        with pytest.raises(WriteError, match="another reportgen build is writing"):
            api_build([zoo], out)
        done = run_cli("build", zoo, "-o", out)
        assert done.returncode == 1
        assert "error: another reportgen build is writing" in done.stderr
        assert holder.staging.is_dir()  # the refused builds left the running one alone
    finally:
        holder.abort()
    assert snapshot(out) == before
    assert api_build([zoo], out).written


# ------------------------------------------------------------------------------------ 5. escaping

P = "P<script>alert(1)</script>\"'&../é"  # names that may hold '/'
SEG = "S<img src=x onerror=alert(1)>\"'&..\\é"  # registry and collection names: no '/'
TYPE = "T<script>alert(1)</script>\"'&"
USER = "U<script>alert(1)</script>\"'&"
RUN_ID = "R../../../../evil<script>\"'&é"
RUN_NAME = "N<script>alert(1)</script>\"'&é"
MD = (
    "# Card <script>alert(1)</script>\n\n"
    "<script>alert(1)</script>\n\n"
    "<img src=x onerror=alert(1)>\n\n"
    "[x](javascript:alert(1))\n\n"
    "![img](https://evil.example/x.png)\n\n"
    "[ok](https://example.org/ok)\n"
)
URL = "https://example.org/a?x=\"onmouseover=alert(1)&y='"
CAFE_NFC = unicodedata.normalize("NFC", "café")
CAFE_NFD = unicodedata.normalize("NFD", "café")
PAYLOADS = ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>")


def hostile_manifest() -> dict[str, Any]:
    collection = f"{SEG}/{SEG}"
    others = ["Model", "model", CAFE_NFC, CAFE_NFD, "CON", "日本語"]
    return {
        "registries": [{"name": SEG, "description": MD, "protected_aliases": ["prod"]}],
        "collections": [
            {"registry": SEG, "name": SEG, "type": TYPE, "description": MD, "tags": [P, '"', "'", "&"]}
        ],
        "artifacts": [
            {
                "name": P,
                "version": "v0",
                "type": TYPE,
                "description": MD,
                "digest": f"sha256:{P}",
                "metadata": {P: P, "k&\"'": "<b>v</b>", "nested": {P: [P, 1]}},
                "tags": [P],
                "aliases": ["rc-1"],
                "logged_by": RUN_ID,
                "url": URL,
                "project": P,
            },
            *({"name": n, "version": "v0", "type": TYPE} for n in others),
        ],
        "runs": [
            {
                "id": RUN_ID,
                "name": RUN_NAME,
                "user": USER,
                "job_type": f"J{P}",
                "notes": MD,
                "project": P,
                "group": P,
                "config": {P: P},
                "summary": {P: 1.5},
                "tags": [P],
                "inputs": [f"{n}:v0" for n in others],
                "outputs": [f"{P}:v0"],
                "url": URL,
            },
            {"id": "plain", "name": "日本語-run", "user": USER, "inputs": [f"{P}:v0"]},
        ],
        "actions": [
            {
                "at": "2026-03-01T10:00:00Z",
                "user": USER,
                "action": "link",
                "collection": collection,
                "artifact": f"{P}:v0",
                "reason": f"because {P}",
            },
            {
                "at": "2026-03-01T11:00:00Z",
                "user": USER,
                "action": "add_alias",
                "collection": collection,
                "version": "v0",
                "alias": "prod",
                "reason": P,
            },
            {
                "at": "2026-03-02T09:00:00Z",
                "user": "=cmd|' /C calc'!A0",
                "action": "link",
                "collection": collection,
                "artifact": "Model:v0",
                "reason": MD,
            },
            {
                "at": "2026-03-03T09:00:00Z",
                "user": USER,
                "action": "unlink",
                "collection": collection,
                "version": "v1",
                "reason": P,
            },
        ],
    }


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Site, Path]:
    import yaml

    base = tmp_path_factory.mktemp("hostile")
    manifests = base / "manifests"
    manifests.mkdir()
    (manifests / "hostile.yaml").write_text(
        yaml.safe_dump(hostile_manifest(), sort_keys=False, allow_unicode=True), encoding="utf-8"
    )
    out = base / "site"
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("SOURCE_DATE_EPOCH", raising=False)
        result = api_build([manifests], out)
    assert result.written, [str(d) for d in result.validation.diagnostics]
    return Site(out, result), base


def test_hostile_names_build_a_site_with_every_page(hostile: tuple[Site, Path]) -> None:
    site, base = hostile
    org = site.org
    assert len(org.artifacts) == 7 and len(org.runs) == 2 and len(org.collections) == 1
    pages = {artifact_page(ref) for ref in org.artifacts}
    assert len(pages) == 7  # Model/model, NFC/NFD café, CON: each its own page
    assert pages <= set(site.files())
    assert {run_page(r) for r in org.runs} <= set(site.files())
    # nothing was written outside the site: beside it only the manifests and the build's lock file
    # beside the site: only its lock and its graph cache
    assert sorted(p.name for p in base.iterdir()) == [".site.cache", ".site.lock", "manifests", "site"]
    assert [p.name for p in (base / "manifests").iterdir()] == ["hostile.yaml"]
    for path in site.root.rglob("*"):
        assert not path.is_symlink()
        assert path.resolve().is_relative_to(site.root.resolve())
    assert not list(base.parent.glob("evil*")) and not (base / "evil").exists()


def test_hostile_names_cannot_inject_markup(hostile: tuple[Site, Path]) -> None:
    site, _ = hostile
    problems = []
    for page in site.pages():
        doc = site.doc(page)
        for e in doc.iter():
            for name, value in e.attr_list:
                if name.startswith("on"):
                    problems.append(f"{page}: <{e.tag} {name}={value!r}>")
                if name in {"href", "src", "xlink:href"}:
                    scheme = urlsplit(value).scheme.lower()
                    if scheme not in {"", "http", "https"} or value.lower().lstrip().startswith("javascript"):
                        problems.append(f"{page}: {name}={value!r}")
            if e.tag == "script":
                src = e.attrs.get("src", "")
                if not re.fullmatch(r"(\.\./)*assets/[a-z0-9-]+\.js", src) or e.text().strip():
                    problems.append(f"{page}: <script src={src!r}> {e.text()[:40]!r}")
            if e.tag in {"img", "iframe", "object", "embed", "base"}:
                problems.append(f"{page}: injected <{e.tag}>")
        raw = site.read(page).decode()
        for payload in PAYLOADS:
            if payload in raw:
                problems.append(f"{page}: raw {payload!r}")
    assert_no_problems(problems)
    link_report = site.links
    assert_no_problems(link_report.problems)


def test_hostile_text_is_shown_as_text(hostile: tuple[Site, Path]) -> None:
    site, _ = hostile
    org = site.org
    run = site.doc(run_page(RUN_ID))
    assert [h.text() for h in run.iter("h1")] == [RUN_NAME]
    run_text = run.text()
    for value in (RUN_ID, USER, f"J{P}", P):
        assert value in run_text, value
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in site.read(run_page(RUN_ID)).decode()
    # the artifact page: name, metadata keys and values, the URL as an exact external link
    artifact = artifact_page(ArtifactRef(P, 0))
    doc = site.doc(artifact)
    text = doc.text()
    for value in (P, "k&\"'", "<b>v</b>", f"sha256:{P}"):
        assert value in text, value
    assert URL in [a.attrs.get("href") for a in doc.iter("a")]
    # the collection page: the card's raw HTML is text, its javascript: link is no link
    (history,) = org.collections.values()
    c = history.collection
    collection = site.doc(collection_page(c.registry, c.name))
    (card,) = [s for s in collection.iter("section") if s.has_class("card")]
    assert "<script>alert(1)</script>" in card.text()
    assert "<img src=x onerror=alert(1)>" in card.text()
    assert "[x](javascript:alert(1))" in card.text()
    card_links = [a.attrs["href"] for a in card.iter("a")]
    assert "https://example.org/ok" in card_links
    assert all(h.startswith("https://") for h in card_links)
    assert not list(card.iter("img"))  # the Markdown image makes no request
    assert not [h for h in card.iter() if h.tag in {"h1", "h2"}]  # headings demoted
    # the timeline: users and reasons exact, as attributes and text
    entries = timeline_entries(site, collection_page(c.registry, c.name))
    assert {e.attrs["data-user"] for e in entries} == {USER, "=cmd|' /C calc'!A0"}
    assert any(P in e.text() for e in entries)
    assert SEG in collection.text()


def test_hostile_text_survives_in_the_data_files(hostile: tuple[Site, Path]) -> None:
    site, _ = hostile
    report = json.loads(site.read("report.json"))
    assert {a["name"] for a in report["artifacts"]} >= {P, CAFE_NFC, CAFE_NFD, "Model", "model"}
    assert {r["id"] for r in report["runs"]} == {RUN_ID, "plain"}
    (collection,) = report["collections"]
    assert collection["registry"] == SEG and collection["name"] == SEG
    assert {e["user"] for e in collection["events"]} == {USER, "=cmd|' /C calc'!A0"}
    stem = collection_page(SEG, SEG).removesuffix(".html")
    records = json.loads(site.read(f"{stem}.history.json"))
    assert P in {r["reason"] for r in records}
    rows = list(csv.DictReader(io.StringIO(site.read(f"{stem}.history.csv").decode(), newline="")))
    assert {r["user"] for r in rows} == {USER, "'=cmd|' /C calc'!A0"}
    index = site.read("assets/search-index.js").decode("ascii")
    entries = json.loads(index[len("window.REPORTGEN_SEARCH = ") : -2])
    assert {P + ":v0", RUN_NAME, f"{SEG}/{SEG}"} <= {e["t"] for e in entries}
    for svg in site.svgs():  # well-formed XML, no script, no handlers
        for e in ET.parse(site.root / svg).iter():
            assert not e.tag.endswith("}script"), svg
            assert not [k for k in e.attrib if k.split("}")[-1].startswith("on")], svg


def test_a_name_that_looks_like_html_is_drawn_as_text(tmp_path: Path) -> None:
    import yaml

    manifests = tmp_path / "m"
    manifests.mkdir()
    doc = {
        "artifacts": [{"name": "data", "version": "v0", "type": "dataset"}],
        "runs": [{"id": "r1", "name": "<b>x</b>", "inputs": ["data:v0"]}],
    }
    (manifests / "m.yaml").write_text(yaml.safe_dump(doc))
    result = api_build([manifests], tmp_path / "site")
    assert result.written
    texts = [
        e.text for e in ET.parse(tmp_path / "site" / "runs" / "r1.svg").iter() if e.tag.endswith("}text")
    ]
    assert "<b>x</b>" in texts


def test_a_name_cannot_inject_graphviz_attributes(tmp_path: Path) -> None:
    import yaml

    manifests = tmp_path / "m"
    manifests.mkdir()
    doc = {
        "artifacts": [{"name": "data", "version": "v0", "type": "dataset"}],
        "runs": [{"id": "r2", "name": '<a>href="#pwn" b=<c>', "inputs": ["data:v0"]}],
    }
    (manifests / "m.yaml").write_text(yaml.safe_dump(doc))
    assert api_build([manifests], tmp_path / "site").written
    svg = (tmp_path / "site" / "runs" / "r2.svg").read_text()
    assert 'xlink:href="#pwn"' not in svg
    assert "&lt;a&gt;href=&quot;#pwn&quot; b=&lt;c&gt;" in svg  # drawn as text
    assert 'xlink:href="r2.html"' in svg or 'xlink:href="../runs/r2.html"' in svg


def test_the_cycle_collector_rests_while_the_model_is_built_and_no_longer(
    tmp_path: Path, zoo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, bool]] = []
    real_load, real_validate = build_module.load_paths, build_module.validate

    def load_paths(paths: Any, kept: Any, jobs: int, check: Any) -> Any:
        seen.append(("load", gc.isenabled()))
        return real_load(paths, kept, jobs, check)

    def validate(loaded: Any) -> Any:
        seen.append(("validate", gc.isenabled()))
        return real_validate(loaded)

    monkeypatch.setattr(build_module, "load_paths", load_paths)
    monkeypatch.setattr(build_module, "validate", validate)
    assert gc.isenabled()
    assert api_build([zoo], tmp_path / "site").written
    assert seen == [("load", False), ("validate", False)]
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0  # the model was frozen out of the collector until the build ended

    def broken(loaded: Any) -> Any:
        raise RuntimeError("validation broke")

    monkeypatch.setattr(build_module, "validate", broken)
    with pytest.raises(RuntimeError, match="validation broke"):
        api_build([zoo], tmp_path / "site")
    assert gc.isenabled()  # restored however the build ends
    gc.disable()
    try:  # a caller that turned it off keeps it off
        monkeypatch.setattr(build_module, "validate", real_validate)
        assert api_build([zoo], tmp_path / "site").written
        assert not gc.isenabled()
    finally:
        gc.enable()
