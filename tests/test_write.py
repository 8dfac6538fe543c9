"""The site writer (reportgen.write): paths stay inside, each file once, atomic swap, lock, recovery."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import pytest

import reportgen.write as write_module
from reportgen.write import (
    MARKER,
    MARKER_TEXT,
    SUMS,
    SiteWriter,
    WriteError,
    _exchange,
    put_file,
    staged_paths,
)


def snapshot(folder: Path) -> dict[str, bytes]:
    """Return every file under ``folder`` (also hidden ones) by its relative path."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def siblings(target: Path) -> list[str]:
    """Return what lies beside ``target`` besides the target and its lock file."""
    lock = f".{target.name}.lock"
    return sorted(p.name for p in target.parent.iterdir() if p.name not in {target.name, lock})


@pytest.fixture
def target(tmp_path: Path) -> Path:
    return tmp_path / "out" / "site"


@pytest.fixture
def writer(target: Path):
    w = SiteWriter(target)
    yield w
    w.abort()


@pytest.mark.parametrize(
    "path",
    [
        "../x",
        "../../x",
        "a/../../x",
        "a/../b",
        "..",
        "/etc/passwd",
        "/x",
        "//x",
        "a\\b",
        "..\\x",
        "\\x",
        "a\x00b",
        "\x00",
        "",
        ".",
        "./",
    ],
    ids=repr,
)
def test_refuses_paths_outside_the_site(writer: SiteWriter, target: Path, path: str) -> None:
    before = snapshot(target.parent.parent)
    with pytest.raises(WriteError, match="outside the site"):
        writer.write(path, b"data")
    assert snapshot(target.parent.parent) == before
    assert writer.count == 0


def test_refuses_to_write_a_path_twice(writer: SiteWriter) -> None:
    writer.write("a/b.html", b"one")
    with pytest.raises(WriteError, match="two files"):
        writer.write("a/b.html", b"two")
    assert (writer.staging / "a" / "b.html").read_bytes() == b"one"
    assert writer.count == 1


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Page.html", "page.html"),
        ("Dir/a.html", "dir/a.html"),
        ("caf\u00e9.html", "cafe\u0301.html"),  # one name, composed and decomposed (macOS decomposes)
        ("CAF\u00c9.html", "cafe\u0301.html"),
    ],
)
@pytest.mark.parametrize("adopted", [False, True], ids=["written", "adopted"])
def test_refuses_paths_differing_only_in_case(
    writer: SiteWriter, first: str, second: str, adopted: bool
) -> None:
    writer.write(first, b"one")
    with pytest.raises(WriteError, match="two files"):
        if adopted:  # a file a worker wrote, or one linked from the last site
            writer.adopt(second, "digest")
        else:
            writer.write(second, b"two")
    assert writer.count == 1


@pytest.mark.parametrize("spelling", ["./a/b.html", "a//b.html", "a/./b.html", "a/b.html/"])
def test_refuses_another_spelling_of_a_written_path(writer: SiteWriter, spelling: str) -> None:
    writer.write("a/b.html", b"one")
    with pytest.raises(WriteError):
        writer.write(spelling, b"two")


def test_commit_swaps_in_the_site_with_marker_and_checksums(target: Path) -> None:
    files = {"index.html": b"<p>i</p>", "runs/r.html": b"r", "assets/site.css": b"body{}"}
    writer = SiteWriter(target)
    staging = writer.staging
    assert staging.parent == target.parent and staging.name.startswith(".site.build-")
    for path, data in files.items():
        writer.write(path, data)
    writer.write_text("text.txt", "é\n")
    assert not target.exists()  # nothing appears before the commit
    writer.commit()
    assert not staging.exists()
    site = snapshot(target)
    assert site[MARKER] == MARKER_TEXT
    assert site["text.txt"] == "é\n".encode()
    lines = site[SUMS].decode().splitlines()
    listed = {}
    for line in lines:
        digest, name = line.split("  ", 1)
        listed[name] = digest
    assert lines == sorted(lines, key=lambda x: x.split("  ", 1)[1])
    assert set(listed) == set(site) - {SUMS}
    assert all(hashlib.sha256(site[n]).hexdigest() == d for n, d in listed.items())
    assert writer.count == len(site)
    assert siblings(target) == []
    # the lock is released: another writer may start, and replace the site whole
    again = SiteWriter(target)
    again.write("only.html", b"x")
    again.commit()
    assert set(snapshot(target)) == {"only.html", MARKER, SUMS}


