"""Taking a ticket in, whichever door it came through (the hotline's push, Open311)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events import DomainEvent, Metadata, RecordedEvent
from wangge.events.command import UnitOfWork, load, unit_on
from wangge.events.db import read_only
from wangge.events.errors import ConcurrencyConflict
from wangge.events.projection import ApplyContext, active_tables
from wangge.events.retry import when_overtaken
from wangge.events.rows import rows_of
from wangge.events.sealing import KeyRing
from wangge.events.store import NO_STREAM
from wangge.hotline_bridge.config import HotlineSettings
from wangge.hotline_bridge.domain import tickets
from wangge.hotline_bridge.domain.catalogue import DispatchCatalogue
from wangge.hotline_bridge.domain.routing import Match, Unroutable
from wangge.hotline_bridge.projections.grid_map import GridMap
from wangge.hotline_bridge.projections.tickets import Tickets, neighbours
from wangge.hotline_bridge.routing import find_grid
from wangge.service.app import ServiceState

V = TypeVar("V")
View = Callable[[AsyncConnection, uuid.UUID, Mapping[str, Any] | None], Awaitable[V]]
"""What the caller answers with, given the ticket's id and, when this call recorded it, its row
in the tickets read model as its events make it (reckoned in memory: no read back of what the
intake has just written); a ticket taken in before is read in a reader's transaction."""


async def take_in(
    state: ServiceState,
    intake: tickets.Intake,
    *,
    keyring: KeyRing,
    catalogue: DispatchCatalogue,
    metadata: Metadata,
    settings: HotlineSettings,
    view: View[V],
) -> tuple[V, bool]:
    """Record a ticket once: its ``view``, and whether this call recorded it (False: taken in
    before).

    A ticket number seen before answers with the first ticket when the intake is the same, and
    is a :class:`~tickets.TicketNumberReused` otherwise; two identical intakes racing record one.
    A new ticket is routed to its grid (or held for triage, or returned) in the same
    transaction, so no ticket is ever taken in and left unrouted. It is linked to an open one it
    repeats, and may raise a repeated-complaints notice
    (read in the same transaction; two repeats arriving in the same instant may both miss each
    other, which the next ticket at the address makes good).
    """
    # the hotspot's stream may be extended by a younger intake after this one took its
    # transaction id: the whole intake then runs again in a new transaction
    return await when_overtaken(
        lambda: _once(state, intake, keyring, catalogue, metadata, settings, view)
    )


async def _once(
    state: ServiceState,
    intake: tickets.Intake,
    keyring: KeyRing,
    catalogue: DispatchCatalogue,
    metadata: Metadata,
    settings: HotlineSettings,
    view: View[V],
) -> tuple[V, bool]:
    ticket_id = tickets.ticket_id(intake.ticket_number)
    stream = tickets.stream_id(ticket_id)
    # a number is nearly always new: the append finds out (a conflict) when it is not, rather
    # than a read before every intake
    key = keyring.generate()
    events = tickets.receive(
        intake, catalogue=catalogue, now=datetime.now(UTC), seal=keyring.sealer(key, ticket_id)
    )
    received = events[0]
    assert isinstance(received, tickets.TicketReceived)
    projections = list(state.projections.values())
    try:
        async with state.store.begin() as conn:
            async with unit_on(state.store, conn, projections=projections, metadata=metadata) as u:
                await _record(u, state, received, events, stream, keyring, key, settings)
            row = await _row(conn, state, [e for e in u.recorded if e.stream_id == stream])
            return await view(conn, ticket_id, row), True
    except ConcurrencyConflict:
        loaded = await load(state.store, stream, tickets.evolve)  # taken in before, or racing
        if loaded.state is None:
            raise
    tickets.same_push(loaded.state, intake)
    async with read_only(state.engine) as conn:
        return await view(conn, ticket_id, None), False


async def _row(
    conn: AsyncConnection, state: ServiceState, events: list[RecordedEvent]
) -> Mapping[str, Any] | None:
    projection = state.service_projection(Tickets.name)
    tables = await active_tables(conn, projection)
    rows = await rows_of(projection, ApplyContext(conn=conn, tables=tables), events)
    (row,) = rows.get("tickets", {}).values() or (None,)
    if row is None:
        return None
    return {column.name: row.get(column.name) for column in tables["tickets"].columns}


async def _record(
    unit: UnitOfWork,
    state: ServiceState,
    received: tickets.TicketReceived,
    events: list[DomainEvent],
    stream: str,
    keyring: KeyRing,
    key: bytes,
    settings: HotlineSettings,
) -> None:
    near = await neighbours(
        unit.conn,
        await active_tables(unit.conn, state.service_projection(Tickets.name)),
        address=received.address,
        category=received.category,
        now=received.received_at,
        duplicate_window=timedelta(days=settings.duplicate_window_days),
        repeat_window=timedelta(days=settings.repeat_window_days),
    )
    linked, notice = tickets.link(
        received,
        near,
        threshold=settings.repeat_threshold,
        window_days=settings.repeat_window_days,
    )
    found = await find_grid(
        unit.conn,
        await grid_map(unit.conn, state),
        address=received.address,
        location=received.location,
    )
    routed = dispatch(tickets.evolve(None, received, 1), found)
    await unit.append(stream, [*events, *linked, *routed], expected_version=NO_STREAM)
    if notice is not None:
        _, hotspot = tickets.hotspot_stream(notice.address_key, notice.category)
        await unit.append(hotspot, [notice], expected_version=None)
    await keyring.keep(unit.conn, received.ticket_id, key)


def dispatch(ticket: tickets.Ticket, found: Match | Unroutable) -> list[DomainEvent]:
    """What routing's answer makes of a ticket: dispatched, returned, or held for triage."""
    if isinstance(found, Match):
        return tickets.route(ticket, found)
    if found.outside is not None:
        return tickets.give_back(ticket, found.outside, by="routing")
    if ticket.status == tickets.Status.TRIAGE:
        return []  # still no grid: it stays in the queue with its first reasons
    return tickets.hold_for_triage(ticket, list(found.reasons))


async def grid_map(conn: AsyncConnection, state: ServiceState) -> Mapping[str, sa.Table] | None:
    """The grid map's tables (None before its first start)."""
    try:
        return await active_tables(conn, state.service_projection(GridMap.name))
    except LookupError:
        return None
