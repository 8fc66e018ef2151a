"""The dashboard's figure rules: each the owning service's rule over the view's facts (the
hotline's figures and the care schedule themselves are tested with the governance kernel)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from wangge.governance.care_schedule import period_end, schedule
from wangge.views.domain import figures as f


def test_the_series_is_24_months_oldest_first_ending_with_the_as_of_month() -> None:
    months = f.months_ending(date(2026, 3, 15))
    assert len(months) == 24
    assert (months[0].label, months[-1].label) == ("2024-04", "2026-03")
    assert months[-1].day == date(2026, 3, 15)
    assert months[-2].day == date(2026, 2, 28)
    assert [m.first for m in months] == sorted(m.first for m in months)


def test_a_month_begins_and_ends_in_china_standard_time() -> None:
    (month,) = f.months_ending(date(2026, 3, 1), 1)
    assert month.start == datetime(2026, 2, 28, 16, tzinfo=UTC)
    assert month.end == datetime(2026, 3, 31, 16, tzinfo=UTC)


def test_a_care_period_unvisited_and_over_is_missed_and_the_current_one_is_only_due() -> None:
    plan = f.CarePlan(date(2026, 3, 2), 7, None, frozenset({date(2026, 4, 7), date(2026, 4, 20)}))
    (april,) = f.months_ending(date(2026, 4, 15), 1)
    care = f.care_in_month([plan], april)
    assert (care.plans, care.due, care.done, care.missed) == (1, 4, 1, 1)
    assert care.coverage_rate == 0.25
    (march,) = f.months_ending(date(2026, 3, 31), 1)
    assert f.care_in_month([plan], march).missed == 4


def test_the_last_period_cut_short_by_the_plans_end_is_neither_due_nor_missed() -> None:
    plan = f.CarePlan(date(2026, 3, 2), 7, date(2026, 3, 18), frozenset())
    (march,) = f.months_ending(date(2026, 3, 31), 1)
    care = f.care_in_month([plan], march)
    assert (care.plans, care.due, care.missed) == (0, 2, 2)


@given(
    st.dates(date(2024, 1, 1), date(2026, 12, 31)),
    st.integers(1, 60),
    st.one_of(st.none(), st.dates(date(2024, 1, 1), date(2027, 12, 31))),
    st.frozensets(st.dates(date(2024, 1, 1), date(2027, 12, 31)), max_size=12),
    st.dates(date(2024, 1, 1), date(2027, 12, 31)),
)
def test_a_past_months_missed_visits_are_those_the_cases_service_reports_ending_in_it(
    starts_on: date, every_days: int, ended_on: date | None, visits: frozenset[date], day: date
) -> None:
    if ended_on is not None and ended_on < starts_on:
        ended_on = None
    month = f.month_of(day, as_of=date.max)  # a past month: taken on its last day
    plan = f.CarePlan(starts_on, every_days, ended_on, visits)
    known = frozenset(v for v in visits if v <= month.last)
    after = schedule(starts_on, every_days, known, month.last + timedelta(days=1), ended_on)
    ending = [s for s in after.missed if month.first <= period_end(s, every_days) <= month.last]
    assert f.care_in_month([plan], month).missed == len(ending)


def test_an_open_case_is_banded_by_age_and_overdue_past_its_deadline() -> None:
    opened = datetime(2026, 3, 1, 2, tzinfo=UTC)
    reopened = f.CaseFacts(
        "hazard", opened, None,
        ((opened, opened + timedelta(days=2)), (opened + timedelta(days=20), None)),
    )  # fmt: skip
    late = f.CaseFacts("dispute", opened, opened + timedelta(days=5), ((opened, None),))
    done = f.CaseFacts("complaint", opened, None, ((opened, opened + timedelta(days=1)),))
    (march,) = f.months_ending(date(2026, 3, 31), 1)
    cases = f.cases_on([reopened, late, done], march)
    assert (cases.open, cases.overdue) == (2, 1)
    assert cases.by_kind == {"dispute": 1, "hazard": 1}
    assert cases.by_age == {"0-7": 0, "8-30": 2, "31-90": 0, "90+": 0}
    (early,) = f.months_ending(date(2026, 3, 4), 1)
    assert f.cases_on([reopened], early).open == 0


def test_a_grids_open_cases_are_listed_overdue_first_then_by_deadline_and_age() -> None:
    opened = datetime(2026, 3, 1, 2, tzinfo=UTC)
    (march,) = f.months_ending(date(2026, 3, 31), 1)

    def case(days_open: int, deadline_days: int | None, *, closed: bool = False) -> f.CaseFacts:
        start = opened + timedelta(days=days_open)
        deadline = opened + timedelta(days=deadline_days) if deadline_days is not None else None
        end = start + timedelta(hours=1) if closed else None
        return f.CaseFacts("dispute", start, deadline, ((start, end),), case_id=uuid.uuid4())

    later_overdue, overdue = case(3, 10), case(0, 12)
    due_soon, no_deadline, closed = case(1, 60), case(2, None), case(0, 5, closed=True)
    listed = f.open_cases([no_deadline, due_soon, overdue, closed, later_overdue], march)
    assert listed == [later_overdue, overdue, due_soon, no_deadline]
    assert len(listed) == f.cases_on([no_deadline, due_soon, overdue, closed], march).open + 1


def test_residents_are_counted_by_their_period_on_the_day() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    periods = [
        f.Period(a, date(2026, 1, 1), date(2026, 3, 10), "lodging"),
        f.Period(a, date(2026, 3, 10), None, "moved_out"),
        f.Period(b, date(2026, 2, 1), date(2026, 2, 1), "resident"),  # superseded that day
        f.Period(b, date(2026, 2, 1), None, "floating"),
    ]
    (march,) = f.months_ending(date(2026, 3, 31), 1)
    residents = f.residents_on(periods, march)
    assert (residents.floating, residents.resident, residents.lodging) == (1, 0, 0)
    assert (residents.moved_out, residents.moved_out_in_month) == (1, 1)
    (feb,) = f.months_ending(date(2026, 2, 28), 1)
    assert f.residents_on(periods, feb).living == 2


_STATUSES = st.sampled_from(["resident", "floating", "lodging", "moved_out", "deceased"])
_DAYS = st.dates(min_value=date(2023, 1, 1), max_value=date(2026, 12, 31))


@given(
    st.lists(st.tuples(st.integers(0, 5), _DAYS, st.none() | _DAYS, _STATUSES), max_size=40),
    _DAYS,
)
def test_the_series_of_residents_is_each_months_count_on_its_day(
    drawn: list[tuple[int, date, date | None, str]], as_of: date
) -> None:
    """One pass over the periods for all 24 months answers what asking each month does."""
    people = [uuid.UUID(int=n) for n in range(6)]
    periods = [
        f.Period(people[who], since, until if until is None or until >= since else since, status)
        for who, since, until, status in drawn
    ]
    window = f.months_ending(as_of)
    series = f.residents_by_month(periods, window)
    assert series == [(f.residents_on(periods, m), f.living_on(periods, m.day)) for m in window]


def test_an_expired_or_removed_tag_is_no_special_group() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    tags = [
        f.TagPeriod(a, "elderly_alone", date(2025, 1, 1), None, None),
        f.TagPeriod(b, "disabled", date(2025, 1, 1), date(2026, 2, 28), None),
        f.TagPeriod(a, "left_behind_child", date(2025, 1, 1), None, date(2026, 3, 1)),
    ]
    groups = f.special_groups(tags, {a, b}, date(2026, 3, 5))
    assert (groups.people, groups.by_tag) == (1, {"elderly_alone": 1})


def test_a_programme_is_complete_on_the_day_its_hours_and_pass_mark_are_reached() -> None:
    worker = uuid.uuid4()
    credits = (
        f.Credit("M1", date(2026, 3, 10), 2.0),
        f.Credit("M2", date(2026, 3, 12), 2.0, 50.0),
        f.Credit("M2", date(2026, 3, 20), 1.0, 80.0),
    )
    enrolment = f.Enrolment(
        worker, (f.Module("M1", 2.0), f.Module("M2", 3.0, 60.0)), True, None,
        date(2026, 3, 1), None, credits,
    )  # fmt: skip
    assert f.completed_on(enrolment, until=date(2026, 3, 19)) is None
    assert f.completed_on(enrolment, until=date(2026, 3, 31)) == date(2026, 3, 20)
    training = f.training_on(
        [worker], [enrolment], [(worker, c) for c in credits], date(2026, 3, 15)
    )
    assert (training.enrolments, training.completed, training.hours_this_year) == (1, 0, 4.0)


def test_a_hazard_is_open_from_its_registration_until_resolved() -> None:
    hazards = [
        f.HazardFacts(date(2026, 3, 1), None, "high"),
        f.HazardFacts(date(2026, 3, 1), date(2026, 3, 10), None),
    ]
    assert f.hazards_on(hazards, date(2026, 3, 5)).by_risk == {"high": 1, "unknown": 1}
    assert f.hazards_on(hazards, date(2026, 3, 10)).open == 1
    assert f.hazards_on(hazards, date(2026, 2, 28)).open == 0
