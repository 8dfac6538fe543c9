"""Stage 1, load: finding manifest files, reading YAML into located nodes, and problems as diagnostics."""

from __future__ import annotations

import gc
import os
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from reportgen import load
from reportgen.diagnostics import Diagnostic, Location, Reporter
from reportgen.fields import CheckedFile, check_documents
from reportgen.load import Document, Node, discover, load_bytes, load_paths
from reportgen.validate import build_organisation, check_where_parsed, validate


def docs_of(text: str, name: str = "m.yaml") -> tuple[list[Document], Reporter]:
    reporter = Reporter()
    return load_bytes(dedent(text).encode(), name, reporter), reporter


def codes(reporter: Reporter) -> list[tuple[str, int, int]]:
    return [(d.code, d.location.line, d.location.column) for d in reporter.diagnostics]


def write(path: Path, text: str = "runs: []\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------------------ locations


def test_nodes_keep_line_and_column() -> None:
    docs, reporter = docs_of(
        """\
        # a comment
        runs:
          - id: alpha
            inputs: [a:v0,
                     b:v1]
        """
    )
    assert reporter.diagnostics == []
    root = docs[0].root
    assert root.loc == Location("m.yaml", 2, 1)
    assert root.key_locs["runs"] == Location("m.yaml", 2, 1)
    assert isinstance(root.value, dict)
    run = root.value["runs"].value[0]  # type: ignore[index]
    assert isinstance(run, Node)
    assert run.loc == Location("m.yaml", 3, 5)
    assert run.key_locs == {"id": Location("m.yaml", 3, 5), "inputs": Location("m.yaml", 4, 5)}
    assert isinstance(run.value, dict)
    assert run.value["id"].loc == Location("m.yaml", 3, 9)
    inputs = run.value["inputs"].value
    assert isinstance(inputs, list)
    assert [(n.value, n.loc.line, n.loc.column) for n in inputs] == [("a:v0", 4, 14), ("b:v1", 5, 14)]


def test_plain_values_and_timestamps_stay_text() -> None:
    docs, _ = docs_of(
        """\
        runs:
          - id: r
            created_at: 2026-03-02T10:00:00Z
            config: {lr: 0.5, epochs: 3, deep: {flag: true, none: null}, tags: [a, b]}
        """
    )
    run = docs[0].root.plain()["runs"][0]
    assert run["created_at"] == "2026-03-02T10:00:00Z"  # validation insists on the zone itself
    assert run["config"] == {"lr": 0.5, "epochs": 3, "deep": {"flag": True, "none": None}, "tags": ["a", "b"]}


def test_problem_locations_in_the_validated_model_point_at_fields() -> None:
    reporter = Reporter()
    text = "runs:\n  - id: r1\n    state: flying\n"
    org = build_organisation(load_bytes(text.encode(), "m.yaml", reporter), reporter)
    assert [(d.code, str(d.location)) for d in reporter.diagnostics] == [("RG104", "m.yaml:3:12")]
    assert org.runs["r1"].location == Location("m.yaml", 2, 5)


# ------------------------------------------------------------------------------ documents


def test_multi_document_files_give_one_document_each() -> None:
    docs, reporter = docs_of(
        """\
        runs: [{id: a}]
        ---
        runs: [{id: b}]
        ---
        artifacts: [{name: x, version: v0, type: t}]
        """,
        name="multi.yaml",
    )
    assert reporter.diagnostics == []
    assert [(d.file, d.index, d.root.loc.line) for d in docs] == [
        ("multi.yaml", 0, 1),
        ("multi.yaml", 1, 3),
        ("multi.yaml", 2, 5),
    ]
    reporter = Reporter()
    org = build_organisation(docs, reporter)
    assert list(org.runs) == ["a", "b"]
    assert reporter.diagnostics == []


def test_byte_order_mark_is_accepted() -> None:
    reporter = Reporter()
    docs = load_bytes(b"\xef\xbb\xbfruns: [{id: a}]\n", "bom.yaml", reporter)
    assert reporter.diagnostics == []
    assert docs[0].root.plain() == {"runs": [{"id": "a"}]}
    assert docs[0].root.loc == Location("bom.yaml", 1, 1)


def test_duplicate_keys_are_errors_at_the_second_key() -> None:
    _, reporter = docs_of(
        """\
        runs:
          - id: a
            id: b
        """
    )
    assert codes(reporter) == [("RG004", 3, 5)]
    assert "first at line 2" in reporter.diagnostics[0].message


def test_python_tags_are_refused_with_a_location() -> None:
    docs, reporter = docs_of(
        """\
        runs:
          - id: !!python/object:os.system x
        """
    )
    assert codes(reporter) == [("RG005", 2, 9)]
    assert docs and docs[0].root.plain() == {"runs": [{}]}


def test_yaml_syntax_error_is_located() -> None:
    docs, reporter = docs_of("runs:\n  - id: [unclosed\n")
    assert docs == []
    assert [d.code for d in reporter.diagnostics] == ["RG003"]
    assert reporter.diagnostics[0].location.line >= 2


# ------------------------------------------------------------------------------ merge keys


def test_merge_keys_work_and_explicit_keys_win() -> None:
    docs, reporter = docs_of(
        """\
        artifacts:
          - &base {name: data, version: v0, type: dataset, project: zoo, size: 10}
          - <<: *base
            version: v1
            size: 20
        """
    )
    assert reporter.diagnostics == []
    merged = docs[0].root.plain()["artifacts"][1]
    assert merged == {"name": "data", "version": "v1", "type": "dataset", "project": "zoo", "size": 20}
    node = docs[0].root.value["artifacts"].value[1]  # type: ignore[index]
    # explicit keys keep their own place; merged ones point where they were written
    assert node.key_locs["version"] == Location("m.yaml", 4, 5)
    assert node.key_locs["project"] == Location("m.yaml", 2, 52)
    reporter = Reporter()
    org = build_organisation(docs, reporter)
    assert reporter.diagnostics == []
    assert [(str(a.ref), a.size, a.project) for a in org.artifacts.values()] == [
        ("data:v0", 10, "zoo"),
        ("data:v1", 20, "zoo"),
    ]


def test_merge_of_several_mappings_earlier_ones_win() -> None:
    docs, reporter = docs_of(
        """\
        defs:
          - &a {project: first, job_type: train}
          - &b {project: second, user: bob}
        runs:
          - <<: [*a, *b]
            id: r
        """
    )
    assert reporter.diagnostics == []
    assert docs[0].root.plain()["runs"][0] == {
        "id": "r",
        "project": "first",
        "job_type": "train",
        "user": "bob",
    }


def test_merge_of_a_scalar_is_an_error_not_a_crash() -> None:
    _, reporter = docs_of(
        """\
        runs:
          - <<: notamapping
            id: r
        """
    )
    assert [d.code for d in reporter.diagnostics] == ["RG003"]
    assert reporter.diagnostics[0].location.line == 2


# ------------------------------------------------------------------------------ the loader


@pytest.mark.skipif(not yaml.__with_libyaml__, reason="this PyYAML has no libyaml")
def test_the_c_loader_is_used_when_available() -> None:
    assert issubclass(load._Loader, yaml.CSafeLoader)


@pytest.mark.parametrize(
    "text, plain",
    [
        ("a: 1\nb: '1'\nc: 1\nd: \"1\"\n", {"a": 1, "b": "1", "c": 1, "d": "1"}),
        ("a: yes\nb: 'yes'\nc: yes\n", {"a": True, "b": "yes", "c": True}),
        ("a: null\nb: ~\nc: 'null'\nd: null\n", {"a": None, "b": None, "c": "null", "d": None}),
        ("a: 1.5\nb: '1.5'\nc: 1.5\n", {"a": 1.5, "b": "1.5", "c": 1.5}),
    ],
)
def test_scalars_resolve_by_how_they_are_quoted_every_time(text: str, plain: dict[str, object]) -> None:
    # the loader keeps each scalar's tag by its text and quoting: a quoted "1" must not become an int
    reporter = Reporter()
    (document,) = load.load_bytes(text.encode(), "t.yaml", reporter)
    assert document.root.plain() == plain


def test_a_document_without_anchors_is_checked_for_depth_too() -> None:
    deep = "a: " + "[" * 70 + "]" * 70 + "\n"
    reporter = Reporter()
    assert load.load_bytes(deep.encode(), "t.yaml", reporter) == []
    assert [d.code for d in reporter.diagnostics] == ["RG006"]


def test_the_loader_is_a_safe_one() -> None:
    assert issubclass(load._Loader, yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader)


# ------------------------------------------------------------------------------ discovery


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "m"
    for rel in (
        "z.yaml",
        "a.yml",
        "b/c.yaml",
        "b/a/deep/d.yaml",
        "a-b.yaml",
        ".hidden/h.yaml",
        "b/.git/config.yaml",
        ".dotfile.yaml",
        "notes.txt",
        "data.json",
        "README.md",
        "x.YAML.bak",
        "dir.yaml/inner.yml",
    ):
        write(root / rel, "runs: []\n")
    return root


def test_directories_are_searched_recursively_in_sorted_order(tree: Path) -> None:
    found = [p.relative_to(tree).as_posix() for p in discover([tree])]
    assert found == sorted(found, key=lambda p: Path(p).parts)
    assert set(found) == {"z.yaml", "a.yml", "b/c.yaml", "b/a/deep/d.yaml", "a-b.yaml", "dir.yaml/inner.yml"}
    assert found.index("b/a/deep/d.yaml") < found.index("b/c.yaml")
    result = load_paths([Path("m")])
    assert result.diagnostics == []
    assert result.files == ["m/" + f for f in found]  # relative to the working directory, with '/'
    assert [d.file for d in result.documents] == result.files


def test_files_named_on_the_command_line_are_taken_as_given_once(tree: Path) -> None:
    found = discover([tree / "notes.txt", tree / "b", tree / "b" / "c.yaml", tree / "notes.txt"])
    assert [p.relative_to(tree).as_posix() for p in found] == ["notes.txt", "b/a/deep/d.yaml", "b/c.yaml"]


def test_no_manifest_found_is_rg010(tmp_path: Path) -> None:
    write(tmp_path / "README.md", "# nothing\n")
    result = load_paths([tmp_path])
    assert [d.code for d in result.diagnostics] == ["RG010"]
    assert result.files == []


def test_a_dangling_symlink_is_rg001_not_a_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "d" / "good.yaml", "runs: [{id: a}]\n")
    os.symlink(tmp_path / "gone.yaml", tmp_path / "d" / "broken.yaml")
    result = load_paths([Path("d")])
    assert [(d.code, d.location.file, d.location.line) for d in result.diagnostics] == [
        ("RG001", "d/broken.yaml", 0)
    ]
    assert "cannot read file" in result.diagnostics[0].message
    assert str(result.diagnostics[0]).startswith("d/broken.yaml: error[RG001]: ")
    # the readable file is still loaded and validated
    assert [d.file for d in result.documents] == ["d/good.yaml"]
    assert list(validate(result).organisation.runs) == ["a"]


