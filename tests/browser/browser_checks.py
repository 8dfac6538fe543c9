"""What a person does with the site, as plain check functions that return the problems they find.

Each check drives a Playwright page (or context) and returns a list of problems, one sentence each; an empty
list means the check passed. Tests assert the list is empty; the breakage tests
(``test_browser_catches_breakage.py``) build a site broken on purpose and assert the same functions report it.

Playwright is imported only for type checking, so this module imports without it (the tests then skip).
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urldefrag, urlsplit
from urllib.request import url2pathname

if TYPE_CHECKING:
    from playwright.sync_api import (
        BrowserContext,
        ConsoleMessage,
        Download,
        Locator,
        Page,
        Request,
        Response,
    )

# A record of an Action History entry as the downloads and the model both give it.
EntryKey = tuple[str, str, str, str, str]  # (at, collection, action, version, user)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


# ------------------------------------------------------------------------------------ requests and console


@dataclass
class Recorder:
    """Every request, failure, console message and script error of one browser context.

    ``allowed`` are the URL prefixes a request may start with: the site's folder as a file:// URL, or the
    local server's origin. Anything else is a request that leaves the site.
    """

    allowed: tuple[str, ...]
    requests: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    statuses: list[tuple[str, int]] = field(default_factory=list)
    console: list[tuple[str, str, str]] = field(default_factory=list)  # (type, text, url)
    errors: list[str] = field(default_factory=list)

    def attach(self, context: BrowserContext) -> Recorder:
        context.on("request", self._request)
        context.on("requestfailed", self._failed)
        context.on("response", self._response)
        context.on("console", self._console)
        context.on("weberror", lambda e: self.errors.append(str(e.error)))
        return self

    def _request(self, request: Request) -> None:
        self.requests.append(request.url)

    def _failed(self, request: Request) -> None:
        self.failed.append((request.url, request.failure or "failed"))

    def _response(self, response: Response) -> None:
        if response.status >= 400:
            self.statuses.append((response.url, response.status))

    def _console(self, message: ConsoleMessage) -> None:
        location = message.location or {}
        self.console.append((message.type, message.text, str(location.get("url", ""))))

    def problems(self) -> list[str]:
        """Return every request outside the site, failed request, console error and script error."""
        found = []
        for url in self.requests:
            if not url.startswith(self.allowed):
                found.append(f"request leaves the site: {url}")
        for url, failure in self.failed:
            # Aborted: the page navigated on before a resource came (a favicon, say), or the browser turned
            # a navigation into a download. A missing file fails otherwise (ERR_FILE_NOT_FOUND, HTTP 404).
            if "ERR_ABORTED" in failure:
                continue
            found.append(f"request failed: {url} ({failure})")
        found += [f"HTTP {status}: {url}" for url, status in self.statuses]
        for kind, text, url in self.console:
            # site.js warns "reportgen: <part> disabled: <error>" when an enhancement throws.
            if kind == "error" or (kind == "warning" and text.startswith("reportgen:")):
                found.append(f"console {kind}: {text}" + (f" ({url})" if url else ""))
        found += [f"script error: {e}" for e in self.errors]
        return found


# ------------------------------------------------------------------------------------ DOM helpers

VISIBLE_EVENTS = """tl => [...tl.querySelectorAll('li.event')]
  .filter(li => li.getClientRects().length > 0)
  .map(li => [li.getAttribute('data-kind'), li.getAttribute('data-user')])"""

ALL_EVENTS = """tl => [...tl.querySelectorAll('li.event')]
  .map(li => [li.getAttribute('data-kind'), li.getAttribute('data-user')])"""

PAGE_FACTS = """() => ({
  headings: [...document.querySelectorAll('main h1')].map(h => h.textContent.trim()),
  ids: [...document.querySelectorAll('[id]')].map(e => e.id),
  links: [...document.querySelectorAll('a')].map(a => {
    const h = a.getAttribute('href') ?? a.getAttributeNS('http://www.w3.org/1999/xlink', 'href');
    return h === null ? null : new URL(h, document.baseURI).href;
  }).filter(h => h !== null)})"""

NODE_ID = """(title) => {
  const nodes = [...document.querySelectorAll('figure[data-graph] svg g.node')];
  const g = nodes.find(n => {
    const t = n.querySelector(':scope > title');
    return t && t.textContent === title;
  });
  return g ? g.id : null;
}"""


def node_link(page: Page, title: str) -> Locator | None:
    """Return the link of the graph node titled ``title`` (its name), or None."""
    node_id = page.evaluate(NODE_ID, title)
    return None if node_id is None else page.locator(f'[id="{node_id}"] a').first


def graph_focus(page: Page) -> str:
    """Return the name of the node the page's graph is drawn around ('' when there is none)."""
    return str(
        page.evaluate(
            """() => { const t = document.querySelector('figure[data-graph] svg g.node.focus > title');
                       return t ? t.textContent : ''; }"""
        )
    )


