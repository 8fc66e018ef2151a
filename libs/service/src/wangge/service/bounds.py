"""Times and days a request may carry: checked, and stated in the OpenAPI as they are checked.

A time near year 1 or 9999 overflows its conversion to UTC and PostgreSQL's range (a 500), so
services bound them; a bound the schema does not show refuses a client that follows the schema.
These types bound the year as written (1900 to 2199, whatever the offset) and say so with a
pattern on the year, which a schema can state and a generator can follow: what the schema
allows, the service takes.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, AwareDatetime, WithJsonSchema

FIRST_YEAR = 1900
LAST_YEAR = 2199
YEAR_PATTERN = r"^(?:19|20|21)[0-9]{2}-"
"""The years ``FIRST_YEAR`` to ``LAST_YEAR`` at the start of an ISO 8601 date or time."""

T = TypeVar("T", date, datetime)


def _in_years(value: T) -> T:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"a year from {FIRST_YEAR} to {LAST_YEAR}")
    return value


def _schema(format_: str) -> dict[str, Any]:
    return {"type": "string", "format": format_, "pattern": YEAR_PATTERN}


Moment = Annotated[AwareDatetime, AfterValidator(_in_years), WithJsonSchema(_schema("date-time"))]
"""A time with its offset, in a query or a body (``since``, a session's start)."""

AnyMoment = Annotated[datetime, AfterValidator(_in_years), WithJsonSchema(_schema("date-time"))]
"""A time whose offset may be left out (xAPI's queries allow it)."""

Day = Annotated[date, AfterValidator(_in_years), WithJsonSchema(_schema("date"))]
"""A day in a query or a body (a secondment's end, a handbook's publication)."""
