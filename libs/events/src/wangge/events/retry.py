"""Running work again when the PostgreSQL store refuses an append as overtaken.

A transaction that appends to several streams may find one extended by a younger transaction
after it took its id (``WriteOrderError``): its events would sort before the ones they follow.
Its transaction is rolled back; the same work in a new transaction is younger than everything
it read, so it passes, unless a busy stream (many intakes raising one hotspot) is overtaken
again: each new attempt waits a random moment first (full jitter), so racers spread out.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from wangge.events.errors import WriteOrderError

T = TypeVar("T")
log = logging.getLogger(__name__)


async def when_overtaken(
    work: Callable[[], Awaitable[T]], *, attempts: int = 5, pause: float = 0.005
) -> T:
    """Run ``work`` (a whole transaction), again after a ``WriteOrderError``, up to ``attempts``
    times, waiting up to ``pause`` seconds, doubled each time, before each new attempt."""
    for attempt in range(1, attempts + 1):
        try:
            return await work()
        except WriteOrderError:
            if attempt == attempts:
                raise
            log.info("overtaken by a younger transaction; running again (%s)", attempt)
            # jitter spreads retries apart; nothing secret is drawn
            await asyncio.sleep(random.uniform(0, pause * 2 ** (attempt - 1)))  # noqa: S311
    raise AssertionError("unreachable")
