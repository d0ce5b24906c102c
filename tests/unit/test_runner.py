"""The leased-work runner (server/services/runner.py), with a fake poll instead of a database."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest

from server.services.runner import Backoff, LeasedRunner, RunnerSettings, Work


class Board:
    """Work as a poll would find it in the database: pieces due, each taken by one poll."""

    def __init__(self) -> None:
        self.due: list[Callable[[], Work]] = []
        self.rooms: list[int] = []
        self.runner: LeasedRunner | None = None

    async def poll(self, room: int) -> int:
        assert self.runner is not None
        self.rooms.append(room)
        taken, self.due = self.due[:room], self.due[room:]
        for work in taken:
            self.runner.start(work())
        return len(taken)


@asynccontextmanager
async def running(settings: RunnerSettings, board: Board) -> AsyncIterator[LeasedRunner]:
    runner = LeasedRunner(board.poll, settings)
    board.runner = runner
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    try:
        yield runner
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


def recorder(done: list[str], name: str, gate: asyncio.Event | None = None) -> Callable[[], Work]:
    async def work() -> None:
        if gate is not None:
            await gate.wait()
        done.append(name)

    return work


FAST = RunnerSettings(batch=4, concurrency=2, handed_max=3, poll_seconds=0.01)


def test_backoff_doubles_from_its_base_until_the_attempts_are_used() -> None:
    backoff = Backoff(base_seconds=2.0, max_attempts=4)
    assert [backoff.delay(n) for n in (1, 2, 3, 4, 5)] == [2.0, 4.0, 8.0, None, None]


def test_backoff_jitter_stays_within_its_fraction() -> None:
    backoff = Backoff(base_seconds=10.0, max_attempts=9, jitter=0.2)
    delays = [backoff.delay(3) for _ in range(200)]
    assert all(d is not None and 32.0 <= d <= 48.0 for d in delays)
    assert len(set(delays)) > 1


async def test_handed_work_runs_at_once_while_there_is_room() -> None:
    runner = LeasedRunner(Board().poll, FAST)  # not running: nothing else would start it
    done: list[str] = []
    assert runner.hand(recorder(done, "a"))
    await asyncio.sleep(0)
    assert done == ["a"]


async def test_handed_work_past_the_room_waits_in_order_and_past_memory_is_refused() -> None:
    runner = LeasedRunner(Board().poll, FAST)
    gate = asyncio.Event()
    done: list[str] = []
    accepted = [runner.hand(recorder(done, name, gate)) for name in "abcdef"]
    # two run (the concurrency), three wait (handed_max), the sixth is left to the poll
    assert accepted == [True, True, True, True, True, False]
    gate.set()
    await asyncio.sleep(0.01)
    assert done == ["a", "b"]


async def test_waiting_work_runs_as_room_frees_in_the_order_it_was_handed() -> None:
    board = Board()
    gate = asyncio.Event()
    done: list[str] = []
    async with running(FAST, board) as runner:
        for name in "abcde":
            runner.hand(recorder(done, name, gate))
        gate.set()
        await runner.idle()
    assert done == ["a", "b", "c", "d", "e"]


async def test_the_poll_is_asked_for_the_room_left_and_its_work_runs() -> None:
    board = Board()
    done: list[str] = []
    board.due = [recorder(done, name) for name in "abc"]
    async with running(FAST, board) as runner:
        await runner.idle()
    assert sorted(done) == ["a", "b", "c"]
    assert board.rooms[0] == 2  # min(batch, concurrency - running)


async def test_failed_work_is_logged_and_the_runner_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    board = Board()
    done: list[str] = []

    async def failing() -> None:
        raise RuntimeError("boom")

    board.due = [failing, recorder(done, "after")]
    with caplog.at_level(logging.ERROR, logger="server.services.runner"):
        async with running(FAST, board) as runner:
            await runner.idle()
    assert done == ["after"]
    assert any("leased work failed" in r.message for r in caplog.records)


async def test_idle_waits_for_work_under_way() -> None:
    board = Board()
    gate = asyncio.Event()
    done: list[str] = []
    async with running(FAST, board) as runner:
        runner.hand(recorder(done, "slow", gate))
        idle = asyncio.create_task(runner.idle())
        await asyncio.sleep(0.05)  # several polls, none idle: the work still runs
        assert not idle.done()
        gate.set()
        await asyncio.wait_for(idle, 5)
    assert done == ["slow"]


async def test_idle_sees_work_that_became_due_after_it_was_asked() -> None:
    board = Board()
    done: list[str] = []
    async with running(RunnerSettings(poll_seconds=30), board) as runner:
        await runner.idle()  # a slow poll: idle wakes the runner rather than waiting for it
        board.due = [recorder(done, "late")]
        await asyncio.wait_for(runner.idle(), 5)
    assert done == ["late"]


async def test_stopping_finishes_the_work_under_way() -> None:
    board = Board()
    done: list[str] = []

    async def slow() -> None:
        await asyncio.sleep(0.05)
        done.append("slow")

    async with running(FAST, board) as runner:
        runner.hand(slow)
    assert done == ["slow"]


async def test_work_handed_while_others_wait_queues_behind_them() -> None:
    board = Board()
    one_at_a_time = RunnerSettings(batch=1, concurrency=1, handed_max=10, poll_seconds=0.01)
    runner = LeasedRunner(board.poll, one_at_a_time)
    board.runner = runner
    gate = asyncio.Event()
    done: list[str] = []
    runner.hand(recorder(done, "a", gate))  # runs
    runner.hand(recorder(done, "b"))  # waits: no room
    gate.set()
    await asyncio.sleep(0.01)  # "a" is done: room, but "b" still waits for the loop
    runner.hand(recorder(done, "c"))  # must not overtake "b"
    await asyncio.sleep(0.01)
    assert done == ["a"]
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    await runner.idle()
    stop.set()
    await task
    assert done == ["a", "b", "c"]
