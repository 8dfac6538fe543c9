"""Forked workers: stopped on an exception without being killed, the tasks still queued skipped."""

from __future__ import annotations

import gc
import os
import sys
import time
from pathlib import Path

import pytest
from factories import appears

from reportgen import workers
from reportgen.workers import Regions, fork_pool

RAN = "REPORTGEN_TEST_RAN"


def _task(item: int) -> int:
    with open(os.environ[RAN], "a", encoding="utf-8") as log:
        log.write(f"{item}\n")
    if item == 3:
        raise RuntimeError("task 3 failed")
    time.sleep(0.01)
    return item


def test_a_failed_task_stops_the_pool_without_killing_a_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran = tmp_path / "ran"
    monkeypatch.setenv(RAN, str(ran))
    seen = []
    with pytest.raises(RuntimeError, match="task 3 failed"), fork_pool(2) as pool:
        processes = list(pool._pool._pool)  # type: ignore[attr-defined]
        for result in pool.imap(_task, range(2_000)):
            seen.append(result)
    assert seen == [0, 1, 2]
    # Killed (as Pool.terminate does), a worker sending a result could hold the result queue's lock for
    # ever; they finished the task in hand and exited on their own instead.
    assert [p.exitcode for p in processes] == [0, 0]
    assert len(ran.read_text().split()) < 200  # the tasks still queued were skipped
    assert workers._STOPPED is None


def test_a_pool_left_normally_runs_every_task(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(RAN, str(tmp_path / "ran"))
    with fork_pool(2) as pool:
        assert list(pool.imap(_task, [0, 1, 2, 4, 5])) == [0, 1, 2, 4, 5]
    assert workers._STOPPED is None


def _thresholds(_: int) -> tuple[int, ...]:
    return gc.get_threshold()


def test_workers_collect_young_objects_less_often_and_leave_the_parent_as_it_was() -> None:
    before = gc.get_threshold()
    with fork_pool(2) as pool:
        found = set(pool.imap(_thresholds, range(4)))
    assert found == {(workers._YOUNG, *before[1:])}
    assert before[0] < workers._YOUNG
    assert gc.get_threshold() == before


def test_young_collections_are_spaced_in_a_block_and_as_before_after_it() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), workers.young_collections_spaced():
        assert gc.get_threshold() == (workers._YOUNG, *before[1:])
        raise RuntimeError
    assert gc.get_threshold() == before


def _returns(text: str) -> bytes:
    return text.encode() * 100_000  # more than a pipe holds: the child waits for the parent to read


def _fails() -> bytes:
    raise RuntimeError("failed in the child")


def _sleeps(seconds: float) -> bytes:
    time.sleep(seconds)
    return b"late"


def test_a_forked_task_gives_back_what_it_returned() -> None:
    task = workers.fork_task(_returns, "ok")
    assert task is not None
    assert task.result() == b"ok" * 100_000
    assert task.result() is None  # given once


def test_a_forked_task_that_fails_gives_nothing() -> None:
    task = workers.fork_task(_fails)
    assert task is not None and task.result() is None


def test_a_forked_task_is_stopped_at_once() -> None:
    task = workers.fork_task(_sleeps, 60.0)
    assert task is not None
    start = time.monotonic()
    task.stop()
    assert time.monotonic() - start < 5
    assert task.result() is None
    task.stop()  # twice is nothing


def _after_go(item: int) -> int:
    """Return ``item`` once the file named by RAN exists (the parent's go), or after 10 s."""
    return item if appears(Path(os.environ[RAN])) else -1


def test_next_meanwhile_does_the_callers_work_until_a_result_is_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    go = tmp_path / "go"
    monkeypatch.setenv(RAN, str(go))
    calls = []

    def meanwhile() -> bool:  # three pieces of work; the workers wait for the last of them
        calls.append(len(calls))
        if len(calls) == 3:
            go.touch()
        return len(calls) < 3

    with fork_pool(1) as pool:
        results = pool.imap(_after_go, [7, 8])
        assert workers.next_meanwhile(results, meanwhile) == 7  # not -1: it did not wait for the go
        assert calls == [0, 1, 2]
        assert workers.next_meanwhile(results, meanwhile) == 8
        assert workers.next_meanwhile(results, meanwhile) is None  # no more


def test_next_meanwhile_waits_once_the_caller_has_nothing_else_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    go = tmp_path / "go"
    monkeypatch.setenv(RAN, str(go))
    with fork_pool(1) as pool:
        results = pool.imap(_after_go, [5])
        go.touch()
        assert workers.next_meanwhile(results, lambda: False) == 5
        assert workers.next_meanwhile(results, lambda: False) is None


def test_regions_give_a_process_its_own_items_in_turn_then_the_last_of_the_fullest_region() -> None:
    regions = Regions(10, 3)  # 0-2, 3-5, 6-9: this process takes the first region
    taken = [regions.take() for _ in range(11)]
    assert taken == [0, 1, 2, 9, 5, 8, 4, 7, 3, 6, None]


def test_regions_give_nothing_from_the_item_they_are_stopped_at() -> None:
    regions = Regions(10, 3)
    assert [regions.take(), regions.take()] == [0, 1]
    regions.stop_at(5)
    assert [regions.take() for _ in range(4)] == [2, 4, 3, None]
    regions.stop_at(8)  # a later item changes nothing
    assert regions.take() is None


_REGIONS: Regions | None = None


def _take(_: int) -> tuple[int, int | None]:
    assert _REGIONS is not None
    item = _REGIONS.take()
    time.sleep(0.001)
    return os.getpid(), item


def test_forked_workers_each_take_a_region_from_its_front_and_the_others_from_their_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every item once, whatever the timing: each worker's first item starts a region, its items run on
    from there, and those it takes once its region is done come from the end of the other's."""
    monkeypatch.setattr(sys.modules[__name__], "_REGIONS", Regions(200, 2))
    with fork_pool(2) as pool:
        results = list(pool.imap(_take, range(200)))
    assert sorted(item for _, item in results if item is not None) == list(range(200))
    by_worker: dict[int, list[int]] = {}
    for pid, item in results:
        if item is not None:
            by_worker.setdefault(pid, []).append(item)
    for items in by_worker.values():
        start = items[0]
        assert start in (0, 100)
        own = 0
        while own < len(items) and items[own] == start + own:
            own += 1
        stolen = items[own:]
        assert stolen == sorted(stolen, reverse=True) and not set(stolen) & set(range(start, start + 100))
