"""One apply's schedule in motion: which actions run now, how many at once, and interrupts.

Part of the engine. At most ``concurrency`` actions run at once, each in a task of its own
started when a slot is free, in the order the ready queue (``schedule``) gives. At most
``lookahead`` submits wait for the rate limiter at once (without durable intents, whose waves
are one commit each): the order is decided when a permit is near, with what the apply has
learnt by then, not all at the start. While runs of processes with no known duration wait,
the platform's records of those processes are surveyed every five initial poll intervals
(``survey``); the first submits wait for the first round, never longer than an interval.

On cancellation every running action is cancelled once (a second cancel would cut short the
bounded wait that lets a POST already on the wire record its requestId), then it says so.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from reconciler.apply.schedule import NO_PERMIT, ReadyQueue
from reconciler.apply.survey import Survey
from reconciler.clock import Clock
from reconciler.model import Action, Event, Notice, RunResult

Start = Callable[[Action], Coroutine[Any, Any, RunResult]]


class Dispatch:
    """Runs one apply's actions from ``queue``; also its ``Backlog`` (is anything left to send)."""

    def __init__(
        self,
        queue: ReadyQueue,
        clock: Clock,
        *,
        concurrency: int,
        lookahead: int,
        progress: Callable[[Event], None],
    ) -> None:
        self._queue = queue
        self._clock = clock
        self._limit = concurrency
        self._lookahead = lookahead
        self._progress = progress
        self._unsent: set[str] = set()  # submits whose POST has no rate-limit permit yet
        self._wake = asyncio.Event()

    def permitted(self, name: str) -> None:
        """``name``'s POST got its rate-limit permit: another submit may start waiting."""
        self._unsent.discard(name)
        self._wake.set()

    def drained(self) -> bool:
        """Nothing is left to submit: no submit waits for a permit, none waits to start."""
        return not self._unsent and self._queue.drained()

    async def run(self, start: Start, survey: Survey, every: float) -> list[RunResult]:
        """Start actions with ``start`` as slots free up; every result once all are done."""
        running: set[asyncio.Task[RunResult]] = set()
        finished: list[asyncio.Task[RunResult]] = []

        def on_done(task: asyncio.Task[RunResult]) -> None:  # O(1), unlike asyncio.wait
            finished.append(task)
            self._wake.set()

        learning = asyncio.create_task(survey.run(every), name="survey")
        try:
            # The first submits wait a moment for what the records say (a first round is a
            # query per process), never longer than a survey interval.
            await first_of(survey.first.wait(), self._clock.sleep(every))
            while True:
                for skipped in self._queue.skipped():
                    self._progress(skipped)
                while (
                    len(running) < self._limit
                    and len(self._unsent) < self._lookahead
                    and (action := self._queue.pop())
                ):
                    if action.kind not in NO_PERMIT:
                        self._unsent.add(action.name)
                    task = asyncio.create_task(start(action), name=action.name)
                    task.add_done_callback(on_done)
                    running.add(task)
                if not running:
                    return self._queue.results()
                await self._wake.wait()
                self._wake.clear()
                done, finished[:] = list(finished), []
                for task in done:
                    running.discard(task)
                    self._unsent.discard(task.get_name())
                for task in done:
                    self._queue.done(task.result())
        except asyncio.CancelledError:
            learning.cancel()  # its queries would go before the POSTs still to be recorded
            await _cancel_once(running)
            self._progress(Notice("interrupted; state saved, the next apply resumes"))
            raise
        except BaseException:
            learning.cancel()
            await _cancel_once(running)
            raise
        finally:
            learning.cancel()
            await asyncio.gather(learning, return_exceptions=True)


async def _cancel_once(running: set[asyncio.Task[RunResult]]) -> None:
    for task in running:
        task.cancel()
    await asyncio.gather(*running, return_exceptions=True)


async def first_of(*waits: Awaitable[Any]) -> None:
    """Return once the first of ``waits`` is over; cancel the others."""
    tasks: list[asyncio.Future[Any]] = [asyncio.ensure_future(wait) for wait in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*tasks, return_exceptions=True)
