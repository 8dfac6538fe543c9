"""The Jinja2 environment: autoescape and StrictUndefined on; user templates override ours by name."""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import suppress
from keyword import iskeyword
from pathlib import Path
from typing import Any, cast

import jinja2
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame, optimizeconst
from markupsafe import Markup, escape

from reportgen.views import Page


def _escape_plain(text: str, /) -> str:
    """Return ``text`` escaped as ``markupsafe.escape`` escapes it, as a plain ``str``."""
    return (
        text.replace("&", "&amp;")
        .replace(">", "&gt;")
        .replace("<", "&lt;")
        .replace("'", "&#39;")
        .replace('"', "&#34;")
    )


_escape_text: Callable[[str], str] = _escape_plain
with suppress(ImportError):  # the same in C: what markupsafe.escape runs before making a Markup
    from markupsafe._speedups import _escape_inner as _escape_text

_PACKAGE = Path(__file__).parent


def builtin_templates() -> Path:
    """Return the folder of the templates shipped with reportgen (in the wheel, or the checkout)."""
    for candidate in (_PACKAGE / "templates", _PACKAGE.parent / "templates"):
        if (candidate / "base.html").is_file():
            return candidate
    raise FileNotFoundError("reportgen's templates are missing from this installation")


def _escape_output(value: Any, /) -> str:
    """Escape what a ``{{ }}`` writes exactly as ``markupsafe.escape`` does, without its copies.

    What an output tag writes is joined into the page and never escaped again, so it need not be a
    ``Markup``; making one for each of the million values a large site writes costs more than escaping.
    A ``Markup`` is written as it is, where ``markupsafe.escape`` copies it into a new one (a macro's
    output, a page's graph: a tenth of the time artifact and run pages took to render). Everything
    else (numbers, undefined values, a subclass of either string) goes through ``markupsafe.escape``.
    """
    kind = type(value)
    if kind is str:
        return _escape_text(value)
    if kind is Markup:  # its __html__ is itself
        return cast(Markup, value)
    return escape(value)


class _Template(jinja2.Template):
    """A template whose output tags escape with ``_escape_output``."""

    @classmethod
    def from_code(
        cls,
        environment: jinja2.Environment,
        code: Any,
        globals: MutableMapping[str, Any],
        uptodate: Callable[[], bool] | None = None,
    ) -> jinja2.Template:
        template = super().from_code(environment, code, globals, uptodate)
        # The compiled module's functions share one namespace, where `escape` is what output tags call.
        template.root_render_func.__globals__["escape"] = _escape_output
        # Jinja chains the template's globals to the environment's (a ChainMap), and copies them into
        # every page's context, every include's and every import's, key by key in Python: a sixth of the
        # time artifact and run pages took to render. The same names in a dict are copied in C. Jinja
        # documents the environment's globals as safe to change only before a template loads.
        template.globals = dict(template.globals)
        return template


