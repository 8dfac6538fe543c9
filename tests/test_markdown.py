"""Markdown of collection cards and descriptions (reportgen.markdown): untrusted text made safe HTML."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from markupsafe import Markup

from reportgen.markdown import render_markdown

REL = "nofollow noopener noreferrer"


class Elements(HTMLParser):
    """Collect every start tag with its attributes, and the text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.attr_names: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))
        self.attr_names.extend(k for k, _ in attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> Elements:
    parser = Elements()
    parser.feed(html)
    parser.close()
    return parser


def tags(html: str) -> list[str]:
    return [t for t, _ in parse(html).elements]


def links(html: str) -> list[dict[str, str]]:
    return [a for t, a in parse(html).elements if t == "a"]


def test_returns_markup_and_nothing_for_blank_text() -> None:
    assert isinstance(render_markdown("*hi*"), Markup)
    assert render_markdown("*hi*") == Markup("<p><em>hi</em></p>\n")
    assert render_markdown("") == Markup("")
    assert render_markdown("  \n\t\n") == Markup("")


@pytest.mark.parametrize("source", ["# A", "## A", "### A", "#### A", "##### A", "###### A", "A\n==="])
def test_a_cards_first_heading_sits_below_the_page_headings(source: str) -> None:
    html = render_markdown(source)
    assert tags(html) == ["h3"]
    assert html == "<h3>A</h3>\n"


@pytest.mark.parametrize(
    ("source", "levels"),
    [
        ("# A\n\n## B\n\n### C", ["h3", "h4", "h5"]),  # demoted by two
        ("# A\n\n### B\n\n###### C", ["h3", "h4", "h5"]),  # no level is skipped
        ("#### A\n\n## B\n\n# C", ["h3", "h4", "h3"]),  # never above <h3>
        ("# A\n\n## B\n\n## C\n\n### D\n\n### E", ["h3", "h4", "h4", "h5", "h5"]),
    ],
)
def test_headings_keep_a_sound_outline(source: str, levels: list[str]) -> None:
    assert tags(render_markdown(source)) == levels


@pytest.mark.parametrize(
    ("source", "shown"),
    [
        ("<script>alert(1)</script>", "<script>alert(1)</script>"),
        ("<img src=x onerror=alert(1)>", "<img src=x onerror=alert(1)>"),
        ("text <b onclick=alert(1)>bold</b>", "text <b onclick=alert(1)>bold</b>"),
        ("<iframe src=https://evil.example></iframe>", "<iframe src=https://evil.example></iframe>"),
        ("<a href=javascript:alert(1)>x</a>", "<a href=javascript:alert(1)>x</a>"),
        ('<svg onload="alert(1)"></svg>', '<svg onload="alert(1)"></svg>'),
        ("<!-- comment --><style>*{}</style>", "<!-- comment --><style>*{}</style>"),
        ("```\n<script>alert(1)</script>\n```", "<script>alert(1)</script>"),
        ("`<script>`", "<script>"),
    ],
)
def test_raw_html_is_escaped_as_text(source: str, shown: str) -> None:
    html = str(render_markdown(source))
    parsed = parse(html)
    assert {t for t, _ in parsed.elements} <= {"p", "pre", "code"}, html
    assert not [n for n in parsed.attr_names if n.startswith("on")]
    assert "<script" not in html and "<img" not in html and "<a" not in html
    assert shown in "".join(parsed.text)  # the reader sees exactly what was written


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "&#106;avascript:alert(1)",
        "javascript&colon;alert(1)",
        "vbscript:msgbox(1)",
        "data:text/html,<script>alert(1)</script>",
        "mailto:someone@example.org",
        "file:///etc/passwd",
        "ftp://example.org/x",
        "//evil.example/x",
        "/absolute/page.html",
        "relative/page.html",
        "#fragment",
    ],
)
def test_only_http_links_become_links(url: str) -> None:
    for source in (f"[x]({url})", f"[x][r]\n\n[r]: {url}", f"<{url}>"):
        html = str(render_markdown(source))
        assert links(html) == [], (source, html)
        assert "javascript:" not in "".join(a.get("href", "") for _, a in parse(html).elements).lower()


@pytest.mark.parametrize(
    ("source", "href"),
    [
        ("[ok](https://example.org/a?b=1&c=2)", "https://example.org/a?b=1&c=2"),
        ("[ok](http://example.org)", "http://example.org"),
        ("[ok](HTTPS://EXAMPLE.ORG/X)", "HTTPS://EXAMPLE.ORG/X"),
        ("<https://example.org/auto>", "https://example.org/auto"),
        ("[ok][r]\n\n[r]: https://example.org/ref", "https://example.org/ref"),
    ],
)
def test_http_links_get_rel_nofollow_noopener_noreferrer(source: str, href: str) -> None:
    (link,) = links(render_markdown(source))
    assert link["href"] == href
    assert link["rel"] == REL
    assert set(link) <= {"href", "rel", "title"}


def test_a_link_title_cannot_break_out_of_its_attribute() -> None:
    html = str(render_markdown('[x](https://example.org "a\\"><script>alert(1)</script>")'))
    parsed = parse(html)
    assert [t for t, _ in parsed.elements] == ["p", "a"]
    (link,) = links(html)
    assert link["title"] == 'a"><script>alert(1)</script>'
    assert not [n for n in parsed.attr_names if n.startswith("on")]


@pytest.mark.parametrize(
    "source",
    [
        "![img](https://evil.example/x.png)",
        "![img][r]\n\n[r]: https://evil.example/x.png",
        '![img](https://evil.example/x.png "title")',
        "[![img](https://evil.example/x.png)](https://example.org)",
    ],
)
def test_images_are_never_rendered(source: str) -> None:
    """An <img> would make the page fetch from the network; the image never becomes one."""
    html = str(render_markdown(source))
    assert "img" not in tags(html)
    assert "<img" not in html
    for link in links(html):
        assert link["rel"] == REL


def test_ordinary_markdown_still_works() -> None:
    html = str(render_markdown("* one\n* two\n\n**bold** and `code`\n\n> quote"))
    assert tags(html) == ["ul", "li", "li", "p", "strong", "code", "blockquote", "p"]
