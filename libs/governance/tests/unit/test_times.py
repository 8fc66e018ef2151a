"""The subdistrict's day: a moment falls on the day it is in Asia/Shanghai, not in UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from wangge.governance.times import local_day, today


def test_after_16_utc_it_is_already_the_next_day_in_the_subdistrict() -> None:
    assert local_day(datetime(2026, 12, 6, 15, 59, tzinfo=UTC)) == date(2026, 12, 6)
    assert local_day(datetime(2026, 12, 6, 16, 0, tzinfo=UTC)) == date(2026, 12, 7)
    naive = datetime(2026, 12, 6, 16, 5, tzinfo=UTC).replace(tzinfo=None)  # as SQLite hands back
    assert local_day(naive) == date(2026, 12, 7)


def test_today_is_the_subdistricts_day_of_now() -> None:
    before = datetime.now(UTC)
    found = today()
    assert found in {local_day(before), local_day(before + timedelta(seconds=5))}
    assert found - datetime.now(UTC).date() in {timedelta(0), timedelta(days=1)}
