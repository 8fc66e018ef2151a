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


def utc(moment: datetime) -> datetime:
    """A time as stored: in UTC."""
    return moment.astimezone(UTC)


def stored(moment: datetime) -> datetime:
    """A time as read back: UTC, also from SQLite, which hands it back without its offset."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


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
