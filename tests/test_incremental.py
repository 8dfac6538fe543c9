"""Rebuilds reuse the pages whose inputs did not change, and give the same bytes as a cold build."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from factories import another_reportgen, org_from_yaml, pieces_made_here

import reportgen.build as build_module
import reportgen.incremental as incremental_module
import reportgen.site as site_module
from reportgen.build import BuildOptions, BuildResult, build, cache_folder
from reportgen.incremental import ASSEMBLED, Fingerprints, GraphDigests, PageCache
from reportgen.lineage import GraphOptions, NodeKey, neighbourhood
from reportgen.paths import node_page

ACME = Path(__file__).resolve().parent.parent / "sample_manifests" / "acme"


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def folders(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_dir())


@pytest.fixture
def manifests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    folder = tmp_path / "acme"
    shutil.copytree(ACME, folder)
    return folder


def rebuild_matches_cold(
    manifests: Path, tmp_path: Path, change: Callable[[], None], **options: object
) -> int:
    """Build, change the manifests, rebuild; check the rebuild equals a cold build; return pages reused."""
    site = tmp_path / "site"
    first = build([manifests], BuildOptions(output=site, **options))  # type: ignore[arg-type]
    assert first.written and first.reused_pages == 0
    change()
    again = build([manifests], BuildOptions(output=site, **options))  # type: ignore[arg-type]
    cold = build([manifests], BuildOptions(output=tmp_path / "cold", cache=False, **options))  # type: ignore[arg-type]
    assert again.written and cold.written
    assert tree(site) == tree(tmp_path / "cold")
    assert folders(site) == folders(tmp_path / "cold")  # no folder left empty
    assert (again.pages, again.graphs, again.files) == (cold.pages, cold.graphs, cold.files)
    return again.reused_pages


def append(path: Path, text: str) -> Callable[[], None]:
    return lambda: path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def replace(path: Path, old: str, new: str) -> Callable[[], None]:
    def change() -> None:
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    return change


ONE_MORE_ACTION = """
  - at: 2026-06-30T09:00:00Z
    user: mei.lin@acme.example
    action: add_alias
    collection: model/churn-predictor
    artifact: churn-lgbm:v1
    alias: one-more
"""

A_NEW_RUN = """
  - id: newrun01
    name: late-evaluation
    project: churn
    job_type: evaluate
    state: finished
    inputs: [churn-split:v1]
