"""Forked workers: stopped on an exception without being killed, the tasks still queued skipped."""

from __future__ import annotations

import gc
import os
import time
from pathlib import Path

import pytest
from factories import appears

from reportgen import workers
from reportgen.workers import fork_pool

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
