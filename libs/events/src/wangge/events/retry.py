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
_JITTER = random.Random()  # noqa: S311 - jitter, nothing secret
"""The retries' own generator: drawing from the module's shared one would move the sequence of
everyone else in the process (a test's seeded draws, Hypothesis's check that strategies leave it
alone) whenever a retry happened to run."""


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
            await asyncio.sleep(_JITTER.uniform(0, pause * 2 ** (attempt - 1)))
    raise AssertionError("unreachable")