def url_path(url: str) -> str:
    """Return the path of ``url`` without query or fragment, for comparisons across file:// and http://."""
    return unquote(urlsplit(url).path)


# ------------------------------------------------------------------------------------ Action History


def filter_problems(
    page: Page,
    *,
    kinds: Mapping[str, int] | None = None,
    users: Mapping[str, int] | None = None,
) -> list[str]:
    """Filter the page's Action History by every kind, every user and a pair; check what is shown.

    ``kinds`` and ``users`` are the counts the model gives; the entries on the page must have them.
    """
    problems: list[str] = []
    tl = page.locator("[data-timeline]").first
    if tl.count() == 0:
        return ["the page has no Action History"]
    entries = [tuple(x) for x in tl.evaluate(ALL_EVENTS)]
    total = len(entries)
    if kinds is not None and Counter(k for k, _ in entries) != Counter(kinds):
        problems.append(f"entries by kind {dict(Counter(k for k, _ in entries))} != model {dict(kinds)}")
    if users is not None and Counter(u for _, u in entries) != Counter(users):
        problems.append(f"entries by user {dict(Counter(u for _, u in entries))} != model {dict(users)}")
    if not tl.locator(".timeline-filters").is_visible():
        return [*problems, "the filters are not shown (the script did not set them up)"]
    kind_select = tl.locator('select[data-filter="kind"]')
    user_select = tl.locator('select[data-filter="user"]')
    kind_values = [v for v in kind_select.locator("option").evaluate_all("os => os.map(o => o.value)") if v]
    user_values = [v for v in user_select.locator("option").evaluate_all("os => os.map(o => o.value)") if v]
    if sorted(kind_values) != sorted({k for k, _ in entries}):
        problems.append(f"kind choices {kind_values} do not match the entries' kinds")
    if sorted(user_values) != sorted({u for _, u in entries}):
        problems.append(f"user choices {user_values} do not match the entries' users")

    def check(kind: str, user: str) -> None:
        kind_select.select_option(kind)
        user_select.select_option(user)
        shown = Counter(tuple(x) for x in tl.evaluate(VISIBLE_EVENTS))
        want = Counter(e for e in entries if (not kind or e[0] == kind) and (not user or e[1] == user))
        label = f"filter kind={kind!r} user={user!r}"
        if shown != want:
            problems.append(f"{label}: {sum(shown.values())} entries shown, {sum(want.values())} expected")
        n = sum(want.values())
        count = tl.locator(".timeline-count").inner_text().strip()
        expected_count = f"{n} of {plural(total, 'action')}" if kind or user else plural(total, "action")
        if count != expected_count:
            problems.append(f"{label}: the count says {count!r}, expected {expected_count!r}")
        hidden_days = tl.evaluate(
            """tl => [...tl.querySelectorAll('.timeline-day')].filter(d => d.getClientRects().length > 0
                 && !d.querySelector('li.event:not([hidden])')).length"""
        )
        if hidden_days:
            problems.append(f"{label}: {hidden_days} day headings shown with no entry under them")
        empty = tl.locator(".timeline-empty")
        if empty.count() and empty.is_visible() != (n == 0):
            problems.append(f"{label}: the 'no action matches' note is {'shown' if n else 'missing'}")
        fragment = dict(parse_qsl(urlsplit(page.url).fragment))
        want_fragment = {k: v for k, v in (("kind", kind), ("user", user)) if v}
        if fragment != want_fragment:
            problems.append(f"{label}: the URL keeps {fragment}, expected {want_fragment}")

    for kind in kind_values:
        check(kind, "")
    for user in user_values:
        check("", user)
    if kind_values and user_values:
        # the most common pair, and (when there is one) a pair that matches nothing
        pair = Counter(entries).most_common(1)[0][0]
        check(*pair)
        missing = next(((k, u) for k in kind_values for u in user_values if (k, u) not in entries), None)
        if missing:
            check(*missing)
        # the filter is kept in the URL: reopening it shows the same selection
        kind, user = pair
        base = page.url.split("#", 1)[0]
        page.goto("about:blank")
        page.goto(f"{base}#kind={kind}&user={user}")
        tl = page.locator("[data-timeline]").first
        shown = sum(Counter(tuple(x) for x in tl.evaluate(VISIBLE_EVENTS)).values())
        if shown != Counter(entries)[pair]:
            problems.append(
                f"opening #kind={kind}&user={user} shows {shown} entries, not {Counter(entries)[pair]}"
            )
        if (kind_select.input_value(), user_select.input_value()) != (kind, user):
            problems.append("opening a filtered URL does not select its filters")
        tl.locator("[data-filter-clear]").click()
        if sum(1 for _ in tl.evaluate(VISIBLE_EVENTS)) != total:
            problems.append("'Clear filters' does not show every entry again")
        if (kind_select.input_value(), user_select.input_value()) != ("", ""):
            problems.append("'Clear filters' leaves a filter selected")
    return problems


