"""Pages rendered by worker processes: the same site, in the same order, whatever the number of workers."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import pytest
from factories import artifact, org_from_dict, pieces_made_here, run

import reportgen.build as build_module
import reportgen.emit as emit_module
from reportgen.build import BuildOptions, build
from reportgen.layout import GraphFailure
from reportgen.load import load_paths
from reportgen.paths import artifact_page, collection_page, collection_version_page, run_page
from reportgen.render import RenderError
from reportgen.site import Planner, unit_pages, units
from reportgen.validate import validate
from reportgen.views import Site

SAMPLES = Path(__file__).resolve().parent.parent / "sample_manifests"


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_units_give_every_page_once_in_the_sites_order() -> None:
    org = validate(load_paths([SAMPLES])).organisation
    planner = Planner(org, Site("t", "", "g", "", ()), {})
    expected = ["index.html", "audit.html"]
    for history in org.collections.values():
        c = history.collection
        expected.append(collection_page(c.registry, c.name))
        expected += [collection_version_page(c.registry, c.name, v.version) for v in history.versions]
    expected += [artifact_page(ref) for ref in org.artifacts] + [run_page(run_id) for run_id in org.runs]
    assert [page.path for unit in units(org) for page in unit_pages(planner, unit)] == expected
    assert [page.path for page in planner.pages()] == expected


@pytest.mark.parametrize("paged", [False, True])
def test_each_units_files_are_among_its_own_paths_and_no_two_units_share_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, paged: bool
) -> None:
    import reportgen.site as site_module
    from reportgen.build import cache_folder
    from reportgen.incremental import PageCache

    if paged:
        monkeypatch.setattr(site_module, "AUDIT_PAGE_LIMIT", 20)
    result = build([SAMPLES], BuildOptions(output=tmp_path / "site"))
    org = result.validation.organisation
    assert org is not None
    work = units(org)
    owned = [set(emit_module.unit_paths(org, unit)) for unit in work]
    assert sum(map(len, owned)) == len(set().union(*owned))  # no path is two units'
    everything = {p.relative_to(tmp_path / "site").as_posix() for p in (tmp_path / "site").rglob("*")}
    assert {"index.html", "audit.html", "assets/site.css", "report.json"} <= everything - set().union(*owned)
    record = PageCache(cache_folder(tmp_path / "site")).load()
    kinds = set()
    for unit, paths in zip(work, owned, strict=True):
        if unit.id in record:
            kinds.add(unit.kind)
            assert {f.path for f in record[unit.id].files} <= set(paths), unit
            assert {f.path for f in record[unit.id].files if f.page} <= set(paths) & everything
    assert kinds == {"collection", "artifact", "run"} | ({"audit-month"} if paged else set())


def test_lineage_order_puts_each_run_beside_the_versions_it_used_and_logged() -> None:
    """Page order lists every version, then every run: in lineage order, each lineage comes whole, from
    its first version outward, runs among the versions; the units that are neither keep their places
    in front."""
    org = org_from_dict(
        {
            "artifacts": [artifact(name, v) for v in range(3) for name in ("a", "b")],
            "runs": [
                run(f"{name}{v}", inputs=[f"{name}:v{v}"], outputs=[f"{name}:v{v + 1}"])
                for v in range(2)
                for name in ("a", "b")
            ],
        }
    )
    work = units(org)
    todo = [i for i, u in enumerate(work) if u.kind in ("index", "artifact", "run")]
    order = emit_module.lineage_order(org, work, todo)
    assert sorted(order) == todo

    def name(i: int) -> str:
        unit = work[i]
        return str(unit.ref) if unit.ref is not None else unit.key or unit.kind

    page_order = ["index", "a:v0", "a:v1", "a:v2", "b:v0", "b:v1", "b:v2", "a0", "a1", "b0", "b1"]
    assert [name(i) for i in todo] == page_order
    assert [name(i) for i in order] == [
        "index",
        "a:v0",
        "a0",
        "a:v1",
        "a1",
        "a:v2",
        "b:v0",
        "b0",
        "b:v1",
        "b1",
        "b:v2",
    ]


def test_a_large_sites_artifacts_and_runs_go_in_lineage_order_to_the_same_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From ``_LINEAGE_ORDER_FROM`` artifacts and runs on, they are drawn and rendered in lineage order
    (the workers share them out by region, see ``Regions``): the files are those of page order, byte for
    byte, on one process and on two."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    sites = {}
    ordered: list[int] = []
    order = emit_module.lineage_order

    def counted(org: Any, work: Any, indexes: Any) -> list[int]:
        ordered.append(len(indexes))
        return order(org, work, indexes)

    monkeypatch.setattr(emit_module, "lineage_order", counted)
    for order_from in (10**9, 1):  # page order, then lineage order
        monkeypatch.setattr(emit_module, "_LINEAGE_ORDER_FROM", order_from)
        for jobs in (1, 2):
            out = tmp_path / f"site-{order_from}-{jobs}"
            result = build([SAMPLES], BuildOptions(output=out, jobs=jobs, cache=False))
            assert result.written and result.pages > emit_module._IN_PROCESS_BELOW  # workers really ran
            sites[order_from, jobs] = tree(out)
    work = units(validate(load_paths([SAMPLES])).organisation)
    drawing = sum(1 for u in work if u.kind not in ("collection", "versions"))  # and the index, the audit log
    assert ordered == [drawing, drawing]  # the two builds in lineage order, and only they, put it in order
    first = sites[10**9, 1]
    assert all(site == first for site in sites.values())


def test_one_process_and_two_write_the_same_site_and_sitemap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    sites = {}
    for jobs in (1, 2):
        out = tmp_path / f"site-{jobs}"
        options = BuildOptions(output=out, jobs=jobs, cache=False, base_url="https://example.org/r/")
        result = build([SAMPLES], options)
        assert result.written and result.pages > emit_module._IN_PROCESS_BELOW  # workers really ran
        assert [stage for stage, _ in result.stages] == [
            "load",
            "validate",
            "changes",
            "render",
            "commit",
        ]
        assert all(seconds >= 0 for _, seconds in result.stages + result.work)
        sites[jobs] = tree(out)
    assert sites[1] == sites[2]
    sitemap = sites[2]["sitemap.xml"].decode()
    assert sitemap.index("/r/index.html") < sitemap.index("/r/audit.html") < sitemap.index("/r/runs/")


def test_a_worker_that_fails_stops_the_build_and_leaves_the_site(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "site"
    assert build([SAMPLES], BuildOptions(output=out, jobs=2, title="Before")).written
    before = tree(out)
    real = emit_module.render_page

    def failing(env: Any, page: Any) -> bytes:  # forked workers inherit the patch
        if page.path.startswith("runs/"):
            raise RuntimeError("template blew up")
        return real(env, page)

    monkeypatch.setattr(emit_module, "render_page", failing)
    with pytest.raises(RuntimeError, match="template blew up"):
        build([SAMPLES], BuildOptions(output=out, jobs=2, title="After"))
    assert tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".site.cache", ".site.lock", "site"]


def test_a_first_build_loads_graphviz_once_before_the_workers_fork_and_a_rebuild_does_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Forked workers share the Graphviz the build process loaded; loads in the workers are not seen
    here (their list is their own), only those of this process."""
    import reportgen.render as render_module

    loads: list[int] = []
    real = render_module.EmbeddedRenderer.version

    def version(self: Any) -> str:
        loads.append(os.getpid())
        return real(self)

    monkeypatch.setattr(render_module.EmbeddedRenderer, "version", version)
    out = tmp_path / "site"
    first = build([SAMPLES], BuildOptions(output=out, jobs=2))
    assert first.written and first.pages > emit_module._IN_PROCESS_BELOW  # workers really ran
    assert loads == [os.getpid()]
    loads.clear()
    again = build([SAMPLES], BuildOptions(output=out, jobs=2, title="Another title"))  # every page again
    assert again.written and again.reused_pages == 0 and loads == []  # graphs all from the cache


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_graphviz_that_cannot_load_stops_the_build_naming_a_graph_as_any_failure_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    """Graphviz is loaded by the first graph a process lays out, not before (see Renderer.identity):
    failing to load it is that graph's failure, never a traceback."""
    import reportgen.render as render_module

    def cannot_load() -> None:
        raise RuntimeError("no such module")

    monkeypatch.setattr(render_module, "_runtime", None)
    monkeypatch.setattr(render_module, "_load_runtime", cannot_load)
    out = tmp_path / "site"
    with pytest.raises(
        GraphFailure, match=r"^cannot draw graph '.+': embedded Graphviz unusable: no such module$"
    ):
        build([SAMPLES], BuildOptions(output=out, jobs=jobs))
    assert not out.exists()


