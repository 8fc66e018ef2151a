"""One row per event: the envelope's columns, then the event's data as its type's plan writes it.

The data is upcast to the newest version (the catalogue's upcasters) and validated first, so
every row of a type has one shape whatever version recorded it. An event this reader cannot
read is still a row (a fact is a fact): a type no catalogue here knows has the envelope's columns
only, and data that does not validate has its data columns empty and ``event_fault`` saying
which fields were wrong (never their values: they may be personal).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pyarrow as pa

from wangge.events.catalogue import Catalogue, dataschema_for
from wangge.events.contract import event_schema
from wangge.events.envelope import Checkpoint, Envelope
from wangge.events.errors import EventValidationError
from wangge.events.store import StoredEvent
from wangge.governance.hotline_figures import CST
from wangge.replay.plan import TIMESTAMP, Plan, compile_plan, identifiers_in_clear
from wangge.replay.policy import Policy
from wangge.replay.vector import VectorPlan, compile_vector, mapped

ENVELOPE: tuple[pa.Field[Any], ...] = (
    pa.field("event_id", pa.string()),
    pa.field("event_subject", pa.string()),
    pa.field("event_time", TIMESTAMP),
    pa.field("event_sequence", pa.int64()),
    pa.field("event_schema_version", pa.int64()),
    pa.field("event_correlation_id", pa.string()),
    pa.field("event_causation_id", pa.string()),
    pa.field("event_actor", pa.string()),
    pa.field("event_partition", pa.int32()),
    pa.field("event_offset", pa.int64()),
    pa.field("event_fault", pa.string()),
)
"""The envelope's columns, prefixed so that no data field (a training subject's ``subject``)
meets one of them. The stream id and the actor are pseudonymised: a stream is often a person."""
_ENVELOPE_WIRE: tuple[pa.Field[Any], ...] = tuple(
    pa.field(f.name, pa.string()) if f.type == TIMESTAMP else f for f in ENVELOPE
)


@dataclass(frozen=True)
class Layout:
    """The written columns of one event type: their types and the types they are built in."""

    plan: Plan
    schema: pa.Schema
    wire: pa.Schema
    vector: VectorPlan | None
    """the fast way to its data columns (None: row by row)"""


Text = str | bytes
"""An envelope attribute as read: a Kafka header's bytes are decoded a column at a time."""


def _str(value: Text) -> str:
    return value if isinstance(value, str) else value.decode(errors="replace")


def _opt(value: Text | None) -> str | None:
    return None if value is None else _str(value)


def texts(values: Sequence[Text | None]) -> Any:
    """A column of envelope text (bytes as read, or text), as Arrow text; bytes that are not
    UTF-8 (a producer's bug) are decoded with replacement characters rather than refused."""
    try:
        return pa.array(values, pa.binary()).cast(pa.string())
    except pa.ArrowInvalid:
        return pa.array([_opt(v) for v in values], pa.string())