def _uncell(value: str) -> str:
    """Undo the CSV download's defusing of formula-like cells."""
    return value[1:] if value.startswith("'") and value[1:].startswith(FORMULA_START) else value


def _download(page: Page, label: str) -> tuple[str | None, str]:
    """Click the Action History's download link ``label``; return (the file's text, a problem).

    From file:// Chromium ignores the `download` attribute (the page has no origin to match) and shows a file
    it can display, such as JSON, instead of saving it: that counts too, as the reader gets the file.
    """
    link = page.locator(".timeline .downloads a", has_text=label).first
    if link.count() == 0:
        return None, f"no {label} download link"
    target = str(link.evaluate("a => a.href"))
    start = page.url
    downloads: list[Download] = []

    def on_download(download: Download) -> None:
        downloads.append(download)

    page.on("download", on_download)
    try:
        link.click()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if downloads:
                return Path(downloads[0].path()).read_text(encoding="utf-8"), ""
            if page.url == target:
                page.wait_for_load_state()
                text = page.evaluate("() => (document.querySelector('pre') || document.body).textContent")
                page.go_back()
                if page.url != start:
                    return str(text), f"Back from the {label} file went to {page.url}"
                return str(text), ""
            page.wait_for_timeout(50)
    finally:
        page.remove_listener("download", on_download)
    return None, f"the {label} link neither downloads nor opens {target}"


def _records(label: str, text: str) -> list[EntryKey]:
    if label == "CSV":
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
        return [
            (_uncell(r["at"]), r["collection"], r["action"], r["version"], _uncell(r["user"])) for r in rows
        ]
    return [(r["at"], r["collection"], r["action"], r["version"], r["user"]) for r in json.loads(text)]


def download_problems(page: Page, expected: Sequence[EntryKey]) -> list[str]:
    """Download the Action History as CSV and JSON: each holds exactly ``expected``, newest first."""
    problems: list[str] = []
    for label in ("CSV", "JSON"):
        text, problem = _download(page, label)
        if problem:
            problems.append(problem)
        if text is None:
            continue
        try:
            got = _records(label, text)
        except (ValueError, KeyError, TypeError) as error:
            problems.append(f"the {label} file does not hold records: {error!r}")
            continue
        if Counter(got) != Counter(expected):
            extra = Counter(got) - Counter(expected)
            lost = Counter(expected) - Counter(got)
            problems.append(
                f"{label}: {len(got)} entries, {len(expected)} expected; "
                f"missing {list(lost)[:3]}, unexpected {list(extra)[:3]}"
            )
        elif [g[0] for g in got] != sorted((g[0] for g in got), reverse=True):
            problems.append(f"{label}: entries are not newest first")
    return problems


# ------------------------------------------------------------------------------------ search