class _DirectAttributes(CodeGenerator):
    """Compile ``a.b`` to Python's own ``(a).b``, where Jinja compiles it to ``environment.getattr(a, "b")``.

    For reportgen's own templates only (no ``--templates`` folder, or one of assets alone): every value
    they read an attribute of is one of the page contexts of ``views``, whose attributes are fields, so
    Jinja's fallback to an item (``a["b"]``) is never needed; a misspelt name raises AttributeError where
    StrictUndefined raised UndefinedError. Still compiled as Jinja compiles them: an attribute a template
    asks about (``is defined``, ``default``), and ``self.a`` (a block, which Jinja finds as an item). The
    call was about a fifth of the time artifact and run pages took to render. With templates in a
    ``--templates`` folder, every template, the user's and ours, is compiled as Jinja compiles it: the
    user's may read a mapping's items as attributes, or include one of ours with a ``page`` of their own.
    """

    _asking = frozenset({"defined", "undefined", "default", "d"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lenient: set[int] = set()  # ids of the Getattr nodes to compile as Jinja does

    def _ask(self, node: nodes.Test | nodes.Filter) -> None:
        if node.name in self._asking:
            operand = node.node
            while isinstance(operand, nodes.Getattr):
                self._lenient.add(id(operand))
                operand = operand.node

    def visit_Test(self, node: nodes.Test, frame: Frame) -> None:
        self._ask(node)
        super().visit_Test(node, frame)

    def visit_Filter(self, node: nodes.Filter, frame: Frame) -> None:
        self._ask(node)
        super().visit_Filter(node, frame)

    @optimizeconst
    def visit_Getattr(self, node: nodes.Getattr, frame: Frame) -> None:
        attr = node.attr
        if (
            id(node) in self._lenient
            or (isinstance(node.node, nodes.Name) and node.node.name == "self")  # self.block(): an item
            or self.environment.is_async
            or not attr.isidentifier()
            or iskeyword(attr)
            or attr.startswith("_")
        ):
            super().visit_Getattr(node, frame)
            return
        self.write("(")
        self.visit(node.node, frame)
        self.write(f").{attr}")


class Compiled(jinja2.BytecodeCache):
    """Templates' compiled code, by Jinja's key of each template, held in memory: what one process
    compiled (``compile_all``) for another, forked from the same code, to take instead of compiling.

    Jinja checks each one against its template's source as it loads it: a template changed meanwhile
    is compiled again. Never read from a file: code is as trusted as where it comes from.
    """

    def __init__(self, codes: dict[str, bytes] | None = None) -> None:
        self.codes = codes if codes is not None else {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        code = self.codes.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.codes[bucket.key] = bucket.bytecode_to_string()


TemplateError = jinja2.TemplateError


def template_problem(exc: jinja2.TemplateError) -> str:
    """Return what went wrong in a template and where: a syntax error's file and line, or the last line
    of a template a page was rendering (in this process, or in a worker's traceback)."""
    if isinstance(exc, jinja2.TemplateSyntaxError):
        where = f"{exc.filename or exc.name}:{exc.lineno}"
    else:
        frames = [(f.f_code.co_filename, str(line)) for f, line in traceback.walk_tb(exc.__traceback__)]
        remote = getattr(exc.__cause__, "tb", None)  # multiprocessing's text of a worker's traceback
        if isinstance(remote, str):
            frames += re.findall(r'File "([^"]+)", line (\d+)', remote)
        lines = [
            f"{file}:{line}" for file, line in frames if not file.endswith(".py") and not file.startswith("<")
        ]
        where = lines[-1] if lines else ""
    message = exc.message or type(exc).__name__
    return f"template {where}: {message}" if where else f"template: {message}"


def compile_all(env: jinja2.Environment) -> None:
    """Compile every page template of ``env`` (as a forked worker would use them); one that does not
    compile is reported when a page uses it, if one does."""
    for name in env.list_templates(filter_func=lambda n: n.endswith(".html")):
        with suppress(jinja2.TemplateError):
            env.get_template(name)


def environment(overrides: Path | None = None, compiled: Compiled | None = None) -> jinja2.Environment:
    """Return the environment that renders pages; templates in ``overrides`` win over ours. With
    ``compiled``, templates are taken from it where it has them, and kept in it once compiled."""
    folders = [builtin_templates()]
    if overrides is not None:
        folders.insert(0, overrides)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(f) for f in folders]),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,  # a build reads each template once: no stat() of every file on every page
        cache_size=-1,  # a dict of the few templates, not an LRU cache with a lock to look them up in
        bytecode_cache=compiled,
    )
    env.template_class = _Template
    if overrides is None or not any(overrides.rglob("*.html")):  # ours alone (its assets may be the user's)
        env.code_generator_class = _DirectAttributes
    return env


def render_page(env: jinja2.Environment, page: Page) -> bytes:
    """Return the HTML of one page in UTF-8."""
    return env.get_template(page.template).render(page=page).encode("utf-8")


def stream_page(env: jinja2.Environment, page: Page) -> Iterator[bytes]:
    """Yield the HTML of one page in UTF-8, about a megabyte at a time, as its template renders it.

    For the pages that grow with the organisation: an XL organisation's audit log is 110 MB of HTML,
    and rendered whole it took half a gigabyte at once (its pieces of text, the text they make, four
    bytes a character as soon as one needs four, then its bytes). It costs a little more per piece of
    text than ``render_page``, which joins them in C.
    """
    held: list[str] = []
    size = 0
    for piece in env.get_template(page.template).generate(page=page):
        held.append(piece)
        size += len(piece)
        if size >= _PART:
            yield "".join(held).encode("utf-8")
            held.clear()
            size = 0
    if held:
        yield "".join(held).encode("utf-8")


_PART = 1 << 20  # characters


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