@dataclass(slots=True)
class Record:
    """One event as gathered for its chunk: its envelope's columns as read (a Kafka message's
    headers are not parsed into an envelope on the fast way), its data's JSON, and the event
    itself for the slow way (made only when asked)."""

    type: str
    month: str
    id: Text
    subject: Text
    time: str | datetime
    sequence: int
    version: int
    actor: Text | None
    correlation: Text | None
    causation: Text | None
    data: bytes
    partition: int
    offset: int
    event: StoredEvent | None = None
    """the event itself when it was read as one (an event table, an unreadable message)"""

    def stored(self) -> StoredEvent:
        """The event, for the slow way: made from the record when it was read as text (a
        record keeps no message: a chunk holds tens of thousands)."""
        if self.event is not None:
            return self.event
        time = self.time if isinstance(self.time, datetime) else _utc(self.time)
        envelope = Envelope(
            UUID(_str(self.id)), f"/wangge/{self.type.split('.')[1]}", self.type,
            _str(self.subject), time, dataschema_for(self.type, self.version), self.sequence,
            _opt(self.actor), _opt(self.correlation), _opt(self.causation),
        )  # fmt: skip
        return StoredEvent(envelope, self.version, Checkpoint(0, self.offset), json_data=self.data)


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def record_of(event: StoredEvent, partition: int, offset: int) -> Record:
    """The record of an event read from an event table (its envelope already made)."""
    e = event.envelope
    return Record(
        e.type, month_of(e.time), str(e.id), e.subject, e.time, e.sequence,
        event.schema_version, e.actor, e.correlationid, e.causationid, event.json_data(),
        partition, offset, event,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Envelopes:
    """A group's envelope attributes and data, a column each, as read (text or bytes)."""

    ids: Sequence[Text]
    subjects: Sequence[Text]
    times: Any
    """text (Kafka's headers, as an Arrow text array) or times (a table)"""
    sequences: Sequence[int]
    versions: list[int]
    actors: Sequence[Text | None]
    correlations: Sequence[Text | None]
    causations: Sequence[Text | None]
    data: Sequence[bytes]
    partitions: Sequence[int]
    offsets: Sequence[int]


class Group:
    """Events of one type and month, in the order they were read: their columns at once, and
    each one's record for the slow way."""

    def __len__(self) -> int:
        raise NotImplementedError

    def envelopes(self) -> Envelopes:
        """The group's columns."""
        raise NotImplementedError

    def record(self, index: int) -> Record:
        """One event's record."""
        raise NotImplementedError


class Records(Group):
    """A group of records, each made as its event was read (an event table's)."""

    def __init__(self, records: Sequence[Record]) -> None:
        self.records = records

    def __len__(self) -> int:
        return len(self.records)

    def record(self, index: int) -> Record:
        return self.records[index]

    def envelopes(self) -> Envelopes:
        records = self.records
        return Envelopes(
            [r.id for r in records], [r.subject for r in records], [r.time for r in records],
            [r.sequence for r in records], [r.version for r in records],
            [r.actor for r in records], [r.correlation for r in records],
            [r.causation for r in records], [r.data for r in records],
            [r.partition for r in records], [r.offset for r in records],
        )  # fmt: skip


Gathered = Group | Sequence[Record]
"""Events of one type, in the order they were read."""


def fault_of(error: EventValidationError) -> str:
    """Which fields of an event were wrong and how (never their values: they may be personal)."""
    return "; ".join(f"{e.field}: {e.message}" for e in error.errors)


def month_of(time: datetime | str) -> str:
    """The month partition of an event: its time's month in China Standard Time, as the
    hotline's figures count months. A time as the relay writes it (RFC 3339 in UTC, ``Z``) is
    read from its text, by its hour: a month begins in CST at 16:00 UTC on the day before."""
    if isinstance(time, str):
        if len(time) >= 20 and time[-1] == "Z" and time[13] == ":":
            return month_of_hour(time[:13])
        time = datetime.fromisoformat(time)
    return time.astimezone(CST).strftime("%Y-%m")


@functools.lru_cache(maxsize=4096)
def month_of_hour(hour: str) -> str:
    """``2026-11-30T17`` (UTC) -> ``2026-12``: asked once per hour of events."""
    return datetime.fromisoformat(f"{hour}:00+00:00").astimezone(CST).strftime("%Y-%m")


class Rows:
    """Makes rows of events, compiling each type's plan the first time it is met."""

    def __init__(self, catalogue: Catalogue, policy: Policy, pseudonym: Callable[[str], str]):
        self.catalogue = catalogue
        self.policy = policy
        self.pseudonym = pseudonym
        self._layouts: dict[str, Layout] = {}
        self._hash_each = mapped(pseudonym, pa.string())

    def layout(self, event_type: str) -> Layout:
        """The columns of a type (envelope only for a type this catalogue does not know)."""
        found = self._layouts.get(event_type)
        if found is None:
            vector = None
            if event_type in self.catalogue:
                schema = event_schema(self.catalogue.entry(event_type), "#/$defs/{model}")
                plan = compile_plan(event_type, schema, self.policy, self.pseudonym)
                vector = compile_vector(event_type, schema, self.policy, self.pseudonym)
            else:
                plan = Plan(event_type, ())
            data = [pa.field(c.name, c.type) for c in plan.columns]
            wire = [pa.field(c.name, c.wire) for c in plan.columns]
            found = Layout(
                plan, pa.schema([*ENVELOPE, *data]), pa.schema([*_ENVELOPE_WIRE, *wire]), vector
            )
            self._layouts[event_type] = found
        return found

    def row(self, record: Record) -> list[object]:
        """An event's values, in its layout's column order (the slow way)."""
        event = record.stored()
        partition, offset = record.partition, record.offset
        envelope = event.envelope
        layout = self.layout(envelope.type)
        plan = layout.plan
        fault = None
        data: list[object]
        version = event.schema_version
        if not plan.columns and envelope.type not in self.catalogue:
            data = []
        else:
            try:
                decoded = event.decode(self.catalogue)
                version = self.catalogue.entry(envelope.type).version
                data = plan.row(decoded.data.model_dump(mode="json"))
            except EventValidationError as error:
                fault = fault_of(error)
                data = [None] * len(plan.columns)
            except ValueError as error:  # data that is not a JSON object
                fault = f"data: {type(error).__name__}"
                data = [None] * len(plan.columns)
        pseudonym = self.pseudonym
        return [
            str(envelope.id),
            pseudonym(envelope.subject),
            envelope.time.isoformat(),
            envelope.sequence,
            version,
            envelope.correlationid,
            envelope.causationid,
            None if envelope.actor is None else pseudonym(envelope.actor),
            partition,
            offset,
            fault,
            *data,
        ]

    def table(self, event_type: str, gathered: Gathered) -> pa.Table:
        """The rows of events of one type, as an Arrow table of its layout."""
        group = gathered if isinstance(gathered, Group) else Records(gathered)
        layout = self.layout(event_type)
        if layout.vector is None:
            return table_of([self.row(group.record(i)) for i in range(len(group))], layout)
        vector = layout.vector
        current = self.catalogue.entry(event_type).version
        columns = group.envelopes()
        count = len(group)
        faults: list[str | None] = [None] * count
        versions = [current] * count  # upcast: what does not validate keeps its own
        check = self._validated
        lines: Sequence[bytes]
        if columns.versions.count(current) == count:
            lines = columns.data
        else:
            lines = [
                line if version == current else check(group.record(i), i, faults, versions)
                for i, (line, version) in enumerate(
                    zip(columns.data, columns.versions, strict=True)
                )
            ]
        try:
            data = vector.arrays(vector.parse(lines), lines)
        except pa.ArrowInvalid:  # a value not of its field's type: each row validated
            lines = [check(group.record(i), i, faults, versions) for i in range(count)]
            data = vector.arrays(vector.parse(lines), lines)
        return pa.Table.from_arrays(
            [*self._envelopes(columns, versions, faults), *data], schema=layout.schema
        )

    def _validated(
        self, record: Record, index: int, faults: list[str | None], versions: list[int]
    ) -> bytes:
        """An event's data validated (and upcast) by its model, as JSON; ``{}`` and its fault
        when it does not validate."""
        event = record.stored()
        try:
            decoded = event.decode(self.catalogue)
        except EventValidationError as error:
            faults[index] = fault_of(error)
        except ValueError as error:  # data that is not a JSON object
            faults[index] = f"data: {type(error).__name__}"
        else:
            faults[index] = None
            return decoded.data.model_dump_json().encode()
        versions[index] = record.version
        return b"{}"

    def _envelopes(
        self, columns: Envelopes, versions: list[int], faults: list[str | None]
    ) -> list[Any]:
        times: Any = columns.times
        if not isinstance(times, pa.Array):
            times = pa.array(times)  # text (Kafka) or times (a table)
        return [
            texts(columns.ids),
            self._hash_each(texts(columns.subjects)),
            times if times.type == TIMESTAMP else times.cast(TIMESTAMP),
            pa.array(columns.sequences, pa.int64()),
            pa.array(versions, pa.int64()),
            texts(columns.correlations),
            texts(columns.causations),
            self._hash_each(texts(columns.actors)),
            pa.array(columns.partitions, pa.int32()),
            pa.array(columns.offsets, pa.int64()),
            pa.array(faults, pa.string()),
        ]


def table_of(rows: Sequence[list[object]], layout: Layout) -> pa.Table:
    """Rows as an Arrow table of the layout's types (dates and times cast a column at a time)."""
    arrays = []
    for index, (wire, field) in enumerate(zip(layout.wire, layout.schema, strict=True)):
        values = pa.array([row[index] for row in rows], type=wire.type)
        arrays.append(values if wire.type == field.type else values.cast(field.type))
    return pa.Table.from_arrays(arrays, schema=layout.schema)


def identifiers_in_clear_anywhere(catalogue: Catalogue, policy: Policy) -> list[str]:
    """Every ``type field`` whose identifiers the policy would write in clear, of every type the
    catalogue knows (the envelope's stream and actor are always pseudonymised)."""
    found = []
    for entry in catalogue:
        schema = event_schema(entry, "#/$defs/{model}")
        found += [f"{entry.type} {p}" for p in identifiers_in_clear(entry.type, schema, policy)]
    return found
