"""A secondment's period, its extension, its closing evaluation and its cancellation."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from pydantic import ValidationError

from wangge.events import DomainEvent
from wangge.training.domain import secondments
from wangge.training.domain.secondments import HostKind, Rating, Secondment
from wangge.training.domain.sessions import InvalidTraining, WrongState

STARTS = date(2026, 3, 2)
ENDS = date(2026, 5, 29)
GOALS = ["独立受理社保业务", "熟悉居住证办理流程", "掌握群众诉求登记"]


def run(state: Secondment | None, events: list[DomainEvent]) -> Secondment:
    assert events
    for event in events:
        state = secondments.evolve(state, event, 0)
    assert state is not None
    return state


def arrange(
    starts_on: date = STARTS, ends_on: date = ENDS, goals: list[str] | None = None
) -> list[DomainEvent]:
    return secondments.arrange(
        secondment_id=uuid.uuid4(), worker_id=uuid.uuid4(), host_kind=HostKind.SERVICE_HALL,
        host="便民服务大厅", starts_on=starts_on, ends_on=ends_on, mentor="李芳",
        goals=GOALS if goals is None else goals,
    )  # fmt: skip


def arranged() -> Secondment:
    return run(None, arrange())


def evaluate(
    secondment: Secondment,
    *,
    goals_met: list[bool] | None = None,
    evaluated_on: date = ENDS,
    today: date = ENDS,
    summary: str = "能独立办理常见业务",
) -> list[DomainEvent]:
    return secondments.evaluate(
        secondment, evaluated_on=evaluated_on, rating=Rating.GOOD,
        goals_met=[True, True, False] if goals_met is None else goals_met, summary=summary,
        by="mentor-li", today=today,
    )  # fmt: skip


def closed_to_every_change(secondment: Secondment) -> None:
    """Evaluated or cancelled, the secondment is closed: no evaluation, extension or
    cancellation any more."""
    assert secondment.closed
    changes: list[Callable[[], list[DomainEvent]]] = [
        lambda: evaluate(secondment),
        lambda: secondments.extend(secondment, ends_on=ENDS + timedelta(days=9), reason="r"),
        lambda: secondments.cancel(secondment, reason="again"),
    ]
    for change in changes:
        with pytest.raises(WrongState) as refused:
            change()
        assert refused.value.field == "secondment_id"


def test_the_stream_is_named_by_the_secondment() -> None:
    secondment_id = uuid.uuid4()
    assert secondments.stream_id(secondment_id) == f"secondment-{secondment_id}"


def test_an_arranged_secondment_is_folded_into_its_state() -> None:
    [event] = arrange()
    assert isinstance(event, secondments.SecondmentArranged)
    assert event.host_kind == "service_hall"
    secondment = run(None, [event])
    assert secondment.secondment_id == event.secondment_id
    assert secondment.worker_id == event.worker_id
    assert (secondment.starts_on, secondment.ends_on) == (STARTS, ENDS)
    assert secondment.goals == tuple(GOALS)
    assert not secondment.closed


def test_a_secondment_starts_with_its_arrangement() -> None:
    with pytest.raises(ValueError, match="SecondmentArranged"):
        secondments.evolve(
            None, secondments.SecondmentCancelled(secondment_id=uuid.uuid4(), reason="r"), 1
        )


def test_a_secondment_of_one_day_is_accepted_but_one_ending_before_it_starts_is_not() -> None:
    assert arrange(ends_on=STARTS)
    with pytest.raises(InvalidTraining) as refused:
        arrange(ends_on=STARTS - timedelta(days=1))
    assert refused.value.field == "ends_on"


def test_a_period_is_at_most_366_days_both_ends_counted() -> None:
    assert arrange(ends_on=STARTS + timedelta(days=365))
    with pytest.raises(InvalidTraining) as refused:
        arrange(ends_on=STARTS + timedelta(days=366))
    assert refused.value.field == "ends_on"
    assert secondments.period_days(STARTS, STARTS) == 1


def test_goals_are_one_to_twenty_distinct_and_said_in_words() -> None:
    assert arrange(goals=[f"目标{i}" for i in range(20)])
    with pytest.raises(ValidationError):
        arrange(goals=[f"目标{i}" for i in range(21)])
    with pytest.raises(ValidationError):
        arrange(goals=[])
    with pytest.raises(ValidationError):
        arrange(goals=["长" * 301])
    for goals in (["学习", "学习"], ["学习", "  "]):
        with pytest.raises(InvalidTraining) as refused:
            arrange(goals=goals)
        assert refused.value.field == "goals"


def test_an_extension_moves_the_last_day_later_only() -> None:
    secondment = arranged()
    later = ENDS + timedelta(days=30)
    secondment = run(secondment, secondments.extend(secondment, ends_on=later, reason="业务旺季"))
    assert secondment.ends_on == later
    for ends_on in (later, later - timedelta(days=1)):
        with pytest.raises(InvalidTraining) as refused:
            secondments.extend(secondment, ends_on=ends_on, reason="r")
        assert refused.value.field == "ends_on"


def test_an_extension_keeps_the_period_within_366_days() -> None:
    secondment = arranged()
    assert secondments.extend(secondment, ends_on=STARTS + timedelta(days=365), reason="r")
    with pytest.raises(InvalidTraining) as refused:
        secondments.extend(secondment, ends_on=STARTS + timedelta(days=366), reason="r")
    assert refused.value.field == "ends_on"


def test_the_evaluation_closes_the_secondment() -> None:
    secondment = arranged()
    [event] = evaluate(secondment)
    assert isinstance(event, secondments.SecondmentEvaluated)
    assert event.goals_met == [True, True, False]
    assert event.rating == "good"
    secondment = run(secondment, [event])
    assert secondment.evaluated
    closed_to_every_change(secondment)


def test_an_evaluation_is_given_once_the_secondment_started_and_may_come_early() -> None:
    secondment = arranged()
    assert evaluate(secondment, evaluated_on=STARTS, today=STARTS)
    with pytest.raises(WrongState) as refused:
        evaluate(
            secondment, evaluated_on=STARTS - timedelta(days=1), today=STARTS - timedelta(days=1)
        )
    assert refused.value.field == "secondment_id"
    with pytest.raises(InvalidTraining) as early:
        evaluate(secondment, evaluated_on=STARTS - timedelta(days=1), today=ENDS)
    assert early.value.field == "evaluated_on"
    with pytest.raises(InvalidTraining) as ahead:
        evaluate(secondment, evaluated_on=ENDS + timedelta(days=1), today=ENDS)
    assert ahead.value.field == "evaluated_on"


def test_an_evaluation_says_for_each_goal_whether_it_was_met() -> None:
    secondment = arranged()
    for goals_met in ([True, True], [True, True, False, True]):
        with pytest.raises(InvalidTraining) as refused:
            evaluate(secondment, goals_met=goals_met)
        assert refused.value.field == "goals_met"
    with pytest.raises(InvalidTraining) as blank:
        evaluate(secondment, summary="   ")
    assert blank.value.field == "summary"


def test_a_secondment_is_cancelled_any_time_before_its_evaluation() -> None:
    secondment = arranged()
    secondment = run(
        secondment, secondments.extend(secondment, ends_on=ENDS + timedelta(days=1), reason="r")
    )
    [event] = secondments.cancel(secondment, reason="网格人手紧张")
    assert isinstance(event, secondments.SecondmentCancelled)
    secondment = run(secondment, [event])
    assert secondment.cancelled
    closed_to_every_change(secondment)