def test_a_missing_file_is_rg001(tmp_path: Path) -> None:
    result = load_paths([tmp_path / "missing.yaml"])
    assert [d.code for d in result.diagnostics] == ["RG001"]


def test_a_directory_named_like_a_manifest_is_searched_not_read(tmp_path: Path) -> None:
    write(tmp_path / "x.yaml" / "inner.yaml", "runs: [{id: inside}]\n")
    result = load_paths([tmp_path / "x.yaml"])
    assert result.diagnostics == []
    assert list(validate(result).organisation.runs) == ["inside"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read a chmod 000 file")
def test_an_unreadable_file_is_rg001(tmp_path: Path) -> None:
    path = write(tmp_path / "secret.yaml")
    path.chmod(0)
    try:
        result = load_paths([path])
    finally:
        path.chmod(0o644)
    assert [d.code for d in result.diagnostics] == ["RG001"]
    assert "Permission denied" in result.diagnostics[0].message


def test_invalid_utf8_and_empty_files_are_located(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "runs: []\n")
    (tmp_path / "b.yaml").write_bytes(b"runs:\n  - id: caf\xe9\n")
    (tmp_path / "c.yaml").write_bytes(b"")
    result = load_paths([tmp_path])
    got = [(Path(d.location.file).name, d.code, d.location.line) for d in result.diagnostics]
    assert got == [("b.yaml", "RG002", 2), ("c.yaml", "RG007", 1)]


def test_a_read_error_is_rg001_even_as_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "locked.yaml")
    real = Path.read_bytes

    def refuse(self: Path) -> bytes:
        if self.name == "locked.yaml":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", refuse)
    result = load_paths([path])
    assert [(d.code, d.message) for d in result.diagnostics] == [
        ("RG001", "cannot read file: Permission denied")
    ]
    assert result.documents == []


