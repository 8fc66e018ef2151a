"""A programme's completion, derived from the sessions attended and the scores given."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from wangge.training.domain import programmes
from wangge.training.domain.programmes import Credit, Module
from wangge.training.domain.sessions import InvalidTraining, WrongState

ENROLLED = date(2026, 3, 1)
LAW = Module(code="law", title="法律法规", hours=4)
EXAM = Module(code="mediation", title="矛盾调解", hours=2, pass_score=60)


def day(n: int) -> date:
    return ENROLLED + timedelta(days=n)


def test_a_module_is_complete_on_the_day_its_hours_are_reached() -> None:
    made = programmes.progress(
        [LAW], ordered=False, period_days=None, enrolled_on=ENROLLED,
        credits=[Credit("law", day(5), 2), Credit("law", day(9), 1.5), Credit("law", day(20), 2)],
    )  # fmt: skip
    [law] = made.modules
    assert (law.hours_done, law.completed_on, made.completed_on) == (5.5, day(20), day(20))
    assert made.missing == ()


def test_an_examined_module_needs_a_score_at_its_pass_mark() -> None:
    failed = programmes.progress(
        [EXAM], ordered=False, period_days=None, enrolled_on=ENROLLED,
        credits=[Credit("mediation", day(3), 2, 55.0)],
    )  # fmt: skip
    assert failed.completed_on is None and [m.code for m in failed.missing] == ["mediation"]
    passed = programmes.progress(
        [EXAM], ordered=False, period_days=None, enrolled_on=ENROLLED,
        credits=[Credit("mediation", day(3), 2, 55.0), Credit("mediation", day(8), 0.5, 70.0)],
    )  # fmt: skip
    assert passed.completed_on == day(8)


def test_sessions_before_enrolment_or_after_the_period_do_not_count() -> None:
    made = programmes.progress(
        [LAW], ordered=False, period_days=30, enrolled_on=ENROLLED,
        credits=[Credit("law", day(-1), 4), Credit("law", day(30), 4), Credit("law", day(29), 2)],
    )  # fmt: skip
    assert (made.modules[0].hours_done, made.completed_on) == (2, None)


def test_in_an_ordered_programme_a_module_counts_from_the_day_the_one_before_was_done() -> None:
    credits = [
        Credit("mediation", day(1), 2, 90.0),  # before law was complete: does not count
        Credit("law", day(2), 4),
        Credit("mediation", day(6), 2, 75.0),
    ]
    ordered = programmes.progress(
        [LAW, EXAM], ordered=True, period_days=None, enrolled_on=ENROLLED, credits=credits
    )
    assert [m.completed_on for m in ordered.modules] == [day(2), day(6)]
    assert ordered.modules[1].hours_done == 2
    loose = programmes.progress(
        [LAW, EXAM], ordered=False, period_days=None, enrolled_on=ENROLLED, credits=credits
    )
    assert [m.completed_on for m in loose.modules] == [day(2), day(1)]


def test_a_programme_has_distinct_module_codes_and_enrols_a_worker_once() -> None:
    with pytest.raises(InvalidTraining) as refused:
        programmes.define(
            programme_id=uuid.uuid4(), name="n", description="", modules=[LAW, LAW],
            ordered=False, period_days=None,
        )  # fmt: skip
    assert refused.value.field == "modules"
    [defined] = programmes.define(
        programme_id=uuid.uuid4(), name="6+1+3", description="", modules=[LAW, EXAM],
        ordered=True, period_days=365,
    )  # fmt: skip
    programme = programmes.evolve(None, defined, 1)
    worker = uuid.uuid4()
    [enrolled] = programmes.enrol(programme, worker_id=worker, on=ENROLLED)
    programme = programmes.evolve(programme, enrolled, 2)
    with pytest.raises(WrongState):
        programmes.enrol(programme, worker_id=worker, on=ENROLLED)
    [left] = programmes.leave(programme, worker_id=worker, on=day(3), reason="调任")
    assert worker not in programmes.evolve(programme, left, 3).enrolled