@pytest.mark.parametrize("lineage", [False, True], ids=["page-order", "lineage-order"])
@pytest.mark.parametrize("jobs", [1, 2])
def test_the_first_graph_in_work_order_that_fails_stops_the_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int, lineage: bool
) -> None:
    """Graphs are drawn by the workers that render their pages; the one named is the first in work order
    (page order, or lineage order for a large site) whatever the workers did, and the site is left as it
    was. Kept going, the build names every graph that failed in page order."""
    if lineage:
        monkeypatch.setattr(emit_module, "_LINEAGE_ORDER_FROM", 1)
    out = tmp_path / "site"
    assert build([SAMPLES], BuildOptions(output=out, jobs=jobs)).written
    before = tree(out)
    org = validate(load_paths([SAMPLES])).organisation
    runs = {run.name for run in org.runs.values()}
    first_run = next(iter(org.runs.values())).name  # the first in page order
    work = units(org)
    todo = [i for i, u in enumerate(work) if u.kind not in ("collection", "versions")]
    order = emit_module.lineage_order(org, work, todo) if lineage else todo
    first_failing = next(org.runs[work[i].key].name for i in order if work[i].kind == "run")
    assert (first_failing != first_run) is lineage  # the two orders name different graphs here

    def broken(self: Any, dot: str, *, graph: str, timeout: float | None = None) -> str:
        if graph in runs:  # artifacts' graphs draw; every run's fails
            raise RenderError(graph=graph, message="boom")
        return "<svg></svg>"

    monkeypatch.setattr("reportgen.render.EmbeddedRenderer.render_svg", broken)
    with pytest.raises(GraphFailure, match=f"^cannot draw graph '{first_failing}': boom$"):
        build([SAMPLES], BuildOptions(output=out, jobs=jobs, cache=False))
    assert tree(out) == before
    kept = build([SAMPLES], BuildOptions(output=out, jobs=jobs, cache=False, keep_going=True))
    assert kept.written and len(kept.graph_errors) == len(runs)
    assert list(kept.graph_errors) == [f"cannot draw graph '{r.name}': boom" for r in org.runs.values()]