def test_explicit_keys_win_even_when_written_before_the_merge() -> None:
    docs, reporter = docs_of(
        """\
        runs:
          - &a {id: x, project: p, user: u}
          - id: y
            <<: *a
            user: w
        """
    )
    assert reporter.diagnostics == []
    assert docs[0].root.plain()["runs"][1] == {"id": "y", "project": "p", "user": "w"}


def test_a_repeated_merge_key_is_a_duplicate_key() -> None:
    _, reporter = docs_of(
        """\
        runs:
          - &a {id: x}
          - <<: *a
            <<: {id: z}
        """
    )
    assert codes(reporter) == [("RG004", 4, 5)]


# ------------------------------------------------------------------------------ parsing on several cores

# Every kind of file a parse can meet: good ones, anchors, problems, text JSON cannot hold, empty ones.
MIXED = {
    "a-good.yaml": "runs:\n"
    + "".join(f"  - {{id: r{i}, job_type: train, config: {{lr: 0.{i}}}}}\n" for i in range(300)),
    "b-anchors.yaml": "base: &b {project: p, tags: [x]}\nruns:\n  - {<<: *b, id: s1}\n  - *b\n",
    "c-duplicate.yaml": "runs:\n  - id: a\n    id: b\n",
    "d-syntax.yaml": "runs: [\n",
    "e-surrogate.yaml": 'runs: [{id: "\\ud800"}]\n',
    "f-empty.yaml": "",
    "g-nan.yaml": "runs: [{id: n, config: {x: .nan, y: -.inf, z: -0.0}}]\n---\nactions: []\n",
    "h-tag.yaml": "runs: [!!python/name:os.system x]\n",
}


