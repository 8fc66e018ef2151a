"""Bounds on the query parameters that reach SQL or date arithmetic.

Unbounded, a fuzzer's extremes overflowed a 64-bit integer in the pages' offsets and a
timestamp's range in PostgreSQL (a 500); bounded here, they are a 422 naming the parameter,
and the OpenAPI document states the limits (times: the kit's :mod:`wangge.service.bounds`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from wangge.service.bounds import Moment

MAX_PAGE = 10_000
MAX_SIZE = 200

Page = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"1 to {MAX_PAGE:,}")]
"""A page number: with ``Size`` the offset stays below two million rows, far from overflowing."""
Size = Annotated[int, Query(ge=1, le=MAX_SIZE, description="items a page")]

__all__ = ["MAX_PAGE", "MAX_SIZE", "Moment", "Page", "Size"]
