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
their constructor (see ``pickling``): the dataclasses' own pickling took 1.7 times as long.
"""

from __future__ import annotations

import gc
import pickle

from reportgen import diagnostics, model, pickling, validate
from reportgen.validate import Validation


def dump(validation: Validation) -> memoryview:
    """Return the validated model, pickled."""
    return pickling.dumps(validation, _TABLE)


def load(data: memoryview) -> Validation:
    """Return the model ``dump`` pickled, in fresh memory: drop every other reference to it first.

    A collection first empties the interpreter's free lists, whose objects would keep some of the old
    memory from going back to the system.
    """
    gc.collect()
    validation = pickle.loads(data)
    assert isinstance(validation, Validation)
    return validation


_TABLE = pickling.table((model, diagnostics, validate))
