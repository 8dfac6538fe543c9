"""The Jinja2 environment: autoescape and StrictUndefined on; user templates override ours by name."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import jinja2

from reportgen.views import Page

_PACKAGE = Path(__file__).parent


def builtin_templates() -> Path:
    """Return the folder of the templates shipped with reportgen (in the wheel, or the checkout)."""
    for candidate in (_PACKAGE / "templates", _PACKAGE.parent / "templates"):
        if (candidate / "base.html").is_file():
            return candidate
    raise FileNotFoundError("reportgen's templates are missing from this installation")


def environment(overrides: Path | None = None) -> jinja2.Environment:
    """Return the environment that renders pages; templates in ``overrides`` win over ours."""
    folders = [builtin_templates()]
    if overrides is not None:
        folders.insert(0, overrides)
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(f) for f in folders]),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_page(env: jinja2.Environment, page: Page) -> str:
    """Return the HTML of one page."""
    return env.get_template(page.template).render(page=page)


def assets(overrides: Path | None = None) -> Iterator[tuple[str, bytes]]:
    """Yield the static assets (CSS, JS) as (site path, bytes), user overrides first."""
    seen: set[str] = set()
    for folder in ([overrides] if overrides else []) + [builtin_templates()]:
        root = folder / "assets"
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(folder).as_posix()
            if path.is_file() and rel not in seen:
                seen.add(rel)
                yield rel, path.read_bytes()
