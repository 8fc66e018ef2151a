"""A maker makes the instance the dataclass's own ``__init__`` makes, and refuses what it cannot."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from wangge.events import Checkpoint, Envelope, RecordedEvent
from wangge.events.envelope import new_event_id
from wangge.events.making import maker
from wangge.events.sources import SourcedEvent
from wangge.events.store import StoredEvent

from events_samples import Counted


def test_made_instances_equal_constructed_ones_and_stay_frozen() -> None:
    values = (
        new_event_id(), "/wangge/registry", "wangge.registry.HouseholdRegistered", "household-1",
        datetime(2026, 11, 27, 8, 30, tzinfo=UTC),
        "urn:wangge:schema:wangge.registry.HouseholdRegistered:1", 4, "worker-1", "c-1", None,
        None, "1.0", "application/json",
    )  # fmt: skip
    envelope = maker(Envelope)(*values)
    assert envelope == Envelope(*values)
    assert hash(envelope) == hash(Envelope(*values))
    with pytest.raises(dataclasses.FrozenInstanceError):
        envelope.subject = "household-2"  # type: ignore[misc]
    checkpoint = maker(Checkpoint)(3, 9)
    assert (checkpoint, hash(checkpoint)) == (Checkpoint(3, 9), hash(Checkpoint(3, 9)))
    assert checkpoint < Checkpoint(3, 10)
    recorded = maker(RecordedEvent)(envelope, Counted(n=2), checkpoint)
    assert recorded == RecordedEvent(envelope=envelope, data=Counted(n=2), checkpoint=checkpoint)
    stored = StoredEvent(envelope, 1, checkpoint, json_data=b"{}")
    sourced = maker(SourcedEvent)("topic/0", "9", stored, None)
    assert sourced == SourcedEvent("topic/0", "9", stored)


@dataclasses.dataclass(frozen=True)
class _Unslotted:
    n: int


@dataclasses.dataclass(frozen=True, slots=True)
class _Checked:
    n: int

    def __post_init__(self) -> None:
        if self.n < 0:
            raise ValueError("negative")


@dataclasses.dataclass(frozen=True, slots=True)
class _Derived:
    n: int
    twice: int = dataclasses.field(init=False, default=0)


@pytest.mark.parametrize("cls", [_Unslotted, _Checked, _Derived])
def test_classes_whose_init_does_more_than_set_their_fields_are_refused(cls: type) -> None:
    with pytest.raises(TypeError):
        maker(cls)
