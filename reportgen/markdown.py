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


def _safe_link(url: str) -> bool:
    return url.strip().lower().startswith(("http://", "https://"))


def _heading_open(renderer: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    level = min(int(token.tag[1]) + HEADING_SHIFT, 6)
    return f"<h{level}>"


def _heading_close(renderer: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    level = min(int(tokens[idx].tag[1]) + HEADING_SHIFT, 6)
    return f"</h{level}>\n"


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


def render_markdown(text: str) -> Markup:
    """Return ``text`` rendered as HTML that is safe to inline in a page."""
    if not text.strip():
        return Markup("")
    return Markup(_MD.render(text))  # raw HTML is off, links are http(s) only
