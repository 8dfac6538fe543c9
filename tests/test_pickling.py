"""Pickling reportgen's dataclasses as their fields: the same objects back, and refusals where it cannot."""

from __future__ import annotations

import math
import pickle
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType

import pytest

from reportgen import pickling
from reportgen.diagnostics import Diagnostic, Location, Severity
from reportgen.model import ArtifactRef


def test_a_modules_frozen_slotted_dataclasses_come_back_equal_and_shared() -> None:
    from reportgen import diagnostics, model

    table = pickling.table((model, diagnostics))
    ref = ArtifactRef("data", 3)
    loc = Location("a.yaml", 2, 5)
    value = {
        "refs": (ref, ref),
        "diagnostic": Diagnostic(Severity.ERROR, "RG205", "not declared", loc),
        "proxy": MappingProxyType({"lr": 0.1, "nan": math.nan}),
        "when": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    }
    back = pickle.loads(pickling.dumps(value, table))
    assert back["refs"] == (ref, ref) and back["refs"][0] is back["refs"][1]
    assert back["diagnostic"] == value["diagnostic"]
    assert isinstance(back["proxy"], MappingProxyType) and math.isnan(back["proxy"]["nan"])
    assert back["when"] == value["when"]
    assert table[ArtifactRef](ref) == (ArtifactRef, ("data", 3))
    assert table[Location](loc) == (Location, ("a.yaml", 2, 5))


def test_classes_named_besides_the_modules_are_pickled_as_their_fields() -> None:
    @dataclass(slots=True)
    class Open:  # neither frozen nor in a module given: only when named
        name: str
        seen: set[str] = field(default_factory=set)

    table = pickling.table((), also=(Open,))
    assert table[Open](Open("x", {"y"})) == (Open, ("x", {"y"}))
    assert Open not in pickling.table(())


def test_only_a_constructor_that_takes_every_field_can_rebuild_one() -> None:
    @dataclass(frozen=True, slots=True)
    class Cached:
        name: str
        size: int = field(init=False, default=0)

    @dataclass(frozen=True, slots=True, kw_only=True)
    class Named:
        name: str

    @dataclass(frozen=True, slots=True)
    class One:
        name: str

    for cls in (Cached, Named):
        with pytest.raises(TypeError, match="does not take every field in order"):
            pickling.by_fields(cls)
    assert pickling.by_fields(One)(One("x")) == (One, ("x",))