def test_a_rebuild_of_a_large_site_renders_its_index_and_audit_log_in_workers(tmp_path: Path) -> None:
    """Few pages to render, but the index and the audit log show the whole organisation: workers render
    them (each on its own), and make its other files, while the build process links the rest."""
    out = tmp_path / "site"
    assert build([SAMPLES], BuildOptions(output=out, jobs=2)).written
    before = tree(out)
    again = build([SAMPLES], BuildOptions(output=out, jobs=2))
    assert again.pages - again.reused_pages == 2 and again.jobs == 2
    assert tree(out) == before
    one = build([SAMPLES], BuildOptions(output=out, jobs=1))
    assert one.pages - one.reused_pages == 2 and one.jobs == 1
    assert tree(out) == before


@pytest.mark.parametrize("jobs", [1, 2])
def test_the_organisations_other_files_are_made_by_workers_each_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    """The audit downloads (of a log on one page) and the search index are tasks of the rendering workers
    (a rebuild that renders few pages makes them on both cores), and so are the units' pieces of the
    report; on one process, the build process makes them."""
    made: list[str] = []
    real = build_module.extra_files

    def marked(org: Any, paged: bool) -> list[emit_module.Extra]:
        def make(path: str) -> bytes:
            made.append(path)  # in this process only: a worker's list is its own
            return f"{path} by {os.getpid()}\n".encode()

        return [(path, functools.partial(make, path)) for path, _ in real(org, paged)]

    pieces = pieces_made_here(monkeypatch)
    monkeypatch.setattr(build_module, "extra_files", marked)
    out = tmp_path / "site"
    result = build([SAMPLES], BuildOptions(output=out, jobs=jobs, cache=False))
    assert result.written and result.jobs == jobs
    paths = ["audit.json", "audit.csv", "assets/search-index.js"]
    makers = {path: (out / path).read_text().split(" by ") for path in paths}
    assert all(text == path for path, (text, _) in makers.items())
    org = result.validation.organisation
    assert org is not None
    if jobs == 1:
        assert made == paths
        assert {int(pid) for _, pid in makers.values()} == {os.getpid()}
        assert len(pieces) == len(units(org))
    else:
        assert made == [] and pieces == []
        assert os.getpid() not in {int(pid) for _, pid in makers.values()}
    sums = (out / "SHA256SUMS").read_text()
    assert all(f"  {path}\n" in sums for path in paths)
