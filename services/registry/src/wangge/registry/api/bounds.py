"""Bounds on the query parameters that reach SQL or date arithmetic.

Unbounded, a fuzzer's extremes overflowed a 64-bit integer in the pages' offsets and a
timestamp's range in PostgreSQL (a 500); bounded here, they are a 422 naming the parameter,
and the OpenAPI document states the limits.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Query
from pydantic import AfterValidator, AwareDatetime

MAX_PAGE = 10_000
MAX_SIZE = 200

Page = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"1 to {MAX_PAGE:,}")]
"""A page number: with ``Size`` the offset stays below two million rows, far from overflowing."""
Size = Annotated[int, Query(ge=1, le=MAX_SIZE, description="items a page")]

EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def _within(moment: datetime) -> datetime:
    # PostgreSQL's driver converts to UTC, which overflows near year 1 and year 9999
    if not EARLIEST <= moment < LATEST:
        raise ValueError(f"a time from {EARLIEST:%Y} to {LATEST:%Y}")
    return moment


Moment = Annotated[AwareDatetime, AfterValidator(_within)]
"""A time in a query: ``known_at``, ``since``."""
