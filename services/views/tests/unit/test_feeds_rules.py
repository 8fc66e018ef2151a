"""The feeds' rules: a care visit missed (the cases service's rule), and the opaque cursor."""

from __future__ import annotations

from datetime import date

import pytest

from wangge.views.domain.feeds import (
    BadCursor,
    Cursor,
    CursorExpired,
    decode_cursor,
    missed_periods,
)

MONDAY = date(2026, 3, 2)


def test_a_weekly_plan_without_visits_misses_every_week_that_ended() -> None:
    missed = missed_periods(MONDAY, 7, frozenset(), date(2026, 3, 23), None)
    assert missed == [date(2026, 3, 2), date(2026, 3, 9), date(2026, 3, 16)]


def test_a_visit_anywhere_in_a_period_counts_for_it_and_the_running_period_is_not_missed() -> None:
    visits = frozenset({date(2026, 3, 14)})
    assert missed_periods(MONDAY, 7, visits, date(2026, 3, 20), None) == [MONDAY]


def test_the_period_cut_short_by_the_end_is_neither_due_nor_missed() -> None:
    missed = missed_periods(MONDAY, 7, frozenset(), date(2026, 4, 30), date(2026, 3, 12))
    assert missed == [MONDAY]


def test_a_cursor_reads_back_in_its_generation() -> None:
    text = Cursor(3, 41).encode()
    assert "." not in text and "3" not in text
    assert decode_cursor(text, generation=3) == 41


def test_a_cursor_of_a_rebuilt_generation_is_gone() -> None:
    with pytest.raises(CursorExpired) as raised:
        decode_cursor(Cursor(2, 41).encode(), generation=3)
    assert (raised.value.status, raised.value.field) == (410, "query/after")


@pytest.mark.parametrize("garbage", ["", "abc", "!!!", Cursor(3, 1).encode() + "x", "MC4x"])
def test_garbage_is_no_cursor(garbage: str) -> None:
    with pytest.raises(BadCursor) as raised:
        decode_cursor(garbage, generation=3)
    assert (raised.value.status, raised.value.field) == (422, "query/after")