def test_abort_and_errors_leave_the_previous_site(target: Path) -> None:
    first = SiteWriter(target)
    first.write("index.html", b"old")
    first.commit()
    before = snapshot(target)
    with pytest.raises(RuntimeError, match="boom"), SiteWriter(target) as w:
        w.write("index.html", b"new")
        raise RuntimeError("boom")
    assert snapshot(target) == before
    assert siblings(target) == []
    w = SiteWriter(target)
    w.write("index.html", b"newer")
    w.abort()
    assert snapshot(target) == before
    assert siblings(target) == []


def test_files_staged_by_another_process_can_be_removed_with_the_folders_they_leave_empty(
    writer: SiteWriter,
) -> None:
    for relative in ("a/b/one.html", "a/b/two.html", "a/c/three.html", "top.html"):
        path = writer.staging / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"linked ahead")
    writer.unstage(["a/b/one.html", "a/c/three.html", "top.html", "a/gone.html"])
    left = sorted(p.relative_to(writer.staging).as_posix() for p in writer.staging.rglob("*"))
    assert left == ["a", "a/b", "a/b/two.html"]
    writer.unstage(["a/b/two.html"])
    assert list(writer.staging.iterdir()) == []  # the staging folder itself stays
    with pytest.raises(WriteError):
        writer.unstage(["../outside.html"])


def test_restart_removes_folders_other_processes_put_files_in(writer: SiteWriter, target: Path) -> None:
    for relative in ("a/linked.html", "a/b/linked.html", "c/linked.html", "rendered.html"):
        (writer.staging / relative).parent.mkdir(parents=True, exist_ok=True)
        (writer.staging / relative).write_bytes(b"put there")
    writer.restart(["a/", "c", "gone"])
    assert sorted(p.name for p in writer.staging.iterdir()) == ["rendered.html"]
    writer.adopt("rendered.html", hashlib.sha256(b"put there").hexdigest())
    writer.write("index.html", b"new")
    writer.commit()
    assert set(snapshot(target)) == {"index.html", "rendered.html", MARKER, SUMS}


@pytest.mark.parametrize("fork", [True, False])
@pytest.mark.parametrize("forks", ["yes", "cannot", "fails"])
def test_commit_runs_meanwhile_holding_the_lock_while_the_previous_site_is_removed(
    target: Path, monkeypatch: pytest.MonkeyPatch, fork: bool, forks: str
) -> None:
    import reportgen.write as write_module

    if forks == "cannot":
        monkeypatch.setattr(write_module, "fork_task", lambda *a: None)
    elif forks == "fails":
        monkeypatch.setattr(write_module, "_removed", lambda folder: 1 / 0)
    first = SiteWriter(target)
    for n in range(200):
        first.write(f"pages/{n}.html", b"old")
    first.commit()
    seen: list[object] = []

    def meanwhile() -> None:
        seen.append(snapshot(target)["index.html"])  # the new site is in place
        with pytest.raises(WriteError, match="another reportgen build"):
            SiteWriter(target)  # the lock is still held

    w = SiteWriter(target)
    w.write("index.html", b"new")
    w.commit(meanwhile, fork=fork)
    assert seen == [b"new"]
    assert set(snapshot(target)) == {"index.html", MARKER, SUMS}
    assert siblings(target) == []  # the previous site is gone, whoever removed it
    SiteWriter(target).abort()  # the lock is free