def search_problems(page: Page, query: str, expected: str) -> list[str]:
    """Type ``query`` in the search box: ``expected`` (a site path) is the first result; Enter opens it."""
    box = page.locator("#site-search-input")
    if box.count() == 0 or not box.is_visible():
        return [f"search for {query!r}: the search box is not shown"]
    box.fill(query)
    results = page.locator("#site-search-results a")
    try:
        results.first.wait_for(state="visible", timeout=3000)
    except Exception:
        return [f"search for {query!r}: no result is shown"]
    paths = [url_path(h) for h in results.evaluate_all("as => as.map(a => a.href)")]
    if not paths or not paths[0].endswith("/" + expected):
        return [f"search for {query!r}: first results {paths[:3]}, expected {expected}"]
    try:
        with page.expect_navigation(timeout=5000):
            box.press("Enter")
    except Exception:
        return [f"search for {query!r}: Enter does not open the first result"]
    if not url_path(page.url).endswith("/" + expected):
        return [f"search for {query!r}: Enter opened {page.url}, expected {expected}"]
    return []


# ------------------------------------------------------------------------------------ version selector


def version_selector_problems(
    page: Page, choose: str, expected_path: str, expected_focus: str, start_focus: str
) -> list[str]:
    """Choose version ``choose`` in the selector: the page, URL and graph must follow; Back returns."""
    problems: list[str] = []
    start = page.url
    select = page.locator("[data-version-selector] select")
    if select.count() == 0 or not select.is_visible():
        return ["the version selector is not shown"]
    if graph_focus(page) != start_focus:
        problems.append(f"the graph shows {graph_focus(page)!r}, expected {start_focus!r}")
    start_choice = select.evaluate("s => s.options[s.selectedIndex].text")
    # an option reads "vK", or "vK (unlinked)"
    labels = select.locator("option").all_inner_texts()
    label = next((t for t in labels if t == choose or t.startswith(choose + " ")), None)
    if label is None:
        return [*problems, f"the selector offers {labels}, not {choose}"]
    try:
        with page.expect_navigation(timeout=3000):
            select.select_option(label=label)
    except Exception:
        return [*problems, f"choosing {choose} does not open another page"]
    if not url_path(page.url).endswith("/" + expected_path):
        problems.append(f"choosing {choose} opened {page.url}, expected {expected_path}")
    if graph_focus(page) != expected_focus:
        problems.append(
            f"after choosing {choose} the graph shows {graph_focus(page)!r}, not {expected_focus!r}"
        )
    caption = page.locator("figure[data-graph] .graph-caption").inner_text()
    if expected_focus not in caption:
        problems.append(f"after choosing {choose} the caption says {caption!r}")
    chosen = page.locator("[data-version-selector] select").evaluate("s => s.options[s.selectedIndex].text")
    if chosen != label:
        problems.append(f"the version page's selector shows {chosen!r}, not {choose!r}")
    page.go_back()
    if page.url != start:
        problems.append(f"Back went to {page.url}, not {start}")
    if graph_focus(page) != start_focus:
        problems.append(f"after Back the graph shows {graph_focus(page)!r}, not {start_focus!r}")
    back_choice = page.locator("[data-version-selector] select").evaluate(
        "s => s.options[s.selectedIndex].text"
    )
    if back_choice != start_choice:
        problems.append(f"after Back the selector shows {back_choice!r}, not {start_choice!r}")
    return problems


# ------------------------------------------------------------------------------------ graph


def node_details_problems(page: Page, title: str, members: Sequence[str] = ()) -> list[str]:
    """Click the graph node ``title`` (JavaScript on): its details show beside the graph, the page stays.

    For a cluster, ``members`` are the names its details must list.
    """
    link = node_link(page, title)
    if link is None:
        return [f"no graph node titled {title!r}"]
    before = page.url
    link.click()
    problems: list[str] = []
    body = page.locator(".graph-panel-body")
    if not body.is_visible():
        return [f"clicking {title!r} shows no details"]
    if page.url != before:
        problems.append(f"clicking {title!r} left the page for {page.url}")
    heading = body.locator(".node-link, .node-title").first
    if heading.count() == 0 or heading.inner_text().strip() != title:
        problems.append(f"the details show {body.inner_text()[:80]!r}, not {title!r}")
    href = link.get_attribute("xlink:href") or link.get_attribute("href") or ""
    if not members:
        open_link = body.locator("a.graph-panel-open")
        if open_link.count() != 1 or (open_link.get_attribute("href") or "") != href:
            problems.append(f"the details of {title!r} have no 'Open page' link to {href}")
    else:
        listed = [t.strip() for t in body.locator("ol.members a").all_inner_texts()]
        if sorted(listed) != sorted(members):
            problems.append(f"the cluster {title!r} lists {listed}, expected {sorted(members)}")
    return problems