def mixed_set(root: Path) -> Path:
    for name, text in MIXED.items():
        write(root / name, text)
    return root


def same_documents(a: list[Document], b: list[Document]) -> bool:
    # NaN is never equal to itself: compare the documents' JSON, which spells every value and place.
    return load.encode_documents(a) == load.encode_documents(b)


def test_parsing_on_several_cores_gives_what_one_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(load, "_PARALLEL_ABOVE_BYTES", 0)
    root = mixed_set(tmp_path / "m")
    one, two = load_paths([root]), load_paths([root], jobs=2)
    assert {d.code for d in one.diagnostics} == {"RG003", "RG004", "RG005", "RG007"}
    assert two.diagnostics == one.diagnostics
    assert two.files == one.files
    assert same_documents(two.documents, one.documents)


def test_files_parsed_by_workers_are_not_parsed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # JSON cannot carry a lone surrogate: the parent parses that file (not here)
    taken = _taken_from_workers(tmp_path, monkeypatch, None, skip="e-surrogate.yaml")
    for documents, _, values, _ in taken.values():
        assert values == sum(d.values for d in documents if isinstance(d, Document))
    assert all(body is None for _, body, _, _ in taken.values())  # the parse cache keeps checked entries
    assert taken["c-duplicate.yaml"][3]
    assert len(taken["g-nan.yaml"][0]) == 2


def test_files_checked_by_workers_are_neither_parsed_nor_decoded_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken = _taken_from_workers(tmp_path, monkeypatch, check_where_parsed, "decode_documents")
    for name, (found, _, _, _) in taken.items():  # the lone surrogate too: pickling holds it
        assert len(found) == 1 and isinstance(found[0], CheckedFile), name
    good = taken["a-good.yaml"]
    assert good[1] is not None and good[2] > 0  # kept, as parsed
    runs = good[0][0].entries["runs"]  # type: ignore[union-attr]
    assert [e.get("id") for e in runs] == [f"r{i}" for i in range(300)]
    assert taken["c-duplicate.yaml"][1] is None and taken["c-duplicate.yaml"][3]  # a problem: not kept


Taken = tuple[list[Document | CheckedFile], bytes | None, int, list[Diagnostic]]


def _taken_from_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, check: load.Check | None, *never: str, skip: str = ""
) -> dict[str, Taken]:
    """Take each file of the mixed set from two workers (but ``skip``), by its name: what ``take``
    returns and the diagnostics. Once the workers forked, ``load_bytes`` and the functions of ``load``
    named in ``never`` fail in this process."""
    monkeypatch.setattr(load, "_PARALLEL_ABOVE_BYTES", 0)
    names, parser = _mixed_parser(tmp_path, check)
    taken = {}
    with parser:
        assert parser._parallel
        for function in ("load_bytes", *never):  # the workers were forked with the real ones
            monkeypatch.setattr(load, function, _never)
        for index, name in enumerate(names):
            if skip and name.endswith(skip):
                continue
            reporter = Reporter()
            found, body, values = parser.take(index, reporter, budget=load.MAX_SET_VALUES)
            taken[name.rsplit("/", 1)[-1]] = (found, body, values, reporter.diagnostics)
    return taken


