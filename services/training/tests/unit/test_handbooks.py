"""A handbook's editions, one after another, and the workers' acknowledgements of each."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from pydantic import ValidationError

from wangge.events import DomainEvent
from wangge.training.domain import handbooks
from wangge.training.domain.handbooks import Handbook, Section
from wangge.training.domain.sessions import InvalidTraining, WrongState

TODAY = date(2026, 11, 27)
SECTIONS = [Section(title="入户走访", summary="走访频次与记录要求"), Section(title="矛盾纠纷")]


def run(state: Handbook | None, events: list[DomainEvent]) -> Handbook:
    for event in events:
        state = handbooks.evolve(state, event, 0)
    assert state is not None
    return state


def publish(
    handbook: Handbook | None,
    edition: int,
    *,
    handbook_id: uuid.UUID | None = None,
    sections: list[Section] | None = None,
) -> list[DomainEvent]:
    if handbook_id is None:
        handbook_id = uuid.uuid4() if handbook is None else handbook.handbook_id
    return handbooks.publish(
        handbook, handbook_id=handbook_id, title="全科网格一本通", edition=edition,
        published_on=TODAY, sections=SECTIONS if sections is None else sections,
    )  # fmt: skip


def acknowledge(handbook: Handbook, worker_id: uuid.UUID, edition: int) -> list[DomainEvent]:
    return handbooks.acknowledge(
        handbook, edition=edition, worker_id=worker_id, acknowledged_on=TODAY
    )


def test_the_stream_is_named_by_the_handbook() -> None:
    handbook_id = uuid.uuid4()
    assert handbooks.stream_id(handbook_id) == f"handbook-{handbook_id}"


def test_a_handbook_starts_with_its_first_edition() -> None:
    [event] = publish(None, 1)
    assert isinstance(event, handbooks.HandbookEditionPublished)
    handbook = run(None, [event])
    assert handbook == Handbook(event.handbook_id, 1, frozenset())
    for edition in (0, 2):
        with pytest.raises(InvalidTraining) as refused:
            publish(None, edition)
        assert refused.value.field == "edition"
    with pytest.raises(ValueError, match="HandbookEditionPublished"):
        handbooks.evolve(
            None,
            handbooks.HandbookAcknowledged(
                handbook_id=uuid.uuid4(), edition=1, worker_id=uuid.uuid4(), acknowledged_on=TODAY
            ),
            1,
        )


def test_each_edition_follows_the_current_one() -> None:
    handbook = run(None, publish(None, 1))
    handbook = run(handbook, publish(handbook, 2))
    assert handbook.edition == 2
    for edition in (1, 2, 4):
        with pytest.raises(InvalidTraining) as refused:
            publish(handbook, edition)
        assert refused.value.field == "edition"
    with pytest.raises(InvalidTraining) as other:
        publish(handbook, 3, handbook_id=uuid.uuid4())
    assert other.value.field == "handbook_id"


def test_an_edition_has_one_to_two_hundred_sections_each_titled_once() -> None:
    assert publish(None, 1, sections=[Section(title=f"第{i}节") for i in range(200)])
    with pytest.raises(ValidationError):
        publish(None, 1, sections=[Section(title=f"第{i}节") for i in range(201)])
    with pytest.raises(ValidationError):
        publish(None, 1, sections=[])
    with pytest.raises(ValidationError):
        Section(title="")
    with pytest.raises(ValidationError):
        Section(title="t", summary="长" * 2001)
    with pytest.raises(InvalidTraining) as refused:
        publish(None, 1, sections=[Section(title="入户走访"), Section(title="入户走访")])
    assert refused.value.field == "sections"


def test_a_worker_acknowledges_the_current_edition_once() -> None:
    handbook = run(None, publish(None, 1))
    worker = uuid.uuid4()
    [event] = acknowledge(handbook, worker, 1)
    assert isinstance(event, handbooks.HandbookAcknowledged)
    assert (event.worker_id, event.edition) == (worker, 1)
    handbook = run(handbook, [event])
    assert handbook.acknowledged == {worker}
    assert acknowledge(handbook, worker, 1) == []
    assert acknowledge(handbook, uuid.uuid4(), 1)


def test_a_new_edition_asks_every_worker_again() -> None:
    handbook = run(None, publish(None, 1))
    worker = uuid.uuid4()
    handbook = run(handbook, acknowledge(handbook, worker, 1))
    handbook = run(handbook, publish(handbook, 2))
    assert handbook.acknowledged == frozenset()
    with pytest.raises(WrongState) as stale:
        acknowledge(handbook, worker, 1)
    assert stale.value.field == "edition"
    for edition in (0, 3):
        with pytest.raises(InvalidTraining) as unknown:
            acknowledge(handbook, worker, edition)
        assert unknown.value.field == "edition"
    handbook = run(handbook, acknowledge(handbook, worker, 2))
    assert handbook.acknowledged == {worker}


def test_an_acknowledgement_of_an_earlier_edition_is_not_folded_into_the_current_one() -> None:
    handbook = run(None, publish(None, 1))
    late = handbooks.HandbookAcknowledged(
        handbook_id=handbook.handbook_id, edition=1, worker_id=uuid.uuid4(), acknowledged_on=TODAY
    )
    handbook = run(handbook, [*publish(handbook, 2), late])
    assert handbook.acknowledged == frozenset()


def test_a_worker_owes_an_acknowledgement_until_the_current_edition_is_acknowledged() -> None:
    assert handbooks.owes(1, set())
    assert not handbooks.owes(1, {1})
    assert handbooks.owes(2, {1})
    assert not handbooks.owes(2, {1, 2})
    assert not handbooks.owes(0, set())
