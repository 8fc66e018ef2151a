"""Taking a ticket in, whichever door it came through (the hotline's push, Open311), through the
service's group-commit queue: one transaction per batch of pushes."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events import DomainEvent, Metadata, RecordedEvent, tuning
from wangge.events.command import CommandRunner, UnitOfWork, load, unit_on
from wangge.events.db import lock_keys, read_only
from wangge.events.errors import ConcurrencyConflict
from wangge.events.group import GroupCommit
from wangge.events.projection import ApplyContext, active_tables
from wangge.events.retry import when_overtaken
from wangge.events.rows import rows_of
from wangge.events.store import NO_STREAM, StreamAppend
from wangge.governance.addresses import normalise_address
from wangge.hotline_bridge.config import HotlineSettings
from wangge.hotline_bridge.domain import tickets
from wangge.hotline_bridge.domain.catalogue import DispatchCatalogue
from wangge.hotline_bridge.personal_data import CallerKeys
from wangge.hotline_bridge.projections.grid_map import GridMap, find_grids
from wangge.hotline_bridge.projections.tickets import Tickets, neighbours_of

V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class NewTicket:
    """A ticket this call recorded, as its transaction left it: its row in the tickets read
    model as its events make it, and its data key (both in memory: reading back what the intake
    has just written was a query per ticket, a tenth of the service's CPU under load)."""

    row: Mapping[str, Any]
    key: bytes


View = Callable[[AsyncConnection, uuid.UUID, NewTicket | None], Awaitable[V]]
"""What the caller answers with, given the ticket's id and, when this call recorded it, the
:class:`NewTicket`; a ticket taken in before is read in a reader's transaction."""


@dataclass(frozen=True)
class _Push:
    """One intake waiting for its transaction, with what recording it takes."""

    commands: CommandRunner
    intake: tickets.Intake
    keyring: CallerKeys
    catalogue: DispatchCatalogue
    settings: HotlineSettings
    view: View[Any]
    address_key: str

    def alone(self) -> Awaitable[tuple[Any, bool]]:
        # the hotspot's stream may be extended by a younger intake after this one took its
        # transaction id: the whole intake then runs again in a new transaction
        return when_overtaken(lambda: _once(self))


Intakes = GroupCommit[_Push, tuple[Any, bool]]
"""The intakes of one service, recorded together when they arrive together (group commit)."""

BATCH_LIMIT = 32
"""Intakes recorded in one transaction at most: a burst's worth, without making its first wait."""


def intakes() -> Intakes:
    """A service's intake queue (one per app: :func:`take_in` records through it)."""
    return GroupCommit(_together, _Push.alone, fits=_fits, limit=BATCH_LIMIT)


async def take_in(
    commands: CommandRunner,
    intake: tickets.Intake,
    *,
    keyring: CallerKeys,
    catalogue: DispatchCatalogue,
    settings: HotlineSettings,
    view: View[V],
    queue: Intakes | None = None,
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

    Through a ``queue``, intakes that arrive while another transaction is open share the next
    one; a ticket never shares it with another at its address (each must see the other's row
    to link it), and a shared transaction that fails runs each of its intakes again alone.
    """
    # a ticket starts a matter (一件事): its correlation id, settled before the ticket's and
    # the hotspot's appends, is carried by the case it becomes and every step after
    push = _Push(
        commands.starting(), intake, keyring, catalogue, settings, view,
        normalise_address(intake.address),
    )  # fmt: skip
    # switched off (WANGGE_FAST_PATHS=no-group-commit, ADR 0002), every push goes alone
    shared = queue is not None and tuning.FAST_PATHS.group_commit
    answer = await (queue.submit(push) if shared and queue is not None else push.alone())
    return answer[0], answer[1]


def _fits(batch: Sequence[_Push], push: _Push) -> bool:
    # each keeps its own metadata (actor, correlation, trace): any two pushes of one service may
    # share a transaction, unless they are at one address
    first = batch[0].commands
    return push.commands.store is first.store and all(
        p.address_key != push.address_key for p in batch
    )


@dataclass(frozen=True)
class _Decided:
    """An intake's events before its routing and linking: what a transaction starts from."""

    ticket_id: uuid.UUID
    stream: str
    key: bytes
    received: tickets.TicketReceived
    events: list[DomainEvent]


def _decide(push: _Push) -> _Decided:
    ticket_id = tickets.ticket_id(push.intake.ticket_number)
    key = push.keyring.generate()
    events = tickets.receive(
        push.intake,
        catalogue=push.catalogue,
        now=datetime.now(UTC),
        seal=push.keyring.sealer(key, ticket_id),
        digest=lambda fingerprint: tickets.keyed_fingerprint(key, fingerprint),
    )
    received = events[0]
    assert isinstance(received, tickets.TicketReceived)
    return _Decided(ticket_id, tickets.stream_id(ticket_id), key, received, events)


async def _once(push: _Push) -> tuple[Any, bool]:
    # a number is nearly always new: the append finds out (a conflict) when it is not, rather
    # than a read before every intake
    decided = _decide(push)
    commands = push.commands
    store, metadata = commands.store, commands.metadata
    try:
        async with store.begin() as conn:
            projections = commands.projections
            async with unit_on(store, conn, projections=projections, metadata=metadata) as u:
                ((events, notice),) = await _routed(u.conn, [push], [decided])
                await u.append(decided.stream, events, expected_version=NO_STREAM)
                await _notify(u, notice, metadata)
                await push.keyring.keep(conn, decided.ticket_id, decided.key)
            rows = await _rows(conn, commands, u.recorded, {decided.stream})
            return await push.view(conn, decided.ticket_id, _new(rows, decided)), True
    except ConcurrencyConflict:
        loaded = await load(store, decided.stream, tickets.evolve)  # taken in before
        if loaded.state is None:
            raise
    async with read_only(store.engine) as conn:
        key = await push.keyring.key(conn, decided.ticket_id)
        tickets.same_push(loaded.state, push.intake, key)
        return await push.view(conn, decided.ticket_id, None), False


async def _together(pushes: Sequence[_Push]) -> list[tuple[Any, bool]]:
    # every intake new, none at another's address (see _fits): the lone path's statements, but
    # one transaction, one append of all their events, one insert of their keys and one apply
    # of the inline read models; any refusal (a number seen before) sends each back alone
    decided = [_decide(push) for push in pushes]
    first = pushes[0]
    commands = first.commands
    async with commands.store.begin() as conn:
        async with unit_on(
            commands.store, conn, projections=commands.projections, metadata=commands.metadata
        ) as u:
            routed = await _routed(u.conn, pushes, decided)
            await u.append_batch(
                [
                    StreamAppend(d.stream, events, NO_STREAM, push.commands.metadata)
                    for push, d, (events, _) in zip(pushes, decided, routed, strict=True)
                ]
            )
            for push, (_, notice) in zip(pushes, routed, strict=True):
                await _notify(u, notice, push.commands.metadata)
            await first.keyring.keep_many(conn, [(d.ticket_id, d.key) for d in decided])
        rows = await _rows(conn, commands, u.recorded, {d.stream for d in decided})
        return [
            (await push.view(conn, d.ticket_id, _new(rows, d)), True)
            for push, d in zip(pushes, decided, strict=True)
        ]


def _new(rows: Mapping[str, Mapping[str, Any]], decided: _Decided) -> NewTicket | None:
    row = rows.get(decided.stream)
    return None if row is None else NewTicket(row, decided.key)


async def _rows(
    conn: AsyncConnection, commands: CommandRunner, events: list[RecordedEvent], streams: set[str]
) -> dict[str, Mapping[str, Any]]:
    """Each new ticket's row in the tickets read model, by stream, as its events make it."""
    projection = commands.projection(Tickets.name)
    tables = await active_tables(conn, projection)
    mine = [e for e in events if e.stream_id in streams]
    rows = await rows_of(projection, ApplyContext(conn=conn, tables=tables), mine)
    columns = [column.name for column in tables["tickets"].columns]
    return {
        tickets.stream_id(row["ticket_id"]): {name: row.get(name) for name in columns}
        for row in rows.get("tickets", {}).values()
    }


async def _routed(
    conn: AsyncConnection, pushes: Sequence[_Push], decided: Sequence[_Decided]
) -> list[tuple[list[DomainEvent], tickets.RepeatedComplaintsNoticed | None]]:
    """Each new ticket's events, linked to the ones it repeats and routed, and the notice of
    repeated complaints it raises, if any (the reads for all of them in one query each)."""
    first = pushes[0]
    commands, settings = first.commands, first.settings
    # an intake at the same address in another transaction (another process's, or one taken in
    # alone) commits before these read their neighbours, or waits for them: a repeat is linked
    # whichever process took the first in
    await lock_keys(conn, [f"hotline address|{push.address_key}" for push in pushes])
    near = await neighbours_of(
        conn,
        await active_tables(conn, commands.projection(Tickets.name)),
        [(d.received.address, d.received.category, d.received.received_at) for d in decided],
        duplicate_window=timedelta(days=settings.duplicate_window_days),
        repeat_window=timedelta(days=settings.repeat_window_days),
    )
    found = await find_grids(
        conn,
        await _grid_map(conn, commands),
        [(d.received.address, d.received.location) for d in decided],
    )
    out = []
    for d, neighbours, grid in zip(decided, near, found, strict=True):
        linked, notice = tickets.link(
            d.received,
            neighbours,
            threshold=settings.repeat_threshold,
            window_days=settings.repeat_window_days,
        )
        routed = tickets.dispatch(tickets.evolve(None, d.received, 1), grid)
        out.append(([*d.events, *linked, *routed], notice))
    return out


async def _notify(
    unit: UnitOfWork, notice: tickets.RepeatedComplaintsNoticed | None, metadata: Metadata
) -> None:
    if notice is not None:
        _, hotspot = tickets.hotspot_stream(notice.address_key, notice.category)
        await unit.append(hotspot, [notice], expected_version=None, metadata=metadata)


async def _grid_map(
    conn: AsyncConnection, commands: CommandRunner
) -> Mapping[str, sa.Table] | None:
    """The grid map's tables (None before its first start)."""
    try:
        return await active_tables(conn, commands.projection(GridMap.name))
    except LookupError:
        return None
