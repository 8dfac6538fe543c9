"""Slugs and page paths (reportgen.paths): safe, unique, stable file names for any name."""

from __future__ import annotations

import posixpath
import re
import unicodedata

import pytest

from reportgen.model import ArtifactRef
from reportgen.paths import (
    MAX_SLUG,
    artifact_page,
    collection_page,
    collection_version_page,
    relative,
    run_page,
    slug,
)

SAFE = re.compile(r"[a-z0-9][a-z0-9._-]*")
WINDOWS_DEVICES = {
    "con",
    "prn",
    "aux",
    "nul",
    *(f"com{i}" for i in range(10)),
    *(f"lpt{i}" for i in range(10)),
}
CAFE_NFC = unicodedata.normalize("NFC", "café")
CAFE_NFD = unicodedata.normalize("NFD", "café")

SAFE_NAMES = ["zoo-classifier", "split_zoo_dataset", "model", "v1.2.3", "0abc", "a-b_c.d", "x" * MAX_SLUG]

# Every kind of awkward name; together with SAFE_NAMES their slugs must all differ.
UNSAFE_NAMES = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '"quoted"',
    "it's",
    "a&b",
    "../etc",
    "../../etc/passwd",
    "..",
    ".",
    "...",
    "a/b",
    "a\\b",
    "a\x00b",
    "a b",
    "a  b",
    " leading",
    "trailing ",
    CAFE_NFC,
    CAFE_NFD,
    "Model",
    "MODEL",
    "mOdel",
    "CON",
    "con",
    "Con",
    "nul",
    "NUL",
    "prn",
    "aux",
    "com1",
    "LPT9",
    "nul.txt",
    "NUL.txt",
    "aux.tar.gz",
    "x" * (MAX_SLUG + 1),
    "x" * 200,
    "x" * 199 + "y",
    ".hidden",
    "name.",
    "-dash",
    "_under",
    "",
    "日本語",
    "日本",
    "Ａ",  # fullwidth A: folds to "a"
    "é",
    "e\u0301",
    "emoji 🚀",
    "tab\tname",
]


def is_windows_safe(name: str) -> bool:
    """Return whether Windows can hold a file whose name starts with ``name`` (plus an extension)."""
    return name.split(".")[0].lower() not in WINDOWS_DEVICES and not name.endswith((".", " "))


@pytest.mark.parametrize("name", SAFE_NAMES)
def test_safe_names_are_unchanged(name: str) -> None:
    assert slug(name) == name


@pytest.mark.parametrize("name", UNSAFE_NAMES, ids=repr)
def test_unsafe_names_give_safe_slugs(name: str) -> None:
    s = slug(name)
    assert SAFE.fullmatch(s), s
    assert s not in {".", ".."}
    assert len(s) <= MAX_SLUG + 11  # the base, a dash and a 10-character hash
    assert s != name  # every one of these names needed folding


def test_slugs_are_unique_across_awkward_names() -> None:
    names = SAFE_NAMES + UNSAFE_NAMES
    slugs = [slug(n) for n in names]
    assert len(set(names)) == len(names)
    assert len(set(slugs)) == len(slugs), sorted(s for s in slugs if slugs.count(s) > 1)
    # case-insensitive file systems (macOS, Windows) must not merge two of them either
    assert len({s.casefold() for s in slugs}) == len(slugs)


def test_case_and_normalisation_variants_get_their_own_slug() -> None:
    assert slug("model") == "model"
    assert len({slug("model"), slug("Model"), slug("MODEL")}) == 3
    assert CAFE_NFC != CAFE_NFD
    assert slug(CAFE_NFC) != slug(CAFE_NFD)
    assert slug(CAFE_NFC).startswith("cafe-") and slug(CAFE_NFD).startswith("cafe-")
    assert slug("cafe") == "cafe"


def test_slugs_are_stable() -> None:
    """Pages keep their address from build to build: literal values, so a change is noticed."""
    expected = {
        "<script>alert(1)</script>": "script-alert-1-script-5c140d35dc",
        "Model": "model-5e2c614c23",
        "MODEL": "model-c8b6c094bb",
        "CON": "x-con-a3dbc4b644",
        "con": "x-con-1143da2bc5",
        "../etc": "etc-f7f9121fdb",
        "a/b": "a-b-c14cddc033",
        "a\\b": "a-b-c62016d0f8",
        "a b": "a-b-c8687a08aa",
        CAFE_NFC: "cafe-850f7dc439",
        CAFE_NFD: "cafe-81ef060bcd",
        "x" * 200: "x" * MAX_SLUG + "-aa20c23e32",
        "": "x-e3b0c44298",
        "日本語": "x-77710aedc7",
    }
    for name, value in expected.items():
        assert slug(name) == value, name
        assert slug(name) == slug(name)


def test_long_names_are_cut_but_stay_distinct() -> None:
    a, b = "x" * 199 + "a", "x" * 199 + "b"
    assert slug(a) != slug(b)
    assert slug(a).startswith("x" * MAX_SLUG + "-")
    assert len(slug(a)) == MAX_SLUG + 11


@pytest.mark.parametrize("name", ["CON", "con", "Con", "nul", "NUL", "prn", "aux", "com1", "LPT9", "com0"])
def test_windows_device_names_are_avoided(name: str) -> None:
    assert is_windows_safe(slug(name)), slug(name)
    assert is_windows_safe(slug(name) + ".html")


@pytest.mark.parametrize("name", ["nul.txt", "NUL.txt", "aux.tar.gz", "com1.log"])
def test_windows_device_names_with_an_extension_are_avoided(name: str) -> None:
    assert is_windows_safe(slug(name)), slug(name)


def test_a_safe_name_cannot_take_another_names_slug() -> None:
    assert slug("model-5e2c614c23") != slug("Model")


@pytest.mark.parametrize("name", ["../../etc/passwd", "<script>", "a\\b", CAFE_NFD, "CON", "x" * 300, "ok"])
def test_page_paths_stay_inside_the_site(name: str) -> None:
    paths = [
        artifact_page(ArtifactRef(name, 3)),
        run_page(name),
        collection_page(name, name),
        collection_version_page(name, name, 2),
    ]
    for path in paths:
        parts = path.split("/")
        assert posixpath.normpath(path) == path
        assert all(SAFE.fullmatch(p) for p in parts), path
        assert ".." not in parts
    assert paths[0].endswith("/v3.html") and paths[0].startswith("artifacts/")
    assert paths[1].startswith("runs/") and paths[1].endswith(".html")
    assert paths[3].removesuffix("/v2.html") == paths[2].removesuffix(".html")


def test_page_paths_of_safe_names() -> None:
    assert artifact_page(ArtifactRef("split_zoo_dataset", 4)) == "artifacts/split_zoo_dataset/v4.html"
    assert run_page("ylbchv20") == "runs/ylbchv20.html"
    assert collection_page("model", "zoo-classifier") == "collections/model/zoo-classifier.html"
    assert collection_version_page("model", "zoo-classifier", 0) == "collections/model/zoo-classifier/v0.html"


def test_relative_links() -> None:
    assert relative("index.html", "audit.html") == "audit.html"
    assert relative("runs/a.html", "runs/b.html") == "b.html"
    assert relative("collections/r/c.html", "artifacts/a/v0.html") == "../../artifacts/a/v0.html"
    assert relative("collections/r/c/v1.html", "index.html") == "../../../index.html"
    assert relative("artifacts/a/v0.html", "artifacts/a/v0.svg") == "v0.svg"
