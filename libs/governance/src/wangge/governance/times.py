"""Times in read models: stored in UTC, read back aware.

SQLite keeps no offset: a row written with an aware time comes back naive. Every service writes
UTC (``utc``) and reads back through ``stored`` (or the ``StoredTime`` field type), so both
backends answer with the same aware times.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import AfterValidator

from wangge.events.store.tables import UTCDateTime


def utc(moment: datetime) -> datetime:
    """A time as stored: in UTC."""
    return moment.astimezone(UTC)


def stored(moment: datetime) -> datetime:
    """A time as read back: UTC, also from SQLite, which hands it back without its offset."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


TIME = UTCDateTime()
"""The column type of every time in a read model: an aware time of any offset is stored as its
instant in UTC (SQLite would keep a ``+08:00`` deadline's wall clock and drop the offset, 8 hours
late once read back as UTC), a naive one is refused, and reads come back aware in UTC."""

StoredTime = Annotated[datetime, AfterValidator(stored)]
"""A response field holding a time read from a read model."""


CHINA = ZoneInfo("Asia/Shanghai")
"""The subdistrict's clock: which day a time falls on (a session's day, a deadline's)."""


def local_day(moment: datetime) -> date:
    """The day ``moment`` falls on in the subdistrict."""
    return stored(moment).astimezone(CHINA).date()


def today() -> date:
    """Today in the subdistrict (Asia/Shanghai): from 16:00 UTC it is already the next day there,
    and a care visit made there this morning is not in the future."""
    return local_day(datetime.now(UTC))
