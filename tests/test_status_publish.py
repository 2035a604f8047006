"""The cycle run's progress grid: asks are coalesced per cycle, the last change is never lost."""

from __future__ import annotations

import threading
import time

import pytest

from flows import status
from models.settings import reset_settings


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, bool, bool]]:
    monkeypatch.setenv("PEMANTIK_RUNNER__STATUS_SECONDS", "0.3")
    reset_settings()
    done: list[tuple[int, bool, bool]] = []
    lock = threading.Lock()

    def record(cycle_id: int, table: bool = False, create: bool = False) -> None:
        with lock:
            done.append((cycle_id, table, create))

    monkeypatch.setattr(status, "write_status", record)
    yield done
    status.flush_status()
    reset_settings()


def wait_for(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the coalesced rewrite never came"
        time.sleep(0.02)


def test_many_asks_make_one_rewrite_per_cycle(writes: list) -> None:
    for _ in range(50):
        status.publish_status(7)
        status.publish_status(8)
    assert writes == []  # none yet: they wait for their moment
    wait_for(lambda: len(writes) == 2)
    time.sleep(0.5)
    assert sorted(writes) == [(7, False, False), (8, False, False)]


def test_an_ask_during_a_rewrite_gets_its_own(writes: list, monkeypatch) -> None:
    started, release = threading.Event(), threading.Event()
    seen: list[int] = []

    def slow(cycle_id: int, table: bool = False, create: bool = False) -> None:
        seen.append(cycle_id)
        if len(seen) == 1:
            started.set()
            release.wait(5)

    monkeypatch.setattr(status, "write_status", slow)
    status.publish_status(3)
    assert started.wait(5)
    status.publish_status(3)  # a change while the first rewrite is still reading
    release.set()
    wait_for(lambda: len(seen) == 2)


def test_milestones_are_written_at_once_and_pending_ones_at_exit(writes: list) -> None:
    status.publish_status(5, table=True)
    status.publish_status(5, create=True)
    assert writes == [(5, True, False), (5, False, True)]
    status.publish_status(6)
    status.flush_status()  # what atexit runs when the process ends
    assert writes[-1] == (6, False, False)
    time.sleep(0.5)
    assert writes.count((6, False, False)) == 1  # the timer it replaced does not write again
