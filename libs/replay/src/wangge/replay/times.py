"""The moments an analyst names on the command line."""

from __future__ import annotations

from datetime import date, datetime, time

from wangge.governance.hotline_figures import CST


def parse_moment(text: str) -> datetime:
    """A date (its first instant in China Standard Time, where the subdistrict's days begin) or
    an ISO 8601 time (without an offset: China Standard Time)."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        pass
    else:
        return datetime.combine(day, time(), tzinfo=CST)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is neither a date (2026-06-30) nor an ISO time") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=CST)
