"""Group commit: commands that arrive together share one transaction.

Under load most of a command's cost is per transaction and per statement (a BEGIN, a COMMIT and
its flush, each round trip through the driver), not per event. A service taking in a steady
stream of similar commands (the hotline's pushes) queues them here; while one batch is in its
transaction the next gathers, so the batch grows with the load and costs nothing when it is
light (a lone command runs as it would alone, with no wait added).

A batch is all or nothing. When it fails for any reason (one command's conflict, a write-order
refusal) each of its commands runs again alone, in its own transaction, and gets its own answer:
the shared path is only ever a faster way to the answers the lone path gives.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from wangge.events.faults import is_outage

I = TypeVar("I")  # noqa: E741 - an item, as in the typing docs
R = TypeVar("R")

log = logging.getLogger(__name__)


@dataclass
class _Entry(Generic[I, R]):
    item: I
    answer: asyncio.Future[R] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class GroupCommit(Generic[I, R]):
    """Run ``together`` over the items queued at once, ``alone`` over one (or a failed batch's).

    ``together`` gets the items in arrival order and answers each, in one transaction of its
    own. ``fits(batch, item)`` says whether an item may join a batch (items that must see each
    other's writes, such as two tickets at one address, wait for the next one); ``limit`` caps a
    batch. An item whose caller went away (a dropped request) is still run: it may already be
    half way through, and its sender will ask again and must find it done.
    """

    def __init__(
        self,
        together: Callable[[Sequence[I]], Awaitable[Sequence[R]]],
        alone: Callable[[I], Awaitable[R]],
        *,
        fits: Callable[[Sequence[I], I], bool] = lambda batch, item: True,
        limit: int = 32,
    ) -> None:
        self._together, self._alone, self._fits, self.limit = together, alone, fits, limit
        self._queue: deque[_Entry[I, R]] = deque()
        self._draining: asyncio.Task[None] | None = None
        self.batches = 0
        """Batches run together (for tests and figures: how much the grouping happened)."""
        self.grouped = 0
        """Items answered by a batch run together."""

    async def submit(self, item: I) -> R:
        """The item's answer, from its batch or from running it alone."""
        entry: _Entry[I, R] = _Entry(item)
        self._queue.append(entry)
        if self._draining is None:
            # only while there is work: no task outlives the requests that started it
            self._draining = asyncio.create_task(self._drain())
        return await asyncio.shield(entry.answer)

    async def _drain(self) -> None:
        batch: list[_Entry[I, R]] = []
        try:
            while self._queue:
                batch = self._next_batch()
                await self._run(batch)
        finally:
            self._draining = None
            # left only when the drain itself was cancelled (a shutdown): nobody waits forever
            for entry in [*batch, *self._queue]:
                if not entry.answer.done():
                    entry.answer.cancel()
            self._queue.clear()

    def _next_batch(self) -> list[_Entry[I, R]]:
        batch = [self._queue.popleft()]
        items = [batch[0].item]
        held: deque[_Entry[I, R]] = deque()
        while self._queue and len(batch) < self.limit:
            entry = self._queue.popleft()
            if self._fits(items, entry.item):
                batch.append(entry)
                items.append(entry.item)
            else:
                held.append(entry)
        held.extend(self._queue)
        self._queue = held  # what did not fit goes first next time, in its order
        return batch

    async def _run(self, batch: list[_Entry[I, R]]) -> None:
        if len(batch) > 1:
            try:
                answers = await self._together([e.item for e in batch])
            except Exception as error:  # every item gets its own answer from the lone path
                if is_outage(error):
                    # the database is out of reach: each alone would only wait for it again
                    for entry in batch:
                        _settle(entry.answer, None, error)
                    return
                log.debug("a batch of %d failed (%r): each runs alone", len(batch), error)
            else:
                self.batches += 1
                self.grouped += len(batch)
                for entry, answer in zip(batch, answers, strict=True):
                    _settle(entry.answer, answer, None)
                return
        for entry in batch:
            try:
                answer = await self._alone(entry.item)
            except Exception as error:
                _settle(entry.answer, None, error)
            else:
                _settle(entry.answer, answer, None)


def _settle(future: asyncio.Future[Any], answer: Any, error: BaseException | None) -> None:
    if future.done():  # cancelled by a shutdown
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(answer)
