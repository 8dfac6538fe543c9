"""Moving the validated model into fresh memory: the same model, identity included, and the old one gone."""

from __future__ import annotations

import gc
import types
import weakref
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import reportgen.build as build_module
from reportgen import compact
from reportgen.build import BuildOptions, build
from reportgen.load import load_paths
from reportgen.validate import Validation, validate

DATA = Path(__file__).resolve().parent / "data"
SAMPLES = Path(__file__).resolve().parent.parent / "sample_manifests"


def census(root: object) -> Counter[str]:
    """Count the distinct objects of each type reachable from ``root``: classes, code and numbers left out.

    Pickling writes a number once per place it is used (no program asks which int object it holds).
    """
    seen: set[int] = set()
    counts: Counter[str] = Counter()
    stack = [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, type | types.ModuleType | types.FunctionType | int | float):
            continue
        seen.add(id(obj))
        counts[type(obj).__name__] += 1
        stack.extend(gc.get_referents(obj))
    return counts


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


@pytest.mark.parametrize("manifests", [SAMPLES, DATA / "hostile"], ids=["samples", "hostile"])
def test_the_model_moves_whole_with_what_it_shares(manifests: Path) -> None:
    before = validate(load_paths([manifests]))
    assert before.organisation.artifacts and before.organisation.runs
    after = compact.load(compact.dump(before))
    assert repr(after) == repr(before)  # not ==: the hostile set's NaN is not equal to itself
    assert after.organisation is not before.organisation
    assert census(after) == census(before)  # shared objects stay shared: no more, no fewer objects
    for org in (before.organisation, after.organisation):  # the index holds the collections' own objects
        shared = [cv for h in org.collections.values() for cv in h.versions]
        assert shared and all(any(x is cv for x in org.links_of(cv.artifact)) for cv in shared)


def test_the_models_dataclasses_are_pickled_as_their_fields() -> None:
    from reportgen.diagnostics import Location
    from reportgen.model import ArtifactRef, Organisation

    assert compact._TABLE[ArtifactRef](ArtifactRef("data", 3)) == (ArtifactRef, ("data", 3))
    assert compact._TABLE[Location](Location("a.yaml", 2, 5)) == (Location, ("a.yaml", 2, 5))
    assert compact._TABLE[Validation] is not None
    assert Organisation not in compact._TABLE  # not slotted: pickled as its attributes, as usual


def test_a_build_drops_the_old_model_before_unpickling_it_and_writes_the_same_site(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    plain = build([SAMPLES], BuildOptions(output=tmp_path / "plain", jobs=2, cache=False))
    assert "compact" not in dict(plain.stages)  # a small site: the workers copy little anyway

    old: list[weakref.ref[Any]] = []
    real_dump, real_load = compact.dump, compact.load

    def dump(validation: Validation) -> memoryview:
        old.append(weakref.ref(validation.organisation))
        return real_dump(validation)

    def load(data: memoryview) -> Validation:
        gc.collect()
        assert old[0]() is None  # nothing else held the model: its memory is free for the system
        return real_load(data)

    monkeypatch.setattr(build_module, "COMPACT_FROM", 0)
    monkeypatch.setattr(compact, "dump", dump)
    monkeypatch.setattr(compact, "load", load)
    moved = build([SAMPLES], BuildOptions(output=tmp_path / "moved", jobs=2, cache=False))
    stages = ["load", "validate", "changes", "compact", "render", "commit"]
    assert [stage for stage, _ in moved.stages] == stages
    assert len(old) == 1
    assert tree(tmp_path / "moved") == tree(tmp_path / "plain")

    one = build([SAMPLES], BuildOptions(output=tmp_path / "one", jobs=1, cache=False))
    assert "compact" not in dict(one.stages)  # one process: nothing forks, nothing to move
    assert len(old) == 1


def test_the_model_moves_only_when_workers_render_many_units(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    monkeypatch.setattr(build_module, "COMPACT_FROM", 20)
    site = tmp_path / "site"
    first = build([SAMPLES], BuildOptions(output=site, jobs=2))
    assert "compact" in dict(first.stages)  # every unit renders
    again = build([SAMPLES], BuildOptions(output=site, jobs=2))
    assert again.reused_pages > 0 and "compact" not in dict(again.stages)  # the index and audit log
    assert build([SAMPLES], BuildOptions(output=tmp_path / "cold", jobs=2, cache=False)).written
    assert tree(site) == tree(tmp_path / "cold")
