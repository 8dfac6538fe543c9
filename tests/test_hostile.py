"""Hostile input: the corpus of tests/data/hostile, generated monsters, and the rendered-output checks.

A case of the corpus is ``<name>.yaml`` (or a folder ``<name>/`` of several files) with exactly one of:

- ``<name>.expected``: the exact diagnostics ``FILE:LINE:COL: severity[CODE]: message`` that
  ``reportgen validate`` prints (FILE relative to tests/data/hostile); ``reportgen build`` must stop with
  them, exit 1 and write nothing;
- ``<name>.safe``: the manifests build with no diagnostic at all, every built page, graph and data file
  passes :func:`check_site`, and each line of the file that is not blank or a ``#`` comment is a string
  that some page shows as text (so a payload was escaped, not dropped).

:func:`check_site` and its helpers are reused by tests/test_properties.py and tests/test_faults.py.
"""

from __future__ import annotations

import csv
import gc
import hashlib
import io
import json
import os
import posixpath
import re
import subprocess
import sys
import time
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import yaml

from reportgen import load as load_module
from reportgen.build import BuildOptions, BuildResult, build
from reportgen.diagnostics import Reporter
from reportgen.draw import drawing
from reportgen.lineage import DEFAULT_NODE_BUDGET, GraphOptions, NodeKey, neighbourhood
from reportgen.load import MAX_DEPTH, MAX_FILE_BYTES, load_bytes, load_paths
from reportgen.model import ArtifactRef
from reportgen.paths import artifact_page, run_page, slug
from reportgen.validate import build_organisation, validate

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data" / "hostile"
MARKER = ".reportgen-site"
SUMS = "SHA256SUMS"

# ---------------------------------------------------------------------------------- output checks

# Attributes whose value a browser loads or follows as a URL.
URL_ATTRIBUTES = frozenset(
    {
        "href",
        "src",
        "xlink:href",
        "action",
        "formaction",
        "poster",
        "data",
        "background",
        "cite",
        "longdesc",
        "ping",
        "manifest",
        "codebase",
        "icon",
        "lowsrc",
        "dynsrc",
        "usemap",
        "srcset",
        "imagesrcset",
    }
)
# Elements that the site never uses and that would load, run or frame something if data produced them.
FORBIDDEN_ELEMENTS = frozenset(
    {
        "iframe",
        "frame",
        "frameset",
        "object",
        "embed",
        "applet",
        "base",
        "form",
        "img",
        "image",
        "video",
        "audio",
        "source",
        "track",
        "picture",
        "portal",
        "style",
        "template",
        "noscript",
        "math",
        "foreignobject",
        "set",
        "animate",
        "animatemotion",
        "animatetransform",
        "handler",
        "listener",
        "use",
        "textarea",
        "xmp",
        "plaintext",
        "noembed",
        "noframes",
    }
)
SITE_SCRIPT = re.compile(r"(?:\.\./)*assets/[a-z0-9][a-z0-9._-]*\.js")
CSS_DANGER = re.compile(r"url\s*\(|expression\s*\(|@import|javascript:|behavior\s*:", re.IGNORECASE)
# Browsers drop ASCII tab and newlines anywhere in a URL and leading C0 controls and spaces.
URL_NOISE = re.compile(r"[\t\n\r]")
SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
# Raw-text checks, independent of html.parser: a tag that opens an element only scripts or data create,
# and an on* attribute anywhere inside a tag (quoted attribute values removed first).
RAW_TAG = re.compile(r"<([A-Za-z][A-Za-z0-9:-]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>")
QUOTED = re.compile(r"\"[^\"]*\"|'[^']*'")
RAW_HANDLER = re.compile(r"(?:^|[\s/])on[a-z]+\s*=", re.IGNORECASE)
CSP_NEEDS = ("default-src 'self'", "script-src 'self'", "object-src 'none'", "base-uri 'none'")
CSP_NEVER = ("unsafe-inline", "unsafe-eval", "unsafe-hashes", "*", "data:;script", "http:", "https:")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
WINDOWS_DEVICES = {
    "con",
    "prn",
    "aux",
    "nul",
    *(f"com{i}" for i in range(10)),
    *(f"lpt{i}" for i in range(10)),
}


def url_problem(value: str) -> str | None:
    """Return why a URL taken from a page is unsafe, or None: it must be relative or http(s)."""
    cleaned = URL_NOISE.sub("", value).lstrip("".join(map(chr, range(0x21))))
    if cleaned.startswith(("//", "\\\\", "/\\", "\\/")):
        return "protocol-relative URL (loads from another host)"
    match = SCHEME.match(cleaned)
    if match is None:
        return None
    scheme = match.group(1).lower()
    if scheme not in {"http", "https"}:
        return f"scheme {scheme!r}"
    if not cleaned[match.end() :].startswith("//"):
        return "http(s) URL without a host"
    return None


def _resolve_relative(page: str, value: str) -> str | None:
    """Return the site path a relative link points at, or None when it leaves the site."""
    path = unquote(urlsplit(value).path)
    if not path:
        return page
    if path.startswith("/"):
        return None
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(page), path))
    if joined == ".." or joined.startswith("../"):
        return None
    return joined


@dataclass
class PageScan:
    """What html.parser saw in one page."""

    start_tags: list[tuple[str, list[tuple[str, str | None]]]] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    scripts: list[tuple[dict[str, str | None], str]] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    declarations: list[str] = field(default_factory=list)


