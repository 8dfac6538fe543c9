"""The template environment: escaping on, undefined names fail, user templates override ours by name."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import jinja2
import pytest
from jinja2.compiler import CodeGenerator
from markupsafe import Markup, escape

from reportgen import templating
from reportgen.build import BuildOptions, build
from reportgen.templating import _escape_plain, assets, builtin_templates, environment

ZOO = Path(__file__).resolve().parent.parent / "sample_manifests" / "zoo"


def test_builtin_templates_are_found() -> None:
    folder = builtin_templates()
    for name in ("base.html", "index.html", "collection.html", "detail.html", "audit.html"):
        assert (folder / name).is_file()


def test_autoescape_and_strict_undefined_are_on() -> None:
    env = environment()
    assert env.from_string("{{ x }}").render(x="<script>") == "&lt;script&gt;"
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ missing.field }}").render()


def test_our_templates_read_attributes_directly_and_ask_jinja_only_when_asking() -> None:
    env = environment()
    page = SimpleNamespace(a="<x>", b=None)
    text = "{{ page.a }}|{{ page.c is defined }}|{{ page.c is undefined }}|{{ page.c|default('no c') }}"
    assert env.from_string(text).render(page=page) == "&lt;x&gt;|False|True|no c"
    assert env.from_string("{{ page.a.upper() }}").render(page=page) == "&lt;X&gt;"
    assert env.from_string("{% block b %}<{{ page.a }}>{% endblock %}|{{ self.b() }}").render(page=page) == (
        "<&lt;x&gt;>|<&lt;x&gt;>"  # a block again, through self: an item to Jinja
    )
    with pytest.raises(AttributeError):  # a misspelt attribute: Jinja raised UndefinedError
        env.from_string("{{ page.c }}").render(page=page)
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ page.a.b is defined }}").render()  # no page at all: strict as before


def test_user_templates_read_items_as_attributes_as_jinja_does(tmp_path: Path) -> None:
    (tmp_path / "partials").mkdir()
    (tmp_path / "partials" / "mine.html").write_text("{{ d.a }}")  # a template of the user's, anywhere
    env = environment(tmp_path)
    assert env.get_template("partials/mine.html").render(d={"a": 2}) == "2"
    assert env.from_string("{{ d.a }}{{ d.items is defined }}").render(d={"a": 1}) == "1True"
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ d.b }}").render(d={"a": 1})


def test_a_folder_of_assets_alone_keeps_our_templates_direct(tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "site.css").write_text("/* mine */\n")
    with pytest.raises(AttributeError):  # compiled as ours are without a folder
        environment(tmp_path).from_string("{{ d.a }}").render(d={"a": 1})


def test_our_templates_write_every_sample_page_as_jinja_compiles_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Attributes read directly (``_DirectAttributes``) write the same bytes as Jinja's own code."""
    samples = ZOO.parent
    ours = build([samples], BuildOptions(output=tmp_path / "ours", jobs=1, cache=False))
    monkeypatch.setattr(templating, "_DirectAttributes", CodeGenerator)
    stock = build([samples], BuildOptions(output=tmp_path / "stock", jobs=1, cache=False))
    assert ours.written and stock.written and ours.pages == stock.pages > 100
    files = sorted(p.relative_to(tmp_path / "ours") for p in (tmp_path / "ours").rglob("*") if p.is_file())
    assert files == sorted(
        p.relative_to(tmp_path / "stock") for p in (tmp_path / "stock").rglob("*") if p.is_file()
    )
    assert sum(f.suffix == ".html" for f in files) == ours.pages
    for f in files:
        assert (tmp_path / "ours" / f).read_bytes() == (tmp_path / "stock" / f).read_bytes(), f


