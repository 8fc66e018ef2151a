"""The days a view answers ``as_of``: one range for the dashboards and the pictures alike.

A day outside it is the client's mistake (a typo'd year), not something to compute: at
9999-12-31 the end of the day is past the last date Python can hold (a 500), and a day
centuries off only makes a picture of nothing or a series of empty months.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import WithJsonSchema

from wangge.governance.errors import DomainError

FIRST = date(2002, 1, 1)
LAST = date(2099, 12, 31)
YEARS = r"^(?:200[2-9]|20[1-9][0-9])-"
"""The years of ``FIRST`` to ``LAST`` at the start of an ISO 8601 day."""

AsOfDay = Annotated[date, WithJsonSchema({"type": "string", "format": "date", "pattern": YEARS})]
"""An ``as_of`` day, its range stated in the OpenAPI as a pattern on the year (a client, or a
generator, that follows the schema is not refused); :func:`checked` refuses the rest."""


class BadDay(DomainError):
    """An as-of day the views cannot answer for."""

    slug = "bad-as-of"
    title = "The as-of day is out of range"


def checked(day: date | None) -> date | None:
    """``day`` itself (None: today, which is in range), or a 422 naming ``query/as_of``."""
    if day is not None and not FIRST <= day <= LAST:
        raise BadDay(f"as_of lies between {FIRST} and {LAST}", field="query/as_of")
    return day
