"""A matter's correlation id: what an append records when its caller named none."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from wangge.events import Metadata, RecordedEvent
from wangge.events.command import correlated
from wangge.events.envelope import Envelope, new_event_id

from events_samples import Counted


def _first(correlationid: str | None) -> RecordedEvent:
    envelope = Envelope(
        id=new_event_id(), source="/wangge/sample", type="wangge.sample.Counted",
        subject="counter-1", time=datetime(2025, 3, 1, tzinfo=UTC), dataschema="x",
        sequence=1, correlationid=correlationid,
    )  # fmt: skip
    return RecordedEvent(envelope=envelope, data=Counted(n=1))


def test_a_correlation_id_the_caller_named_stands() -> None:
    metadata = Metadata(actor="worker-1", correlation_id="from-header")
    assert correlated(metadata, [_first("ticket-matter")]) is metadata
    assert correlated(metadata, starts=True) is metadata


def test_a_step_on_a_stream_carries_the_correlation_id_its_first_event_carries() -> None:
    carried = correlated(Metadata(actor="worker-1"), [_first("ticket-matter"), _first("other")])
    assert carried == Metadata(actor="worker-1", correlation_id="ticket-matter")


def test_a_stream_recorded_without_one_is_the_matter_of_its_first_event() -> None:
    first = _first(None)
    carried = correlated(Metadata(actor="worker-1"), [first])
    assert carried.correlation_id == str(first.envelope.id)


def test_a_new_stream_starts_a_matter_of_its_own() -> None:
    one = correlated(Metadata(actor="worker-1"), starts=True).correlation_id
    other = correlated(Metadata(actor="worker-1"), starts=True).correlation_id
    assert one is not None and other is not None and one != other
    assert uuid.UUID(one).version == 7


def test_an_append_to_a_stream_nobody_loaded_names_no_matter() -> None:
    assert correlated(Metadata(actor="worker-1")).correlation_id is None
