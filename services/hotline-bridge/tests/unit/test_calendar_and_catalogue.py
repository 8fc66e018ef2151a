"""Deadlines: working days on the official calendar, and the catalogue's time limits."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from pydantic import ValidationError

from wangge.governance.times import CHINA
from wangge.hotline_bridge.domain.calendar import (
    add_working_days,
    is_working_day,
    official,
)
from wangge.hotline_bridge.domain.catalogue import DispatchCatalogue, TicketKind, TimeLimit


def test_public_holidays_are_off_and_swapped_weekend_days_are_worked() -> None:
    assert not is_working_day(date(2025, 10, 1))  # National Day
    assert is_working_day(date(2025, 9, 28))  # a Sunday worked for the National Day week
    assert not is_working_day(date(2026, 11, 28))  # an ordinary Saturday
    assert is_working_day(date(2026, 11, 27))


def test_working_days_skip_the_national_day_week() -> None:
    # received on Tuesday 30 September 2025: 1-8 October are off, Saturday 11 October is worked
    assert add_working_days(date(2025, 9, 30), 1) == date(2025, 10, 9)
    assert add_working_days(date(2025, 9, 30), 3) == date(2025, 10, 11)


def test_a_year_the_calendar_does_not_know_falls_back_to_monday_to_friday() -> None:
    assert not official(date(2099, 3, 2))
    assert is_working_day(date(2099, 3, 2))  # a Monday
    assert not is_working_day(date(2099, 3, 1))  # a Sunday
    assert official(date(2026, 3, 2))


def test_time_limits_run_from_receipt() -> None:
    received = datetime(2026, 11, 27, 9, 30, tzinfo=CHINA)  # a Friday
    same_day = TimeLimit(unit="same_day").deadline(received)
    assert same_day == datetime(2026, 11, 27, 23, 59, 59, tzinfo=CHINA)
    assert TimeLimit(unit="hours", amount=2).deadline(received) == datetime(
        2026, 11, 27, 11, 30, tzinfo=CHINA
    )
    three = TimeLimit(unit="working_days", amount=3).deadline(received)
    assert three == datetime(2026, 12, 2, 23, 59, 59, tzinfo=CHINA)


def test_a_receipt_late_in_the_evening_utc_counts_from_the_day_in_china() -> None:
    # 17:00 UTC on Friday is 01:00 on Saturday in China: the count starts from Saturday
    received = datetime.fromisoformat("2026-11-27T17:00:00+00:00")
    assert TimeLimit(unit="same_day").deadline(received).date() == date(2026, 11, 28)


def test_the_default_catalogue_files_complaints_enquiries_and_emergencies() -> None:
    catalogue = DispatchCatalogue.load()
    kinds = {c.kind for c in catalogue.categories}
    assert {TicketKind.EMERGENCY, TicketKind.COMPLAINT, TicketKind.ENQUIRY} <= kinds
    complaint = catalogue.get("0301")
    assert complaint is not None
    assert complaint.time_limit == TimeLimit(unit="working_days", amount=13)
    assert catalogue.get("9999") is None


def test_a_catalogue_with_a_code_twice_or_a_limit_without_amount_is_refused() -> None:
    entry = {"code": "01", "name": "x", "kind": "complaint",
             "time_limit": {"unit": "working_days", "amount": 3}}  # fmt: skip
    with pytest.raises(ValidationError, match="unique"):
        DispatchCatalogue.model_validate({"name": "c", "categories": [entry, entry]})
    with pytest.raises(ValidationError, match="at least 1"):
        TimeLimit(unit="hours")
