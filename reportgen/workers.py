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
import functools
import gc
import multiprocessing
import multiprocessing.pool
import os
import signal
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeAlias, TypeVar, cast

A = TypeVar("A")
R = TypeVar("R")


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


@contextlib.contextmanager
def young_collections_spaced() -> Iterator[None]:
    """Run the cycle collector's young collections every ``_YOUNG`` allocations, not every 700.

    Rendering pages makes many short-lived objects and few reference cycles: at the default, the
    collections took a twentieth of the time. Forked workers collect so for good (``fork_pool``).
    """
    before = gc.get_threshold()
    gc.set_threshold(_YOUNG, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


# Allocations between young collections while pages render. Rendering L's pages, each worker spent 0.7 s
# of its 13 s in the collector at 700 (the default), and 0.2 s at 10,000. Pages do leave a few cycles
# (about nine objects a unit): they are still collected, only in fewer, larger batches.
_YOUNG = 10_000

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


class Workers:
    """Forked workers (``fork_pool``): ``imap`` runs a module-level function on each item, in order."""

    def __init__(self, pool: multiprocessing.pool.Pool) -> None:
        self._pool = pool

    def imap(self, func: Callable[[A], R], items: Iterable[A]) -> Results[R]:
        """Return ``func`` of each item, in order, as workers finish them (see ``next_meanwhile``).

        Once the pool is stopping (see ``fork_pool``), a task still queued gives None: nothing reads it.
        """
        return cast("Results[R]", self._pool.imap(functools.partial(_unless_stopped, func), items))


# What ``Workers.imap`` returns: an iterator whose ``next`` can be told not to wait (``next_meanwhile``).
Results: TypeAlias = multiprocessing.pool.IMapIterator


def next_meanwhile(results: Results[R], meanwhile: Callable[[], bool]) -> R | None:
    """Return the next of ``results``, or None if there are no more; while no worker has sent it yet,
    call ``meanwhile`` (other work of the caller's) until it returns False, then wait for it."""
    while True:
        try:
            return results.next(timeout=0)
        except multiprocessing.TimeoutError:
            if not meanwhile():
                return next(results, None)
        except StopIteration:
            return None


@contextlib.contextmanager
def fork_pool(jobs: int) -> Iterator[Workers]:
    """Fork ``jobs`` workers that share this process's memory, and stop them on leaving.

    The objects that exist now are frozen out of the garbage collector first: a collection in a worker
    would otherwise write to every one of them, and copy the whole inherited heap, page by page, into
    each worker (on a large organisation that costs more than the work itself).

    Leaving on an exception (a task that failed, Ctrl-C), the workers finish the task in hand, skip the
    ones queued, and exit; they are not killed. ``Pool.terminate`` kills them, and one killed while it
    sends a result holds the result queue's lock for ever: the pool's own task thread then waits on it,
    and the build hung (a test whose worker failed did, once in CI). A second Ctrl-C while they finish
    kills them all the same.
    """
    global _STOPPED
    # Ctrl-C is held back while the workers start: one landing between a fork and the worker's
    # initializer would kill that worker mid-start and leave the pool unable to stop.
    with frozen_heap():
        context = multiprocessing.get_context("fork")
        stopped, outer = context.RawValue("b", 0), _STOPPED
        _STOPPED = stopped  # the workers inherit it
        held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            pool = context.Pool(jobs, initializer=_start_worker)
        except BaseException:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
            _STOPPED = outer
            raise
        try:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)  # a Ctrl-C held back is raised here
            yield Workers(pool)
        except BaseException:
            stopped.value = 1
            pool.close()
            try:
                pool.join()
            finally:
                pool.terminate()  # at once if they finished; kills them on a second Ctrl-C
            raise
        else:
            pool.terminate()  # every task is done: the workers wait for the next, holding no lock
        finally:
            _STOPPED = outer


# Set in a pool's workers once it is stopping: the tasks still queued are skipped.
_STOPPED: Any = None


def _unless_stopped(func: Callable[[A], R], item: A) -> R | None:
    return None if _STOPPED is not None and _STOPPED.value else func(item)


