"""The CloudEvents 1.0 envelope of every recorded event, and its Kafka binary-mode encoding.

On Kafka (binary content mode) the attributes travel as ``ce_*`` headers, the event data as JSON in
the value and the stream id as the key, so a stream always lands on one partition, in order.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic
from uuid import UUID

import uuid_utils.compat
from typing_extensions import TypeVar

from wangge.events.making import maker
from wangge.events.model import DomainEvent

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"


def new_event_id() -> UUID:
    """A UUIDv7: time-ordered, so event ids index well and sort roughly by creation."""
    return uuid_utils.compat.uuid7()


@dataclass(frozen=True, slots=True)
class Metadata:
    """Who and what caused a command's events; copied into each event's envelope."""

    actor: str | None = None
    correlation_id: str | None = None
    causation_id: str | None = None
    traceparent: str | None = None


@dataclass(frozen=True, slots=True, order=True)
class Checkpoint:
    """A reader's place in the log of one store: (transaction id, position).

    On PostgreSQL events are read in commit order, by (transaction id, position); SQLite has one
    writer at a time, so its transaction id is always 0 and the position alone orders the log.
    """

    transaction_id: int = 0
    position: int = 0

    def __str__(self) -> str:
        return f"{self.transaction_id}:{self.position}"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """The inverse of ``str(checkpoint)``."""
        tx, _, pos = text.partition(":")
        return cls(int(tx), int(pos))


START = Checkpoint()
"""Before the first event of any log."""


@dataclass(frozen=True, slots=True)
class Envelope:
    """CloudEvents 1.0 context attributes plus Wangge's extensions."""

    id: UUID
    source: str
    type: str
    subject: str
    time: datetime
    dataschema: str
    sequence: int
    actor: str | None = None
    correlationid: str | None = None
    causationid: str | None = None
    traceparent: str | None = None
    specversion: str = SPECVERSION
    datacontenttype: str = CONTENT_TYPE

    def attributes(self) -> dict[str, str]:
        """Every attribute that is set, as CloudEvents strings."""
        attrs = {
            "specversion": self.specversion,
            "id": str(self.id),
            "source": self.source,
            "type": self.type,
            "subject": self.subject,
            "time": self.time.isoformat().replace("+00:00", "Z"),
            "dataschema": self.dataschema,
            "datacontenttype": self.datacontenttype,
            "sequence": str(self.sequence),
        }
        for name in ("actor", "correlationid", "causationid", "traceparent"):
            value = getattr(self, name)
            if value is not None:
                attrs[name] = value
        return attrs

    @classmethod
    def from_attributes(cls, attrs: Mapping[str, str]) -> Envelope:
        """The inverse of :meth:`attributes`; a missing required attribute is a ``KeyError``."""
        return cls(
            id=UUID(attrs["id"]),
            source=attrs["source"],
            type=attrs["type"],
            subject=attrs["subject"],
            time=datetime.fromisoformat(attrs["time"].replace("Z", "+00:00")).astimezone(UTC),
            dataschema=attrs["dataschema"],
            sequence=int(attrs["sequence"]),
            actor=attrs.get("actor"),
            correlationid=attrs.get("correlationid"),
            causationid=attrs.get("causationid"),
            traceparent=attrs.get("traceparent"),
            specversion=attrs.get("specversion", SPECVERSION),
            datacontenttype=attrs.get("datacontenttype", CONTENT_TYPE),
        )

    def kafka_headers(self) -> list[tuple[str, bytes]]:
        """Binary content mode: ``ce_<attr>`` headers, and ``content-type`` for the data's type."""
        return kafka_headers(
            _type_headers(
                self.specversion, self.source, self.type, self.dataschema, self.datacontenttype
            ),
            str(self.id), self.subject, self.time, self.sequence,
            self.actor, self.correlationid, self.causationid, self.traceparent,
        )  # fmt: skip

    @classmethod
    def from_kafka_headers(cls, headers: Sequence[tuple[str, bytes]]) -> Envelope:
        """The inverse of :meth:`kafka_headers`; a missing required header is a ``KeyError``,
        a value that is not UTF-8 or not of its attribute's form a ``ValueError`` (a reader
        parks such a message rather than apply it).

        Every record a projection applies from Kafka comes through here: the headers are taken
        once into a dict and each attribute read straight from it, with no mapping of names
        in between (that walk and :meth:`from_attributes` were a fifth of a views rebuild).
        """
        found = dict(headers)
        content_type = found.get("content-type")
        if content_type is None:
            content_type = found.get("ce_datacontenttype")
        specversion = found.get("ce_specversion")
        actor = found.get("ce_actor")
        correlationid = found.get("ce_correlationid")
        causationid = found.get("ce_causationid")
        traceparent = found.get("ce_traceparent")
        make = _make_envelope if cls is Envelope else cls
        return make(
            UUID(found["ce_id"].decode()),
            found["ce_source"].decode(),
            found["ce_type"].decode(),
            found["ce_subject"].decode(),
            _utc(found["ce_time"].decode()),
            found["ce_dataschema"].decode(),
            int(found["ce_sequence"].decode()),
            None if actor is None else actor.decode(),
            None if correlationid is None else correlationid.decode(),
            None if causationid is None else causationid.decode(),
            None if traceparent is None else traceparent.decode(),
            SPECVERSION if specversion is None else specversion.decode(),
            CONTENT_TYPE if content_type is None else content_type.decode(),
        )


