"""One row per event: the envelope's columns, then the event's data as its type's plan writes it.

The data is upcast to the newest version (the catalogue's upcasters) and validated first, so
every row of a type has one shape whatever version recorded it. An event this reader cannot
read is still a row (a fact is a fact): a type no catalogue here knows has the envelope's columns
only, and data that does not validate has its data columns empty and ``event_fault`` saying
which fields were wrong (never their values: they may be personal).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa

from wangge.events.catalogue import Catalogue
from wangge.events.contract import event_schema
from wangge.events.errors import EventValidationError
from wangge.events.store import StoredEvent
from wangge.governance.hotline_figures import CST
from wangge.replay.plan import TIMESTAMP, Plan, compile_plan, identifiers_in_clear
from wangge.replay.policy import Policy

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


def month_of(time: datetime) -> str:
    """The month partition of an event: its time's month in China Standard Time, as the
    hotline's figures count months."""
    return time.astimezone(CST).strftime("%Y-%m")


class Rows:
    """Makes rows of events, compiling each type's plan the first time it is met."""

    def __init__(self, catalogue: Catalogue, policy: Policy, pseudonym: Callable[[str], str]):
        self.catalogue = catalogue
        self.policy = policy
        self.pseudonym = pseudonym
        self._layouts: dict[str, Layout] = {}

    def layout(self, event_type: str) -> Layout:
        """The columns of a type (envelope only for a type this catalogue does not know)."""
        found = self._layouts.get(event_type)
        if found is None:
            if event_type in self.catalogue:
                schema = event_schema(self.catalogue.entry(event_type), "#/$defs/{model}")
                plan = compile_plan(event_type, schema, self.policy, self.pseudonym)
            else:
                plan = Plan(event_type, ())
            data = [pa.field(c.name, c.type) for c in plan.columns]
            wire = [pa.field(c.name, c.wire) for c in plan.columns]
            found = Layout(plan, pa.schema([*ENVELOPE, *data]), pa.schema([*_ENVELOPE_WIRE, *wire]))
            self._layouts[event_type] = found
        return found

    def row(self, event: StoredEvent, partition: int, offset: int) -> list[object]:
        """An event's values, in its layout's column order."""
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
                fault = "; ".join(f"{e.field}: {e.message}" for e in error.errors)
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


def identifiers_in_clear_anywhere(catalogue: Catalogue, policy: Policy) -> list[str]:
    """Every ``type field`` whose identifiers the policy would write in clear, of every type the
    catalogue knows (the envelope's stream and actor are always pseudonymised)."""
    found = []
    for entry in catalogue:
        schema = event_schema(entry, "#/$defs/{model}")
        found += [f"{entry.type} {p}" for p in identifiers_in_clear(entry.type, schema, policy)]
    return found