def node_navigation_problems(page: Page, title: str, expected_path: str) -> list[str]:
    """Click the graph node ``title`` (JavaScript off): the browser opens its page."""
    link = node_link(page, title)
    if link is None:
        return [f"no graph node titled {title!r}"]
    try:
        with page.expect_navigation(timeout=5000):
            link.click()
    except Exception:
        return [f"clicking {title!r} does not open a page"]
    if not url_path(page.url).endswith("/" + expected_path):
        return [f"clicking {title!r} opened {page.url}, expected {expected_path}"]
    return []


def member_pages_problems(page: Page, cluster: str, members: Mapping[str, str]) -> list[str]:
    """Open each member ({name: site path}) from the details of the cluster ``cluster``; check its page."""
    problems: list[str] = []
    start = page.url
    for name, path in members.items():
        listed = page.locator(".graph-panel-body ol.members")
        if not listed.is_visible():
            link = node_link(page, cluster)
            if link is None:
                return [*problems, f"no graph node titled {cluster!r}"]
            link.click()
        member = page.locator(".graph-panel-body ol.members a", has_text=name).first
        if member.count() == 0 or not member.is_visible():
            problems.append(f"member {name!r} is not listed in the details of {cluster!r}")
            continue
        try:
            with page.expect_navigation(timeout=5000):
                member.click()
        except Exception:
            problems.append(f"member {name!r} does not open a page")
            continue
        if not url_path(page.url).endswith("/" + path):
            problems.append(f"member {name!r} opened {page.url}, expected {path}")
        heading = page.locator("main h1").inner_text().strip()
        if heading != name:
            problems.append(f"member {name!r} opened a page headed {heading!r}")
        page.go_back()
        if page.url != start:
            problems.append(f"Back from {name!r} went to {page.url}, not {start}")
            page.goto(start)
    return problems


# ------------------------------------------------------------------------------------ whole-site crawl


def crawl_problems(
    context: BrowserContext, start: str, prefix: str, *, check: Callable[[Page], list[str]] | None = None
) -> tuple[list[str], int]:
    """Open ``start`` and every page linked from it under ``prefix``; return (problems, pages opened).

    Every link must be followable: pages open (no error status, a <main> with a heading), other files exist,
    and every #fragment names an element of its page. ``check`` runs on each page for more problems.
    """
    problems: list[str] = []
    page = context.new_page()
    queue = [start]
    seen = {start}
    files: dict[str, str] = {}  # other files linked (url -> first page linking it)
    fragments: dict[str, set[tuple[str, str]]] = {}  # page url -> {(fragment, linking page)}
    ids: dict[str, set[str]] = {}
    while queue:
        url = queue.pop(0)
        try:
            response = page.goto(url, wait_until="domcontentloaded")
        except Exception as error:
            problems.append(f"{url}: does not open: {str(error).splitlines()[0]}")
            continue
        if response is not None and response.status >= 400:
            problems.append(f"{url}: HTTP {response.status}")
            continue
        facts = page.evaluate(PAGE_FACTS)
        if len(facts["headings"]) != 1 or not facts["headings"][0]:
            problems.append(f"{url}: not one heading in <main>: {facts['headings']}")
        if check is not None:
            problems += [f"{url}: {p}" for p in check(page)]
        ids[url] = set(facts["ids"])
        for href in facts["links"]:
            target, fragment = urldefrag(href)
            if not target.startswith(prefix):
                continue
            if fragment:
                fragments.setdefault(target, set()).add((unquote(fragment), url))
            if target.endswith(".html") or target.endswith("/"):
                if target not in seen:
                    seen.add(target)
                    queue.append(target)
            else:
                files.setdefault(target, url)
    for target, origin in sorted(files.items()):
        if not _file_exists(context, target):
            problems.append(f"{origin}: link to a missing file {target}")
    for target, wanted in sorted(fragments.items()):
        for fragment, origin in sorted(wanted):
            if target in ids and fragment not in ids[target]:
                problems.append(f"{origin}: no element #{fragment} on {target}")
    page.close()
    return problems, len(seen)


