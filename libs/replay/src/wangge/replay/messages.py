"""Kafka messages as events: one at a time (:func:`stored_event`, :func:`record_of_message`),
or a chunk of them gathered by where their headers are and read a column at a time.

The relay writes an event's CloudEvents headers in one order, so a chunk's messages mostly share
one list of header names: a message whose names are those of the message before it is placed
by position, without a dict of its headers (on a subdistrict's year, making each message's
record was a sixth of a lone worker's time). Whatever cannot be read that way (a header
missing, a time not in the relay's form, a sequence that is not a number) has the whole chunk
gathered again record by record, which is the one way that decides what such a message is.
"""

from __future__ import annotations

import operator
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from wangge.events.catalogue import version_from_dataschema
from wangge.events.envelope import Checkpoint, Envelope
from wangge.events.store import StoredEvent
from wangge.replay.chunks import RecordChunk
from wangge.replay.native import compiled
from wangge.replay.rows import (
    Envelopes,
    Group,
    Record,
    Rows,
    month_of,
    month_of_hour,
)
from wangge.replay.rows import record_of as _record_of_stored

UNREADABLE = "_unreadable"
"""The type partition of messages that are not events of ours as they stand."""
_NAME = operator.itemgetter(0)
_OFFSET = operator.attrgetter("offset")
_REQUIRED = ("ce_type", "ce_time", "ce_id", "ce_subject", "ce_sequence", "ce_dataschema")
_OPTIONAL = ("ce_actor", "ce_correlationid", "ce_causationid")


def stored_event(message: Any) -> StoredEvent:
    """A message as an event; one that is not an event of ours as it stands (a producer's bug,
    a message from elsewhere) stands in as an event of type ``_unreadable``, timed by Kafka."""
    headers = message.headers or ()
    try:
        envelope = Envelope.from_kafka_headers(headers)
        version = version_from_dataschema(envelope.dataschema)
    except (KeyError, ValueError, UnicodeDecodeError, AttributeError, TypeError):
        key = f"{message.topic}/{message.partition}@{message.offset}"
        envelope = Envelope(
            id=uuid.uuid5(uuid.NAMESPACE_URL, f"kafka:{key}"),
            source="unknown",
            type=UNREADABLE,
            subject=(message.key or b"").decode(errors="replace") or key,
            time=datetime.fromtimestamp(message.timestamp / 1000, UTC),
            dataschema="",
            sequence=0,
        )
        return StoredEvent(envelope, 0, Checkpoint(0, message.offset), json_data=b"{}")
    return StoredEvent(
        envelope, version, Checkpoint(0, message.offset), json_data=message.value or b"{}"
    )


def record_of_message(message: Any) -> Record:
    """A message's record, read straight from its headers: only the type and the time are
    decoded here (the rest a column at a time), and no envelope is made. One that is not an
    event of ours as it stands goes through :func:`stored_event`, which says so."""
    found = dict(message.headers or ())
    try:
        event_type, moment = found["ce_type"].decode(), found["ce_time"].decode()
        record = Record(
            event_type, month_of(moment), found["ce_id"], found["ce_subject"], moment,
            int(found["ce_sequence"]), version_from_dataschema(found["ce_dataschema"].decode()),
            found.get("ce_actor"), found.get("ce_correlationid"), found.get("ce_causationid"),
            message.value or b"{}", message.partition, message.offset,
        )  # fmt: skip
    except (KeyError, ValueError, UnicodeDecodeError, IndexError, AttributeError, TypeError):
        event = stored_event(message)
        return _record_of_stored(event, message.partition, message.offset)
    return record


@dataclass(frozen=True, slots=True)
class Places:
    """Where each header is in one list of header names (the last of a name, as a dict of
    them has it); None for an optional one that is not there."""

    type: int
    time: int
    id: int
    subject: int
    sequence: int
    dataschema: int
    actor: int | None
    correlation: int | None
    causation: int | None

    @staticmethod
    def of(names: tuple[str, ...]) -> Places | None:
        """The places in ``names``; None when a header every event has is missing."""
        where = {name: at for at, name in enumerate(names)}
        if any(name not in where for name in _REQUIRED):
            return None
        return Places(*(where[n] for n in _REQUIRED), *(where.get(n) for n in _OPTIONAL))


Placed = tuple[Any, ...]
"""A message as gathered: (id, subject, time, sequence, version, actor, correlation, causation,
data, offset), its header values as read (bytes) but the sequence's and version's numbers."""


