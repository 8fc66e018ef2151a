"""Running work again when the PostgreSQL store refuses an append as overtaken.

A transaction that appends to several streams may find one extended by a younger transaction
after it took its id (``WriteOrderError``): its events would sort before the ones they follow.
Its transaction is rolled back; the same work in a new transaction is younger than everything
it read, so it passes.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from wangge.events.errors import WriteOrderError

T = TypeVar("T")
log = logging.getLogger(__name__)


async def when_overtaken(work: Callable[[], Awaitable[T]], *, attempts: int = 3) -> T:
    """Run ``work`` (a whole transaction), again after a ``WriteOrderError``, up to ``attempts``."""
    for attempt in range(1, attempts + 1):
        try:
            return await work()
        except WriteOrderError:
            if attempt == attempts:
                raise
            log.info("overtaken by a younger transaction; running again (%s)", attempt)
    raise AssertionError("unreachable")
