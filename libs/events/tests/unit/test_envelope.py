"""The CloudEvents envelope survives Kafka's binary mode and JSON, and checkpoints order."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from wangge.events import Checkpoint, Envelope, RecordedEvent
from wangge.events.contract import REQUIRED_HEADERS
from wangge.events.envelope import decode_data, encode_data, new_event_id

from events_samples import Counted


def _envelope(**extra: str) -> Envelope:
    return Envelope(
        id=new_event_id(),
        source="/wangge/registry",
        type="wangge.registry.HouseholdRegistered",
        subject="household-1",
        time=datetime(2026, 11, 27, 8, 30, tzinfo=UTC),
        dataschema="urn:wangge:schema:wangge.registry.HouseholdRegistered:1",
        sequence=4,
        **extra,
    )


def test_binary_mode_headers_round_trip() -> None:
    envelope = _envelope(actor="worker-1", traceparent="00-" + "a" * 32 + "-" + "b" * 16 + "-01")
    headers = envelope.kafka_headers()
    names = {name for name, _ in headers}
    assert names == {*REQUIRED_HEADERS, "ce_actor", "ce_traceparent"}
    assert Envelope.from_kafka_headers(headers) == envelope


def test_headers_read_as_the_attributes_they_carry() -> None:
    """The one-pass reading of the headers leaves what the attributes' own reading leaves."""
    envelope = _envelope(actor="worker-1", correlationid="c-1", causationid="e-1")
    headers = envelope.kafka_headers()
    by_attribute = {
        (name[3:] if name.startswith("ce_") else "datacontenttype"): value.decode()
        for name, value in headers
    }
    assert Envelope.from_kafka_headers(headers) == Envelope.from_attributes(by_attribute)
    # a time at another offset is kept in UTC; optional attributes left out are None
    shifted = [
        (name, b"2026-11-27T16:30:00+08:00" if name == "ce_time" else value)
        for name, value in _envelope().kafka_headers()
        if name not in ("ce_specversion", "content-type")
    ]
    read = Envelope.from_kafka_headers(shifted)
    assert read.time == datetime(2026, 11, 27, 8, 30, tzinfo=UTC)
    assert read.time.tzinfo is UTC
    assert (read.actor, read.correlationid, read.traceparent) == (None, None, None)
    assert (read.specversion, read.datacontenttype) == ("1.0", "application/json")


@pytest.mark.parametrize(
    ("header", "value", "error"),
    [
        ("ce_id", None, KeyError),
        ("ce_source", None, KeyError),
        ("ce_type", None, KeyError),
        ("ce_subject", None, KeyError),
        ("ce_time", None, KeyError),
        ("ce_dataschema", None, KeyError),
        ("ce_sequence", None, KeyError),
        ("ce_id", b"not-a-uuid", ValueError),
        ("ce_time", b"yesterday", ValueError),
        ("ce_sequence", b"four", ValueError),
        ("ce_subject", b"household-\xff", UnicodeDecodeError),
        ("ce_actor", b"\xfe", UnicodeDecodeError),
    ],
)
def test_headers_an_event_cannot_be_read_from_are_refused(
    header: str, value: bytes | None, error: type[Exception]
) -> None:
    """What a reader parks as an unreadable message (``KafkaSource`` catches these three)."""
    headers = [(n, v) for n, v in _envelope(actor="worker-1").kafka_headers() if n != header]
    if value is not None:
        headers.append((header, value))
    with pytest.raises(error):
        Envelope.from_kafka_headers(headers)


def test_structured_json_has_attributes_and_data() -> None:
    event = RecordedEvent(envelope=_envelope(), data=Counted(n=3))
    body = event.to_json()
    assert body["specversion"] == "1.0"
    assert body["time"] == "2026-11-27T08:30:00Z"
    assert body["sequence"] == "4"
    assert body["data"] == {"n": 3}
    assert "actor" not in body


def test_the_codec_keeps_chinese_text_readable() -> None:
    raw = encode_data({"name": "张三", "n": 1})
    assert "张三".encode() in raw
    assert decode_data(raw) == {"name": "张三", "n": 1}


def test_checkpoints_order_by_transaction_then_position() -> None:
    assert Checkpoint(5, 100) < Checkpoint(6, 1) < Checkpoint(6, 2)
    assert Checkpoint.parse(str(Checkpoint(7, 9))) == Checkpoint(7, 9)
