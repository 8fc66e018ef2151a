"""Grid workers' appointments and visits as pure decisions."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from wangge.registry.domain import visits, workers
from wangge.registry.domain.visits import InvalidVisit, Need, NeedCategory, NeedNoted
from wangge.registry.domain.workers import InvalidAppointment

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def _worker() -> workers.GridWorker:
    grid = uuid.uuid4()
    (event,) = workers.appoint(
        worker_id=uuid.uuid4(), account="w", name="刘", work_phone=None, grid_ids=[grid],
        on=date(2026, 1, 1),
    )  # fmt: skip
    return workers.evolve(None, event, 1)


def test_a_worker_is_appointed_to_each_grid_once() -> None:
    grid = uuid.uuid4()
    with pytest.raises(InvalidAppointment):
        workers.appoint(
            worker_id=uuid.uuid4(), account="w", name="刘", work_phone=None,
            grid_ids=[grid, grid], on=date(2026, 1, 1),
        )  # fmt: skip


def test_reassigning_to_the_same_grids_changes_nothing_and_a_leaver_is_not_reassigned() -> None:
    worker = _worker()
    assert workers.reassign(worker, grid_ids=list(worker.grid_ids), on=date(2026, 2, 1)) == []
    (left,) = workers.leave(worker, on=date(2026, 3, 1), reason="退休")
    worker = workers.evolve(worker, left, 2)
    with pytest.raises(InvalidAppointment):
        workers.reassign(worker, grid_ids=[uuid.uuid4()], on=date(2026, 4, 1))
    assert workers.leave(worker, on=date(2026, 4, 1), reason="x") == []


def _visit(**overrides: object) -> list[object]:
    arguments: dict[str, object] = {
        "visit_id": uuid.uuid4(), "worker_account": "w", "dwelling_id": uuid.uuid4(),
        "household_id": None, "visited_at": NOW - timedelta(hours=1), "now": NOW,
        "documents_checked": [], "persons_confirmed": [], "persons_added": [],
        "persons_corrected": [], "note": None, "needs": [],
    }  # fmt: skip
    arguments.update(overrides)
    return list(visits.record(**arguments))  # type: ignore[arg-type]


def test_each_need_is_an_event_of_its_own() -> None:
    events = _visit(
        needs=[Need(NeedCategory.MEDICAL, "量血压"), Need(NeedCategory.HOUSING, "漏水")]
    )
    assert [type(e).__name__ for e in events] == ["VisitRecorded", "NeedNoted", "NeedNoted"]
    assert len({e.need_id for e in events if isinstance(e, NeedNoted)}) == 2


def test_a_visit_is_not_in_the_future_and_names_each_person_once() -> None:
    with pytest.raises(InvalidVisit) as future:
        _visit(visited_at=NOW + timedelta(minutes=5))
    assert future.value.field == "visited_at"
    someone = uuid.uuid4()
    with pytest.raises(InvalidVisit):
        _visit(persons_confirmed=[someone], persons_corrected=[someone])


def test_a_need_belongs_to_someone_of_the_visited_household() -> None:
    member, outsider = uuid.uuid4(), uuid.uuid4()
    assert _visit(
        household_members=frozenset({member}),
        needs=[Need(NeedCategory.MEDICAL, "x", person_id=member)],
    )
    with pytest.raises(InvalidVisit) as refused:
        _visit(
            household_members=frozenset({member}),
            needs=[Need(NeedCategory.MEDICAL, "x", person_id=outsider)],
        )
    assert refused.value.field == "needs/0/person_id"
