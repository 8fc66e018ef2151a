"""Bounds on the parameters and body fields that reach SQL or date arithmetic.

Unbounded, a fuzzer's extremes overflowed the conversion of a time to UTC near year 1 and year
9999, and SQLite's and PostgreSQL's integers in the statements' cursor (a 500); bounded here,
they are a 422 naming the parameter.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
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


def _on_calendar(day: date) -> date:
    if not EARLIEST.date() <= day < LATEST.date():
        raise ValueError(f"a day from {EARLIEST:%Y} to {LATEST:%Y}")
    return day


Moment = Annotated[AwareDatetime, AfterValidator(_within)]
"""A time in a query (``since``, ``until``) or a body (a session's start, a forum's time)."""
Day = Annotated[date, AfterValidator(_on_calendar)]
"""A day in a body: a day near year 1 or 9999 overflowed the periods counted from it."""
XapiMoment = Annotated[datetime, AfterValidator(_within)]
"""A time in an xAPI query, where the specification lets the offset be left out."""

MAX_SEQ = 2**31 - 1
"""The last statement number the 32-bit ``seq`` column holds (PostgreSQL's ``integer``)."""
MAX_EDITION = 2**31 - 1
"""The last edition number the read models' 32-bit ``edition`` column holds."""
MAX_SCORE = 1_000_000.0
"""The largest score or maximum score: no assessment counts further."""