def test_entries_checked_on_several_cores_are_those_checked_on_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(load, "_PARALLEL_ABOVE_BYTES", 0)
    root = mixed_set(tmp_path / "m")
    for number in range(3):  # more files with entries, so that their numbers (replay order) matter
        write(root / f"i-more-{number}.yaml", f"runs: [{{id: m{number}}}, 5, {{id: n{number}}}]\n")
    one, two = load_paths([root]), load_paths([root], jobs=2, check=check_where_parsed)
    assert any(isinstance(d, CheckedFile) for d in two.documents)
    assert two.diagnostics == one.diagnostics
    mine, theirs = Reporter(), Reporter()
    here, there = check_documents(one.documents, mine), check_documents(two.documents, theirs)
    # repr: a NaN is never equal to itself, nor to the NaN it was pickled from
    assert [repr(e) for found in there.values() for e in found] == [
        repr(e) for found in here.values() for e in found
    ]
    assert theirs.diagnostics == mine.diagnostics
    assert {d.code for d in mine.diagnostics} >= {"RG103"}
    again = check_documents(two.documents, Reporter())  # numbering them on changed none of them
    assert [repr(e) for found in again.values() for e in found] == [
        repr(e) for found in there.values() for e in found
    ]


def _mixed_parser(tmp_path: Path, check: load.Check | None) -> tuple[list[str], load._Parser]:
    """Return the mixed set's file names, and a parser of them on two workers (started on entering it)."""
    files = load.discover([mixed_set(tmp_path / "m")])
    names = [load.display_path(p) for p in files]
    return names, load._Parser(load._read_ahead(files, names, None), names, 2, check is not None, check)


def _never(*args: object, **kwargs: object) -> list[Document]:
    raise AssertionError("done in the parent")


def test_the_set_budgets_give_the_same_diagnostics_on_several_cores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(load, "_PARALLEL_ABOVE_BYTES", 0)
    root = mixed_set(tmp_path / "m")
    full = load_paths([root])
    for limit in (1, 200, sum(d.values for d in full.documents) - 1):
        monkeypatch.setattr(load, "MAX_SET_VALUES", limit)
        one, two = load_paths([root]), load_paths([root], jobs=2)
        assert "RG001" in {d.code for d in one.diagnostics}
        assert two.diagnostics == one.diagnostics
        assert same_documents(two.documents, one.documents)
    monkeypatch.setattr(load, "MAX_SET_BYTES", 600)
    one, two = load_paths([root]), load_paths([root], jobs=2)
    assert "RG001" in {d.code for d in one.diagnostics}
    assert two.diagnostics == one.diagnostics
    assert same_documents(two.documents, one.documents)


def test_restored_documents_are_freed_without_the_cycle_collector(tmp_path: Path) -> None:
    # A build pauses the cycle collector while it loads: documents in a reference cycle (a recursive
    # closure holding every Location of a file was one) would outlive the load.
    root = mixed_set(tmp_path / "m")
    body = load.encode_documents(load_paths([root]).documents)
    gc.collect()
    gc.disable()
    try:
        documents = load.decode_documents("m.yaml", body)
        assert documents
        del documents
        assert gc.collect() == 0
    finally:
        gc.enable()


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("a: 1\n", 3),  # the mapping, its key, its value
        ("a: [1, 2, {b: c}]\n", 8),
        ("a: &x {b: 1, c: [2, 3]}\nd: *x\ne: *x\n", 4 + 3 * 7),  # an alias counts as often as it is used
        ("a: {}\nb: []\n", 5),
    ],
)
def test_a_documents_values_count_every_key_and_value(text: str, values: int) -> None:
    (document,) = load_bytes(text.encode(), "m.yaml", Reporter())
    assert document.values == load.converter_values(document.root) == values


@pytest.mark.parametrize("depth", [0, 1, 2, 5])
def test_depth_is_counted_through_lists_and_mappings_alike(depth: int) -> None:
    value: object = "leaf"
    for i in range(depth):
        value = {"k": value} if i % 2 else [value, "sibling"]
    root = yaml.compose(yaml.safe_dump({"top": value}))
    assert load._within_depth(root, depth + 1)  # the top mapping, then each level, then the leaf
    assert not load._within_depth(root, depth)