"""


def test_an_unchanged_rebuild_reuses_every_page_but_the_index_and_audit(
    manifests: Path, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    first = build([manifests], BuildOptions(output=site))
    before = tree(site)
    again = build([manifests], BuildOptions(output=site))
    assert tree(site) == before
    assert again.reused_pages == first.pages - 2
    assert again.cached_graphs == 0  # no graph had to be drawn, not even from the cache


def test_a_rebuild_whose_graphs_are_all_in_the_cache_never_loads_graphviz(
    manifests: Path, tmp_path: Path
) -> None:
    import reportgen.render as render_module

    site = tmp_path / "site"
    build([manifests], BuildOptions(output=site, jobs=1))
    replace(manifests / "registries.yaml", "Scores every", "Rates every")()  # its collection's pages

    def no_loading() -> None:
        raise AssertionError("the rebuild loaded the Graphviz module")

    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(render_module, "_runtime", None)
        patched.setattr(render_module, "_load_runtime", no_loading)
        render_module._embedded_version.cache_clear()
        again = build([manifests], BuildOptions(output=site, jobs=1))
    assert again.written and 0 < again.reused_pages < again.pages
    assert again.cached_graphs > 0  # the collection's graphs: drawn again, from the cache
    assert build([manifests], BuildOptions(output=tmp_path / "cold", cache=False, jobs=1)).written
    assert tree(site) == tree(tmp_path / "cold")  # the cold build did load it: same bytes


@pytest.mark.parametrize(
    "name, change",
    [
        ("one more action", lambda m: append(m / "audit" / "2026-q2.yaml", ONE_MORE_ACTION)),
        (
            "a run renamed",
            lambda m: replace(m / "models" / "churn.yaml", "stilted-bird-10", "stilted-bird-99"),
        ),
        (
            "a run config value",
            lambda m: replace(m / "models" / "churn.yaml", "max_depth: 4", "max_depth: 5"),
        ),
        (
            "a new run using an artifact",
            lambda m: replace(m / "models" / "churn.yaml", "runs:\n", "runs:" + A_NEW_RUN),
        ),
        (
            "a protected alias more",
            lambda m: replace(m / "registries.yaml", "[production, staging]", "[production]"),
        ),
        ("a collection description", lambda m: replace(m / "registries.yaml", "Scores every", "Rates every")),
        ("a file removed", lambda m: (m / "audit" / "2026-q2.yaml").unlink),
        (
            "another version of a name, in no lineage",
            lambda m: (
                lambda: (m / "more.yaml").write_text(
                    "artifacts: [{name: churn-split, version: v9, type: dataset, project: churn}]\n"
                )
            ),
        ),
        (
            "a file moved (locations change)",
            lambda m: lambda: (m / "evals.yaml").rename(m / "data" / "evals.yaml"),
        ),
    ],
)
def test_a_rebuild_after_a_change_is_byte_identical_to_a_cold_build(
    manifests: Path, tmp_path: Path, name: str, change: Callable[[Path], Callable[[], None]]
) -> None:
    reused = rebuild_matches_cold(manifests, tmp_path, change(manifests))
    # A registry's protected aliases lock badges anywhere, and the second quarter's actions move
    # aliases in every collection: those change every page. The other changes leave some pages be.
    if name not in ("a protected alias more", "a file removed"):
        assert reused > 0, name


def test_one_more_action_redraws_only_what_it_touches(manifests: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    first = build([manifests], BuildOptions(output=site))
    before = detail_pages(site)
    append(manifests / "audit" / "2026-q2.yaml", ONE_MORE_ACTION)()
    again = build([manifests], BuildOptions(output=site))
    # An alias more on churn-lgbm:v1: the artifact and run pages rendered again are those whose graphs
    # draw it (its node shows its aliases), not the rest of its lineage.
    org = again.validation.organisation
    alias = NodeKey.of_artifact(next(ref for ref in org.artifacts if str(ref) == "churn-lgbm:v1"))
    drawing: set[str] = set()
    for focus in [NodeKey.of_artifact(ref) for ref in org.artifacts] + [NodeKey.of_run(r) for r in org.runs]:
        graph = neighbourhood(org, focus, GraphOptions())
        if alias in graph.nodes or any(alias in c.members for c in graph.clusters):
            drawing.add(node_page(focus))
    after = detail_pages(site)
    assert {page for page, inode in after.items() if before[page] != inode} == drawing
    assert 0 < len(drawing) < len(after) / 4
    assert first.pages - again.reused_pages < first.pages / 4


@pytest.mark.parametrize(
    "options",
    [{"title": "Another title"}, {"base_url": "https://example.org/r/"}, {"graph": "depth"}],
)
def test_a_change_of_settings_renders_every_page(
    manifests: Path, tmp_path: Path, options: dict[str, object]
) -> None:
    from reportgen.lineage import GraphOptions

    site = tmp_path / "site"
    build([manifests], BuildOptions(output=site))
    if options.get("graph") == "depth":
        options = {"graph": GraphOptions(upstream=1, downstream=1)}
    again = build([manifests], BuildOptions(output=site, **options))  # type: ignore[arg-type]
    build([manifests], BuildOptions(output=tmp_path / "cold", cache=False, **options))  # type: ignore[arg-type]
    assert again.reused_pages == 0
    assert tree(site) == tree(tmp_path / "cold")


def test_a_template_override_renders_every_page(manifests: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    build([manifests], BuildOptions(output=site))
    mine = tmp_path / "templates"
    (mine / "assets").mkdir(parents=True)
    (mine / "assets" / "site.css").write_text("/* mine */\n")
    again = build([manifests], BuildOptions(output=site, templates=mine))
    assert again.reused_pages == 0


A_NEW_MONTH = ONE_MORE_ACTION.replace("2026-06-30T09:00:00Z", "2026-07-01T09:00:00Z")
AN_OLD_ACTION_CHANGED = ("after three days of shadow traffic.", "after four days of shadow traffic.")


@pytest.mark.parametrize(
    "name, change, rendered",
    [
        ("one more action", lambda m: append(m / "audit" / "2026-q2.yaml", ONE_MORE_ACTION), {"2026-06"}),
        # the newest month so far gets a link to the new one
        ("a new month", lambda m: append(m / "audit" / "2026-q2.yaml", A_NEW_MONTH), {"2026-06", "2026-07"}),
        (
            "an old action's reason",
            lambda m: replace(m / "audit" / "2026-q1.yaml", *AN_OLD_ACTION_CHANGED),
            {"2026-03"},
        ),
    ],
)
def test_a_rebuild_renders_only_the_months_of_the_audit_log_that_changed(
    manifests: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    change: Callable[[Path], Callable[[], None]],
    rendered: set[str],
) -> None:
    monkeypatch.setattr(site_module, "AUDIT_PAGE_LIMIT", 20)  # the sample's 80 actions: a page a month
    site = tmp_path / "site"
    inodes: list[dict[str, int]] = []

    def change_noting_the_months() -> None:
        inodes.append({p.stem: p.stat().st_ino for p in (site / "audit").glob("*.html")})
        change(manifests)()

    rebuild_matches_cold(manifests, tmp_path, change_noting_the_months)
    before, after = inodes[0], {p.stem: p.stat().st_ino for p in (site / "audit").glob("*.html")}
    assert len(before) == 6
    assert {m for m in after if before.get(m) != after[m]} == rendered, name  # the others are linked


def test_a_rebuild_takes_reused_units_pieces_of_the_report_from_the_last_one(
    manifests: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(site_module, "AUDIT_PAGE_LIMIT", 20)  # the audit downloads are assembled too
    made = pieces_made_here(monkeypatch)
    site = tmp_path / "site"
    first = build([manifests], BuildOptions(output=site, jobs=1))  # in this process, to count
    org = first.validation.organisation
    assert org is not None and len(made) == len(site_module.units(org))
    made.clear()
    append(manifests / "audit" / "2026-q2.yaml", ONE_MORE_ACTION)()
    again = build([manifests], BuildOptions(output=site, jobs=1))
    assert 0 < len(made) < 60 and again.reused_pages > 0
    assert made.count("audit-month") == 1  # June's
    cold = build([manifests], BuildOptions(output=tmp_path / "cold", cache=False, jobs=1))
    assert cold.written and tree(site) == tree(tmp_path / "cold")


@pytest.mark.parametrize(
    "damage, made_here",
    [
        ("none", False),
        ("report.json edited", True),
        ("report.json gone", True),
        ("offsets past the end", True),
        ("no record of the files", True),
        ("offsets not numbers", False),  # the units' records are refused: they are rendered again
        ("negative offsets", False),
        ("no pieces recorded", True),
        ("pieces that are not JSON", True),
        ("pieces that are not a mapping", True),
    ],
)
def test_pieces_that_cannot_be_taken_from_the_last_report_are_made_again(
    manifests: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: str, made_here: bool
) -> None:
    made = pieces_made_here(monkeypatch)  # by this process: workers make the pieces of what they render
    site = tmp_path / "site"
    build([manifests], BuildOptions(output=site, jobs=2))
    made.clear()
    append(manifests / "audit" / "2026-q2.yaml", ONE_MORE_ACTION)()
    record = cache_folder(site) / PageCache.FILE
    if damage == "none":
        pass
    elif damage == "report.json edited":  # same size, so only its time and inode tell
        text = (site / "report.json").read_bytes()
        (site / "report.json").unlink()
        (site / "report.json").write_bytes(text.replace(b'"runs"', b'"RUNS"'))
    elif damage == "report.json gone":
        (site / "report.json").unlink()
    elif damage == "no record of the files":
        with sqlite3.connect(record) as db:
            db.execute("DELETE FROM units WHERE unit = ?", ("\0assembled",))
    elif damage in ("no pieces recorded", "pieces that are not JSON", "pieces that are not a mapping"):
        with sqlite3.connect(record) as db:
            if damage == "no pieces recorded":
                db.execute("DELETE FROM pieces")
            else:
                db.execute("UPDATE pieces SET data = ?", ("{not json" if "JSON" in damage else "[1, 2]",))
    else:
        forged = {
            "offsets past the end": ["report.json", 99999999, 10],
            "offsets not numbers": ["report.json", "0", 10],
            "negative offsets": ["report.json", -5, 10],
        }[damage]
        with sqlite3.connect(record) as db:
            (data,) = db.execute("SELECT data FROM pieces").fetchone()
            pieces = json.loads(data)
            for unit in pieces:
                if unit.startswith("run"):
                    pieces[unit] = [forged]
            db.execute("UPDATE pieces SET data = ?", (json.dumps(pieces),))
    again = build([manifests], BuildOptions(output=site, jobs=2))
    assert again.written and again.reused_pages > 0 and again.jobs == 2
    assert bool(made) is made_here, made
    assert build([manifests], BuildOptions(output=tmp_path / "cold", cache=False)).written
    assert tree(site) == tree(tmp_path / "cold")


def test_a_page_edited_in_the_site_is_rendered_again(manifests: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    build([manifests], BuildOptions(output=site))
    before = tree(site)
    page = next((site / "runs").glob("*.html"))
    page.write_text("edited by hand")  # in place: same inode, new size and time
    svg = next((site / "artifacts").rglob("*.svg"))
    svg.unlink()
    svg.write_bytes(before[svg.relative_to(site).as_posix()])  # the same bytes, another file
    again = build([manifests], BuildOptions(output=site))
    assert tree(site) == before
    assert again.reused_pages == again.pages - 4  # index, audit, the edited run, the svg's artifact


def test_a_damaged_or_hostile_page_cache_is_ignored(manifests: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    build([manifests], BuildOptions(output=site))
    before = tree(site)
    record = cache_folder(site) / PageCache.FILE
    with sqlite3.connect(record) as db:  # a unit that claims a file outside the site
        db.execute(
            "UPDATE units SET files = ? WHERE unit LIKE 'run%'", ('[["../../outside", "x", true, 1, 1, 1]]',)
        )
    again = build([manifests], BuildOptions(output=site))
    assert tree(site) == before and again.reused_pages > 0
    assert not (tmp_path / "outside").exists()
    record.write_bytes(b"not a database")
    third = build([manifests], BuildOptions(output=site))
    assert third.reused_pages == 0 and tree(site) == before
    fourth = build([manifests], BuildOptions(output=site))
    assert fourth.reused_pages == fourth.pages - 2  # the record was started again


@pytest.mark.parametrize(
    "forged",
    [
        "the index",  # as the last build left it: intact, but no run's file
        "an asset",
        "another run's page",  # in the runs' folder: the run is reused with it, nothing is written twice
        "a path that is a number",
        "a page flag that is text",
        "an inode that is text",
    ],
)
def test_a_unit_record_claiming_files_it_cannot_have_is_not_reused(
    manifests: Path, tmp_path: Path, forged: str
) -> None:
    site = tmp_path / "site"
    build([manifests], BuildOptions(output=site, jobs=2))
    before = tree(site)

    def real(path: str) -> list[object]:
        st = (site / path).stat()
        return [path, "d", True, st.st_ino, st.st_size, st.st_mtime_ns]

    record = cache_folder(site) / PageCache.FILE
    with sqlite3.connect(record) as db:
        (unit, files), (other, _) = db.execute(
            "SELECT unit, files FROM units WHERE unit LIKE 'run%' ORDER BY unit LIMIT 2"
        ).fetchall()
        claimed = json.loads(files)
        if forged == "the index":
            claimed.append(real("index.html"))
        elif forged == "an asset":
            claimed.append(real("assets/site.css"))
        elif forged == "another run's page":
            claimed.append(
                real(
                    json.loads(db.execute("SELECT files FROM units WHERE unit = ?", (other,)).fetchone()[0])[
                        0
                    ][0]
                )
            )
        else:
            field = {"a path that is a number": 0, "a page flag that is text": 2, "an inode that is text": 3}[
                forged
            ]
            claimed[0][field] = 7 if field == 0 else "7"
        db.execute("UPDATE units SET files = ? WHERE unit = ?", (json.dumps(claimed), unit))
    for jobs in (2, 1):  # linked ahead, and while pages render
        shutil.copy(record, tmp_path / "record")
        again = build([manifests], BuildOptions(output=site, jobs=jobs))
        assert again.written and tree(site) == before, jobs
        assert 0 < again.reused_pages < again.pages - 2
        shutil.copy(tmp_path / "record", record)


def test_a_build_without_the_cache_forgets_the_record(manifests: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    build([manifests], BuildOptions(output=site))
    result: BuildResult = build([manifests], BuildOptions(output=site, cache=False))
    assert result.reused_pages == 0
    assert not (cache_folder(site) / PageCache.FILE).exists()
    assert build([manifests], BuildOptions(output=site)).reused_pages == 0


def test_reused_files_are_hard_links_of_the_last_site(manifests: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    build([manifests], BuildOptions(output=site))
    page = next((site / "runs").glob("*.html"))
    inode = page.stat().st_ino
    build([manifests], BuildOptions(output=site))
    assert page.stat().st_ino == inode  # the same file, not a copy
    assert (site / "index.html").stat().st_nlink == 1


def linked_here(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Note each file this process links from the last site (a forked process's links are not)."""
    import reportgen.emit as emit_module

    linked: list[str] = []
    real = emit_module.link_files

    def spy(old_site: Any, new_site: Any, files: Any) -> Any:
        linked.extend(f.path for f in files)
        return real(old_site, new_site, files)

    monkeypatch.setattr(emit_module, "link_files", spy)
    return linked


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_rebuild_on_two_cores_links_the_unchanged_files_while_the_manifests_load(
    manifests: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    linked = linked_here(monkeypatch)
    site = tmp_path / "site"
    build([manifests], BuildOptions(output=site, jobs=jobs))
    inodes = {p: p.stat().st_ino for p in site.rglob("*") if p.is_file()}
    append(manifests / "audit" / "2026-q2.yaml", ONE_MORE_ACTION)()
    again = build([manifests], BuildOptions(output=site, jobs=jobs))
    assert again.reused_pages >= 40
    # with two processes, the other one linked them all; with one, this one did, as pages rendered
    assert (len(linked) >= again.reused_pages) is (jobs == 1)
    same = [p for p, inode in inodes.items() if p.exists() and p.stat().st_ino == inode]
    assert len(same) >= 2 * again.reused_pages - 20  # pages and their graphs: hard links
    build([manifests], BuildOptions(output=tmp_path / "cold", cache=False))
    assert tree(site) == tree(tmp_path / "cold") and folders(site) == folders(tmp_path / "cold")


def test_files_linked_ahead_for_what_is_gone_leave_no_trace(manifests: Path, tmp_path: Path) -> None:
    """An artifact name that is gone: its folder was linked ahead, then removed, folder and all."""
    more = manifests / "more.yaml"
    more.write_text("artifacts: [{name: scratch-data, version: v0, type: dataset, project: churn}]\n")
    scratch = tmp_path / "site" / "artifacts" / "scratch-data"

    def remove() -> None:
        assert scratch.is_dir()
        more.unlink()

    assert rebuild_matches_cold(manifests, tmp_path, remove, jobs=2) > 0
    assert not scratch.exists()


@pytest.mark.parametrize("failure", ["raises", "killed", "garbage", "a row not a unit"])
def test_a_rebuild_whose_linking_ahead_fails_links_while_pages_render(
    manifests: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    import signal

    import reportgen.build as build_module
    from reportgen.incremental import link_ahead

    def half_then_fail(folder: Path, site: Path, staging: Path) -> Any:
        units, copied = link_ahead(folder, site, staging)  # every file linked: the parent must remove them
        if failure == "killed":
            os.kill(os.getpid(), signal.SIGKILL)
        if failure == "a row not a unit":
            units[next(iter(units))] = (1, 2)
            return units, copied
        raise OSError("no more links")

    real = build_module._ahead

    def cut_short(*args: Any) -> bytes:  # what the process sends, cut short in the pipe
        return real(*args)[:-7]

    if failure == "garbage":
        monkeypatch.setattr(build_module, "_ahead", cut_short)
    else:
        monkeypatch.setattr(build_module, "link_ahead", half_then_fail)
    linked = linked_here(monkeypatch)
    reused = rebuild_matches_cold(
        manifests, tmp_path, append(manifests / "audit" / "2026-q2.yaml", ONE_MORE_ACTION), jobs=2
    )
    assert reused >= 40 and len(linked) >= reused  # linked by this process after all


def test_a_rebuild_that_fails_validation_stops_linking_and_leaves_the_site(
    manifests: Path, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    build([manifests], BuildOptions(output=site, jobs=2))
    before = tree(site)
    append(manifests / "audit" / "2026-q2.yaml", "\n  - {at: never}\n")()
    failed = build([manifests], BuildOptions(output=site, jobs=2))
    assert not failed.written and failed.validation.diagnostics
    assert tree(site) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".site.cache", ".site.lock", "acme", "site"]


def test_a_change_of_reportgens_own_code_renders_every_page(
    manifests: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a development checkout changes code without changing the version: nothing may be kept from it
    site = tmp_path / "site"
    build([manifests], BuildOptions(output=site))
    another_reportgen(tmp_path / "code", monkeypatch, "site.py")
    assert build([manifests], BuildOptions(output=site)).reused_pages == 0


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_collection_rendered_again_shows_its_reused_versions_graphs(
    manifests: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    """A collection's page shows its versions' graphs: when only the collection changed, the worker that
    renders it draws them (from the graph cache), though the versions' own pages are reused."""
    from reportgen.layout import Drawer

    drawn: list[str] = []  # with two processes, what the parent drew: nothing (the workers draw)
    real = Drawer.draw_all

    def spy(self: Drawer, focuses: Any) -> Any:
        drawn.extend(str(focus.artifact) for focus in focuses)
        return real(self, focuses)

    monkeypatch.setattr(Drawer, "draw_all", spy)
    site = tmp_path / "site"
    first = build([manifests], BuildOptions(output=site, jobs=jobs))
    drawn.clear()
    replace(manifests / "registries.yaml", "Scores every", "Rates every")()
    again = build([manifests], BuildOptions(output=site, jobs=jobs))
    drawn_again = sorted(drawn)
    cold = build([manifests], BuildOptions(output=tmp_path / "cold", cache=False, jobs=jobs))
    assert tree(site) == tree(tmp_path / "cold")
    org = again.validation.organisation
    versions = {
        str(v.artifact)
        for h in org.collections.values()
        if h.collection.name == "churn-predictor"
        for v in h.versions
    }
    assert again.reused_pages == first.pages - 2 - (1 + len(versions))  # the collection's own pages
    assert again.cached_graphs == len(versions) and again.graphs == cold.graphs
    if jobs == 1:
        assert drawn_again == sorted(versions)


def recorded_rows(site: Path) -> dict[str, tuple[int, str, str, str]]:
    """Return the page record's rows by unit: (rowid, fingerprint, files, graph key)."""
    with sqlite3.connect(cache_folder(site) / PageCache.FILE) as db:
        rows = db.execute("SELECT unit, rowid, fingerprint, files, graph_key FROM units").fetchall()
    return {unit: (rowid, *rest) for unit, rowid, *rest in rows}


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_rebuild_writes_the_record_rows_of_the_units_it_rendered_only(
    manifests: Path, tmp_path: Path, jobs: int
) -> None:
    site = tmp_path / "site"
    first = build([manifests], BuildOptions(output=site, jobs=jobs))
    before = recorded_rows(site)
    append(manifests / "audit" / "2026-q2.yaml", ONE_MORE_ACTION)()
    again = build([manifests], BuildOptions(output=site, jobs=jobs))
    after = recorded_rows(site)
    assert after.keys() == before.keys()
    changed = {unit for unit in after if after[unit][1:] != before[unit][1:]}
    rewritten = {unit for unit in after if after[unit][0] != before[unit][0]}  # a new row: a new rowid
    assert rewritten == changed and ASSEMBLED in changed
    assert 0 < len(changed) < len(after) and 0 < again.reused_pages < first.pages
    # what was written is the whole record: the next build reuses every unit but the index and audit log
    third = build([manifests], BuildOptions(output=site, jobs=jobs))
    assert third.reused_pages == third.pages - 2
    build([manifests], BuildOptions(output=tmp_path / "cold", cache=False))
    assert tree(site) == tree(tmp_path / "cold")


def test_a_record_in_the_earlier_format_is_started_again(manifests: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    build([manifests], BuildOptions(output=site, jobs=2))
    record = cache_folder(site) / PageCache.FILE
    with sqlite3.connect(record) as db:  # one table, each unit's pieces in its row
        db.execute("DROP TABLE pieces")
        db.execute("ALTER TABLE units ADD COLUMN pieces TEXT")
        db.execute("UPDATE units SET pieces = '[]'")
    again = build([manifests], BuildOptions(output=site, jobs=2))
    assert again.written and again.reused_pages == 0
    assert build([manifests], BuildOptions(output=site, jobs=2)).reused_pages == again.pages - 2
    build([manifests], BuildOptions(output=tmp_path / "cold", cache=False))
    assert tree(site) == tree(tmp_path / "cold")


def test_files_copied_while_linking_ahead_are_recorded_as_copied(
    manifests: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where a link fails the file is copied: a new inode, which the record must hold, or the next
    build would find the file changed and render its unit again."""
    import reportgen.incremental as incremental

    site = tmp_path / "site"
    build([manifests], BuildOptions(output=site, jobs=2))
    real = incremental.link_file

    def no_links_for_runs(source: str, path: str) -> None:
        if "/runs/" in os.fspath(path):
            raise OSError("too many links")
        real(source, path)

    monkeypatch.setattr(incremental, "link_file", no_links_for_runs)
    again = build([manifests], BuildOptions(output=site, jobs=2))
    run_page = next((site / "runs").glob("*.html"))
    copy = run_page.stat()
    assert copy.st_nlink == 1  # a copy: no other site holds it
    monkeypatch.undo()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    third = build([manifests], BuildOptions(output=site, jobs=2))
    assert third.reused_pages == again.reused_pages == third.pages - 2
    assert run_page.stat().st_ino == copy.st_ino  # linked from the copy, as the record says


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_rebuild_on_two_cores_takes_the_templates_compiled_while_the_manifests_load(
    manifests: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    import jinja2

    compiled: list[str] = []  # by this process: the other one's calls are its own
    real = jinja2.Environment.compile

    def spy(self: jinja2.Environment, source: Any, name: str | None = None, *args: Any, **kw: Any) -> Any:
        compiled.append(str(name))
        return real(self, source, name, *args, **kw)

    monkeypatch.setattr(jinja2.Environment, "compile", spy)
    site = tmp_path / "site"
    build([manifests], BuildOptions(output=site, jobs=jobs))
    compiled.clear()
    append(manifests / "audit" / "2026-q2.yaml", ONE_MORE_ACTION)()
    again = build([manifests], BuildOptions(output=site, jobs=jobs))
    assert again.written and again.jobs == jobs
    assert bool(compiled) is (jobs == 1), compiled
    build([manifests], BuildOptions(output=tmp_path / "cold", cache=False))
    assert tree(site) == tree(tmp_path / "cold")


def test_a_template_that_does_not_compile_fails_a_rebuild_on_two_cores_as_on_one(
    manifests: Path, tmp_path: Path
) -> None:
    import jinja2

    mine = tmp_path / "templates"
    mine.mkdir()
    site = tmp_path / "site"
    build([manifests], BuildOptions(output=site, jobs=2, templates=mine))
    before = tree(site)
    (mine / "detail.html").write_text("{% extends 'base.html' %}{% block main %}{{ page.title {% endblock %}")
    failures = []
    for jobs in (2, 1):
        with pytest.raises(jinja2.TemplateSyntaxError) as caught:
            build([manifests], BuildOptions(output=site, jobs=jobs, templates=mine))
        failures.append((caught.value.name, caught.value.lineno, caught.value.message))
        assert tree(site) == before
    assert (
        failures[0] == failures[1] == ("detail.html", 1, "expected token 'end of print statement', got '{'")
    )


def set_aside(site: Path) -> list[Path]:
    folder = cache_folder(site) / "set-aside"
    return sorted(folder.iterdir()) if folder.is_dir() else []


def test_a_rebuild_sets_the_last_site_aside_for_the_next_one_to_remove(
    manifests: Path, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    build([manifests], BuildOptions(output=site, jobs=2))
    assert set_aside(site) == []  # a first build: nothing to set aside
    before = tree(site)
    build([manifests], BuildOptions(output=site, jobs=2))
    (first,) = set_aside(site)
    assert tree(first) == before  # the last site, whole: its files are the new site's, linked
    again = build([manifests], BuildOptions(output=site, jobs=2))
    (second,) = set_aside(site)
    assert second != first and not first.exists()  # removed by the linking process
    assert again.reused_pages == again.pages - 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [".site.cache", ".site.lock", "acme", "site"]
    build([manifests], BuildOptions(output=tmp_path / "cold", cache=False))
    assert tree(site) == tree(tmp_path / "cold")


@pytest.mark.parametrize(
    "how",
    ["on one process", "without the cache", "a change of every page", "where the name cannot be made"],
)
def test_a_build_that_does_not_set_the_last_site_aside_removes_it_and_what_was_set_aside(
    manifests: Path, tmp_path: Path, how: str
) -> None:
    site = tmp_path / "site"
    build([manifests], BuildOptions(output=site, jobs=2))
    build([manifests], BuildOptions(output=site, jobs=2))
    (earlier,) = set_aside(site)
    options: dict[str, Any] = {"jobs": 2}
    if how == "on one process":
        options["jobs"] = 1
    elif how == "without the cache":
        options["cache"] = False
    elif how == "a change of every page":
        options["title"] = "Another title"
    else:  # the linking process removes what is set aside; then a file takes the folder's name
        options["jobs"] = 2
        shutil.rmtree(earlier.parent)
        earlier.parent.write_text("not a folder")
    again = build([manifests], BuildOptions(output=site, **options))
    assert again.written
    assert set_aside(site) == [] and not earlier.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".site.cache", ".site.lock", "acme", "site"]
    options["cache"] = False
    build([manifests], BuildOptions(output=tmp_path / "cold", **options))
    assert tree(site) == tree(tmp_path / "cold")


def _nightly(versions: int, unlinked: int | None = None) -> str:
    """A collection of ``versions`` versions, each its own lineage (no runs); `production` on v1."""
    lines = [
        "registries: [{name: model, protected_aliases: [production]}]",
        "collections: [{registry: model, name: nightly, type: model, description: Trained nightly.}]",
        "artifacts:",
        *(
            f"  - {{name: nightly, version: v{n}, type: model, digest: 'sha256:{n:064x}'}}"
            for n in range(versions)
        ),
        "actions:",
        *(
            f"  - {{at: '2025-01-{1 + n:02d}T02:00:00Z', user: ci, action: link, collection: model/nightly, "
            f"artifact: 'nightly:v{n}'}}"
            for n in range(versions)
        ),
        "  - {at: '2025-01-02T09:00:00Z', user: ana, action: add_alias, collection: model/nightly, "
        "version: v1, alias: production, reason: first promotion}",
    ]
    return "\n".join(lines) + "\n"


ONE_MORE_NIGHT = (
    "artifacts: [{name: nightly, version: v12, type: model, digest: 'sha256:0c'}]\n"
    "actions: [{at: '2025-01-13T02:00:00Z', user: ci, action: link, collection: model/nightly, "
    "artifact: 'nightly:v12'}]\n"
)
PROMOTED = (
    "actions: [{at: '2025-01-13T09:00:00Z', user: ana, action: add_alias, collection: model/nightly, "
    "version: v10, alias: production, reason: better}]\n"
)
UNLINKED = (
    "actions: [{at: '2025-01-13T09:00:00Z', user: ana, action: unlink, collection: model/nightly, "
    "version: v5}]\n"
)


@pytest.mark.parametrize(
    "name, change, rendered",
    [
        # latest moves from v11 to v12, and a newer block follows v8-v11: blocks 2 and 3 (new)
        ("one more night", lambda m: (m / "b.yaml").write_text(ONE_MORE_NIGHT), {8, 9, 10, 11, 12}),
        # production moves from v1 to v10: its block and v10's
        ("production promoted", lambda m: (m / "b.yaml").write_text(PROMOTED), {0, 1, 2, 3, 8, 9, 10, 11}),
        ("a version unlinked", lambda m: (m / "b.yaml").write_text(UNLINKED), {4, 5, 6, 7}),
        (
            "the collection's description",
            lambda m: (m / "a.yaml").write_text(
                (m / "a.yaml").read_text().replace("Trained nightly.", "Trained every night.")
            ),
            set(range(12)),
        ),
    ],
)
def test_a_long_collection_renders_again_only_the_blocks_of_versions_a_change_touches(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    change: Callable[[Path], None],
    rendered: set[int],
) -> None:
    """Blocks of four versions (v0-v3, v4-v7, v8-v11): a rebuild renders the blocks whose versions, their
    actions or lineage, or the collection changed, and the block before a new one (it gains a link)."""
    monkeypatch.setattr(site_module, "VERSION_WINDOW", 4)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    manifests = tmp_path / "nightly"
    manifests.mkdir()
    (manifests / "a.yaml").write_text(_nightly(12))
    pages = tmp_path / "site" / "collections" / "model" / "nightly"
    before: dict[int, int] = {}

    def changed() -> None:
        before.update({int(p.stem[1:]): p.stat().st_ino for p in pages.glob("v*.html")})
        change(manifests)

    rebuild_matches_cold(manifests, tmp_path, changed)
    assert sorted(before) == list(range(12))
    after = {int(p.stem[1:]): p.stat().st_ino for p in pages.glob("v*.html")}
    assert {n for n in after if before.get(n) != after[n]} == rendered, name


def _fan_out(runs: int, first: int = 0) -> str:
    """One dataset version read by ``runs`` training runs, each logging a model of its own (from
    ``first`` on, without the dataset: what a set of ``first`` runs needs to have ``runs``)."""
    lines = ["artifacts:"]
    if first == 0:
        lines.append("  - {name: data, version: v0, type: dataset, description: The shared split.}")
    lines += [f"  - {{name: model-{k}, version: v0, type: model}}" for k in range(first, runs)]
    lines.append("runs:")
    lines += [
        f"  - {{id: train-{k}, job_type: train, state: finished, user: ci, inputs: ['data:v0'], "
        f"outputs: ['model-{k}:v0']}}"
        for k in range(first, runs)
    ]
    return "\n".join(lines) + "\n"


def detail_pages(site: Path) -> dict[str, int]:
    """Return the inode of each artifact and run page (a page rendered again is a new file)."""
    return {
        p.relative_to(site).as_posix(): p.stat().st_ino
        for folder in ("artifacts", "runs")
        for p in (site / folder).rglob("*.html")
    }


FAN_OUT = 8


@pytest.fixture
def fan_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Return a folder of manifests: one dataset version read by ``FAN_OUT`` runs (``_fan_out``)."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    manifests = tmp_path / "fan-out"
    manifests.mkdir()
    (manifests / "a.yaml").write_text(_fan_out(FAN_OUT))
    return manifests


MODEL_3 = "artifacts/model-3/v0.html"
TRAIN_3 = "runs/train-3.html"
DATA = "artifacts/data/v0.html"


@pytest.mark.parametrize(
    "name, change, rendered",
    [
        # The dataset's graph draws its readers (as a cluster); each reader's graph draws the dataset,
        # not the dataset's other readers: one more reader changes the dataset's graph alone.
        (
            "one more run from the dataset",
            lambda m: (m / "b.yaml").write_text(_fan_out(FAN_OUT + 1, FAN_OUT)),
            {DATA, "runs/train-8.html", "artifacts/model-8/v0.html"},
        ),
        # A run's state shows on its node: the graphs that draw it (a cluster counts its members whole).
        (
            "a run's state",
            lambda m: (m / "a.yaml").write_text(
                (m / "a.yaml")
                .read_text()
                .replace(
                    "id: train-3, job_type: train, state: finished",
                    "id: train-3, job_type: train, state: failed",
                )
            ),
            {TRAIN_3, MODEL_3, DATA},
        ),
        # The dataset's description shows on its own page; every graph draws the dataset.
        (
            "the dataset's description",
            lambda m: (m / "a.yaml").write_text(
                (m / "a.yaml").read_text().replace("The shared", "The common")
            ),
            {
                DATA,
                *(f"runs/train-{k}.html" for k in range(FAN_OUT)),
                *(f"artifacts/model-{k}/v0.html" for k in range(FAN_OUT)),
            },
        ),
    ],
)
@pytest.mark.parametrize("jobs", [1, 2])
def test_a_change_in_a_lineage_renders_again_only_the_pages_whose_graphs_show_it(
    tmp_path: Path,
    fan_out: Path,
    name: str,
    change: Callable[[Path], None],
    rendered: set[str],
    jobs: int,
) -> None:
    """Every page here is in one lineage component: a change in it changes every page's wide
    fingerprint, and the exact one tells which pages show what changed."""
    site = tmp_path / "site"
    before: dict[str, int] = {}
    cold_before = tmp_path / "cold-before"
    build([fan_out], BuildOptions(output=cold_before, cache=False, jobs=jobs))

    def changed() -> None:
        before.update(detail_pages(site))
        change(fan_out)

    rebuild_matches_cold(fan_out, tmp_path, changed, jobs=jobs)
    after = detail_pages(site)
    again = {page for page, inode in after.items() if before.get(page) != inode}
    assert again == rendered, name
    # what was rendered again holds every page that differs from the last build's
    differ = {
        p
        for p in after
        if not (cold_before / p).is_file() or (cold_before / p).read_bytes() != (site / p).read_bytes()
    }
    assert differ <= again


@pytest.mark.parametrize("jobs, compact_from", [(1, None), (2, None), (2, 0)])
def test_night_after_night_a_rebuild_renders_the_new_runs_pages_and_their_datasets(
    tmp_path: Path, fan_out: Path, monkeypatch: pytest.MonkeyPatch, jobs: int, compact_from: int | None
) -> None:
    """The exact fingerprints a build records are those the next one works out: of the pages it
    rendered (digested where their graphs were drawn) and of those it reused. Moving the model before
    the workers fork (``compact``) makes the fingerprints again from the moved one."""
    if compact_from is not None:
        monkeypatch.setattr(build_module, "COMPACT_FROM", compact_from)
    site = tmp_path / "site"
    build([fan_out], BuildOptions(output=site, jobs=jobs))
    for night in range(FAN_OUT, FAN_OUT + 3):
        before = detail_pages(site)
        (fan_out / f"night-{night}.yaml").write_text(_fan_out(night + 1, night))
        result = build([fan_out], BuildOptions(output=site, jobs=jobs))
        after = detail_pages(site)
        new = {f"runs/train-{night}.html", f"artifacts/model-{night}/v0.html"}
        assert {p for p, inode in after.items() if before.get(p) != inode} == {DATA, *new}, night
        assert result.reused_pages == result.pages - 2 - 3  # the index, the audit log, and those
    build([fan_out], BuildOptions(output=tmp_path / "cold", cache=False, jobs=jobs))
    assert tree(site) == tree(tmp_path / "cold")


def test_a_graph_digest_is_what_a_page_draws_wherever_it_is_made() -> None:
    """Two processes digest a graph alike (nothing of the objects' identity or hashes counts), and the
    options that draw a graph otherwise change its digest."""
    one, two = org_from_yaml(_fan_out(FAN_OUT)), org_from_yaml(_fan_out(FAN_OUT))
    focuses = [NodeKey.of_artifact(ref) for ref in one.artifacts] + [NodeKey.of_run(r) for r in one.runs]

    def digests(org: Any, options: GraphOptions) -> list[str]:
        made = GraphDigests(org)
        return [made.of(neighbourhood(org, focus, options)) for focus in focuses]

    usual = digests(one, GraphOptions())
    assert usual == digests(two, GraphOptions())
    assert len(set(usual)) == len(usual)  # no two pages draw the same graph
    data = focuses.index(NodeKey.of_artifact(next(iter(one.artifacts))))
    for options in (
        GraphOptions(cluster_threshold=None),  # the readers drawn one by one
        GraphOptions(downstream=0),  # none of them
        GraphOptions(node_budget=3),  # cut, and a note says so
    ):
        assert digests(one, options)[data] != usual[data], options


def test_exact_fingerprints_do_not_depend_on_the_wide_ones_made_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``every`` lets go of the events it spelled out; the exact fingerprints made afterwards, of every
    kind of unit that has one (a long collection's blocks too), are those made without it."""
    monkeypatch.setattr(site_module, "VERSION_WINDOW", 4)
    org = org_from_yaml(_nightly(12))
    work = site_module.units(org)
    assert {u.kind for u in work} >= {"collection", "versions", "artifact"}
    before, fresh = Fingerprints(org, "settings"), Fingerprints(org, "settings")
    wide = before.every(work)
    assert wide == [fresh.of(u) for u in work]

    def shown(focus: NodeKey) -> str:
        return str(focus)

    exact = [before.exact(u, shown) for u in work]
    assert exact == [Fingerprints(org, "settings").exact(u, shown) for u in work]
    kinds = {u.kind for u, e in zip(work, exact, strict=True) if e}
    assert kinds == {"collection", "versions", "artifact"}  # index and audit log: none
    assert not (set(exact) & set(wide)) - {""}


@pytest.mark.parametrize(
    "graph", [GraphOptions(full=True), GraphOptions(upstream=None), GraphOptions(downstream=None)]
)
def test_graphs_of_whole_lineages_have_no_exact_fingerprints(
    tmp_path: Path, fan_out: Path, monkeypatch: pytest.MonkeyPatch, graph: GraphOptions
) -> None:
    """Finding such a graph walks the whole component, and it changes with the component: a rebuild
    renders the component again without finding each graph first (``checks_exact``)."""
    site = tmp_path / "site"
    before: dict[str, int] = {}

    def never(*args: object) -> None:
        raise AssertionError("a graph found to check an exact fingerprint")

    def changed() -> None:
        before.update(detail_pages(site))
        (fan_out / "b.yaml").write_text(_fan_out(FAN_OUT + 1, FAN_OUT))
        monkeypatch.setattr(build_module, "neighbourhood", never)

    rebuild_matches_cold(fan_out, tmp_path, changed, graph=graph)
    after = detail_pages(site)
    assert {page for page, inode in after.items() if before.get(page) != inode} == set(after)


def test_a_digest_is_of_its_parts_each_ended_by_a_nul() -> None:
    import hashlib

    from reportgen.incremental import _digest

    def blake(data: bytes) -> str:
        return hashlib.blake2b(data, digest_size=20).hexdigest()

    assert _digest() == blake(b"")
    assert _digest("") == blake(b"\0")
    assert _digest("a", "b") == blake(b"a\0b\0")
    assert _digest("caf\u00e9", "\ud800") == blake("caf\u00e9\0".encode() + b"\xed\xa0\x80\0")


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_build_digests_each_node_once_for_its_fingerprints_and_its_graphs(
    manifests: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    """The fingerprints' nodes' digests are made before pages render; the digests of what pages show of
    each graph take them from there, in this process and in the workers it forks (which inherit them).
    Every process that makes one says so in the file below, each line written whole at its end."""
    log = tmp_path / "digested"
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    digest = incremental_module.node_digest

    def counted(org: object, key: object) -> str:
        os.write(fd, f"{os.getpid()} {key}\n".encode())
        return digest(org, key)  # type: ignore[arg-type]

    monkeypatch.setattr(incremental_module, "node_digest", counted)
    monkeypatch.setattr(build_module, "COMPACT_FROM", 1)  # the model moved first, as at L: made after
    monkeypatch.setattr("reportgen.emit._IN_PROCESS_BELOW", 1)  # the workers fork for the samples too
    try:
        result = build([manifests], BuildOptions(output=tmp_path / "site", jobs=jobs))
    finally:
        os.close(fd)
    made = log.read_text().splitlines()
    assert result.written and result.graphs and result.jobs == jobs
    assert ("compact" in dict(result.stages)) == (jobs > 1)  # the model moves only for workers
    org = result.validation.organisation
    keys = [line.split(" ", 1)[1] for line in made]
    assert sorted(keys) == sorted([*map(str, org.artifacts), *org.runs])  # each once, all of them
    assert {line.split(" ", 1)[0] for line in made} == {str(os.getpid())}