def test_a_user_template_overrides_ours_by_name(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    (mine / "assets").mkdir(parents=True)
    (mine / "index.html").write_text("<!doctype html><title>{{ page.title }}</title><p>custom index</p>\n")
    (mine / "assets" / "site.css").write_text("/* my css */\n")
    result = build([ZOO], BuildOptions(output=tmp_path / "site", templates=mine, title="My <org>"))
    assert result.written
    index = (tmp_path / "site" / "index.html").read_text()
    assert "custom index" in index
    assert "<title>My &lt;org&gt;</title>" in index  # an override is escaped like ours
    run_page = next((tmp_path / "site" / "runs").glob("*.html")).read_text()
    assert "custom index" not in run_page and "<main" in run_page  # the others stay built-in
    assert (tmp_path / "site" / "assets" / "site.css").read_text() == "/* my css */\n"
    assert (tmp_path / "site" / "assets" / "site.js").is_file()  # assets not overridden stay ours


def test_assets_list_each_file_once(tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "site.js").write_text("// mine\n")
    found = dict(assets(tmp_path))
    assert found["assets/site.js"] == b"// mine\n"
    assert "assets/site.css" in found
    assert len(found) == len(list(assets(tmp_path)))


@pytest.mark.parametrize(
    "text", ["", "plain", "<script>alert('x')</script>", 'a "quoted" & <b>', "&amp; already", "ünïcödé → ✓"]
)
def test_output_tags_escape_exactly_as_markupsafe(text: str) -> None:
    env = environment()
    expected = str(escape(text))
    assert _escape_plain(text) == expected
    assert env.from_string("{{ x }}").render(x=text) == expected
    assert (
        env.from_string("{% macro m(v) %}[{{ v }}]{% endmacro %}{{ m(x) }}").render(x=text) == f"[{expected}]"
    )


def test_output_tags_keep_markup_and_write_other_values_as_text() -> None:
    env = environment()
    template = env.from_string("{{ safe }}|{{ n }}|{{ none }}|{{ obj }}")
    assert (
        template.render(safe=Markup("<b>ok</b>"), n=3, none=None, obj=_Html()) == "<b>ok</b>|3|None|<i>x</i>"
    )
    # a str subclass that is not Markup is escaped as text, not trusted
    assert env.from_string("{{ x }}").render(x=_Text("<b>")) == "&lt;b&gt;"


def test_markup_is_written_as_it_is_and_a_subclass_through_its_html() -> None:
    safe = Markup("<b>ok</b>")
    assert templating._escape_output(safe) is safe  # not copied, as markupsafe.escape copies it
    assert templating._escape_output(_Shown("<b>")) == "[shown]"
    assert environment().from_string("{{ x }}").render(x=_Shown("<b>")) == "[shown]"


def test_templates_see_the_environments_globals_as_their_own(tmp_path: Path) -> None:
    (tmp_path / "t.html").write_text(
        "{% set ns = namespace(n=0) %}{% for i in range(3) %}{% set ns.n = ns.n + i %}{% endfor %}"
        "{{ ns.n }} {{ extra }} {{ own }}"
    )
    env = environment(tmp_path)
    env.globals["extra"] = "e"  # before any template loads, as Jinja documents
    template = env.get_template("t.html", globals={"own": "o"})
    assert type(template.globals) is dict and "range" in template.globals
    assert template.render() == "3 e o"
    assert env.get_template("t.html") is template  # kept, and kept as it was loaded


def test_user_templates_escape_like_ours(tmp_path: Path) -> None:
    (tmp_path / "t.html").write_text("{% set v %}{{ x }}{% endset %}{{ v }}|{{ x|e }}|{{ x|safe }}")
    out = environment(tmp_path).get_template("t.html").render(x="<i>")
    assert out == "&lt;i&gt;|&lt;i&gt;|<i>"


class _Html:
    def __html__(self) -> str:
        return "<i>x</i>"


class _Text(str):
    __slots__ = ()


class _Shown(Markup):
    __slots__ = ()

    def __html__(self) -> str:
        return "[shown]"


def test_a_user_page_template_may_use_the_macros_base_imports(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "detail.html").write_text(
        '{% extends "base.html" %}'
        '{% block content %}<p class="mine">{{ ui.badges(page.badges) }}</p>{% endblock %}'
    )
    assert build([ZOO], BuildOptions(output=tmp_path / "site", templates=mine)).written
    run_page = next((tmp_path / "site" / "runs").glob("*.html")).read_text()
    assert '<p class="mine"><span class="badges"><span class="badge badge-kind">' in run_page


@pytest.mark.parametrize(
    "call, linked",
    [("ui.rows(page.rows, page.root)", True), ("ui.rows(page.rows)", False)],
    ids=["with root", "without root"],
)
def test_the_row_macros_take_the_page_root_and_fail_without_it(
    tmp_path: Path, call: str, linked: bool
) -> None:
    """The macros are imported without context: a site link needs the root passed, or the build fails."""
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "detail.html").write_text(
        '{% extends "base.html" %}{% import "_rows.html" as ui %}'
        f'{{% block content %}}<div class="mine">{{{{ {call} }}}}</div>{{% endblock %}}'
    )
    options = BuildOptions(output=tmp_path / "site", templates=mine, jobs=1)
    if not linked:
        with pytest.raises(jinja2.TemplateError, match="parameter 'root' was not provided"):
            build([ZOO], options)
        return
    assert build([ZOO], options).written
    page = next((tmp_path / "site" / "artifacts").rglob("*.html")).read_text()
    mine_part = page.split('<div class="mine">', 1)[1].split("</dl></div>", 1)[0]
    assert "Logged by" in mine_part
    assert '<a href="../../runs/' in mine_part  # the run that logged it, linked from two folders down


def test_a_streamed_page_is_written_in_parts_as_it_renders(monkeypatch: pytest.MonkeyPatch) -> None:
    env = jinja2.Environment(
        loader=jinja2.DictLoader(
            {"t.html": "<ul>{% for i in page.items %}<li>{{ i }}é🔒</li>{% endfor %}</ul>"}
        ),
        autoescape=True,
    )
    page = SimpleNamespace(template="t.html", items=range(5_000))
    monkeypatch.setattr(templating, "_PART", 10_000)
    parts = list(templating.stream_page(env, page))  # type: ignore[arg-type]
    whole = templating.render_page(env, page)  # type: ignore[arg-type]
    assert b"".join(parts) == whole == env.get_template("t.html").render(page=page).encode("utf-8")
    assert len(whole.decode()) == 73_899 and len(parts) == 8
    assert all(10_000 <= len(p.decode()) < 10_000 + 10 for p in parts[:-1])  # a piece at most over
    empty = SimpleNamespace(template="t.html", items=())
    assert b"".join(templating.stream_page(env, empty)) == b"<ul></ul>"  # type: ignore[arg-type]
