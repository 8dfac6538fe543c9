"""Forked worker processes, and Python's cycle collector around them.

A build makes millions of objects (the parsed documents, then the model) that all live on. Each full
collection walks every one of them again, and in a forked worker it writes to each one (copying the
inherited heap page by page): the collector is paused while the model is made and kept off it
afterwards. Nothing here changes what is freed by reference counting.

Workers are forked, so they share the parent's memory (the model, the drawn graphs, compiled templates)
instead of receiving it pickled; they ignore Ctrl-C (the parent stops them) and die with the parent.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import multiprocessing
import multiprocessing.pool
import os
import signal
import sys
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


@contextlib.contextmanager
def fork_pool(jobs: int) -> Iterator[multiprocessing.pool.Pool]:
    """Fork ``jobs`` workers that share this process's memory, and stop them on leaving.

    The objects that exist now are frozen out of the garbage collector first: a collection in a worker
    would otherwise write to every one of them, and copy the whole inherited heap, page by page, into
    each worker (on a large organisation that costs more than the work itself).
    """
    # Ctrl-C is held back while the workers start: one landing between a fork and the worker's
    # initializer would kill that worker mid-start and leave the pool unable to stop.
    with frozen_heap():
        held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            pool = multiprocessing.get_context("fork").Pool(jobs, initializer=_start_worker)
        except BaseException:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
            raise
        with pool:  # stops the workers however we leave, a Ctrl-C held back included
            signal.pthread_sigmask(signal.SIG_SETMASK, held)  # a Ctrl-C held back is raised here
            yield pool


def _start_worker() -> None:
    """Ctrl-C is the parent's to handle, and a worker dies with the parent.

    Workers must not die mid-task on Ctrl-C (the parent stops the pool and the build); and a build
    killed outright must not leave workers writing on (Linux: PR_SET_PDEATHSIG).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # also drops a Ctrl-C held back during the fork
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    if sys.platform == "linux":
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


_PR_SET_PDEATHSIG = 1


def can_fork() -> bool:
    """Return whether workers can be forked here (``fork_pool``); elsewhere the work runs in-process."""
    return "fork" in multiprocessing.get_all_start_methods()


def cpu_count() -> int:
    """Return how many cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
