"""Render untrusted Markdown (collection cards, descriptions) to safe HTML.

markdown-it-py with raw HTML off, images off (a site must make no network request), only http(s)
links, and headings demoted below the page's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markupsafe import Markup

HEADING_SHIFT = 2
TOP_HEADING = 3  # a card sits under the page's <h1> and a section's <h2>


def _safe_link(url: str) -> bool:
    return url.strip().lower().startswith(("http://", "https://"))


def _level(token: Token) -> int:
    return int(token.tag[1])


def _shift_headings(tokens: Sequence[Token]) -> None:
    """Make the document's headings start at <h3> and never skip a level, whatever the author wrote.

    Untrusted cards may start at ``####`` or jump from ``#`` to ``###``; pages need a sound outline.
    """
    previous = TOP_HEADING - 1
    for token in tokens:
        if token.type == "heading_open":
            level = min(max(TOP_HEADING, _level(token) + HEADING_SHIFT), previous + 1, 6)
            token.meta["level"] = level
            previous = level


def _heading_open(renderer: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return f"<h{tokens[idx].meta['level']}>"


def _heading_close(renderer: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return f"</h{tokens[idx - _open_offset(tokens, idx)].meta['level']}>\n"


def _open_offset(tokens: Sequence[Token], idx: int) -> int:
    """Return how far back the heading_open of the heading_close at ``idx`` is."""
    offset = 1
    while tokens[idx - offset].type != "heading_open":
        offset += 1
    return offset


def _make() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.disable("image")
    md.validateLink = _safe_link  # type: ignore[method-assign]
    md.add_render_rule("heading_open", _heading_open)
    md.add_render_rule("heading_close", _heading_close)
    renderer = md.renderer
    assert isinstance(renderer, RendererHTML)

    def link_open(_renderer: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        tokens[idx].attrSet("rel", "nofollow noopener noreferrer")
        return renderer.renderToken(tokens, idx, options, env)

    md.add_render_rule("link_open", link_open)
    return md


_MD = _make()
_EMPTY = Markup("")


def render_markdown(text: str) -> Markup:
    """Return ``text`` rendered as HTML that is safe to inline in a page."""
    if not text.strip():
        return _EMPTY
    tokens = _MD.parse(text)
    _shift_headings(tokens)
    return Markup(_MD.renderer.render(tokens, _MD.options, {}))  # raw HTML is off, links are http(s) only