def _start_worker() -> None:
    """Ctrl-C is the parent's to handle, a worker dies with the parent, and its young collections are
    spaced (see ``young_collections_spaced``).

    Workers must not die mid-task on Ctrl-C (the parent stops the pool and the build); and a build
    killed outright must not leave workers writing on (Linux: PR_SET_PDEATHSIG).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # also drops a Ctrl-C held back during the fork
    gc.set_threshold(_YOUNG, *gc.get_threshold()[1:])  # for good: see young_collections_spaced
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    if sys.platform == "linux":
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


_PR_SET_PDEATHSIG = 1


class Regions:
    """Items (numbered from 0) shared out among forked workers by region, where a pool's queue hands each
    to whichever worker is free.

    Each worker takes the items of a region of its own from the front (``take``), then the last item of
    the region with the most left: a worker does neighbouring items for as long as there are some,
    and none waits while another has items left. Made before the workers fork: they share its counts.
    """

    def __init__(self, count: int, regions: int) -> None:
        context = multiprocessing.get_context("fork")
        regions = max(1, regions)
        bounds = [count * r // regions for r in range(regions + 1)]
        # Each region's next item and its end, side by side; the workers' count; the end of every region.
        self._spans = context.RawArray("q", [b for r in range(regions) for b in (bounds[r], bounds[r + 1])])
        self._taken = context.RawValue("q", 0)
        self._limit = context.RawValue("q", count)
        self._lock = context.Lock()
        self._regions = regions
        self._own: tuple[int, int] = (-1, 0)  # the process that took from this copy, and its region

    def take(self) -> int | None:
        """Return the next item for this process, or None if none is left before the limit (``stop_at``)."""
        with self._lock:
            spans, limit = self._spans, self._limit.value
            pid = os.getpid()
            if self._own[0] != pid:  # this worker's first item: the next region is its own
                self._own = (pid, self._taken.value % self._regions)
                self._taken.value += 1
            region = self._own[1]
            if spans[2 * region] >= min(spans[2 * region + 1], limit):
                left = [min(spans[2 * r + 1], limit) - spans[2 * r] for r in range(self._regions)]
                most = max(left)
                if most <= 0:
                    return None
                region = left.index(most)
                end = min(spans[2 * region + 1], limit) - 1
                spans[2 * region + 1] = end
                return int(end)
            item = int(spans[2 * region])
            spans[2 * region] = item + 1
            return item

    def stop_at(self, item: int) -> None:
        """Let no process take ``item`` or any after it from now on."""
        with self._lock:
            self._limit.value = min(self._limit.value, item)


class Forked:
    """A function running in a forked child (``fork_task``): wait for what it returned, or stop it."""

    def __init__(self, pid: int, fd: int) -> None:
        self._pid, self._fd = pid, fd

    def result(self) -> bytes | None:
        """Wait for the child to end; return what the function returned, or None if it failed."""
        if self._pid < 0:
            return None
        with open(self._fd, "rb") as pipe:
            data = pipe.read()
        _, status = os.waitpid(self._pid, 0)
        self._pid = -1
        return data if os.waitstatus_to_exitcode(status) == 0 else None

    def stop(self) -> None:
        """Kill the child, if it still runs, and wait for it; ``result`` gives None from now on."""
        if self._pid < 0:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self._pid, signal.SIGKILL)
        os.waitpid(self._pid, 0)
        os.close(self._fd)
        self._pid = -1


def fork_task(func: Callable[..., bytes], *args: Any) -> Forked | None:
    """Run ``func(*args)`` in a forked child while this process goes on; None where it cannot fork.

    The child shares this process's memory as it is now, ignores Ctrl-C and dies with this process, as
    a pool's workers do (``fork_pool``); what the function returns comes back through a pipe. Fork it
    before any thread starts (a pool's among them): a thread's locks would be copied held.
    """
    if not can_fork():
        return None
    read, write = os.pipe()
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        pid = os.fork()
    except OSError:
        os.close(read)
        os.close(write)
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        return None
    if pid == 0:  # the child: never returns
        status = 1
        try:
            os.close(read)
            _start_worker()
            data = func(*args)
            with open(write, "wb") as pipe:
                pipe.write(data)
            status = 0
        finally:
            os._exit(status)  # no atexit handlers, no buffers of the parent's flushed twice
    os.close(write)
    forked = Forked(pid, read)
    try:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)  # a Ctrl-C held back is raised here
    except BaseException:
        forked.stop()
        raise
    return forked


def can_fork() -> bool:
    """Return whether workers can be forked here (``fork_pool``); elsewhere the work runs in-process."""
    return "fork" in multiprocessing.get_all_start_methods()


def cpu_count() -> int:
    """Return how many cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
