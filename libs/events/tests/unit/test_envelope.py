"""The CloudEvents envelope survives Kafka's binary mode and JSON, and checkpoints order."""

from __future__ import annotations

from datetime import UTC, datetime

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