@pytest.mark.parametrize("fork", [True, False])
def test_commit_sets_the_previous_site_aside_and_removes_the_leftovers_given(
    target: Path, tmp_path: Path, fork: bool
) -> None:
    first = SiteWriter(target)
    first.write("index.html", b"old")
    first.commit()
    leftovers = [tmp_path / "aside" / name for name in ("1", "2")]
    for folder in leftovers:
        (folder / "pages").mkdir(parents=True)
        (folder / "pages" / "p.html").write_bytes(b"older")
    w = SiteWriter(target)
    w.write("index.html", b"new")
    w.commit(fork=fork, set_aside=tmp_path / "aside" / "3", leftovers=leftovers[:1])
    assert snapshot(target)["index.html"] == b"new" and siblings(target) == []
    assert sorted(p.name for p in (tmp_path / "aside").iterdir()) == ["2", "3"]
    assert snapshot(tmp_path / "aside" / "3")["index.html"] == b"old"  # the previous site, whole


def test_a_previous_site_that_cannot_be_set_aside_is_removed(target: Path, tmp_path: Path) -> None:
    first = SiteWriter(target)
    first.write("index.html", b"old")
    first.commit()
    (tmp_path / "taken").write_text("a file where the folder would go")
    w = SiteWriter(target)
    w.write("index.html", b"new")
    w.commit(fork=True, set_aside=tmp_path / "taken" / "1")
    assert snapshot(target)["index.html"] == b"new" and siblings(target) == []
    assert (tmp_path / "taken").read_text() == "a file where the folder would go"


def test_abort_after_commit_leaves_the_site(target: Path) -> None:
    w = SiteWriter(target)
    w.write("index.html", b"new")
    w.commit()
    w.abort()
    assert snapshot(target)["index.html"] == b"new"
    assert siblings(target) == []


def test_refuses_a_non_empty_folder_not_made_by_reportgen(tmp_path: Path) -> None:
    target = tmp_path / "mine"
    (target / "sub").mkdir(parents=True)
    (target / "notes.txt").write_text("mine")
    (target / "sub" / "x.bin").write_bytes(b"\x00\x01")
    before = snapshot(target)
    with pytest.raises(WriteError, match="not made by reportgen"):
        SiteWriter(target)
    assert snapshot(target) == before
    assert siblings(target) == []
    # the failed writer released its lock
    (target / "notes.txt").unlink()
    (target / "sub" / "x.bin").unlink()
    (target / "sub").rmdir()
    SiteWriter(target).abort()


def test_an_empty_folder_is_fine(tmp_path: Path) -> None:
    target = tmp_path / "empty"
    target.mkdir()
    w = SiteWriter(target)
    w.write("index.html", b"i")
    w.commit()
    assert set(snapshot(target)) == {"index.html", MARKER, SUMS}


