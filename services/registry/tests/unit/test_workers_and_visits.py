"""Grid workers' appointments and visits as pure decisions."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from wangge.events.sealing import KeyRing
from wangge.registry.domain import visits, workers
from wangge.registry.domain.free_text import opened_text
from wangge.registry.domain.visits import (
    InvalidVisit,
    Need,
    NeedCategory,
    NeedNoted,
    VisitRecorded,
)
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


VISIT = uuid.uuid4()
KEY = KeyRing.generate()


def _visit(**overrides: object) -> list[object]:
    arguments: dict[str, object] = {
        "visit_id": VISIT, "worker_account": "w", "dwelling_id": uuid.uuid4(),
        "household_id": None, "visited_at": NOW - timedelta(hours=1), "now": NOW,
        "documents_checked": [], "persons_confirmed": [], "persons_added": [],
        "persons_corrected": [], "note": None, "needs": [], "seal": KeyRing.sealer(KEY, VISIT),
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


def test_a_note_and_a_need_are_sealed_under_the_visit_key_with_redacted_copies_in_clear() -> None:
    note = "王阿姨独居, 儿子电话 +86 139-0000-1111, 车牌苏A12345"
    visit, need = _visit(
        note=note, needs=[Need(NeedCategory.ELDERLY_CARE, "每周量血压, 找13812345678")]
    )
    assert isinstance(visit, VisitRecorded) and isinstance(need, NeedNoted)
    assert visit.note == "王阿姨独居, 儿子电话 139****1111, 车牌苏A·****5"
    assert need.description == "每周量血压, 找138****5678"
    assert visit.note_sealed is not None and need.description_sealed is not None
    assert visit.note_sealed.key == need.description_sealed.key == str(VISIT)
    assert opened_text(KeyRing.unseal(KEY, visit.note_sealed)) == note
    assert opened_text(KeyRing.unseal(KEY, need.description_sealed)) == "每周量血压, 找13812345678"
    clear = visit.model_dump_json() + need.model_dump_json()
    assert "00001111" not in clear and "12345678" not in clear


def test_free_text_is_not_recorded_without_a_key_and_a_copy_fits_its_field() -> None:
    with pytest.raises(ValueError, match="sealed under its key"):
        _visit(note="x", seal=None)
    assert _visit(seal=None), "a visit without free text needs no key"
    # a masked plate gains a separator: the copy is cut to the field's length
    (visit,) = _visit(note="苏A12345" * 280)  # 1,960 characters, as the API allows
    assert isinstance(visit, VisitRecorded) and visit.note is not None
    assert len(visit.note) == 2000


def test_a_leaving_reason_keeps_only_its_redacted_copy() -> None:
    (left,) = workers.leave(_worker(), on=date(2026, 3, 1), reason="调岗, 新号 13812345678")
    assert isinstance(left, workers.GridWorkerLeft)
    assert left.reason == "调岗, 新号 138****5678"
