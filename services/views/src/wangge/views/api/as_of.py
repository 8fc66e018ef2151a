"""The days a view answers ``as_of``: one range for the dashboards and the pictures alike.

A day outside it is the client's mistake (a typo'd year), not something to compute: at
9999-12-31 the end of the day is past the last date Python can hold (a 500), and a day
centuries off only makes a picture of nothing or a series of empty months.
"""

from __future__ import annotations

from datetime import date

from wangge.governance.errors import DomainError

FIRST = date(2002, 1, 1)
LAST = date(2099, 12, 31)


class BadDay(DomainError):
    """An as-of day the views cannot answer for."""

    slug = "bad-as-of"
    title = "The as-of day is out of range"


def checked(day: date | None) -> date | None:
    """``day`` itself (None: today, which is in range), or a 422 naming ``query/as_of``."""
    if day is not None and not FIRST <= day <= LAST:
        raise BadDay(f"as_of lies between {FIRST} and {LAST}", field="query/as_of")
    return day
