"""Working days in mainland China: weekends, public holidays and the swapped working days.

The State Council publishes each year's holidays in the December before, with weekend days that
become working days (调休). The ``chinese-calendar`` library carries them; for a year it does not
know yet, Monday to Friday stand in (and :func:`official` says so), because a deadline must be
computable on any day.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache

import chinese_calendar

from wangge.governance.times import CHINA


def official(day: date) -> bool:
    """Whether the holiday calendar of ``day``'s year is published (known to the library)."""
    try:
        chinese_calendar.is_workday(day)
    except NotImplementedError:
        return False
    return True


@lru_cache(maxsize=4096)
def is_working_day(day: date) -> bool:
    """Whether offices work on ``day``."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5


@lru_cache(maxsize=4096)
def add_working_days(day: date, count: int) -> date:
    """The ``count``-th working day after ``day`` (``day`` itself never counts)."""
    if count < 1:
        raise ValueError("count working days from 1")
    while count:
        day += timedelta(days=1)
        if is_working_day(day):
            count -= 1
    return day


def end_of(day: date) -> datetime:
    """The last second of ``day`` in China (deadlines are "by the end of the day")."""
    return datetime.combine(day, time(23, 59, 59), CHINA)
