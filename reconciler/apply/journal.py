"""Durable intents: make a wave of intents outlive this machine before any of them is sent.

A CI runner can vanish with its workspace between saving an intent and recording the
requestId. The state file alone would vanish with it, and a fresh runner would submit again.
With a journal (``reconciler.yaml`` ``apply.durableIntents``; on by default in GitHub Actions)
every submit waits until its intent has been recorded elsewhere (committed and pushed, see
``gitops``), so a later apply sees the intent and resolves it by query instead.

Intents arriving together are recorded together: the first one opens a short window, every
intent that arrives within it joins the batch, and one ``record`` call (one commit and push)
covers them all. Batches are recorded one at a time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from reconciler.model import StateEntry


class IntentJournal(Protocol):
    """Where intents are made durable before their POST is sent."""

    async def record(self, intents: Sequence[StateEntry]) -> None:
        """Record a batch of saved intents durably; raise ``ReconcilerError`` if it cannot."""
        ...


class Batcher:
    """Collects intents into waves and records each wave once."""

    def __init__(
        self,
        journal: IntentJournal,
        window: float,
        sleep: Callable[[float], Awaitable[None]],
    ) -> None:
        self._journal = journal
        self._window = window
        self._sleep = sleep
        self._waiting: list[tuple[StateEntry, asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._serial = asyncio.Lock()
        self.batches = 0

    async def add(self, intent: StateEntry) -> None:
        """Return once ``intent`` is recorded; raise what recording its batch raised."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((intent, future))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush_after_window())
        await future

    def withdraw(self, intent: StateEntry) -> bool:
        """Take back an intent not yet handed to the journal; False once recording began."""
        for index, (waiting, future) in enumerate(self._waiting):
            if waiting is intent:
                del self._waiting[index]
                future.cancel()
                return True
        return False

    async def _flush_after_window(self) -> None:
        await self._sleep(self._window)
        batch, self._waiting, self._flusher = self._waiting, [], None
        batch = [(intent, future) for intent, future in batch if not future.cancelled()]
        if not batch:
            return
        async with self._serial:
            try:
                await self._journal.record([intent for intent, _ in batch])
            except Exception as exc:  # every waiter of this batch gets the same error
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                        future.exception()  # retrieved: each waiter re-raises it
                return
            self.batches += 1
        for _, future in batch:
            if not future.done():
                future.set_result(None)
