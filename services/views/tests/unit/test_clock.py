"""The views' clock, pure: which days a run closes, and what a closed day judges of a care plan
(the kernel's rule less the grace)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from wangge.views.domain.clock import LOOKBACK_DAYS, days_to_close, stream_id
from wangge.views.domain.feeds import (
    GRACE_DAYS,
    judged_on,
    missed_at_close,
    next_judged,
    settled_at_close,
)

YESTERDAY = date(2026, 3, 24)
START = date(2026, 3, 2)  # a weekly plan: periods 3/2-3/8, 3/9-3/15, 3/16-3/22, 3/23-3/29


def test_a_fresh_deployment_closes_only_yesterday() -> None:
    assert days_to_close(last_closed=None, yesterday=YESTERDAY) == [YESTERDAY]


def test_the_days_since_the_last_closed_one_are_closed_oldest_first() -> None:
    assert days_to_close(last_closed=date(2026, 3, 21), yesterday=YESTERDAY) == [
        date(2026, 3, 22), date(2026, 3, 23), YESTERDAY,
    ]  # fmt: skip


def test_nothing_is_closed_again_once_yesterday_is() -> None:
    assert days_to_close(last_closed=YESTERDAY, yesterday=YESTERDAY) == []


def test_a_day_has_a_stream_of_its_own() -> None:
    assert stream_id(YESTERDAY) == "day-2026-03-24"
    assert LOOKBACK_DAYS >= 7


def test_a_closed_day_judges_as_of_the_day_after_it_less_the_grace() -> None:
    assert GRACE_DAYS == 2
    assert judged_on(date(2026, 3, 10)) == date(2026, 3, 9)


@pytest.mark.parametrize(
    ("closed", "missed"),
    [
        (date(2026, 3, 8), []),  # the first period's last day
        (date(2026, 3, 9), []),  # a day of grace
        (date(2026, 3, 10), [START]),  # two days of grace are over
        (date(2026, 3, 24), [START, date(2026, 3, 9), date(2026, 3, 16)]),
    ],
)
def test_a_period_without_a_visit_is_missed_two_days_after_its_last(
    closed: date, missed: list[date]
) -> None:
    assert missed_at_close(START, 7, frozenset(), closed, None) == missed


def test_a_visit_anywhere_in_a_period_counts_for_it() -> None:
    visits = frozenset({date(2026, 3, 15)})
    assert missed_at_close(START, 7, visits, date(2026, 3, 24), None) == [
        START, date(2026, 3, 16),
    ]  # fmt: skip


def test_an_ended_plan_misses_no_period_its_end_cut_short_and_none_after() -> None:
    ended = date(2026, 3, 12)
    assert missed_at_close(START, 7, frozenset(), date(2026, 4, 30), ended) == [START]
    assert not settled_at_close(ended, date(2026, 3, 12))
    assert settled_at_close(ended, date(2026, 3, 13))
    assert not settled_at_close(None, date(2026, 4, 30))


@pytest.mark.parametrize(
    ("closed", "next_end"),
    [
        (date(2026, 3, 1), date(2026, 3, 8)),  # before the plan: its first period
        (date(2026, 3, 9), date(2026, 3, 8)),  # judged as of 3/8: the first is not over yet
        (date(2026, 3, 10), date(2026, 3, 15)),
        (date(2026, 3, 16), date(2026, 3, 15)),
        (date(2026, 3, 17), date(2026, 3, 22)),
    ],
)
def test_a_close_looks_at_a_plan_again_once_its_next_period_can_be_judged(
    closed: date, next_end: date
) -> None:
    assert next_judged(START, 7, closed) == next_end
    assert next_end >= judged_on(closed)
    assert next_end - timedelta(days=7) < judged_on(closed) or next_end == date(2026, 3, 8)