# ------------------------------------------------------------------ plain documents, from events

REPO = Path(__file__).resolve().parent.parent


def composed_only(data: bytes, name: str = "m.yaml") -> tuple[list[Document], list[Diagnostic]]:
    """Return what load_bytes gives when every document is composed (the plain path left out)."""
    reporter = Reporter()
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(load, "_plain_documents", lambda text, name: None)
        documents = load_bytes(data, name, reporter)
    return documents, reporter.diagnostics


def assert_same_either_way(data: bytes, name: str = "m.yaml") -> bool:
    """Check load_bytes gives the same with and without the plain path; return whether it was taken."""
    text = data.decode("utf-8", "replace")
    reporter = Reporter()
    documents = load_bytes(data, name, reporter)
    assert (documents, reporter.diagnostics) == composed_only(data, name)
    return load._plain_documents(text, name) is not None


def test_every_manifest_of_the_samples_and_the_corpora_reads_the_same_plain_or_composed() -> None:
    files = [
        p
        for folder in (REPO / "sample_manifests", REPO / "tests" / "data")
        for p in sorted(folder.rglob("*.y*ml"))
        if p.is_file()
    ]
    plain = [f for f in files if assert_same_either_way(f.read_bytes(), f.name)]
    assert len(files) > 100 and len(plain) > len(files) // 2  # the hostile and invalid ones are not


PLAIN = """\
registries:
  - name: model
    description: "Quoted: #1"
    protected_aliases: [production, 'staging']
artifacts:
  - {name: churn, version: v3, type: model, size: 1566034820, ratio: 0.5, ok: true, gone: ~}
  - name: when
    empty:
    created_at: 2026-01-02T03:04:05Z
    2026-01-02: a timestamp key is text
    metadata:
      nested: [1, [2, {three: 3}]]
      text: |
        a block
---
runs: []
"""


def test_a_plain_document_is_read_from_events_as_composing_reads_it() -> None:
    documents = load._plain_documents(PLAIN, "m.yaml")
    assert documents is not None and len(documents) == 2
    assert documents == composed_only(PLAIN.encode())[0]
    first, second = documents[0].root.value["artifacts"].value  # type: ignore[index, union-attr, misc]
    assert first.value["size"] == Node(1566034820, Location("m.yaml", 6, 51))  # type: ignore[index]
    assert first.value["gone"].value is None and second.value["empty"].value is None  # type: ignore[index]
    assert second.value["2026-01-02"].value == "a timestamp key is text"  # type: ignore[index]


@pytest.mark.parametrize(
    ("case", "text"),
    [
        ("an anchor and an alias", "a: &x {b: 1}\nc: *x\n"),
        ("an anchor alone", "a: &x 1\n"),
        ("a merge key", "a: {b: 1}\nc:\n  <<: {b: 2}\n"),
        ("a tag", "a: !!str 1\n"),
        ("a Python tag", "a: !!python/name:os.system x\n"),
        ("a local tag", "a: !thing x\n"),
        ("a duplicate key", "a: 1\na: 2\n"),
        ("a number as key", "1: a\n"),
        ("null as key", "~: a\n"),
        ("a list as key", "? [a]\n: b\n"),
        ("'=' as a value", "a: =\n"),
        ("an integer too long to read", f"a: {'9' * 5000}\n"),
        ("a list as the document", "- a\n"),
        ("a value as the document", "just text\n"),
        ("an empty document among others", "a: 1\n---\n---\nb: 2\n"),
        ("no document", "# nothing\n"),
        ("invalid YAML", "a: [1, 2\n"),
        ("invalid YAML after a plain document", "a: 1\n---\nb: : :\n"),
        ("nested too deep", "a: " + "[" * 70 + "]" * 70 + "\n"),
    ],
)
def test_what_is_not_plain_is_composed_and_reported_as_before(case: str, text: str) -> None:
    assert load._plain_documents(text, "m.yaml") is None, case
    assert not assert_same_either_way(text.encode())


def test_nesting_to_the_limit_is_plain_and_past_it_is_not() -> None:
    def nested(depth: int) -> str:  # the document's mapping, then lists: the innermost item at ``depth``
        return "a: " + "[" * (depth - 1) + "x" + "]" * (depth - 1) + "\n"

    assert load._plain_documents(nested(load.MAX_DEPTH), "m.yaml") is not None
    assert load._plain_documents(nested(load.MAX_DEPTH + 1), "m.yaml") is None
    for depth in (load.MAX_DEPTH, load.MAX_DEPTH + 1):
        assert_same_either_way(nested(depth).encode())


