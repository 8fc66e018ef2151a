"""Bounds on the parameters and body fields that reach SQL or date arithmetic.

Unbounded, a fuzzer's extremes overflowed the conversion of a time to UTC near year 1 and year
9999, and SQLite's and PostgreSQL's integers in the statements' cursor (a 500); bounded here,
they are a 422 naming the parameter. Times and days are the kit's (:mod:`wangge.service.bounds`),
whose schema states the years it takes.
"""

from __future__ import annotations

from wangge.service.bounds import AnyMoment, Day, Moment

__all__ = ["MAX_EDITION", "MAX_SCORE", "MAX_SEQ", "Day", "Moment", "XapiMoment"]

XapiMoment = AnyMoment
"""A time in an xAPI query, where the specification lets the offset be left out."""

MAX_SEQ = 2**31 - 1
"""The last statement number the 32-bit ``seq`` column holds (PostgreSQL's ``integer``)."""
MAX_EDITION = 2**31 - 1
"""The last edition number the read models' 32-bit ``edition`` column holds."""
MAX_SCORE = 1_000_000.0
"""The largest score or maximum score: no assessment counts further."""
