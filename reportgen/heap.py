"""Python's cycle collector during a build: paused while the model is made, kept off it afterwards.

A build makes millions of objects (the parsed documents, then the model) that all live on. Each full
collection walks every one of them again, and in a forked worker it writes to each one (copying the
inherited heap page by page). Nothing here changes what is freed by reference counting.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cycle collector while the manifests are parsed and the model is built.

    On L its full collections were 5 s of a 7 s load. The documents and the model hold no reference
    cycles worth collecting; what little there is waits for the next collection after the pause.
    A caller that had turned the collector off keeps it off.
    """
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


_FROZEN = 0  # how many frozen_heap blocks are open: the outermost one thaws the heap


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """Move every object alive now out of the cycle collector's reach until the outermost block ends.

    Objects that live for the rest of a build (the model, the drawn graphs) need never be walked
    again: each full collection would walk all of them (a second each at L), and in a forked worker
    it would write to every one of them.
    """
    global _FROZEN
    gc.freeze()
    _FROZEN += 1
    try:
        yield
    finally:
        _FROZEN -= 1
        if _FROZEN == 0:
            gc.unfreeze()