_make_envelope = maker(Envelope)


def _utc(text: str) -> datetime:
    # ``fromisoformat`` reads a trailing Z since Python 3.11; a time recorded in UTC is kept as
    # parsed, any other offset (or none: local time) converted as ``from_attributes`` does
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo is UTC else parsed.astimezone(UTC)


E = TypeVar("E", bound=DomainEvent, covariant=True, default=DomainEvent)


@dataclass(frozen=True, slots=True)
class RecordedEvent(Generic[E]):
    """An event as read back: its envelope, its data at the current schema version, its place.

    ``RecordedEvent[GridDrawn]`` is one whose data is a ``GridDrawn``: a projection's handler
    of that type says so in its signature, so it needs no ``isinstance`` to read the fields.
    """

    envelope: Envelope
    data: E
    checkpoint: Checkpoint = field(default=START)

    @property
    def stream_id(self) -> str:
        """The stream the event belongs to (the envelope's ``subject``)."""
        return self.envelope.subject

    @property
    def version(self) -> int:
        """The event's version within its stream (the envelope's ``sequence``)."""
        return self.envelope.sequence

    def to_json(self) -> dict[str, Any]:
        """CloudEvents structured mode (JSON format): attributes and ``data`` in one object."""
        out: dict[str, Any] = dict(self.envelope.attributes())
        out["data"] = self.data.model_dump(mode="json")
        return out


def kafka_headers(
    type_headers: Sequence[tuple[str, bytes]],
    id_: str,
    subject: str,
    time: datetime,
    sequence: int,
    actor: str | None,
    correlationid: str | None,
    causationid: str | None,
    traceparent: str | None,
) -> list[tuple[str, bytes]]:
    """An event's Kafka headers from its attributes (``type_headers``: its type's, from
    :func:`type_headers`): :meth:`Envelope.kafka_headers`, and the relay's straight from a row."""
    headers = list(type_headers)
    headers += [
        ("ce_id", id_.encode()),
        ("ce_subject", subject.encode()),
        ("ce_time", time.isoformat().replace("+00:00", "Z").encode()),
        ("ce_sequence", str(sequence).encode()),
    ]
    if actor is not None:
        headers.append(("ce_actor", actor.encode()))
    if correlationid is not None:
        headers.append(("ce_correlationid", correlationid.encode()))
    if causationid is not None:
        headers.append(("ce_causationid", causationid.encode()))
    if traceparent is not None:
        headers.append(("ce_traceparent", traceparent.encode()))
    return headers


def type_headers(source: str, type_: str, dataschema: str) -> tuple[tuple[str, bytes], ...]:
    """The headers every event of one type and version from one source shares, encoded once."""
    return _type_headers(SPECVERSION, source, type_, dataschema, CONTENT_TYPE)


@functools.lru_cache(maxsize=4096)
def _type_headers(
    specversion: str, source: str, type_: str, dataschema: str, content_type: str
) -> tuple[tuple[str, bytes], ...]:
    # the same for every event of a type: encoded once, not once per event the relay sends
    return (
        ("ce_specversion", specversion.encode()),
        ("ce_source", source.encode()),
        ("ce_type", type_.encode()),
        ("ce_dataschema", dataschema.encode()),
        ("content-type", content_type.encode()),
    )


def encode_data(data: Mapping[str, Any]) -> bytes:
    """The JSON codec for event data: compact UTF-8, keys in model order.

    Only what this process encodes is compact: the relay publishes the JSON text PostgreSQL keeps
    (``jsonb``, which orders keys its own way), so readers must parse, never compare bytes.
    """
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def decode_data(raw: bytes) -> dict[str, Any]:
    """The inverse of :func:`encode_data`."""
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise ValueError("event data must be a JSON object")
    return value
