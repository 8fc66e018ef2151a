"""Bounds on the query parameters that reach SQL or date arithmetic.

Unbounded, a fuzzer's extremes overflowed the conversion of a time to UTC near year 1 and year
9999, and SQLite's and PostgreSQL's integers in the statements' cursor (a 500); bounded here,
they are a 422 naming the parameter.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime

EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def _within(moment: datetime) -> datetime:
    # a time without an offset is read in the server's zone, at most a day from UTC
    probe = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    if not EARLIEST <= probe < LATEST:
        raise ValueError(f"a time from {EARLIEST:%Y} to {LATEST:%Y}")
    return moment


Moment = Annotated[AwareDatetime, AfterValidator(_within)]
"""A time in a query: ``since``, ``until``."""
XapiMoment = Annotated[datetime, AfterValidator(_within)]
"""A time in an xAPI query, where the specification lets the offset be left out."""

MAX_SEQ = 2**31 - 1
"""The last statement number the 32-bit ``seq`` column holds (PostgreSQL's ``integer``)."""