def _file_exists(context: BrowserContext, url: str) -> bool:
    if url.startswith("file:"):
        return Path(url2pathname(urlsplit(url).path)).is_file()
    return bool(context.request.head(url).ok)


# ------------------------------------------------------------------------------------ accessibility


def axe_violations(page: Page, axe_script: Path) -> list[dict[str, Any]]:
    """Run axe-core (injected from ``axe_script``) on the page; return its violations."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(path=str(axe_script))
    result = page.evaluate(
        """async () => {
          const r = await axe.run(document, { preload: false, resultTypes: ['violations'] });
          return r.violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n =>
              n.target.join(' ') + ': ' + (n.failureSummary || '').replace(/\\s+/g, ' '))
          }));
        }"""
    )
    return list(result)


def axe_problems(page: Page, axe_script: Path, impacts: Iterable[str] = ("serious", "critical")) -> list[str]:
    """Return axe-core's violations of the given impacts, one line each with its first elements."""
    wanted = set(impacts)
    return [
        f"{v['impact']} {v['id']} ({v['help']}): {len(v['nodes'])} elements, e.g. {v['nodes'][:2]}"
        for v in axe_violations(page, axe_script)
        if v["impact"] in wanted
    ]


def keyboard_graph_problems(page: Page, max_tabs: int = 120) -> list[str]:
    """Tab from the top of the page to the graph's node links; Enter shows a node's details, Escape closes."""
    problems: list[str] = []
    nodes = page.evaluate(
        "() => [...document.querySelectorAll('figure[data-graph] svg g.node')]"
        ".filter(g => g.querySelector('a')).map(g => g.id)"
    )
    if not nodes:
        return ["the graph has no node links"]
    page.locator("body").focus()
    page.evaluate(
        "() => { document.activeElement && document.activeElement.blur && document.activeElement.blur(); }"
    )
    reached: list[str] = []
    first = None
    for _ in range(max_tabs):
        page.keyboard.press("Tab")
        node = page.evaluate(
            "() => { const a = document.activeElement;"
            " const g = a && a.closest ? a.closest('svg g.node') : null; return g ? g.id : null; }"
        )
        if node is None and reached:
            break  # Tab went past the graph
        if node is not None:
            if first is None:
                first = node
            reached.append(node)
    if first is None:
        return [f"{max_tabs} presses of Tab never reach a graph node"]
    if sorted(set(reached)) != sorted(nodes):
        problems.append(f"Tab reaches {len(set(reached))} of the graph's {len(nodes)} node links")
    # back to the first node, then Enter opens its details
    page.locator(f'[id="{first}"] a').first.focus()
    title = page.evaluate(
        "(id) => document.getElementById(id).querySelector(':scope > title').textContent", first
    )
    before = page.url
    page.keyboard.press("Enter")
    body = page.locator(".graph-panel-body")
    if not body.is_visible() or title not in body.inner_text():
        problems.append(f"Enter on the node {title!r} does not show its details")
    if page.url != before:
        problems.append(f"Enter on the node {title!r} left the page (the details should show first)")
    page.keyboard.press("Escape")
    if body.is_visible() and body.inner_text().strip():
        problems.append("Escape does not close the node details")
    back = page.evaluate(
        "() => { const g = document.activeElement.closest('svg g.node'); return g ? g.id : null; }"
    )
    if back != first:
        problems.append("closing the node details does not return the focus to the node")
    return problems