class Messages(Group):
    """Messages of one type and month, as placed by their headers' places."""

    def __init__(self, event_type: str, month: str, partition: int, placed: list[Placed]):
        self.event_type = event_type
        self.month = month
        self.partition = partition
        self.placed = placed

    def __len__(self) -> int:
        return len(self.placed)

    def record(self, index: int) -> Record:
        """The record :func:`record_of_message` makes of the message (it was read as one)."""
        i, subject, time, sequence, version, actor, correlation, causation, data, offset = (
            self.placed[index]
        )
        return Record(
            self.event_type, self.month, i, subject, time.decode(), sequence, version, actor,
            correlation, causation, data, self.partition, offset,
        )  # fmt: skip

    def envelopes(self) -> Envelopes:
        (
            ids,
            subjects,
            times,
            sequences,
            versions,
            actors,
            correlations,
            causations,
            data,
            offsets,
        ) = zip(*self.placed, strict=True)
        return Envelopes(
            ids, subjects, pa.array(times, pa.binary()).cast(pa.string()), sequences,
            list(versions), actors, correlations, causations, data,
            [self.partition] * len(offsets), offsets,
        )  # fmt: skip


class MessageChunk:
    """A chunk of Kafka messages, grouped by type and month as placed by their headers."""

    def __init__(self) -> None:
        self.groups: dict[tuple[str, str], list[Placed]] = {}
        self.unsorted: list[Any] = []
        """messages not placed (the chunk is then gathered record by record)"""
        self.partition = -1
        self._names: tuple[str, ...] | None = None
        self._places: Places | None = None
        self._slots: dict[tuple[bytes, bytes], list[Placed]] = {}
        self._versions: dict[bytes, int] = {}

    def __bool__(self) -> bool:
        return bool(self.groups) or bool(self.unsorted)

    def add(self, items: Sequence[Any]) -> None:
        native = compiled()
        if native is not None:
            native.place(
                items, self._slots, self._versions, self.unsorted, self._group, self._version
            )
            if items:
                self.partition = items[-1].partition
            return
        names, places, slots, versions = self._names, self._places, self._slots, self._versions
        for message in items:
            try:
                headers = message.headers
                current = tuple(map(_NAME, headers))
                if current != names:
                    names, places = current, Places.of(current)
                if places is None:
                    self.unsorted.append(message)
                    continue
                time = headers[places.time][1]
                # the relay's RFC 3339 in UTC ("…T17:04:05.123456Z"): its month is its hour's
                if len(time) < 20 or time[-1] != 90 or time[13] != 58:  # 'Z', ':'
                    self.unsorted.append(message)
                    continue
                key = (headers[places.type][1], time[:13])
                group = slots.get(key)
                if group is None:
                    group = slots[key] = self._group(key)
                schema = headers[places.dataschema][1]
                version = versions.get(schema)
                if version is None:
                    version = versions[schema] = version_from_dataschema(schema.decode())
                actor, correlation, causation = places.actor, places.correlation, places.causation
                group.append((
                    headers[places.id][1], headers[places.subject][1], time,
                    int(headers[places.sequence][1]), version,
                    None if actor is None else headers[actor][1],
                    None if correlation is None else headers[correlation][1],
                    None if causation is None else headers[causation][1],
                    message.value or b"{}", message.offset,
                ))  # fmt: skip
            except (TypeError, AttributeError, ValueError, UnicodeDecodeError, IndexError):
                self.unsorted.append(message)  # a header without a value, not text, ...
            self.partition = message.partition
        self._names, self._places = names, places

    def _group(self, key: tuple[bytes, bytes]) -> list[Placed]:
        event_type, month = key[0].decode(), month_of_hour(key[1].decode())
        return self.groups.setdefault((event_type, month), [])

    @staticmethod
    def _version(schema: bytes) -> int:
        return version_from_dataschema(schema.decode())

    def tables(self, rows: Rows) -> dict[tuple[str, str], pa.Table]:
        if not self.unsorted:
            return {
                (event_type, month): rows.table(
                    event_type, Messages(event_type, month, self.partition, placed)
                )
                for (event_type, month), placed in self.groups.items()
            }
        records = [record_of_message(m) for m in self.unsorted]
        for (event_type, month), placed in self.groups.items():
            group = Messages(event_type, month, self.partition, placed)
            records += [group.record(i) for i in range(len(group))]
        records.sort(key=_OFFSET)
        chunk = RecordChunk()
        chunk.add(records)
        return chunk.tables(rows)
