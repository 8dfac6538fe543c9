"""Move the validated model into fresh memory before workers fork, so that each copies less of it.

Loading and validating leave the model's objects scattered among the freed parsed documents: at L, the
allocator held 73 MB of live objects in 263 MB of memory. Forked workers share the parent's memory page
by page until one of them writes to a page, and they write to most of them: reference counts change on
every object a worker reads, and the worker's own new objects fill the gaps the documents left. Each
worker of an XL build ended up with a private copy of most of the parent's 1.3 GB.

``dump`` pickles the model; the caller drops it, and ``load`` frees what it held and unpickles it, so
its objects sit packed together in fresh memory and a worker copies at most the model itself. Pickling
keeps which objects are shared (an ``ArtifactRef`` named by many runs stays one object), so the model
is the same, identity included (numbers aside: pickling writes one wherever it is used). The caller
must drop every other reference into the old model first: one would keep its memory alive.

The model's frozen, slotted dataclasses are pickled as their class and their fields' values, rebuilt by
their constructor: the dataclasses' own pickling calls two Python functions per object, and took 1.7
times as long (L: 1.28 s against 0.76 s). This module's pickler alone knows how; nothing else in the
process pickles differently.
"""

from __future__ import annotations

import copyreg
import dataclasses
import gc
import io
import operator
import pickle
from collections.abc import Callable, Iterable
from types import MappingProxyType, ModuleType
from typing import Any

from reportgen import diagnostics, model, validate
from reportgen.validate import Validation

Reducer = Callable[[Any], Any]  # an object -> what its __reduce__ would return


def dump(validation: Validation) -> memoryview:
    """Return the validated model, pickled."""
    out = io.BytesIO()
    pickler = pickle.Pickler(out, pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = _TABLE
    pickler.dump(validation)
    return out.getbuffer()


def load(data: memoryview) -> Validation:
    """Return the model ``dump`` pickled, in fresh memory: drop every other reference to it first.

    A collection first empties the interpreter's free lists, whose objects would keep some of the old
    memory from going back to the system.
    """
    gc.collect()
    validation = pickle.loads(data)
    assert isinstance(validation, Validation)
    return validation


def by_fields(cls: type) -> Reducer:
    """Return a reducer that pickles a frozen dataclass as its class and its fields' values.

    Only for classes whose constructor takes every field, in order: unpickling calls it with them.
    """
    fields = dataclasses.fields(cls)
    if any(not f.init or f.kw_only for f in fields):
        raise TypeError(f"{cls.__name__}: its constructor does not take every field in order")
    values = operator.attrgetter(*(f.name for f in fields))
    if len(fields) == 1:
        return lambda obj: (cls, (values(obj),))
    return lambda obj: (cls, values(obj))


def _proxy(data: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    return MappingProxyType(data)


def _table(modules: Iterable[ModuleType]) -> dict[type, Reducer]:
    table: dict[type, Reducer] = dict(copyreg.dispatch_table)
    table[MappingProxyType] = lambda proxy: (_proxy, (dict(proxy),))
    for module in modules:
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and value.__module__ == module.__name__
                and dataclasses.is_dataclass(value)
                and value.__dataclass_params__.frozen  # type: ignore[attr-defined]
                and "__slots__" in vars(value)
            ):
                table[value] = by_fields(value)
    return table


_TABLE = _table((model, diagnostics, validate))