def test_refuses_a_file_as_target(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("a file")
    with pytest.raises(WriteError, match="not a folder"):
        SiteWriter(target)
    assert target.read_text() == "a file"


def test_commit_refuses_a_folder_that_appeared_meanwhile(target: Path) -> None:
    writer = SiteWriter(target)
    writer.write("index.html", b"i")
    target.mkdir(parents=True)
    (target / "theirs.txt").write_text("theirs")
    with pytest.raises(WriteError, match="not made by reportgen"):
        writer.commit()
    writer.abort()
    assert snapshot(target) == {"theirs.txt": b"theirs"}
    assert siblings(target) == []


def test_a_second_writer_gets_a_clear_error(target: Path) -> None:
    first = SiteWriter(target)
    first.write("index.html", b"first")
    with pytest.raises(WriteError, match="another reportgen build is writing"):
        SiteWriter(target)
    # the refused writer did not clear the running build's staging folder
    assert (first.staging / "index.html").read_bytes() == b"first"
    first.commit()
    assert snapshot(target)["index.html"] == b"first"
    SiteWriter(target).abort()


def test_stale_staging_folders_are_cleared(target: Path) -> None:
    first = SiteWriter(target)
    first.write("index.html", b"old")
    first.commit()
    before = snapshot(target)
    stale = target.parent / ".site.build-killed"
    (stale / "runs").mkdir(parents=True)
    (stale / "runs" / "half.html").write_text("half")
    w = SiteWriter(target)
    assert not stale.exists()
    w.abort()
    assert snapshot(target) == before
    assert siblings(target) == []


def test_a_site_caught_mid_swap_is_restored(target: Path) -> None:
    """Killed between moving the old site aside and moving the new one in: the old site comes back."""
    first = SiteWriter(target)
    first.write("index.html", b"old")
    first.commit()
    before = snapshot(target)
    aside = target.with_name(".site.old-12345")
    os.replace(target, aside)
    staged = target.with_name(".site.build-abc")
    staged.mkdir()
    (staged / "index.html").write_text("new, unfinished")
    w = SiteWriter(target)
    assert snapshot(target) == before
    assert not aside.exists() and not staged.exists()
    w.abort()
    assert siblings(target) == []


def test_a_leftover_old_site_is_removed_when_the_new_one_is_in_place(target: Path) -> None:
    first = SiteWriter(target)
    first.write("index.html", b"new")
    first.commit()
    aside = target.with_name(".site.old-999")
    aside.mkdir()
    (aside / MARKER).write_bytes(MARKER_TEXT)
    (aside / "index.html").write_text("old")
    SiteWriter(target).abort()
    assert not aside.exists()
    assert snapshot(target)["index.html"] == b"new"


@pytest.mark.skipif(sys.platform != "linux", reason="renameat2 exchange is Linux only")
def test_a_rebuild_swaps_the_site_in_one_atomic_exchange(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "new").write_text("new")
    (b / "old").write_text("old")
    assert _exchange(a, b)
    assert [p.name for p in b.iterdir()] == ["new"] and [p.name for p in a.iterdir()] == ["old"]
    # a rebuild through the writer leaves nothing beside the site
    for text in ("first", "second"):
        with SiteWriter(tmp_path / "site") as writer:
            writer.write_text("index.html", text)
            writer.commit()
    assert (tmp_path / "site" / "index.html").read_text() == "second"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".site.lock", "a", "b", "site"]


@pytest.mark.parametrize(
    ("relative", "staged"),
    [
        ("a.html", "a.html"),
        ("a/b/c.svg", "a/b/c.svg"),
        ("...", "..."),
        ("..a/a..", "..a/a.."),
        (".hidden/x", ".hidden/x"),
        ("./a", "a"),
        ("a//b", "a/b"),
        ("a/./b", "a/b"),
        ("a/", "a"),
        ("a/.", "a"),
    ],
)
def test_staged_paths_have_one_spelling(tmp_path: Path, relative: str, staged: str) -> None:
    for folder in (tmp_path, str(tmp_path), f"{tmp_path}/", "", "/"):  # the folder spelled once
        assert staged_paths(folder)(relative) == (os.path.join(folder, staged), staged)


@pytest.mark.parametrize(
    "relative", ["", ".", "..", "x/..", "a/../b", "/a", "//a", "a\\b", "a\x00b"], ids=repr
)
def test_staged_paths_never_leave_the_site(tmp_path: Path, relative: str) -> None:
    with pytest.raises(WriteError, match="outside the site"):
        staged_paths(tmp_path)(relative)


@pytest.mark.parametrize("data", [b"", b"one part", [b"first ", b"", "second ✓".encode(), b"x" * 70_000]])
def test_put_file_writes_every_byte_even_when_a_write_takes_only_some(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: bytes | list[bytes]
) -> None:
    real = os.write
    monkeypatch.setattr(write_module.os, "write", lambda fd, part: real(fd, bytes(part[:7])))
    path = tmp_path / "f.bin"
    digest, status = put_file(path, data if isinstance(data, bytes) else iter(data))
    whole = data if isinstance(data, bytes) else b"".join(data)
    assert path.read_bytes() == whole
    assert digest == hashlib.sha256(whole).hexdigest()
    assert (status.st_size, status.st_ino) == (len(whole), path.stat().st_ino)
    with pytest.raises(FileExistsError):  # never through a file already there
        put_file(path, b"again")
    assert path.read_bytes() == whole
