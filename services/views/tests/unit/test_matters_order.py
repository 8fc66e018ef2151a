"""A matter's steps in order: by the time each was recorded, a cause before its effect when
they were recorded at one instant, then by event id; the same rows always in the same order."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

from wangge.views.projections.matters import Step, actor_kind, in_order

T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)


def _step(
    at: datetime, *, stream: str = "ticket-1", version: int = 1, cause: Step | None = None
) -> Step:
    return Step(
        event_id=uuid.uuid4(), correlation_id="m", at=at, service="cases", type="X",
        stream_id=stream, version=version, actor_kind="system", ticket_id=None, case_id=None,
        need_id=None, grid_id=None, place_id=None,
        causation_id=str(cause.event_id) if cause is not None else None,
    )  # fmt: skip


def test_steps_go_by_the_time_they_were_recorded() -> None:
    late, early = _step(T0 + timedelta(seconds=5)), _step(T0)
    assert in_order([late, early]) == [early, late]


def test_a_cause_recorded_at_the_same_instant_goes_before_its_effect_whatever_the_ids() -> None:
    for _ in range(20):  # random ids: the effect's id is as often smaller as larger
        cause = _step(T0, stream="ticket-1")
        effect = _step(T0, stream="case-1", cause=cause)
        then = _step(T0, stream="case-2", cause=effect)
        assert in_order([then, effect, cause]) == [cause, effect, then]


def test_an_earlier_event_of_the_same_stream_goes_first_at_one_instant() -> None:
    for _ in range(20):
        received, routed = _step(T0, version=1), _step(T0, version=2)
        assert in_order([routed, received]) == [received, routed]


def test_unrelated_steps_at_one_instant_go_by_event_id() -> None:
    steps = [_step(T0, stream=f"s-{n}") for n in range(5)]
    assert in_order(steps) == sorted(steps, key=lambda s: s.event_id)


def test_the_order_does_not_depend_on_the_order_the_rows_came_in() -> None:
    cause = _step(T0)
    steps = [cause, _step(T0, stream="case-1", cause=cause), _step(T0 + timedelta(1)), _step(T0)]
    first = in_order(steps)
    for _ in range(10):
        shuffled = random.sample(steps, len(steps))
        assert in_order(shuffled) == first


def test_a_cycle_of_made_up_causes_still_orders_every_step() -> None:
    a, b = _step(T0, stream="a"), _step(T0, stream="b")
    a = a._replace(causation_id=str(b.event_id))
    b = b._replace(causation_id=str(a.event_id))
    assert in_order([a, b]) == sorted([a, b], key=lambda s: s.event_id)


def test_an_actor_is_kept_as_a_kind_never_as_who() -> None:
    assert actor_kind("system:cases") == "system"
    assert actor_kind("open311:city-app") == "open311"
    assert actor_kind("worker-zhang") == "person"
    assert actor_kind(None) is None
