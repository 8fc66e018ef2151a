"""The care plan's visit schedule: what is due and what was missed (the cases service's inbox,
and the views' dashboard, feeds and resident picture, count by it)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from wangge.governance.care_schedule import Period, Schedule, periods, schedule

MONDAY = date(2026, 3, 2)


def test_a_weekly_plan_knows_what_is_due_and_what_was_missed() -> None:
    start = date(2026, 11, 1)
    visits = frozenset({date(2026, 11, 9)})
    result = schedule(start, 7, visits, date(2026, 11, 27), None)
    assert result.missed == (date(2026, 11, 1), date(2026, 11, 15))
    assert result.due_on == date(2026, 11, 28)
    done = schedule(start, 7, visits | {date(2026, 11, 23)}, date(2026, 11, 27), None)
    assert done.due_on is None


def test_a_weekly_plan_without_visits_misses_every_week_that_ended() -> None:
    result = schedule(MONDAY, 7, frozenset(), date(2026, 3, 23), None)
    assert result.missed == (date(2026, 3, 2), date(2026, 3, 9), date(2026, 3, 16))
    assert result.due_on == date(2026, 3, 29)


def test_a_visit_anywhere_in_a_period_counts_for_it_and_the_running_period_is_not_missed() -> None:
    visits = frozenset({date(2026, 3, 14)})
    assert schedule(MONDAY, 7, visits, date(2026, 3, 20), None).missed == (MONDAY,)


def test_the_period_cut_short_by_the_end_is_neither_due_nor_missed() -> None:
    result = schedule(MONDAY, 7, frozenset(), date(2026, 4, 30), date(2026, 3, 12))
    assert result == Schedule(None, (MONDAY,))


def test_care_visits_due_and_missed_by_period() -> None:
    start = date(2026, 1, 1)
    visits = frozenset({date(2026, 1, 3)})
    # periods Jan 1-7 (visited), Jan 8-14 (missed), Jan 15-21 (running: due by the 21st)
    result = schedule(start, 7, visits, date(2026, 1, 20), None)
    assert result == Schedule(date(2026, 1, 21), (date(2026, 1, 8),))
    visited = schedule(start, 7, visits | {date(2026, 1, 16)}, date(2026, 1, 20), None)
    assert visited.due_on is None
    # the period an ended plan stopped in is neither due nor missed
    ended = schedule(start, 7, visits, date(2026, 1, 20), date(2026, 1, 12))
    assert ended == Schedule(None, ())


def test_a_plan_ended_mid_period_owes_nothing_for_it() -> None:
    result = schedule(
        date(2026, 11, 1), 7, frozenset(), date(2026, 11, 27), ended_on=date(2026, 11, 10)
    )
    assert (result.missed, result.due_on) == ((date(2026, 11, 1),), None)


def test_a_period_is_missed_only_once_it_is_over() -> None:
    week = Period(MONDAY, MONDAY + timedelta(days=6))
    assert not week.missed(frozenset(), today=week.end)
    assert week.missed(frozenset(), today=week.end + timedelta(days=1))
    assert not week.missed({week.end}, today=week.end + timedelta(days=1))


@given(
    st.dates(date(2025, 1, 1), date(2027, 12, 31)),
    st.integers(1, 40),
    st.one_of(st.none(), st.dates(date(2025, 1, 1), date(2028, 12, 31))),
    st.dates(date(2024, 6, 1), date(2028, 12, 31)),
    st.integers(0, 200),
)
def test_periods_from_a_day_on_are_those_of_the_whole_plan_ending_since_then(
    starts_on: date, every_days: int, ended_on: date | None, since: date, length: int
) -> None:
    until = since + timedelta(days=length)
    whole = periods(starts_on, every_days, ended_on, until=until)
    expected = [p for p in whole if p.end >= since]
    assert list(periods(starts_on, every_days, ended_on, until=until, since=since)) == expected