class _Scanner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scan = PageScan()
        self._script: dict[str, str | None] | None = None
        self._script_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.scan.start_tags.append((tag, attrs))
        if tag == "script":
            self._script, self._script_text = dict(attrs), []

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.scan.start_tags.append((tag, attrs))
        if tag == "script":
            self.scan.scripts.append((dict(attrs), ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            self.scan.scripts.append((self._script, "".join(self._script_text)))
            self._script = None

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._script_text.append(data)
        else:
            self.scan.texts.append(data)

    def handle_comment(self, data: str) -> None:
        self.scan.comments.append(data)

    def handle_decl(self, decl: str) -> None:
        self.scan.declarations.append(decl)

    def unknown_decl(self, data: str) -> None:
        self.scan.declarations.append(data)

    def handle_pi(self, data: str) -> None:
        self.scan.declarations.append(data)


def scan_html(text: str) -> PageScan:
    """Parse a page with html.parser and return its tags, text, scripts and comments."""
    scanner = _Scanner()
    scanner.feed(text)
    scanner.close()
    if scanner._script is not None:  # an unterminated <script> swallowed the rest of the page
        scanner.scan.scripts.append((scanner._script, "".join(scanner._script_text)))
    return scanner.scan


def page_text(text: str) -> str:
    """Return the text a reader sees on a page (scripts excluded), whitespace collapsed."""
    return " ".join(" ".join(scan_html(text).texts).split())


def check_html(text: str, page: str, files: set[str]) -> list[str]:
    """Return every way a built HTML page could run, load or link something it should not."""
    problems: list[str] = []
    scan = scan_html(text)
    csp = [
        (attrs.get("content") or "")
        for tag, raw in scan.start_tags
        if tag == "meta"
        for attrs in [dict(raw)]
        if (attrs.get("http-equiv") or "").lower() == "content-security-policy"
    ]
    if len(csp) != 1:
        problems.append(f"{page}: {len(csp)} Content-Security-Policy meta elements, expected 1")
    else:
        policy = csp[0]
        problems += [f"{page}: CSP lacks {need!r}" for need in CSP_NEEDS if need not in policy]
        directives = {d.strip().split(" ", 1)[0]: d.strip() for d in policy.split(";") if d.strip()}
        script_policy = directives.get("script-src", "")
        problems += [
            f"{page}: CSP script-src allows {bad!r}"
            for bad in ("unsafe-inline", "unsafe-eval", "*", "data:", "http:", "https:")
            if bad in script_policy
        ]
    first_script = next((i for i, (t, _) in enumerate(scan.start_tags) if t == "script"), None)
    first_csp = next(
        (
            i
            for i, (t, a) in enumerate(scan.start_tags)
            if t == "meta" and (dict(a).get("http-equiv") or "").lower() == "content-security-policy"
        ),
        None,
    )
    if first_script is not None and (first_csp is None or first_csp > first_script):
        problems.append(f"{page}: a script comes before the Content-Security-Policy")
    for tag, attrs in scan.start_tags:
        if tag in FORBIDDEN_ELEMENTS:
            problems.append(f"{page}: <{tag}> element")
        for name, value in attrs:
            value = value or ""
            if name.startswith("on"):
                problems.append(f"{page}: <{tag} {name}={value[:60]!r}>")
            if name in URL_ATTRIBUTES:
                urls = [u.strip().split(" ")[0] for u in value.split(",")] if "srcset" in name else [value]
                for url in urls:
                    problem = url_problem(url)
                    if problem:
                        problems.append(f"{page}: <{tag} {name}={value[:80]!r}>: {problem}")
                    elif SCHEME.match(url.strip()) is None and not url.startswith("#"):
                        target = _resolve_relative(page, url)
                        if target is None:
                            problems.append(f"{page}: <{tag} {name}={value[:80]!r}> leaves the site")
                        elif target not in files:
                            problems.append(
                                f"{page}: <{tag} {name}={value[:80]!r}> names no file of the site"
                            )
            if name == "style" and CSS_DANGER.search(value):
                problems.append(f"{page}: <{tag} style={value[:60]!r}>")
            if name == "http-equiv" and value.lower() not in {"content-security-policy"}:
                problems.append(f"{page}: <meta http-equiv={value!r}>")
            if tag == "link" and name == "rel" and value.lower() not in {"stylesheet", "canonical", "icon"}:
                problems.append(f"{page}: <link rel={value!r}>")
    for attrs, body in scan.scripts:
        src = attrs.get("src") or ""
        if not SITE_SCRIPT.fullmatch(src) or _resolve_relative(page, src) not in files:
            problems.append(f"{page}: <script src={src!r}> is not one of the site's own scripts")
        if body.strip():
            problems.append(f"{page}: inline script {body.strip()[:60]!r}")
        if (attrs.get("type") or "text/javascript") not in {"text/javascript", "module"}:
            problems.append(f"{page}: <script type={attrs.get('type')!r}>")
    problems += [f"{page}: comment {c[:60]!r}" for c in scan.comments if "<" in c or ">" in c]
    problems += [f"{page}: declaration {d[:60]!r}" for d in scan.declarations if d.lower() != "doctype html"]
    # The same rules on the raw text, in case html.parser and a browser disagree about a tag.
    raw_scripts = 0
    for match in RAW_TAG.finditer(text):
        tag, rest = match.group(1).lower(), QUOTED.sub('""', match.group(2))
        raw_scripts += tag == "script"
        if tag in FORBIDDEN_ELEMENTS:
            problems.append(f"{page}: raw <{tag}> tag")
        if RAW_HANDLER.search(rest):
            problems.append(f"{page}: raw handler in {match.group(0)[:80]!r}")
    if raw_scripts != len(scan.scripts) or len(re.findall(r"<script\b", text, re.IGNORECASE)) != raw_scripts:
        problems.append(f"{page}: the raw text has script tags that html.parser did not see")
    if re.search(r"<!\[CDATA\[|<\?xml-stylesheet|<!ENTITY", text, re.IGNORECASE):
        problems.append(f"{page}: CDATA, entity declaration or stylesheet instruction")
    return problems


def check_svg(text: str, name: str, files: set[str]) -> list[str]:
    """Return every way a standalone SVG file could run, load or link something it should not."""
    problems: list[str] = []
    if re.search(r"<!DOCTYPE|<!ENTITY|<\?xml-stylesheet|<!\[CDATA\[", text, re.IGNORECASE):
        problems.append(f"{name}: DOCTYPE, entity, CDATA or stylesheet instruction")
    try:
        root = ET.fromstring(text.encode("utf-8"))
    except ET.ParseError as exc:
        return [*problems, f"{name}: not well-formed XML: {exc}"]
    for element in root.iter():
        tag = element.tag.rsplit("}", 1)[-1].lower()
        if tag in FORBIDDEN_ELEMENTS or tag == "script":
            problems.append(f"{name}: <{tag}> element")
        for key, value in element.attrib.items():
            local = key.rsplit("}", 1)[-1].lower()
            if local.startswith("on"):
                problems.append(f"{name}: <{tag} {local}={value[:60]!r}>")
            if local in {"href", "src"}:
                problem = url_problem(value)
                if problem:
                    problems.append(f"{name}: <{tag} {local}={value[:80]!r}>: {problem}")
                elif SCHEME.match(value.strip()) is None and not value.startswith("#"):
                    target = _resolve_relative(name, value)
                    if target is None or target not in files:
                        problems.append(f"{name}: <{tag} {local}={value[:80]!r}> names no file of the site")
            if local == "style" and CSS_DANGER.search(value):
                problems.append(f"{name}: <{tag} style={value[:60]!r}>")
    return problems


def check_data_files(root: Path, files: Iterable[str]) -> list[str]:
    """Return problems in the site's data files: JSON, the search index script, CSV downloads."""
    problems: list[str] = []

    def no_constants(value: str) -> Any:
        raise ValueError(f"non-standard JSON constant {value}")

    for name in files:
        data = (root / name).read_bytes()
        if name.endswith(".json"):
            try:
                json.loads(data.decode("utf-8"), parse_constant=no_constants)
            except ValueError as exc:
                problems.append(f"{name}: not standard JSON: {exc}")
        elif name.endswith(".csv"):
            try:
                rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
            except (ValueError, csv.Error) as exc:
                problems.append(f"{name}: not CSV: {exc}")
                continue
            problems += [
                f"{name}: cell {cell[:40]!r} would run as a spreadsheet formula"
                for row in rows[1:]
                for cell in row
                if cell.startswith(FORMULA_START)
            ]
        elif name == "assets/search-index.js":
            prefix = b"window.REPORTGEN_SEARCH = "
            if not data.isascii() or not data.startswith(prefix) or not data.endswith(b";\n"):
                problems.append(f"{name}: not one ASCII assignment of JSON")
                continue
            try:
                json.loads(data[len(prefix) : -2], parse_constant=no_constants)
            except ValueError as exc:
                problems.append(f"{name}: its data is not JSON: {exc}")
    return problems


def check_names(files: Iterable[str]) -> list[str]:
    """Return problems with the site's file names: unsafe characters, collisions, device names."""
    problems: list[str] = []
    seen: dict[str, str] = {}
    for name in files:
        if "\\" in name or any(ord(c) < 0x20 or c in '<>:"|?*' for c in name):
            problems.append(f"{name!r}: a character not allowed in file names on some systems")
        for part in PurePosixPath(name).parts:
            if len(part.encode("utf-8")) > 255:
                problems.append(f"{name!r}: a name longer than 255 bytes")
            if part.endswith((".", " ")) or part.split(".")[0].lower() in WINDOWS_DEVICES:
                problems.append(f"{name!r}: {part!r} cannot be a file name on Windows")
        key = unicodedata.normalize("NFC", name).casefold()
        if key in seen:
            problems.append(f"{name!r} and {seen[key]!r} are one file on case-insensitive systems")
        seen[key] = name
    return problems


def check_sums(root: Path, files: list[str]) -> list[str]:
    """Return problems with SHA256SUMS: it must list every other file with its checksum."""
    if SUMS not in files:
        return [f"no {SUMS}"]
    listed: dict[str, str] = {}
    for line in (root / SUMS).read_text(encoding="utf-8").splitlines():
        digest, _, name = line.partition("  ")
        listed[name] = digest
    problems = [f"{SUMS} does not list {f!r}" for f in files if f != SUMS and f not in listed]
    problems += [f"{SUMS} lists {f!r}, which is not in the site" for f in listed if f not in files]
    problems += [
        f"{SUMS}: wrong checksum for {f!r}"
        for f, digest in listed.items()
        if f in files and hashlib.sha256((root / f).read_bytes()).hexdigest() != digest
    ]
    return problems


def site_files(root: Path) -> list[str]:
    """Return the site's files (hidden ones too), as sorted relative POSIX paths."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() or p.is_symlink())


def check_site(root: Path) -> list[str]:
    """Return every problem found in a built site: each page, graph, data file, name and checksum."""
    files = site_files(root)
    problems: list[str] = []
    for path in root.rglob("*"):
        if path.is_symlink():
            problems.append(f"{path}: a symbolic link")
        elif not path.resolve().is_relative_to(root.resolve()):
            problems.append(f"{path}: outside the site")
    file_set = set(files)
    for name in files:
        if name.endswith(".html"):
            problems += check_html((root / name).read_text(encoding="utf-8"), name, file_set)
        elif name.endswith(".svg"):
            problems += check_svg((root / name).read_text(encoding="utf-8"), name, file_set)
    problems += check_data_files(root, files)
    problems += check_names(files)
    problems += check_sums(root, files)
    if MARKER not in files:
        problems.append(f"no {MARKER} marker")
    return problems


def check_beside(output: Path, allowed: Iterable[str] = ()) -> list[str]:
    """Return what a build left beside its output folder, besides its lock, cache and ``allowed``."""
    ok = {output.name, f".{output.name}.lock", f".{output.name}.cache", *allowed}
    return [f"{p.name!r} beside the site" for p in output.parent.iterdir() if p.name not in ok]


def assert_clean(problems: list[str]) -> None:
    """Fail with every problem listed (at most 40)."""
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:40])


def all_page_text(root: Path) -> str:
    """Return the text of every page of a site, joined."""
    pages = sorted(p for p in root.rglob("*.html") if p.is_file())
    return "\n".join(page_text(p.read_text(encoding="utf-8")) for p in pages)


# ---------------------------------------------------------------------------------- the corpus


def _case_names() -> list[str]:
    names = set()
    for path in DATA.iterdir():
        if path.name.startswith((".", "_")) or path.name == "README.md":
            continue
        names.add(path.name if path.is_dir() else path.name.rsplit(".", 1)[0])
    return sorted(names)


CASES = _case_names()
EXPECTED = [n for n in CASES if (DATA / f"{n}.expected").is_file()]
SAFE = [n for n in CASES if (DATA / f"{n}.safe").is_file()]

# Cases whose outcome is wrong today; the case file holds the outcome reportgen should give. Strict: a fix
# shows up as XPASS, and the entry must then be removed.
XFAIL: dict[str, str] = {}


def _params(names: list[str]) -> list[Any]:
    return [
        pytest.param(n, id=n, marks=pytest.mark.xfail(strict=True, reason=XFAIL[n])) if n in XFAIL else n
        for n in names
    ]


def _input(name: str) -> Path:
    return Path(name) if (DATA / name).is_dir() else Path(f"{name}.yaml")


def _lines(path: Path) -> list[str]:
    return [
        line
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]


def api_build(paths: list[Path], output: Path, **options: Any) -> BuildResult:
    """Build in this process, with no build date in the output."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("SOURCE_DATE_EPOCH", raising=False)
        return build(paths, BuildOptions(output=output, **options))


def reportgen_command() -> list[str]:
    script = Path(sys.executable).with_name("reportgen")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "reportgen"]


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    env.update(CI="1", PYTHONDONTWRITEBYTECODE="1", **extra)
    return env


def run_cli(*args: str | Path, cwd: Path = REPO, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*reportgen_command(), *map(str, args)],
        capture_output=True,
        text=True,
        env=cli_env(),
        cwd=cwd,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def test_corpus_is_complete() -> None:
    assert len(CASES) >= 60, f"only {len(CASES)} hostile cases"
    for name in CASES:
        assert (DATA / name).is_dir() or (DATA / f"{name}.yaml").is_file(), f"{name}: no input"
        kinds = [(DATA / f"{name}{s}").is_file() for s in (".expected", ".safe")]
        assert sum(kinds) == 1, f"{name}: needs exactly one of .expected and .safe"
        if name in EXPECTED:
            assert _lines(DATA / f"{name}.expected"), f"{name}.expected is empty"
    assert set(XFAIL) <= set(CASES)


@pytest.mark.parametrize("name", _params(EXPECTED))
def test_expected_diagnostics(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(DATA)
    start = time.perf_counter()
    result = validate(load_paths([_input(name)]))
    assert time.perf_counter() - start < 10, "hostile input must be rejected quickly"
    assert [str(d) for d in result.diagnostics] == _lines(DATA / f"{name}.expected")


@pytest.mark.parametrize("name", _params(EXPECTED))
def test_expected_case_stops_the_build(name: str, tmp_path: Path) -> None:
    out = tmp_path / "site"
    done = run_cli("-q", "build", _input(name), "-o", out, cwd=DATA)
    assert "Traceback" not in done.stderr, done.stderr
    expected = _lines(DATA / f"{name}.expected")
    if any("error[" in line for line in expected):
        assert done.returncode == 1, done.stderr
        assert not out.exists() and check_beside(out) == []
        assert "error: build stopped" in done.stderr
    for line in expected:
        assert line in done.stderr


@pytest.mark.parametrize("name", _params(SAFE))
def test_safe_case_builds_safely(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(DATA)
    out = tmp_path / "site"
    result = api_build([_input(name)], out)
    assert [str(d) for d in result.validation.diagnostics] == []
    assert result.written and not result.graph_errors
    assert_clean(check_site(out))
    assert_clean(check_beside(out))
    text = all_page_text(out)
    missing = [s for s in _lines(DATA / f"{name}.safe") if " ".join(s.split()) not in text]
    assert not missing, f"not shown as text on any page: {missing}"


def test_a_few_safe_cases_through_the_command_line(tmp_path: Path) -> None:
    """The command line builds them too, says nothing alarming, and writes only inside its folder."""
    for name in ("script_tag_everywhere", "names_dot_dot_and_slashes", "markdown_dangerous_links"):
        out = tmp_path / name
        done = run_cli("-q", "build", _input(name), "-o", out, cwd=DATA)
        assert done.returncode == 0, done.stderr
        assert done.stderr == "" and done.stdout == ""
        assert_clean(check_site(out))
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == sorted(
        ["script_tag_everywhere", "names_dot_dot_and_slashes", "markdown_dangerous_links"]
    )


# ---------------------------------------------------------------------------------- the checks themselves


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("../runs/a.html", True),
        ("#main", True),
        ("https://example.org/x", True),
        ("HTTP://example.org", True),
        ("javascript:alert(1)", False),
        (" JaVaScRiPt:alert(1)", False),
        ("java\tscript:alert(1)", False),
        ("\x01javascript:alert(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
        ("vbscript:msgbox(1)", False),
        ("//evil.example/x.js", False),
        ("\\\\evil.example\\x", False),
        ("https:evil.example", False),
        ("file:///etc/passwd", False),
    ],
)
def test_url_check(value: str, ok: bool) -> None:
    assert (url_problem(value) is None) is ok


def test_the_html_check_finds_each_kind_of_injection() -> None:
    policy = "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'"
    csp = f'<meta http-equiv="Content-Security-Policy" content="{policy}">'
    files = {"index.html", "assets/site.js", "runs/a.html"}
    clean = (
        f'<!DOCTYPE html><html><head>{csp}<script src="assets/site.js" defer></script></head>'
        '<body><a href="runs/a.html">x</a> &lt;script&gt;</body></html>'
    )
    assert check_html(clean, "index.html", files) == []
    bad = {
        "<script>alert(1)</script>": "inline script",
        '<img src="x" onerror="alert(1)">': "<img> element",
        '<a href="javascript:alert(1)">x</a>': "scheme 'javascript'",
        '<a href="runs/b.html">x</a>': "names no file",
        '<a href="../../etc/passwd">x</a>': "leaves the site",
        '<svg><a xlink:href="data:text/html,x">y</a></svg>': "scheme 'data'",
        "<div onmouseover=alert(1)>x</div>": "onmouseover",
        '<p style="background:url(https://evil.example/x)">x</p>': "style=",
        '<script src="https://evil.example/x.js"></script>': "not one of the site's own",
        '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">': "http-equiv='refresh'",
        "<!-- <script>alert(1)</script> -->": "comment",
        '<iframe srcdoc="x"></iframe>': "<iframe>",
    }
    for snippet, finding in bad.items():
        page = clean.replace("</body>", snippet + "</body>")
        problems = check_html(page, "index.html", files)
        assert any(finding in p for p in problems), (snippet, problems)
    no_csp = clean.replace(csp, "")
    assert any("Content-Security-Policy" in p for p in check_html(no_csp, "index.html", files))
    weak = clean.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")
    assert any("unsafe-inline" in p for p in check_html(weak, "index.html", files))


def test_the_svg_check_finds_each_kind_of_injection() -> None:
    head = '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
    files = {"runs/a.svg", "runs/a.html"}
    assert check_svg(f'{head}<a xlink:href="a.html"><text>x</text></a></svg>', "runs/a.svg", files) == []
    bad = {
        "<script>alert(1)</script>": "<script>",
        '<g onload="alert(1)"/>': "onload",
        '<a xlink:href="javascript:alert(1)"/>': "javascript",
        '<foreignObject><div xmlns="http://www.w3.org/1999/xhtml">x</div></foreignObject>': "foreignobject",
        '<set attributeName="href" to="javascript:alert(1)"/>': "<set>",
        "<text>x &lt; y</text><text>": "not well-formed",
    }
    for snippet, finding in bad.items():
        problems = check_svg(f"{head}{snippet}</svg>", "runs/a.svg", files)
        assert any(finding in p for p in problems), (snippet, problems)


def test_the_name_and_data_checks_find_problems(tmp_path: Path) -> None:
    assert check_names(["runs/Model.html", "runs/model.html"])
    assert check_names(["runs/caf\u00e9.html", "runs/cafe\u0301.html"])
    assert check_names(["runs/CON.html"]) and check_names(["runs/a.html."]) and check_names(["a\\b"])
    (tmp_path / "a.csv").write_text("user,reason\r\n\"=cmd|' /C calc'!A0\",x\r\n")
    (tmp_path / "b.json").write_text('{"x": NaN}')
    assert len(check_data_files(tmp_path, ["a.csv", "b.json"])) == 2


def test_the_site_script_builds_no_markup_from_data() -> None:
    """The one script every page loads inserts text, never markup, and evaluates nothing."""
    script = (REPO / "templates" / "assets" / "site.js").read_text(encoding="utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in script, sink
    assert not re.search(r"setTimeout\(\s*['\"]|setInterval\(\s*['\"]", script)


# ---------------------------------------------------------------------------------- generated monsters


def _write(folder: Path, name: str, text: str | bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return path


def _diagnostics(paths: list[Path]) -> list[str]:
    return [str(d) for d in validate(load_paths(paths)).diagnostics]


def test_a_file_over_the_size_limit_is_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    big = tmp_path / "huge.yaml"
    with big.open("wb") as out:  # sparse: costs no disk and is never read
        out.truncate(MAX_FILE_BYTES + 1)
    assert _diagnostics([Path("huge.yaml")]) == [
        f"huge.yaml: error[RG001]: file is {MAX_FILE_BYTES + 1} bytes; the limit is {MAX_FILE_BYTES}"
    ]
    done = run_cli("validate", "huge.yaml", cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr


def test_the_size_limit_is_exact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(load_module, "MAX_FILE_BYTES", 64)
    text = "runs:\n  - id: " + "r" * 50 + "\n"
    text = text[: 64 - 1] + "\n"
    assert len(text.encode()) == 64
    _write(tmp_path, "at.yaml", text)
    _write(tmp_path, "over.yaml", text + "\n")
    assert _diagnostics([Path("at.yaml")]) == []
    assert _diagnostics([Path("over.yaml")]) == ["over.yaml: error[RG001]: file is 65 bytes; the limit is 64"]


def test_a_huge_text_field_builds_and_is_escaped(tmp_path: Path) -> None:
    """1 MiB of payload in three text fields: built in bounded time, escaped, pages a few times its size."""
    chunk = "<script>alert(1)</script>[x](javascript:alert(1))\n"
    text = chunk * (1024 * 1024 // len(chunk))
    doc = {
        "artifacts": [{"name": "big", "version": "v0", "type": "t", "description": text, "project": text}],
        "runs": [{"id": "r", "notes": text, "inputs": ["big:v0"]}],
    }
    manifests = tmp_path / "m"
    _write(manifests, "big.yaml", yaml.safe_dump(doc, width=1 << 30))
    start = time.perf_counter()
    result = api_build([manifests], tmp_path / "site")
    assert result.written
    assert time.perf_counter() - start < 60
    page = tmp_path / "site" / "artifacts" / "big" / "v0.html"
    assert page.stat().st_size < 8 * len(text)
    assert_clean(check_site(tmp_path / "site"))


@pytest.mark.parametrize(
    "field",
    ["artifact name", "artifact type", "run id", "run name", "user", "job type", "registry", "collection"],
)
def test_names_of_512_characters_build_and_513_do_not(tmp_path: Path, field: str) -> None:
    """512 characters (here 4-byte ones, 2 KiB of UTF-8) is the longest name: its file name stays short."""

    def doc(n: int) -> dict[str, Any]:
        long = "\U0001d518" * n
        names = {f: f.split()[-1] for f in ("artifact name", "artifact type", "run id", "run name", "user")}
        names.update({"job type": "train", "registry": "model", "collection": "zoo"})
        names[field] = long
        path = f"{names['registry']}/{names['collection']}"
        return {
            "collections": [
                {"registry": names["registry"], "name": names["collection"], "type": names["artifact type"]}
            ],
            "artifacts": [{"name": names["artifact name"], "version": "v0", "type": names["artifact type"]}],
            "runs": [
                {
                    "id": names["run id"],
                    "name": names["run name"],
                    "user": names["user"],
                    "job_type": names["job type"],
                    "outputs": [f"{names['artifact name']}:v0"],
                }
            ],
            "actions": [
                {
                    "at": "2026-01-01T00:00:00Z",
                    "user": names["user"],
                    "action": "link",
                    "collection": path,
                    "artifact": f"{names['artifact name']}:v0",
                }
            ],
        }

    ok, too_long = tmp_path / "ok", tmp_path / "long"
    _write(ok, "m.yaml", yaml.safe_dump(doc(512), allow_unicode=True, width=1 << 20))
    _write(too_long, "m.yaml", yaml.safe_dump(doc(513), allow_unicode=True, width=1 << 20))
    result = api_build([ok], tmp_path / "site")
    assert result.written, [str(d) for d in result.validation.diagnostics]
    assert_clean(check_site(tmp_path / "site"))
    assert "\U0001d518" * 512 in all_page_text(tmp_path / "site")
    problems = _diagnostics([too_long])
    assert any("error[RG112]" in p and "513 characters long; the limit is 512" in p for p in problems)
    # an entry whose required name is invalid is dropped, so a reference to it may fail too
    assert {re.search(r"\[(RG\d+)\]", p).group(1) for p in problems} <= {"RG112", "RG205", "RG208"}, problems


def _fan_out(folder: Path, runs: int, job_type: str | None = "train") -> Path:
    kind = f"job_type: {job_type}, " if job_type else ""
    lines = ["artifacts:", "  - {name: data, version: v0, type: dataset}", "runs:"]
    lines += [f"  - {{id: run-{i:05d}, {kind}inputs: [data:v0]}}" for i in range(runs)]
    return _write(folder, "fan.yaml", "\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def fan_out_10000(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fan-out")
    _fan_out(folder, 10_000, job_type=None)
    return folder


def test_a_fan_out_of_10000_runs_validates_and_its_hub_graph_is_cut(fan_out_10000: Path) -> None:
    start = time.perf_counter()
    done = run_cli("validate", fan_out_10000)
    assert done.returncode == 0, done.stdout + done.stderr
    assert time.perf_counter() - start < 30
    org = validate(load_paths([fan_out_10000])).organisation
    assert len(org.runs) == 10_000
    graph, _ = drawing(org, "data:v0", GraphOptions(), fmt="dot")
    assert len(graph.vertices) == DEFAULT_NODE_BUDGET  # runs without a job type never cluster: cut
    assert f"only the {DEFAULT_NODE_BUDGET} nodes closest to the focus are drawn" in graph.notes
    assert f"{10_001 - DEFAULT_NODE_BUDGET} nodes are left out" in graph.notes
    run_graph, _ = drawing(org, "run-05000", GraphOptions(), fmt="dot")
    assert len(run_graph.vertices) == 2  # the run and its input; its 9,999 siblings are not its lineage


def test_a_run_graph_costs_the_same_whatever_the_fan_out(tmp_path: Path) -> None:
    def per_graph(runs: int) -> float:
        reporter = Reporter()
        text = _fan_out(tmp_path / str(runs), runs).read_bytes()
        org = build_organisation(load_bytes(text, "fan.yaml", reporter), reporter)
        focuses = [NodeKey.of_run(f"run-{i:05d}") for i in range(0, runs, max(1, runs // 100))][:100]
        start = time.perf_counter()
        for focus in focuses:
            neighbourhood(org, focus, GraphOptions())
        return (time.perf_counter() - start) / len(focuses)

    small, large = per_graph(100), per_graph(5_000)
    assert large < 5 * small + 0.0005, (
        f"{small * 1000:.3f} ms per graph at 100 runs, {large * 1000:.3f} ms at 5000"
    )


def test_a_cluster_costs_linear_time_in_its_members(tmp_path: Path) -> None:
    def hub(runs: int) -> float:
        """Return the best of three timings, without the cycle collector: a ratio of complexity, which
        a collection of everything loading made (or a busy machine) must not decide."""
        org = validate(load_paths([_fan_out(tmp_path / str(runs), runs)])).organisation
        times = []
        gc.collect()
        gc.disable()
        try:
            for _ in range(3):
                start = time.perf_counter()
                graph, _ = drawing(org, "data:v0", GraphOptions(), fmt="dot")
                times.append(time.perf_counter() - start)
        finally:
            gc.enable()
        assert len(graph.nodes) == 1 and len(graph.clusters) == 1  # one cluster of every run
        assert len(graph.clusters[0].members) == runs
        return min(times)

    small, large = hub(1000), hub(4000)
    assert large < 8 * small + 0.05, f"{small:.3f} s for 1000 members, {large:.3f} s for 4000"


def test_a_fan_out_of_10000_runs_builds(fan_out_10000: Path, tmp_path: Path) -> None:
    """10,000 runs sharing one input: every page and graph, in bounded time; the hub's graph is cut."""
    out = tmp_path / "site"
    start = time.perf_counter()
    done = run_cli("-q", "build", fan_out_10000, "-o", out, timeout=600)
    assert done.returncode == 0, done.stderr
    assert time.perf_counter() - start < 120
    assert len(list((out / "runs").glob("*.html"))) == 10_000
    assert len(list((out / "runs").glob("*.svg"))) == 10_000
    hub = (out / "artifacts" / "data" / "v0.html").read_text(encoding="utf-8")
    assert "9601 nodes are left out" in page_text(hub)
    files = site_files(out)
    file_set = set(files)
    sample = [f for f in files if not f.startswith("runs/")] + files[:: len(files) // 100]
    problems = check_names(files) + check_sums(out, files)
    for name in sample:
        if name.endswith(".html"):
            problems += check_html((out / name).read_text(encoding="utf-8"), name, file_set)
        elif name.endswith(".svg"):
            problems += check_svg((out / name).read_text(encoding="utf-8"), name, file_set)
    assert_clean(problems)


def test_nesting_at_the_depth_limit_builds_and_one_more_is_refused(tmp_path: Path) -> None:
    def nested(levels: int) -> str:
        # below the top-level mapping: the 'runs' list (1), the run (2), 'config' (3), its value (4) ...
        value: Any = "<script>alert(1)</script>"
        for i in range(levels - 4):
            value = {f"k{i}": value} if i % 2 else [value]
        return yaml.safe_dump({"runs": [{"id": "deep", "config": {"c": value}}]}, width=1 << 20)

    ok, deep = tmp_path / "ok", tmp_path / "deep"
    _write(ok, "m.yaml", nested(MAX_DEPTH))
    _write(deep, "m.yaml", nested(MAX_DEPTH + 1))
    result = api_build([ok], tmp_path / "site")
    assert result.written, [str(d) for d in result.validation.diagnostics]
    assert_clean(check_site(tmp_path / "site"))
    (problem,) = _diagnostics([deep])
    assert "error[RG006]: nested deeper than 64 levels" in problem


def test_aliases_of_a_big_string_are_bounded_in_bytes(tmp_path: Path) -> None:
    big = "<b>x</b>" * 8192  # 64 KiB
    lines = [f"artifacts:\n  - {{name: a0, version: v0, type: t, description: &big '{big}'}}"]
    lines += [f"  - {{name: a{i}, version: v0, type: t, description: *big}}" for i in range(1, 4000)]
    path = _write(tmp_path, "m.yaml", "\n".join(lines) + "\n")
    assert path.stat().st_size < 400_000
    problems = _diagnostics([path])
    assert any("error[RG006]" in p for p in problems), "256 MiB of expanded text passed unchecked"
    assert len(problems) == 1


def test_a_manifest_set_is_bounded_in_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Files each within the file limit, too many together: the file that crosses the line says so."""
    monkeypatch.setattr(load_module, "MAX_SET_BYTES", 1000)
    monkeypatch.chdir(tmp_path)
    for i in range(4):
        _write(
            tmp_path / "m",
            f"f{i}.yaml",
            "runs:\n" + "".join(f"  - {{id: r{i}-{j:02d}}}\n" for j in range(20)),
        )
    sizes = [(tmp_path / "m" / f"f{i}.yaml").stat().st_size for i in range(4)]
    assert sizes[0] + sizes[1] + sizes[2] <= 1000 < sum(sizes)
    (problem,) = _diagnostics([Path("m")])
    assert problem == (
        f"m/f3.yaml: error[RG001]: the manifests read so far hold {sum(sizes)} bytes; "
        "a manifest set may hold 1000"
    )


def test_a_manifest_set_is_bounded_in_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    limit = getattr(load_module, "MAX_SET_VALUES", None)
    assert limit is not None, "reportgen.load has no MAX_SET_VALUES"
    monkeypatch.setattr(load_module, "MAX_SET_VALUES", 1000)
    for i in range(4):  # each file alone is well within the limit, the four together are not
        _write(tmp_path, f"f{i}.yaml", "runs:\n" + "".join(f"  - {{id: r{i}-{j}}}\n" for j in range(100)))
    problems = _diagnostics([tmp_path])
    assert any("error[RG006]" in p or "error[RG001]" in p for p in problems), problems


def test_many_small_documents_and_files_build(tmp_path: Path) -> None:
    manifests = tmp_path / "m"
    for i in range(40):
        docs = "".join(f"---\nruns:\n  - {{id: 'r{i}-{j}<script>', inputs: ['d:v0']}}\n" for j in range(10))
        _write(manifests / f"team-{i:02d}", "runs.yaml", docs)
    _write(manifests, "data.yaml", "artifacts:\n  - {name: d, version: v0, type: t}\n")
    result = api_build([manifests], tmp_path / "site")
    assert result.written and len(result.validation.organisation.runs) == 400
    assert_clean(check_site(tmp_path / "site"))


def test_slugs_never_collide_even_case_insensitively() -> None:
    names = [
        "Model",
        "model",
        "MODEL",
        "caf\u00e9",
        "cafe\u0301",
        "\u212b",
        "\u00c5",
        "\ufb01le",
        "file",
        "stra\u00dfe",
        "strasse",
        "\u212a",
        "k",
        "K",
        "..",
        ".",
        "../x",
        "..\\x",
        "a/b",
        "a\\b",
        "a b",
        "a_b",
        "con",
        "CON",
        "con.txt",
        "x.",
        "x",
        "-",
        "_",
        "",
        "\u0131",
        "i",
        "I",
        "\u0130",
        f"my-model-{slug('My Model').rsplit('-', 1)[1]}",
        "My Model",
    ]
    slugs = [slug(n) for n in names]
    folded = {unicodedata.normalize("NFC", s).casefold() for s in slugs}
    assert len(folded) == len(set(names))
    assert all(re.fullmatch(r"[a-z0-9][a-z0-9._-]*", s) and len(s) <= 71 for s in slugs)
    pages = {artifact_page(ArtifactRef(n, 0)).casefold() for n in names if n}
    assert len(pages) == len({n for n in names if n})
    assert len({run_page(n).casefold() for n in names}) == len(set(names))


HOSTILE_FILE_NAME = "a\n::error file=x.yaml,line=1::injected %0A\x1b[2J,b.yaml"


def test_github_annotations_cannot_be_injected_through_a_file_name(tmp_path: Path) -> None:
    """A manifest named to hold a workflow command: every annotation stays one escaped line."""
    _write(tmp_path, HOSTILE_FILE_NAME, "runs:\n  - {id: r, stat: x}\n")
    done = run_cli("validate", "--format", "github", ".", cwd=tmp_path)
    assert done.returncode == 1
    (line,) = done.stdout.splitlines()
    assert line.startswith("::error file=a%0A%3A%3Aerror file=x.yaml%2Cline=1%3A%3Ainjected %250A")
    assert line.endswith("::unknown key 'stat' in run (did you mean 'state'?)")
    assert "\x1b" not in done.stdout
    report = json.loads(run_cli("validate", "--format", "json", ".", cwd=tmp_path).stdout)
    assert report["diagnostics"][0]["file"] == HOSTILE_FILE_NAME


def test_text_diagnostics_stay_one_line_whatever_the_file_name(tmp_path: Path) -> None:
    _write(tmp_path, HOSTILE_FILE_NAME, "runs:\n  - {id: r, stat: x}\n")
    for args in (["validate", "."], ["build", ".", "-o", str(tmp_path / "site")]):
        done = run_cli(*args, cwd=tmp_path)
        assert done.returncode == 1
        output = done.stdout + done.stderr
        assert not any(line.startswith("::") for line in output.splitlines()), output
        assert "\x1b" not in output