def values_of(text: str) -> int:
    """Return how many values a text holds, as a set's budget counts them."""
    return load._count_values(text)


def test_a_large_plain_file_is_read_once_within_its_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    expected, count = load_bytes(PLAIN.encode(), "m.yaml", Reporter()), values_of(PLAIN)
    monkeypatch.setattr(load, "_COUNT_ABOVE_BYTES", 0)  # every file counts as large

    def never(text: str) -> int:
        raise AssertionError("counted before it was read")

    monkeypatch.setattr(load, "_count_values", never)
    for budget in (count, 10**6):
        reporter = Reporter()
        assert load_bytes(PLAIN.encode(), "m.yaml", reporter, budget=budget) == expected
        assert reporter.diagnostics == []


class CountedNode(Node):
    """A Node that counts the Nodes made, by its constructor or by the plain reader's (``counted_make``)."""

    made = 0

    def __new__(cls, *args: Any, **kwargs: Any) -> CountedNode:
        CountedNode.made += 1
        return super().__new__(cls, *args, **kwargs)


def counted_make(cls: type[tuple[Any, ...]], fields: tuple[Any, ...]) -> tuple[Any, ...]:
    if issubclass(cls, Node):
        CountedNode.made += 1
    return tuple.__new__(cls, fields)


@pytest.mark.parametrize(
    ("case", "text"),
    [
        ("plain", PLAIN),
        ("plain, then a list as a document", PLAIN + "---\n- a\n"),
        ("an alias", "a: &x {b: 1, c: [1, 2, 3]}\nd: *x\ne: [4, 5, 6, 7, 8, 9]\n"),
        ("invalid YAML past the budget", PLAIN + "---\nb: : :\n"),
    ],
)
def test_a_large_file_over_its_budget_is_refused_with_its_count(
    monkeypatch: pytest.MonkeyPatch, case: str, text: str
) -> None:
    monkeypatch.setattr(load, "_COUNT_ABOVE_BYTES", 0)
    monkeypatch.setattr(load, "Node", CountedNode)
    monkeypatch.setattr(load, "_make", counted_make)
    count = values_of(text)
    budget = count - 4 if case.startswith("invalid") else count - 1
    CountedNode.made = 0
    reporter = Reporter()
    assert load_bytes(text.encode(), "m.yaml", reporter, budget=budget) == []
    assert [str(d) for d in reporter.diagnostics] == [
        f"m.yaml: error[RG001]: file holds {count} values, more than the {budget} a manifest set may still "
        f"take (a set may hold {load.MAX_SET_VALUES})"
    ], case
    assert CountedNode.made <= budget  # read no further than the budget


_KEYS = st.sampled_from(["a", "b", "name", "1", "true", "~", "<<", "2026-01-02", "=", "a b", "é"])
_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False),
    st.sampled_from(
        ["", "x", "~", "null", "yes", "1_000", "0x1f", ".inf", "=", "<<", "2026-01-02T03:04:05Z"]
    ),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x85\u2028\u2029"), max_size=8),
)
_TREES = st.recursive(
    _LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=3),
    max_leaves=12,
)
_SPICE = st.sampled_from(  # most examples plain; some with what is composed instead
    [
        "",
        "",
        "",
        "x: &a 1\ny: *a\n",
        "z: !!str 5\n",
        "a: 1\na: 2\n",
        "? [k]\n: v\n",
        "<<: {m: 1}\n",
        "q: [1, 2\n",
    ]
)


@given(
    trees=st.lists(st.dictionaries(_KEYS, _TREES, max_size=4), min_size=1, max_size=3),
    style=st.sampled_from([None, '"', "'"]),
    flow=st.sampled_from([None, True, False]),
    spice=_SPICE,
)
@settings(max_examples=300, deadline=None, database=None)
def test_generated_documents_read_the_same_plain_or_composed(
    trees: list[dict[str, object]], style: str | None, flow: bool | None, spice: str
) -> None:
    text = yaml.safe_dump_all(trees, default_style=style, default_flow_style=flow, allow_unicode=True)
    assert_same_either_way((text + spice if not spice.startswith("?") else spice + text).encode())