def text_signal_problems(page: Page, kind_labels: Mapping[str, str]) -> list[str]:
    """Colour is never the only signal: kinds and states show as text (and graph kinds as shapes)."""
    problems: list[str] = []
    for kind, label in page.evaluate(
        """() => [...document.querySelectorAll('li.event')].map(li =>
             [li.getAttribute('data-kind'), (li.querySelector('.badge-action') || {}).textContent || ''])"""
    ):
        if label.strip() != kind_labels.get(kind, "\0"):
            problems.append(f"an Action History entry of kind {kind!r} is labelled {label.strip()!r}")
    for text in page.evaluate("() => [...document.querySelectorAll('.badge-state')].map(b => b.textContent)"):
        if not text.strip():
            problems.append("a state badge has no text")
    nodes = page.evaluate(
        """() => [...document.querySelectorAll('figure[data-graph] svg g.node')].map(g => ({
             cls: g.getAttribute('class'),
             shapes: [...g.querySelectorAll('ellipse, path, polygon')].map(s => s.tagName),
             text: [...g.querySelectorAll('text')].map(t => t.textContent).join(' ')}))"""
    )
    for node in nodes:
        classes = node["cls"].split()
        state = next((c.removeprefix("state-") for c in classes if c.startswith("state-")), "")
        if state and state not in {"finished", "committed"} and state not in node["text"]:
            problems.append(f"a graph node in state {state!r} does not say so in its label: {node['text']!r}")
        if "run" in classes and "ellipse" not in node["shapes"]:
            problems.append(f"run node {node['text']!r} is not drawn as an ellipse")
        if "artifact" in classes and "ellipse" in node["shapes"]:
            problems.append(f"artifact node {node['text']!r} is drawn like a run")
        if not node["text"].strip():
            problems.append("a graph node has no text label")
    listed = page.evaluate(
        "() => [...document.querySelectorAll('details.graph-text .node-list > li > .badge-kind')]"
        ".map(b => b.textContent)"
    )
    if nodes and sorted(t.strip() for t in listed) != sorted(
        "cluster"
        if "lineage-cluster" in n["cls"].split()
        else ("run" if "run" in n["cls"].split() else "artifact")
        for n in nodes
    ):
        problems.append(f"the text alternative names kinds {sorted(listed)} unlike the drawn nodes")
    return problems


def text_alternative_problems(page: Page) -> list[str]:
    """The graph has a text alternative: every drawn node and edge is listed by name."""
    drawn = page.evaluate(
        """() => ({
          nodes: [...document.querySelectorAll('figure[data-graph] svg g.node > title')]
                   .map(t => t.textContent),
          edges: [...document.querySelectorAll('figure[data-graph] svg g.edge > title')]
                   .map(t => t.textContent)})"""
    )
    listed = page.evaluate(
        """() => ({
          nodes: [...document.querySelectorAll('details.graph-text .node-list > li')]
                   .map(li => (li.querySelector('.node-link, .node-title') || {}).textContent || ''),
          edges: [...document.querySelectorAll('details.graph-text .edge-list > li')]
                   .map(li => li.textContent.replace(/\\s*\\u2192\\s*to\\s*/, ' \\u2192 ').trim())})"""
    )
    problems = []
    if not drawn["nodes"]:
        problems.append("no graph on the page")
    if sorted(drawn["nodes"]) != sorted(listed["nodes"]):
        problems.append(
            f"the text alternative lists nodes {sorted(listed['nodes'])}, the graph {sorted(drawn['nodes'])}"
        )
    if sorted(drawn["edges"]) != sorted(listed["edges"]):
        problems.append(
            f"the text alternative lists edges {sorted(listed['edges'])}, the graph {sorted(drawn['edges'])}"
        )
    summary = page.locator("details.graph-text > summary")
    if summary.count() != 1:
        problems.append("the text alternative is not in a <details> with a summary")
    return problems


# ------------------------------------------------------------------------------------ layout


OVERFLOWING = """(w) => [...document.querySelectorAll('body *')].filter(e => {
  if (e.getBoundingClientRect().right <= w + 1) return false;
  if (['absolute', 'fixed'].includes(getComputedStyle(e).position)) return true;  // escapes scrolling frames
  for (let p = e.parentElement; p; p = p.parentElement) {
    if (getComputedStyle(p).overflowX !== 'visible') return false;
  }
  return true;
}).slice(0, 3).map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '')
                  + ' ' + JSON.stringify((e.textContent || '').trim().slice(0, 30)))"""


def overflow_problems(page: Page) -> list[str]:
    """The page never scrolls sideways (wide tables and graphs scroll inside their own frame)."""
    width, client = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    if width > client + 1:
        culprits = page.evaluate(
            OVERFLOWING,
            client,
        )
        return [f"the page is {width}px wide in a {client}px window (e.g. {culprits})"]
    return []
